"""Parse analysis: resolve columns, types, operators and casts as PostgreSQL's parser does.

Operator resolution and casts come from _pgcatalog.py, which tools/gen_pgcatalog.py reads off a
real PostgreSQL server, so an operator between two types resolves to the very function (and the
very argument casts) PostgreSQL would pick. The transformations of IN, BETWEEN and simple CASE
follow transformAExprIn, transformAExprBetween and transformCaseExpr (parser/parse_expr.c).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from . import _datetime
from . import expr as raw
from ._catalog import catalog
from ._errors import CompileError, EvalError
from .nodes import (
    BooleanTest,
    BoolExpr,
    CaseExpr,
    CaseTestExpr,
    CoalesceExpr,
    Const,
    DistinctExpr,
    FuncExpr,
    LiteralSites,
    MinMaxExpr,
    Node,
    NullIfExpr,
    NullTest,
    Param,
    ParamReads,
    ScalarArrayOpExpr,
    Var,
    walk,
)
from .schema import Schema
from .sqltypes import TYPE_NAMES, SqlType

#: the functions whose first argument is a unit (tools/gen_pgcatalog.py's UNIT_FUNCTIONS), and
#: whether it is read as date_trunc reads it (DecodeUnits only) or as date_part (and DecodeSpecial)
UNIT_FUNCTIONS = {"timestamp_part": False, "timestamp_trunc": True}
FUNC_MAX_ARGS = 100  # PostgreSQL's compile-time limit on a function's arguments
MAX_DEPTH = 1000  # PostgreSQL stops at max_stack_depth; we stop long before Python's recursion limit


def fits(t: SqlType, v: int) -> bool:
    lo, hi = t.int_range
    return lo <= v <= hi


def analyze(e: raw.Expr, schema: Schema, params: LiteralSites | None = None,
            reads: ParamReads | None = None) -> Node:
    """The typed tree of e. params: the plan cache's literals (plancache.LiteralSites): an
    integer literal at one of these sites becomes a Param (index, sign, noting its reads in
    `reads`) when its value is the one expected there."""
    return Analyzer(schema, params, reads).transform(e, 0)


def _pos(e: raw.Expr) -> int | None:
    return getattr(e, "position", None)


def numeric_text(text: str) -> str:
    """numeric_out of a numeric literal, as PostgreSQL prints it in error messages."""
    import decimal  # on first use, as numeric literals are rare: a tenth of our import time

    return format(decimal.Decimal(text), "f")


def numeric_to_float(text: str, t: SqlType) -> float:
    """numeric_float4/numeric_float8 of a literal: float4in/float8in of its text."""
    from ._core import ffi, lib

    erange = ffi.new("int *")
    value = (lib.cp_strtof if t is SqlType.FLOAT4 else lib.cp_strtod)(text.encode(), erange)
    if erange[0] and (value in (float("inf"), float("-inf")) or value == 0.0):
        # float8in's check: an underflow to a nonzero denormal is accepted
        raise EvalError(
            "22003", f'"{numeric_text(text)}" is out of range for type {t.sql_name}'
        )
    return float(value)


def numeric_to_int(text: str, t: SqlType) -> int:
    """numeric_int2/4/8 of a literal: round half away from zero, then check the range."""
    import decimal

    v = int(decimal.Decimal(text).quantize(decimal.Decimal(1), rounding=decimal.ROUND_HALF_UP))
    if not fits(t, v):
        raise EvalError("22003", {SqlType.INT2: "smallint out of range",
                                  SqlType.INT4: "integer out of range",
                                  SqlType.INT8: "bigint out of range"}[t])
    return v


_C_SPACE = " \t\n\v\f\r"  # C's isspace


def pg_strtoint(text: str, t: SqlType) -> int:
    """int2in/int4in/int8in (pg_strtoint16/32/64): spaces, a sign, ASCII digits, spaces. The
    digits are accumulated first, so a prefix too large is out of range (22003) even when junk
    follows it ('32769.0' for int2), and junk after a prefix in range is a syntax error (22P02)."""
    limit = -t.int_range[0]  # the magnitude of the most negative value
    i, n = 0, len(text)
    while i < n and text[i] in _C_SPACE:
        i += 1
    neg = i < n and text[i] == "-"
    if i < n and text[i] in "+-":
        i += 1
    syntax = EvalError("22P02", f'invalid input syntax for type {t.sql_name}: "{text}"')
    out_of_range = EvalError("22003", f'value "{text}" is out of range for type {t.sql_name}')
    if i >= n or text[i] not in "0123456789":
        raise syntax
    v = 0
    while i < n and text[i] in "0123456789":
        v = v * 10 + ord(text[i]) - ord("0")
        i += 1
        if v > limit:
            raise out_of_range
    while i < n and text[i] in _C_SPACE:
        i += 1
    if i < n:
        raise syntax
    if not neg and v == limit:
        raise out_of_range
    return -v if neg else v


def type_input(text: str, t: SqlType, position: int | None) -> Const:
    """A string literal cast to t: the type's input function (int4in, float8in, boolin,
    date_in, timestamp_in)."""
    s = text.strip()
    low = s.lower()
    if t is SqlType.BOOL:
        if low in ("t", "tr", "tru", "true", "y", "ye", "yes", "on", "1"):
            return Const(t, True)
        if low in ("f", "fa", "fal", "fals", "false", "n", "no", "of", "off", "0"):
            return Const(t, False)
    elif t.is_integer:
        return Const(t, pg_strtoint(text, t))
    elif t.is_float:
        specials = {"nan": float("nan"), "infinity": float("inf"), "+infinity": float("inf"),
                    "-infinity": float("-inf"), "inf": float("inf"), "+inf": float("inf"),
                    "-inf": float("-inf")}
        if low in specials:
            return Const(t, specials[low])
        import decimal

        try:
            decimal.Decimal(s)
            ok = bool(s) and "_" not in s and s.lower() not in ("nan", "snan")
        except decimal.InvalidOperation:
            ok = False
        if ok:
            from ._core import ffi, lib

            erange = ffi.new("int *")
            value = (lib.cp_strtof if t is SqlType.FLOAT4 else lib.cp_strtod)(s.encode(), erange)
            if erange[0] and (value in (float("inf"), float("-inf")) or value == 0.0):
                raise EvalError("22003", f'"{text}" is out of range for type {t.sql_name}')
            return Const(t, float(value))
    elif t is SqlType.DATE:
        return Const(t, _datetime.date_in(text))
    elif t is SqlType.TIMESTAMP:
        return Const(t, _datetime.timestamp_in(text))
    else:
        raise CompileError(f"type {t.sql_name} is not supported", position)
    raise EvalError("22P02", f'invalid input syntax for type {t.sql_name}: "{text}"')


class Analyzer:
    def __init__(self, schema: Schema,
                 params: LiteralSites | None = None,
                 reads: ParamReads | None = None) -> None:
        self.schema = schema
        self.params = params
        self.reads = reads

    # -- helpers ---------------------------------------------------------------------------
    def coerce(self, node: Node, target: SqlType, e: raw.Expr, context: str = "i") -> Node:
        """coerce_type: make node of type target with an implicit (or explicit) cast."""
        src = node.type
        if src is target:
            return node
        if src is SqlType.UNKNOWN:
            # a NULL or a string literal: the literal is read by the target type's input function
            assert isinstance(node, Const)
            if node.isnull:
                return Const(target, None)
            return type_input(str(node.value), target, _pos(e))
        if src is SqlType.NUMERIC:
            if not isinstance(node, Const):
                raise CompileError("numeric arithmetic is not supported", _pos(e))
            text = str(node.value)
            if target.is_float:
                return Const(target, numeric_to_float(text, target))
            if target.is_integer and context == "e":
                return Const(target, numeric_to_int(text, target))
            raise CompileError(
                f"cannot use numeric literal {text} as {target.sql_name}", _pos(e)
            )
        cast = catalog.CASTS.get((src.value, target.value))
        allowed = {"i": ("i",), "a": ("i", "a"), "e": ("i", "a", "e")}[context]
        if cast is None or cast["context"] not in allowed:
            raise CompileError(
                f"cannot cast type {src.sql_name} to {target.sql_name}", _pos(e)
            )
        if cast["func"] is None:  # binary-coercible
            return node
        self.require_function(cast["func"], e)
        return FuncExpr(cast["func"], (node,), target)

    def require_function(self, name: str, e: raw.Expr) -> None:
        info = catalog.FUNCTIONS[name]
        types = {*info["args"], info["rettype"]}
        if "numeric" in types:
            raise CompileError(
                "numeric values are not supported: PostgreSQL would compute this in numeric "
                "(a literal like 1.5 is numeric); cast the literal to float8 or an integer type",
                _pos(e),
            )
        missing = sorted(types - {t.value for t in SqlType})
        if missing:
            raise CompileError(
                f"function {name} is not supported: it takes or returns {', '.join(missing)}, "
                "which copypatch does not have", _pos(e))

    def common_type(self, nodes: Sequence[Node], what: str, e: raw.Expr) -> SqlType:
        """select_common_type over nodes (PostgreSQL's rules, folded pairwise)."""
        result: SqlType | None = None
        for n in nodes:
            t = n.type
            if t is SqlType.UNKNOWN:
                continue
            if result is None:
                result = t
                continue
            entry = catalog.COMMON_TYPES[(result.value, t.value)]
            if "error" in entry:
                raise CompileError(
                    f"{what} types {result.sql_name} and {t.sql_name} cannot be matched", _pos(e)
                )
            result = SqlType(entry["type"])
        if result is None:
            raise CompileError(
                f"{what} of only NULLs and string literals has type text in PostgreSQL, which "
                "copypatch lacks; cast one of them",
                _pos(e),
            )
        return result

    def apply_conversions(self, node: Node, conv: list[str], e: raw.Expr) -> Node:
        for step in conv:
            if step.startswith("const:"):
                t = step[len("const:"):]
                if t not in {x.value for x in SqlType}:
                    raise CompileError(f"{t} values are not supported", _pos(e))
                return self.coerce(node, SqlType(t), e)
            if node.type is SqlType.NUMERIC and step in ("numeric_float8", "numeric_float4"):
                node = self.coerce(node, SqlType.FLOAT8 if step.endswith("8") else SqlType.FLOAT4, e)
                continue
            self.require_function(step, e)
            node = FuncExpr(step, (node,), SqlType(catalog.FUNCTIONS[step]["rettype"]))
        return node

    def make_op(self, op: str, args: Sequence[Node], e: raw.Expr,
                exact_numeric: bool = True) -> FuncExpr:
        """make_op: resolve an operator over the argument types, casting the arguments.

        exact_numeric: an integer compared with a numeric literal (PostgreSQL compares in
        numeric) becomes the exact integer comparison; off where the arguments themselves are
        used (NULLIF's result, IS DISTINCT FROM)."""
        if exact_numeric and len(args) == 2:
            rewritten = self.integer_vs_numeric(op, args, e)
            if rewritten is not None:
                return rewritten
        if len(args) == 2:
            key: tuple[str, ...] = (op, args[0].type.value, args[1].type.value)
            entry = catalog.BINARY_OPERATORS.get(key)
        else:
            key = (op, args[0].type.value)
            entry = catalog.UNARY_OPERATORS.get(key)
        if entry is None:
            raise CompileError(f"operator {op} is not supported", _pos(e))
        if "error" in entry:
            raise CompileError(entry["error"][1], _pos(e))
        if "const" in entry:
            raise CompileError(f"operator {op} over unknown types is not supported", _pos(e))
        func = entry["func"]
        if func in ("texteq", "textne", "text_lt", "text_le", "text_gt", "text_ge"):
            # unknown = unknown: PostgreSQL compares as text, and strictness makes it NULL
            raise CompileError(
                f"NULL {op} NULL compares text in PostgreSQL, which copypatch lacks; "
                "cast one side", _pos(e)
            )
        new_args = tuple(
            self.apply_conversions(a, conv, e) for a, conv in zip(args, entry["args"])
        )
        self.require_function(func, e)
        return self.inline_sql(FuncExpr(func, new_args, SqlType(entry["rettype"]), op), e)

    def integer_vs_numeric(self, op: str, args: Sequence[Node], e: raw.Expr) -> FuncExpr | None:
        """`x op 1.5` for an integer x: PostgreSQL computes numeric_op(int_numeric(x), 1.5); the
        same answer, exactly, is an integer comparison with the literal rounded the right way
        (x < 1.5 is x <= 1, x > 1.5 is x >= 2, x = 1.5 is never true). No error is possible in
        either. The node keeps PostgreSQL's cost (two operators), which orders quals."""
        flip = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "=", "<>": "<>"}
        a, b = args
        if op not in flip:
            return None
        if isinstance(b, Const) and b.type is SqlType.NUMERIC and a.type.is_integer:
            x, lit = a, b
        elif isinstance(a, Const) and a.type is SqlType.NUMERIC and b.type.is_integer:
            x, lit, op = b, a, flip[op]
        else:
            return None
        import decimal

        d = decimal.Decimal(str(lit.value))
        outcome: bool | None = None  # the answer for every non-null x, when it does not depend on x
        if d == d.to_integral_value():
            k, newop = int(d), op
        elif op in ("=", "<>"):
            k, newop, outcome = 0, op, op == "<>"
        elif op in ("<", "<="):
            k, newop = int(d.to_integral_value(rounding=decimal.ROUND_FLOOR)), "<="
        else:
            k, newop = int(d.to_integral_value(rounding=decimal.ROUND_CEILING)), ">="
        if outcome is None and not fits(SqlType.INT8, k):
            below = k < 0  # the literal is below every int8
            outcome = {"=": False, "<>": True, "<": not below, "<=": not below,
                       ">": below, ">=": below}[newop]
        if outcome is not None:
            # true (false) for every non-null x, NULL for NULL: x <= (>) the largest int8
            newop, k = ("<=" if outcome else ">"), (1 << 63) - 1
        const = Const(SqlType.INT4 if fits(SqlType.INT4, k) else SqlType.INT8, k)
        node = self.make_op(newop, [x, const], e, exact_numeric=False)
        return replace(node, extra_cost=1.0)

    def as_bool(self, node: Node, what: str, e: raw.Expr) -> Node:
        if node.type is SqlType.BOOL:
            return node
        if node.type is SqlType.UNKNOWN:
            return self.coerce(node, SqlType.BOOL, e)
        raise CompileError(
            f"argument of {what} must be type boolean, not type {node.type.sql_name}", _pos(e)
        )

    # -- the transformation ------------------------------------------------------------------
    def transform(self, e: raw.Expr, depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise CompileError(f"expression nested deeper than {MAX_DEPTH} levels", _pos(e))
        d = depth + 1
        if isinstance(e, raw.ColumnRef):
            i = self.schema.by_name.get(e.name)
            if i is None:
                known = ", ".join(c.name for c in self.schema.columns)
                raise CompileError(f'column "{e.name}" does not exist (columns: {known})', _pos(e))
            c = self.schema.columns[i]
            return Var(i, c.name, c.type, c.nullable)
        if isinstance(e, raw.Literal):
            return self.literal(e)
        if isinstance(e, raw.Op):
            args = [self.transform(a, d) for a in e.args]
            return self.make_op(e.op, args, e)
        if isinstance(e, raw.BoolOp):
            what = e.op
            return BoolExpr(e.op, tuple(self.as_bool(self.transform(a, d), what, e) for a in e.args))
        if isinstance(e, raw.NullTest):
            arg = self.transform(e.arg, d)
            return NullTest(arg, e.isnull)
        if isinstance(e, raw.BoolTest):
            what = e.test.replace("_", " ")
            return BooleanTest(self.as_bool(self.transform(e.arg, d), what, e), e.test)
        if isinstance(e, raw.CaseWhen):
            return self.case(e, d)
        if isinstance(e, raw.Coalesce):
            args = [self.transform(a, d) for a in e.args]
            t = self.common_type(args, "COALESCE", e)
            return CoalesceExpr(t, tuple(self.coerce(a, t, e) for a in args))
        if isinstance(e, raw.NullIf):
            op = self.make_op("=", [self.transform(a, d) for a in e.args], e, exact_numeric=False)
            if op.type is not SqlType.BOOL:
                raise CompileError("NULLIF requires = operator to yield boolean", _pos(e))
            a0, a1 = op.args
            return NullIfExpr(op.funcname, (a0, a1))
        if isinstance(e, raw.In):
            return self.in_list(e, d)
        if isinstance(e, raw.Between):
            return self.between(e, d)
        if isinstance(e, raw.Cast):
            return self.cast(e, d)
        if isinstance(e, raw.Distinct):
            return self.distinct(e, d)
        if isinstance(e, raw.ArrayOp):
            return self.array_op(e, d)
        if isinstance(e, raw.FuncCall):
            return self.func_call(e, d)
        if isinstance(e, raw.MinMax):
            args = [self.transform(a, d) for a in e.args]
            t = self.common_type(args, e.op, e)
            if t.value not in catalog.CMP_FUNCTIONS:
                raise CompileError(f"could not identify a comparison function for type {t.sql_name}",
                                   _pos(e))
            return MinMaxExpr(t, e.op, tuple(self.coerce(a, t, e) for a in args))
        raise CompileError(f"unsupported expression {type(e).__name__}", _pos(e))

    def literal(self, e: raw.Literal) -> Node:
        if e.kind == "int":
            v = int(e.value)  # type: ignore[call-overload]
            if fits(SqlType.INT4, v):
                site = self.params.get(e.site) if self.params and e.site is not None else None
                if site is not None and site[2] == v:
                    return Param(SqlType.INT4, v, site[0], site[1], self.reads)
                return Const(SqlType.INT4, v)
            if fits(SqlType.INT8, v):
                return Const(SqlType.INT8, v)
            return Const(SqlType.NUMERIC, str(v))  # type: ignore[arg-type]
        if e.kind == "numeric":
            return Const(SqlType.NUMERIC, str(e.value))  # type: ignore[arg-type]
        if e.kind == "bool":
            return Const(SqlType.BOOL, bool(e.value))
        if e.kind == "null":
            return Const(SqlType.UNKNOWN, None)
        if e.kind == "string":
            return Const(SqlType.UNKNOWN, str(e.value))  # type: ignore[arg-type]
        raise CompileError(f"unsupported literal {e.value!r}", _pos(e))

    def cast(self, e: raw.Cast, d: int) -> Node:
        name = " ".join(e.typename.lower().split())
        target = TYPE_NAMES.get(name)
        if target is None:
            raise CompileError(f'type "{e.typename}" is not supported', _pos(e))
        if isinstance(e.arg, raw.Literal) and e.arg.kind == "string":
            return type_input(str(e.arg.value), target, _pos(e))
        arg = self.transform(e.arg, d)
        if target is SqlType.NUMERIC:
            if arg.type is SqlType.NUMERIC:
                return arg
            raise CompileError("numeric values are not supported", _pos(e))
        return self.coerce(arg, target, e, context="e")

    def case(self, e: raw.CaseWhen, d: int) -> Node:
        arg = None if e.arg is None else self.transform(e.arg, d)
        if arg is not None and arg.type in (SqlType.UNKNOWN, SqlType.NUMERIC):
            raise CompileError("CASE operand of unknown or numeric type is not supported", _pos(e))
        conds: list[Node] = []
        results: list[Node] = []
        for cond_e, result_e in e.whens:
            cond = self.transform(cond_e, d)
            if arg is not None:
                # WHEN value means (CASE operand) = value
                cond = self.make_op("=", [CaseTestExpr(arg.type), cond], cond_e)
            conds.append(self.as_bool(cond, "CASE/WHEN", cond_e))
            results.append(self.transform(result_e, d))
        default = (
            self.transform(e.default, d) if e.default is not None else Const(SqlType.UNKNOWN, None)
        )
        t = self.common_type([*results, default], "CASE", e)
        whens = tuple((c, self.coerce(r, t, e)) for c, r in zip(conds, results))
        return CaseExpr(t, arg, whens, self.coerce(default, t, e))

    def in_list(self, e: raw.In, d: int) -> Node:
        """transformAExprIn: constant items become one `= ANY (array)`, the rest `=` each."""
        op = "<>" if e.negated else "="
        lexpr = self.transform(e.arg, d)
        items = [self.transform(i, d) for i in e.items]
        # whether each item mentions a column (a constant, the common case, has no children)
        has_var = [not isinstance(i, Const) and any(isinstance(n, Var) for n in walk(i))
                   for i in items]
        nonvars = [i for i, v in zip(items, has_var) if not v]
        rest = [i for i, v in zip(items, has_var) if v]
        result: Node | None = None
        if len(nonvars) > 1:
            try:
                scalar_type: SqlType | None = self.common_type([lexpr, *nonvars], "IN", e)
            except CompileError:
                scalar_type = None  # PostgreSQL falls back to one operator per item
            if scalar_type is not None:
                elements = tuple(self.coerce(i, scalar_type, e) for i in nonvars)
                probe = self.make_op(op, [lexpr, Const(scalar_type, None)], e)
                if probe.type is not SqlType.BOOL:
                    raise CompileError("op ANY/ALL (array) requires operator to yield boolean", _pos(e))
                result = ScalarArrayOpExpr(
                    probe.funcname, not e.negated, probe.args[0], scalar_type, elements, op
                )
            else:
                rest = items
        else:
            rest = items
        for item in rest:
            cmp = self.as_bool(self.make_op(op, [lexpr, item], e), "IN", e)
            if result is None:
                result = cmp
            else:
                result = BoolExpr("AND" if e.negated else "OR", (result, cmp))
        assert result is not None
        return result

    def between(self, e: raw.Between, d: int) -> Node:
        a = e.arg
        lo, hi = e.low, e.high

        def rng(x: raw.Expr, y: raw.Expr) -> Node:
            if e.negated:
                return BoolExpr("OR", (self.transform(raw.Op("<", (a, x), _pos(e)), d),
                                       self.transform(raw.Op(">", (a, y), _pos(e)), d)))
            return BoolExpr("AND", (self.transform(raw.Op(">=", (a, x), _pos(e)), d),
                                    self.transform(raw.Op("<=", (a, y), _pos(e)), d)))

        if not e.symmetric:
            return rng(lo, hi)
        return BoolExpr("AND" if e.negated else "OR", (rng(lo, hi), rng(hi, lo)))

    def distinct(self, e: raw.Distinct, d: int) -> Node:
        """transformAExprDistinct: against a NULL literal it is a null test; otherwise the `=`
        operator as a DistinctExpr, under NOT for IS NOT DISTINCT FROM."""
        a, b = e.args
        for lit, other in ((b, a), (a, b)):
            if isinstance(lit, raw.Literal) and lit.kind == "null":
                return NullTest(self.transform(other, d), isnull=e.negated)
        op = self.make_op("=", [self.transform(a, d), self.transform(b, d)], e,
                          exact_numeric=False)
        if op.type is not SqlType.BOOL:
            raise CompileError("IS DISTINCT FROM requires = operator to yield boolean", _pos(e))
        a0, a1 = op.args
        node: Node = DistinctExpr(op.funcname, (a0, a1))
        return BoolExpr("NOT", (node,)) if e.negated else node

    def array_op(self, e: raw.ArrayOp, d: int) -> Node:
        """make_scalar_array_op over ARRAY[...] (transformArrayExpr): the elements take their
        common type (or the cast's, each element cast explicitly), the operator is resolved
        against it and the elements converted to its right argument. PostgreSQL converts the
        built array (an ArrayCoerceExpr after all the elements); converting each element
        instead is the same, as an implicit cast between our types never fails, and costs the
        same. Elements that mention columns stay a per-row ArrayExpr (lower.py)."""
        lexpr = self.transform(e.arg, d)
        if e.array_isnull:
            return self.null_array_op(e, lexpr)
        items = [self.transform(i, d) for i in e.items]
        if e.untyped:
            # an untyped literal takes the type the operator wants on its right
            # (make_scalar_array_op with an unknown right type), then array_in reads it
            probe = self.make_op(e.op, [lexpr, Const(SqlType.UNKNOWN, None)], e,
                                 exact_numeric=False)
            if probe.type is not SqlType.BOOL:
                raise CompileError("op ANY/ALL (array) requires operator to yield boolean",
                                   _pos(e))
            right = SqlType(catalog.FUNCTIONS[probe.funcname]["args"][1])
            return ScalarArrayOpExpr(probe.funcname, e.use_or, probe.args[0], right,
                                     tuple(self.coerce(i, right, e) for i in items), e.op)
        if e.array_type is not None:
            elem = TYPE_NAMES.get(" ".join(e.array_type.lower().split()))
            if elem is None or elem in (SqlType.NUMERIC, SqlType.UNKNOWN):
                raise CompileError(f'type "{e.array_type}[]" is not supported', _pos(e))
        elif not items:
            raise CompileError("cannot determine type of empty array", _pos(e))
        else:
            elem = self.common_type(items, "ARRAY", e)
        elements = [self.coerce(i, elem, e) for i in items]
        probe = self.make_op(e.op, [lexpr, Const(elem, None)], e)
        if probe.type is not SqlType.BOOL:
            raise CompileError("op ANY/ALL (array) requires operator to yield boolean", _pos(e))
        # the array is coerced to the operator's right argument type, element by element
        key = (e.op, lexpr.type.value, elem.value)
        conv = catalog.BINARY_OPERATORS[key]["args"][1]
        right = SqlType(catalog.FUNCTIONS[probe.funcname]["args"][1])
        converted = tuple(self.apply_conversions(x, conv, e) for x in elements)
        return ScalarArrayOpExpr(probe.funcname, e.use_or, probe.args[0], right, converted, e.op)

    def null_array_op(self, e: raw.ArrayOp, lexpr: Node) -> Node:
        """x op ANY/ALL (NULL::type[]): ExecEvalScalarArrayOp returns NULL for a NULL array, once
        its arguments are evaluated. The operator is resolved as make_scalar_array_op does (an
        untyped NULL takes the operator's right type); the result is x's evaluation, for its
        errors, and then NULL: CASE WHEN x IS NULL THEN NULL END. That costs what PostgreSQL's
        ScalarArrayOpExpr does (estimate_array_length of a NULL array is 0, so only x's cost),
        which keeps the qual order, and folds to NULL when x is a constant, as PostgreSQL's does."""
        if e.array_type is not None:
            elem = TYPE_NAMES.get(" ".join(e.array_type.lower().split()))
            if elem is None or elem in (SqlType.NUMERIC, SqlType.UNKNOWN):
                raise CompileError(f'type "{e.array_type}[]" is not supported', _pos(e))
        else:
            elem = SqlType.UNKNOWN
        probe = self.make_op(e.op, [lexpr, Const(elem, None)], e, exact_numeric=False)
        if probe.type is not SqlType.BOOL:
            raise CompileError("op ANY/ALL (array) requires operator to yield boolean", _pos(e))
        null = Const(SqlType.BOOL, None)
        return CaseExpr(SqlType.BOOL, None, ((NullTest(probe.args[0], True), null),), null)

    def func_call(self, e: raw.FuncCall, d: int) -> Node:
        """ParseFuncOrColumn for copypatch's built-ins: resolution as the server does it (read
        off it into _pgcatalog.FUNCTION_CALLS), casts to a type's name included."""
        args = [self.transform(a, d) for a in e.args]
        if e.name in catalog.VARIADIC_ANY:
            return self.variadic_any_call(e, args)
        if e.name == "extract":
            raise CompileError(
                "EXTRACT returns numeric in PostgreSQL, which copypatch does not have; "
                "date_part('field', x) gives the field as float8", _pos(e))
        if any(a.type is SqlType.NUMERIC for a in args):
            raise CompileError(
                "numeric values are not supported: PostgreSQL would compute this in numeric "
                "(a literal like 1.5 is numeric); cast the literal to float8 or an integer type",
                _pos(e),
            )
        entry = catalog.FUNCTION_CALLS.get((e.name, *(a.type.value for a in args)))
        if entry is None:
            types = ", ".join(a.type.sql_name for a in args)
            raise CompileError(
                f"function {e.name}({types}) does not exist or is not supported", _pos(e)
            )
        if entry["func"] is not None:
            self.require_function(entry["func"], e)
        convs = list(entry["args"])
        if entry["func"] in UNIT_FUNCTIONS:
            args[0], convs[0] = self.unit_argument(e, args[0], UNIT_FUNCTIONS[entry["func"]]), []
        new_args = tuple(self.apply_conversions(a, conv, e) for a, conv in zip(args, convs))
        if entry["func"] is None:  # a cast to the argument's own type
            return new_args[0]
        self.require_function(entry["func"], e)
        return self.inline_sql(FuncExpr(entry["func"], new_args, SqlType(entry["rettype"])), e)

    def inline_sql(self, node: FuncExpr, e: raw.Expr) -> FuncExpr:
        """inline_function for a SQL function whose body takes its parameters out of order
        (integer_pl_date is $2 + $1): the planner calls the body's function on the reordered
        arguments, so the date is evaluated, and raises its errors, first."""
        entry = catalog.SQL_INLINE.get(node.funcname)
        if entry is None:
            return node
        args = tuple(self.apply_conversions(node.args[i], conv, e)
                     for i, conv in zip(entry["order"], entry["args"]))
        return replace(node, funcname=entry["func"], args=args)

    def unit_argument(self, e: raw.FuncCall, unit: Node, trunc: bool) -> Node:
        """date_part's or date_trunc's text unit: a string literal, read now into the int4 code
        the C function takes (DecodeUnits and DecodeSpecial at compile time). A unit the
        server would refuse still raises only when a row is evaluated, as there."""
        if not (isinstance(unit, Const) and unit.type is SqlType.UNKNOWN):
            raise CompileError(
                f"the unit of {e.name} must be a string literal: copypatch has no text values",
                _pos(e))
        if unit.isnull:
            return Const(SqlType.INT4, None)
        return Const(SqlType.INT4, _datetime.unit_code(str(unit.value), trunc))

    def variadic_any_call(self, e: raw.FuncCall, args: list[Node]) -> Node:
        """num_nulls(VARIADIC "any"), num_nonnulls: ParseFuncOrColumn passes any number of
        arguments of any types, unconverted, to a function that looks only at which are NULL."""
        if not args:
            raise CompileError(f"function {e.name}() does not exist", _pos(e))
        if len(args) > FUNC_MAX_ARGS:
            raise CompileError(
                f"cannot pass more than {FUNC_MAX_ARGS} arguments to a function", _pos(e))
        # A string or numeric literal stays text/unknown or numeric in PostgreSQL, types
        # copypatch lacks; being a constant, only whether it is NULL can matter here.
        args = [Const(SqlType.INT4, None if a.isnull else 0)
                if isinstance(a, Const) and a.type in (SqlType.UNKNOWN, SqlType.NUMERIC) else a
                for a in args]
        return FuncExpr(catalog.VARIADIC_ANY[e.name], tuple(args), SqlType.INT4)
