"""What every command line shares: one progress display, user errors in one line, pyperf kept quiet.

A user error (bad SQL, an unknown column, a bad option value, an unreachable --dsn) ends a command
with one line on stderr and exit status 2, as argparse does for its own errors; anything else is a
bug of ours and keeps its traceback. The commands that time with pyperf show one progress display
for the whole run instead of pyperf's per-benchmark lines, and report the spread of pyperf's values
in their table, once, instead of pyperf's warning block per benchmark.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import io
import os
import statistics
import sys
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, NoReturn

from ._errors import CompileError, EvalError

if TYPE_CHECKING:
    from typing import Self  # only for annotations, so Python 3.10 can still import this

    import rich.progress

#: a relative spread (stdev/mean of pyperf's values) above this, in %, marks a cell as unstable
UNSTABLE_PERCENT = 5.0
#: the footer line of a table with an unstable cell
STEADIER = (f"!: spread above {UNSTABLE_PERCENT:g} %; for steadier numbers, run python -m pyperf "
            "system tune and add --rigorous")
USER_ERROR = 2  # argparse's exit status for its own errors


# ---- user errors -------------------------------------------------------------------------------
def _user_errors() -> tuple[type[BaseException], ...]:
    # PostgresUnavailable lives in pg.py, which needs psycopg (an extra); if pg was never imported
    # it cannot have been raised, so `explain` works without psycopg.
    pg = sys.modules.get("copypatch.pg")
    return (CompileError, EvalError) + ((pg.PostgresUnavailable,) if pg is not None else ())


def fail(prog: str, message: str) -> NoReturn:
    """End the command on a user error: one line on stderr, exit status 2."""
    one_line = " ".join(message.split())  # psycopg's connection errors span lines
    print(f"{prog}: error: {one_line}", file=sys.stderr)
    raise SystemExit(USER_ERROR)


def run_command(prog: str, main: Callable[[list[str]], int | None], argv: list[str]) -> NoReturn:
    """Run a command's main, turning copypatch's user-facing exceptions into `fail`."""
    try:
        code = main(argv)
    except _user_errors() as e:
        fail(prog, str(e))
    except BrokenPipeError:
        # stdout was closed early (`... | head`): as Python's docs advise, point it at devnull so
        # that the interpreter's flush at exit does not fail again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(1) from None
    raise SystemExit(code or 0)


def one_line_errors(parser: argparse.ArgumentParser, prog: str) -> None:
    """argparse reports its errors after the usage, which for pyperf's Runner is 40 lines long."""
    parser.prog = prog

    def error(message: str) -> NoReturn:
        fail(prog, f"{message} (see --help)")

    parser.error = error  # type: ignore[method-assign]


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, not {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {n}")
    return n


def non_negative_int(text: str) -> int:
    """argparse type: an integer >= 0 (a seed)."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, not {text!r}") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"must be at least 0, not {n}")
    return n


def check_queries(queries: Sequence[str], schema: Any) -> None:
    """Compile every query once, so that a typo fails now rather than after PostgreSQL started."""
    import copypatch

    for q in queries:
        copypatch.compile(q, schema)


# ---- pyperf ------------------------------------------------------------------------------------
def quiet_pyperf(args: argparse.Namespace) -> bool:
    """Unless -v, silence pyperf in the parent: no checks, no dots (its --quiet), and no result
    line (`pyperf_silenced`). The spread goes into our table instead. True if silenced."""
    if args.verbose or args.worker:
        return False
    args.quiet = True  # pyperf reads it only when it reports (dots, checks), after parsing
    return True


@contextlib.contextmanager
def pyperf_silenced(silence: bool) -> Iterator[None]:
    """Swallow what pyperf prints in the parent around bench_time_func (its "name: Mean +- std dev"
    line, which --quiet keeps). Workers report through a pipe and print nothing."""
    if not silence:
        yield
        return
    with contextlib.redirect_stdout(io.StringIO()):
        yield


def spread_percent(bench: Any) -> float | None:
    """Relative spread of a pyperf Benchmark's values, stdev/mean in %; None with one value."""
    values: list[float] = list(bench.get_values())
    if len(values) < 2:
        return None
    return 100.0 * statistics.stdev(values) / statistics.mean(values)


def format_spread(p: float | None) -> str:
    """Six characters under SPREAD_HEAD: ' 3.1% ', '12.4%!' (unstable), '    - ' (one value)."""
    if p is None:
        return f"{'-':>5} "
    number = f"{p:4.1f}" if p < 99.95 else f"{p:4.0f}"
    return f"{number}%" + ("!" if is_unstable(p) else " ")


#: the column head over format_spread's cells
SPREAD_HEAD = f"{'±':>5} "


def is_unstable(p: float | None) -> bool:
    return p is not None and p > UNSTABLE_PERCENT


def shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


# ---- the progress display ----------------------------------------------------------------------
class Progress:
    """One progress display for a whole command, on stderr (rich): the bar, steps done of all,
    elapsed time, and what runs now. Disabled (in a pyperf worker) it shows nothing, so callers
    need no `if`. On an error the display vanishes, leaving the error's line alone. When stderr is
    not a terminal (a log, a test) there is nothing to redraw: one line at the end says how long
    the run took."""

    def __init__(self, title: str, total: int, *, unit: str = "steps", enabled: bool = True) -> None:
        self.title, self.unit = title, unit
        self._rich: rich.progress.Progress | None = None
        if enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )
            from rich.progress import Progress as RichProgress
            from rich.table import Column

            self._rich = RichProgress(
                SpinnerColumn(), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                TextColumn("{task.description}", table_column=Column(no_wrap=True)),
                console=Console(stderr=True),
            )
            self._task = self._rich.add_task("", total=total)

    def __enter__(self) -> Self:
        if self._rich is not None:
            if self._rich.console.is_terminal:
                self._rich.start()
            else:  # not started, the task still keeps the time
                self._rich.start_task(self._task)
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._rich is None:
            return
        if self._rich.console.is_terminal:
            self._rich.update(self._task, description="done")
            self._rich.live.transient = kind is not None
            self._rich.stop()
        elif kind is None:
            task = self._rich.tasks[0]
            elapsed = datetime.timedelta(seconds=round(task.elapsed or 0.0))
            self.note(f"{self.title}: {task.completed:.0f} {self.unit} done in {elapsed}")

    def set_total(self, total: int) -> None:
        if self._rich is not None:
            self._rich.update(self._task, total=total)

    def update(self, *, completed: int | None = None, description: str | None = None) -> None:
        if self._rich is not None:
            self._rich.update(self._task, completed=completed, description=description)

    @contextlib.contextmanager
    def step(self, what: str) -> Iterator[None]:
        """One step: shown as what runs now while it runs, counted as done after."""
        self.update(description=what)
        yield
        if self._rich is not None:
            self._rich.advance(self._task)

    def note(self, text: str) -> None:
        """A line on stderr (above the display while it runs): a skipped phase, say."""
        if self._rich is not None:
            self._rich.console.print(text, highlight=False, markup=False, soft_wrap=True)
