r"""Paired separations: how many more samples a kernel needs than a network on the same problem.

A claim "the network learns :math:`f^*` with fewer samples than a kernel" is a statement about two methods on one
problem, so it is measured as a pair (``shared/SEPARATIONS.md`` in the book's protocol): the same target, the same
data draws per seed (nested training sets: the first :math:`n` rows), the same validation and test rows, the same
rule for every knob (smallest validation error, the null predictor among the candidates), the same :math:`n` grid
and the same level.

For each seed, :math:`n^*` is where the test error first reaches the level, interpolated in :math:`\log n`
(:func:`n_star`). A run still above the level at the largest :math:`n` is *censored*: :math:`n^* > n_{\max}`, a
bound and never a number. The separation at dimension :math:`d` is the ratio

.. math::  R(d) = n^*_{\rm kernel}(d)\,/\,n^*_{\rm network}(d)

per seed; a kernel that never reaches the level gives the lower bound :math:`R > n_{\max}/n^*_{\rm network}`.
Across :math:`d`, the claim that the kernel's cost grows faster is that the slope of :math:`\log R` against
:math:`\log d` is above 0 (:func:`paired_separation`, :func:`ratio_grows`). Handed the kernel's numbers in the
network's place, the ratio is 1 in every seed and the claim fails.

Censoring is carried as a *kind* beside every value: :data:`EXACT` (a number), :data:`LOWER` (the true value is
at least this), :data:`UPPER` (at most this) and :data:`UNKNOWN` (no bound: e.g. the network itself never reached
the level).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from . import _checks, metrics

#: Kinds of a value under censoring: a number, a lower bound, an upper bound, nothing known.
EXACT, LOWER, UPPER, UNKNOWN = 0, 1, -1, 2
_KIND_WORDS = {EXACT: "", LOWER: "> ", UPPER: "< ", UNKNOWN: "? "}


def plateau(variances: Sequence[float], degree: int) -> float:
    r""":math:`P_\ell = \sum_{k>\ell}\mathrm{Var}_k f^*\,/\,\sum_k \mathrm{Var}_k f^*`: the smallest normalised
    error of any predictor of degree :math:`\le\ell` (``degree``), from the target's variance per Hermite degree
    ``variances`` ``(K,)`` (entry :math:`k` is degree :math:`k`)."""
    v = np.asarray(variances, float)
    if v.ndim != 1 or v.size == 0 or np.any(v < 0) or v.sum() <= 0:
        raise ValueError(f"variances must be a non-empty list of non-negative numbers with a positive sum, got {v}")
    degree = _checks.nonneg_int("degree", degree)
    return float(v[degree + 1:].sum() / v.sum())


def level(variances: Sequence[float], degree: int, fraction: float) -> float:
    r"""The level a separation is measured at: ``fraction`` of the plateau :math:`P_\ell` (:func:`plateau`) of
    degree ``degree``. Reaching it requires learning a share :math:`1-` ``fraction`` of the target above degree
    :math:`\ell`, which a kernel cannot learn cheaply; ``fraction`` in ``(0, 1)``."""
    _checks.real_in("fraction", fraction, 0.0, 1.0, low_open=True, high_open=True)
    p = plateau(variances, degree)
    if p <= 0:
        raise ValueError(f"the target has no variance above degree {degree}: no level below its plateau exists")
    return fraction * p


def n_star(ns: Sequence[float], errors: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    r"""Where each error curve first reaches ``level``: ``ns`` ``(K,)`` increasing, ``errors`` ``(..., K)`` →
    ``(values, kinds)``, both ``(...)``. A curve at or below the level at the smallest :math:`n` gives
    (:math:`n_{\min}`, :data:`UPPER`); one above it at every :math:`n` gives (:math:`n_{\max}`, :data:`LOWER`);
    otherwise the crossing, interpolated linearly in :math:`\log n` between the grid points around the first
    crossing (:func:`featlearn.metrics.crossing_point`), and :data:`EXACT`."""
    ns = np.asarray(ns, float)
    e = np.asarray(errors, float)
    if ns.ndim != 1 or ns.size < 2 or np.any(np.diff(ns) <= 0) or ns[0] <= 0:
        raise ValueError(f"ns must be an increasing grid of at least two positive sizes, got {ns}")
    if e.shape[-1:] != ns.shape:
        raise ValueError(f"errors must have last axis of length len(ns) = {ns.size}, got shape {e.shape}")
    if not np.all(np.isfinite(e)):
        raise ValueError("errors must be finite")
    _checks.real_in("level", level, 0.0, low_open=True)
    flat = e.reshape(-1, ns.size)
    values, kinds = np.empty(len(flat)), np.empty(len(flat), int)
    for i, row in enumerate(flat):
        if row[0] <= level:
            values[i], kinds[i] = ns[0], UPPER
        elif np.all(row > level):
            values[i], kinds[i] = ns[-1], LOWER
        else:
            values[i], kinds[i] = metrics.crossing_point(ns, -row, -level), EXACT
    return values.reshape(e.shape[:-1]), kinds.reshape(e.shape[:-1])


def ratio(kernel: tuple[np.ndarray, np.ndarray], network: tuple[np.ndarray, np.ndarray]
          ) -> tuple[np.ndarray, np.ndarray]:
    r""":math:`R = n^*_{\rm kernel}/n^*_{\rm network}` with its kind, from two :func:`n_star` results of the same
    shape. A lower bound on the kernel's :math:`n^*` over an exact (or upper-bounded) network's gives a lower bound
    on :math:`R`, and so does an exact kernel's over a network censored below; an upper bound over an exact (or
    lower-bounded) one gives an upper bound, and so does an exact kernel's over a network censored above; both
    censored in the same direction is :data:`UNKNOWN`."""
    (vk, kk), (vn, kn) = kernel, network
    vk, kk, vn, kn = (np.asarray(a) for a in (vk, kk, vn, kn))
    if not (vk.shape == kk.shape == vn.shape == kn.shape):
        raise ValueError(f"kernel and network n* must have the same shape, got {vk.shape} and {vn.shape}")
    r = vk / vn
    kind = np.full(r.shape, UNKNOWN)
    kind[(kk == EXACT) & (kn == EXACT)] = EXACT
    kind[(kk == LOWER) & np.isin(kn, (EXACT, UPPER))] = LOWER
    kind[(kk == EXACT) & (kn == UPPER)] = LOWER
    kind[(kk == UPPER) & np.isin(kn, (EXACT, LOWER))] = UPPER
    kind[(kk == EXACT) & (kn == LOWER)] = UPPER
    return r, kind


def median(values: np.ndarray, kinds: np.ndarray) -> tuple[float, int]:
    r"""The median of one group of bounded values ``(S,)`` and its kind. Replacing each bound by its value
    bounds the median in the same direction, so the median is exact when every value is, a lower bound when the
    values are exact or lower bounds, an upper bound likewise, and unknown when both kinds of bound (or an unknown
    value) occur — except that the median is still exact when fewer than half the values are bounded and all of
    those lie on the side of the median they are bounded away from."""
    v, k = np.asarray(values, float), np.asarray(kinds)
    med = float(np.median(v))
    if np.all(k == EXACT):
        return med, EXACT
    if np.any(k == UNKNOWN):
        return med, UNKNOWN
    lower, upper = (k == LOWER), (k == UPPER)
    # a bounded value beyond the median in its own direction cannot move it
    harmless = (lower & (v > med)) | (upper & (v < med))
    if np.all(harmless | (k == EXACT)):
        return med, EXACT
    if not np.any(upper):
        return med, LOWER
    if not np.any(lower):
        return med, UPPER
    return med, UNKNOWN


class Separation(NamedTuple):
    r"""A paired separation over dimensions (:func:`paired_separation`). Per dimension and seed ``(D, S)``:
    ``n_star_network``, ``n_star_kernel`` and their kinds ``network_kind``, ``kernel_kind``; ``ratio``,
    ``ratio_kind``. Per dimension ``(D,)``: ``median`` (of the ratio over seeds), ``median_kind``,
    ``median_low``, ``median_high`` (bootstrap interval over seeds). Across dimensions: ``slope`` of
    :math:`\log R` against :math:`\log d`, ``slope_low``, ``slope_high`` (bootstrap interval), ``slope_kind``
    (:data:`EXACT`; :data:`LOWER` when every bounded median is a lower bound at a :math:`d` above the mean
    :math:`\log d` or an upper bound below it, so that the true slope is at least the fitted one; otherwise
    :data:`UNKNOWN`); ``d`` ``(D,)``, ``level`` and ``ci``."""

    d: np.ndarray
    n_star_network: np.ndarray
    network_kind: np.ndarray
    n_star_kernel: np.ndarray
    kernel_kind: np.ndarray
    ratio: np.ndarray
    ratio_kind: np.ndarray
    median: np.ndarray
    median_kind: np.ndarray
    median_low: np.ndarray
    median_high: np.ndarray
    slope: float
    slope_low: float
    slope_high: float
    slope_kind: int
    level: float
    ci: float


def _slope_kind(lx: np.ndarray, kinds: np.ndarray) -> int:
    if np.all(kinds == EXACT):
        return EXACT
    if np.any(kinds == UNKNOWN):
        return UNKNOWN
    above = lx > lx.mean()
    below = lx < lx.mean()
    # raising a value at x above the mean of x raises a least-squares slope; lowering one below it raises it too
    ok = ((kinds == LOWER) & above) | ((kinds == UPPER) & below) | (kinds == EXACT)
    return LOWER if np.all(ok) else UNKNOWN


def paired_separation(d: Sequence[int], ns: Sequence[Sequence[float]], network_errors: Sequence[np.ndarray],
                      kernel_errors: Sequence[np.ndarray], level: float, *, ci: float = 0.95, n_boot: int = 2000,
                      seed: int = 0) -> Separation:
    r"""The paired separation of a network and a kernel method over dimensions ``d`` ``(D,)``: for each
    dimension its increasing grid ``ns[i]`` ``(K_i,)`` and the test errors of both methods on it,
    ``network_errors[i]`` and ``kernel_errors[i]`` ``(S, K_i)`` (seed ``s`` of both on the same data draw), each
    at the knob its validation error chose. Computes :math:`n^*` per seed (:func:`n_star`), the ratio per seed
    (:func:`ratio`), its median per dimension with a percentile-bootstrap interval at ``ci`` (seeds resampled
    within the dimension, the two methods' :math:`n^*` of a seed kept together), and the slope of the log median
    against :math:`\log d` with a bootstrap interval that resamples seeds within every dimension at once.
    Bounds enter as their values, with their kinds carried (:class:`Separation`)."""
    dv = np.asarray(d, float)
    D = dv.size
    if dv.ndim != 1 or D < 1 or np.any(dv <= 0):
        raise ValueError(f"d must be a non-empty list of positive dimensions, got {d}")
    if not (len(ns) == len(network_errors) == len(kernel_errors) == D):
        raise ValueError(f"ns, network_errors and kernel_errors must each have one entry per d ({D}), got "
                         f"{len(ns)}, {len(network_errors)} and {len(kernel_errors)}")
    _checks.real_in("ci", ci, 0.0, 1.0, low_open=True, high_open=True)
    n_boot = _checks.positive_int("n_boot", n_boot)
    shapes = {np.shape(e)[0] for e in (*network_errors, *kernel_errors)}
    if len(shapes) != 1:
        raise ValueError(f"every error array must have the same number of seeds, got {sorted(shapes)}")
    net = [n_star(g, e, level) for g, e in zip(ns, network_errors, strict=True)]
    ker = [n_star(g, e, level) for g, e in zip(ns, kernel_errors, strict=True)]
    nn, kn = np.stack([v for v, _ in net]), np.stack([k for _, k in net])
    nk, kk = np.stack([v for v, _ in ker]), np.stack([k for _, k in ker])
    r, rk = ratio((nk, kk), (nn, kn))
    med = [median(r[i], rk[i]) for i in range(D)]
    med_v, med_k = np.array([m for m, _ in med]), np.array([k for _, k in med])
    rng = np.random.default_rng(seed)
    S = r.shape[1]
    boot = np.median(np.take_along_axis(r[None], rng.integers(0, S, (n_boot, D, S)), axis=2), axis=2)  # (B, D)
    q = ((1 - ci) / 2, (1 + ci) / 2)
    lo, hi = np.quantile(boot, q, axis=0)
    lx = np.log(dv)
    if D >= 2 and np.unique(lx).size == D:
        slope = float(np.polyfit(lx, np.log(med_v), 1)[0])
        boots = np.polyfit(lx, np.log(boot).T, 1)[0]
        s_lo, s_hi = (float(v) for v in np.quantile(boots, q))
        s_kind = _slope_kind(lx, med_k)
    else:
        slope = s_lo = s_hi = math.nan
        s_kind = UNKNOWN
    return Separation(np.asarray(d), nn, kn, nk, kk, r, rk, med_v, med_k, lo, hi, slope, s_lo, s_hi, s_kind,
                      float(level), float(ci))


def ratio_grows(sep: Separation) -> bool:
    r"""The paired claim "the kernel's sample cost grows faster than the network's": the slope of
    :math:`\log R(d)` is measured (exact, or a lower bound on the true slope) and its interval lies above 0.
    Fails when the network and the kernel are the same method (:math:`R\equiv1`), when the network is the slower,
    and when a dimension's ratio is unknown."""
    return bool(sep.slope_kind in (EXACT, LOWER) and np.isfinite(sep.slope_low) and sep.slope_low > 0)


def fewer_samples(sep: Separation) -> bool:
    r"""The paired claim "the network reaches the level with fewer samples than the kernel" at every measured
    dimension: each median ratio is known (exact, or a lower bound because the kernel never reached the level) and
    the lower end of its bootstrap interval is above 1. Fails when the two methods are the same one
    (:math:`R\equiv1`), when the kernel is the faster, and when the network itself never reached the level."""
    known = np.isin(sep.median_kind, (EXACT, LOWER))
    return bool(np.all(known) and np.all(sep.median_low > 1.0))


def described(value: float, kind: int, fmt: str = ".2f") -> str:
    """``value`` as text with its kind: ``"2.31"``, ``"> 2.31"``, ``"< 2.31"`` or ``"? 2.31"``."""
    return f"{_KIND_WORDS[int(kind)]}{value:{fmt}}"


def as_dict(sep: Separation, prefix: str = "") -> dict[str, object]:
    """The fields of ``sep`` as a flat dict of arrays and scalars (for a section's output and the results store),
    each name prefixed with ``prefix``; :func:`from_dict` reads it back."""
    return {prefix + k: (np.asarray(v) if isinstance(v, np.ndarray) else v) for k, v in sep._asdict().items()}


def from_dict(out: dict, prefix: str = "") -> Separation:
    """The :class:`Separation` stored by :func:`as_dict` under ``prefix`` (a live or a stored section's output)."""
    missing = [k for k in Separation._fields if prefix + k not in out]
    if missing:
        raise KeyError(f"no paired separation under prefix {prefix!r}: missing {missing}")
    vals = {k: out[prefix + k] for k in Separation._fields}
    for k in ("slope", "slope_low", "slope_high", "level", "ci"):
        vals[k] = float(vals[k])
    vals["slope_kind"] = int(vals["slope_kind"])
    return Separation(**{k: (np.asarray(v) if k not in ("slope", "slope_low", "slope_high", "level", "ci",
                                                          "slope_kind") else v) for k, v in vals.items()})
