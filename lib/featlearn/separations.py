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
    r"""A paired separation over dimensions (:func:`paired_separation`, :func:`from_n_star`). Per dimension and
    seed ``(D, S)``: ``n_star_network``, ``n_star_kernel`` and their kinds ``network_kind``, ``kernel_kind``;
    ``ratio``, ``ratio_kind``. Per dimension ``(D,)``: ``median`` (of the ratio over seeds, bounds counted at their
    values), ``median_kind``, ``median_low``, ``median_high`` (percentile-bootstrap interval over seeds).

    Across dimensions: ``slope`` of :math:`\log` median against :math:`\log d` with its bootstrap interval
    ``slope_low``, ``slope_high``; and ``slope_bound``, a lower bound on the slope that every censored ratio
    allows: each median is replaced by the end of its range (:func:`median_range`) that lowers a least-squares
    slope — the lower end at a :math:`d` above the mean :math:`\log d`, the upper end below it — with
    ``slope_bound_low``, the lower end of the same statistic's bootstrap interval (``-inf`` where a range is
    unbounded, e.g. half or more of a dimension's ratios censored from below at a small :math:`d`).
    ``slope_kind``: :data:`EXACT` when nothing is censored (then ``slope_bound`` is ``slope``), :data:`LOWER`
    when the bound is finite, :data:`UNKNOWN` otherwise. ``d`` ``(D,)``, ``level``, ``ci``."""

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
    slope_bound: float
    slope_bound_low: float
    slope_kind: int
    level: float
    ci: float


