r"""Benchmark 1: one figure's sweep as featlearn runs it, against the same work one configuration at a time.

Two algorithms on a teacher-student task (a ReLU teacher with ``m_star`` orthonormal directions, Gaussian inputs,
a width-``m`` student with the symmetric initialisation :math:`f\equiv0`, NTK scaling):

* **full-batch GD** for ``steps`` steps (:func:`featlearn.train.fit`);
* **one step** in the manner of Damian et al.: one full-batch gradient of the first layer at the symmetric
  initialisation, :math:`W_1 = W_0 - \eta\nabla_W L(W_0)`, then ridge regression of the second layer on the
  features :math:`\sigma(W_1x+b)` with :math:`\lambda` chosen on a validation set (:func:`featlearn.ridge.ridge`).

Each runs over ``seeds`` × 8 step sizes (64 configurations) in three ways, each timed end to end (compilation
included, since a reader waits for it too):

* ``featlearn``: :func:`featlearn.sweeps.sweep` — one ``jit(vmap)`` program over all configurations;
* ``loop (jit step)``: a straightforward single-experiment script — a jitted gradient step (or, for the one-step
  algorithm, a jitted run) called in Python loops over steps and configurations;
* ``loop (jit run)``: the whole run jitted as one ``lax.scan``, called once per configuration;
* ``PyTorch``: the per-step script written in PyTorch on the CPU (skipped when torch is not installed).

The loops draw the same data from the same keys as the sweep, so their results are compared with it.
"""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from featlearn import metrics, models, profiles, ridge, sweeps, targets, train

from ._common import Timing, best_of, repeat_count, table, timed, verdict, write_json

TARGET_VS_LOOP = 10.0

S = profiles.sizes(
    quick=dict(seeds=8, n_lr=8, sizes=[dict(name="small", d=16, n=256, m=128, steps=400, n_val=256),
                                      dict(name="medium", d=32, n=1024, m=256, steps=100, n_val=512)],
               m_star=2, n_test=1024),
    paper=dict(seeds=16, n_lr=8, sizes=[dict(name="small", d=16, n=256, m=128, steps=2000, n_val=256),
                                       dict(name="medium", d=64, n=4096, m=1024, steps=1000, n_val=2048),
                                       dict(name="large", d=128, n=16384, m=2048, steps=1000, n_val=4096)],
               m_star=2, n_test=8192),
)
GD_LRS = np.geomspace(0.05, 2.0, S.n_lr)
# The one-step size is relative to sqrt(m): with the 1/sqrt(m) output scale a neuron's gradient is O(1/sqrt(m)).
ETA_REL = np.geomspace(0.3, 30.0, S.n_lr)


# ---- the task, written once with featlearn primitives -------------------------------------------------------
def _problem(key, d, n, m, m_star, n_val, n_test):
    kt, kx, kv, ke, kp = jax.random.split(key, 5)
    teacher = targets.teacher_network(kt, d, m_star)
    x, y = targets.sample(kx, teacher, n, d)
    xv, yv = targets.sample(kv, teacher, n_val, d)
    xt, yt = targets.sample(ke, teacher, n_test, d)
    p0 = models.init_params(kp, d, m)
    return (x, y, xv, yv, xt, yt), p0


def gd_run(key, lr, *, d, n, m, m_star, steps, n_val, n_test):
    """Full-batch GD on all layers; final training loss and normalised test error."""
    (x, y, _, _, xt, yt), p0 = _problem(key, d, n, m, m_star, n_val, n_test)
    apply_fn = models.make_apply("relu", models.output_scale(m, "ntk"))
    p, tr = train.fit(p0, train.supervised_loss(apply_fn, x, y), steps=steps, lr=lr)
    return {"train_loss": tr.loss[-1], "test_nmse": metrics.normalized_mse(apply_fn(p, xt), yt)}


