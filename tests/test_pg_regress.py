"""PostgreSQL's own regression suite, run whole with the JIT off and with copypatch's provider
forced on (`python -m copypatch pg-provider regress`): the two runs' results are identical test by
test, at least 95 % of the expressions compile without fallback, and the server never crashes.

Needs what the provider needs, Debian's pg_regress (postgresql-server-dev-15) and, the first time,
the network (apt-get source postgresql-15; cached in ~/.cache/copypatch/pg-regress after that).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from helpers import unavailable

from copypatch import pgprovider, pgregress


def test_private_sources_list_has_a_deb_src_line_per_deb_entry(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list").write_text(
        "deb [arch=amd64 signed-by=/k.gpg] http://a.example/debian bookworm main contrib\n"
        "# deb http://commented.example/debian bookworm main\n"
        "deb-src http://already.example/debian bookworm main\n")  # fmt: skip
    (tmp_path / "sources.list.d" / "x.sources").write_text(
        "Types: deb\nURIs: http://b.example/debian\nSuites: bookworm bookworm-updates\n"
        "Components: main\nSigned-By: /b.gpg\n\n"
        "Types: deb\nURIs: http://off.example/debian\nSuites: x\nComponents: main\nEnabled: no\n")
    (tmp_path / "sources.list.d" / "y.sources.disabled").write_text(
        "Types: deb\nURIs: http://disabled.example/\nSuites: x\nComponents: main\n")
    assert pgregress.private_sources_list(tmp_path).splitlines() == [
        "deb-src [signed-by=/k.gpg] http://a.example/debian bookworm main contrib",
        "deb-src [signed-by=/b.gpg] http://b.example/debian bookworm main",
        "deb-src [signed-by=/b.gpg] http://b.example/debian bookworm-updates main",
    ]


def test_a_damaged_download_is_refused(tmp_path: Path) -> None:
    tarball = tmp_path / "postgresql-15_15.1.orig.tar.bz2"
    tarball.write_bytes(b"not the tarball")
    (tmp_path / "postgresql-15_15.1-1.dsc").write_text(
        "Format: 3.0 (quilt)\nSource: postgresql-15\nVersion: 15.1-1\nChecksums-Sha256:\n"
        f" {'0' * 64} {len(b'not the tarball')} {tarball.name}\n")
    try:
        pgregress._verified(tmp_path / "postgresql-15_15.1-1.dsc")
    except pgregress.RegressUnavailable as e:
        assert "does not match the sha256" in str(e)
    else:
        raise AssertionError("a tarball with another sha256 was accepted")


def test_the_regression_suite_has_no_difference_with_the_provider() -> None:
    try:
        pg_config = pgprovider.find_pg_config()
        pgregress.find_pg_regress(pg_config)
    except (pgprovider.PgProviderUnavailable, pgregress.RegressUnavailable) as e:
        unavailable(str(e))
    if shutil.which("apt-get") is None and not (pgregress.cache_dir() / "src").is_dir():
        unavailable("no apt-get to fetch PostgreSQL's source with, and none cached")
    done = subprocess.run([sys.executable, "-m", "copypatch", "pg-provider", "regress"],
                          capture_output=True, text=True, timeout=900, check=False)  # fmt: skip
    out = done.stdout
    if done.returncode == 2 and "network?" in done.stderr:
        unavailable(f"PostgreSQL's source could not be downloaded: {done.stderr.strip()}")
    assert done.returncode in (0, 1), done.stderr
    assert "server: no crash" in out, out[-3000:]
    assert "differences between the runs: 0" in out, out[-20000:]
    tests = re.search(r"regression suite \((\d+) tests\)", out)
    assert tests is not None and int(tests.group(1)) >= 200, out[-3000:]
    m = re.search(r"expressions compiled: ([\d,]+), left to the interpreter: ([\d,]+)", out)
    assert m is not None, out[-3000:]
    compiled, fallbacks = (int(g.replace(",", "")) for g in m.groups())
    assert compiled > 10_000, out[-3000:]  # the suite compiles ~130k expressions
    assert compiled / (compiled + fallbacks) >= 0.95, out[-3000:]
    assert done.returncode == 0, out[-3000:]


def test_an_unknown_test_name_is_a_clear_error() -> None:
    if not any(pgregress.cache_dir().glob("regress-*/.complete")):
        unavailable("PostgreSQL's source is not cached (the test above fetches it)")
    done = subprocess.run(
        [sys.executable, "-m", "copypatch", "pg-provider", "regress", "test_setup", "no_such"],
        capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "no such test" in done.stderr and "no_such" in done.stderr
    assert "Traceback" not in done.stderr
