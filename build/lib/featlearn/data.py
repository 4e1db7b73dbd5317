"""Classification data from the case studies: sparse parity and Gaussian mixtures."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import Array

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
