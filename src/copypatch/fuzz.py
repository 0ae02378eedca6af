"""The differential fuzzer: python -m copypatch fuzz [--examples N] [--postgres] [--seed S]."""

from __future__ import annotations

import argparse
import contextlib
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, seed, settings
from hypothesis.errors import Found

from . import testing
from ._cli import Progress, one_line_errors, positive_int, run_command

PROG = "python -m copypatch fuzz"

#: expressions per generated table; shrinking still goes down to one
MAX_EXPRESSIONS = 4
#: hypothesis examples per expression wanted: a case holds 2.5 expressions on average
_CASES_PER_EXAMPLE = 0.5


@dataclass
class FuzzResult:
    """What a run did: examples (table + expression pairs) checked, and the failure if any."""

    examples: int = 0
    cases: int = 0
    seconds: float = 0.0
    failure: BaseException | None = None
    kinds: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.failure is None


def fuzz_settings(examples: int, *, derandomize: bool = False) -> settings:
    """Hypothesis settings for about `examples` checked expressions."""
    return settings(
        max_examples=max(1, math.ceil(examples * _CASES_PER_EXAMPLE)),
        deadline=None,
        database=None,
        derandomize=derandomize,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                               HealthCheck.large_base_example],
        print_blob=False,
    )


def run(
    examples: int,
    *,
    postgres: Any = None,
    seed_value: int | None = None,
    max_depth: int = 4,
    max_rows: int = 20,
    on_example: Callable[[int], None] | None = None,
) -> FuzzResult:
    """Check about `examples` generated (table, expression) pairs: every engine and optimisation
    setting against each other, or, given a copypatch.pg.PostgreSQL, copypatch against it.
    Runs until that many were checked (more cases if hypothesis stops short) or one fails;
    on_example, if given, is called with the number checked so far after each one."""
    result = FuzzResult()
    t0 = time.perf_counter()

    def counted() -> None:
        result.examples += 1
        if on_example is not None:
            on_example(result.examples)

    check: Callable[[testing.Case], None]
    if postgres is not None:
        def check(case: testing.Case) -> None:
            testing.check_postgres(postgres, case, name="fuzz", counter=counted)
    else:
        def check(case: testing.Case) -> None:
            testing.check_engines(case, counter=counted)

    strategy = testing.cases(max_depth=max_depth, max_rows=max_rows,
                             max_expressions=MAX_EXPRESSIONS)
    rounds = 0
    while result.examples < examples and result.failure is None:
        wanted = examples - result.examples

        @fuzz_settings(wanted, derandomize=seed_value is None and rounds == 0)
        @given(strategy)
        def prop(case: testing.Case) -> None:
            result.cases += 1
            check(case)

        if seed_value is not None:
            prop = seed(seed_value + rounds)(prop)
        before = result.examples
        try:
            prop()
        except (testing.Mismatch, testing.StrategyBug) as e:
            result.failure = e
        except Found:  # pragma: no cover - hypothesis internals
            raise
        rounds += 1
        if result.examples == before:
            break  # hypothesis found nothing new to try
    result.seconds = time.perf_counter() - t0
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog=PROG,
        description="Differential fuzzing: every engine and optimisation setting against each "
                    "other, or (--postgres) copypatch against a real PostgreSQL.",
    )
    one_line_errors(ap, PROG)
    ap.add_argument("--examples", type=positive_int, default=1000,
                    help="(table, expression) pairs to check (default 1000)")
    ap.add_argument("--postgres", action="store_true",
                    help="compare with PostgreSQL ($COPYPATCH_PG_DSN, else a throwaway cluster)")
    ap.add_argument("--seed", type=int, default=None,
                    help="random seed (default: hypothesis's fixed derandomized sequence)")
    ap.add_argument("--max-depth", type=positive_int, default=4, help="expression nesting bound")
    ap.add_argument("--max-rows", type=positive_int, default=20, help="rows per generated table")
    args = ap.parse_args(argv)
    against = "PostgreSQL" if args.postgres else "every engine and optimisation setting"

    with contextlib.ExitStack() as stack:
        progress = stack.enter_context(Progress("fuzz", args.examples, unit="examples"))
        pg = None
        if args.postgres:
            from .pg import PostgreSQL

            progress.update(description="starting PostgreSQL")
            pg = PostgreSQL()
            stack.callback(pg.close)
        progress.update(description=f"examples checked against {against}")
        res = run(args.examples, postgres=pg, seed_value=args.seed, max_depth=args.max_depth,
                  max_rows=args.max_rows,
                  on_example=lambda n: progress.update(completed=min(n, args.examples)))
    print(f"{res.examples} examples ({res.cases} tables) checked against {against} "
          f"in {res.seconds:.1f}s: {'no mismatch' if res.ok else 'MISMATCH'}")
    if res.failure is not None:
        kind = "strategy bug" if isinstance(res.failure, testing.StrategyBug) else "minimal reproduction"
        print(f"\n{kind}:\n{res.failure}")
        return 1
    return 0


if __name__ == "__main__":
    run_command(PROG, main, sys.argv[1:])
