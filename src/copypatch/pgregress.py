"""PostgreSQL's own regression suite (src/test/regress) as a corpus for the JIT provider.

``python -m copypatch pg-provider regress`` fetches PostgreSQL's source for the installed
server's major version (Debian's source package, through a private apt state: the system's apt
is not modified), builds the suite's C functions (regress.so, and contrib/spi's autoinc.so and
refint.so, which triggers.sql loads) against the installed server headers, and runs the
parallel_schedule with Debian's pg_regress twice, each on a throwaway cluster (copypatch.pg):
once with the JIT off, once with copypatch's provider forced on for every query. The two runs'
result files must be identical, test by test; the tests that differ from upstream's expected
output identically in both runs (an older source than the server) are reported, not failed. The
provider's backends log their totals at exit (csrc/pgjit/provider.c, DEBUG1): the fraction of
expressions compiled without fallback is read from the server log.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ._errors import CopypatchError
from .pgprovider import PG_MAJOR, PgProviderUnavailable, Provider, build, find_pg_config

__all__ = [
    "RegressReport",
    "RegressUnavailable",
    "SourcePackage",
    "SuiteRun",
    "build_libraries",
    "fetch_source",
    "regress",
]

PACKAGE = f"postgresql-{PG_MAJOR}"
DATABASE = "regression"  # pg_regress's default
#: the parts of the source tree the suite needs: its SQL, expected output, data, schedule and C
#: functions, and the two contrib/spi modules triggers.sql loads
TREE_PARTS = ("src/test/regress/", "contrib/spi/")
#: the suite's C libraries: (source relative to the tree, library name, their Makefile's
#: PG_CPPFLAGS: contrib/spi's asks for refint's NOTICEs, which triggers.out expects)
LIBRARIES = (
    ("src/test/regress/regress.c", "regress", ()),
    ("contrib/spi/autoinc.c", "autoinc", ("-DREFINT_VERBOSE",)),
    ("contrib/spi/refint.c", "refint", ("-DREFINT_VERBOSE",)),
)
#: the settings of the two runs (on top of copypatch.pg.Cluster's)
COMMON_SETTINGS = {"max_connections": "100", "log_statement": "all"}
OFF_SETTINGS = {**COMMON_SETTINGS, "jit": "off"}
PROVIDER_SETTINGS = {
    **COMMON_SETTINGS,
    "jit": "on",
    "jit_above_cost": "0",
    "jit_inline_above_cost": "0",
    "jit_optimize_above_cost": "0",
    "log_min_messages": "debug1",
}
#: the driver's own sessions (creating the database, waiting for the backends): neither compiled
#: nor counted among the suite's statements
QUIET = "-c jit=off -c log_statement=none"
#: provider.c's line at a backend's exit, and its line for an expression left to the interpreter
TOTALS_RE = re.compile(
    r"copypatch JIT: backend totals: compiled (\d+), fallbacks (\d+), steps (\d+), deforms (\d+)"
)
FALLBACK_RE = re.compile(r"copypatch JIT: expression left to the interpreter: (.*)$")
CRASH_RE = re.compile(r"terminated by signal|server process .* was terminated|PANIC:")
#: pg_regress's line per test: "     boolean     ... ok    52 ms" (or "test x ... FAILED")
RESULT_RE = re.compile(
    r"^(?:test\s+|\s+)(\S+)\s+\.\.\.\s+(ok|FAILED|failed \(ignored\))\s*(?:(\d+)\s+ms)?", re.MULTILINE
)


class RegressUnavailable(CopypatchError):
    """The suite cannot be run here: no network or apt to fetch the source, no pg_regress, no
    compiler, no server."""


# -- the source


def cache_dir() -> Path:
    """~/.cache/copypatch/pg-regress ($XDG_CACHE_HOME honoured)."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "copypatch" / "pg-regress"


@dataclasses.dataclass(frozen=True)
class SourcePackage:
    """Debian's source package of PostgreSQL, downloaded and checked against its .dsc."""

    version: str  # Debian's, e.g. 15.18-0+deb12u1
    upstream: str  # PostgreSQL's, e.g. 15.18
    dsc: Path
    tarball: Path  # the upstream tarball (.orig.tar.*)


