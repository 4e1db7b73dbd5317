"""The good-directions experiment at the authors' size, d = 100 (the chapter's "The authors' figure at d = 100").

Runs :func:`featlearn.good_directions.regularized_run` at ``good_directions.AUTHORS_SIZE`` (d = 100, n = 1000,
m = 10^4, their 2·10^4 steps of GD on the MSE at rate 1, i.e. ½MSE at rate 2, k = d top directions) for each seed
and λ asked for (λ in this library's units: ``authors_lambda`` converts the figure's), one run at a time, each
saved in the work folder as it finishes (a rerun skips the runs already done), then stores them all in
``results/good-directions/authors-size/d100/`` with a manifest. Every seed must have been run at every λ, all at
one clean commit. ``unstore`` writes the stored runs back into a work folder, so that more seeds or λ can be
added to them. About 25 minutes per run on 2 idle CPU cores.

    python tools/good_directions_d100.py run --work DIR --lams 10,0 --seeds 100,101,102
    python tools/good_directions_d100.py store --work DIR
    python tools/good_directions_d100.py unstore --work DIR
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import jax
import numpy as np

from featlearn import good_directions as gd
from featlearn import results
from featlearn.chapters import good_directions as gd_chapter

SIZES = {k: v for k, v in gd_chapter.AUTHORS_SIZE.items() if k != "seed"}


def _file(work: Path, seed: int, lam: float) -> Path:
    return work / f"seed{seed}_lam_{lam:g}.npz"


def run(work: Path, lams: list[float], seeds: list[int]) -> None:
    work.mkdir(parents=True, exist_ok=True)
    for seed in seeds:
        for lam in lams:
            if _file(work, seed, lam).exists():
                print(f"seed {seed}, λ = {lam:g}: done before, skipped")
                continue
            started, t0 = results.now(), time.perf_counter()
            curves = gd.regularized_run(jax.random.key(seed), lam, **SIZES)
            curves = jax.tree_util.tree_map(np.asarray, curves)
            wall = time.perf_counter() - t0
            np.savez(_file(work, seed, lam), **curves._asdict(), wall=wall, started=started, lam=lam, seed=seed,
                     env=json.dumps(results.environment()))
            print(f"seed {seed}, λ = {lam:g}: test MSE {2 * float(curves.test_loss[-1]):.4f}, {wall:.0f} s",
                  flush=True)


def unstore(work: Path) -> None:
    stored = gd_chapter.load_authors_size()
    if stored is None:
        raise SystemExit("nothing is stored at results/good-directions/authors-size/d100/")
    out, man = stored["authors_size"], stored.manifest
    sec = man["sections"]["authors_size"]
    seeds = out.get("seeds", [man["seed"]])
    walls = sec.get("wall_s_per_run", sec.get("wall_s_per_lam"))
    env = {k: sec[k] for k in json.loads(json.dumps(results.environment())) if k in sec}
    work.mkdir(parents=True, exist_ok=True)
    for i, seed in enumerate(seeds):
        for j, lam in enumerate(out["lams"]):
            f = _file(work, int(seed), float(lam))
            if f.exists():
                raise SystemExit(f"{f} exists; unstore into an empty folder")
            curves = {name: out[key][i, j] for name, key in zip(gd.Curves._fields, ("step", "train", "val", "test",
                                                                                    "r1"), strict=True)}
            np.savez(f, **curves, wall=walls[i * len(out["lams"]) + j], started=sec["started"], lam=float(lam),
                     seed=int(seed), env=json.dumps(env))
    print(f"{len(seeds) * len(out['lams'])} stored runs written to {work}")


def store(work: Path, command: str | None = None) -> Path:
    files = sorted(work.glob("seed*_lam_*.npz"), key=lambda p: (int(np.load(p)["seed"]), float(np.load(p)["lam"])))
    if not files:
        raise SystemExit(f"nothing to store in {work}")
    runs = [dict(np.load(p)) for p in files]
    out = gd_chapter.authors_size_output([float(r["lam"]) for r in runs],
                                 [gd.Curves(*(r[f] for f in gd.Curves._fields)) for r in runs],
                                 [int(r["seed"]) for r in runs])
    envs = [json.loads(str(r["env"])) for r in runs]
    commits = {e["git_commit"] for e in envs}
    if len(commits) != 1 or any(e.get("git_dirty") for e in envs):
        raise SystemExit(f"the runs come from different or modified sources: {commits}")
    walls = [float(r["wall"]) for r in runs]
    started = min(str(r["started"]) for r in runs)
    command = command or "python tools/good_directions_d100.py run --lams " + ",".join(
        f"{v:g}" for v in out["lams"]) + " --seeds " + ",".join(str(v) for v in out["seeds"])
    manifest = {"sizes": SIZES, **envs[0], "started": started, "wall_s": round(sum(walls), 1),
                "seed": [int(v) for v in out["seeds"]], "command": command,
                "sections": {"authors_size": {"started": started, "wall_s": round(sum(walls), 1),
                                              "runs": [[int(r["seed"]), float(r["lam"])] for r in runs],
                                              "wall_s_per_run": walls, **envs[0]}}}
    folder = results.write("authors-size", "d100", {"authors_size": out}, manifest,
                           root=results.results_dir() / "good-directions")
    print(f"stored in {folder}")
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["run", "store", "unstore"])
    parser.add_argument("--work", type=Path, required=True, help="folder for the runs, one file per seed and λ")
    parser.add_argument("--lams", default="10,0", help="λ in this library's units, comma separated")
    parser.add_argument("--seeds", default=str(gd_chapter.AUTHORS_SIZE["seed"]), help="seeds, comma separated")
    parser.add_argument("--command", default=None, help="store: the command that made the runs, for the manifest")
    args = parser.parse_args()
    if args.action == "run":
        run(args.work, [float(v) for v in args.lams.split(",")], [int(v) for v in args.seeds.split(",")])
    elif args.action == "unstore":
        unstore(args.work)
    else:
        store(args.work, args.command)


if __name__ == "__main__":
    main()
