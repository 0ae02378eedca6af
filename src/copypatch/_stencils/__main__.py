"""Entry point: `python -m copypatch._stencils [--force | --check | --dump NAME...]`."""

from __future__ import annotations

import argparse
import sys

from . import _elf, _writer, build
from ._targets import TARGETS


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m copypatch._stencils", description=__doc__)
    ap.add_argument("--target", default="x86_64", choices=sorted(TARGETS))
    ap.add_argument("--force", action="store_true", help="regenerate even if the digest matches")
    ap.add_argument("--check", action="store_true", help="fail if the header is not a fresh build")
    ap.add_argument("--dump", nargs="*", metavar="NAME", help="list stencils and their holes")
    args = ap.parse_args(argv)
    root = build.repo_root()
    if args.check:
        ok = build.check(root, args.target)
        print("stencils up to date" if ok else "stencils header is stale", file=sys.stderr)
        return 0 if ok else 1
    if args.dump is not None:
        t = TARGETS[args.target]
        clang = _elf.find_clang()
        obj = _elf.compile_object(clang, t, root / "csrc" / "jit" / "template.c", [root / "csrc"])
        group = _elf.read_stencils(obj, t, _elf.clang_version(clang))
        sys.stdout.write(_writer.dump(group, args.dump or None))
        return 0
    wrote = build.ensure(root, args.target, force=args.force)
    print("stencils regenerated" if wrote else "stencils up to date", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