def _deb_entries(etc: Path = Path("/etc/apt")) -> list[tuple[str, str, str, list[str]]]:
    """The system's enabled `deb` entries: (signed-by or "", URI, suite, components), from
    sources.list and sources.list.d (one-line *.list and deb822 *.sources files)."""
    out: list[tuple[str, str, str, list[str]]] = []
    lists = [etc / "sources.list", *sorted((etc / "sources.list.d").glob("*.list"))]
    for path in lists:
        if not path.is_file():
            continue
        for line in path.read_text(errors="replace").splitlines():
            line = line.split("#", 1)[0].strip()
            m = re.match(r"deb\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s*(.*)$", line)
            if m is None:
                continue
            opts = dict(o.split("=", 1) for o in (m.group(1) or "").split() if "=" in o)
            out.append((opts.get("signed-by", ""), m.group(2), m.group(3), m.group(4).split()))
    for path in sorted((etc / "sources.list.d").glob("*.sources")):
        for para in re.split(r"\n\s*\n", path.read_text(errors="replace")):
            fields: dict[str, str] = {}
            key = ""
            for line in para.splitlines():
                if line.startswith("#") or not line.strip():
                    continue
                if line[0].isspace() and key:
                    fields[key] += " " + line.strip()
                    continue
                key, _, value = line.partition(":")
                key = key.strip().lower()
                fields[key] = value.strip()
            if "deb" not in fields.get("types", "").split():
                continue
            if fields.get("enabled", "yes").lower() == "no":
                continue
            for uri in fields.get("uris", "").split():
                for suite in fields.get("suites", "").split():
                    out.append((fields.get("signed-by", ""), uri, suite,
                                fields.get("components", "").split()))
    return out


def private_sources_list(etc: Path = Path("/etc/apt")) -> str:
    """A sources.list of `deb-src` lines, one per `deb` entry of the system's."""
    lines = []
    for signed, uri, suite, components in _deb_entries(etc):
        opts = f"[signed-by={signed}] " if signed and not signed.startswith("-----") else ""
        lines.append(f"deb-src {opts}{uri} {suite} {' '.join(components)}".rstrip())
    return "\n".join(dict.fromkeys(lines)) + "\n"


def _apt_options(state: Path) -> list[str]:
    """apt-get options for a private state under ``state``: its own sources.list, lists and
    caches; nothing of the system's apt state is written."""
    opts = {
        "Dir::Etc::SourceList": state / "sources.list",
        "Dir::Etc::SourceParts": state / "sources.list.d",  # empty
        "Dir::State::Lists": state / "lists",
        "Dir::Cache": state / "cache",
        "Dir::Cache::archives": state / "cache" / "archives",
    }
    out = []
    for k, v in opts.items():
        out += ["-o", f"{k}={v}"]
    if os.geteuid() == 0:  # apt's _apt user could not write into root's cache
        out += ["-o", "APT::Sandbox::User=root"]
    return out


def _parse_dsc(dsc: Path) -> tuple[str, dict[str, tuple[str, int]]]:
    """A .dsc's Version and its Checksums-Sha256 (file -> (sha256, size))."""
    text = dsc.read_text(errors="replace")
    version = re.search(r"^Version:\s*(\S+)", text, re.MULTILINE)
    block = re.search(r"^Checksums-Sha256:\s*\n((?:[ \t]+\S.*\n?)+)", text, re.MULTILINE)
    if version is None or block is None:
        raise RegressUnavailable(f"{dsc} has no Version or no Checksums-Sha256")
    sums = {}
    for line in block.group(1).splitlines():
        parts = line.split()
        if len(parts) == 3:
            sums[parts[2]] = (parts[0], int(parts[1]))
    return version.group(1), sums


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _verified(dsc: Path) -> SourcePackage:
    """The package of ``dsc``, every file it lists checked against its sha256 and size."""
    version, sums = _parse_dsc(dsc)
    tarball = None
    for name, (sha, size) in sums.items():
        f = dsc.parent / name
        if not f.is_file():
            raise RegressUnavailable(f"{f} is missing (listed in {dsc.name})")
        if f.stat().st_size != size or _sha256(f) != sha:
            raise RegressUnavailable(f"{f} does not match the sha256 in {dsc.name}")
        if ".orig.tar." in name:
            tarball = f
    if tarball is None:
        raise RegressUnavailable(f"{dsc.name} lists no upstream tarball (.orig.tar.*)")
    upstream = version.split(":")[-1].rsplit("-", 1)[0]
    return SourcePackage(version, upstream, dsc, tarball)


