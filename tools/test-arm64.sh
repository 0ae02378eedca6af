#!/usr/bin/env bash
# Build copypatch for aarch64 and run the test suite as aarch64 under qemu-user (docs/arm64.md).
#
#   tools/test-arm64.sh [pytest args...]      # default: the whole suite, minus what is listed below
#   tools/test-arm64.sh --prepare             # only fetch and install what the run needs (.ci/run
#                                             # does this before the first test runs)
#
# Needs a Debian 12 x86-64 host, root for apt, and only Debian's mirrors and PyPI. Idempotent:
# the arm64 sysroot (Debian's python3.11:arm64 and its libraries), the aarch64 wheels and qemu
# are cached in $COPYPATCH_ARM64_CACHE (default ~/.cache/copypatch-arm64); the extension is
# cross-built on every run (seconds) into src/copypatch/_core.cpython-311-aarch64-linux-gnu.so,
# a name only an aarch64 Python looks for (gitignored; intermediate files in build/arm64).
#
# What runs: every test file, under an aarch64 Python 3.11, with the extension cross-compiled
# by aarch64-linux-gnu-gcc and the JIT's aarch64 stencils (csrc/jit/stencils_aarch64.h); all
# three engines. tests/test_arm64.py proves the architecture (platform.machine(), the stencil
# set, capstone's ARM64 decoding of the JIT's code). Host binaries the tests start (clang-19,
# PostgreSQL's initdb/postgres) are x86-64 programs run natively; they talk to the emulated
# Python through files and sockets only.
# But tests/test_pg_provider.py's: copypatch's JIT provider, built for aarch64, runs inside
# Debian's arm64 PostgreSQL 15 under qemu (set up below; $COPYPATCH_PG_CONFIG names it).
#
# What does not run, and why (nothing else is deselected):
#   - tests/test_instructions.py and tests/test_peers.py::test_instruction_counter_counts_the_peers:
#     instruction counts come from valgrind, an x86-64 host tool that cannot run aarch64 code.
#   - tests/test_bench.py and tests/test_cli.py: the drivers (pyperf suites, the bench, the
#     instruction counters, the experiment) and the command line, Python that starts Python
#     subprocesses: hundreds of interpreter start-ups and pyperf workers, most of an hour under
#     emulation and the run's long pole, for code that is the same on either architecture. The
#     engines they drive run under aarch64 in every other file; the native run has both files.
#   - tests/test_jit_stencils.py: regenerates both architectures' stencil headers with the host's
#     clang-19 and pyelftools (minutes of the same work in either run, now that the template has
#     the value-register variants); the output is the same bytes whichever Python drives it, and
#     the native run checks it. The aarch64 stencils themselves run here in every JIT test.
#   - tests/test_pg_regress.py: PostgreSQL's whole regression suite, twice, in the emulated
#     server would take most of an hour; its corpus is the same SQL on either architecture,
#     the native run has it, and the aarch64 provider runs tests/test_pg_provider.py here.
#   - tests/test_regressions.py::test_many_distinct_equalities_plan_in_linear_time: a wall-clock
#     bound (30 s) for planning, which emulation (~10-30x slower) is not held to.
#   - tests/test_verify.py::test_no_leak: bounds the process's RSS growth, which under qemu
#     includes qemu's own translation cache.
#   - tests/test_verify.py::test_absurd_input_works_or_raises: a wall-clock bound (30 s per input)
#     that the long AND/OR/IN inputs miss under emulation now that the tests verify after every
#     pass (they compile correctly, only slower); natively they pass.
#   - tests/test_lint.py: ruff and mypy read the source, which is the same on both architectures
#     (the native run checks it).
#
# qemu: Debian 12's qemu-user (7.2) ignores `ic ivau`, so it keeps running stale translations of
# code written through the JIT's second (read-write) mapping. qemu >= 8.1 invalidates its
# translations on `ic ivau`, like a real core's instruction cache: with it a missing
# __builtin___clear_cache shows up as wrong results (tests/test_arm64.py checks that it does).
# So the script uses qemu 10 from bookworm-backports, unpacked into the cache (a static binary;
# nothing is installed and no apt source is added to the system).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
CACHE=${COPYPATCH_ARM64_CACHE:-$HOME/.cache/copypatch-arm64}
BUILD=$ROOT/build/arm64
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
PYTHON=${PYTHON:-python3}
export DEBIAN_FRONTEND=noninteractive
t0=$(date +%s)
log() { printf '[test-arm64 %4ss] %s\n' "$(($(date +%s) - t0))" "$*" >&2; }

