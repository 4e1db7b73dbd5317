r"""Data: the case studies' classification data (sparse parity, Gaussian mixtures), the first :math:`n` of
:math:`n_{\max}` samples as per-sample weights, and ghost data sets streamed in batches.

**The first n samples** (:func:`first_n_weights`). Drawing :math:`n_{\max}` samples once and weighting the first
:math:`n` by 1 and the rest by 0 makes :math:`n` a traced value: a grid of sample sizes is one compiled program,
and the training sets are nested.

**Ghost data sets** (:func:`ghost_rows`, :func:`stream`). Every row of a data set ``(key, ·)`` is a function of
the key and its index alone (:func:`featlearn.rng.counter_normals`), so a data set of any size is defined by
``(key, n)`` and can be streamed in batches (``lax.fori_loop``; no ``(n, d)`` array is ever resident) or
materialised, with the same rows either way. ``n`` may be traced, so several sample sizes run as prefixes of one
stream in one compiled program.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax import Array, lax

from . import _checks, rng


def sparse_parity(key: Array, n: int, d: int, k: int, *, structured_fraction: float = 0.5,
                  dtype=jnp.float32) -> tuple[Array, Array, Array, Array]:
    r"""Sparse parity :math:`y = \prod_{j\in A} x_j`, :math:`|A| = k`, on :math:`x\in\{\pm1\}^d`, with the
    Daniely–Malach mixture: with probability ``structured_fraction`` the coordinates in ``A`` share one random
    sign, otherwise ``x`` is uniform. ``A`` is the first ``k`` coordinates (the problem is invariant under
    permutations, so no generality is lost).

    Returns ``x`` ``(n, d)``, ``y`` ``(n,)`` in ``{±1}``, ``uniform`` ``(n,)`` bool (the uniform half) and the
    unit vector ``1_A/√k`` ``(d,)``.
    """
    n = _checks.positive_int("n", n)
    d = _checks.positive_int("d", d)
    k = _checks.positive_int("k", k)
    if k > d:
        raise ValueError(f"k must be at most d = {d}, got {k}")
    _checks.real_in("structured_fraction", structured_fraction, 0.0, 1.0)
    k1, k2, k3 = jax.random.split(key, 3)
    x = rng.rademacher(k1, (n, d), dtype=dtype)
    s = rng.rademacher(k2, (n, 1), dtype=dtype)
    uniform = rng.uniform(k3, (n,)) >= structured_fraction
    inA = jnp.arange(d) < k
    x = jnp.where(inA[None, :] & ~uniform[:, None], s, x)
    y = jnp.prod(jnp.where(inA[None, :], x, 1.0), axis=1)
    direction = inA.astype(dtype) / jnp.sqrt(jnp.asarray(k, dtype))
    return x, y, uniform, direction


def xor_mixture(key: Array, n: int, d: int, *, mu_norm: float = 3.0, noise_std: float = 1.0,
                dtype=jnp.float32) -> tuple[Array, Array, Array]:
    r"""The XOR-like mixture of four Gaussians: :math:`x = s\mu_c + \xi`, :math:`\xi\sim N(0,\sigma^2 I_d)`,
    with classes ``c ∈ {1, 2}`` equally likely and a random sign ``s``; label ``+1`` for ``±μ₁`` and ``-1`` for
    ``±μ₂``. ``μ₁ = ‖μ‖e₁``, ``μ₂ = ‖μ‖e₂`` (orthogonal).

    Returns ``x`` ``(n, d)``, ``y`` ``(n,)`` and the means ``(2, d)``.
    """
    n = _checks.positive_int("n", n)
    d = _checks.positive_int("d", d, minimum=2)
    _checks.real_in("mu_norm", mu_norm, 0.0, low_open=True)
    _checks.real_in("noise_std", noise_std, 0.0)
    k1, k2, k3 = jax.random.split(key, 3)
    mus = mu_norm * jnp.eye(2, d, dtype=dtype)
    cls = rng.bernoulli(k1, 0.5, (n,))
    sign = rng.rademacher(k2, (n, 1), dtype=dtype)
    mean = jnp.where(cls[:, None], mus[1], mus[0]) * sign
    x = mean + noise_std * rng.normal(k3, (n, d), dtype)
    y = jnp.where(cls, -1.0, 1.0).astype(dtype)
    return x, y, mus


# ----------------------------------------------------------------------------------- the first n samples
def first_n_weights(n: int | Array, size: int, *, start: int | Array = 0, rescale: bool = False,
                    dtype=jnp.float32) -> Array:
    r"""Per-sample weights ``(size,)`` that keep the first ``n`` rows of a data set, for its rows ``start`` ..
    ``start + size - 1`` (by default the first ``size``): :math:`w_i = \mathbb 1[\text{start} + i < n]`.

    A weighted mean :math:`\sum_i w_i\ell_i/\sum_i w_i` over all ``size`` rows is then the mean over the first
    ``n``. ``rescale=True`` gives :math:`w_i = (\text{size}/n)\,\mathbb 1[i < n]` instead, for which the plain
    mean :math:`\frac1{\text{size}}\sum_i w_i\ell_i` is that mean. ``n`` and ``start`` may be traced (a sweep
    axis; a batch of a stream); a concrete ``n`` with ``start = 0`` must lie in ``[1, size]``."""
    size = _checks.positive_int("size", size)
    concrete = not (_checks.is_tracer(n) or _checks.is_tracer(start))
    if concrete and int(start) == 0 and not 1 <= int(n) <= size:
        raise ValueError(f"n must lie in [1, size = {size}], got {n}")
    keep = start + jnp.arange(size) < n
    if rescale:
        return jnp.where(keep, size / jnp.asarray(n, dtype), 0.0).astype(dtype)
    return keep.astype(dtype)


# ------------------------------------------------------------------------------------- ghost data sets
def ghost_rows(key: Array, start: Array | int, size: int, d: int, target: Callable[[Array], Array],
               noise_std: float = 0.0) -> tuple[Array, Array]:
    r"""Rows ``start .. start+size-1`` of the ghost data set ``(key, ·)``: Gaussian inputs
    :math:`x\sim N(0, I_d)` ``(size, d)`` and labels :math:`y = f^*(x) + \text{noise\_std}\cdot\xi`,
    :math:`\xi\sim N(0,1)` ``(size,)``. Row ``i`` is a function of ``(key, i)`` alone
    (:func:`featlearn.rng.counter_normals`, ``d + 1`` columns: ``x`` then ``ξ``), so the same rows come out
    whatever the batching. ``start`` may be traced; ``size`` and ``d`` are static."""
    z = rng.counter_normals(key, start + jnp.arange(size), d + 1)
    x = z[:, :d]
    return x, target(x) + noise_std * z[:, d]


def stream(body: Callable[[Any, Array, Array, Array], Any], init: Any, key: Array, n: Array | int, *, batch: int,
           d: int, target: Callable[[Array], Array], noise_std: float = 0.0) -> Any:
    r"""Fold ``acc = body(acc, x, y, mask)`` over the first ``n`` rows of the ghost data set ``(key, ·)``
    (:func:`ghost_rows`), in batches of ``batch`` rows from ``init``: memory :math:`O(\text{batch}\cdot d)`
    whatever ``n``. ``mask`` ``(batch,)`` is 1 on rows ``< n`` and 0 on the padding of the last batch
    (:func:`first_n_weights`); ``body`` must weight each row by it. ``n`` may be traced (the number of batches
    is then a traced loop bound); a concrete ``n`` smaller than ``batch`` is read in one batch of ``n`` rows."""
    if isinstance(n, int):
        batch = min(batch, n)
    nb = (n + batch - 1) // batch

    def step(i, acc):
        x, y = ghost_rows(key, i * batch, batch, d, target, noise_std)
        return body(acc, x, y, first_n_weights(n, batch, start=i * batch, dtype=x.dtype))

    return lax.fori_loop(0, nb, step, init)