def _version_key(v: str) -> list[tuple[int, str]]:
    return [(int(p), "") if p.isdigit() else (-1, p) for p in re.split(r"[.+~-]", v)]


def fetch_source(refresh: bool = False, log: Any = None) -> SourcePackage:
    """Debian's source package of postgresql-<major>, from the cache, else downloaded with
    ``apt-get source --download-only`` on a private apt state (``refresh``: download even if
    one is cached, for a newer version)."""
    say = log or (lambda _msg: None)
    src_root = cache_dir() / "src"
    if not refresh and src_root.is_dir():
        cached = sorted((d for d in src_root.iterdir() if not d.name.startswith(".")),
                        key=lambda d: _version_key(d.name), reverse=True)  # fmt: skip
        for d in cached:
            for dsc in d.glob(f"{PACKAGE}_*.dsc"):
                try:
                    return _verified(dsc)
                except RegressUnavailable:
                    continue  # damaged: downloaded again below
    apt_get = shutil.which("apt-get")
    if apt_get is None:
        raise RegressUnavailable(f"no apt-get to download {PACKAGE}'s source with")
    state = cache_dir() / "apt"
    for d in (state / "lists" / "partial", state / "cache" / "archives" / "partial",
              state / "sources.list.d"):
        d.mkdir(parents=True, exist_ok=True)
    sources = private_sources_list()
    if not sources.strip():
        raise RegressUnavailable("no deb lines in /etc/apt/sources.list(.d) to derive deb-src from")
    (state / "sources.list").write_text(sources)
    opts = _apt_options(state)
    say(f"apt-get update (private state in {state})")
    upd = subprocess.run([apt_get, *opts, "-q", "update"], capture_output=True, text=True,
                         timeout=600, check=False)  # fmt: skip
    # an entry without sources (a third-party repository) fails the update, not the others
    src_root.mkdir(parents=True, exist_ok=True)
    # the newest version first; an older one if a mirror no longer has the newest's files (a
    # security update's pool can lag its index)
    shown = subprocess.run([shutil.which("apt-cache") or "apt-cache", *opts, "showsrc", PACKAGE],
                           capture_output=True, text=True, timeout=600, check=False)  # fmt: skip
    versions = sorted(set(re.findall(r"^Version:\s*(\S+)", shown.stdout, re.MULTILINE)),
                      key=_version_key, reverse=True)  # fmt: skip
    if not versions:
        raise RegressUnavailable(
            f"apt knows no source package {PACKAGE} (network?): {shown.stderr.strip()[-300:]}"
            f"{' / apt-get update: ' + upd.stderr.strip()[-300:] if upd.returncode else ''}"
        )
    errors = []
    for version in versions:
        with tempfile.TemporaryDirectory(dir=src_root, prefix=".download-") as tmp:
            if os.geteuid() == 0:
                os.chmod(tmp, 0o755)
            say(f"apt-get source --download-only {PACKAGE}={version}")
            got = subprocess.run(
                [apt_get, *opts, "-q", "source", "--download-only", f"{PACKAGE}={version}"],
                cwd=tmp, capture_output=True, text=True, timeout=1200, check=False,
            )  # fmt: skip
            dscs = list(Path(tmp).glob(f"{PACKAGE}_*.dsc"))
            if got.returncode != 0 or not dscs:
                errors.append(f"{version}: {got.stderr.strip().splitlines()[-1:]}")
                continue
            pkg = _verified(dscs[0])
            dest = src_root / pkg.version
            if dest.exists():
                shutil.rmtree(dest)
            os.replace(tmp, dest)
            return _verified(dest / pkg.dsc.name)
    raise RegressUnavailable(f"apt-get source {PACKAGE} failed for every version: {errors}")