def median_range(values: np.ndarray, kinds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""The range the true median of bounded values must lie in: ``values``, ``kinds`` ``(..., S)`` →
    ``(low, high)`` ``(...)``. The low end puts every lower bound at its value and every upper bound (and unknown
    value) at 0; the high end puts every lower bound (and unknown value) at :math:`+\infty` and every upper bound at
    its value. Both are finite while fewer than half the values are bounded the other way."""
    v, k = np.asarray(values, float), np.asarray(kinds)
    lo = np.where(np.isin(k, (UPPER, UNKNOWN)), 0.0, v)
    hi = np.where(np.isin(k, (LOWER, UNKNOWN)), np.inf, v)
    return np.median(lo, axis=-1), np.median(hi, axis=-1)


def _slopes(lx: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least-squares slopes of the columns' ``y`` ``(D, B)`` against ``lx`` ``(D,)``; ``nan`` where a ``y`` is
    not finite."""
    xc = lx - lx.mean()
    with np.errstate(invalid="ignore"):
        out = (xc[:, None] * y).sum(0) / (xc * xc).sum()
    return np.where(np.all(np.isfinite(y), axis=0), out, np.nan)


def _bound_logs(lx: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Log medians at the end of their ranges that lowers the slope: ``lo``, ``hi`` ``(D, B)``."""
    above = (lx > lx.mean())[:, None]
    with np.errstate(divide="ignore"):
        return np.where(above, np.log(lo), np.log(hi))


def from_n_star(d: Sequence[int], network: tuple[np.ndarray, np.ndarray], kernel: tuple[np.ndarray, np.ndarray],
                level: float, *, ci: float = 0.95, n_boot: int = 2000, seed: int = 0) -> Separation:
    r"""The separation from the :math:`n^*` of both methods per dimension and seed, each a ``(values, kinds)``
    pair ``(D, S)`` (:func:`n_star`; seed ``s`` of both on the same draw): the ratio per seed (:func:`ratio`),
    its median per dimension with a percentile-bootstrap interval at ``ci`` (seeds resampled within the
    dimension, a seed's two :math:`n^*` kept together), and the slope of the log median against :math:`\log d`
    with its interval and its censoring-proof lower bound (:class:`Separation`); the bootstrap resamples seeds
    within every dimension at once."""
    dv = np.asarray(d, float)
    nn, kn = (np.asarray(a) for a in network)
    nk, kk = (np.asarray(a) for a in kernel)
    D = dv.size
    if dv.ndim != 1 or D < 1 or np.any(dv <= 0):
        raise ValueError(f"d must be a non-empty list of positive dimensions, got {d}")
    if nn.ndim != 2 or nn.shape[0] != D:
        raise ValueError(f"n* must have shape (D, seeds) with D = {D}, got {nn.shape}")
    _checks.real_in("ci", ci, 0.0, 1.0, low_open=True, high_open=True)
    n_boot = _checks.positive_int("n_boot", n_boot)
    r, rk = ratio((nk, kk), (nn, kn))
    med = [median(r[i], rk[i]) for i in range(D)]
    med_v, med_k = np.array([m for m, _ in med]), np.array([k for _, k in med])
    S = r.shape[1]
    idx = np.random.default_rng(seed).integers(0, S, (n_boot, D, S))
    rb, kb = np.take_along_axis(r[None], idx, axis=2), np.take_along_axis(rk[None], idx, axis=2)  # (B, D, S)
    boot = np.median(rb, axis=2)  # (B, D)
    q = ((1 - ci) / 2, (1 + ci) / 2)
    lo, hi = np.quantile(boot, q, axis=0)
    lx = np.log(dv)
    if D >= 2 and np.unique(lx).size == D:
        slope = float(_slopes(lx, np.log(med_v)[:, None])[0])
        boots = _slopes(lx, np.log(boot).T)
        s_lo, s_hi = (float(v) for v in np.quantile(boots, q))
        m_lo, m_hi = median_range(r, rk)
        bound = float(_slopes(lx, _bound_logs(lx, m_lo[:, None], m_hi[:, None]))[0])
        b_lo, b_hi = median_range(rb, kb)  # (B, D)
        bounds = _slopes(lx, _bound_logs(lx, b_lo.T, b_hi.T))
        bound_low = float(np.quantile(np.where(np.isfinite(bounds), bounds, -1e300), q[0]))  # unbounded: -1e300
        bound_low = bound_low if bound_low > -1e299 else -math.inf
        if np.all(rk == EXACT):
            kind = EXACT
        else:
            kind = LOWER if np.isfinite(bound) else UNKNOWN
        bound = bound if np.isfinite(bound) else -math.inf
    else:
        slope = s_lo = s_hi = bound = bound_low = math.nan
        kind = UNKNOWN
    return Separation(np.asarray(d), nn, kn, nk, kk, r, rk, med_v, med_k, lo, hi, slope, s_lo, s_hi, bound,
                      bound_low, kind, float(level), float(ci))


def paired_separation(d: Sequence[int], ns: Sequence[Sequence[float]], network_errors: Sequence[np.ndarray],
                      kernel_errors: Sequence[np.ndarray], level: float, *, ci: float = 0.95, n_boot: int = 2000,
                      seed: int = 0) -> Separation:
    r"""The paired separation of a network and a kernel method over dimensions ``d`` ``(D,)``: for each
    dimension its increasing grid ``ns[i]`` ``(K_i,)`` and the test errors of both methods on it,
    ``network_errors[i]`` and ``kernel_errors[i]`` ``(S, K_i)`` (seed ``s`` of both on the same data draw), each
    at the knob its validation error chose. Computes :math:`n^*` per seed (:func:`n_star`), then the ratio, its
    medians and its growth (:func:`from_n_star`)."""
    D = np.size(d)
    if not (len(ns) == len(network_errors) == len(kernel_errors) == D):
        raise ValueError(f"ns, network_errors and kernel_errors must each have one entry per d ({D}), got "
                         f"{len(ns)}, {len(network_errors)} and {len(kernel_errors)}")
    shapes = {np.shape(e)[0] for e in (*network_errors, *kernel_errors)}
    if len(shapes) != 1:
        raise ValueError(f"every error array must have the same number of seeds, got {sorted(shapes)}")
    net = [n_star(g, e, level) for g, e in zip(ns, network_errors, strict=True)]
    ker = [n_star(g, e, level) for g, e in zip(ns, kernel_errors, strict=True)]
    stack = [np.stack([p[j] for p in net]) for j in (0, 1)], [np.stack([p[j] for p in ker]) for j in (0, 1)]
    return from_n_star(d, tuple(stack[0]), tuple(stack[1]), level, ci=ci, n_boot=n_boot, seed=seed)


def ratio_grows(sep: Separation) -> bool:
    r"""The paired claim "the kernel's sample cost grows faster than the network's": the slope of
    :math:`\log R(d)` is measured (exact, or bounded below despite censoring) and the lower end of the bootstrap
    interval of its lower bound (``slope_bound_low``; the slope's own when nothing is censored) lies above 0.
    Fails when the network and the kernel are the same method (:math:`R\equiv1`), when the network is the slower,
    and when a dimension's ratio is unknown."""
    return bool(sep.slope_kind in (EXACT, LOWER) and np.isfinite(sep.slope_bound_low) and sep.slope_bound_low > 0)


def fewer_samples(sep: Separation) -> bool:
    r"""The paired claim "the network reaches the level with fewer samples than the kernel" at every measured
    dimension: each median ratio is known (exact, or a lower bound because the kernel never reached the level) and
    the lower end of its bootstrap interval is above 1. Fails when the two methods are the same one
    (:math:`R\equiv1`), when the kernel is the faster, and when the network itself never reached the level."""
    known = np.isin(sep.median_kind, (EXACT, LOWER))
    return bool(np.all(known) and np.all(sep.median_low > 1.0))


def glue(sep: Separation) -> dict[str, object]:
    r"""The values a chapter's prose shows of a separation, by glue name (without the chapter's prefix):
    ``nstar-all`` and ``kernel-nstar-all`` (median :math:`n^*` per :math:`d`, ">" for a median beyond the grid),
    ``ratio-all`` (the median ratio per :math:`d` with its interval, "at least" for a lower bound),
    ``ratio-slope``, ``ratio-slope-lo``, ``ratio-slope-hi``, ``ratio-slope-bound``, ``ratio-slope-bound-lo``,
    ``ratio-slope-kind`` (a sentence on censoring), ``ratio-grows`` and ``fewer-samples`` ("yes"/"no"), and the
    counts ``kernel-censored``, ``network-censored``, ``runs``."""
    from .figures import listed

    word = {EXACT: "", LOWER: "at least ", UPPER: "at most ", UNKNOWN: "unknown: "}

    def medians(values, kinds):
        return listed([described(float(np.median(values[i])), median(values[i], kinds[i])[1], ".0f")
                       for i in range(len(values))])

    kind = {EXACT: "no run censored",
            LOWER: (f"with every censored run at its least favourable value the slope is at least "
                    f"{sep.slope_bound:.2f}, and the lower end of that bound's interval is "
                    + (f"{sep.slope_bound_low:.2f}" if np.isfinite(sep.slope_bound_low) else
                       "unbounded, because in some resamples of the seeds half or more of a dimension's ratios "
                       "are censored")),
            UNKNOWN: "censoring leaves the slope without a lower bound"}[int(sep.slope_kind)]
    return {"nstar-all": medians(sep.n_star_network, sep.network_kind),
            "kernel-nstar-all": medians(sep.n_star_kernel, sep.kernel_kind),
            "ratio-all": listed([f"{word[int(k)]}{m:.2f} [{lo:.2f}, {hi:.2f}]" for m, k, lo, hi in
                                 zip(sep.median, sep.median_kind, sep.median_low, sep.median_high, strict=True)]),
            "ratio-slope": sep.slope, "ratio-slope-lo": sep.slope_low, "ratio-slope-hi": sep.slope_high,
            "ratio-slope-bound": sep.slope_bound, "ratio-slope-bound-lo": sep.slope_bound_low,
            "ratio-slope-kind": kind, "ratio-grows": "yes" if ratio_grows(sep) else "no",
            "fewer-samples": "yes" if fewer_samples(sep) else "no",
            "kernel-censored": int((sep.kernel_kind == LOWER).sum()),
            "network-censored": int((sep.network_kind == LOWER).sum()), "runs": int(sep.ratio.size)}


def described(value: float, kind: int, fmt: str = ".2f") -> str:
    """``value`` as text with its kind: ``"2.31"``, ``"> 2.31"``, ``"< 2.31"`` or ``"? 2.31"``."""
    return f"{_KIND_WORDS[int(kind)]}{value:{fmt}}"


def as_dict(sep: Separation, prefix: str = "") -> dict[str, object]:
    """The fields of ``sep`` as a flat dict of arrays and scalars (for a section's output and the results store),
    each name prefixed with ``prefix``; :func:`from_dict` reads it back."""
    return {prefix + k: (np.asarray(v) if isinstance(v, np.ndarray) else v) for k, v in sep._asdict().items()}


def from_dict(out: dict, prefix: str = "") -> Separation:
    """The :class:`Separation` stored by :func:`as_dict` under ``prefix`` (a live or a stored section's output),
    recomputed from its per-seed :math:`n^*` and kinds (:func:`from_n_star`), so that a store made before a change
    to the summaries reads with the summaries of this library."""
    need = ("d", "n_star_network", "network_kind", "n_star_kernel", "kernel_kind", "level", "ci")
    missing = [k for k in need if prefix + k not in out]
    if missing:
        raise KeyError(f"no paired separation under prefix {prefix!r}: missing {missing}")
    return from_n_star(np.asarray(out[prefix + "d"]),
                       (np.asarray(out[prefix + "n_star_network"]), np.asarray(out[prefix + "network_kind"])),
                       (np.asarray(out[prefix + "n_star_kernel"]), np.asarray(out[prefix + "kernel_kind"])),
                       float(out[prefix + "level"]), ci=float(out[prefix + "ci"]))
