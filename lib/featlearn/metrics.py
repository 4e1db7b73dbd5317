"""Metrics: errors, subspace and per-neuron alignment, principal angles, the nearest teacher, log-log fits."""

from __future__ import annotations

import math
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np
from jax import Array

from . import _checks


def normalized_mse(pred: Array, y: Array) -> Array:
    r"""Normalised test MSE :math:`\frac{\frac1n\sum(f(x_i)-y_i)^2}{\mathrm{Var}(y)}`; 1 is the null predictor."""
    _checks.shape("pred", pred, np.shape(y))
    return jnp.mean((pred - y) ** 2) / jnp.var(y)


def classification_error(pred: Array, y: Array) -> Array:
    """Fraction of ``sign(pred) != y`` for labels ``y`` in ``{±1}`` (a zero prediction counts as an error)."""
    _checks.shape("pred", pred, np.shape(y))
    return jnp.mean(jnp.sign(pred) != y)


def subspace_alignment(W: Array, U: Array) -> Array:
    r"""Per-neuron alignment :math:`A = \|WU^\top\|_F^2/\|W\|_F^2` with ``U`` ``(r, d)`` orthonormal rows and
    ``W`` ``(m, d)``: the fraction of the first layer's energy inside span(U). Random rows give about r/d."""
    _checks.shape("U", U, (None, W.shape[-1]))
    return jnp.sum((W @ U.T) ** 2) / jnp.sum(W * W)


def neuron_alignment(W: Array, U: Array, *, squared: bool = False) -> Array:
    r"""Per-neuron alignment with span(U) (``U`` ``(r, d)`` orthonormal rows, ``W`` ``(m, d)``) → ``(m,)``: the
    cosine of the angle between :math:`w_j` and the subspace, :math:`\|P_U w_j\|/\|w_j\|`, or with
    ``squared=True`` the fraction of each neuron's energy in it, :math:`\|P_U w_j\|^2/\|w_j\|^2` (random rows:
    about :math:`r/d`). Every neuron counts equally whatever its norm, unlike :func:`subspace_alignment`; a zero
    row (a neuron that never fires gets no gradient) counts as 0."""
    _checks.shape("U", U, (None, W.shape[-1]))
    if squared:
        num, den = jnp.sum((W @ U.T) ** 2, axis=1), jnp.sum(W * W, axis=1)
    else:
        num, den = jnp.linalg.norm(W @ U.T, axis=1), jnp.linalg.norm(W, axis=1)
    q = num / den  # a zero row gives 0/0 = nan, counted as 0
    return jnp.where(jnp.isnan(q), 0.0, q)


def _orthonormal_rows(A: Array) -> Array:
    q, _ = jnp.linalg.qr(A.T)
    return q.T


def principal_angles(A: Array, B: Array) -> Array:
    """Cosines of the principal angles between the row spaces of ``A`` ``(p, d)`` and ``B`` ``(q, d)``,
    descending, shape ``(min(p, q),)``."""
    _checks.shape("B", B, (None, A.shape[-1]))
    return jnp.linalg.svd(_orthonormal_rows(A) @ _orthonormal_rows(B).T, compute_uv=False)


def top_subspace(W: Array, r: int) -> Array:
    """Top-``r`` right singular vectors of ``W`` ``(m, d)`` as rows ``(r, d)``."""
    r = _checks.positive_int("r", r)
    _, _, vt = jnp.linalg.svd(W, full_matrices=False)
    return vt[:r]


def top_subspace_overlap(W: Array, U: Array) -> Array:
    r"""Overlap :math:`\|P_{\rm top}U^\top\|_F^2/r` between the top-r singular subspace of ``W`` and span(U)
    (``U`` ``(r, d)`` orthonormal): the mean squared cosine of the principal angles, 1 when they agree."""
    r = U.shape[0]
    return jnp.sum(principal_angles(top_subspace(W, r), U) ** 2) / r


def nearest_teacher(W: Array, W_star: Array, *, up_to_sign: bool = False) -> tuple[Array, Array]:
    r"""Angle (radians) from each student neuron, a row of ``W`` ``(m, d)``, to its nearest teacher direction,
    a row of ``W_star`` ``(k, d)``, and that teacher's index: shapes ``(m,)``, ``(m,)``. ``up_to_sign`` treats
    :math:`w` and :math:`-w` alike (an even σ such as :math:`|z|`): the angle to :math:`\pm w^*_i`, at most
    :math:`\pi/2`.

    The nearest teacher is the one of largest cosine; the angle between the unit vectors :math:`\bar w` and
    :math:`\bar s = \pm\bar w^*_i` is :math:`\theta = 2\operatorname{arctan2}(\|\bar w-\bar s\|,
    \|\bar w+\bar s\|)`, accurate to rounding at every angle, 0 included (``arccos`` of the cosine, or
    ``arctan2`` of :math:`\sqrt{1-c^2}`, loses half the digits near 0: about :math:`3\cdot10^{-4}` rad in
    float32)."""
    _checks.shape("W_star", W_star, (None, W.shape[-1]))
    Wn = W / jnp.linalg.norm(W, axis=1, keepdims=True)
    Sn = W_star / jnp.linalg.norm(W_star, axis=1, keepdims=True)
    cos = Wn @ Sn.T
    score = jnp.abs(cos) if up_to_sign else cos
    idx = jnp.argmax(score, axis=1)
    S = Sn[idx]  # (m, d): each neuron's nearest teacher
    if up_to_sign:
        S = S * jnp.where(jnp.sum(Wn * S, axis=1, keepdims=True) < 0, -1.0, 1.0)
    return 2.0 * jnp.arctan2(jnp.linalg.norm(Wn - S, axis=1), jnp.linalg.norm(Wn + S, axis=1)), idx


