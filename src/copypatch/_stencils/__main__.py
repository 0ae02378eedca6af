"""Entry point: `python -m copypatch._stencils [--force | --check | --dump NAME...]`."""

from __future__ import annotations

import argparse
import sys

from . import _elf, _writer, build
from ._targets import TARGETS, host_target


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m copypatch._stencils", description=__doc__)
    ap.add_argument("--target", choices=sorted(TARGETS), help="one target (default: every target)")
    ap.add_argument("--force", action="store_true", help="regenerate even if the digest matches")
    ap.add_argument("--check", action="store_true", help="fail if the header is not a fresh build")
    ap.add_argument("--dump", nargs="*", metavar="NAME", help="list stencils and their holes")
    args = ap.parse_args(argv)
    root = build.repo_root()
    targets = [args.target] if args.target else sorted(TARGETS)
    if args.check:
        stale = [t for t in targets if not build.check(root, t)]
        print(
            f"stencils header is stale: {stale}" if stale else "stencils up to date",
            file=sys.stderr,
        )
        return 1 if stale else 0
    if args.dump is not None:
        t = TARGETS[args.target or host_target() or "x86_64"]
        clang = _elf.find_clang()
        obj = _elf.compile_object(clang, t, root / "csrc" / "jit" / "template.c", [root / "csrc"])
        group = _elf.read_stencils(obj, t, _elf.clang_version(clang))
        sys.stdout.write(_writer.dump(group, args.dump or None))
        return 0
    for target in targets:
        wrote = build.ensure(root, target, force=args.force)
        print(f"{target}: stencils {'regenerated' if wrote else 'up to date'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
