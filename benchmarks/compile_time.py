r"""Benchmark 4: compile time of the chapters' sweeps does not grow with the number of steps or seeds.

Every sweep is one ``jit(vmap(fn))`` program (:func:`featlearn.sweeps.lower`) whose training loop is a
``lax.scan``: the number of steps is a loop bound and the number of seeds a batch size, so neither should change
what XLA compiles. For each sweep the chapters run, this measures trace + lowering and XLA compilation at a base
size, at 10× the steps and at 8× the seeds. An unrolled Python loop would multiply the compile time by about the
same factor.
"""

from __future__ import annotations

import time

import jax

from featlearn import kernel_regime, kernels, profiles, sweeps, targets

from ._common import best_of, repeat_count, table, verdict, write_json
from .sweep_vs_loop import gd_run, onestep_run

MAX_GROWTH = 1.5

S = profiles.sizes(quick=dict(steps=(200, 2000), seeds=(3, 24)), paper=dict(steps=(1000, 10000), seeds=(8, 64)))


def _chapter_sweeps() -> dict:
    """The sweeps the book runs, at the chapters' quick sizes: ``name -> (fn, vary, fixed, steps_key)``."""
    lazy_t = targets.single_index(jax.random.key(1), 10, {1: 0.8, 2: 0.6})
    stair_t = targets.hermite_sum(jax.random.key(1), 16, {1: 1 / 3, 2: 1 / 3, 3: 1 / 3})
    X = targets.gaussian_inputs(jax.random.key(3), 40, 10)
    small = dict(d=16, n=256, m=128, n_val=256, m_star=2, n_test=1024)
    return {
        "kernel-regime: lazy training run": (kernel_regime.lazy_training_run, None,
                                             dict(target=lazy_t, d=10, m=1024, n=64, lr=1.0), "steps"),
        "kernel-regime: empirical vs closed-form NTK": (kernel_regime.ntk_error_run, None, dict(X=X, m=4096),
                                                         None),
        "kernel-regime: kernel ridge staircase": (kernels.kernel_ridge_error, None,
                                                  dict(target=stair_t, d=16, n=512, n_test=4000), None),
        "benchmark 1: full-batch GD, 8 learning rates": (gd_run, {"lr": [0.1 * 2**k for k in range(8)]}, small,
                                                         "steps"),
        "benchmark 1: one step + ridge, 8 step sizes": (onestep_run, {"eta": [0.5 * 2**k for k in range(8)]},
                                                        {**small, "steps": 1}, None),
    }


def _compile(fn, vary, fixed, seeds):
    t0 = time.perf_counter()
    low = sweeps.lower(fn, key=jax.random.key(0), seeds=seeds, vary=vary, fixed=fixed)
    t1 = time.perf_counter()
    low.compile()
    return {"trace_s": t1 - t0, "compile_s": time.perf_counter() - t1, "total_s": time.perf_counter() - t0}


def run() -> dict:
    rep = repeat_count(1)
    (s0, s1), (k0, k1) = S.steps, S.seeds
    rows, records = [], []
    for name, (fn, vary, fixed, steps_key) in _chapter_sweeps().items():
        base_fixed = {**fixed, steps_key: s0} if steps_key else fixed
        variants = {"base": (base_fixed, k0), "8x seeds": (base_fixed, k1)}
        if steps_key:
            variants["10x steps"] = ({**fixed, steps_key: s1}, k0)
        res = {v: best_of(lambda fn=fn, vary=vary, f=f, k=k: _compile(fn, vary, f, k), rep)[0]
               for v, (f, k) in variants.items()}
        growth = {v: res[v]["total_s"] / res["base"]["total_s"] for v in res if v != "base"}
        rec = {"sweep": name, "steps": (s0, s1) if steps_key else None, "seeds": (k0, k1), "times": res,
               "growth": growth}
        records.append(rec)
        rows.append([name, res["base"]["trace_s"], res["base"]["compile_s"], res["base"]["total_s"],
                     growth.get("10x steps"), growth["8x seeds"]])
    text = table(f"Benchmark 4: compile time of the chapters' sweeps (seconds; base: {s0} steps, {k0} seeds)",
                 ["sweep", "trace s", "XLA compile s", "total s", f"x at {s1} steps", f"x at {k1} seeds"], rows)
    worst = max(g for r in records for g in r["growth"].values())
    targets_ = {"compile_growth": {"target": f"<= {MAX_GROWTH}x at 10x steps and 8x seeds", "max_measured": worst,
                                   "status": verdict(worst <= MAX_GROWTH)}}
    print(f"target: {targets_['compile_growth']}", flush=True)
    write_json("compile_time", {"records": records, "targets": targets_, "table": text})
    return targets_


if __name__ == "__main__":
    run()
