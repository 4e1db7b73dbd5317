"""The ``featlearn`` command: facts about the installation, the cache and the saved figures, and
``featlearn reproduce``, which runs a chapter's experiments headless and stores their results for the book."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any


def _info(_: argparse.Namespace) -> int:
    import flax
    import jax
    import optax

    from . import profiles
    from ._paths import cache_dir, figure_dir
    from ._version import __version__

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


class UsageError(Exception):
    """Bad input to ``featlearn reproduce``: the message names the argument; nothing has been run or written."""


def reproducible(chapter: str) -> tuple[Mapping[str, Callable[..., dict[str, Any]]] | None, str]:
    """A chapter's ``SECTIONS`` and ``""``, or ``None`` and why it is not yet reproducible."""
    from .registry import CHAPTERS

    ch = CHAPTERS[chapter]
    try:
        ch.load()
    except ImportError as err:
        return None, f"its module does not import ({err})"
    if ch.sections is None:
        return None, f"{ch.module} has no SECTIONS yet"
    if ch.seed is None:
        return None, f"{ch.module} has SECTIONS but no integer SEED (the key its notebook passes)"
    if ch.sizes is None:
        return None, f"{ch.module} has no SIZES"
    return ch.sections, ""


def chapters_help() -> str:
    """The chapters ``reproduce`` knows, with their profiles and sections (for ``--help``)."""
    from . import results
    from .registry import CHAPTERS

    lines = ["chapters, their profiles (smallest first) and sections:"]
    for chapter in CHAPTERS:
        sections, why = reproducible(chapter)
        try:
            profs = ", ".join(results.chapter_profiles(chapter)) or "none"
        except ImportError:
            profs = "?"
        what = f"sections: {', '.join(sections)}" if sections else f"not yet reproducible: {why}"
        lines.append(f"  {chapter:<19} profiles: {profs}; {what}")
    return "\n".join(lines)


def _use_device(kind: str) -> None:
    """Make JAX compute on ``kind`` (``cpu`` or ``gpu``), or raise :class:`UsageError`."""
    import jax

    if kind == "cpu":
        try:
            jax.config.update("jax_platforms", "cpu")  # takes effect only if JAX has not started a backend yet
        except Exception:  # noqa: BLE001 - a started backend: checked just below
            pass
        if jax.default_backend() != "cpu":
            raise UsageError(f"argument --device: cpu requested, but JAX already runs on {jax.default_backend()} "
                             "in this process; run the command in a fresh process")
        return
    try:
        gpus = jax.devices("gpu")
    except RuntimeError:
        gpus = []
    if not gpus:
        seen = ", ".join(sorted({d.platform for d in jax.devices()}))
        raise UsageError(f"argument --device: gpu requested, but no GPU is attached (JAX sees: {seen})")
    if jax.default_backend() != "gpu":
        raise UsageError(f"argument --device: gpu requested, but JAX computes on {jax.default_backend()}")


