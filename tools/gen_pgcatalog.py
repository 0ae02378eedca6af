"""Generate src/copypatch/_pgcatalog.py by asking a real PostgreSQL how it resolves operators.

copypatch does not re-implement PostgreSQL's operator resolution heuristics (func_select_candidate
and friends): it asks the server. For every operator and every pair of supported types this script
creates a view over typed columns and reads back, from the stored parse tree, which function the
parser chose and which casts it put on each argument. Casts, function properties (strictness,
cost, negators) and CASE/COALESCE common types are read the same way.

    python tools/gen_pgcatalog.py "host=/tmp/sock user=postgres"   # or: with no DSN, a throwaway cluster

The output is deterministic (sorted) and carries the server version it came from. Nobody edits it
by hand; tests/test_pgcatalog.py regenerates it against the CI server and compares.
"""

from __future__ import annotations

import hashlib
import itertools
import pprint
import re
import sys
from pathlib import Path
from typing import Any

import psycopg

TYPES = ("bool", "int2", "int4", "int8", "float4", "float8", "date", "timestamp", "numeric",
         "unknown")
COLUMN = {"bool": "b", "int2": "i2", "int4": "i4", "int8": "i8", "float4": "f4", "float8": "f8",
          "date": "dt", "timestamp": "ts", "numeric": "n", "unknown": "NULL"}
BINARY_OPS = ("=", "<>", "<", "<=", ">", ">=", "+", "-", "*", "/", "%", "&", "|", "#", "<<", ">>",
              "^")
UNARY_OPS = ("-", "+", "~", "@", "|/", "||/")
# Functions callable by name: these, and every function an operator or cast above resolves to
# (int4eq(a, b), float8(a), ...), over every combination of copypatch's types and unknown
# (numeric only arrives as literals, and no function of numeric is supported).
CALLABLE = ("abs", "mod", "sqrt", "cbrt", "exp", "ln", "log", "log10", "ceil", "ceiling",
            "floor", "round", "trunc", "sign", "power", "pow", "sin", "cos", "tan", "cot", "asin",
            "acos", "atan", "atan2", "degrees", "radians", "gcd", "lcm", "width_bucket", "sinh",
            "cosh", "tanh", "asinh", "acosh", "atanh", "sind", "cosd", "tand", "cotd", "asind",
            "acosd", "atand", "atan2d", "pi", "num_nulls", "num_nonnulls", "date_part",
            "date_trunc", "isfinite", "make_date", "date")
# the numbers of arguments resolved over every combination of types (pi() has none,
# make_date(year, month, day) three, width_bucket(operand, low, high, count) four)
ARITIES = (0, 1, 2, 3, 4)
# copypatch has no text: the unit argument of these (date_part's, date_trunc's) must be a
# constant, which analyze reads at compile time into the int4 code the C function takes
# (api.h's CP_UNIT_*); FUNCTIONS records that argument as int4
UNIT_FUNCTIONS = ("timestamp_part", "timestamp_trunc")
CALL_TYPES = tuple(t for t in TYPES if t != "numeric")
OUT = Path(__file__).resolve().parent.parent / "src" / "copypatch" / "_pgcatalog.py"


def parse_node_text(text: str) -> Any:
    """Parse PostgreSQL's outfuncs node text into nested dicts (nodes) and lists."""
    tokens: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c.isspace():
            i += 1
        elif c in "{}()":
            tokens.append(c)
            i += 1
        elif c == "[":
            j = text.index("]", i)
            tokens.append(text[i : j + 1])
            i = j + 1
        elif c == '"':
            j = i + 1
            while text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            tokens.append(text[i : j + 1])
            i = j + 1
        else:
            j = i
            while j < len(text) and not text[j].isspace() and text[j] not in "{}()":
                j += 1
            tokens.append(text[i:j])
            i = j
    pos = 0

    def value() -> Any:
        nonlocal pos
        tok = tokens[pos]
        pos += 1
        if tok == "{":
            node: dict[str, Any] = {"_type": tokens[pos]}
            pos += 1
            while tokens[pos] != "}":
                key = tokens[pos][1:]
                pos += 1
                if tokens[pos].startswith(":") or tokens[pos] == "}":
                    node[key] = None
                else:
                    node[key] = value()
                    # constvalue is "<len> [ bytes ]": keep the bytes token too
                    if key == "constvalue" and tokens[pos].startswith("["):
                        pos += 1
            pos += 1
            return node
        if tok == "(":
            items = []
            while tokens[pos] != ")":
                items.append(value())
            pos += 1
            return items
        return tok

    return value()


