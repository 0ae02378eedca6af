"""fork() with other threads busy: compiling and freeing JIT code, or inside filter()."""

from __future__ import annotations

import os
import select
import signal
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import pytest
from helpers import JIT_EXPRESSIONS, JIT_TABLE

import copypatch
from copypatch import jit

pytestmark = [
    pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork"),
    pytest.mark.skipif(not jit.available(), reason="no JIT stencils for this machine"),
]

TABLE = JIT_TABLE
#: generous: a loaded 2-core machine, or qemu (tools/test-arm64.sh) at a tenth of the speed
CHILD_TIMEOUT = 120.0


def wx_mappings() -> list[str]:
    """Lines of /proc/self/maps that are both writable and executable."""
    with open("/proc/self/maps") as f:
        return [line for line in f if "w" in line.split()[1] and "x" in line.split()[1]]


def expected(sql: str) -> list[bool]:
    return list(copypatch.compile(sql, TABLE, engine="goto").filter(TABLE).tolist())


class Child:
    """A forked child running `work`; its report (or traceback) comes back through a pipe."""

    def __init__(self, work: Callable[[], str]) -> None:
        r, w = os.pipe()
        with warnings.catch_warnings():  # Python >= 3.12 warns about fork() with threads
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # the child: never returns into pytest
            code = 1
            try:
                os.close(r)
                report = work()
                code = 0
            except BaseException:  # noqa: BLE001 (the parent reports it)
                report = traceback.format_exc()
            try:
                os.write(w, report.encode()[:60000])
            finally:
                os._exit(code)
        os.close(w)
        self.pid, self.fd = pid, r

    def wait(self, timeout: float = CHILD_TIMEOUT) -> tuple[str, str]:
        """(how it ended, its report): "exit 0", "exit N", "signal N" or "hung" (then killed)."""
        deadline = time.monotonic() + timeout
        chunks: list[bytes] = []
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                    os.kill(self.pid, signal.SIGKILL)
                    os.waitpid(self.pid, 0)
                    return "hung", b"".join(chunks).decode(errors="replace")
                data = os.read(self.fd, 65536)
                if not data:  # the child has exited (or closed the pipe on its way out)
                    break
                chunks.append(data)
            _, status = os.waitpid(self.pid, 0)
        finally:
            os.close(self.fd)
        report = b"".join(chunks).decode(errors="replace")
        if os.WIFSIGNALED(status):
            return f"signal {os.WTERMSIG(status)}", report
        return f"exit {os.WEXITSTATUS(status)}", report


@contextmanager
def background(loop: Callable[[], None]) -> Iterator[threading.Event]:
    """Run `loop` in a thread until the block ends (it is given the stop event)."""
    stop = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            while not stop.is_set():
                loop()
        except BaseException as e:  # noqa: BLE001 (reported by the test, not lost in the thread)
            errors.append(e)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    try:
        yield stop
    finally:
        stop.set()
        t.join(CHILD_TIMEOUT)
    assert not t.is_alive(), "the background thread did not stop"
    assert not errors, errors


def test_child_keeps_its_code_while_the_parent_frees_and_compiles() -> None:
    """A fork pool's shape: the parent keeps compiling and freeing JIT programs (here two
    threads: one churning, and the forking one, which frees what the child inherited and
    compiles over it as soon as fork() returns) while each child runs the programs it inherited
    and compiles new ones. Each child has its own copy of the code as it was at fork()."""
    want = {sql: expected(sql) for sql in JIT_EXPRESSIONS}

    def churn() -> None:
        for sql in JIT_EXPRESSIONS:
            p = copypatch.compile(sql, TABLE, engine="jit")
            assert p.filter(TABLE).tolist() == want[sql]
            p.close()

    results = []
    with background(lambda: churn()):
        for _ in range(30):
            inherited = [copypatch.compile(sql, TABLE, engine="jit") for sql in JIT_EXPRESSIONS]

            def child_work(inherited: list[copypatch.Program] = inherited) -> str:
                for _ in range(3):
                    for sql, p in zip(JIT_EXPRESSIONS, inherited):
                        assert p.filter(TABLE).tolist() == want[sql], sql
                fresh = [copypatch.compile(sql, TABLE, engine="jit") for sql in JIT_EXPRESSIONS]
                for sql, p in zip(JIT_EXPRESSIONS, fresh):
                    assert p.filter(TABLE).tolist() == want[sql], sql
                assert not wx_mappings()  # the child's new pages are W^X too
                return "ok"

            child = Child(child_work)
            try:
                for p in inherited:  # free the child's programs here, and compile over them
                    p.close()
                churn()
            finally:
                results.append(child.wait())
    bad = [r for r in results if r != ("exit 0", "ok")]
    assert not bad, f"{len(bad)} of {len(results)} children failed: {bad}"


def test_fork_while_another_thread_is_inside_filter() -> None:
    """A thread is inside prog.filter() (holding the program's lock) when another forks: the
    child, which has only the forking thread, can still run that program (and free it)."""
    n = 200_000  # a few milliseconds per scan: the fork lands inside one
    big = {
        "a": np.arange(n, dtype=np.int32) % 200 - 50,
        "b": np.arange(n, dtype=np.int64) % 17,
        "c": np.ma.masked_array(np.arange(n, dtype=np.int32) % 9, mask=np.arange(n) % 5 == 0),
    }
    sql = JIT_EXPRESSIONS[0]
    want = copypatch.compile(sql, big, engine="goto").filter(big).tolist()
    held = 0  # forks that certainly found the lock held (one in twenty may not: the GIL's doing)
    for engine in copypatch.ENGINES:
        prog = copypatch.compile(sql, big, engine=engine)
        inside = threading.Event()

        def scan(prog: copypatch.Program = prog, inside: threading.Event = inside) -> None:
            inside.set()
            prog.filter(big)

        with background(scan):
            assert inside.wait(CHILD_TIMEOUT)
            for _ in range(4):

                def child_work(prog: copypatch.Program = prog) -> str:
                    assert prog.filter(big).tolist() == want
                    prog.close()
                    return "ok"

                exe = prog._main
                held += exe is not None and exe.lock.locked()
                result = Child(child_work).wait()
                assert result == ("exit 0", "ok"), (engine, result)  # "hung": the lock was held
        assert prog.filter(big).tolist() == want  # and the parent's is as it was
    assert held > 0


def test_fork_while_another_thread_holds_a_program_lock() -> None:
    """The same, deterministic: a thread holds the lock (as filter() does) for the whole fork;
    the child scans and closes, the parent's lock is still held until that thread lets go."""
    prog = copypatch.compile(JIT_EXPRESSIONS[0], TABLE, engine="jit")
    exe = prog._main
    assert exe is not None
    want = expected(JIT_EXPRESSIONS[0])
    taken, done = threading.Event(), threading.Event()

    def hold() -> None:
        with exe.lock:
            taken.set()
            done.wait(CHILD_TIMEOUT)

    t = threading.Thread(target=hold, daemon=True)
    t.start()
    try:
        assert taken.wait(CHILD_TIMEOUT)

        def child_work() -> str:
            assert prog.filter(TABLE).tolist() == want
            prog.close()
            return "ok"

        assert Child(child_work).wait() == ("exit 0", "ok")
        assert exe.lock.locked()
    finally:
        done.set()
        t.join(CHILD_TIMEOUT)
    assert prog.filter(TABLE).tolist() == want