def extract(pkg: SourcePackage) -> Path:
    """The suite's part of the upstream tarball (TREE_PARTS), extracted once into the cache."""
    tree = cache_dir() / f"regress-{pkg.upstream}"
    stamp = tree / ".complete"
    want = f"{pkg.tarball.name} {_sha256(pkg.tarball)}"
    if stamp.is_file() and stamp.read_text().strip() == want:
        return tree
    if tree.exists():
        shutil.rmtree(tree)
    tmp = Path(tempfile.mkdtemp(dir=cache_dir(), prefix=".extract-"))
    try:
        with tarfile.open(pkg.tarball) as tar:
            for member in tar:
                rest = member.name.partition("/")[2]
                if not any(rest.startswith(p) for p in TREE_PARTS):
                    continue
                if not (member.isfile() or member.isdir()):
                    continue
                if ".." in Path(rest).parts or rest.startswith("/"):
                    raise RegressUnavailable(f"{pkg.tarball}: unsafe path {member.name!r}")
                member.name = rest
                tar.extract(member, tmp, set_attrs=False)
        (tmp / ".complete").write_text(want + "\n")
        os.replace(tmp, tree)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return tree


# -- the C functions


def _pg_config_value(pg_config: Path, option: str) -> str:
    r = subprocess.run([str(pg_config), option], capture_output=True, text=True, timeout=60,
                       check=False)  # fmt: skip
    if r.returncode != 0:
        raise RegressUnavailable(f"{pg_config} {option} failed: {r.stderr.strip()}")
    return r.stdout.strip()


def build_libraries(tree: Path, pg_config: Path) -> Path:
    """regress.so, autoinc.so and refint.so built from ``tree`` against the installed server's
    headers with pg_config's flags (as PGXS would); cached by a digest of their inputs."""
    cc = shutil.which(_pg_config_value(pg_config, "--cc").split()[0]) or shutil.which("cc")
    if cc is None:
        raise RegressUnavailable("no C compiler to build the suite's regress.so with")
    flags = [
        *_pg_config_value(pg_config, "--cflags").split(),
        *_pg_config_value(pg_config, "--cflags_sl").split(),
        *_pg_config_value(pg_config, "--cppflags").split(),
        "-I" + _pg_config_value(pg_config, "--includedir-server"),
    ]
    ldflags = _pg_config_value(pg_config, "--ldflags_sl").split()
    h = hashlib.sha256(repr((cc, flags, ldflags)).encode())
    h.update(_pg_config_value(pg_config, "--version").encode())
    for src, name, extra in LIBRARIES:
        h.update(f"{name} {extra}".encode() + (tree / src).read_bytes())
    out = tree / f"lib-{h.hexdigest()[:16]}"
    if all((out / f"{name}.so").is_file() for _, name, _ in LIBRARIES):
        return out
    tmp = Path(tempfile.mkdtemp(dir=tree, prefix=".lib-"))
    try:
        for src, name, extra in LIBRARIES:
            cmd = [cc, *flags, *extra, "-shared", *ldflags, str(tree / src),
                   "-o", str(tmp / f"{name}.so")]  # fmt: skip
            r = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=600)
            if r.returncode != 0:
                raise RegressUnavailable(f"building {name}.so failed:\n{' '.join(cmd)}\n{r.stderr}")
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def find_pg_regress(pg_config: Path) -> Path:
    """Debian's pg_regress ($pkglibdir/pgxs/src/test/regress/pg_regress)."""
    pkglib = Path(_pg_config_value(pg_config, "--pkglibdir"))
    p = pkglib / "pgxs" / "src" / "test" / "regress" / "pg_regress"
    if not os.access(p, os.X_OK):
        raise RegressUnavailable(f"no pg_regress at {p} (install postgresql-server-dev-{PG_MAJOR})")
    return p


# -- running


