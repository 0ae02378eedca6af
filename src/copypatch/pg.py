"""Run expressions on a real PostgreSQL server: the reference copypatch is measured against."""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import glob
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from . import _datetime
from ._errors import CopypatchError, EvalError
from .sqltypes import SUPPORTED_DTYPES, SqlType

if TYPE_CHECKING:
    from typing import Self  # only for annotations, so Python 3.10 can still import this

    from .pgprovider import Provider

__all__ = [
    "SEARCH_GLOBS",
    "Cluster",
    "ExplainResult",
    "JitTiming",
    "PostgreSQL",
    "PostgresUnavailable",
    "find_bindir",
]

# Where packaged servers live when they are not on PATH: Debian/Ubuntu, RHEL/PGDG, source builds.
# A module-level tuple so that tests can point the search somewhere empty.
SEARCH_GLOBS: tuple[str, ...] = (
    "/usr/lib/postgresql/*/bin",
    "/usr/pgsql-*/bin",
    "/usr/local/pgsql/bin",
)

# The programs a directory must hold for Cluster to work (pg_ctl is not needed: we run postgres
# ourselves so that it stays our child and is reaped by us, never left as a zombie).
_REQUIRED_PROGRAMS = ("postgres", "initdb")
# The throwaway cluster's watchdog, run as a script (standard library only).
_WATCHDOG = Path(__file__).with_name("_pgwatch.py")

JitMode = Literal["off", "on", "full"]

_ROWID = "_rowid"
_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
_COPY_TRAILER = b"\xff\xff"


class PostgresUnavailable(CopypatchError):
    """No PostgreSQL server could be found, started or reached."""


# --------------------------------------------------------------------------------------------------
# Finding the server binaries


def _has_programs(d: Path) -> bool:
    return all(os.access(d / p, os.X_OK) and (d / p).is_file() for p in _REQUIRED_PROGRAMS)


def _version_key(path: str) -> tuple[int, ...]:
    # "/usr/lib/postgresql/15/bin" > ".../9.6/bin": compare the numbers in the path, not the text.
    return tuple(int(n) for n in re.findall(r"\d+", path))


def find_bindir() -> Path:
    """Return the directory holding the PostgreSQL server programs (``postgres``, ``initdb``).

    Looks in ``$COPYPATCH_PG_BINDIR``, then ``pg_config --bindir``, then next to ``postgres`` on
    ``PATH``, then in :data:`SEARCH_GLOBS` (highest version first). Raises
    :class:`PostgresUnavailable` listing every place it looked.
    """
    looked: list[str] = []
    need = " and ".join(_REQUIRED_PROGRAMS)

    env = os.environ.get("COPYPATCH_PG_BINDIR")
    if env:
        if _has_programs(Path(env)):
            return Path(env)
        looked.append(f"$COPYPATCH_PG_BINDIR={env} (no {need} there)")
    else:
        looked.append("$COPYPATCH_PG_BINDIR (not set)")

    pg_config = shutil.which("pg_config")
    if pg_config is None:
        looked.append("pg_config --bindir (no pg_config on PATH)")
    else:
        try:
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=30, check=True
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError) as e:
            looked.append(f"{pg_config} --bindir (failed: {e})")
        else:
            if out and _has_programs(Path(out)):
                return Path(out)
            looked.append(f"{pg_config} --bindir = {out or '(empty)'} (no {need} there)")

    on_path = shutil.which("postgres")
    if on_path is None:
        looked.append("postgres on PATH (not found)")
    else:
        # Follow symlinks: /usr/local/bin/postgres is often a link into the real bindir, which is
        # where initdb lives too.
        for d in dict.fromkeys([Path(on_path).parent, Path(on_path).resolve().parent]):
            if _has_programs(d):
                return d
        looked.append(f"postgres on PATH = {on_path} (no {need} next to it)")

    for pattern in SEARCH_GLOBS:
        matches = sorted(glob.glob(pattern), key=_version_key, reverse=True)
        for m in matches:
            if _has_programs(Path(m)):
                return Path(m)
        looked.append(
            f"{pattern} ({'no ' + need + ' in ' + ', '.join(matches) if matches else 'no match'})"
        )

    raise PostgresUnavailable(
        "PostgreSQL server binaries not found. Looked in:\n  - "
        + "\n  - ".join(looked)
        + "\nInstall PostgreSQL (Debian/Ubuntu: apt-get install postgresql), set COPYPATCH_PG_BINDIR "
        "to the directory holding postgres and initdb, or use an existing server by passing a DSN "
        "or setting COPYPATCH_PG_DSN."
    )


# --------------------------------------------------------------------------------------------------
# A throwaway cluster

# Clusters still running in this process, stopped at exit or on SIGTERM.
_LIVE: set[Cluster] = set()
# Re-entrant: the SIGTERM handler runs on the main thread, possibly while it holds these locks.
_LIVE_LOCK = threading.RLock()
_SIGTERM_INSTALLED = False


def _stop_all() -> None:
    with _LIVE_LOCK:
        clusters = list(_LIVE)
    for c in clusters:
        with contextlib.suppress(Exception):
            c.stop()


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    # Python's default SIGTERM action kills the process without running atexit, which would leak
    # the server and its directory. Clean up, then die of SIGTERM as the default action would.
    _stop_all()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