class Catalog:
    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self.oid_type = {
            int(oid): name
            for oid, name in conn.execute(
                # "any": the declared argument type of the VARIADIC "any" functions (num_nulls)
                # and the types copypatch refuses, so that what refers to them names them
                "SELECT oid, typname FROM pg_type WHERE typname = ANY(%s)",
                (list(TYPES) + ["any", "text", "interval", "timestamptz", "time", "timetz"],)
            )
        }
        self.procs: dict[int, tuple[str, bool, float, list[str], str]] = {}
        # SQL-language functions (RETURN <expression>) whose body calls one function with the
        # parameters in order, which the planner inlines (date_part(text, date)); the others
        # (integer_pl_date: $2 + $1) go by their own name
        self.sql_bodies: dict[int, str] = {}
        self.sql_permuted: dict[int, str] = {}  # the others, for inlined()
        for oid, prosrc, strict, cost, args, ret, body, proname in conn.execute(
            "SELECT oid, prosrc, proisstrict, procost, proargtypes::oid[], prorettype,"
            " CASE WHEN prosqlbody IS NOT NULL THEN pg_get_function_sqlbody(oid) END, proname"
            " FROM pg_proc"
        ):
            if body is not None:
                params = [int(p) for p in re.findall(r"\$(\d+)", body)]
                if params == list(range(1, len(args) + 1)):
                    self.sql_bodies[int(oid)] = body
                else:
                    self.sql_permuted[int(oid)] = body
                prosrc = proname
            self.procs[int(oid)] = (prosrc, strict, float(cost),
                                    [self.oid_type.get(int(a), "?") for a in args],
                                    self.oid_type.get(int(ret), "?"))
        self.used_funcs: set[int] = set()

    def typename(self, oid: str) -> str:
        return self.oid_type.get(int(oid), f"oid{oid}")

    def view_expr(self, select: str) -> dict[str, Any]:
        """The typed expression tree PostgreSQL's parser makes of `select` (one target)."""
        with self.conn.transaction(force_rollback=True):
            self.conn.execute(f"CREATE TEMP VIEW gen_v AS SELECT {select} AS x FROM gen_t")
            (action,) = self.conn.execute(
                "SELECT ev_action FROM pg_rewrite WHERE ev_class = 'gen_v'::regclass"
            ).fetchone()  # type: ignore[misc]
        query = parse_node_text(action)[0]
        return query["targetList"][0]["expr"]  # type: ignore[no-any-return]

    def describe_arg(self, node: dict[str, Any]) -> list[str]:
        """The chain of cast functions applied to a column reference, innermost first."""
        casts: list[str] = []
        while node["_type"] == "FUNCEXPR":
            self.used_funcs.add(int(node["funcid"]))
            casts.insert(0, self.procs[int(node["funcid"])][0])
            (node,) = node["args"]
        if node["_type"] == "CONST":  # an unknown NULL literal is retyped in place
            return [f"const:{self.typename(node['consttype'])}"]
        if node["_type"] not in ("VAR",):
            raise ValueError(f"unexpected argument node {node['_type']}")
        return casts

    def resolve(self, select: str) -> dict[str, Any]:
        try:
            expr = self.view_expr(select)
        except psycopg.Error as e:
            return {"error": (e.sqlstate, e.diag.message_primary)}
        if expr["_type"] == "CONST":  # e.g. NULL = NULL folds nothing but stays a Const? record it
            return {"const": self.typename(expr["consttype"])}
        if expr["_type"] != "OPEXPR":
            raise ValueError(f"{select}: unexpected {expr['_type']}")
        self.used_funcs.add(int(expr["opfuncid"]))
        return {
            "func": self.procs[int(expr["opfuncid"])][0],
            "args": [self.describe_arg(a) for a in expr["args"]],
            "rettype": self.typename(expr["opresulttype"]),
        }

    def resolve_call(self, name: str, argtypes: tuple[str, ...]) -> dict[str, Any] | None:
        """How PostgreSQL resolves name(args of argtypes): the function (None when the call is
        a cast to the argument's own type) with the casts on each argument; None if it fails."""
        cols = ", ".join(COLUMN[t] for t in argtypes)
        try:
            # quoted: some names are keywords ("timestamp"(ts, 3), the coercion to timestamp(3))
            expr = self.view_expr(f'"{name}"({cols})')
        except psycopg.Error:
            return None
        if expr["_type"] == "VAR":
            return {"func": None, "args": [[]], "rettype": self.typename(expr["vartype"])}
        if expr["_type"] != "FUNCEXPR":
            return None
        body = self.sql_bodies.get(int(expr["funcid"]))
        if body is not None:
            # a SQL function (date_part(text, date)): the planner inlines its body, so resolve
            # that, the arguments in place of $1, $2, ...
            text = body.strip().removeprefix("RETURN ").strip()
            for i, t in reversed(list(enumerate(argtypes, 1))):
                text = text.replace(f"${i}", f"({COLUMN[t]})")
            expr = self.view_expr(text)
            if expr["_type"] != "FUNCEXPR":
                raise ValueError(f"{name}{argtypes}: inlined body {text} is a {expr['_type']}")
        self.used_funcs.add(int(expr["funcid"]))
        args = expr["args"] if isinstance(expr["args"], list) else []  # pi(): "<>", no list
        return {
            "func": self.procs[int(expr["funcid"])][0],
            "args": [self.describe_arg(a) for a in args],
            "rettype": self.typename(expr["funcresulttype"]),
        }

    def inlined(self, oid: int) -> dict[str, Any] | None:
        """How the planner inlines a SQL function whose body takes its parameters out of order
        (integer_pl_date: $2 + $1, so its date is evaluated first): the function it calls, the
        parameter each of that call's arguments is, and the casts on it; None if the body is no
        such call or two parameters share a type (then the columns cannot tell them apart)."""
        body = self.sql_permuted.get(oid)
        if body is None:
            return None
        _, _, _, args, _ = self.procs[oid]
        if len(set(args)) != len(args) or not set(args) <= set(COLUMN):
            return None
        text = body.strip().removeprefix("RETURN ").strip()
        for i, t in reversed(list(enumerate(args, 1))):
            text = text.replace(f"${i}", f"({COLUMN[t]})")
        expr = self.view_expr(text)
        if expr["_type"] not in ("OPEXPR", "FUNCEXPR"):
            return None
        funcid = int(expr["opfuncid" if expr["_type"] == "OPEXPR" else "funcid"])
        self.used_funcs.add(funcid)
        order = []
        for a in expr["args"]:
            while a["_type"] == "FUNCEXPR":
                (a,) = a["args"]
            if a["_type"] != "VAR":
                return None
            order.append(args.index(self.typename(a["vartype"])))
        return {"func": self.procs[funcid][0], "order": order,
                "args": [self.describe_arg(a) for a in expr["args"]]}

    def common_type(self, t1: str, t2: str) -> dict[str, Any]:
        a, b = COLUMN[t1], COLUMN[t2]
        try:
            expr = self.view_expr(f"CASE WHEN b THEN {a} ELSE {b} END")
        except psycopg.Error as e:
            return {"error": (e.sqlstate, e.diag.message_primary)}
        return {"type": self.typename(expr["casetype"])}