@dataclasses.dataclass
class SuiteRun:
    """One run of the schedule on one cluster."""

    label: str  # "off" or "copypatch"
    status: dict[str, str]  # test -> "ok" / "FAILED" / "failed (ignored)", as pg_regress says
    results: dict[str, str]  # test -> its results/<test>.out
    seconds: float  # pg_regress's wall-clock time
    statements: int  # statements the server received (log_statement = all)
    exit_code: int  # pg_regress's
    crashed: list[str]  # the log's lines about a backend ended by a signal, or a PANIC
    server_alive: bool
    compiled: int = 0
    fallbacks: int = 0
    steps: int = 0
    deforms: int = 0
    fallback_reasons: Counter[str] = dataclasses.field(default_factory=Counter)
    output: str = ""  # pg_regress's stdout and stderr


def _wait_for_backends(dsn: str, timeout: float = 30.0) -> None:
    """Until no other client backend or parallel worker is left (each logs its totals before
    leaving pg_stat_activity)."""
    import psycopg

    deadline = time.monotonic() + timeout
    with psycopg.connect(dsn, autocommit=True, options=QUIET) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
                "AND backend_type IN ('client backend', 'parallel worker')"
            ).fetchone()
            if row is not None and row[0] == 0:
                return
            time.sleep(0.1)


def _create_database(dsn: str) -> None:
    """The database the suite runs in, as pg_regress creates it when it runs its own instance
    (with --use-existing it expects it to exist)."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True, options=QUIET) as conn:
        conn.execute(f'CREATE DATABASE "{DATABASE}" TEMPLATE=template0')
        conn.execute(
            f'ALTER DATABASE "{DATABASE}" SET lc_messages TO \'C\'; '
            f'ALTER DATABASE "{DATABASE}" SET lc_monetary TO \'C\'; '
            f'ALTER DATABASE "{DATABASE}" SET lc_numeric TO \'C\'; '
            f'ALTER DATABASE "{DATABASE}" SET lc_time TO \'C\'; '
            f'ALTER DATABASE "{DATABASE}" SET bytea_output TO \'hex\'; '
            f'ALTER DATABASE "{DATABASE}" SET timezone_abbreviations TO \'Default\''
        )


def run_suite(
    label: str,
    settings: Mapping[str, str],
    provider: Provider,
    tree: Path,
    libdir: Path,
    pg_regress: Path,
    tests: list[str] | None = None,
    log: Any = None,
    keep: Path | None = None,
) -> SuiteRun:
    """The parallel_schedule (or ``tests``) with pg_regress --use-existing against a throwaway
    cluster run with ``settings``, as the cluster's unprivileged user."""
    from .pg import Cluster

    say = log or (lambda _msg: None)
    regress_src = tree / "src" / "test" / "regress"
    with Cluster(settings=settings, jit_provider=provider) as cluster:
        # everything the server reads (data files, libraries) or writes (COPY TO results/) in
        # the cluster's own directory, which its user owns; deleted with it
        work = cluster.dir / "regress"
        inputdir, outputdir, dlpath = work / "in", work / "out", work / "lib"
        for part in ("sql", "expected", "data"):
            shutil.copytree(regress_src / part, inputdir / part)
        for f in ("parallel_schedule", "resultmap"):
            shutil.copy2(regress_src / f, inputdir / f)
        shutil.copytree(libdir, dlpath)
        (outputdir / "results").mkdir(parents=True)
        kwargs = cluster._run_kwargs()
        user = kwargs.get("user")
        if user is not None:
            for p in [work, *work.rglob("*")]:
                os.chown(p, user, kwargs["group"])
        _create_database(cluster.dsn)
        bindir = provider.bindir
        cmd = [
            str(pg_regress), f"--inputdir={inputdir}", f"--outputdir={outputdir}",
            f"--bindir={bindir}", f"--dlpath={dlpath}", "--use-existing",
            f"--host={cluster.dir}", f"--port={cluster.port}", "--user=postgres",
        ]  # fmt: skip
        cmd += tests if tests else [f"--schedule={inputdir / 'parallel_schedule'}"]
        say(f"pg_regress, JIT {label}: {len(tests) if tests else 'the parallel_schedule'}")
        start = time.monotonic()
        done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=3600, check=False, **{**kwargs, "cwd": work})  # fmt: skip
        seconds = time.monotonic() - start
        alive = cluster.running
        if alive:
            _wait_for_backends(cluster.dsn)
        text = cluster.logfile.read_text(errors="replace")
        status = {m.group(1): m.group(2) for m in RESULT_RE.finditer(done.stdout)}
        results = {}
        for t in status:
            path = outputdir / "results" / f"{t}.out"
            # the cluster's directory (in file names, error messages) differs between the runs
            got = path.read_text(errors="replace") if path.is_file() else ""
            results[t] = got.replace(str(cluster.dir), "<cluster>")
        if keep is not None:
            dest = keep / label
            shutil.rmtree(dest, ignore_errors=True)
            shutil.copytree(outputdir, dest)
            (dest / "pg_regress.out").write_text(done.stdout)
            shutil.copy2(cluster.logfile, dest / "server.log")
        run = SuiteRun(
            label=label, status=status, results=results, seconds=seconds,
            statements=len(re.findall(r"LOG:  statement: ", text)), exit_code=done.returncode,
            crashed=[ln for ln in text.splitlines() if CRASH_RE.search(ln)],
            server_alive=alive, output=done.stdout,
        )  # fmt: skip
        for m in TOTALS_RE.finditer(text):
            run.compiled += int(m.group(1))
            run.fallbacks += int(m.group(2))
            run.steps += int(m.group(3))
            run.deforms += int(m.group(4))
        for line in text.splitlines():
            fm = FALLBACK_RE.search(line)
            if fm:
                run.fallback_reasons[fm.group(1).strip()] += 1
    return run


