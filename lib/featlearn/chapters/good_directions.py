r"""The chapter ``book/good-directions.ipynb`` (Nichani, Bai & Lee (2022)): what it runs, at which sizes, what it checks
and how it draws it. The mathematics it runs is one floor down, in :mod:`featlearn.good_directions` (the Taylor
terms, the regulariser :math:`R_1`, the target class and the one-seed runs).

Its contract is the chapters' (:mod:`featlearn.chapters`).

Sections: the spectrum's outliers (:func:`spectrum_outliers`), the regularisation strength
(:func:`regularisation_strength`), the three models compared (:func:`models_compared`) and the paired sample
complexity (:func:`sample_complexity`); also the stored runs at the authors' size (:data:`AUTHORS_SIZE`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import jax
import numpy as np
from jax import Array

from featlearn import (
    _checks,
    figures,
    metrics,
    ridge,
    scorecard,
    separations,
    sweeps,
)
from featlearn.profiles import Sizes
from featlearn.progress import progress
from featlearn.scorecard import Claim

from ..good_directions import (
    KERNEL_LAMBDAS,
    Curves,
    KernelCurve,
    figure_lambda,
    ntk_ridge_run,
    ordinary_network_run,
    outlier_count,
    regularized_run,
    sample_grid,
    spectrum,
    validated_errors,
    validated_lambda,
)


def _chapter_sizes(d: int, **rest: object) -> dict[str, object]:
    # n = floor(d^1.5) training samples, as in the authors' experiment (n = 1000 at d = 100)
    return dict(d=d, n=int(d ** 1.5), **rest)


SIZES: dict[str, dict[str, object]] = dict(
    # toy: the smallest sizes that run every section, in seconds; what the tests run (not a result)
    toy=dict(d=4, n=8, m=8, n_val=8, n_test=8, steps=50, seeds=2, lams=(0.0, 1.0), lr=1.0, q_init=0.1,
             plain_d=(3, 4), plain_n_over_d2=(1, 2, 4), plain_m=8, plain_steps=10, plain_seeds=2, plain_n_val=8),
    # quick: 2 CPU cores, the chapter in under 3 minutes; lams is the grid that validation chooses from; lr the
    # learning rate on ½MSE
    quick=_chapter_sizes(20, m=1000, n_val=1000, n_test=1000, steps=3000, seeds=3, lams=(0.0, 0.3, 1.0, 3.0, 10.0),
                         lr=1.0, q_init=0.1, plain_d=(8, 11, 16), plain_n_over_d2=(1.41, 2, 2.83, 4, 5.66, 8),
                         plain_m=64, plain_steps=500, plain_seeds=5, plain_n_val=1000),
    # cpu_large: between the two, sized for a stored run on 2 CPU cores: twice the d (n = d^1.5 as always, m = 50 d as
    # in quick), more seeds, and the paired separation to d = 23 with more seeds (d = 32 would take the NTK's exact
    # solves to n = 8192 in every seed: the paper profile's)
    cpu_large=_chapter_sizes(40, m=2000, n_val=2000, n_test=2000, steps=5000, seeds=4,
                             lams=(0.0, 0.3, 1.0, 3.0, 10.0), lr=1.0, q_init=0.1, plain_d=(8, 11, 16, 23),
                             plain_n_over_d2=(1.41, 2, 2.83, 4, 5.66, 8), plain_m=64, plain_steps=500, plain_seeds=8,
                             plain_n_val=2000),
    # paper: the authors' d = 100, n = 1000, m = 10^4, their 2·10^4 steps of GD on the MSE at rate 1 (our ½MSE at
    # rate 2) and their λ grid 0, 10^-5, ..., 10^-1 in our units (times n/2: see authors_lambda), an accelerator's job
    paper=_chapter_sizes(100, m=10_000, n_val=10_000, n_test=10_000, steps=20_000, seeds=3,
                         lams=(0.0, 0.005, 0.05, 0.5, 5.0, 50.0), lr=2.0, q_init=0.1, plain_d=(16, 23, 32, 45, 64),
                         plain_n_over_d2=(0.5, 0.71, 1, 1.41, 2, 2.83, 4, 5.66, 8), plain_m=512,
                         plain_steps=5000, plain_seeds=8, plain_n_val=10_000),
)


#: ``featlearn reproduce --cut-short``: the step and sample budgets of a test run of a large profile on a CPU (see
#: :func:`featlearn.profiles.cut_short`); d, the widths, the seeds and the λ grid stay the profile's.
CUT_SHORT = dict(n=("samples", 200), n_val=("samples", 500), n_test=("samples", 500), steps=("steps", 100),
                 plain_n_over_d2=("samples", (0.5, 0.71)), plain_steps=("steps", 100),
                 plain_n_val=("samples", 500))


#: The chapter's seed: every section gets ``jax.random.key(SEED)`` (the notebook's ``key``; ``featlearn reproduce``).
SEED = 0


# --- the chapter's claims measured both live and on the stored results, each stated once (fl.scorecard.Claim)
#: Exactly ``d`` singular values of the NTK Jacobian stand out (its degree-1 block), in every seed.
OUTLIERS_D = Claim("outliers-d", "rem-good-directions-spectrum", measured="outlying singular values of J, per seed",
                   threshold="= {d} (d) in every seed",
                   holds=lambda outliers, d: bool(np.all(np.asarray(outliers) == d)))
#: Displacements off the top singular directions change :math:`f_L` on fresh data far less than random ones.
OFF_TOP_SMALL = Claim("off-top-small", "rem-good-directions-spectrum", threshold="< 0.6", holds=lambda r: r < 0.6,
                      measured="f_L change on fresh data, off-top / random displacement (mean over seeds)")
#: Training fits the data at every λ (the theorem's global minimiser has loss 0).
TRAIN_LOSS_FALLS = Claim("train-loss-falls", "thm-good-directions-main", status="partly",
                         measured="final train loss, worst λ (mean over seeds); the start is about 0.5",
                         threshold="< 0.05 (the theorem's global minimiser: 0)", holds=lambda v: v < 0.05)
#: Without the regulariser :math:`R_1` grows: it is the quantity the penalty controls.
R1_LARGE_WITHOUT_REG = Claim("r1-large-without-reg", "def-good-directions-r1", status="library identity",
                             measured="final R1 at λ = 0 over final R1 at validated λ",
                             threshold="> 10 (R1 is the penalised quantity)", holds=lambda v: v > 10)
#: λ chosen on validation data lowers the test loss by more than 15% (mean over seeds) ...
VALIDATED_LAMBDA_GAIN = Claim("validated-lambda-gain", "thm-good-directions-main", status="partly",
                              measured="final test loss at validated λ over λ = 0 (mean over seeds)",
                              threshold="< 0.85 (a drop > 15%)", holds=lambda v: v < 0.85)
#: ... and lowers it in every seed.
VALIDATED_LAMBDA_GAIN_EVERY_SEED = Claim(
    "validated-lambda-gain-every-seed", "thm-good-directions-main", threshold="> 0 in every seed",
    measured="relative test-loss drop at validated λ, worst seed", holds=lambda v: v > 0)
#: The regularised combination beats both models alone, each tuned on validation, by more than 15%.
COMBINATION_BEATS_BOTH = Claim(
    "combination-beats-both", "thm-good-directions-main", threshold="< 0.85", holds=lambda v: v < 0.85,
    measured="test loss of f_L + f_Q over the better of f_L, f_Q alone (each at its validated λ and step)")

#: At every d the NTK needs more samples than the network (the paired separation, :mod:`featlearn.separations`):
#: the value is the worst d's lower end; the predicate, :func:`featlearn.separations.fewer_samples`, reads the whole
#: ``separation`` (every d, and whether each median is known).
NETWORK_FEWER_SAMPLES = Claim(
    "network-fewer-samples", "thm-good-directions-kernel-limit",
    measured="n*_NTK / n*_network per d: lower end of the 95% interval of the median over seeds (worst d)",
    threshold="> 1 at every d, each median known (exact or a lower bound)",
    holds=lambda low, separation: separations.fewer_samples(separation))

def spectrum_outliers(S: Sizes, key: Array) -> dict[str, Any]:
    r"""Section 1, good directions: :func:`spectrum` for ``S.seeds`` seeds and :func:`outlier_count` among the
    top :math:`2d` singular values.

    Returns ``singular_values`` ``(seeds, n)``, ``off_top_ratio`` ``(seeds,)``, ``outliers`` ``(seeds,)``, the
    neighbour ratios ``gap`` :math:`s_i/s_{i+1}` ``(seeds, n - 1)``, and ``glue``."""
    spec = sweeps.sweep(spectrum, key=key, seeds=S.seeds, fixed=dict(d=S.d, m=S.m, n=S.n, n_test=S.n_test))
    sv, ratios = spec.singular_values, spec.off_top_ratio
    n_out = outlier_count(sv, 2 * S.d)
    gap = sv[:, :-1] / sv[:, 1:]
    glue = {"n-out": int(np.round(n_out.mean())), "gap-d": float(gap[:, S.d - 1].mean()),
            "gap-d1": float(gap[:, S.d].mean()), "gap-bulk": float(gap[:, S.d + 1:2 * S.d].max()),
            "ratio": float(ratios.mean()), "d": S.d}
    return {"singular_values": sv, "off_top_ratio": ratios, "outliers": n_out, "gap": gap, "glue": glue}


def regularisation_strength(S: Sizes, key: Array, k: int | None = None, *, lr: float | None = None
                            ) -> dict[str, Any]:
    r"""Section 2: :func:`regularized_run` (:math:`f_L + f_Q` from :math:`W = 0`, training loss
    :math:`+\lambda R_1`) for every seed and every :math:`\lambda` in ``S.lams`` as one sweep, and the
    :math:`\lambda` chosen on validation data (:func:`validated_lambda`). ``k``, the size of the top block, is the
    measured outlier count of section 1 (computed, by :func:`spectrum_outliers`, when not given); ``lr``, the
    learning rate on ½MSE, is ``S.lr`` unless given.

    Returns the curves ``step``, ``train``, ``val``, ``test``, ``r1`` ``(seeds, L, evals)``, the grid ``lams``
    ``(L,)``, ``log_d_t``
    (:math:`\log_d` of the steps), the validated index ``best``, the final losses averaged over seeds
    ``final_train``, ``final_val``, ``final_test``, ``final_r1`` ``(L,)``, the relative test-loss drop per seed
    ``gain_seed`` :math:`1 - L_{\rm test}(\lambda^*)/L_{\rm test}(0)` ``(seeds,)``, ``sizes`` (the runs' static
    arguments) and ``glue``."""
    k = int(spectrum_outliers(S, key)["outliers"][0]) if k is None else _checks.positive_int("k", k)
    lr = S.lr if lr is None else lr
    sizes = dict(d=S.d, m=S.m, n=S.n, n_val=S.n_val, n_test=S.n_test, steps=S.steps, q_init=S.q_init, k=k, lr=lr)
    step, train_l, val_l, test_l, r1 = sweeps.sweep(regularized_run, key=key, seeds=S.seeds, vary=dict(lam=S.lams),
                                                    fixed=sizes)
    best = validated_lambda(val_l[:, :, -1])  # chosen on validation data only
    final = {name: a[:, :, -1].mean(0) for name, a in (("train", train_l), ("val", val_l), ("test", test_l),
                                                       ("r1", r1))}
    gain_seed = 1 - test_l[:, best, -1] / test_l[:, 0, -1]
    ft = final["test"]
    glue = {"lr": lr, "n-val": S.n_val, "n-test": S.n_test, "k": k, "zero-loss": float(test_l[:, :, 0].mean()),
            "test-all": ", ".join(f"{v:.3f}" for v in ft), "val-all": ", ".join(f"{v:.3f}" for v in final["val"]),
            "best-lam": S.lams[best], "best-lam-authors": float(figure_lambda(S.lams[best], S.n)),
            "test-lam0": float(ft[0]),
            "r1-lam0": float(final["r1"][0]),
            "test-best": float(ft[best]), "r1-best": float(final["r1"][best]), "gain": float(1 - ft[best] / ft[0]),
            "gain-min": float(gain_seed.min()), "gain-max": float(gain_seed.max()),
            "max-train": float(final["train"].max()), "paper-d": SIZES["paper"]["d"],
            "paper-lam-max": float(figure_lambda(max(SIZES["paper"]["lams"]), SIZES["paper"]["n"])),
            "lams": ", ".join(f"{v:g}" for v in S.lams), "n": S.n,
            "m": S.m, "steps": S.steps, "seeds": S.seeds}
    return {"step": step, "train": train_l, "val": val_l, "test": test_l, "r1": r1, "lams": np.asarray(S.lams),
            "log_d_t": np.log(np.maximum(step[0, 0], 1)) / np.log(S.d), "best": best,
            **{f"final_{name}": v for name, v in final.items()}, "gain_seed": gain_seed, "sizes": sizes,
            "glue": glue}


def validated_choice(val_loss: np.ndarray) -> tuple[int, int]:
    r"""The :math:`\lambda` and the evaluation step of smallest validation loss averaged over seeds: ``val_loss``
    ``(seeds, L, E)`` → ``(l, e)``. One rule for every model of section 3, so that each gets the same tuning; the
    test loss plays no part."""
    v = np.asarray(val_loss, float)
    if v.ndim != 3 or 0 in v.shape:
        raise ValueError(f"val_loss must have shape (seeds, L, E) with no empty axis, got {v.shape}")
    if not np.all(np.isfinite(v)):
        raise ValueError("val_loss must be finite (was a validation set given?)")
    l, e = np.unravel_index(int(np.argmin(v.mean(0))), v.shape[1:])
    return int(l), int(e)


def models_compared(S: Sizes, key: Array, regularised: dict[str, Any] | None = None) -> dict[str, Any]:
    r"""Section 3, neither alone, both together, each at full strength: :math:`f_L` alone from :math:`W = 0` and
    :math:`f_Q` alone from a small random :math:`W` (:func:`regularized_run` with ``model="L"``, ``"Q"``), each
    over the same :math:`\lambda` grid ``S.lams`` as :math:`f_L + f_Q` (``regularised``: the output of
    :func:`regularisation_strength`, computed when not given), on the same data and seeds; every model's
    :math:`\lambda` and stopping step chosen by one rule on validation data (:func:`validated_choice`).

    Returns the test losses per seed at the validated choice ``L``, ``Q``, ``LQ`` ``(seeds,)``; the final test
    losses per seed at :math:`\lambda = 0` ``L_lam0``, ``Q_lam0``, ``LQ_lam0`` (for reference); the choices
    ``lam`` and ``step`` per model (dicts); and ``glue``."""
    reg = regularisation_strength(S, key) if regularised is None else regularised
    curves = {m: sweeps.sweep(regularized_run, key=key, seeds=S.seeds, vary=dict(lam=S.lams),
                              fixed=dict(reg["sizes"], model=m)) for m in ("L", "Q")}
    val = {m: np.asarray(c.val_loss) for m, c in curves.items()} | {"LQ": np.asarray(reg["val"])}
    test = {m: np.asarray(c.test_loss) for m, c in curves.items()} | {"LQ": np.asarray(reg["test"])}
    step = np.asarray(reg["step"])[0, 0]
    lam0 = list(S.lams).index(0.0) if 0.0 in S.lams else None
    out: dict[str, Any] = {"lam": {}, "step": {}}
    glue: dict[str, Any] = {"q-init": S.q_init, "last-step": int(step[-1])}
    tenth = int(np.searchsorted(step, 0.9 * step[-1]))  # the evaluation at 90% of the budget
    at_edge, falls = [], []
    for m in ("L", "Q", "LQ"):
        li, ei = validated_choice(val[m])
        out[m] = test[m][:, li, ei]
        out["lam"][m], out["step"][m] = float(S.lams[li]), int(step[ei])
        glue |= {f"test-{m}": float(out[m].mean()), f"lam-{m}": float(S.lams[li]), f"step-{m}": int(step[ei])}
        v = val[m][:, li].mean(0)  # the chosen λ's validation curve, mean over seeds
        at_edge.append(ei == step.size - 1)
        falls.append(float((v[tenth] - v[-1]) / v[tenth]))
        if lam0 is not None:
            out[f"{m}_lam0"] = test[m][:, lam0, -1]
            glue[f"test-{m}-lam0"] = float(out[f"{m}_lam0"].mean())
    # Whether the step budget binds: the share of models stopped at the last evaluation, and how much their
    # validation loss still fell over the last tenth of the budget (largest over the models)
    glue |= {"models-at-last-step": int(sum(at_edge)), "val-fall-last-tenth": max(falls)}
    return out | {"glue": glue}


#: Section 4's target by Hermite degree (:class:`DenseSparseTarget`): variance ½ at degree 2 and ½ at degree 3.
DENSE_SPARSE_VARIANCES = (0.0, 0.0, 0.5, 0.5)


#: Section 4's level as a share of the degree-2 plateau :math:`P_2 = \tfrac12`, fixed before any run: 0.6, so the
#: level is 0.3 and reaching it takes at least 40% of the cubic's variance, which a kernel learns only from
#: :math:`n\gtrsim N_3(d)` samples.
LEVEL_FRACTION = 0.6


def sample_complexity(S: Sizes, key: Array, *, lr: float = 2.0, ci: float = 0.95) -> dict[str, Any]:
    r"""Section 4, a paired separation (:mod:`featlearn.separations`): for each ``d`` in ``S.plain_d``, on the
    :func:`sample_grid` and the same draws per seed (key ``fold_in(key, d)``), the ordinary network
    (:func:`ordinary_network_run`, one sweep per ``d``, stopping step chosen on validation) and the closed-form NTK
    by kernel ridge (:func:`ntk_ridge_run`, penalty or null predictor chosen on validation); the level
    :data:`LEVEL_FRACTION` of the degree-2 plateau; :math:`n^*` per seed for both, their ratio per ``d`` with a
    bootstrap interval and the slope of its growth (:func:`featlearn.separations.paired_separation`); and, for
    reference, the log-log fit of the network's median :math:`n^*(d)` (:func:`featlearn.metrics.fit_loglog_median`).

    Returns ``d`` ``(D,)``; ``curves``, a table of both methods' test errors per ``d`` and ``n`` over seeds
    (``d``, ``n``, ``error_mean``, ``error_sd`` for the network, ``kernel_mean``, ``kernel_sd`` for the NTK);
    ``n_star`` (the network's, ``nan`` where censored) and ``error_smallest_n`` ``(D, seeds)``; the network's
    exponent ``slope``, ``intercept``, ``ci_low``, ``ci_high``; the separation's fields prefixed ``pair_``
    (:func:`featlearn.separations.as_dict`); ``level``, ``ci``; and ``glue``."""
    _checks.real_in("ci", ci, 0.0, 1.0, low_open=True, high_open=True)
    level = separations.level(DENSE_SPARSE_VARIANCES, 2, LEVEL_FRACTION)
    cols: dict[str, list] = {k: [] for k in ("d", "n", "error_mean", "error_sd", "kernel_mean", "kernel_sd")}
    grids, net_err, ker_err, net_step, ker_lam = [], [], [], [], []
    for d in progress(S.plain_d, desc="dimensions"):
        grid = sample_grid(d, S.plain_n_over_d2)
        kd = jax.random.fold_in(key, d)
        sizes = dict(d=d, n_max=int(grid[-1]), n_val=S.plain_n_val, n_test=S.n_test)
        out = sweeps.sweep(ordinary_network_run, key=kd, seeds=S.plain_seeds, vary=dict(n=grid),
                           fixed=dict(sizes, m=S.plain_m, steps=S.plain_steps, lr=lr))
        err, step = validated_errors(out)  # (seeds, grid): the test error at the validated step, and the step
        kern = sweeps.host_sweep(ntk_ridge_run, key=kd, returns=KernelCurve, seeds=S.plain_seeds,
                                 fixed=dict(sizes, ns=tuple(grid)))
        kerr = kern.test_error  # (seeds, grid), the same draws as the network's (one key per seed)
        net_step.append(step == out.val_error.shape[-1] - 1)
        evals = int(out.val_error.shape[-1])
        ker_lam.append(kern.rel_lam)
        grids.append(grid)
        net_err.append(err)
        ker_err.append(kerr)
        for name, v in (("d", [d] * len(grid)), ("n", list(grid)), ("error_mean", list(err.mean(0))),
                        ("error_sd", list(err.std(0))), ("kernel_mean", list(kerr.mean(0))),
                        ("kernel_sd", list(kerr.std(0)))):
            cols[name] += v
    sep = separations.paired_separation(S.plain_d, grids, net_err, ker_err, level, ci=ci)
    n_star = np.where(sep.network_kind == separations.EXACT, sep.n_star_network, np.nan)
    fit = metrics.fit_loglog_median(np.asarray(S.plain_d, float), n_star, level=ci, unknown="nan")
    d_max = max(S.plain_d)
    glue = {"exponent": fit.slope, "exponent-lo": fit.ci_low, "exponent-hi": fit.ci_high, "ci": f"{ci:.0%}",
            "level": level, "level-fraction": LEVEL_FRACTION, "level-share": 1 - LEVEL_FRACTION, "plain-lr": lr,
            "plain-evals": evals, "plain-dmax": d_max,
            "plain-d-span": d_max / min(S.plain_d), "plain-n-val": S.plain_n_val,
            "n3-dmax": math.comb(d_max + 2, 3), "budget-dmax": int(grids[-1][-1]),
            "plain-d-all": figures.listed(S.plain_d),
            **separations.glue(sep),
            "network-last-step": float(np.mean(np.concatenate([a.ravel() for a in net_step]))),
            "kernel-smallest-lam": float(np.mean(np.concatenate([np.isclose(a, min(KERNEL_LAMBDAS)).ravel()
                                                                  for a in ker_lam]))),
            "kernel-largest-lam": float(np.mean(np.concatenate([np.isclose(a, max(KERNEL_LAMBDAS)).ravel()
                                                                 for a in ker_lam]))),
            "kernel-null": float(np.mean(np.concatenate([np.isinf(a).ravel() for a in ker_lam]))),
            "kernel-lam-min": min(KERNEL_LAMBDAS),
            "kernel-decades-below": round(math.log10(min(ridge.RIDGE_LAMBDAS) / min(KERNEL_LAMBDAS))),
            "plain-dmin": min(S.plain_d), "plain-m": S.plain_m, "plain-steps": S.plain_steps,
            "plain-seeds": S.plain_seeds}
    return {"d": np.array(S.plain_d), "curves": {k: np.asarray(v) for k, v in cols.items()}, "n_star": n_star,
            "error_smallest_n": np.stack([e[:, 0] for e in net_err]),
            "slope": fit.slope, "intercept": fit.intercept, "ci_low": fit.ci_low, "ci_high": fit.ci_high,
            **separations.as_dict(sep, "pair_"), "level": level, "ci": ci, "glue": glue}


def settling_sizes(n_over_d2_max: float, d_max: int, *, multiple: float = 4.0) -> dict[str, Any]:
    r"""The sizes that would settle section 4's growth claim, for the chapter's prose: the NTK run to
    ``multiple`` :math:`\cdot N_3(d)` samples (where a kernel has learned most of a cubic) at every :math:`d` up to
    ``d_max``. Returns (glue names) ``settle-from-d``, the smallest :math:`d` at which that exceeds the grid's
    largest :math:`n = c\,d^2` (``c`` = ``n_over_d2_max``); ``settle-dmax``; and ``settle-n``, the samples at
    ``d_max``."""
    _checks.real_in("n_over_d2_max", n_over_d2_max, 0.0, low_open=True)
    d_max = _checks.positive_int("d_max", d_max)
    _checks.real_in("multiple", multiple, 0.0, low_open=True)
    need = lambda d: multiple * math.comb(d + 2, 3)  # noqa: E731  (a cubic: it passes c d² by d = 6c/multiple + 1)
    start = next(d for d in itertools.count(1) if need(d) > n_over_d2_max * d * d)
    return {"settle-from-d": start, "settle-dmax": d_max, "settle-n": scorecard.scientific(need(d_max), 2)}


#: The authors' size for ``tools/good_directions_d100.py`` (one seed, CPU hours; its λ in this module's units): the
#: :func:`regularized_run` arguments and the seed, as run and stored in ``results/good-directions/authors-size/``.
AUTHORS_SIZE: dict[str, Any] = dict(d=100, m=10_000, n=1000, n_val=2000, n_test=10_000, steps=20_000, lr=2.0, k=100,
                                    n_evals=100, seed=100)


def authors_size_output(lams: Sequence[float], curves: Sequence[Curves],
                        seeds: Sequence[int] | None = None) -> dict[str, Any]:
    r"""The runs at :data:`AUTHORS_SIZE`, one :class:`Curves` per run, run ``i`` at :math:`\lambda` = ``lams[i]``
    with ``jax.random.key(seeds[i])`` (default: every run with ``AUTHORS_SIZE["seed"]``), in the shape of
    :func:`regularisation_strength`'s output, so that the same figure and checks read it: ``step``, ``train``,
    ``val``, ``test``, ``r1`` ``(S, L, E)`` (seeds and :math:`\lambda` sorted), ``seeds`` ``(S,)``, ``lams``
    ``(L,)``, ``log_d_t``, ``best`` (the :math:`\lambda` of smallest final validation loss averaged over seeds,
    :func:`validated_lambda`), ``final_*`` ``(L,)`` (means over seeds), ``gain_seed`` ``(S,)`` and ``sizes``.
    Every seed must have been run at every :math:`\lambda`, once, and :math:`\lambda = 0` must be among them."""
    seeds = [int(AUTHORS_SIZE["seed"])] * len(lams) if seeds is None else [int(s) for s in seeds]
    if not (len(lams) == len(curves) == len(seeds)) or not lams:
        raise ValueError(f"lams, curves and seeds must have the same non-zero length, got {len(lams)}, "
                         f"{len(curves)} and {len(seeds)}")
    if 0.0 not in [float(v) for v in lams]:
        raise ValueError(f"lams must hold 0 (the unregularised run the gain is measured against), got {list(lams)}")
    grid_s, grid_l = sorted(set(seeds)), sorted({float(v) for v in lams})
    at = {}
    for i, (sd, lam) in enumerate(zip(seeds, lams, strict=True)):
        if (sd, float(lam)) in at:
            raise ValueError(f"the run at seed {sd} and λ = {float(lam):g} is given twice")
        at[(sd, float(lam))] = i
    missing = [(sd, lam) for sd in grid_s for lam in grid_l if (sd, lam) not in at]
    if missing:
        raise ValueError("every seed must be run at every λ; missing (seed, λ): "
                         + ", ".join(f"({sd}, {lam:g})" for sd, lam in missing))
    stack = {name: np.stack([np.stack([np.asarray(getattr(curves[at[(sd, lam)]], field)) for lam in grid_l])
                             for sd in grid_s])
             for name, field in (("step", "step"), ("train", "train_loss"), ("val", "val_loss"), ("test", "test_loss"),
                                 ("r1", "r1"))}
    final = {name: stack[name][:, :, -1].mean(0) for name in ("train", "val", "test", "r1")}
    best = validated_lambda(stack["val"][:, :, -1])
    d = AUTHORS_SIZE["d"]
    return {**stack, "seeds": np.asarray(grid_s), "lams": np.asarray(grid_l),
            "log_d_t": np.log(np.maximum(stack["step"][0, 0], 1)) / np.log(d), "best": best,
            **{f"final_{k}": v for k, v in final.items()},
            "gain_seed": 1 - stack["test"][:, best, -1] / stack["test"][:, 0, -1],
            "sizes": {k: v for k, v in AUTHORS_SIZE.items() if k != "seed"}}


def authors_size_summary(out: dict[str, Any]) -> dict[str, Any]:
    r"""What the chapter reads off the stored runs at the authors' size (:func:`authors_size_output`'s ``out``),
    in the authors' figure's conventions: ``mse`` (final test MSE per :math:`\lambda`, mean over seeds) and
    ``mse_seed`` ``(S, L)``, ``r1_sum`` (final :math:`R_1` summed over the ``n`` training points, mean over
    seeds), ``best`` (the validated index), ``ratio`` (mean test MSE at it over the mean at :math:`\lambda = 0`)
    and ``ratio_seed`` ``(S,)`` (the same ratio within each seed), ``table`` (the curves per seed,
    :math:`\lambda` and :math:`\log_d t`: ``R1_sum``, ``train_mse``, ``val_mse``, ``test_mse``; the figure's
    data) and ``glue``. (A store of one seed, made before ``seeds`` was stored, reads as seed 100.)"""
    n, best = int(out["sizes"]["n"]), int(out["best"])
    mse_seed = 2 * np.asarray(out["test"])[:, :, -1]
    seeds = np.asarray(out.get("seeds", [AUTHORS_SIZE["seed"]] * mse_seed.shape[0]))
    mse, r1_sum = mse_seed.mean(0), n * np.asarray(out["r1"])[:, :, -1].mean(0)
    ratio_seed = mse_seed[:, best] / mse_seed[:, 0]
    lams = np.asarray(out["lams"], float)
    glue = {"r1-lam0-sum": float(r1_sum[0]), "test-lam0": float(mse[0]), "test-best": float(mse[best]),
            "test-lam0-min": float(mse_seed[:, 0].min()), "test-lam0-max": float(mse_seed[:, 0].max()),
            "test-best-min": float(mse_seed[:, best].min()), "test-best-max": float(mse_seed[:, best].max()),
            "best-lam": float(lams[best]), "best-lam-theirs": float(figure_lambda(lams[best], n)),
            "ratio": float(mse[best] / mse[0]), "ratio-seeds": figures.listed([f"{v:.3f}" for v in ratio_seed]),
            "ratio-min": float(ratio_seed.min()), "ratio-max": float(ratio_seed.max()),
            "seeds": len(seeds), "seed-list": ", ".join(str(int(v)) for v in seeds),
            "train-max": float(2 * np.max(np.asarray(out["train"])[:, :, -1])),
            "lams": ", ".join(f"{v:g}" for v in lams),
            "lams-theirs": ", ".join(f"{figure_lambda(v, n):g}" for v in lams),
            "test-all": ", ".join(f"{v:.3f}" for v in mse)}
    curves = {"R1_sum": n * np.asarray(out["r1"]), **{f"{k}_mse": 2 * np.asarray(out[k])
                                                      for k in ("train", "val", "test")}}
    table = figures.sweep_table(curves, dict(lam=lams, log_d_t=out["log_d_t"]))
    table["seed"] = seeds[table["seed"]]
    return {"mse": mse, "mse_seed": mse_seed, "r1_sum": r1_sum, "best": best, "ratio": float(mse[best] / mse[0]),
            "ratio_seed": ratio_seed, "seeds": seeds, "table": table, "glue": glue}


def load_authors_size() -> Any:
    """The stored runs at the authors' size (``results/good-directions/authors-size/d100/``,
    ``tools/good_directions_d100.py``) as :class:`featlearn.results.Stored`, or ``None`` when not stored."""
    from .. import results

    return results.load("authors-size", "d100", root=results.results_dir() / "good-directions")


#: The chapter's experiments, in its order (``fl.good_directions.SECTIONS[name](S, key)``).
SECTIONS = {"spectrum_outliers": spectrum_outliers, "regularisation_strength": regularisation_strength,
            "models_compared": models_compared, "sample_complexity": sample_complexity}


def plot_sample_complexity(out: dict[str, Any], fig: Any = None) -> Any:
    r"""Section 4's figure from :func:`sample_complexity`'s output ``out`` (live or stored). Left: the normalised
    test error against :math:`n/d^2` per :math:`d`, the network (solid) and the NTK (dashed), means over seeds,
    with the level and the degree-2 plateau. Right: the ratio :math:`R(d) = n^*_{\rm NTK}/n^*_{\rm network}` per
    seed (dots; a triangle where the NTK never reached the level, so that the ratio is a lower bound) and its median
    with the bootstrap interval, on log axes with ticks at the measured :math:`d`. Draws into ``fig`` (a new figure
    when ``None``) and returns it."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FixedLocator, FormatStrFormatter, LogLocator, NullLocator, ScalarFormatter

    sep = separations.from_dict(out, "pair_")
    curves, level = out["curves"], float(out["level"])
    dd = np.asarray(out["d"], float)
    fig = plt.figure(figsize=(figures.COLUMN_WIDTH, 3.0), layout="constrained") if fig is None else fig
    axs = fig.subplots(1, 2)
    for i, d in enumerate(out["d"]):
        at_d = curves["d"] == d
        x = curves["n"][at_d] / d**2
        axs[0].plot(x, curves["error_mean"][at_d], "-o", ms=3, color=f"C{i}", label=f"$d$ = {d}")
        axs[0].plot(x, curves["kernel_mean"][at_d], "--s", ms=3, color=f"C{i}")
    axs[0].axhline(level, color="k", ls=":", lw=1)
    axs[0].axhline(0.5, color="grey", ls="-", lw=0.8)
    axs[0].set(xscale="log", xlabel="$n/d^2$", ylabel="normalised test error")
    ratios = curves["n"] / curves["d"].astype(float) ** 2
    ticks = [v for v in (0.5, 1, 2, 4, 8, 16) if ratios.min() * 0.9 <= v <= ratios.max() * 1.1]
    for ax, where in ((axs[0], ticks), (axs[1], dd)):
        ax.xaxis.set_major_locator(FixedLocator(where))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_major_formatter(ScalarFormatter())
    x_right = ratios.max() * 1.05
    axs[0].text(x_right, level, "level", va="bottom", ha="right")
    axs[0].text(x_right, 0.5, "degree ≤ 2 plateau", va="bottom", ha="right", color="grey")
    handles = [Line2D([], [], color=f"C{i}", label=f"$d$ = {d}") for i, d in enumerate(out["d"])]
    handles += [Line2D([], [], color="k", ls="-", label="network"), Line2D([], [], color="k", ls="--", label="NTK")]
    axs[0].legend(handles=handles)
    r, kind = sep.ratio, sep.ratio_kind
    for i, d in enumerate(dd):
        jitter = d * np.exp(np.linspace(-0.04, 0.04, r.shape[1]))
        exact = kind[i] == separations.EXACT
        axs[1].plot(jitter[exact], r[i][exact], "o", ms=3, color="C0", alpha=0.5)
        axs[1].plot(jitter[kind[i] == separations.LOWER], r[i][kind[i] == separations.LOWER], "^", ms=4,
                    color="C3", alpha=0.7)
    err = np.vstack([sep.median - sep.median_low, sep.median_high - sep.median])
    axs[1].errorbar(dd, sep.median, yerr=np.clip(err, 0, None), fmt="s", color="k", ms=5, capsize=3)
    axs[1].axhline(1.0, color="grey", lw=0.8)
    axs[1].set(xscale="log", yscale="log", xlabel="$d$", ylabel=r"$n^*_{\rm NTK}\,/\,n^*_{\rm network}$")
    axs[1].xaxis.set_major_locator(FixedLocator(dd))
    axs[1].xaxis.set_minor_locator(NullLocator())
    axs[1].xaxis.set_major_formatter(ScalarFormatter())
    axs[1].yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    axs[1].yaxis.set_minor_locator(NullLocator())
    axs[1].yaxis.set_major_formatter(FormatStrFormatter("%g"))
    axs[1].legend(handles=[Line2D([], [], marker="o", ls="", color="C0", label="seed"),
                           Line2D([], [], marker="^", ls="", color="C3", label="seed, NTK censored"),
                           Line2D([], [], marker="s", ls="", color="k", label="median, 95% interval")])
    return fig