def onestep_run(key, eta, *, d, n, m, m_star, steps, n_val, n_test):
    """One gradient step on the first layer at the symmetric init, then validated ridge on the second layer."""
    del steps
    (x, y, xv, yv, xt, yt), p0 = _problem(key, d, n, m, m_star, n_val, n_test)
    apply_fn = models.make_apply("relu", models.output_scale(m, "ntk"))
    g = models.first_layer_gradient(lambda p: train.loss_value(apply_fn(p, x), y), p0)
    p1 = models.first_layer_step(p0, g, eta * math.sqrt(m), weight_decay=0.0)  # keeps W0, as this benchmark always did
    fit = ridge.ridge(models.features(p1, x), y, models.features(p1, xv), yv)
    return {"test_nmse": metrics.normalized_mse(models.features(p1, xt) @ fit.coef, yt)}


# ---- the per-configuration script ---------------------------------------------------------------------------
def _jax_loop_step(keys, values, cfg):
    """A single-experiment GD script: jitted data set-up, a jitted step called in a Python loop over steps, a
    jitted evaluation; the whole of it called once per configuration."""
    d, n, m, steps = cfg["d"], cfg["n"], cfg["m"], cfg["steps"]
    s = 1.0 / math.sqrt(m)
    setup = jax.jit(lambda k: _problem(k, d, n, m, cfg["m_star"], cfg["n_val"], cfg["n_test"]))

    def f(p, x):
        return s * (jax.nn.relu(x @ p["W"].T + p["b"]) @ p["a"])

    def loss(p, x, y):
        return 0.5 * jnp.mean((f(p, x) - y) ** 2)

    @jax.jit
    def step(p, x, y, lr):
        g = jax.grad(loss)(p, x, y)
        return jax.tree_util.tree_map(lambda a, b: a - lr * b, p, g)

    @jax.jit
    def evaluate(p, x, y, xt, yt):
        return {"train_loss": loss(p, x, y), "test_nmse": jnp.mean((f(p, xt) - yt) ** 2) / jnp.var(yt)}

    out = []
    for k in keys:
        for v in values:
            (x, y, _, _, xt, yt), p = setup(k)
            for _ in range(steps):
                p = step(p, x, y, v)
            out.append(evaluate(p, x, y, xt, yt))
    return jax.tree_util.tree_map(lambda *a: np.stack(a), *jax.block_until_ready(out))


def _jax_loop_run(keys, values, algo, cfg):
    """The whole run jitted (a ``lax.scan``), called once per configuration."""
    fn = gd_run if algo == "gd" else onestep_run
    run = jax.jit(lambda k, v: fn(k, v, **cfg))
    out = [run(k, v) for k in keys for v in values]
    return jax.tree_util.tree_map(lambda *a: np.stack(a), *jax.block_until_ready(out))


