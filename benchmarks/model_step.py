r"""Benchmark 5: a training step through the Flax NNX module is no slower than the same step on a plain dict.

The chapters train :class:`featlearn.models.TwoLayer` through its split view: :func:`featlearn.models.init_params`
is the module's state and :func:`featlearn.models.apply` merges a state back into the module and calls it. The
merge happens while tracing, so the jitted step should compile to the program of a hand-written forward pass on a
plain parameter dict (the path the library took before the module). This benchmark times one full-batch gradient
step of the square loss both ways, in the same run, at three sizes, and compares the compiled programs' text.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from featlearn import models

from ._common import best_of, repeat_count, table, verdict, write_json

#: The largest slowdown of the module's step against the plain one that still counts as "no slower" (timing noise
#: on a shared 2-core machine).
MAX_RATIO = 1.10
SIZES = ((256, 16, 128), (1024, 32, 256), (4096, 64, 1024))  # (n, d, m)
STEPS = 200


def _plain(params, x):
    """The forward pass as the library wrote it before the module: ``s relu(x W^T + b) a`` on a dict."""
    return params["scale"] * (jax.nn.relu(x @ params["W"].T + params["b"]) @ params["a"])


def _runner(forward):
    """``STEPS`` full-batch GD steps of the square loss as one jitted ``lax.scan``."""

    def loss(p, x, y):
        return 0.5 * jnp.mean((forward(p, x) - y) ** 2)

    def run(p, x, y):
        def step(q, _):
            g = jax.grad(loss)(q, x, y)
            return jax.tree.map(lambda v, gv: v - 0.1 * gv, q, g), None

        return jax.lax.scan(step, p, None, length=STEPS)[0]

    return jax.jit(run)


def _measure(n: int, d: int, m: int, repeat: int) -> dict:
    """Both steps at one size: ms per step (best of ``repeat``), whether the programs are the same, and the
    largest difference of the parameters after ``STEPS`` steps."""
    p = models.init_params(jax.random.key(0), d, m)
    scale = models.output_scale(m, "ntk")
    x = jax.random.normal(jax.random.key(1), (n, d))
    y = jnp.sin(x[:, 0])
    module = _runner(models.make_apply("relu", scale))
    plain = _runner(lambda q, z: _plain({**q, "scale": scale}, z))
    same = module.lower(p, x, y).as_text() == plain.lower(p, x, y).as_text()
    out_m, out_p = module(p, x, y), plain(p, x, y)  # compiles both before timing
    diff = max(float(jnp.max(jnp.abs(out_m[k] - out_p[k]))) for k in p)
    _, tm = best_of(lambda: module(p, x, y), repeat)
    _, tp = best_of(lambda: plain(p, x, y), repeat)
    return dict(n=n, d=d, m=m, module_ms_per_step=1e3 * tm["wall_s"] / STEPS,
                plain_ms_per_step=1e3 * tp["wall_s"] / STEPS, ratio=tm["wall_s"] / tp["wall_s"], same_program=same,
                max_abs_diff=diff)


def run() -> dict:
    repeat = repeat_count(5)
    records = [_measure(n, d, m, repeat) for n, d, m in SIZES]
    rows = [(f"n={r['n']} d={r['d']} m={r['m']}", r["module_ms_per_step"], r["plain_ms_per_step"],
             f"{r['ratio']:.2f}", "yes" if r["same_program"] else "no", f"{r['max_abs_diff']:.1e}") for r in records]
    table(f"5. A GD step through the NNX module vs on a plain dict (ms per step, best of {repeat}, {STEPS} steps)",
          ("shape", "module", "plain dict", "ratio", "same program", "largest |Δparam|"), rows)
    worst = max(r["ratio"] for r in records)
    write_json("model_step", dict(sizes=records, max_ratio=MAX_RATIO))
    return {f"module step no slower than the plain dict (ratio ≤ {MAX_RATIO})":
            f"worst ratio {worst:.2f}: {verdict(worst <= MAX_RATIO)}"}
