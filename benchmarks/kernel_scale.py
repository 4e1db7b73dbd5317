r"""Benchmark 3: closed-form NTK ridge regression at scale — time and peak memory against ``n``.

Three ways to solve :math:`(K + n\lambda I)\alpha = y` with :math:`K` the closed-form two-layer ReLU NTK
(:func:`featlearn.kernels.ntk_relu`) on ``n`` Gaussian inputs:

* ``dense eigh``: the library's path (:func:`featlearn.ridge.kernel_ridge`): :math:`K` formed whole, one
  eigendecomposition serving every :math:`\lambda` with leave-one-out selection, about :math:`9n^3` flops;
* ``dense Cholesky``: :math:`K` formed whole, one Cholesky solve for one :math:`\lambda`, :math:`n^3/3` flops;
* ``blocked CG``: :math:`K` never formed: conjugate gradients, each product :math:`Kv` computed row block by
  row block from the closed form (``block`` rows at a time), so memory is :math:`O(n\cdot\mathrm{block})`;
  time :math:`O(T n^2 d)` for :math:`T` iterations.

Times are measured up to ``n_time``; peak memory comes from XLA's buffer assignment of the compiled program
(``compiled.memory_analysis()``: arguments + outputs + temporaries), which needs only compilation, so it is read
for every ``n`` up to ``n_mem`` and gives the largest ``n`` each solver fits in ``memory_gib``. The times are
fitted with power laws (:math:`an^3`, :math:`b\,T n^2`) to locate where the iterative solver overtakes the dense
ones.
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.linalg import cho_factor, cho_solve

from featlearn import kernels, profiles, ridge, targets

from ._common import best_of, repeat_count, table, write_json

S = profiles.sizes(
    quick=dict(d=32, n_time=[1024, 2048, 4096, 8192], n_eigh_max=4096, n_mem=[2**k for k in range(10, 18)],
               block=1024, memory_gib=24, lam=1e-2, tol=1e-4, maxiter=500),
    paper=dict(d=32, n_time=[1024, 2048, 4096, 8192, 16384, 32768], n_eigh_max=16384,
               n_mem=[2**k for k in range(10, 20)], block=2048, memory_gib=24, lam=1e-2, tol=1e-4, maxiter=500),
)
GIB = 2**30


def _data(n: int, d: int):
    tgt = targets.hermite_sum(jax.random.key(0), d, {1: 0.5, 2: 0.5})
    return targets.sample(jax.random.key(1), tgt, n, d)


def dense_eigh(X, y):
    fit = ridge.kernel_ridge(kernels.ntk_relu(X, X), y)  # λ by leave-one-out
    return fit.coef


def dense_cholesky(X, y, lam):
    r"""Solve :math:`(K + n\lambda\bar k I)\alpha = y` by Cholesky (:math:`\bar k` the mean of K's diagonal)."""
    n = X.shape[0]
    K = kernels.ntk_relu(X, X)
    c = cho_factor(K + n * lam * jnp.mean(jnp.diagonal(K)) * jnp.eye(n, dtype=K.dtype))
    return cho_solve(c, y)


def blocked_cg(X, y, lam, *, block: int, tol: float, maxiter: int):
    r"""Conjugate gradients on :math:`(K + n\lambda\bar k I)\alpha = y` (:math:`\bar k` the mean of
    :math:`K`'s diagonal), :math:`Kv` computed in row blocks; returns ``(alpha, iterations, relative residual)``."""
    n, d = X.shape
    b = min(block, n)
    Xb = X.reshape(n // b, b, d)
    kbar = jnp.mean(jax.vmap(lambda x: kernels.ntk_relu(x[None], x[None])[0, 0])(X))  # O(n): K's mean diagonal
    shift = n * lam * kbar

    def matvec(v):
        return jax.lax.map(lambda xb: kernels.ntk_relu(xb, X) @ v, Xb).reshape(n) + shift * v

    def cond(s):
        _, r, _, rr, k = s
        return (k < maxiter) & (jnp.sqrt(rr) > tol * jnp.linalg.norm(y))

    def body(s):
        a, r, p, rr, k = s
        q = matvec(p)
        alpha = rr / (p @ q)
        a, r = a + alpha * p, r - alpha * q
        rr_new = r @ r
        return a, r, r + (rr_new / rr) * p, rr_new, k + 1

    a0 = jnp.zeros_like(y)
    a, r, _, rr, k = jax.lax.while_loop(cond, body, (a0, y, y, y @ y, 0))
    return a, k, jnp.linalg.norm(y - matvec(a)) / jnp.linalg.norm(y)


def _solvers():
    return {
        "dense eigh": lambda X, y: dense_eigh(X, y),
        "dense Cholesky": lambda X, y: dense_cholesky(X, y, S.lam),
        "blocked CG": lambda X, y: blocked_cg(X, y, S.lam, block=S.block, tol=S.tol, maxiter=S.maxiter),
    }


def _peak_bytes(compiled) -> int | None:
    ma = compiled.memory_analysis()
    if ma is None:
        return None
    return int(ma.argument_size_in_bytes + ma.output_size_in_bytes + ma.temp_size_in_bytes
               - getattr(ma, "alias_size_in_bytes", 0))


def run() -> dict:
    rep = repeat_count(1)
    d = S.d
    time_rows, mem = [], {}
    records = []
    for name, fn in _solvers().items():
        jf = jax.jit(fn)
        mem[name] = {}
        for n in S.n_mem:
            spec = (jax.ShapeDtypeStruct((n, d), jnp.float32), jax.ShapeDtypeStruct((n,), jnp.float32))
            mem[name][n] = _peak_bytes(jf.lower(*spec).compile())
        for n in S.n_time:
            if name == "dense eigh" and n > S.n_eigh_max:
                continue
            X, y = _data(n, d)
            t0 = time.perf_counter()
            compiled = jf.lower(X, y).compile()
            t_compile = time.perf_counter() - t0
            out, t = best_of(lambda compiled=compiled, X=X, y=y: compiled(X, y), rep)
            iters = resid = None
            if name == "blocked CG":
                iters, resid = int(out[1]), float(out[2])
            rec = {"solver": name, "n": n, "seconds": t["wall_s"], "cpu_s": t["cpu_s"], "compile_s": t_compile,
                   "peak_bytes": mem[name].get(n) or _peak_bytes(compiled), "cg_iterations": iters,
                   "cg_relative_residual": resid}
            records.append(rec)
            time_rows.append([name, n, t["wall_s"], t["cpu_s"], rec["peak_bytes"] / GIB, iters, resid])
    text = table(f"Benchmark 3a: NTK ridge regression, measured (d = {d})",
                 ["solver", "n", "seconds", "cpu s", "peak GiB (XLA)", "CG iterations", "CG residual"], time_rows)

    # Largest n within the memory budget, from the compiled programs' buffer sizes (c * n^2 fits, then solved).
    budget = S.memory_gib * GIB
    fits, mem_rows = {}, []
    for name, by_n in mem.items():
        ns = np.array(sorted(by_n))
        b = np.array([by_n[n] for n in ns], float)
        p = np.polyfit(np.log(ns[-3:]), np.log(b[-3:]), 1)  # local power law at the largest sizes
        n_max = float(np.exp((np.log(budget) - p[1]) / p[0]))
        fits[name] = {"memory_exponent": float(p[0]), "n_max_in_budget": n_max,
                      "bytes": {int(n): int(v) for n, v in zip(ns, b, strict=True)}}
        mem_rows.append([name, float(p[0]), b[-1] / GIB, int(ns[-1]), int(n_max)])
    text += table(f"Benchmark 3b: peak memory of the compiled solver (XLA buffer sizes), budget {S.memory_gib} GiB",
                  ["solver", "memory exponent", "GiB at largest n", "largest n compiled",
                   f"n_max in {S.memory_gib} GiB"],
                  mem_rows)

    # Time models: dense ~ a n^3 (largest measured n), CG ~ b T n^2 per solve with T iterations.
    model = {}
    for name in _solvers():
        rs = [r for r in records if r["solver"] == name]
        if not rs:
            continue
        big = max(rs, key=lambda r: r["n"])
        if name == "blocked CG":
            per = big["seconds"] / (big["cg_iterations"] * big["n"] ** 2)
            model[name] = {"seconds_per_iteration_per_n2": per, "iterations": big["cg_iterations"]}
        else:
            model[name] = {"seconds_per_n3": big["seconds"] / big["n"] ** 3}
    cross = {}
    if "blocked CG" in model:
        cg = model["blocked CG"]
        for name in ("dense Cholesky", "dense eigh"):
            if name in model:
                # a n^3 = b T n^2  =>  n* = b T / a
                cross[name] = cg["seconds_per_iteration_per_n2"] * cg["iterations"] / model[name]["seconds_per_n3"]
    rows = []
    for name, n_star in cross.items():
        rows.append([name, int(n_star), int(fits[name]["n_max_in_budget"]),
                     int(min(n_star, fits[name]["n_max_in_budget"]))])
    text += table("Benchmark 3c: where blocked CG takes over (time model fitted at the largest measured n)",
                  ["dense solver", "CG faster beyond n", f"dense fits {S.memory_gib} GiB up to n",
                   "CG takes over at n"], rows)
    write_json("kernel_scale", {"records": records, "memory": fits, "time_model": model, "crossover_n": cross,
                                "budget_gib": S.memory_gib, "table": text})
    return {"crossover": {"target": "report", "status": "reported",
                          "cg_takes_over_at_n": {k: int(min(v, fits[k]["n_max_in_budget"]))
                                                 for k, v in cross.items()}}}


if __name__ == "__main__":
    run()