@dataclasses.dataclass
class RegressReport:
    """The two runs and what differs between them."""

    source: SourcePackage
    server_version: str
    off: SuiteRun
    provider: SuiteRun
    differences: dict[str, str]  # test -> unified diff of the two runs' results
    expected: list[str]  # the tests the schedule (or the command line) names

    @property
    def upstream_failures(self) -> list[str]:
        """Tests that failed against upstream's expected output identically in both runs."""
        return sorted(t for t, s in self.off.status.items()
                      if s != "ok" and t not in self.differences)  # fmt: skip

    @property
    def crashed(self) -> bool:
        return bool(self.off.crashed or self.provider.crashed) or not (
            self.off.server_alive and self.provider.server_alive)

    @property
    def compiled_fraction(self) -> float:
        total = self.provider.compiled + self.provider.fallbacks
        return self.provider.compiled / total if total else 0.0

    @property
    def not_run(self) -> list[str]:
        """Tests named but without a result line in a run (pg_regress gave up)."""
        return [t for t in self.expected
                if t not in self.off.status or t not in self.provider.status]  # fmt: skip

    @property
    def ok(self) -> bool:
        return not self.differences and not self.crashed and not self.not_run and bool(
            self.off.status)


def compare(off: SuiteRun, provider: SuiteRun) -> dict[str, str]:
    """Per test, the unified diff of the two runs' results (a test in one run only differs)."""
    out = {}
    for t in sorted(set(off.results) | set(provider.results)):
        a, b = off.results.get(t), provider.results.get(t)
        if a == b:
            continue
        out[t] = "".join(difflib.unified_diff(
            (a or "").splitlines(keepends=True), (b or "").splitlines(keepends=True),
            f"jit=off/{t}.out" if a is not None else "(not run with jit=off)",
            f"copypatch/{t}.out" if b is not None else "(not run with the provider)",
        ))  # fmt: skip
    return out