def _install_sigterm_handler() -> None:
    global _SIGTERM_INSTALLED
    if _SIGTERM_INSTALLED or threading.current_thread() is not threading.main_thread():
        return
    # Never replace a handler someone else installed: they own the shutdown path then.
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _on_sigterm)
    _SIGTERM_INSTALLED = True


atexit.register(_stop_all)


def _unprivileged_user() -> tuple[int, int] | None:
    """(uid, gid) to run the server as, or None when we are not root.

    PostgreSQL refuses to run as root, so as root we borrow the ``postgres`` system user (whose
    files the packaged server already expects) or, failing that, ``nobody``.
    """
    if os.geteuid() != 0:
        return None
    import pwd  # not on Windows; only needed here

    for name in ("postgres", "nobody"):
        try:
            pw = pwd.getpwnam(name)
        except KeyError:
            continue
        return pw.pw_uid, pw.pw_gid
    raise PostgresUnavailable(
        "running as root, and neither a 'postgres' nor a 'nobody' user exists to run the server "
        "as (PostgreSQL refuses to run as root); run as an ordinary user or pass a DSN / set "
        "COPYPATCH_PG_DSN"
    )


def _traversable_by_others(path: Path) -> bool:
    # The unprivileged server must be able to reach its directory through every ancestor.
    for p in [path, *path.parents]:
        try:
            if not p.stat().st_mode & 0o001:
                return False
        except OSError:
            return False
    return True


def _conf_value(v: str) -> str:
    return "'" + v.replace("\\", "\\\\").replace("'", "''") + "'"


def _tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as e:
        return f"(could not read {path}: {e})"
    return "\n".join(text.splitlines()[-lines:])


def _private_installation(provider: Provider, dest: Path) -> Path:
    """A private view of the PostgreSQL installation whose $pkglibdir holds the JIT provider,
    without writing into the system's: returns the server program to run.

    PostgreSQL loads a JIT provider from $pkglibdir/<jit_provider>.so, pkglibdir being found
    relative to the running postgres executable (symlinks resolved), neither from
    dynamic_library_path nor from an absolute path (src/backend/jit/jit.c's provider_init). So:
    a copy (or hard link) of postgres in the same layout as the installation's (bindir,
    pkglibdir and sharedir under their common prefix), pkglibdir's entries as symlinks plus the
    provider, sharedir a symlink.
    """
    real = {"bin": provider.bindir, "lib": provider.pkglibdir, "share": provider.sharedir}
    prefix = Path(os.path.commonpath([str(p) for p in real.values()]))
    mine = {k: dest / p.relative_to(prefix) for k, p in real.items()}
    mine["bin"].mkdir(parents=True)
    mine["lib"].mkdir(parents=True, exist_ok=True)
    mine["share"].parent.mkdir(parents=True, exist_ok=True)
    postgres = mine["bin"] / "postgres"
    try:
        os.link(real["bin"] / "postgres", postgres)
    except OSError:
        shutil.copy2(real["bin"] / "postgres", postgres)
    for entry in real["lib"].iterdir():
        (mine["lib"] / entry.name).symlink_to(entry)
    target = mine["lib"] / provider.library.name
    target.unlink(missing_ok=True)
    shutil.copy2(provider.library, target)
    mine["share"].symlink_to(real["share"], target_is_directory=True)
    return postgres