def generate(conn: psycopg.Connection[Any]) -> str:
    conn.execute(
        "CREATE TEMP TABLE gen_t (b bool, i2 int2, i4 int4, i8 int8, f4 float4, f8 float8,"
        " dt date, ts timestamp, n numeric)"
    )
    cat = Catalog(conn)
    binary = {}
    for op in BINARY_OPS:
        for lt in TYPES:
            for rt in TYPES:
                binary[(op, lt, rt)] = cat.resolve(f"{COLUMN[lt]} {op} {COLUMN[rt]}")
    unary = {}
    for op in UNARY_OPS:
        for t in TYPES:
            unary[(op, t)] = cat.resolve(f"{op} {COLUMN[t]}")
    common = {(t1, t2): cat.common_type(t1, t2) for t1 in TYPES for t2 in TYPES}

    casts = {}
    for src, dst, func, context in conn.execute(
        "SELECT castsource::regtype::text, casttarget::regtype::text, castfunc, castcontext"
        " FROM pg_cast"
    ):
        names = {"boolean": "bool", "smallint": "int2", "integer": "int4", "bigint": "int8",
                 "real": "float4", "double precision": "float8", "date": "date",
                 "timestamp without time zone": "timestamp", "numeric": "numeric"}
        if src in names and dst in names:
            fname = cat.procs[int(func)][0] if int(func) else None
            if int(func):
                cat.used_funcs.add(int(func))
            casts[(names[src], names[dst])] = {"func": fname, "context": context}

    # VARIADIC "any" functions take any number of arguments of any types, unconverted: there is
    # nothing to resolve per type, only the function to record
    variadic_any = {}
    for name, oid in conn.execute(
        "SELECT proname, oid FROM pg_proc WHERE provariadic = '\"any\"'::regtype"
        " AND proname = ANY(%s)", (list(CALLABLE),)
    ):
        cat.used_funcs.add(int(oid))
        variadic_any[name] = cat.procs[int(oid)][0]

    names = set(CALLABLE) - set(variadic_any)
    for oid in list(cat.used_funcs):
        (name,) = conn.execute("SELECT proname FROM pg_proc WHERE oid = %s", (oid,)).fetchone()  # type: ignore[misc]
        if name not in variadic_any:
            names.add(name)
    calls = {}
    for name in sorted(names):
        arities = sorted({int(n) for (n,) in conn.execute(
            "SELECT pronargs FROM pg_proc WHERE proname = %s AND pronargs = ANY(%s)",
            (name, list(ARITIES)))})
        for arity in arities:
            combos = list(itertools.product(CALL_TYPES, repeat=arity))
            for argtypes in combos:
                r = cat.resolve_call(name, argtypes)
                if r is not None:
                    calls[(name, *argtypes)] = r

    # btree comparison support functions (GREATEST/LEAST compare with these)
    cmp_functions = {}
    for typname, proc in conn.execute(
        "SELECT t.typname, ap.amproc::oid FROM pg_opclass oc"
        " JOIN pg_am am ON am.oid = oc.opcmethod AND am.amname = 'btree'"
        " JOIN pg_type t ON t.oid = oc.opcintype"
        " JOIN pg_amproc ap ON ap.amprocfamily = oc.opcfamily AND ap.amproclefttype = oc.opcintype"
        "  AND ap.amprocrighttype = oc.opcintype AND ap.amprocnum = 1"
        " WHERE oc.opcdefault AND t.typname = ANY(%s)", (list(CALL_TYPES),)
    ):
        cat.used_funcs.add(int(proc))
        cmp_functions[typname] = cat.procs[int(proc)][0]

    # SQL functions the planner inlines with their parameters reordered (integer_pl_date)
    sql_inline = {}
    for oid in sorted(cat.used_funcs):
        r = cat.inlined(oid)
        if r is not None:
            sql_inline[cat.procs[oid][0]] = r

    negators = {}
    for code, negcode in conn.execute(
        "SELECT o.oprcode::oid, n.oprcode::oid FROM pg_operator o"
        " JOIN pg_operator n ON n.oid = o.oprnegate"
    ):
        if int(code) in cat.used_funcs and int(negcode) in cat.used_funcs:
            negators[cat.procs[int(code)][0]] = cat.procs[int(negcode)][0]

    functions = {}
    for oid in sorted(cat.used_funcs):
        src, strict, cost, args, ret = cat.procs[oid]
        if src in UNIT_FUNCTIONS:
            args = ["int4" if a == "text" else a for a in args]
        functions[src] = {"args": tuple(args), "rettype": ret, "strict": strict, "cost": cost}

    (version,) = conn.execute("SHOW server_version").fetchone()  # type: ignore[misc]
    body = {
        "SERVER_VERSION": version,
        "BINARY_OPERATORS": binary,
        "UNARY_OPERATORS": unary,
        "COMMON_TYPES": common,
        "FUNCTION_CALLS": calls,
        "CMP_FUNCTIONS": dict(sorted(cmp_functions.items())),
        "CASTS": dict(sorted(casts.items())),
        "NEGATORS": dict(sorted(negators.items())),
        "FUNCTIONS": dict(sorted(functions.items())),
        "VARIADIC_ANY": dict(sorted(variadic_any.items())),
        "SQL_INLINE": dict(sorted(sql_inline.items())),
    }
    text = "".join(
        f"{k}: Any = {pprint.pformat(v, width=100, sort_dicts=True)}\n\n" for k, v in body.items()
    )
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return (
        '"""PostgreSQL\'s operator resolution, casts and function properties for copypatch\'s types.\n\n'
        "Generated by tools/gen_pgcatalog.py from a real PostgreSQL server; do not edit.\n"
        '"""\n\n'
        f"# digest: {digest}\n# ruff: noqa\n\nfrom typing import Any\n\n" + text
    )


def main() -> None:
    dsn = sys.argv[1] if len(sys.argv) > 1 else None
    if dsn is None:
        sys.path.insert(0, str(OUT.parent.parent))
        from copypatch.pg import PostgreSQL

        with PostgreSQL() as pg:
            dsn = pg.dsn
            with psycopg.connect(dsn, autocommit=True) as conn:
                text = generate(conn)
    else:
        with psycopg.connect(dsn, autocommit=True) as conn:
            text = generate(conn)
    tmp = OUT.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(OUT)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
