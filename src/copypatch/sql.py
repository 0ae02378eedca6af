"""SQL text of a WHERE-clause expression to raw expressions, with PostgreSQL's own grammar (pglast)."""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar

import pglast
from pglast import ast as _pglast_ast
from pglast import enums

from . import expr as raw
from ._errors import CompileError, EvalError

MAX_SQL_LENGTH = 1_000_000
#: pglast builds its tree by C recursion, which overflows the C stack (a segfault, not an
#: exception) somewhere past 20,000 levels; analysis stops at 1,000 anyway (analyze.MAX_DEPTH)
MAX_PARSE_NESTING = 5_000
_INTEGER = re.compile(r"^[+-]?[0-9]+$")
_BINARY_OPS = frozenset({"=", "<>", "<", "<=", ">", ">=", "+", "-", "*", "/", "%", "&", "|", "#",
                         "<<", ">>", "^"})
_PREFIX_OPS = frozenset({"-", "+", "~", "@", "|/", "||/"})


def parse(text: str) -> raw.Expr:
    """Parse `text` as the expression of ``SELECT ... WHERE <text>``."""
    if not isinstance(text, str):
        raise TypeError(f"SQL text must be str, not {type(text).__name__}")
    if len(text) > MAX_SQL_LENGTH:
        raise CompileError(f"expression text longer than {MAX_SQL_LENGTH} characters")
    if "\x00" in text:
        raise CompileError("expression text contains a NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:  # e.g. a lone surrogate: PostgreSQL's text is valid UTF-8
        raise CompileError(f"expression text is not valid Unicode: {e.reason}", e.start) from None
    if (len(text) > MAX_PARSE_NESTING and quick_nesting_bound(text) > MAX_PARSE_NESTING
            and nesting_bound(text) > MAX_PARSE_NESTING):
        raise CompileError(f"expression nested deeper than {MAX_PARSE_NESTING} levels")
    prefix = "SELECT 1 WHERE "
    try:
        stmts = _parse_sql(prefix + text)
    except pglast.parser.ParseError as e:
        pos = getattr(e, "location", None)
        pos = pos - len(prefix) if isinstance(pos, int) and pos >= len(prefix) else None
        raise CompileError(f"syntax error: {e.args[0] if e.args else e}", pos) from None
    except RecursionError:
        raise CompileError("expression nested too deeply to parse") from None
    if len(stmts) != 1:
        raise CompileError("expected one expression, found several statements")
    stmt = stmts[0].stmt
    if (
        not isinstance(stmt, ast.SelectStmt)
        or stmt.whereClause is None
        or stmt.fromClause
        or stmt.groupClause
        or stmt.havingClause
        or stmt.sortClause
        or stmt.limitCount is not None
        or stmt.op != enums.SetOperation.SETOP_NONE
        or len(stmt.targetList or ()) != 1
    ):
        raise CompileError("expected a single expression (the text after WHERE)")
    try:
        return Converter(len(prefix)).convert(stmt.whereClause)
    except RecursionError:
        raise CompileError("expression nested too deeply") from None


class _Lite:
    """A parse tree node as pglast.ast has it, built straight from libpg_query's JSON.

    pglast.parse_sql builds its own nodes through a validating __setattr__ per field, which was
    most of compile()'s parsing time (40 ms of a 1000-term AND chain); the JSON it is made from
    costs a tenth of that. A class per node type (made on first use from pglast.ast's slot
    types) gives the same attributes, with the same defaults where the JSON leaves a field out
    (0, False, an enum's first member, None), so the Converter reads either tree alike.
    """

    __slots__ = ("__dict__",)
    _defaults: ClassVar[dict[str, Any]] = {}


_VALUE_UNION = {"ival": "Integer", "fval": "Float", "sval": "String", "boolval": "Boolean",
                "bsval": "BitString"}
_INT_CTYPES = frozenset({"int", "int16", "int32", "long", "uint32", "Index", "Oid", "AttrNumber",
                         "bits32", "char", "Cost", "double", "Cardinality", "AclMode", "uint64",
                         "int64"})


class _LiteAst:
    """pglast.ast's names, as _Lite classes."""

    def __getattr__(self, name: str) -> type[_Lite]:
        cls = self._make(name)
        setattr(self, name, cls)  # made once: the next lookup is an attribute, not a call
        return cls

    def _make(self, name: str) -> type[_Lite]:
        real = getattr(_pglast_ast, name)  # AttributeError for a name pglast does not have
        slots = getattr(real, "__slots__", {})
        fields: dict[str, Any] = {}
        enum_types: dict[str, Any] = {}
        structs: dict[str, str] = {}  # a field holding a node of one type: its fields, unwrapped
        for field, info in (slots.items() if isinstance(slots, dict) else ()):
            ctype = info if isinstance(info, str) else info.c_type
            enum = getattr(enums, ctype, None)
            if (ctype.endswith("*") and ctype[:-1] not in ("Node", "List", "char", "Expr")
                    and isinstance(getattr(_pglast_ast, ctype[:-1], None), type)):
                structs[field] = ctype[:-1]
            if enum is not None:
                fields[field] = enum(0)
                enum_types[field] = enum
            elif ctype == "bool":
                fields[field] = False
            elif ctype in _INT_CTYPES:
                fields[field] = 0
            else:
                fields[field] = None
        cls: Any = type(name, (_Lite,), {"__slots__": (), **fields})
        cls._defaults = fields
        cls._enums = enum_types
        cls._structs = structs
        return cls  # type: ignore[no-any-return]


ast: Any = _LiteAst()


def _parse_sql(sql: str) -> list[Any]:
    """pglast.parse_sql's statements, as _Lite nodes."""
    doc = json.loads(pglast.parser.parse_sql_json(sql))
    _MissingInts.pending = []
    # libpg_query's locations count UTF-8 bytes, pglast's (and ours) characters
    _Locations.char_at = None if sql.isascii() else _char_offsets(sql)
    try:
        tree = [_lite(s, "RawStmt") for s in doc.get("stmts", ())]
        if _MissingInts.pending:
            _MissingInts.fill(sql)
    finally:
        _Locations.char_at = None
    return tree


class _Locations:
    #: byte offset -> character offset in the text being parsed, when it is not ASCII
    char_at: ClassVar[list[int] | None] = None


def _char_offsets(sql: str) -> list[int]:
    out: list[int] = []
    for i, ch in enumerate(sql):
        out += [i] * len(ch.encode("utf-8"))
    out.append(len(sql))
    return out


class _MissingInts:
    """libpg_query's JSON leaves out an integer constant's value when it is not positive (0, and
    the negative ones the grammar folds in doNegate: `-1`, `-(1)`, `- - -1`); pglast's own tree has
    it. So each such Integer is filled in from the text at its A_Const's location: a digit there
    is 0; otherwise the tokens from there to the ICONST (pglast's scanner, run once per parse and
    only when one is needed: linear), negated once per minus sign before it."""

    # (Integer node, location) of the parse under way; compile() holds the GIL throughout
    pending: ClassVar[list[tuple[Any, int]]] = []

    @classmethod
    def fill(cls, sql: str) -> None:
        pending, cls.pending = cls.pending, []
        tokens: list[Any] | None = None
        at: dict[int, int] = {}
        for node, loc in pending:
            if 0 <= loc < len(sql) and sql[loc].isdigit():
                node.__dict__["ival"] = 0
                continue
            if tokens is None:
                tokens = list(pglast.parser.scan(sql))
                at = {t.start: i for i, t in enumerate(tokens)}
            i, sign = at[loc], 1
            while tokens[i].name != "ICONST":
                if tokens[i].name == "ASCII_45":
                    sign = -sign
                i += 1
            t = tokens[i]
            # an int4 by now: leading zeros are all that can make it long (over Python's
            # 4300 digits for int())
            node.__dict__["ival"] = sign * int(sql[t.start:t.end + 1].lstrip("0") or "0")


def _lite(fields: dict[str, Any], name: str) -> Any:
    cls = getattr(ast, name)
    node = cls()
    d = node.__dict__
    enum_types = cls._enums
    structs = cls._structs
    defaults = cls._defaults
    for k, v in fields.items():
        if k in enum_types:
            d[k] = enum_types[k][v] if isinstance(v, str) else enum_types[k](v)
        elif k in structs and isinstance(v, dict):
            d[k] = _lite(v, structs[k])
        elif name == "A_Const" and k in _VALUE_UNION:
            d["val"] = val = _lite(v, _VALUE_UNION[k])
            if k == "ival" and "ival" not in v:
                loc = fields.get("location", -1)
                if _Locations.char_at is not None and isinstance(loc, int) and loc >= 0:
                    loc = _Locations.char_at[loc]
                _MissingInts.pending.append((val, loc))
        elif name == "A_Const" and k == "location":  # not pglast's field: kept apart, only
            if _Locations.char_at is not None and isinstance(v, int) and v >= 0:  # for the
                v = _Locations.char_at[v]  # plan cache (a literal's site), never for errors
            d["cp_site"] = v
        elif k in defaults:  # only pglast's fields: its A_Const has no location, say
            if k == "location" and _Locations.char_at is not None and isinstance(v, int) and v >= 0:
                v = _Locations.char_at[v]
            d[k] = _value(v)
    return node


def _value(v: Any) -> Any:
    if isinstance(v, dict):
        if len(v) == 1:
            ((name, inner),) = v.items()
            if name == "List":
                return [_value(i) for i in inner.get("items", ())]
            if isinstance(inner, dict) and name[:1].isupper():
                return _lite(inner, name)
        return None  # `{}`: an empty node in a list (a function's missing column definitions)
    if isinstance(v, list):
        return [_value(i) for i in v]
    return v


# tokens that open and close a nesting level, and those that separate siblings at one level
# (the grammar flattens AND and OR chains: `a AND b AND c` is one node)
_OPEN = frozenset({"ASCII_40", "ASCII_91", "CASE"})
_CLOSE = frozenset({"ASCII_41", "ASCII_93", "END_P"})
_SIBLINGS = frozenset({"AND", "OR", "ASCII_44", "WHEN", "THEN", "ELSE"})
_LEAVES = frozenset({"IDENT", "ICONST", "FCONST", "SCONST", "BCONST", "XCONST", "NULL_P",
                     "TRUE_P", "FALSE_P", "UIDENT", "USCONST"})


def nesting_bound(text: str) -> int:
    """An upper bound of the depth of text's parse tree, from its tokens alone (no tree built):
    every operator or keyword between two siblings may nest one level deeper (a + b + c is
    ((a + b) + c)), plus one per open parenthesis or CASE."""
    try:
        tokens = pglast.parser.scan(text)
    except pglast.parser.ParseError as e:
        raise CompileError(f"syntax error: {e.args[0] if e.args else e}") from None
    levels = [0]
    total = best = 0
    for tok in tokens:
        name = tok.name
        if name in _OPEN:
            levels.append(1)
            total += 1
        elif name in _CLOSE:
            if len(levels) > 1:
                total -= levels.pop()
        elif name in _SIBLINGS:
            total -= levels[-1]
            levels[-1] = 0
        elif name not in _LEAVES:
            levels[-1] += 1
            total += 1
        best = max(best, total + len(levels))
    return best


# text with no string, comment, quoted identifier or minus sign: its tokens are these words,
# numbers, operator characters and punctuation, which a regular expression finds exactly
_PLAIN_TEXT = re.compile(r"[A-Za-z0-9_\s<>=!+*%^&|#~@()\[\],.:]*\Z")
_PLAIN_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[0-9]+|[<>=!+*%^&|#~@.:]|[()\[\],]")
_PLAIN_OPEN = frozenset({"(", "[", "CASE"})
_PLAIN_CLOSE = frozenset({")", "]", "END"})
_PLAIN_SIBLINGS = frozenset({"AND", "OR", ",", "WHEN", "THEN", "ELSE"})


def quick_nesting_bound(text: str) -> int:
    """An upper bound of nesting_bound(text) without pglast's scanner (a tenth of its cost, which
    was the largest part of parsing a long AND chain): for plain text (see _PLAIN_TEXT), every
    token that is not a number or a sibling separator counts as nesting one level deeper (an
    identifier too, and every character of an operator: more than the scanner's count, never
    less). Anything else gets 2 * len(text) + 1 (a token of one character or more adds at most
    two, an opening one), which sends it to nesting_bound."""
    if not text.isascii() or _PLAIN_TEXT.match(text) is None:
        return 2 * len(text) + 1
    levels = [0]
    total = best = 0
    for word in _PLAIN_TOKEN.findall(text):
        name = word.upper()
        if name in _PLAIN_OPEN:
            levels.append(1)
            total += 1
        elif name in _PLAIN_CLOSE:
            if len(levels) > 1:
                total -= levels.pop()
        elif name in _PLAIN_SIBLINGS:
            total -= levels[-1]
            levels[-1] = 0
        elif not word[0].isdigit():
            levels[-1] += 1
            total += 1
        best = max(best, total + len(levels))
    return best


class Converter:
    def __init__(self, offset: int) -> None:
        self.offset = offset

    def pos(self, node: Any) -> int | None:
        loc = getattr(node, "location", None)
        if isinstance(loc, int) and loc >= self.offset:
            return loc - self.offset
        return None

    def unsupported(self, node: Any, what: str | None = None) -> CompileError:
        name = what or type(node).__name__
        return CompileError(f"unsupported syntax: {name}", self.pos(node))

    def convert(self, node: Any) -> raw.Expr:
        p = self.pos(node)
        if isinstance(node, ast.ColumnRef):
            fields = node.fields
            if len(fields) != 1 or not isinstance(fields[0], ast.String):
                raise self.unsupported(node, "qualified column reference or *")
            return raw.ColumnRef(fields[0].sval, p)
        if isinstance(node, ast.A_Const):
            return self.const(node)
        if isinstance(node, ast.A_Expr):
            return self.a_expr(node)
        if isinstance(node, ast.BoolExpr):
            op = {enums.BoolExprType.AND_EXPR: "AND", enums.BoolExprType.OR_EXPR: "OR",
                  enums.BoolExprType.NOT_EXPR: "NOT"}[node.boolop]
            return raw.BoolOp(op, tuple(self.convert(a) for a in node.args), p)
        if isinstance(node, ast.NullTest):
            return raw.NullTest(self.convert(node.arg),
                                node.nulltesttype == enums.NullTestType.IS_NULL, p)
        if isinstance(node, ast.BooleanTest):
            test = enums.BoolTestType(node.booltesttype).name
            return raw.BoolTest(self.convert(node.arg), test, p)
        if isinstance(node, ast.CaseExpr):
            whens = tuple((self.convert(w.expr), self.convert(w.result)) for w in node.args)
            return raw.CaseWhen(
                None if node.arg is None else self.convert(node.arg),
                whens,
                None if node.defresult is None else self.convert(node.defresult),
                p,
            )
        if isinstance(node, ast.CoalesceExpr):
            return raw.Coalesce(tuple(self.convert(a) for a in node.args), p)
        if isinstance(node, ast.TypeCast):
            return self.cast(node)
        if isinstance(node, ast.FuncCall):
            return self.func_call(node)
        if isinstance(node, ast.MinMaxExpr):
            op = "GREATEST" if node.op == enums.MinMaxOp.IS_GREATEST else "LEAST"
            return raw.MinMax(op, tuple(self.convert(a) for a in node.args), p)
        raise self.unsupported(node)

    def check_operator_name(self, node: ast.A_Expr) -> None:
        names = [n.sval for n in node.name]
        if len(names) == 2 and names[0] == "pg_catalog":
            return
        if len(names) != 1:
            raise CompileError("schema-qualified operators are not supported", self.pos(node))

    def array(self, node: Any) -> tuple[tuple[raw.Expr, ...] | None, str | None, bool]:
        """The elements of ARRAY[...], ARRAY[...]::type[], '{...}'::type[] or '{...}' (then each
        element is a string literal, typed later by the operator), None for a NULL array (NULL or
        NULL::type[]), the cast's element type, and whether the array is an untyped literal."""
        elem_type = None
        if isinstance(node, ast.A_Const) and node.isnull:
            return None, None, True
        if (isinstance(node, ast.TypeCast) and isinstance(node.arg, ast.A_Const)
                and node.arg.isnull):
            return None, self.array_cast_type(node), False
        if isinstance(node, ast.A_Const) and isinstance(node.val, ast.String):
            return self.array_literal(node, node.val.sval), None, True
        if (isinstance(node, ast.TypeCast) and isinstance(node.arg, ast.A_Const)
                and isinstance(node.arg.val, ast.String)):
            elem_type = self.array_cast_type(node)
            items = self.array_literal(node.arg, node.arg.val.sval)
            return tuple(raw.Cast(i, elem_type, i.position) for i in items), elem_type, False
        if isinstance(node, ast.TypeCast) and isinstance(node.arg, ast.A_ArrayExpr):
            elem_type = self.array_cast_type(node)
            node = node.arg
        if not isinstance(node, ast.A_ArrayExpr):
            raise self.unsupported(node, "ANY/ALL over anything but ARRAY[...]")
        elements: list[raw.Expr] = []
        for e in node.elements or ():
            if isinstance(e, ast.A_ArrayExpr):
                raise self.unsupported(e, "multidimensional array")
            elements.append(self.convert(e))
        if elem_type is not None:
            elements = [raw.Cast(i, elem_type, i.position) for i in elements]
        return tuple(elements), elem_type, False

    def array_cast_type(self, node: ast.TypeCast) -> str:
        tn = node.typeName
        names = [n.sval for n in tn.names]
        if names and names[0] == "pg_catalog":
            names = names[1:]
        if len(names) != 1 or not tn.arrayBounds or len(tn.arrayBounds) != 1 or tn.typmods:
            raise self.unsupported(node, "array cast")
        return str(names[0])

    def array_literal(self, node: Any, text: str) -> tuple[raw.Expr, ...]:
        """array_in's reading of '{...}': the elements as string literals (NULL unquoted is
        NULL), for the element type's input function."""
        p = self.pos(node)
        return tuple(raw.Literal("null", None, p) if v is None else raw.Literal("string", v, p)
                     for v in parse_array_literal(text))

    def func_call(self, node: ast.FuncCall) -> raw.Expr:
        names = [n.sval for n in node.funcname]
        if len(names) == 2 and names[0] == "pg_catalog":
            names = names[1:]
        if len(names) != 1:
            raise self.unsupported(node, "schema-qualified function " + ".".join(names))
        if node.func_variadic:
            raise CompileError(
                f"{names[0]}(VARIADIC array) is not supported: arrays are not a copypatch type; "
                "pass the elements as arguments", self.pos(node))
        if (node.agg_star or node.agg_distinct or node.agg_order or node.agg_filter
                or node.over or node.agg_within_group):
            raise self.unsupported(node, f"{names[0]}(...) as an aggregate or window function")
        args = []
        for a in node.args or ():
            if isinstance(a, ast.NamedArgExpr):
                raise self.unsupported(a, "named function argument")
            args.append(self.convert(a))
        return raw.FuncCall(names[0], tuple(args), self.pos(node))

    def const(self, node: ast.A_Const) -> raw.Expr:
        p = self.pos(node)
        if node.isnull:
            return raw.Literal("null", None, p)
        v = node.val
        if isinstance(v, ast.Integer):
            site = node.__dict__.get("cp_site")
            site = site - self.offset if isinstance(site, int) and site >= self.offset else None
            return raw.Literal("int", v.ival, p, site)
        if isinstance(v, ast.Float):
            # make_const: an integer too big for int4 arrives as a Float; it may still be int8
            # (an integer of over 20 digits fits no integer type: numeric, which Python's int()
            # would refuse past 4300 digits anyway)
            if _INTEGER.match(v.fval) and len(v.fval.lstrip("+-0")) <= 20:
                return raw.Literal("int", int(v.fval), p)
            return raw.Literal("numeric", v.fval, p)
        if isinstance(v, ast.Boolean):
            return raw.Literal("bool", bool(v.boolval), p)
        if isinstance(v, ast.String):
            return raw.Literal("string", v.sval, p)
        raise self.unsupported(node, f"literal {type(v).__name__}")

    def cast(self, node: ast.TypeCast) -> raw.Expr:
        tn = node.typeName
        names = [n.sval for n in tn.names]
        if names and names[0] == "pg_catalog":
            names = names[1:]
        if len(names) != 1 or tn.arrayBounds or tn.setof or tn.pct_type or tn.typmods:
            raise self.unsupported(node, "cast to type " + ".".join(names))
        name = {"float8": "float8", "float4": "float4"}.get(names[0], names[0])
        return raw.Cast(self.convert(node.arg), name, self.pos(node))

    def a_expr(self, node: ast.A_Expr) -> raw.Expr:
        p = self.pos(node)
        kind = node.kind
        name = node.name[-1].sval if node.name else None
        K = enums.A_Expr_Kind
        if kind == K.AEXPR_OP:
            if name == "!=":
                name = "<>"
            if name not in _BINARY_OPS and name not in _PREFIX_OPS:
                raise CompileError(f"operator {name} is not supported", p)
            self.check_operator_name(node)
            if node.lexpr is None:
                if name not in _PREFIX_OPS:
                    raise CompileError(f"prefix operator {name} is not supported", p)
                return raw.Op(name, (self.convert(node.rexpr),), p)
            if name not in _BINARY_OPS:
                raise CompileError(f"operator {name} is not supported", p)
            return raw.Op(name, (self.convert(node.lexpr), self.convert(node.rexpr)), p)
        if kind in (K.AEXPR_DISTINCT, K.AEXPR_NOT_DISTINCT):
            return raw.Distinct((self.convert(node.lexpr), self.convert(node.rexpr)),
                                kind == K.AEXPR_NOT_DISTINCT, p)
        if kind in (K.AEXPR_OP_ANY, K.AEXPR_OP_ALL):
            if name == "!=":
                name = "<>"
            self.check_operator_name(node)
            if name not in _BINARY_OPS:
                raise CompileError(f"operator {name} is not supported", p)
            items, array_type, untyped = self.array(node.rexpr)
            return raw.ArrayOp(name, self.convert(node.lexpr), items or (),
                               kind == K.AEXPR_OP_ANY, p, array_type, untyped, items is None)
        if kind == K.AEXPR_IN:
            negated = name == "<>"
            items = tuple(self.convert(i) for i in node.rexpr)
            return raw.In(self.convert(node.lexpr), items, negated, p)
        if kind == K.AEXPR_NULLIF:
            return raw.NullIf((self.convert(node.lexpr), self.convert(node.rexpr)), p)
        if kind in (K.AEXPR_BETWEEN, K.AEXPR_NOT_BETWEEN, K.AEXPR_BETWEEN_SYM,
                    K.AEXPR_NOT_BETWEEN_SYM):
            lo, hi = node.rexpr
            return raw.Between(
                self.convert(node.lexpr), self.convert(lo), self.convert(hi),
                kind in (K.AEXPR_NOT_BETWEEN, K.AEXPR_NOT_BETWEEN_SYM),
                kind in (K.AEXPR_BETWEEN_SYM, K.AEXPR_NOT_BETWEEN_SYM),
                p,
            )
        raise self.unsupported(node, f"{K(kind).name}")


def parse_array_literal(text: str) -> list[str | None]:
    """The elements of a one-dimensional array literal, as PostgreSQL's array_in reads it:
    `{1, "2", NULL}`; whitespace around an unquoted element is ignored, double quotes and
    backslashes escape, an unquoted NULL is NULL. Malformed text is PostgreSQL's 22P02."""

    def malformed() -> EvalError:
        return EvalError("22P02", f'malformed array literal: "{text}"')

    s = text.strip(" \t\n\r\v\f")
    if s.startswith("["):
        raise CompileError("array literals with dimension decorations are not supported")
    if not s.startswith("{"):
        raise malformed()
    out: list[str | None] = []
    i, n = 1, len(s)
    expect_element = True
    while True:
        while i < n and s[i] in " \t\n\r\v\f":
            i += 1
        if i >= n:
            raise malformed()
        if s[i] == "}" and not out and expect_element:
            i += 1  # {}
            break
        if s[i] == "{":
            raise CompileError("multidimensional array literals are not supported")
        # one element
        buf: list[str] = []
        quoted = False
        if s[i] == '"':
            quoted = True
            i += 1
            while i < n and s[i] != '"':
                if s[i] == "\\":
                    i += 1
                    if i >= n:
                        raise malformed()
                buf.append(s[i])
                i += 1
            if i >= n:
                raise malformed()
            i += 1  # the closing quote
            while i < n and s[i] in " \t\n\r\v\f":
                i += 1
        else:
            while i < n and s[i] not in ",}":
                if s[i] in '{"':
                    raise malformed()
                if s[i] == "\\":
                    i += 1
                    if i >= n:
                        raise malformed()
                buf.append(s[i])
                i += 1
            value = "".join(buf).strip(" \t\n\r\v\f")
            if value == "":
                raise malformed()
            buf = [value]
        value = "".join(buf)
        out.append(None if not quoted and value.lower() == "null" else value)
        if i >= n:
            raise malformed()
        if s[i] == ",":
            i += 1
            expect_element = False
            continue
        if s[i] == "}":
            i += 1
            break
        raise malformed()
    if s[i:].strip(" \t\n\r\v\f"):
        raise malformed()
    return out