class Cluster:
    """A throwaway PostgreSQL cluster in a fresh temporary directory, reachable only by unix socket.

    Started by the constructor; stopped (and its directory deleted) by :meth:`stop`, by leaving a
    ``with`` block, at interpreter exit, or on SIGTERM.
    """

    # Settings for speed (no durability needed: the data dies with the cluster) and isolation
    # (no TCP, no background autovacuum disturbing benchmarks).
    DEFAULT_SETTINGS: Mapping[str, str] = {
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        # minimal WAL: COPY into a table created in the same transaction skips WAL entirely.
        "wal_level": "minimal",
        "max_wal_senders": "0",
        "autovacuum": "off",
        # Large enough that a benchmark table of a few million rows stays in shared buffers (tables
        # over shared_buffers/4 are scanned through a small ring buffer instead); allocated lazily.
        "shared_buffers": "256MB",
        "max_connections": "20",
        "logging_collector": "off",
    }

    def __init__(
        self,
        bindir: Path | str | None = None,
        *,
        settings: Mapping[str, str] | None = None,
        timeout: float = 60.0,
        jit_provider: Provider | None = None,
    ) -> None:
        self.bindir = Path(bindir) if bindir is not None else find_bindir()
        self.jit_provider = jit_provider
        self._postgres = self.bindir / "postgres"  # a private copy when run with a provider
        self._owner_pid = os.getpid()  # a forked child must not stop its parent's server
        self._lock = threading.RLock()  # re-entrant for the SIGTERM handler, see _LIVE_LOCK
        self._stopped = False
        self._user = _unprivileged_user()

        base = Path(tempfile.gettempdir())
        # Fall back to /tmp when $TMPDIR is unreachable for the server user, so deep that the
        # socket path would exceed the ~107-byte sun_path limit, or holds a comma (libpq reads a
        # host with a comma as a list of hosts, and has no way to quote one).
        if ((self._user is not None and not _traversable_by_others(base)) or len(str(base)) > 60
                or "," in str(base)):
            base = Path("/tmp")
        self.dir = Path(tempfile.mkdtemp(prefix="copypatch-pg-", dir=base))
        self.datadir = self.dir / "data"
        self.logfile = self.dir / "server.log"
        self.port = 5432  # only names the socket file; the directory is private, so no clash
        self.pid: int | None = None
        self._watch: subprocess.Popen[bytes] | None = None
        self._watch_out = b""  # what the watchdog said that is not read yet
        self._exit_code: int | None = None  # the server's, once it ended on its own
        with _LIVE_LOCK:
            _LIVE.add(self)
        _install_sigterm_handler()
        try:
            self._start_watchdog()
            extra: dict[str, str] = {}
            if jit_provider is not None:
                self._postgres = _private_installation(jit_provider, self.dir / "install")
                extra["jit_provider"] = jit_provider.library.stem
            self._start({**self.DEFAULT_SETTINGS, **extra, **(settings or {})}, timeout)
        except BaseException:
            # Includes KeyboardInterrupt during startup: never leave a half-started server behind.
            self.stop()
            raise

    @property
    def dsn(self) -> str:
        """libpq conninfo string for the server's superuser and default database."""
        # quoted: $TMPDIR may hold spaces or quotes
        return make_conninfo(host=str(self.dir), port=self.port, user="postgres",
                             dbname="postgres")

    def _run_kwargs(self) -> dict[str, Any]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        kw: dict[str, Any] = {"cwd": self.dir, "env": env, "stdin": subprocess.DEVNULL}
        if self._user is not None:
            uid, gid = self._user
            kw.update(user=uid, group=gid, extra_groups=[])
            env["HOME"] = str(self.dir)
        return kw

    def _start(self, settings: Mapping[str, str], timeout: float) -> None:
        if self._user is not None:
            os.chown(self.dir, *self._user)
        initdb = [
            str(self.bindir / "initdb"),
            "-D", str(self.datadir),
            "-A", "trust",
            "-U", "postgres",
            "-E", "UTF8",
            "--locale=C",
            "--no-sync",
        ]  # fmt: skip
        try:
            r = subprocess.run(
                initdb, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout,
                check=False, **self._run_kwargs(),
            )  # fmt: skip
        except (OSError, subprocess.SubprocessError) as e:
            raise PostgresUnavailable(f"initdb ({initdb[0]}) failed: {e}") from e
        if r.returncode != 0:
            out = "\n".join(r.stdout.decode(errors="replace").splitlines()[-30:])
            raise PostgresUnavailable(
                f"initdb ({initdb[0]}) failed with code {r.returncode}:\n{out}"
            )

        conf = {
            **settings,
            "listen_addresses": "",
            # a list: a name with spaces or commas is double-quoted ("" for a quote)
            "unix_socket_directories": '"' + str(self.dir).replace('"', '""') + '"',
            "port": str(self.port),
        }
        with open(self.datadir / "postgresql.conf", "a") as f:
            f.write("\n# copypatch throwaway cluster\n")
            f.writelines(f"{k} = {_conf_value(v)}\n" for k, v in conf.items())

        # postgres itself rather than pg_ctl, started by the watchdog: it stays the watchdog's
        # child, so it is reaped (no zombie if PID 1 does not reap) and its pid is known without
        # reading postmaster.pid. Its own session keeps terminal Ctrl-C away from it: it is shut
        # down by the watchdog, when we stop it or die.
        uid, gid = self._user if self._user is not None else (None, None)
        cmd = {"argv": [str(self._postgres), "-D", str(self.datadir)],
               "cwd": str(self.dir), "log": str(self.logfile), "uid": uid, "gid": gid}
        assert self._watch is not None and self._watch.stdin is not None
        try:
            self._watch.stdin.write(json.dumps(cmd).encode() + b"\n")
            self._watch.stdin.flush()
        except OSError as e:
            raise PostgresUnavailable(f"the cluster's watchdog is gone: {e}") from e
        deadline = time.monotonic() + timeout
        while self.pid is None:
            for msg in self._watch_messages(0.1):
                if msg.startswith("started "):
                    self.pid = int(msg.split()[1])
                elif msg.startswith("failed "):
                    raise PostgresUnavailable(
                        f"could not run {self._postgres}: {msg[len('failed '):]}"
                    )
            if self.pid is None and (self._watch.poll() is not None or time.monotonic() > deadline):
                raise PostgresUnavailable("the cluster's watchdog did not start the server")

        # Ready when postmaster.pid's status line says so; that is what pg_ctl -w checks too.
        deadline = time.monotonic() + timeout
        pidfile = self.datadir / "postmaster.pid"
        while True:
            if not self.running:
                raise PostgresUnavailable(
                    f"PostgreSQL server exited with code {self._exit_code} during startup "
                    f"(data directory {self.datadir}); end of its log:\n{_tail(self.logfile)}"
                )
            with contextlib.suppress(OSError):
                lines = pidfile.read_text().splitlines()
                if len(lines) >= 8 and lines[7].strip() == "ready":
                    return
            if time.monotonic() > deadline:
                raise PostgresUnavailable(
                    f"PostgreSQL server did not become ready within {timeout:g} s; end of its "
                    f"log:\n{_tail(self.logfile)}"
                )
            time.sleep(0.02)

    def _start_watchdog(self) -> None:
        """Start the process that stops the server and deletes self.dir when we stop it or die
        (_pgwatch.py says how and why). Before initdb, so that no step leaves the directory."""
        env = self._run_kwargs()["env"]
        try:
            self._watch = subprocess.Popen(
                [sys.executable, "-I", "-S", str(_WATCHDOG), str(self.dir), str(os.getpid())],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd="/", env=env,
                start_new_session=True,
            )  # fmt: skip
        except (OSError, subprocess.SubprocessError) as e:
            raise PostgresUnavailable(f"could not start the cluster's watchdog: {e}") from e
        assert self._watch.stdout is not None
        os.set_blocking(self._watch.stdout.fileno(), False)

    def _watch_messages(self, timeout: float = 0.0) -> list[str]:
        """The watchdog's lines that arrived (waiting up to timeout for the first); records the
        server's exit code."""
        watch = self._watch
        if watch is None or watch.stdout is None or watch.stdout.closed:
            return []
        fd = watch.stdout.fileno()
        ready, _, _ = select.select([fd], [], [], timeout)
        while ready:
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                break
            if not chunk:
                break
            self._watch_out += chunk
            ready, _, _ = select.select([fd], [], [], 0)
        lines = []
        while b"\n" in self._watch_out:
            line, self._watch_out = self._watch_out.split(b"\n", 1)
            msg = line.decode(errors="replace")
            if msg.startswith("exited "):
                self._exit_code = int(msg.split()[1])
            lines.append(msg)
        return lines

    @property
    def running(self) -> bool:
        if self.pid is None or self._stopped or self._watch is None:
            return False
        self._watch_messages()
        return self._exit_code is None and self._watch.poll() is None

    def stop(self) -> None:
        """Shut the server down immediately and delete its directory. Safe to call repeatedly."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        with _LIVE_LOCK:
            _LIVE.discard(self)
        if os.getpid() != self._owner_pid:
            return  # forked child: the server and directory belong to the parent
        watch = self._watch
        try:
            if watch is not None:
                # End of file on its stdin: the watchdog stops the server (SIGQUIT, then SIGKILL
                # after 30 s) and deletes the directory.
                with contextlib.suppress(OSError):
                    assert watch.stdin is not None
                    watch.stdin.close()
                try:
                    watch.wait(timeout=90)
                except subprocess.TimeoutExpired:
                    watch.kill()
                    watch.wait()
                    if self.pid is not None and self._exit_code is None:
                        with contextlib.suppress(ProcessLookupError, PermissionError):
                            os.killpg(self.pid, signal.SIGKILL)
                if watch.stdout is not None:
                    watch.stdout.close()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def shutdown(self, timeout: float = 60.0) -> None:
        """Shut the server down cleanly (PostgreSQL's fast shutdown: a checkpoint, so the data
        directory needs no recovery), keeping the directory for :meth:`single_user`; stop()
        still deletes it."""
        if not self.running or self.pid is None:
            raise PostgresUnavailable(f"the server is not running (data directory {self.datadir})")
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGINT)
        deadline = time.monotonic() + timeout
        while self.running:
            if time.monotonic() > deadline:
                raise PostgresUnavailable(
                    f"PostgreSQL server did not shut down within {timeout:g} s; end of its "
                    f"log:\n{_tail(self.logfile)}"
                )
            time.sleep(0.02)
        if self._exit_code != 0:
            raise PostgresUnavailable(
                f"PostgreSQL server exited with code {self._exit_code} on shutdown; end of its "
                f"log:\n{_tail(self.logfile)}"
            )

    def single_user(
        self,
        sql_text: str,
        *,
        settings: Mapping[str, str] | None = None,
        prefix: Sequence[str] = (),
        timeout: float = 600.0,
    ) -> str:
        """Run ``sql_text`` (one statement a line) in ``postgres --single`` on this cluster's
        data, shut down first (:meth:`shutdown`): one backend without a postmaster, as this
        process's child, run under ``prefix`` (e.g. valgrind's command line) with ``settings``
        as -c options. Returns what it printed; a failure raises PostgresUnavailable."""
        if self.running:
            raise PostgresUnavailable("postgres --single needs the server shut down (shutdown())")
        if self._stopped:
            raise PostgresUnavailable("the cluster is stopped: its data directory is gone")
        opts = [a for k, v in (settings or {}).items() for a in ("-c", f"{k}={v}")]
        argv = [*prefix, str(self._postgres), "--single", "-D", str(self.datadir), *opts,
                "postgres"]  # fmt: skip
        kw = self._run_kwargs()
        del kw["stdin"]
        try:
            r = subprocess.run(argv, input=sql_text, capture_output=True, text=True,
                               timeout=timeout, check=False, **kw)  # fmt: skip
        except (OSError, subprocess.SubprocessError) as e:
            raise PostgresUnavailable(f"postgres --single ({argv[0]}) failed: {e}") from e
        if r.returncode != 0 or "ERROR:" in r.stderr or "FATAL:" in r.stderr:
            raise PostgresUnavailable(
                f"postgres --single failed with code {r.returncode}:\n{r.stderr[-3000:]}"
            )
        return str(r.stdout)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<Cluster {state} pid={self.pid} dir={self.dir}>"


# --------------------------------------------------------------------------------------------------
# Queries


@dataclasses.dataclass(frozen=True)
class JitTiming:
    """The "JIT" section of an EXPLAIN ANALYZE; times in milliseconds (None with TIMING OFF)."""

    functions: int
    generation_ms: float | None
    inlining_ms: float | None
    optimization_ms: float | None
    emission_ms: float | None
    total_ms: float | None


@dataclasses.dataclass(frozen=True)
class ExplainResult:
    """What ``EXPLAIN (ANALYZE, FORMAT JSON)`` reported; ``jit`` is None when nothing was compiled."""

    execution_time_ms: float
    planning_time_ms: float
    jit: JitTiming | None
    plan: dict[str, Any]  # the whole JSON document (its "Plan" key is the plan tree)


def _parse_explain(doc: Any) -> ExplainResult:
    top = doc[0] if isinstance(doc, list) else doc
    jit: JitTiming | None = None
    j = top.get("JIT")
    if j is not None and j.get("Functions", 0) > 0:
        timing = j.get("Timing", {})

        def ms(key: str) -> float | None:
            v = timing.get(key)
            # PostgreSQL 17 splits Generation into {"Deform": x, "Total": y}; 15 gives a number.
            if isinstance(v, dict):
                v = v.get("Total")
            return None if v is None else float(v)

        jit = JitTiming(
            functions=int(j["Functions"]),
            generation_ms=ms("Generation"),
            inlining_ms=ms("Inlining"),
            optimization_ms=ms("Optimization"),
            emission_ms=ms("Emission"),
            total_ms=ms("Total"),
        )
    return ExplainResult(
        execution_time_ms=float(top["Execution Time"]),
        planning_time_ms=float(top["Planning Time"]),
        jit=jit,
        plan=top,
    )


def _jit_settings(jit: JitMode) -> dict[str, str]:
    if jit == "off":
        return {"jit": "off"}
    if jit == "on":
        # Compile expressions and tuple deforming for every query, but without the LLVM inlining
        # and optimisation passes (-1 disables each).
        return {
            "jit": "on",
            "jit_above_cost": "0",
            "jit_inline_above_cost": "-1",
            "jit_optimize_above_cost": "-1",
        }
    if jit == "full":
        return {
            "jit": "on",
            "jit_above_cost": "0",
            "jit_inline_above_cost": "0",
            "jit_optimize_above_cost": "0",
        }
    raise ValueError(f"jit must be 'off', 'on' or 'full', not {jit!r}")


_MAX_IDENTIFIER_BYTES = 63  # NAMEDATALEN - 1


def _ident(name: str) -> sql.Identifier:
    """A table or column name as an SQL identifier. libpq reads names as C strings, so psycopg's
    Identifier stops at a NUL byte: "victim\\x00scratch" would quote as "victim" and load() would
    drop and replace that table. Such names are refused."""
    if not isinstance(name, str):
        raise TypeError(f"a table or column name is a str, not {type(name).__name__}")
    if "\x00" in name:
        raise ValueError(f"a table or column name cannot contain a NUL byte: {name!r}")
    # PostgreSQL truncates a longer name to NAMEDATALEN - 1 bytes, with only a NOTICE: the same
    # trap ("x" * 63 + "scratch" is the table "x" * 63)
    if len(name.encode()) > _MAX_IDENTIFIER_BYTES:
        raise ValueError(f"a table or column name has at most {_MAX_IDENTIFIER_BYTES} bytes "
                         f"(PostgreSQL would truncate it): {name!r}")
    return sql.Identifier(name)


def _sql_text(text: str) -> sql.SQL:
    """SQL text spliced into a query, refused if libpq would cut it short at a NUL byte."""
    if "\x00" in text:
        raise ValueError(f"SQL text cannot contain a NUL byte: {text!r}")
    return sql.SQL(text)


def _eval_error(e: psycopg.Error) -> EvalError:
    msg = e.diag.message_primary or str(e)
    return EvalError(e.sqlstate or "XX000", msg)


class PostgreSQL:
    """One connection to a PostgreSQL server, with helpers to load numpy tables and run expressions.

    Connects to ``dsn``, else ``$COPYPATCH_PG_DSN``, else to a throwaway :class:`Cluster` it starts
    and later stops. ``jit_provider=True``: a throwaway cluster whose JIT is copypatch's provider
    (built on demand, copypatch.pgprovider), so that ``jit="on"`` compiles with it.
    """

    def __init__(
        self,
        dsn: str | None = None,
        *,
        connect_timeout: int = 10,
        statement_timeout_ms: int | None = None,
        jit_provider: bool = False,
    ) -> None:
        self.cluster: Cluster | None = None
        self._nrows: dict[str, int] = {}
        self.statement_timeout_ms = statement_timeout_ms
        source = "the dsn argument"
        if jit_provider and dsn is not None:
            raise ValueError("jit_provider=True starts a throwaway cluster: pass no dsn")
        if dsn is None and not jit_provider and os.environ.get("COPYPATCH_PG_DSN"):
            dsn, source = os.environ["COPYPATCH_PG_DSN"], "$COPYPATCH_PG_DSN"
        if dsn is None:
            provider = None
            if jit_provider:
                from . import pgprovider

                provider = pgprovider.build()
            # the provider is built for pg_config's installation: initdb and postgres are its too
            self.cluster = Cluster(provider.bindir if provider else None, jit_provider=provider)
            dsn, source = self.cluster.dsn, "the throwaway cluster"
        self.dsn = dsn
        try:
            self.conn = psycopg.connect(dsn, autocommit=True, connect_timeout=connect_timeout)
        except BaseException as e:
            if self.cluster is not None:
                self.cluster.stop()
            if isinstance(e, psycopg.Error):
                raise PostgresUnavailable(f"could not connect to PostgreSQL ({source}): {e}") from e
            raise

    # -- lifecycle

    def close(self) -> None:
        """Close the connection and stop the cluster if this object started it. Idempotent."""
        try:
            self.conn.close()
        finally:
            if self.cluster is not None:
                self.cluster.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def server_version(self) -> int:
        """The server's version number as libpq reports it, e.g. 150018 for 15.18."""
        return self.conn.info.server_version

    # -- loading

    def load(self, table: Mapping[str, np.ndarray[Any, Any]], name: str = "t") -> None:
        """(Re)create table ``name`` from ``table`` (column name -> 1-D array) and fill it.

        A plain ndarray becomes a NOT NULL column, a masked array a nullable one (masked = NULL).
        A hidden trailing ``_rowid int8`` column records each row's index.
        """
        cols = _check_table(table)
        n = len(next(iter(cols.values()))[0]) if cols else 0
        defs = [
            sql.SQL("{} {}{}").format(
                _ident(c),
                sql.SQL(SqlType.from_dtype(data.dtype).value),
                sql.SQL("" if nulls is not None else " NOT NULL"),
            )
            for c, (data, nulls) in cols.items()
        ]
        defs.append(sql.SQL("{} int8 NOT NULL").format(_ident(_ROWID)))
        payload = _binary_copy_payload(cols, n)
        ident = _ident(name)
        try:
            # One transaction, so that COPY FREEZE can write the rows already frozen and
            # all-visible: the first query then does not pay for setting hint bits.
            with self.conn.transaction(), self.conn.cursor() as cur:
                cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(ident))
                cur.execute(sql.SQL("CREATE TABLE {} ({})").format(ident, sql.SQL(", ").join(defs)))
                copy_sql = sql.SQL("COPY {} FROM STDIN (FORMAT BINARY, FREEZE)").format(ident)
                with cur.copy(copy_sql) as copy:
                    copy.write(payload)
            with self.conn.cursor() as cur:
                cur.execute(sql.SQL("ANALYZE {}").format(ident))
        except psycopg.Error as e:
            if e.sqlstate is None:
                raise
            raise _eval_error(e) from e
        self._nrows[name] = n

    # -- queries

    @contextlib.contextmanager
    def _session(self, jit: JitMode, parallel: bool) -> Iterator[psycopg.Cursor[Any]]:
        """A cursor in a transaction with the query settings applied (SET LOCAL, so they end
        with it, error or not); PostgreSQL errors come out as EvalError."""
        settings = _jit_settings(jit)
        if not parallel:
            settings["max_parallel_workers_per_gather"] = "0"
        if self.statement_timeout_ms is not None:
            settings["statement_timeout"] = str(self.statement_timeout_ms)
        set_sql = sql.SQL("SELECT {}").format(
            sql.SQL(", ").join(
                sql.SQL("set_config({}, {}, true)").format(sql.Literal(k), sql.Literal(v))
                for k, v in settings.items()
            )
        )
        try:
            with self.conn.transaction(), self.conn.cursor(binary=True) as cur:
                cur.execute(set_sql)
                yield cur
        except psycopg.Error as e:
            if e.sqlstate is None:  # client-side or connection trouble: not an evaluation error
                raise
            raise _eval_error(e) from e

    def _len(self, cur: psycopg.Cursor[Any], name: str) -> int:
        n = self._nrows.get(name)
        if n is None:  # a table this object did not load (e.g. on a shared server)
            cur.execute(sql.SQL("SELECT count(*) FROM {}").format(_ident(name)))
            row = cur.fetchone()
            n = self._nrows[name] = int(row[0]) if row else 0
        return n

    def filter(
        self, expr_sql: str, name: str = "t", *, jit: JitMode = "off", parallel: bool = False
    ) -> np.ndarray[Any, np.dtype[np.bool_]]:
        """Rows of table ``name`` for which ``WHERE (expr_sql)`` holds, as a bool mask."""
        query = sql.SQL("SELECT {} FROM {} WHERE ({})").format(
            _ident(_ROWID), _ident(name), _sql_text(expr_sql)
        )
        with self._session(jit, parallel) as cur:
            n = self._len(cur, name)
            cur.execute(query)
            ids = np.fromiter((r[0] for r in cur), dtype=np.int64, count=cur.rowcount)
        out = np.zeros(n, dtype=np.bool_)
        out[ids] = True
        return out

    def evaluate(
        self, expr_sql: str, name: str = "t", *, jit: JitMode = "off", parallel: bool = False
    ) -> np.ma.MaskedArray[Any, Any]:
        """``SELECT (expr_sql) FROM name`` as a masked array in row order (masked = NULL).

        The dtype follows the result type (bool, int2/4/8, float4/8); any other type: TypeError.
        """
        query = sql.SQL("SELECT {}, ({}) FROM {}").format(
            _ident(_ROWID), _sql_text(expr_sql), _ident(name)
        )
        for t in (SqlType.DATE, SqlType.TIMESTAMP):
            self.conn.adapters.register_loader(t.oid, _DateTimeLoader)
        with self._session(jit, parallel) as cur:
            n = self._len(cur, name)
            cur.execute(query)
            assert cur.description is not None
            oid = cur.description[1].type_code
            rtype = SqlType.from_oid(oid)
            if rtype is None:
                tname = self._type_name(oid)
                supported = ", ".join(t.sql_name for t in SqlType.stored())
                raise TypeError(
                    f"expression {expr_sql!r} has PostgreSQL type {tname}; evaluate() supports "
                    f"only {supported}"
                )
            dtype = rtype.dtype
            rows = cur.fetchall()
        values = np.zeros(n, dtype=dtype)
        mask = np.ones(n, dtype=np.bool_)
        if rows:
            ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
            got = [r[1] for r in rows]
            present = np.fromiter((v is not None for v in got), dtype=np.bool_, count=len(got))
            if dtype.kind == "M":  # numpy's integers (_DateTimeLoader), viewed as datetime64
                if any(v is not None and v > _datetime.NUMPY_INFINITY for v in got):
                    # a timestamp past 294247-01-10, as copypatch's evaluate() raises it
                    raise EvalError("22008", "timestamp out of range of numpy's datetime64[us]")
                filled = np.array([v if v is not None else 0 for v in got],
                                  dtype=np.int64).view(dtype)
            else:
                filled = np.array([v if v is not None else 0 for v in got], dtype=dtype)
            values[ids] = filled
            mask[ids] = ~present
        return np.ma.MaskedArray(values, mask=mask)

    def _type_name(self, oid: int) -> str:
        with contextlib.suppress(psycopg.Error), self.conn.cursor() as cur:
            cur.execute("SELECT format_type(%s, NULL)", (oid,))
            row = cur.fetchone()
            if row:
                return str(row[0])
        return f"oid {oid}"

    def explain(
        self, query: str, *, jit: JitMode = "off", parallel: bool = False, timing: bool = True
    ) -> ExplainResult:
        """Run ``EXPLAIN (ANALYZE, FORMAT JSON) query`` and return its timings.

        ``timing=False`` (EXPLAIN's TIMING OFF) removes the per-node clock reads, but then
        PostgreSQL reports no JIT phase times either.
        """
        opts = "ANALYZE, FORMAT JSON" + ("" if timing else ", TIMING OFF")
        with self._session(jit, parallel) as cur:
            cur.execute(sql.SQL(f"EXPLAIN ({opts}) ") + _sql_text(query))
            row = cur.fetchone()
        assert row is not None
        return _parse_explain(row[0])

    def count_where(
        self,
        expr_sql: str,
        name: str = "t",
        *,
        jit: JitMode = "off",
        parallel: bool = False,
        timing: bool = True,
    ) -> tuple[int, ExplainResult]:
        """EXPLAIN ANALYZE of ``SELECT count(*) FROM name WHERE (expr_sql)``: (count, timings).

        The count is read from the plan (rows the aggregate's input produced); for plan shapes where
        that is not exact (parallel plans) the query is run once more to count.
        """
        query = sql.SQL("SELECT count(*) FROM {} WHERE ({})").format(
            _ident(name), _sql_text(expr_sql)
        )
        text = query.as_string(self.conn)
        res = self.explain(text, jit=jit, parallel=parallel, timing=timing)
        count = _count_from_plan(res.plan.get("Plan", {}))
        if count is None:
            with self._session(jit, parallel) as cur:
                cur.execute(query)
                row = cur.fetchone()
                assert row is not None
                count = int(row[0])
        return count, res