class LogLogFit(NamedTuple):
    """``y ≈ C x^slope``: the least-squares slope on log-log axes, its intercept (log C) and a bootstrap
    confidence interval ``(ci_low, ci_high)``."""

    slope: float
    intercept: float
    ci_low: float
    ci_high: float


def fit_loglog_median(x, y, *, seed: int = 0, n_boot: int = 2000, level: float = 0.95,
                      unknown: str = "raise") -> LogLogFit:
    """Fit ``log median(y) = slope·log x + c`` over the distinct ``x`` (``(K,)``), ``y`` ``(K, seeds)`` with
    ``nan`` or ``inf`` for a censored seed (its threshold beyond the grid: counted as larger than every finite one).
    The median is exact under such censoring while fewer than half the seeds of an ``x`` are censored; the
    percentile bootstrap resamples seeds within each ``x`` and drops a resample whose median is censored. When half
    or more of some ``x``'s seeds are censored the median is not known: ``unknown="raise"`` raises ``ValueError``,
    ``unknown="nan"`` returns a fit of ``nan`` (a check on it then fails)."""
    _checks.one_of("unknown", unknown, ("raise", "nan"))
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    if x.ndim != 1 or y.ndim != 2 or y.shape[0] != x.size:
        raise ValueError(f"x must be (K,) and y (K, seeds), got {x.shape} and {y.shape}")
    if np.unique(x).size != x.size or x.size < 2 or np.any(x <= 0):
        raise ValueError("x must hold at least two distinct positive values, each once")
    _checks.real_in("level", level, 0.0, 1.0, low_open=True, high_open=True)
    y = np.where(np.isfinite(y), y, np.inf)
    if np.any(np.isfinite(y) & (y <= 0)):
        raise ValueError("y must be positive (nan or inf for a censored seed)")
    if np.any(np.isinf(y).sum(1) * 2 >= y.shape[1]):
        if unknown == "nan":
            return LogLogFit(math.nan, math.nan, math.nan, math.nan)
        raise ValueError("half or more of the seeds are censored at some x: the median is not known")
    lx = np.log(x)
    slope, icpt = np.polyfit(lx, np.log(np.median(y, axis=1)), 1)
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(n_boot):
        med = np.median(np.take_along_axis(y, rng.integers(0, y.shape[1], y.shape), axis=1), axis=1)
        if np.all(np.isfinite(med)):
            boots.append(np.polyfit(lx, np.log(med), 1)[0])
    lo, hi = np.quantile(boots, [(1 - level) / 2, (1 + level) / 2])
    return LogLogFit(float(slope), float(icpt), float(lo), float(hi))


def fit_loglog(x, y, *, seed: int = 0, n_boot: int = 2000, level: float = 0.95, groups=None) -> LogLogFit:
    """Fit ``log y = slope·log x + c`` by least squares, with a percentile bootstrap CI.

    ``groups`` (optional, same length as ``x``) resamples whole groups (e.g. seeds) with replacement within
    each distinct ``x``, which keeps every ``x`` present; without it, pairs are resampled. Positive inputs only.
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"x and y must be 1-d of equal length, got {x.shape} and {y.shape}")
    if x.size < 2 or np.unique(x).size < 2:
        raise ValueError("x must hold at least two distinct values")
    if np.any(x <= 0) or np.any(y <= 0):
        raise ValueError("x and y must be positive for a log-log fit")
    _checks.real_in("level", level, 0.0, 1.0, low_open=True, high_open=True)
    lx, ly = np.log(x), np.log(y)
    slope, icpt = np.polyfit(lx, ly, 1)
    rng = np.random.default_rng(seed)
    boots = []
    ux = np.unique(x)
    for _ in range(n_boot):
        if groups is None:
            idx = rng.integers(0, x.size, x.size)
        else:
            idx = np.concatenate([rng.choice(np.flatnonzero(x == v), size=(x == v).sum()) for v in ux])
        if np.unique(lx[idx]).size < 2:
            continue
        boots.append(np.polyfit(lx[idx], ly[idx], 1)[0])
    lo, hi = np.quantile(boots, [(1 - level) / 2, (1 + level) / 2])
    return LogLogFit(float(slope), float(icpt), float(lo), float(hi))


def crossing_point(x, y, level: float) -> float:
    """The first ``x`` at which the increasing curve ``y(x)`` reaches ``level``, interpolated linearly in
    ``log x``; ``nan`` if it never does."""
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    above = np.flatnonzero(y >= level)
    if above.size == 0:
        return float("nan")
    i = above[0]
    if i == 0:
        return float(x[0])
    t = (level - y[i - 1]) / (y[i] - y[i - 1])
    return float(np.exp(np.log(x[i - 1]) + t * (np.log(x[i]) - np.log(x[i - 1]))))