def plot_regularisation_strength(out: dict[str, Any], fig: Any = None, *, convention: str = "chapter") -> Any:
    r"""The λ figure from :func:`regularisation_strength`'s output ``out`` (live or stored): :math:`R_1`, the
    train and the test loss against :math:`\log_d t` for every :math:`\lambda` of the grid (mean ± sd over
    seeds; the validated one marked). ``convention``: ``"chapter"`` (½MSE, :math:`R_1` a mean over the training
    points) or ``"authors"`` (the authors' figure's: MSE, :math:`R_1` and :math:`\lambda` sums over the ``n``
    training points, :func:`authors_lambda`). Draws into ``fig`` (a new figure when ``None``) and returns it."""
    import matplotlib.pyplot as plt

    _checks.one_of("convention", convention, ("chapter", "authors"))
    n = int(out["sizes"]["n"]) if convention == "authors" else 1
    scale = {"r1": n, "train": 2.0, "test": 2.0} if convention == "authors" else {"r1": 1, "train": 1, "test": 1}
    fig = plt.figure(figsize=(figures.COLUMN_WIDTH, 5.4)) if fig is None else fig
    axs = fig.subplots(2, 2).ravel()  # R1, train, test; the fourth cell holds the legend
    t, best = out["log_d_t"], int(out["best"])
    for j, lam in enumerate(np.asarray(out["lams"]).tolist()):
        label = f"λ = {lam:g}" if convention == "chapter" else f"λ = {figure_lambda(lam, n):g} (ours {lam:g})"
        for ax, name in zip(axs[:3], ("r1", "train", "test"), strict=True):
            a = np.asarray(out[name])[:, j] * scale[name]
            mu, sd = a.mean(0), a.std(0)
            ax.plot(t[1:], mu[1:], label=label + (" (validated)" if j == best else ""), lw=2.4 if j == best else 1.4)
            ax.fill_between(t[1:], (mu - sd)[1:], (mu + sd)[1:], alpha=0.12)
    loss = "MSE" if convention == "authors" else "½MSE"
    for ax, title in zip(axs[:3], ("$R_1(W)$" + (", summed over $n$" if convention == "authors" else ""),
                                   f"train loss ({loss})", f"test loss ({loss})"), strict=True):
        ax.set(xlabel="$\\log_d t$", title=title)
    axs[1].set_yscale("log")
    if convention == "authors":
        axs[0].set_yscale("log")
    axs[3].axis("off")
    axs[3].legend(*axs[2].get_legend_handles_labels(), loc="center", title="mean ± sd over seeds")
    fig.tight_layout()
    return fig