def _count_from_plan(plan: Mapping[str, Any]) -> int | None:
    # A plain count(*) is an Aggregate over one child run once: that child's actual row count is
    # exactly the count. Parallel plans report per-worker averages, so they do not qualify.
    # ("Finalize" aggregates count partial results from a Gather, not rows.)
    shape = (plan.get("Node Type"), plan.get("Strategy"), plan.get("Partial Mode", "Simple"))
    if shape != ("Aggregate", "Plain", "Simple"):
        return None
    kids = plan.get("Plans") or []
    if len(kids) != 1 or kids[0].get("Actual Loops") != 1 or "Actual Rows" not in kids[0]:
        return None
    return int(kids[0]["Actual Rows"])


# --------------------------------------------------------------------------------------------------
# Binary COPY


class _DateTimeLoader(psycopg.adapt.Loader):
    """date and timestamp results, in binary (int32 days, int64 microseconds from 2000-01-01,
    big-endian), as the integers of their numpy columns: from 1970, the infinities as numpy's
    extremes. Python's datetime has neither infinity nor BC."""

    format = psycopg.pq.Format.BINARY

    def load(self, data: Any) -> int:
        v = int.from_bytes(bytes(data), "big", signed=True)
        r = _datetime.to_numpy("date" if self.oid == SqlType.DATE.oid else "timestamp", v)
        # past numpy's last timestamp (or on its infinity): flagged for evaluate() to raise
        if r >= _datetime.NUMPY_INFINITY and v not in (_datetime.DT_NOEND, _datetime.DATEVAL_NOEND):
            return _datetime.NUMPY_INFINITY + 1
        return r


