"""Command line: python -m copypatch bench | experiment | explain | fuzz | pg-provider."""

from __future__ import annotations

import argparse
import sys

from ._cli import fail, one_line_errors, run_command

USAGE = """usage: python -m copypatch {bench,experiment,explain,fuzz,pg-provider} ...

  bench       time every engine (and PostgreSQL) on the standard queries; --pg-provider: inside
              PostgreSQL (JIT off, LLVM, copypatch), TPC-H Q1/Q6 too
  experiment  the blog post's experiment: a = 42, engines x optimisations
  explain     show the step program of an expression: explain SQL [name:dtype[?] ...]
  fuzz        differential fuzzing: fuzz [--examples N] [--postgres] [--seed S]
  pg-provider copypatch as PostgreSQL's JIT provider: pg-provider build [--pg-config PATH],
              pg-provider bench, pg-provider regress (PostgreSQL's own regression suite)"""


def column_spec(text: str) -> tuple[str, tuple[object, bool]]:
    """argparse type for explain's columns: name:dtype, with ? for a nullable column (a
    bare name is int32)."""
    import numpy as np

    from .sqltypes import SqlType

    name, _, dt = text.partition(":")
    nullable = dt.endswith("?")
    if not name:
        raise argparse.ArgumentTypeError(f"{text!r}: expected name:dtype, e.g. a:int32 or b:float8?")
    try:
        dtype = np.dtype(dt.rstrip("?") or "int32")
        SqlType.from_dtype(dtype)  # the one table of supported dtypes says whether it is one
    except TypeError as e:
        raise argparse.ArgumentTypeError(f"column {text!r}: {e}") from None
    return name, (dtype, nullable)


def explain(argv: list[str]) -> None:
    import copypatch

    prog = "python -m copypatch explain"
    ap = argparse.ArgumentParser(prog=prog, description="Show the step program of an expression.")
    one_line_errors(ap, prog)
    ap.add_argument("sql", help="the expression, e.g. \"a = 42 AND b > 10\"")
    ap.add_argument("columns", nargs="*", type=column_spec, default=[], metavar="name:dtype[?]",
                    help="a column and its numpy dtype (int32 if left out); ? makes it nullable")
    args = ap.parse_args(argv)
    print(copypatch.compile(args.sql, dict(args.columns)).explain())


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return
    cmd, rest = argv[0], argv[1:]
    prog = f"python -m copypatch {cmd}"
    if cmd in ("bench", "experiment"):
        # pyperf re-runs `python -m copypatch.bench` (or .experiment) for its workers, with
        # sys.argv as the command line to forward
        sys.argv = [sys.argv[0], *rest]
        if cmd == "bench":
            from .bench import main as bench_main

            run_command(prog, bench_main, rest)
        from .experiment import main as experiment_main

        run_command(prog, experiment_main, rest)
    elif cmd == "fuzz":
        from .fuzz import main as fuzz_main

        run_command(prog, fuzz_main, rest)
    elif cmd == "explain":
        run_command(prog, explain, rest)
    elif cmd == "pg-provider":
        if rest[:1] == ["regress"]:
            from .pgregress import main as regress_main

            run_command(f"{prog} regress", regress_main, rest[1:])
        from .pgprovider import main as provider_main

        run_command(prog, provider_main, rest)
    else:
        fail("python -m copypatch", f"unknown command {cmd!r} (choose from bench, experiment, "
             "explain, fuzz, pg-provider; see --help)")


if __name__ == "__main__":
    main()
