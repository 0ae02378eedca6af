"""The watchdog of a throwaway cluster (pg.Cluster): the server's parent, which stops it and deletes
its directory when the cluster's owner stops it or dies, however it dies.

Run by pg.Cluster as ``python -I -S _pgwatch.py DIR OWNER_PID``, before initdb, in a session of its
own: standard library only, so it starts in milliseconds and imports nothing of the owner's.

Why a process of its own: a SIGKILL of the owner runs no handler and no atexit, and the owner's
SIGTERM handler can only be installed from the main thread, so the server used to outlive an
owner killed either way. Why the server's parent: it is then always reaped (never a zombie under
a PID 1 that does not reap) and its pid is never someone else's when it is signalled. Why not
PR_SET_PDEATHSIG: it fires when the *thread* that started the child exits, so a cluster started
from a worker thread would die with that thread; and it is Linux-only.

The owner's death is seen two ways: end-of-file on stdin (the owner holds the only write end,
which the kernel closes when it dies) and, once a second, os.getppid() no longer being the
owner (in case a forked child of the owner still holds a copy of the write end).

Protocol. stdin, one JSON line from the owner once initdb is done: {"argv": [...], "cwd": ...,
"log": ..., "uid": int or null, "gid": int or null}, the server's command; then end-of-file
means "stop". stdout, to the owner: "started PID" (or "failed MESSAGE"), then "exited CODE" if the
server ends on its own. The server's environment is the watchdog's own.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

# How long the server gets for an immediate shutdown (SIGQUIT) before it is killed outright.
QUIT_TIMEOUT = 30.0
# How long deleting the directory is retried: initdb may still be writing into it when the owner
# died during initdb (it is the owner's child, not ours, and outlives it for a moment).
RMTREE_TIMEOUT = 30.0


def _say(line: str) -> None:
    with contextlib.suppress(OSError):
        os.write(1, (line + "\n").encode())


def _start(cmd: dict[str, Any]) -> subprocess.Popen[bytes]:
    kw: dict[str, Any] = {}
    if cmd.get("uid") is not None:
        kw.update(user=cmd["uid"], group=cmd["gid"], extra_groups=[])
    with open(cmd["log"], "ab") as log:
        # A session of its own, so that stopping it can take any stuck backend with it (killpg).
        return subprocess.Popen(
            cmd["argv"], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            cwd=cmd["cwd"], start_new_session=True, **kw,
        )  # fmt: skip


def _stop(server: subprocess.Popen[bytes] | None) -> None:
    if server is None or server.poll() is not None:
        return
    # SIGQUIT = "immediate" shutdown; the postmaster only exits once its children have.
    with contextlib.suppress(ProcessLookupError):
        server.send_signal(signal.SIGQUIT)
    try:
        server.wait(timeout=QUIT_TIMEOUT)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def _remove(directory: Path) -> None:
    deadline = time.monotonic() + RMTREE_TIMEOUT
    while True:
        shutil.rmtree(directory, ignore_errors=True)
        if not directory.exists():
            # once more after a moment, for a file a dying initdb created meanwhile
            time.sleep(0.2)
            if not directory.exists():
                return
        if time.monotonic() > deadline:
            return
        time.sleep(0.1)


def main(argv: list[str]) -> int:
    directory, owner = Path(argv[1]), int(argv[2])
    # Nobody's terminal reaches this session; a stray SIGINT or SIGHUP must not skip the cleanup,
    # and a SIGTERM (someone stopping everything) cleans up before exiting.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    server: subprocess.Popen[bytes] | None = None
    reported_exit = False
    pending = b""
    try:
        while os.getppid() == owner:
            if server is not None and not reported_exit and server.poll() is not None:
                _say(f"exited {server.returncode}")
                reported_exit = True
            ready, _, _ = select.select([0], [], [], 1.0)
            if not ready:
                continue
            chunk = os.read(0, 65536)
            if not chunk:
                break  # the owner stopped the cluster, or died
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                if server is not None:
                    continue  # one server per watchdog
                try:
                    server = _start(json.loads(line))
                except (OSError, ValueError, KeyError, TypeError, subprocess.SubprocessError) as e:
                    _say(f"failed {e}".replace("\n", " "))
                else:
                    _say(f"started {server.pid}")
    finally:
        _stop(server)
        _remove(directory)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