def _wire_values(name: str, data: np.ndarray[Any, Any], nulls: Any) -> np.ndarray[Any, Any]:
    """A column as binary COPY sends it, before the byte swap: the numpy value itself, but for
    date and timestamp PostgreSQL's int32 days and int64 microseconds from 2000-01-01 (the
    infinities their extreme values); NaT and values out of range raise, as in bind_columns."""
    t = SqlType.from_dtype(data.dtype)
    if t.info.column == "PLAIN":
        return data
    _datetime.check_column(name, data, np.ma.nomask if nulls is None else nulls, t.value)
    raw = data.view(np.int64)
    lo, hi = ((_datetime.DATEVAL_NOBEGIN, _datetime.DATEVAL_NOEND) if t is SqlType.DATE
              else (_datetime.DT_NOBEGIN, _datetime.DT_NOEND))
    shift = _datetime.UNIX_EPOCH_DAYS * (1 if t is SqlType.DATE else _datetime.USECS_PER_DAY)
    out = np.where(raw == _datetime.NUMPY_INFINITY, hi,
                   np.where(raw == _datetime.NUMPY_MINUS_INFINITY, lo, raw - shift))
    return out.astype(np.int32 if t is SqlType.DATE else np.int64)


def _check_table(
    table: Mapping[str, np.ndarray[Any, Any]],
) -> dict[str, tuple[np.ndarray[Any, Any], np.ndarray[Any, np.dtype[np.bool_]] | None]]:
    """Validate ``table``; return name -> (plain data array, NULL mask or None for NOT NULL)."""
    out: dict[str, tuple[np.ndarray[Any, Any], np.ndarray[Any, np.dtype[np.bool_]] | None]] = {}
    n: int | None = None
    for cname, col in table.items():
        if cname == _ROWID:
            raise ValueError(f"column name {_ROWID!r} is reserved for the row index")
        if not isinstance(col, np.ndarray):
            raise TypeError(f"column {cname!r} is a {type(col).__name__}, not a numpy array")
        if col.ndim != 1:
            raise ValueError(f"column {cname!r} has shape {col.shape}; columns must be 1-D")
        dt = col.dtype
        try:
            SqlType.from_dtype(dt.newbyteorder("="))
        except TypeError:
            raise TypeError(
                f"column {cname!r} has dtype {dt}; supported are {SUPPORTED_DTYPES}"
            ) from None
        if n is None:
            n = len(col)
        elif len(col) != n:
            raise ValueError(f"column {cname!r} has {len(col)} rows, the previous ones {n}")
        nulls: np.ndarray[Any, np.dtype[np.bool_]] | None = None
        if isinstance(col, np.ma.MaskedArray):
            nulls = np.ma.getmaskarray(col)
            data = np.asarray(col.data)
        else:
            data = np.asarray(col)
        out[cname] = (data.astype(dt.newbyteorder("="), copy=False), nulls)
    return out


