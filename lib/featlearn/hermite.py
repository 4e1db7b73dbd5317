r"""Hermite polynomials orthonormal under the standard Gaussian.

``hermite(k, z)`` is :math:`h_k(z) = \mathrm{He}_k(z)/\sqrt{k!}`, with :math:`\mathrm{He}_k` the probabilists'
Hermite polynomial, so that :math:`\mathbb E_{z\sim N(0,1)}[h_j(z)h_k(z)] = \delta_{jk}`.
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
from jax import Array

from . import _checks


def hermite_he(k: int, z: Array) -> Array:
    r"""Probabilists' Hermite polynomial :math:`\mathrm{He}_k(z)` by the three-term recurrence
    :math:`\mathrm{He}_{k+1} = z\,\mathrm{He}_k - k\,\mathrm{He}_{k-1}`. Shape of ``z`` is kept."""
    k = _checks.nonneg_int("k", k)
    z = jnp.asarray(z)
    prev, cur = jnp.ones_like(z), z
    if k == 0:
        return prev
    for j in range(1, k):
        prev, cur = cur, z * cur - j * prev
    return cur


def hermite(k: int, z: Array) -> Array:
    r"""Unit-variance Hermite polynomial :math:`h_k(z) = \mathrm{He}_k(z)/\sqrt{k!}`."""
    k = _checks.nonneg_int("k", k)
    return hermite_he(k, z) / math.sqrt(math.factorial(k))


def relu_hermite_coefficients(kmax: int, bias: float = 0.0) -> np.ndarray:
    r"""Coefficients :math:`c_k = \mathbb E[\max(z+b,0)\,h_k(z)]`, :math:`k=0..k_{\max}`, in float64.

    Closed form: :math:`c_0 = b\Phi(b)+\varphi(b)`, :math:`c_1 = \Phi(b)`, and for :math:`k\ge 2`
    :math:`c_k = \mathrm{He}_{k-2}(-b)\,\varphi(b)/\sqrt{k!}` (from Gaussian integration by parts).
    With ``bias=0`` the odd coefficients of order ``>= 3`` vanish: the reason a bias-free ReLU kernel cannot
    learn odd degrees ``>= 3``.
    """
    kmax = _checks.nonneg_int("kmax", kmax)
    from scipy.stats import norm

    b = float(bias)
    out = np.zeros(kmax + 1)
    out[0] = b * norm.cdf(b) + norm.pdf(b)
    if kmax >= 1:
        out[1] = norm.cdf(b)
    for k in range(2, kmax + 1):
        he = np.polynomial.hermite_e.hermeval(-b, [0] * (k - 2) + [1])
        out[k] = he * norm.pdf(b) / math.sqrt(math.factorial(k))
    return out


def monomial_count(d: int, k: int) -> int:
    r""":math:`N_k(d) = \binom{d+k-1}{k}`, the number of monomials of degree exactly ``k`` in ``d`` variables: the
    dimension of the degree-``k`` Hermite block, which a rotation-invariant kernel must fill to learn degree ``k``
    (:math:`\asymp d^k/k!`, but with a local slope in :math:`\log d` well below ``k`` at small ``d``)."""
    return math.comb(_checks.positive_int("d", d) + _checks.nonneg_int("k", k) - 1, k)


def count_slope(d_values, k: int) -> float:
    r"""The local slope of :math:`\log N_k(d)` against :math:`\log d` over ``d_values`` (a least-squares line
    through the points): the exponent a rotation-invariant kernel's :math:`n^*\propto N_k(d)` shows over that range
    of ``d`` (it tends to ``k`` as ``d`` grows). ``d_values``: at least two distinct positive integers."""
    dv = np.asarray(d_values)
    if dv.ndim != 1 or np.unique(dv).size < 2:
        raise ValueError(f"d_values must hold at least two distinct dimensions, got {d_values}")
    counts = np.array([monomial_count(int(v), k) for v in dv], float)
    return float(np.polyfit(np.log(dv.astype(float)), np.log(counts), 1)[0])