def regress(
    pg_config: Path | None = None,
    refresh: bool = False,
    tests: list[str] | None = None,
    log: Any = None,
    keep: Path | None = None,
) -> RegressReport:
    """Fetch, build, run the suite twice and compare (the `pg-provider regress` command)."""
    try:
        pg_config = pg_config or find_pg_config()
        provider = build(pg_config)
    except PgProviderUnavailable as e:
        raise RegressUnavailable(str(e)) from e
    pg_regress = find_pg_regress(pg_config)
    pkg = fetch_source(refresh, log)
    tree = extract(pkg)
    regress_src = tree / "src" / "test" / "regress"
    if tests:
        unknown = [t for t in tests if not (regress_src / "sql" / f"{t}.sql").is_file()]
        if unknown:
            raise ValueError(f"no such test in the {pkg.upstream} suite: {', '.join(unknown)}")
        expected = list(tests)
    else:
        expected = re.findall(r"^test:\s*(.*)$",
                              (regress_src / "parallel_schedule").read_text(), re.MULTILINE)
        expected = [t for line in expected for t in line.split()]
    libdir = build_libraries(tree, pg_config)
    off = run_suite("off", OFF_SETTINGS, provider, tree, libdir, pg_regress, tests, log, keep)
    on = run_suite("copypatch", PROVIDER_SETTINGS, provider, tree, libdir, pg_regress, tests, log,
                   keep)
    return RegressReport(pkg, provider.version, off, on, compare(off, on), expected)


def format_report(r: RegressReport) -> str:
    """The summary the command prints (the differences first, as unified diffs)."""
    lines = [r.differences[t] for t in sorted(r.differences)]
    p, o = r.provider, r.off
    reasons = ", ".join(f"{n} x {why}" for why, n in p.fallback_reasons.most_common()) or "none"
    diffs = f" ({', '.join(sorted(r.differences))})" if r.differences else ""
    crashes = "crashed: " + "; ".join((o.crashed + p.crashed)[:5]) if r.crashed else "no crash"
    lines += [
        (f"PostgreSQL's regression suite ({len(o.status)} tests) from Debian's {PACKAGE} "
         f"{r.source.version} (upstream {r.source.upstream}), against {r.server_version}"),
        f"statements: {o.statements:,} with jit=off, {p.statements:,} with the provider",
        f"differences between the runs: {len(r.differences)}{diffs}",
        *([f"not run (no result line from pg_regress): {', '.join(r.not_run)}"]
          if r.not_run else []),
        (f"failing against upstream's expected output identically in both runs: "
         f"{len(r.upstream_failures)} ({', '.join(r.upstream_failures) or 'none'})"),
        (f"expressions compiled: {p.compiled:,}, left to the interpreter: {p.fallbacks:,} "
         f"({reasons}); {r.compiled_fraction:.2%} compiled ({p.steps:,} steps, "
         f"{p.deforms:,} deforms)"),
        f"time: {o.seconds:.1f} s with jit=off, {p.seconds:.1f} s with the provider",
        f"server: {crashes}",
        "result: " + ("OK" if r.ok else "FAILED"),
    ]  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """``python -m copypatch pg-provider regress``."""
    import argparse

    from ._cli import fail, one_line_errors

    prog = "python -m copypatch pg-provider regress"
    ap = argparse.ArgumentParser(
        prog=prog, description="PostgreSQL's regression suite with jit=off and with the "
        "copypatch provider forced on: every difference between the two runs fails.")
    one_line_errors(ap, prog)
    ap.add_argument("--pg-config", type=Path, help="the installation's pg_config "
                    f"(default: $COPYPATCH_PG_CONFIG, /usr/lib/postgresql/{PG_MAJOR}/bin/pg_config)")
    ap.add_argument("--refresh", action="store_true",
                    help=f"download {PACKAGE}'s source even if one is cached in {cache_dir()}")
    ap.add_argument("--keep", type=Path, metavar="DIR", help="copy each run's results, "
                    "pg_regress's diffs against upstream and the server log to DIR/off and "
                    "DIR/copypatch")
    ap.add_argument("tests", nargs="*", help="run these tests instead of the parallel_schedule "
                    "(test_setup first, as the schedule does)")
    args = ap.parse_args(argv)

    def log(msg: str) -> None:
        print(f"# {msg}", file=sys.stderr, flush=True)

    try:
        report = regress(args.pg_config, args.refresh, args.tests or None, log, args.keep)
    except (RegressUnavailable, ValueError) as e:
        fail(prog, str(e))
    print(format_report(report))
    return 0 if report.ok else 1