def _binary_copy_payload(
    cols: Mapping[str, tuple[np.ndarray[Any, Any], np.ndarray[Any, np.dtype[np.bool_]] | None]],
    n: int,
) -> bytes:
    """The whole binary COPY stream for the table plus a trailing row index, built with numpy.

    Every row is laid out as a fixed-width record (field count, then length + value per field);
    a NULL field's length is -1 and its value bytes are then cut out with one boolean index.
    Binary keeps floats bit-exact (NaN, infinities, -0.0, subnormals) at no formatting cost.
    """
    cols = {c: (_wire_values(c, data, nulls), nulls) for c, (data, nulls) in cols.items()}
    fields: list[tuple[str, Any]] = [("nfields", ">i2")]
    for i, (data, _) in enumerate(cols.values()):
        fields += [(f"len{i}", ">i4"), (f"val{i}", data.dtype.newbyteorder(">"))]
    fields += [("lenrow", ">i4"), ("valrow", ">i8")]
    rec_dtype = np.dtype(fields)  # packed: no alignment padding, exactly the wire layout
    rec = np.empty(n, dtype=rec_dtype)
    rec["nfields"] = len(cols) + 1
    for i, (data, nulls) in enumerate(cols.values()):
        # bool is stored as one byte 0/1, which is what numpy's bool already is.
        rec[f"val{i}"] = data
        rec[f"len{i}"] = data.dtype.itemsize
        if nulls is not None:
            rec[f"len{i}"][nulls] = -1
    rec["lenrow"] = 8
    rec["valrow"] = np.arange(n, dtype=np.int64)

    raw = rec.view(np.uint8).reshape(n, rec_dtype.itemsize)
    keep: np.ndarray[Any, np.dtype[np.bool_]] | None = None
    for i, (data, nulls) in enumerate(cols.values()):
        if nulls is None or not nulls.any():
            continue
        if keep is None:
            keep = np.ones(raw.shape, dtype=np.bool_)
        off = rec_dtype.fields[f"val{i}"][1]  # type: ignore[index]
        keep[nulls, off : off + data.dtype.itemsize] = False
    body = raw[keep] if keep is not None else raw
    return _COPY_SIGNATURE + body.tobytes() + _COPY_TRAILER
