r"""Benchmark 2: how close the training step comes to the machine's matrix-product rate.

A full-batch GD step of the two-layer network on ``n`` inputs of dimension ``d`` with width ``m`` does two
matrix products of :math:`2ndm` floating-point operations each: the forward pre-activations :math:`XW^\top` and
the first layer's gradient :math:`G^\top X` (the rest is :math:`O(nm)`). At :math:`ndm\ge10^9` these dominate, so
the step's rate :math:`4ndm/t_{\rm step}` is compared with the rate of a large ``jnp.dot`` measured in the same
run. :math:`t_{\rm step}` is the marginal cost of a step inside :func:`featlearn.train.fit` (the difference
between runs of ``k_2`` and ``k_1`` steps, which removes compilation, set-up and evaluation).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from featlearn import models, profiles, rng, train

from ._common import best_of, matmul_rate, repeat_count, table, verdict, write_json

TARGET_FRACTION = 0.5

S = profiles.sizes(
    quick=dict(shapes=[(8192, 256, 512), (4096, 512, 512)], steps=(4, 16), matmul_n=4096),
    paper=dict(shapes=[(8192, 256, 512), (4096, 512, 512), (65536, 512, 1024)], steps=(10, 60), matmul_n=8192),
)


def _fit_program(n: int, d: int, m: int, steps: int, dtype=jnp.float32):
    x = rng.normal(jax.random.key(1), (n, d), dtype)
    y = jnp.sin(x[:, 0]) + x[:, 1] * x[:, 2]
    p0 = models.init_params(jax.random.key(2), d, m, dtype=dtype)
    apply_fn = models.make_apply("relu", models.output_scale(m, "ntk"))
    run = jax.jit(lambda p, x, y: train.fit(p, train.supervised_loss(apply_fn, x, y), steps=steps, lr=0.1)[0])
    compiled = run.lower(p0, x, y).compile()
    jax.block_until_ready(compiled(p0, x, y))
    return lambda: compiled(p0, x, y)


def run() -> dict:
    rep = repeat_count(3)
    gpu = jax.default_backend() == "gpu"
    peaks = {"float32": matmul_rate(S.matmul_n, jnp.float32, repeat=max(rep, 5))}
    if gpu:
        peaks["bfloat16"] = matmul_rate(S.matmul_n, jnp.bfloat16, repeat=max(rep, 5))
    k1, k2 = S.steps
    rows, records = [], []
    for n, d, m in S.shapes:
        _, t1 = best_of(_fit_program(n, d, m, k1), rep)
        _, t2 = best_of(_fit_program(n, d, m, k2), rep)
        step = max(t2["wall_s"] - t1["wall_s"], 1e-9) / (k2 - k1)
        rate = 4 * n * d * m / step
        rec = {"n": n, "d": d, "m": m, "ndm": n * d * m, "step_s": step, "flops_per_step": 4 * n * d * m,
               "flops_per_s": rate, "cpu_s_per_step": (t2["cpu_s"] - t1["cpu_s"]) / (k2 - k1),
               "fraction": {k: rate / v["flops_per_s"] for k, v in peaks.items()}}
        records.append(rec)
        rows.append([f"{n}x{d}x{m}", f"{n * d * m:.2e}", step * 1e3, rate / 1e9,
                     peaks["float32"]["flops_per_s"] / 1e9, rec["fraction"]["float32"],
                     rec["fraction"].get("bfloat16")])
    text = table("Benchmark 2: training step against the machine's matrix-product rate",
                 ["n x d x m", "ndm", "step ms", "step GFLOP/s", "f32 matmul GFLOP/s", "fraction (f32)",
                  "fraction (bf16)"], rows)
    worst = min(r["fraction"]["float32"] for r in records)
    targets_ = {"fraction_of_matmul_rate": {"target": f">= {TARGET_FRACTION}", "min_measured": worst,
                                            "status": verdict(worst >= TARGET_FRACTION)}}
    print(f"matmul rate ({S.matmul_n}^2, float32): {peaks['float32']['flops_per_s'] / 1e9:.1f} GFLOP/s; "
          f"target: {targets_['fraction_of_matmul_rate']}", flush=True)
    write_json("machine_limit", {"matmul": peaks, "records": records, "targets": targets_, "table": text})
    return targets_


if __name__ == "__main__":
    run()