def _torch_loop(seeds, values, algo, cfg):
    """The per-step script in PyTorch (CPU): the same model, loss, initialisation and ridge selection."""
    import torch

    d, n, m, steps, m_star = cfg["d"], cfg["n"], cfg["m"], cfg["steps"], cfg["m_star"]
    n_val, n_test = cfg["n_val"], cfg["n_test"]
    s = 1.0 / math.sqrt(m)
    lam_grid = torch.logspace(-6, 1, 15)
    results = []
    for seed in range(seeds):
        for v in values:
            gen = torch.Generator().manual_seed(seed)
            q, r = torch.linalg.qr(torch.randn(d, m_star, generator=gen))
            w_star = (q * torch.sign(torch.diagonal(r))).T
            a_star = torch.where(torch.arange(m_star) % 2 == 0, 1.0, -1.0)

            def data(k, gen=gen, w_star=w_star, a_star=a_star):
                x = torch.randn(k, d, generator=gen)
                return x, torch.relu(x @ w_star.T) @ a_star

            x, y = data(n)
            xv, yv = data(n_val)
            xt, yt = data(n_test)
            w = torch.randn(m // 2, d, generator=gen) / math.sqrt(d)
            b = torch.randn(m // 2, generator=gen)
            a = torch.where(torch.rand(m // 2, generator=gen) < 0.5, 1.0, -1.0)
            W = torch.cat([w, w]).requires_grad_()
            B = torch.cat([b, b]).requires_grad_()
            A = torch.cat([a, -a]).requires_grad_()

            def f(X, W=W, B=B, A=A):
                return s * (torch.relu(X @ W.T + B) @ A)

            if algo == "gd":
                opt = torch.optim.SGD([W, B, A], lr=float(v))
                for _ in range(steps):
                    opt.zero_grad()
                    loss = 0.5 * torch.mean((f(x) - y) ** 2)
                    loss.backward()
                    opt.step()
                with torch.no_grad():
                    results.append({"train_loss": 0.5 * torch.mean((f(x) - y) ** 2).item(),
                                    "test_nmse": (torch.mean((f(xt) - yt) ** 2) / torch.var(yt)).item()})
            else:
                loss = 0.5 * torch.mean((f(x) - y) ** 2)
                (g,) = torch.autograd.grad(loss, [W])
                with torch.no_grad():
                    W1 = W - float(v) * math.sqrt(m) * g
                    feats = [torch.relu(X @ W1.T + B) for X in (x, xv, xt)]
                    F = feats[0]
                    ev, V = torch.linalg.eigh(F.T @ F / n)
                    bb = V.T @ (F.T @ y) / n
                    lams = lam_grid * torch.clamp(ev, min=0).mean()
                    C = (bb[None, :] / (ev[None, :] + lams[:, None])) @ V.T
                    val = torch.mean((feats[1] @ C.T - yv[:, None]) ** 2, dim=0)
                    coef = C[torch.argmin(val)]
                    results.append({"test_nmse": (torch.mean((feats[2] @ coef - yt) ** 2) / torch.var(yt)).item()})
    return {k: np.asarray([r[k] for r in results]) for k in results[0]}


def _torch_available() -> bool:
    return importlib.util.find_spec("torch") is not None


def _torch_in_subprocess(seeds, values, algo, cfg) -> tuple[dict, dict]:
    """Time :func:`_torch_loop` in a fresh interpreter, so that JAX's idle threads do not slow PyTorch down."""
    job = json.dumps({"seeds": seeds, "values": [float(v) for v in values], "algo": algo, "cfg": cfg})
    proc = subprocess.run([sys.executable, "-m", "benchmarks.sweep_vs_loop", "--torch", job], capture_output=True,
                          text=True, cwd=Path(__file__).resolve().parents[1], check=False)
    if proc.returncode:
        raise RuntimeError(f"the PyTorch loop failed:\n{proc.stderr[-2000:]}")
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    return {k: np.asarray(v) for k, v in res["out"].items()}, Timing(res["timing"])


def _torch_main(job: str) -> None:
    import torch

    spec = json.loads(job)
    torch.manual_seed(0)
    out, t = timed(lambda: _torch_loop(spec["seeds"], spec["values"], spec["algo"], spec["cfg"]))
    print(json.dumps({"out": {k: v.tolist() for k, v in out.items()}, "timing": dict(t),
                      "threads": torch.get_num_threads()}))


def run() -> dict:
    seeds, key = S.seeds, jax.random.key(2022)
    keys = sweeps.seed_keys(key, seeds)
    rep = repeat_count(1)
    have_torch = _torch_available()
    if not have_torch:
        print("note: torch is not installed; the PyTorch column is skipped "
              "(pip install torch==2.13.0 to include it).", flush=True)
    rows, records = [], []
    for sz in S.sizes:
        cfg = {k: v for k, v in sz.items() if k != "name"} | {"m_star": S.m_star, "n_test": S.n_test}
        for algo, fn, values in (("gd", gd_run, GD_LRS), ("one-step", onestep_run, ETA_REL)):
            name = "lr" if algo == "gd" else "eta"
            configs = seeds * len(values)
            sw, t_sweep = best_of(lambda fn=fn, name=name, values=values, cfg=cfg: sweeps.sweep(
                fn, key=key, seeds=seeds, vary={name: list(values)}, fixed=cfg, cache=False), rep)
            if algo == "gd":
                lp, t_step = best_of(lambda cfg=cfg, values=values: _jax_loop_step(keys, values, cfg), rep)
            else:
                lp, t_step = None, None
            lr_, t_run = best_of(lambda algo=algo, cfg=cfg, values=values: _jax_loop_run(keys, values, algo, cfg),
                                 rep)
            t_torch, th = None, None
            if have_torch:
                th, t_torch = _torch_in_subprocess(seeds, values, algo, cfg)
            # The loops do the same work as the sweep: same keys, same data, same numbers (float32 rounding).
            ref = sw["test_nmse"].reshape(-1)
            agree = [float(np.max(np.abs(o["test_nmse"].reshape(-1) - ref) / (np.abs(ref) + 1e-3)))
                     for o in (lp, lr_) if o is not None]
            script = t_step if t_step is not None else t_run  # one-step: the script is the jitted run
            rec = {"size": sz["name"], "algorithm": algo, "configs": configs, **cfg,
                   "sweep": t_sweep, "loop_jit_step": t_step, "loop_jit_run": t_run, "torch": t_torch,
                   "script_kind": "jit step" if t_step is not None else "jit run",
                   "speedup_vs_script": script["wall_s"] / t_sweep["wall_s"],
                   "speedup_vs_jit_run": t_run["wall_s"] / t_sweep["wall_s"],
                   "speedup_vs_torch": None if t_torch is None else t_torch["wall_s"] / t_sweep["wall_s"],
                   "max_rel_diff_loop_vs_sweep": max(agree),
                   "test_nmse_mean": {"featlearn": float(ref.mean()),
                                      "torch": None if th is None else float(th["test_nmse"].mean())}}
            records.append(rec)
            rows.append([sz["name"], algo, configs, f"n={cfg['n']} d={cfg['d']} m={cfg['m']}",
                         t_sweep["wall_s"], t_sweep["cpu_s"], None if t_step is None else t_step["wall_s"],
                         t_run["wall_s"], None if t_torch is None else t_torch["wall_s"],
                         f"{rec['speedup_vs_script']:.1f}x", f"{rec['speedup_vs_jit_run']:.1f}x",
                         "-" if t_torch is None else f"{rec['speedup_vs_torch']:.1f}x",
                         rec["max_rel_diff_loop_vs_sweep"],
                         rec["test_nmse_mean"]["featlearn"], rec["test_nmse_mean"]["torch"]])
    text = table("Benchmark 1: sweep vs per-configuration loop (wall seconds, compilation included)",
                 ["size", "algorithm", "configs", "shape", "featlearn s", "featlearn cpu s", "loop jit-step s",
                  "loop jit-run s", "PyTorch s", "vs script", "vs jit-run", "vs PyTorch", "max rel diff",
                  "test nmse (fl)", "test nmse (torch)"], rows)
    min_script = min(r["speedup_vs_script"] for r in records)
    torch_ok = None if not have_torch else all(r["speedup_vs_torch"] > 1 for r in records)
    targets_ = {
        "vs_per_configuration_loop": {"target": f">= {TARGET_VS_LOOP:g}x", "min_measured": min_script,
                                      "status": verdict(min_script >= TARGET_VS_LOOP)},
        "vs_pytorch": {"target": "> 1x", "min_measured": None if not have_torch else
                       min(r["speedup_vs_torch"] for r in records),
                       "status": "skipped (torch not installed)" if torch_ok is None else verdict(torch_ok)},
    }
    print(f"target vs per-configuration script >= {TARGET_VS_LOOP:g}x: {targets_['vs_per_configuration_loop']}")
    print(f"target ahead of PyTorch: {targets_['vs_pytorch']}", flush=True)
    write_json("sweep_vs_loop", {"records": records, "targets": targets_, "table": text})
    return targets_


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--torch":
        _torch_main(sys.argv[2])
    else:
        run()
