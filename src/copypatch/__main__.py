"""Command line: python -m copypatch bench | experiment | explain | fuzz."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m copypatch {bench,experiment,explain,fuzz} ...\n\n"
              "  bench       time every engine (and PostgreSQL) on the standard queries\n"
              "  experiment  the blog post's experiment: a = 42, engines x optimisations\n"
              "  explain   show the step program of an expression: explain SQL [col:dtype ...]\n"
              "  fuzz      differential fuzzing: fuzz [--examples N] [--postgres] [--seed S]")
        return
    cmd, rest = argv[0], argv[1:]
    if cmd == "bench":
        from .bench import main as bench_main

        # pyperf re-runs `python -m copypatch.bench` for its workers
        sys.argv = [sys.argv[0], *rest]
        bench_main(rest)
    elif cmd == "experiment":
        from .experiment import main as experiment_main

        sys.argv = [sys.argv[0], *rest]
        experiment_main(rest)
    elif cmd == "fuzz":
        from .fuzz import main as fuzz_main

        raise SystemExit(fuzz_main(rest))
    elif cmd == "explain":
        import numpy as np

        import copypatch

        if not rest:
            raise SystemExit("usage: python -m copypatch explain SQL [name:dtype[?] ...]")
        schema: dict[str, object] = {}
        for spec in rest[1:]:
            name, _, dt = spec.partition(":")
            nullable = dt.endswith("?")
            schema[name] = (np.dtype(dt.rstrip("?") or "int32"), nullable)
        print(copypatch.compile(rest[0], schema).explain())
    else:
        raise SystemExit(f"unknown command {cmd!r}; try python -m copypatch --help")


if __name__ == "__main__":
    main()