# -- host tools: the cross compiler (clang-19 regenerates stale stencils; .ci/run installs it) --
need=()
command -v aarch64-linux-gnu-gcc >/dev/null || need+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
command -v clang-19 >/dev/null || need+=(clang-19)
if [ ${#need[@]} -gt 0 ]; then
  log "apt-get install ${need[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# -- a private apt state (not the system's): arm64 packages of bookworm, qemu from backports --
APT_DIR=$CACHE/apt
mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/archives/partial" "$CACHE/debs"
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
cat >"$APT_DIR/sources.list" <<EOF
deb [arch=arm64 signed-by=$KEYRING] $MIRROR bookworm main
deb [arch=arm64 signed-by=$KEYRING] $MIRROR bookworm-updates main
deb [arch=arm64 signed-by=$KEYRING] $SECURITY bookworm-security main
deb [arch=amd64 signed-by=$KEYRING] $MIRROR bookworm-backports main
EOF
APT_OPTS=(-o "Dir::Etc::SourceList=$APT_DIR/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$APT_DIR/lists" -o "Dir::Cache=$APT_DIR" -o "Dir::Cache::archives=$APT_DIR/archives"
  -o APT::Architecture=amd64 -o APT::Architectures::=amd64 -o APT::Architectures::=arm64
  -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
apt_updated=0
apt_download() {  # apt_download DIR PACKAGE...: the packages' .debs into DIR
  local dir=$1
  shift
  if [ $apt_updated = 0 ]; then
    log "apt-get update (private lists in $APT_DIR)"
    apt-get "${APT_OPTS[@]}" update -qq
    apt_updated=1
  fi
  (cd "$dir" && apt-get "${APT_OPTS[@]}" download "$@" >/dev/null)
}

# Debian's arm64 Python 3.11 with the libraries it and the aarch64 wheels load, and its headers.
SYSROOT_PKGS=(python3.11-minimal libpython3.11-minimal libpython3.11-stdlib python3.11 libpython3.11
  libpython3.11-dev libc6 libc6-dev libexpat1 zlib1g libffi8 libssl3 libbz2-1.0 liblzma5
  libsqlite3-0 libncursesw6 libtinfo6 libreadline8 libuuid1 libcrypt1 libgcc-s1 libstdc++6
  libnsl2 libtirpc3 libdb5.3 libgdbm6 libgssapi-krb5-2 libkrb5-3 libk5crypto3 libkrb5support0
  libcom-err2 libkeyutils1)
SYSROOT=$CACHE/sysroot
stamp="${SYSROOT_PKGS[*]}"
if [ "$(cat "$SYSROOT/.stamp" 2>/dev/null)" != "$stamp" ]; then
  log "arm64 sysroot: downloading ${#SYSROOT_PKGS[@]} Debian packages"
  rm -rf "$SYSROOT" "$CACHE"/debs/*_arm64.deb
  apt_download "$CACHE/debs" "${SYSROOT_PKGS[@]/%/:arm64}"
  mkdir -p "$SYSROOT"
  for deb in "$CACHE"/debs/*_arm64.deb; do dpkg-deb -x "$deb" "$SYSROOT"; done
  echo "$stamp" >"$SYSROOT/.stamp"
fi

QEMU_DIR=$CACHE/qemu
QEMU=$QEMU_DIR/usr/bin/qemu-aarch64
if ! "$QEMU" --version 2>/dev/null | grep -qE 'version ([89]|[1-9][0-9])\.'; then
  log "qemu-user (>= 8.1, static) from bookworm-backports"
  rm -rf "$QEMU_DIR" "$CACHE"/debs/qemu-user_*.deb
  apt_download "$CACHE/debs" qemu-user/bookworm-backports
  mkdir -p "$QEMU_DIR"
  dpkg-deb -x "$CACHE"/debs/qemu-user_*.deb "$QEMU_DIR"
fi
"$QEMU" --version | head -1 >&2

# An aarch64 PostgreSQL for the provider's tests (tests/test_pg_provider.py runs in this run, the
# provider built for aarch64 against it): Debian's arm64 server, client (pg_config), server
# headers and the libraries the server loads, unpacked over the sysroot's packages into $PG_ARM64
# with a copy of qemu. Not in the cache under $HOME: PostgreSQL runs as an unprivileged user, who
# cannot enter /root. Its installation tree's programs (postgres, initdb, pg_config) are scripts
# that run Debian's under qemu with argv[0] (qemu -0) the script's own path, so that PostgreSQL
# finds its share and lib directories relative to it as it does natively (and initdb finds
# postgres beside it: no binfmt_misc needed). LLVM is not unpacked: the server's own JIT is not
# what this run tests.
PG_PKGS=(postgresql-15 postgresql-client-15 postgresql-server-dev-15 libpq5 libzstd1 liblz4-1
  libxml2 libicu72 libpam0g libaudit1 libcap-ng0 libldap-2.5-0 libsasl2-2 libgnutls30 libp11-kit0
  libidn2-0 libunistring2 libtasn1-6 libnettle8 libhogweed6 libgmp10 libsystemd0 libcap2
  libgcrypt20 libgpg-error0)
PG_ARM64=${COPYPATCH_ARM64_PG:-/var/tmp/copypatch-arm64-pg}
PG_BIN=$PG_ARM64/usr/lib/postgresql/15/bin
pg_stamp="${PG_PKGS[*]} | $stamp | $("$QEMU" --version | head -1)"
if [ "$(cat "$PG_ARM64/.stamp" 2>/dev/null)" != "$pg_stamp" ]; then
  log "aarch64 PostgreSQL: downloading ${#PG_PKGS[@]} Debian packages into $PG_ARM64"
  rm -rf "$CACHE/pg-debs" "$PG_ARM64"
  mkdir -p "$CACHE/pg-debs" "$PG_ARM64/root" "$PG_BIN" "$PG_ARM64/usr/share/postgresql"
  apt_download "$CACHE/pg-debs" "${PG_PKGS[@]/%/:arm64}"
  for deb in "$CACHE"/debs/*_arm64.deb "$CACHE"/pg-debs/*_arm64.deb; do
    dpkg-deb -x "$deb" "$PG_ARM64/root"
  done
  cp "$QEMU" "$PG_ARM64/qemu-aarch64"
  ln -s "$PG_ARM64/root/usr/lib/postgresql/15/lib" "$PG_ARM64/usr/lib/postgresql/15/lib"
  ln -s "$PG_ARM64/root/usr/share/postgresql/15" "$PG_ARM64/usr/share/postgresql/15"
  ln -s "$PG_ARM64/root/usr/include" "$PG_ARM64/usr/include"
  for prog in postgres initdb pg_config; do
    printf '#!/bin/sh\nexec %s -L %s -0 "$0" %s "$@"\n' "$PG_ARM64/qemu-aarch64" \
      "$PG_ARM64/root" "$PG_ARM64/root/usr/lib/postgresql/15/bin/$prog" >"$PG_BIN/$prog"
    chmod 755 "$PG_BIN/$prog"
  done
  chmod -R a+rX "$PG_ARM64"
  echo "$pg_stamp" >"$PG_ARM64/.stamp"
fi
"$PG_BIN/pg_config" --version >&2

# -- aarch64 wheels from PyPI, the host's versions (so both architectures test the same thing) --
SITE=$CACHE/site
reqs=$("$PYTHON" - <<'EOF'
from importlib.metadata import PackageNotFoundError, version
wanted = ["numpy", "pglast", "cffi", "pytest", "hypothesis", "pyperf", "psycopg", "psycopg-binary",
          "capstone", "pyelftools", "matplotlib", "rich", "numexpr", "duckdb", "pyarrow"]
out = []
for name in wanted:
    try:
        out.append(f"{name}=={version(name)}")
    except PackageNotFoundError:
        out.append(name)
print(" ".join(out))
EOF
)
if [ "$(cat "$SITE/.stamp" 2>/dev/null)" != "$reqs" ]; then
  log "aarch64 wheels: $reqs"
  rm -rf "$SITE"
  # shellcheck disable=SC2086
  "$PYTHON" -m pip install -q --disable-pip-version-check --target "$SITE" --only-binary=:all: \
    --platform manylinux2014_aarch64 --platform manylinux_2_17_aarch64 \
    --platform manylinux_2_28_aarch64 --python-version 3.11 --implementation cp $reqs
  echo "$reqs" >"$SITE/.stamp"
fi

if [ "${1:-}" = "--prepare" ]; then
  log "prepared: cross compiler, sysroot, qemu and aarch64 wheels are in place"
  exit 0
fi

# -- cross-build the extension (cffi's C source + aarch64-linux-gnu-gcc) next to the x86 one --
log "cross-building the extension for aarch64"
"$PYTHON" tools/cross_build_arm64.py "$SYSROOT" "$BUILD" 2>&1 | grep -v '^aarch64-linux-gnu-gcc' >&2 || true
[ -f src/copypatch/_core.cpython-311-aarch64-linux-gnu.so ] || { echo "cross build failed" >&2; exit 1; }

# The interpreter: a script that runs the arm64 python under qemu. It is also sys.executable
# (qemu -0 sets argv[0]), so tests that start `sys.executable` get an aarch64 Python too, with
# the source tree and the wheels appended to whatever PYTHONPATH they set. `gcc` and `cc` in
# the same directory are the cross compiler: what a test compiles and loads (the benchmarks'
# C reference loop) must be aarch64 code, as it would be on an aarch64 machine.
mkdir -p "$BUILD/bin"
cat >"$BUILD/bin/python" <<EOF
#!/bin/sh
PYTHONPATH="\${PYTHONPATH:+\$PYTHONPATH:}$ROOT/src:$SITE" exec "$QEMU" -L "$SYSROOT" -0 "\$0" "$SYSROOT/usr/bin/python3.11" "\$@"
EOF
chmod +x "$BUILD/bin/python"
ln -sf "$(command -v aarch64-linux-gnu-gcc)" "$BUILD/bin/gcc"
ln -sf "$(command -v aarch64-linux-gnu-gcc)" "$BUILD/bin/cc"
export PATH=$BUILD/bin:$PATH
export COPYPATCH_ARM64_QEMU=1 # tests/test_arm64.py: this run must really be aarch64
# the provider (tests/test_pg_provider.py) is built against, and run in, the aarch64 PostgreSQL;
# the other tests' oracle stays the host's server (its answers are architecture-independent)
export COPYPATCH_PG_CONFIG=$PG_BIN/pg_config

"$BUILD/bin/python" -c 'import platform, copypatch.jit as j; print("running as", platform.machine(), "- JIT stencils:", j.target())' >&2

log "pytest under qemu-aarch64"
args=("$@")
if [ ${#args[@]} -eq 0 ]; then
  args=(-q -p no:cacheprovider --durations=20 tests
    --ignore=tests/test_instructions.py
    --ignore=tests/test_bench.py
    --ignore=tests/test_cli.py
    --ignore=tests/test_jit_stencils.py
    --ignore=tests/test_pg_regress.py
    --deselect=tests/test_peers.py::test_instruction_counter_counts_the_peers
    --deselect=tests/test_regressions.py::test_many_distinct_equalities_plan_in_linear_time
    --deselect=tests/test_verify.py::test_no_leak
    --deselect=tests/test_verify.py::test_absurd_input_works_or_raises
    --ignore=tests/test_lint.py)
fi
status=0
"$BUILD/bin/python" -m pytest "${args[@]}" || status=$?
log "aarch64 run finished (exit $status)"
exit $status