def reproduce(chapter: str, profile: str | None = None, only: list[str] | None = None, device: str | None = None,
              chunk: int | str | None = "auto", out: Callable[[str], None] = print, cut_short: bool = False) -> int:
    """Run ``chapter``'s sections (all, or ``only`` these) at ``profile`` (default ``$FEATLEARN_PROFILE``, else
    quick) with the sweeps chunked (``chunk``, see :func:`featlearn.sweeps.chunk_size`) so that a killed run
    resumes from the cache, and store their results (:func:`featlearn.results.write`). Every argument is checked
    before anything runs; a bad one raises :class:`UsageError` naming it. Returns the exit status (0).

    With ``cut_short`` (a test of a profile too large for this machine) the chapter's step and sample budgets are
    shortened to its module's ``CUT_SHORT`` (:func:`featlearn.profiles.cut_short`; every other size is the
    profile's), the results are checked to be storable but not stored, and the run's manifest, with the budgets
    as cut, is written to ``results/cut-short/<chapter>-<profile>.json``, which the book never reads."""
    import jax

    from . import profiles, results, sweeps
    from .registry import CHAPTERS

    if chapter not in CHAPTERS:
        raise UsageError(f"argument CHAPTER: unknown chapter {chapter!r}; choose from {', '.join(CHAPTERS)}")
    sections, why = reproducible(chapter)
    if sections is None:
        raise UsageError(f"argument CHAPTER: {chapter} is not yet reproducible: {why}")
    ch = CHAPTERS[chapter]
    allowed = tuple(results.chapter_profiles(chapter))
    try:
        profile = profiles.active(profile, allowed=allowed)
    except ValueError as err:
        raise UsageError(f"argument --profile: {err}") from None
    chosen = list(sections)
    if only:
        chosen = [s for item in only for s in item.split(",") if s]
        unknown = [s for s in chosen if s not in sections]
        if unknown or not chosen:
            raise UsageError(f"argument --only: unknown section {', '.join(map(repr, unknown)) or repr('')} of "
                             f"{chapter}; choose from {', '.join(sections)}")
        chosen = [s for s in sections if s in chosen]  # the chapter's order
    try:
        chunk = sweeps.chunk_setting(chunk, source="argument --chunk")
    except ValueError as err:
        raise UsageError(str(err)) from None
    if device is not None:
        if device not in ("cpu", "gpu"):
            raise UsageError(f"argument --device: must be cpu or gpu, got {device!r}")
        _use_device(device)

    if cut_short and ch.cut_short is None:
        raise UsageError(f"argument --cut-short: {ch.module} defines no CUT_SHORT budgets")

    if ch.x64:  # the chapter computes in float64 (its notebook enables it the same way)
        jax.config.update("jax_enable_x64", True)
    S = profiles.sizes(**ch.sizes, profile=profile)
    cuts = None
    if cut_short:
        S, cuts = profiles.cut_short(S, ch.cut_short)
    key = jax.random.key(ch.seed)
    env = results.environment()
    started, t_run = results.now(), time.perf_counter()
    out(f"featlearn reproduce {chapter} --profile {profile}{' --cut-short' if cut_short else ''}: "
        f"{', '.join(chosen)} on {env['device']}")
    outputs, meta = {}, {}
    with sweeps.chunking(chunk):
        for name in chosen:
            t0, at = time.perf_counter(), results.now()
            with sweeps.recording() as rec:
                outputs[name] = sections[name](S, key)
            results.encode(name, outputs[name])  # a section returning what the store cannot hold fails now
            wall = time.perf_counter() - t0
            cached = sum(r["source"] == "cache" for r in rec)
            meta[name] = {"started": at, "wall_s": round(wall, 3), **env, "sweeps": rec}
            out(f"  {name}: {wall:.1f} s ({len(rec)} sweeps, {cached} from the cache)")
    wall = time.perf_counter() - t_run
    sizes = {k: v for k, v in vars(S).items() if k != "profile"}
    manifest = {"chapter": chapter, "profile": profile, "sizes": sizes, **env, "started": started,
                "wall_s": round(wall, 3), "seed": ch.seed, "chunk": chunk, "sections_run": chosen,
                "command": " ".join(["featlearn", "reproduce", chapter, "--profile", profile]
                                    + (["--only", ",".join(chosen)] if only else [])
                                    + (["--device", device] if device else [])
                                    + (["--cut-short"] if cut_short else [])),
                "sections": meta}
    if cuts is not None:
        record = results.results_dir() / "cut-short" / f"{chapter}-{profile}.json"
        record.parent.mkdir(parents=True, exist_ok=True)
        manifest["cut_short"] = cuts
        record.write_text(json.dumps(results.plain_json({"chapter": chapter, **manifest}), indent=1) + "\n")
        out(f"  total: {wall:.1f} s; cut short: nothing stored; the run's record is {record}")
        return 0
    folder = results.write(chapter, profile, outputs, manifest, order=list(sections), merge=bool(only))
    out(f"  total: {wall:.1f} s; stored in {folder}")
    return 0


def _reproduce(args: argparse.Namespace) -> int:
    try:
        return reproduce(args.chapter, profile=args.profile, only=args.only, device=args.device, chunk=args.chunk,
                         cut_short=args.cut_short)
    except UsageError as err:
        print(f"featlearn reproduce: error: {err}", file=sys.stderr)
        return 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="featlearn", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("info", help="versions, devices, profile and folders").set_defaults(func=_info)
    c = sub.add_parser("cache", help="list or clear the sweep cache")
    c.add_argument("action", choices=["list", "clear"])
    c.set_defaults(func=_cache)
    sub.add_parser("figures", help="list the saved book figures").set_defaults(func=_figures)
    argv = sys.argv[1:] if argv is None else argv
    r = sub.add_parser(
        "reproduce", help="run a chapter's experiments headless and store the results",
        description="Run a chapter's experiments (its module's SECTIONS) without the notebook, at a profile's\n"
        "sizes, and store their results in results/<chapter>/<profile>/ ($FEATLEARN_RESULTS) with a\n"
        "manifest (sizes, versions, commit, device, wall times). The sweeps run in chunks cached as they\n"
        "finish ($FEATLEARN_CACHE), so a run killed half way resumes where it stopped. Progress goes to\n"
        "stderr in a terminal, or as plain lines with FEATLEARN_PROGRESS=lines.",
        epilog=chapters_help() if "reproduce" in argv and ("-h" in argv or "--help" in argv) else None,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    r.add_argument("chapter", metavar="CHAPTER", help="a chapter of the book, e.g. kernel-regime (listed below)")
    r.add_argument("--profile", metavar="NAME", default=None,
                   help="quick, paper or an intermediate profile the chapter defines (default: $FEATLEARN_PROFILE, "
                   "else quick)")
    r.add_argument("--only", metavar="SECTION", action="append", default=None,
                   help="run only this section (repeat, or separate with commas); the others stored stay")
    r.add_argument("--device", default=None, metavar="{cpu,gpu}",
                   help="compute on this device; gpu fails unless one is attached (default: JAX's choice)")
    r.add_argument("--chunk", default="auto", metavar="N",
                   help="configurations per program in every sweep: auto (at most 8 chunks per sweep), an integer, "
                   "or 0 for unchunked sweeps (default: auto)")
    r.add_argument("--cut-short", action="store_true",
                   help="a test run: the chapter's step and sample budgets shortened to its CUT_SHORT (dimensions, "
                   "widths, seeds and grids are the profile's); nothing is stored but a record in "
                   "results/cut-short/")
    r.set_defaults(func=_reproduce)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
