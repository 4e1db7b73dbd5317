r"""The chapter ``book/kernel-regime.ipynb`` (the kernel regime): what it runs, at which sizes, what it checks and how
it draws it. The mathematics it runs is one floor down, in :mod:`featlearn.kernel_regime` (lazy training, the NTK's
relative error and the degree fractions of kernel ridge).

Its contract is the chapters' (:mod:`featlearn.chapters`).

Sections: lazy training (:func:`lazy_training`), the closed-form NTK (:func:`ntk_closed_form`), the staircase
(:func:`staircase`) and the degree fractions (:func:`degree_fractions`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import numpy as np
from jax import Array

from .. import _checks, figures, kernels, metrics, sweeps, targets
from ..hermite import monomial_count
from ..kernel_regime import component_fractions_run, lazy_training_run, ntk_error_run
from ..profiles import Sizes
from ..progress import progress
from ..scorecard import Claim

#: The kernel-regime chapter's sizes, for :func:`featlearn.profiles.sizes` (``fl.profiles.sizes(**SIZES)``).
SIZES = dict(
    # toy: the smallest sizes that run every section, in seconds; what the tests run (not a result)
    toy=dict(d_lazy=4, n_lazy=8, widths=[8, 32], steps=3, seeds=2, ntk_widths=[16, 64], ntk_points=5,
             bias_stds=[0.5, 1.0], stair_d=[3, 4], stair_n_max=16, n_test=20),
    quick=dict(d_lazy=10, n_lazy=64, widths=[64, 256, 1024, 4096], steps=200, seeds=3,
               ntk_widths=[256, 1024, 4096, 16384, 65536], ntk_points=40, bias_stds=[0.5, 1.0, 2.0],
               stair_d=[8, 16, 32], stair_n_max=2048, n_test=4000),
    # cpu_large: between the two, sized to this session's CPU budget for a stored run (12 minutes measured on 2 shared
    # cores; the issue allows up to 2 hours): more seeds, wider networks, the staircase to d = 64 and n = 6000
    # (kernel ridge's n x n eigendecomposition is the cost: about a minute per seed at n = 5793).
    cpu_large=dict(d_lazy=16, n_lazy=96, widths=[64, 256, 1024, 4096, 16384], steps=300, seeds=5,
                   ntk_widths=[256, 1024, 4096, 16384, 65536, 131072], ntk_points=60, bias_stds=[0.5, 1.0, 2.0],
                   stair_d=[8, 16, 32, 64], stair_n_max=6000, n_test=8000),
    paper=dict(d_lazy=20, n_lazy=256, widths=[64, 256, 1024, 4096, 16384, 65536], steps=1000, seeds=8,
               ntk_widths=[256, 1024, 4096, 16384, 65536, 262144], ntk_points=100, bias_stds=[0.5, 1.0, 2.0],
               stair_d=[8, 16, 32, 64], stair_n_max=32768, n_test=50000),
)


#: ``featlearn reproduce --cut-short``: the step and sample budgets of a test run of a large profile on a CPU (see
#: :func:`featlearn.profiles.cut_short`); the widths, dimensions and seeds stay the profile's.
CUT_SHORT = dict(steps=("steps", 5), n_lazy=("samples", 32), ntk_points=("samples", 8),
                 stair_n_max=("samples", 512), n_test=("samples", 1000))


#: The chapter's seed: every section gets ``jax.random.key(SEED)`` (the notebook's ``key``; ``featlearn reproduce``).
SEED = 2022


# --- the chapter's claims measured both live and on the stored results, each stated once (fl.scorecard.Claim)
LAZY = "thm-kernel-regime-lazy"
STAIR = "thm-kernel-regime-staircase"
#: The first layer's relative movement shrinks like :math:`m^{-1/2}`.
LAZY_MOVEMENT_EXPONENT = Claim("lazy-movement-exponent", LAZY, threshold="between −0.65 and −0.35 (theory: −1/2)",
                               measured="exponent in m of the first layer's relative movement",
                               holds=lambda slope: -0.65 <= slope <= -0.35)
#: The gap to the linearised model shrinks at least like :math:`m^{-1/2}` (upper end of its exponent's interval).
LAZY_GAP_EXPONENT = Claim(
    "lazy-gap-exponent", LAZY, threshold="< −0.35 (at least as fast as m^−1/2)", holds=lambda high: high < -0.35,
    measured="upper end of the 95% interval of the exponent in m of the gap to the linearised model")
#: ... while every width fits the data.
LAZY_FITS_THE_DATA = Claim(
    "lazy-fits-the-data", LAZY, measured="largest final training loss over widths and seeds",
    threshold="< 0.005 (1% of the zero predictor's loss: a run that has not fitted fails it)",
    holds=lambda loss: loss < 0.005)
#: The closed form is the large-width limit of the empirical NTK, at bias scale ``sb`` (``sid``: its id form).
NTK_CLOSED_FORM = Claim(
    "ntk-closed-form-sb-{sid}", "prop-kernel-regime-closed-form", threshold="≤ 0.02", holds=lambda e: e <= 0.02,
    measured="relative error of the empirical NTK against the closed form at m = {m}, s_b = {sb:g}")
#: ... and the relative error decays like :math:`m^{-1/2}` (a wrong formula levels off).
NTK_ERROR_RATE = Claim(
    "ntk-error-rate-sb-{sid}", "prop-kernel-regime-closed-form", measured="exponent in m of that relative error, "
    "s_b = {sb:g}", threshold="−1/2 inside its 95% interval, or within 0.1 of −1/2",
    holds=lambda slope, low, high: low <= -0.5 <= high or abs(slope + 0.5) < 0.1)
#: Each degree is learned once n is a few times :math:`N_\ell`: the largest excess over the bound, per d.
STAIRCASE_LEARNED_LATE = Claim(
    "staircase-learned-late-d{d}", STAIR, threshold="≤ 0", holds=lambda excess: excess <= 0,
    measured="d = {d}: largest error minus (variance above degree ℓ + v_ℓ/2), over n ≥ 4N_ℓ")
#: The error never rises with n, per d.
STAIRCASE_MONOTONE = Claim("staircase-monotone-d{d}", STAIR, threshold="≤ 0.05", holds=lambda rise: rise <= 0.05,
                           measured="d = {d}: largest increase of the error from one n to the next")
#: A bias-free NTK cannot learn the degree-3 component (its error stays at the variance above degree 2) ...
BIAS_FREE_MISSES_DEGREE_3 = Claim(
    "bias-free-ntk-misses-degree-3", STAIR, paper="Bietti & Mairal (2019)",
    measured="bias-free NTK, d = {d}: smallest error at n = {ns}",
    threshold="≥ {plateau:.3f} − 0.03 (variance above degree 2, less 0.03)",
    holds=lambda error, plateau: error >= plateau - 0.03)
#: ... while the same kernel with biases learns part of it.
BIASED_LEARNS_DEGREE_3 = Claim(
    "biased-ntk-learns-degree-3", STAIR, measured="NTK with biases, d = {d}: error at n = {n}",
    threshold="< {plateau:.3f} − 0.05 (variance above degree 2, less 0.05)",
    holds=lambda error, plateau: error < plateau - 0.05)
#: At a fixed :math:`n/N_\ell(d)` the fraction of degree :math:`\ell+1` learned shrinks as d grows
#: (:func:`fraction_shrinks` on the fractions' ``summary`` decides; the value is its verdict in words).
NEXT_DEGREE_FRACTION_SHRINKS = Claim(
    "next-degree-fraction-shrinks-l{ell}", STAIR,
    measured="fraction of degree ℓ+1 learned at n = {ratio} N_ℓ(d), per d, ℓ = {ell}",
    threshold="falls by > 3 SE (over seeds) from the smallest to the largest d; never rises by > 2 SE",
    holds=lambda words, summary, ell: fraction_shrinks(summary, ell)[0])


def _loglog(name: str, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    fit = metrics.fit_loglog(x, y)
    return {f"{name}_slope": fit.slope, f"{name}_ci_low": fit.ci_low, f"{name}_ci_high": fit.ci_high}


def lazy_training(S: Sizes, key: Array) -> dict[str, Any]:
    r"""Lazy training against the width: :func:`lazy_training_run` for each ``m`` in ``S.widths`` (``S.seeds``
    seeds each) on a single-index target :math:`0.8\,h_1 + 0.6\,h_2` in dimension ``S.d_lazy``.

    Returns ``width`` ``(W,)``; ``move``, ``gap``, ``train_loss`` ``(seeds, W)``; and the log-log fits of
    ``move`` and ``gap`` against ``m`` over all seeds: ``move_slope``, ``move_ci_low``, ``move_ci_high`` (and the
    same for ``gap``); and ``glue``."""
    target = targets.single_index(jax.random.key(1), S.d_lazy, {1: 0.8, 2: 0.6})
    runs = [sweeps.sweep(lazy_training_run, key=key, seeds=S.seeds,
                         fixed=dict(target=target, d=S.d_lazy, m=m, n=S.n_lazy, steps=S.steps, lr=1.0))
            for m in progress(S.widths, desc="widths")]
    widths = np.array(S.widths)
    out = {"width": widths, **{k: np.stack([r[k] for r in runs], axis=1) for k in ("move", "gap", "train_loss")}}
    per_seed = np.repeat(widths, S.seeds)
    out |= _loglog("move", per_seed, out["move"].T.ravel()) | _loglog("gap", per_seed, out["gap"].T.ravel())
    return out | {"glue": {"move-slope": out["move_slope"], "gap-slope": out["gap_slope"]}}


def ntk_closed_form(S: Sizes, key: Array) -> dict[str, Any]:
    r"""The empirical NTK against the closed form: :func:`ntk_error_run` on ``S.ntk_points`` Gaussian inputs
    in dimension ``S.d_lazy``, for each bias scale :math:`s_b` in ``S.bias_stds`` and width in ``S.ntk_widths``.

    Returns ``bias_std`` ``(B,)``, ``width`` ``(W,)``, ``relative_error`` ``(B, seeds, W)``, its mean over seeds
    at the largest width ``error_widest`` ``(B,)``, and per bias scale the log-log fit of the error against
    ``m``: ``slope``, ``ci_low``, ``ci_high`` ``(B,)``; and ``glue``."""
    X = targets.gaussian_inputs(jax.random.key(3), S.ntk_points, S.d_lazy)
    err = np.stack([np.stack([sweeps.sweep(ntk_error_run, key=key, seeds=S.seeds,
                                           fixed=dict(X=X, m=m, bias_var=sb**2)) for m in S.ntk_widths], axis=1)
                    for sb in S.bias_stds])
    widths = np.array(S.ntk_widths)
    fits = [_loglog("f", np.repeat(widths, S.seeds), e.T.ravel()) for e in err]
    widest = err.mean(axis=1)[:, -1]
    glue = {"ntk-err": float(widest.max()), "ntk-width": int(widths[-1]),
            "ntk-bias-stds": ", ".join(f"{sb:g}" for sb in S.bias_stds)}
    return {"bias_std": np.array(S.bias_stds), "width": widths, "relative_error": err, "error_widest": widest,
            **{k: np.array([f[f"f_{k}"] for f in fits]) for k in ("slope", "ci_low", "ci_high")}, "glue": glue}


def staircase_sizes(d: int, n_max: int) -> np.ndarray:
    r"""The sample sizes of the staircase in dimension ``d``: :math:`n = \mathrm{round}(d^{e})` for
    :math:`e = 0.5, 0.75, \dots, 3`, distinct, at most ``n_max``."""
    ns = np.unique(np.round(d ** np.arange(0.5, 3.01, 0.25)).astype(int))
    return ns[ns <= n_max]


def staircase(S: Sizes, key: Array) -> dict[str, Any]:
    r"""Kernel ridge regression (:func:`featlearn.kernels.kernel_ridge_error`, NTK with biases, λ by exact
    leave-one-out) on :math:`f^* = \sum_{k=1}^3 \sqrt{1/3}\,h_k(u_k\cdot x)` for each ``d`` in ``S.stair_d`` at
    :func:`staircase_sizes`, and the bias-free NTK on the smallest ``d`` at its two largest ``n`` (the control).

    Returns ``table``: every run (columns ``d``, ``n``, ``seed``, ``nmse``, ``kernel``); ``curves``: the NTK's
    error per ``d`` and ``n`` over the seeds (``d``, ``n``, ``mean``, ``min``, ``max``); the target's exact
    ``degree_variances`` :math:`v_0..v_3` and ``plateaus`` :math:`\sum_{k>\ell} v_k` for :math:`\ell = 0..3`;
    the control's ``nobias_d``, ``nobias_n`` ``(2,)`` and mean errors ``nobias_mean`` ``(2,)``; and
    ``bias_error``, the NTK with biases at the same ``d`` and the largest of those ``n``; and ``glue``."""
    runs, tables, curves = {}, [], []
    for d in progress(S.stair_d, desc="dimensions"):
        tgt = targets.hermite_sum(jax.random.key(1), d, {1: 1 / 3, 2: 1 / 3, 3: 1 / 3})
        ns = staircase_sizes(d, S.stair_n_max)
        errs = np.stack([sweeps.sweep(kernels.kernel_ridge_error, key=key, seeds=S.seeds,
                                      fixed=dict(target=tgt, d=d, n=int(n), n_test=S.n_test)) for n in ns], axis=1)
        runs[d] = (ns, errs, tgt)
        tables.append(figures.sweep_table({"nmse": errs}, dict(n=ns), d=d, kernel="ntk-bias"))
        curves.append(dict(d=np.full(ns.size, d), n=ns, mean=errs.mean(0), min=errs.min(0), max=errs.max(0)))
    d0 = S.stair_d[0]
    ns0, errs0, tgt0 = runs[d0]
    nobias_n = ns0[-2:]
    nobias = np.stack([sweeps.sweep(kernels.kernel_ridge_error, key=key, seeds=S.seeds,
                                    fixed=dict(target=tgt0, d=d0, n=int(n), n_test=S.n_test, bias_var=0.0,
                                               train_bias=False))
                       for n in nobias_n], axis=1)
    tables.append(figures.sweep_table({"nmse": nobias}, dict(n=nobias_n), d=d0, kernel="ntk-nobias"))
    table = figures.concat_tables(*tables)
    return {"table": {k: table[k] for k in ("d", "n", "seed", "nmse", "kernel")},
            "curves": figures.concat_tables(*curves),
            "degree_variances": tgt.degree_variances(), "plateaus": np.array([tgt.plateau(l) for l in range(4)]),
            "nobias_d": d0, "nobias_n": nobias_n, "nobias_mean": nobias.mean(0), "bias_error": errs0.mean(0)[-1],
            "glue": {"nobias": float(nobias.mean(0)[-1]), "bias-same-n": float(errs0.mean(0)[-1]),
                     "nobias-n": int(nobias_n[-1]), "nobias-d": int(d0)}}


def staircase_margins(curves: Mapping[str, Sequence], degree_variances: Sequence[float], *, early: float = 0.5,
                      late: float = 4.0, sample_span: bool = False) -> dict[str, dict[str, np.ndarray]]:
    r"""The staircase theorem's two halves, measured on mean error curves (``curves``: columns ``d``, ``n``,
    ``mean``, as :func:`staircase` returns them), with the exact counts
    :math:`N_k = \binom{d+k-1}{k}` of degree-:math:`k` monomials, the target's per-degree variances
    :math:`v_0, \dots, v_L` and the plateaus :math:`P_\ell = \sum_{k>\ell} v_k`:

    * ``early``, one row per ``d`` (if any ``n`` qualifies): over :math:`\ell < L` and every ``n`` with
      :math:`n \le` ``early``:math:`\cdot N_{\ell+1}`, the smallest ``margin`` :math:`= \mathrm{err}(n) - P_\ell`,
      with its ``degree`` :math:`\ell`, ``n``, ``error`` and ``bound`` :math:`P_\ell` (a kernel learns nothing of
      degree :math:`> \ell` before it has of order :math:`N_{\ell+1}` samples: the margin is not much below 0);
    * ``late``: over :math:`1 \le \ell < L` and every ``n`` with :math:`n \ge` ``late``:math:`\cdot N_\ell`, the
      largest ``excess`` :math:`= \mathrm{err}(n) - (P_\ell + v_\ell/2)` with its ``degree``, ``n``, ``error``,
      ``bound`` (degree :math:`\ell` is mostly learned by then: the excess is at most 0);
    * ``monotone``: per ``d``, ``max_increase``, the largest rise of the error from one ``n`` to the next.

    With ``sample_span``, the early bound is the finite-size one, :math:`P_\ell - (n/N_{\ell+1})\,v_{\ell+1}`: the
    theorem's "nothing of degree :math:`\ell+1`" holds as :math:`n/N_{\ell+1}\to0`, and at a fixed fraction a
    predictor fitted on :math:`n` samples may capture up to about the fraction :math:`n/N_{\ell+1}` of the
    :math:`N_{\ell+1}` roughly isotropic degree-:math:`(\ell+1)` directions (the span of its :math:`n` samples), up to
    constants.

    Ties go to the smaller (early) or larger (late) degree and ``n``."""
    v = np.asarray(degree_variances, dtype=float)
    L = v.size - 1
    if v.ndim != 1 or L < 1:
        raise ValueError(f"degree_variances must be 1-d with at least two entries (v_0, v_1, ...), got {v.shape}")
    _checks.real_in("early", early, 0.0, math.inf, low_open=True)
    _checks.real_in("late", late, 0.0, math.inf, low_open=True)
    plateau = [float(v[l + 1:].sum()) for l in range(L + 1)]
    d_col, n_col, mean_col = (np.asarray(curves[k]) for k in ("d", "n", "mean"))
    cols = ("d", "degree", "n", "error", "bound")
    rows: dict[str, list] = {"early": [], "late": [], "monotone": []}
    for d in dict.fromkeys(d_col.tolist()):
        ns, mean = n_col[d_col == d], mean_col[d_col == d]

        def floor(l: int, n: int, d: int = d) -> float:
            return plateau[l] - (min(n / monomial_count(d, l + 1), 1.0) * float(v[l + 1]) if sample_span else 0.0)

        lo = [(float(mean[i] - floor(l, int(ns[i]))), l, int(ns[i]), float(mean[i]), floor(l, int(ns[i])))
              for l in range(L) for i in np.flatnonzero(ns <= early * monomial_count(d, l + 1))]
        hi = [(float(mean[i] - plateau[l] - v[l] / 2), l, int(ns[i]), float(mean[i])) for l in range(1, L)
              for i in np.flatnonzero(ns >= late * monomial_count(d, l))]
        if lo:
            m, l, n, e, b = min(lo)
            rows["early"].append((d, l, n, e, b, m))
        if hi:
            m, l, n, e = max(hi)
            rows["late"].append((d, l, n, e, plateau[l] + float(v[l]) / 2, m))
        rows["monotone"].append((d, float(np.diff(mean).max()) if mean.size > 1 else -math.inf))
    names = {"early": (*cols, "margin"), "late": (*cols, "excess"), "monotone": ("d", "max_increase")}
    return {part: {k: np.array([r[j] for r in rows[part]]) for j, k in enumerate(names[part])} for part in names}


#: The fixed ratio :math:`n/N_\ell(d)` at which :func:`degree_fractions` measures how much of degree
#: :math:`\ell+1` a kernel has learned: eight times the count of degree-:math:`\ell` monomials.
FRACTION_RATIO = 8


#: The degrees :math:`\ell` of :func:`degree_fractions`: the fraction of degree :math:`\ell+1` at
#: :math:`n =` :data:`FRACTION_RATIO`:math:`\cdot N_\ell(d)`.
FRACTION_DEGREES = (1, 2)


def degree_fractions(S: Sizes, key: Array) -> dict[str, Any]:
    r"""How much of degree :math:`\ell+1` a kernel learns at a fixed :math:`n/N_\ell(d)`: on the staircase's
    target (:func:`staircase`), :func:`component_fractions_run` at :math:`n =` :data:`FRACTION_RATIO`
    :math:`\cdot N_\ell(d)` for :math:`\ell` in :data:`FRACTION_DEGREES` and every ``d`` in ``S.stair_d`` (up to
    ``S.stair_n_max`` samples; ``S.seeds`` seeds). The theorem (:math:`d^{\ell+\delta}\le n\le
    d^{\ell+1-\delta}`: nothing of degree :math:`\ell+1`) says that this fraction vanishes as :math:`d` grows,
    since :math:`n/N_{\ell+1}(d)\propto 1/d` at fixed :math:`n/N_\ell(d)`; a method that found the degree-
    :math:`(\ell+1)` direction from :math:`n\propto N_\ell` samples would keep it.

    Returns ``table`` (columns ``degree`` (:math:`\ell`), ``d``, ``n``, ``seed``, ``nmse``, ``fraction`` (of degree
    :math:`\ell+1`)): every run; ``summary`` (``degree, d, n, fraction, se, span, nmse``: the mean over seeds,
    its standard error over seeds, the span count :math:`n/N_{\ell+1}(d)` and the mean error); ``glue``."""
    rows: dict[str, list] = {k: [] for k in ("degree", "d", "n", "seed", "nmse", "fraction")}
    summary: dict[str, list] = {k: [] for k in ("degree", "d", "n", "fraction", "se", "span", "nmse")}
    for d in progress(S.stair_d, desc="dimensions"):
        tgt = targets.hermite_sum(jax.random.key(1), d, {1: 1 / 3, 2: 1 / 3, 3: 1 / 3})
        degrees = [sum(a) for a, _ in tgt.terms]
        for ell in FRACTION_DEGREES:
            n = FRACTION_RATIO * monomial_count(d, ell)
            if n > S.stair_n_max:
                continue
            out = sweeps.sweep(component_fractions_run, key=key, seeds=S.seeds,
                               fixed=dict(target=tgt, d=d, n=int(n), n_test=S.n_test))
            frac = np.asarray(out["fraction"])[:, degrees.index(ell + 1)]  # (seeds,)
            for s in range(S.seeds):
                for k, v in zip(rows, (ell, d, n, s, float(out["nmse"][s]), float(frac[s])), strict=True):
                    rows[k].append(v)
            for k, v in zip(summary, (ell, d, n, float(frac.mean()), float(frac.std(ddof=1) / math.sqrt(S.seeds)),
                                      n / monomial_count(d, ell + 1), float(np.mean(out["nmse"]))), strict=True):
                summary[k].append(v)
    summary_arr = {k: np.array(v) for k, v in summary.items()}
    glue = {f"frac-l{ell}": ", ".join(f"{f:.3f}" for f in summary_arr["fraction"][summary_arr["degree"] == ell])
            for ell in FRACTION_DEGREES}
    glue |= {f"frac-d-l{ell}": ", ".join(str(d) for d in summary_arr["d"][summary_arr["degree"] == ell])
             for ell in FRACTION_DEGREES}
    glue |= {"frac-ratio": FRACTION_RATIO}
    return {"table": {k: np.array(v) for k, v in rows.items()}, "summary": summary_arr, "glue": glue}


def fraction_shrinks(summary: Mapping[str, Sequence], degree: int, *, z: float = 3.0, rise_z: float = 2.0
                     ) -> tuple[bool, str]:
    r"""The check that replaces "nothing learned early": at a fixed :math:`n/N_\ell(d)` the fraction of degree
    :math:`\ell+1` learned (``summary`` of :func:`degree_fractions`, rows of ``degree`` :math:`\ell`, in
    increasing ``d``) must shrink as :math:`d` grows: it falls from the smallest to the largest ``d`` by more than
    ``z`` combined standard errors (over seeds), and never rises from one ``d`` to the next by more than ``rise_z``
    of them. Returns ``(passes, the fractions in words)``; with fewer than two dimensions measured (a profile whose
    ``stair_n_max`` is too small) the check cannot be made and does not pass."""
    deg = np.asarray(summary["degree"])
    sel = deg == degree
    if sel.sum() < 2:
        return False, f"degree {degree}: {int(sel.sum())} dimension(s) measured, at least two are needed"
    d, f, se = (np.asarray(summary[k], float)[sel] for k in ("d", "fraction", "se"))
    order = np.argsort(d)
    d, f, se = d[order], f[order], se[order]
    drop = (f[0] - f[-1]) / math.hypot(se[0], se[-1])
    rises = (f[1:] - f[:-1]) / np.hypot(se[1:], se[:-1])
    words = ", ".join(f"d = {int(a)}: {b:.3f} ± {c:.3f}" for a, b, c in zip(d, f, se, strict=True))
    return bool(drop > z and np.all(rises <= rise_z)), words


#: The chapter's experiments, in its order (``fl.kernel_regime.SECTIONS[name](S, key)``).
SECTIONS = {"lazy_training": lazy_training, "ntk_closed_form": ntk_closed_form, "staircase": staircase,
            "degree_fractions": degree_fractions}


def plot_staircase(out: Mapping[str, Any], fig: Any = None) -> Any:
    r"""The staircase figure from :func:`staircase`'s output ``out`` (live or stored): the NTK's mean error (band:
    min to max over seeds) against :math:`\log n/\log d` for every ``d``, the bias-free control, and the exact
    plateaus. Draws into ``fig`` (a new figure when ``None``) and returns it."""
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(figures.COLUMN_WIDTH, 4.4)) if fig is None else fig
    ax = fig.subplots()
    curves, d0 = out["curves"], int(out["nobias_d"])
    dims = list(dict.fromkeys(np.asarray(curves["d"]).tolist()))  # in the order the section ran them
    for i, d in enumerate(dims):
        at_d = curves["d"] == d
        x = np.log(curves["n"][at_d]) / np.log(d)
        ax.plot(x, curves["mean"][at_d], "o-", color=f"C{i}", label=f"NTK with biases, d = {d}")
        ax.fill_between(x, curves["min"][at_d], curves["max"][at_d], color=f"C{i}", alpha=0.15)
    ax.plot(np.log(out["nobias_n"]) / np.log(d0), out["nobias_mean"], "x", color=f"C{len(dims)}", ms=8, mew=2,
            label=f"bias-free NTK, d = {d0}")
    for l, p in enumerate(out["plateaus"]):
        ax.axhline(p, color="k", lw=0.8, ls="--")
        # Labels where no curve passes: the null error on the right, the plateaus on the left.
        ax.text(0.98 if l == 0 else 0.02, p + 0.015, f"variance above degree {l}" if l else "null error",
                ha="right" if l == 0 else "left", transform=ax.get_yaxis_transform())
    ax.set(xlabel=r"$\log n / \log d$", ylabel="normalised test MSE", ylim=(0, 1.1))
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    return fig
