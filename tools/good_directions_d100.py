"""The good-directions experiment at the authors' size, d = 100 (the chapter's "The authors' figure at d = 100").

Runs :func:`featlearn.good_directions.regularized_run` at ``good_directions.AUTHORS_SIZE`` (d = 100, n = 1000,
m = 10^4, their 2·10^4 steps of GD on the MSE at rate 1, i.e. ½MSE at rate 2, k = d top directions, one seed) for
each λ asked for (in this library's units: ``authors_lambda`` converts the figure's), one λ at a time, each saved as
it finishes (a rerun skips the λ already done), then stores them all in ``results/good-directions/authors-size/d100/``
with a manifest. About 25 minutes per λ on 2 CPU cores.

    python tools/good_directions_d100.py run --work DIR --lams 10,0,1,100
    python tools/good_directions_d100.py store --work DIR
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


def _file(work: Path, lam: float) -> Path:
    return work / f"lam_{lam:g}.npz"


def run(work: Path, lams: list[float]) -> None:
    work.mkdir(parents=True, exist_ok=True)
    A = gd.AUTHORS_SIZE
    sizes = {k: v for k, v in A.items() if k != "seed"}
    for lam in lams:
        if _file(work, lam).exists():
            print(f"λ = {lam:g}: done before, skipped")
            continue
        started, t0 = results.now(), time.perf_counter()
        curves = gd.regularized_run(jax.random.key(A["seed"]), lam, **sizes)
        curves = jax.tree_util.tree_map(np.asarray, curves)
        wall = time.perf_counter() - t0
        np.savez(_file(work, lam), **curves._asdict(), wall=wall, started=started, lam=lam,
                 env=json.dumps(results.environment()))
        print(f"λ = {lam:g}: test MSE {2 * float(curves.test_loss[-1]):.4f}, {wall:.0f} s", flush=True)


def store(work: Path, command: str | None = None) -> Path:
    files = sorted(work.glob("lam_*.npz"), key=lambda p: float(np.load(p)["lam"]))
    if not files:
        raise SystemExit(f"nothing to store in {work}")
    runs = [dict(np.load(p)) for p in files]
    out = gd.authors_size_output([float(r["lam"]) for r in runs],
                                 [gd.Curves(*(r[f] for f in gd.Curves._fields)) for r in runs])
    envs = [json.loads(str(r["env"])) for r in runs]
    commits = {e["git_commit"] for e in envs}
    if len(commits) != 1 or any(e.get("git_dirty") for e in envs):
        raise SystemExit(f"the runs come from different or modified sources: {commits}")
    walls = [float(r["wall"]) for r in runs]
    started = min(str(r["started"]) for r in runs)
    command = command or "python tools/good_directions_d100.py run --lams " + ",".join(
        f"{float(r['lam']):g}" for r in runs)
    manifest = {"sizes": gd.AUTHORS_SIZE, **envs[0], "started": started, "wall_s": round(sum(walls), 1),
                "seed": gd.AUTHORS_SIZE["seed"], "command": command,
                "sections": {"authors_size": {"started": started, "wall_s": round(sum(walls), 1),
                                              "lams": [float(r["lam"]) for r in runs], "wall_s_per_lam": walls,
                                              **envs[0]}}}
    folder = results.write("authors-size", "d100", {"authors_size": out}, manifest,
                           root=results.results_dir() / "good-directions")
    print(f"stored in {folder}")
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["run", "store"])
    parser.add_argument("--work", type=Path, required=True, help="folder for the per-λ runs")
    parser.add_argument("--lams", default="10,0,1,100", help="λ in this library's units, comma separated")
    parser.add_argument("--command", default=None, help="store: the command that made the runs, for the manifest")
    args = parser.parse_args()
    if args.action == "run":
        run(args.work, [float(v) for v in args.lams.split(",")])
    else:
        store(args.work, args.command)


if __name__ == "__main__":
    main()
