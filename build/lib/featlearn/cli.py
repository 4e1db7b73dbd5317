"""The ``featlearn`` command: facts about the installation, the cache and the saved figures."""

from __future__ import annotations

import argparse
import shutil
import sys


def _info(_: argparse.Namespace) -> int:
    import flax
    import jax
    import optax

    from . import __version__, profiles
    from ._paths import cache_dir, figure_dir

    print(f"featlearn {__version__}")
    print(f"jax {jax.__version__}, flax {flax.__version__}, optax {optax.__version__}")
    print(f"devices: {', '.join(str(d) for d in jax.devices())}")
    print(f"profile: {profiles.active()}")
    print(f"cache: {cache_dir()}")
    print(f"figures: {figure_dir()}")
    return 0


def _cache(args: argparse.Namespace) -> int:
    from ._paths import cache_dir

    folder = cache_dir()
    if args.action == "clear":
        if folder.exists():
            shutil.rmtree(folder)
        print(f"cleared {folder}")
    else:
        entries = sorted(folder.glob("*.npz")) if folder.exists() else []
        for p in entries:
            print(f"{p.name}  {p.stat().st_size} bytes")
        print(f"{len(entries)} entries in {folder}")
    return 0


def _figures(_: argparse.Namespace) -> int:
    from .figures import figure_records

    recs = figure_records()
    for r in recs:
        print(f"{r['chapter']}-{r['name']}: {', '.join(r['files'])}")
    print(f"{len(recs)} figures")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="featlearn", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("info", help="versions, devices, profile and folders").set_defaults(func=_info)
    c = sub.add_parser("cache", help="list or clear the sweep cache")
    c.add_argument("action", choices=["list", "clear"])
    c.set_defaults(func=_cache)
    sub.add_parser("figures", help="list the saved book figures").set_defaults(func=_figures)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
