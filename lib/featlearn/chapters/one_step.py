r"""The chapter ``book/one-step.ipynb`` (Damian, Lee & Soltanolkotabi (2022)): what it runs, at which sizes, what it
checks and how it draws it. The mathematics it runs is one floor down, in :mod:`featlearn.one_step` (Algorithm 1,
the key lemma, the kernel baselines and the one-seed experiments).

Its contract is the chapters' (:mod:`featlearn.chapters`).

Sections: the key lemma (:func:`key_lemma`), the sample complexity of the alignment (:func:`sample_complexity`), the
network against the kernels (:func:`network_vs_kernels`, with the paired check :func:`network_beats_kernels`) and
transfer (:func:`transfer_learning`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import numpy as np
from jax import Array

from .. import _checks, figures, hermite, metrics, progress, sweeps, targets
from ..one_step import (
    SOURCE,
    Target,
    doubling_checkpoints,
    excess_alignment,
    gradient_path_run,
    kernel_baselines_run,
    learning_curve_run,
    transfer_run,
)
from ..profiles import Sizes
from ..scorecard import Claim

# The chapter's sizes (book/one-step.ipynb: ``S = fl.profiles.sizes(**one_step.SIZES)``, ``one_step`` this module):
# ``quick`` for a CPU, ``paper`` for a GPU; the same keys in both. Kernel baselines run at ``kernel_ratios``·d² (a
# subset of ``curve_ratios``) for ``d`` in ``kernel_d``, up to ``kernel_n_max`` samples (an n × n Gram matrix),
# scored on the first ``kernel_n_test`` test rows; the empirical NTK runs beside the closed-form one for ``d`` in
# ``entk_d``. Where the random features (``m`` distinct neurons) number fewer than CAPACITY N_2(d) and no kernel
# runs, the closed-form NTK runs from n = d² as the baseline with the capacity for degree 2
# (:func:`capable_baselines`). The quick kernels stop at 4096 samples (4 d² at d = 32), which leaves the budget for
# the NTK at d = 64 and n = d².
SIZES = dict(
    # toy: the smallest sizes that run every section, in seconds; what the tests run (not a result)
    toy=dict(seeds=3, path_d=[8, 16, 32], path_m_per_d=2, path_max=8, control_d=[8, 16], control_max=2,
             curve_d=[8, 12, 16], curve_ratios=[0.5, 1, 2, 4], m=16, kernel_d=[8, 12], kernel_ratios=[1, 2, 4],
             kernel_n_max=400, kernel_n_test=100, entk_d=[8], transfer_d=[8, 16, 32], source_ratio=4, n_target=64,
             n_test=100, batch=64),
    quick=dict(seeds=3, path_d=[16, 24, 32, 48, 64], path_m_per_d=2, path_max=64, control_d=[16, 32, 64],
               control_max=16, curve_d=[16, 32, 64], curve_ratios=[0.5, 1, 2, 4, 8], m=256, kernel_d=[16, 32],
               kernel_ratios=[1, 2, 4, 8], kernel_n_max=4096, kernel_n_test=20_000, entk_d=[16],
               transfer_d=[16, 32, 64], source_ratio=16, n_target=2048, n_test=50_000, batch=4096),
    # cpu_large: between the two, sized to this session's CPU budget for a stored run (32 minutes measured on 2 shared
    # cores; the issue allows up to 2 hours): the gradient paths to d = 256 (two minutes per seed there: most of the
    # run), the network to d = 128 and 16 d², the kernels to 32 d² at d = 16 and 8 d² at d = 32, four seeds.
    cpu_large=dict(seeds=4, path_d=[16, 24, 32, 48, 64, 96, 128, 256], path_m_per_d=2, path_max=64,
                   control_d=[16, 32, 64, 128, 256], control_max=16, curve_d=[16, 32, 64, 128],
                   curve_ratios=[0.5, 1, 2, 4, 8, 16], m=256, kernel_d=[16, 32], kernel_ratios=[1, 2, 4, 8, 16, 32],
                   kernel_n_max=8192, kernel_n_test=20_000, entk_d=[16], transfer_d=[16, 32, 64, 128],
                   source_ratio=16, n_target=2048, n_test=50_000, batch=4096),
    paper=dict(seeds=5, path_d=[64, 128, 256, 512], path_m_per_d=2, path_max=64, control_d=[64, 128, 256, 512],
               control_max=16, curve_d=[64, 128, 256, 512], curve_ratios=[0.5, 1, 2, 4, 8, 16, 32], m=1024,
               kernel_d=[64, 128], kernel_ratios=[1, 2, 4, 8], kernel_n_max=32768, kernel_n_test=200_000,
               entk_d=[64], transfer_d=[64, 128, 256, 512], source_ratio=16, n_target=8192, n_test=200_000,
               batch=16384),
)


#: ``featlearn reproduce --cut-short``: the step and sample budgets of a test run of a large profile on a CPU (see
#: :func:`featlearn.profiles.cut_short`); the dimensions, widths, seeds and batch size stay the profile's. The
#: ratios keep n = d² (the sections compare every method there); the kernels then run at d = 64 only.
CUT_SHORT = dict(path_max=("samples", 1), control_max=("samples", 1), curve_ratios=("samples", [0.5, 1]),
                 kernel_ratios=("samples", [1]), kernel_n_max=("samples", 4096),
                 kernel_n_test=("samples", 2000), source_ratio=("samples", 1), n_target=("samples", 512),
                 n_test=("samples", 2000))


#: The new head of the transfer section, :math:`g_t(z) = [h_3(z_1) + h_1(z_1)h_2(z_2)]/\sqrt2` (no degree-2 part).
TARGET_HEAD = {(3, 0): 2**-0.5, (1, 2): 2**-0.5}


#: The degenerate control of the sample-complexity section, :math:`h_3(u\cdot x)` (:math:`H = 0`).
CONTROL = {3: 1.0}


#: The level of the excess alignment at which the sample-complexity section records its crossing.
LEVEL = 0.5


#: The kernels of the network-vs-kernels section, in the order their rows are listed.
KERNEL_METHODS = ("entk", "ntk")


#: The degree a kernel must learn next to go below the plateau (the variance above degree 2): :data:`SOURCE` has
#: no degree-3 part (its variance above degree 2 and above degree 3 are both 1/2), so the next degree is 4.
NEXT_DEGREE = 4


#: The kernels' window: the plateau is checked on the kernel runs with :math:`n \le` ``KERNEL_WINDOW``
#: :math:`\cdot N_4(d)`, fewer samples than half the degree-4 monomials (the kernel-regime chapter's "nothing of
#: degree :math:`\ell+1` before :math:`N_{\ell+1}/2` samples", with :math:`\ell+1 = 4`).
KERNEL_WINDOW = 0.5


#: A finite-width baseline — random features, or the empirical NTK of the network's ``m`` neurons — has the capacity
#: to learn the degree-2 part when its neurons number at least this many times :math:`N_2(d)` (distinct features).
#: The value is the positive control's (``tests/test_separations.py``): at :math:`d = 16` and :math:`n = 16N_2`,
#: random features reach the degree-2 error bound from :math:`8N_2` neurons but not from :math:`2N_2` or
#: :math:`4N_2`, and the empirical NTK not from :math:`2N_2`. Where the chapter's ``m`` is smaller, the closed-form
#: NTK (the kernel limit, :math:`m = \infty`) runs in their place as the baseline with that capacity.
CAPACITY = 8


#: The baselines of finite width ``m`` (the network's neurons), to which :data:`CAPACITY` applies.
FINITE_WIDTH = ("rf", "entk")


# --- the chapter's claims measured both live and on the stored results, each stated once (fl.scorecard.Claim)
#: The per-neuron alignment needs :math:`n \asymp d^2`: the exponent of :math:`d` in its half-way sample size.
NEURON_EXPONENT = Claim(
    "neuron-exponent", "one-step-thm-main", threshold="in [1.7, 2.6] (paper: 2)",
    measured="exponent of d in the n at which per-neuron alignment is half way [95% interval]",
    holds=lambda exponent: 1.7 <= exponent <= 2.6)
#: The top-r subspace is found before the individual neurons: ``(exponent, its upper end, per-neuron lower end)``.
TOP_BEFORE_NEURON = Claim(
    "top-before-neuron", "one-step-thm-main", status="partly",
    measured="top-r subspace exponent; its 95% upper end; per-neuron lower end",
    threshold="exponent ≤ 1.5 and upper end < per-neuron lower end",
    holds=lambda v: v[0] <= 1.5 and v[1] < v[2])
#: With a degenerate expected Hessian (the :math:`h_3` control) the alignment stays below the level, falling with d.
DEGENERATE_NOT_LEARNED = Claim(
    "degenerate-not-learned", "one-step-def-hessian", measured="h3 control's alignment at its largest n, d = {d}",
    threshold="each < {level}, falling with d",
    holds=lambda ctrl, level: bool(np.all(np.asarray(ctrl) < level) and np.all(np.diff(ctrl) < 0)))


#: At the largest n the network's error plus three standard errors is below the plateau, at every d (worst d).
NETWORK_BELOW_PLATEAU = Claim(
    "network-below-plateau", "one-step-thm-kernel", threshold="< {plateau:.2f} (the plateau)",
    measured="network's test error + 3 SE at the largest n, worst d", holds=lambda upper, plateau: upper < plateau)
#: Within the kernels' window every kernel stays at or above the plateau: its lowest error minus the plateau in SEs.
KERNELS_ABOVE_PLATEAU = Claim(
    "kernels-above-plateau", "one-step-thm-kernel", threshold="≥ -3 (plateau {plateau:.2f})",
    measured="every kernel's error minus the plateau, in SEs, lowest over n ≤ {window} N_4(d)",
    holds=lambda z: z >= -3)
#: The closed-form NTK approaches the plateau: its excess over it at least halves from n = d² to the largest n.
NTK_EXCESS_FALLS = Claim(
    "ntk-excess-falls", "one-step-thm-kernel", threshold="≤ 0.5", holds=lambda ratio: ratio <= 0.5,
    measured="NTK excess over the plateau at the largest n / at n = d², worst d")
#: Every kernel solve converged at its selected penalty.
CG_CONVERGED = Claim("cg-converged", "one-step-thm-kernel", measured="largest relative CG residual at the selected λ",
                     threshold="≤ 1e-2", holds=lambda res: res <= 1e-2)
#: The paired separation against the baselines with the capacity for degree 2: the value is the network's worst
#: error + 3 SE and its worst margin; the predicate (:func:`network_beats_kernels`) reads the arrays themselves.
NETWORK_BEATS_CAPABLE_BASELINES = Claim(
    "network-beats-capable-baselines", "one-step-thm-kernel", threshold="< {plateau:.2f}; < 0",
    measured="network's error + 3 SE at the largest n, worst d; network − capable baseline, worst n ≥ d², d of {dims}",
    holds=lambda value, upper, gaps, plateau: network_beats_kernels(upper, gaps, plateau))
#: Transferred features learn the new head with an error that does not grow with d ...
TRANSFER_FLAT_IN_D = Claim(
    "transfer-flat-in-d", "one-step-thm-transfer", threshold="≤ 0.05", holds=lambda rise: rise <= 0.05,
    measured="transfer error at the largest d minus at the smallest, d = {dims}")
#: ... random features do not learn it ...
TRANSFER_RF_NULL = Claim("transfer-rf-null", "one-step-thm-transfer", threshold="≥ 0.9", holds=lambda v: v >= 0.9,
                         measured="random features' error on the new head, lowest over d")
#: ... and transfer is far below them.
TRANSFER_BEATS_RF = Claim("transfer-beats-rf", "one-step-thm-transfer", threshold="< 0.5", holds=lambda v: v < 0.5,
                          measured="transfer error / random features' error, worst d")

def capable_baselines(S: Sizes) -> dict[int, tuple[int, ...]]:
    r"""The dimensions of the network's curve (``S.curve_d``) whose random features lack the capacity to learn the
    degree-2 part, :math:`m <` :data:`CAPACITY`:math:`\cdot N_2(d)`, and that have no kernel run
    (``S.kernel_d``), with the sample sizes at which the closed-form NTK runs there as the baseline with that
    capacity: :math:`n = r\,d^2` for the kernel ratios up to the kernel budget, and :math:`n = d^2` (where the
    comparison starts) whenever :math:`d^2 \le 2\,` ``S.kernel_n_max``. ``{d: ns}`` (a ``d`` with no such ``n`` is
    left out: there the chapter has no baseline with the capacity, and says so)."""
    out = {}
    for d in S.curve_d:
        if S.m >= CAPACITY * hermite.monomial_count(d, 2) or d in S.kernel_d:
            continue
        ns = {int(r * d * d) for r in S.kernel_ratios if r * d * d <= S.kernel_n_max}
        if d * d <= 2 * S.kernel_n_max:
            ns.add(d * d)
        if ns:
            out[d] = tuple(sorted(ns))
    return out


def network_beats_kernels(network_upper: Sequence[float], gaps: Sequence[float], plateau: float) -> bool:
    r"""The chapter's paired separation check: the network's error plus three standard errors at its largest
    :math:`n` is below ``plateau`` at every ``d`` (``network_upper``), and the network beats every baseline at every
    :math:`n\ge d^2` where both ran (``gaps``: network − baseline, worst :math:`n`, all negative). A kernel handed in
    the network's place fails it: within its window it stays at or above the plateau, and against itself its gap
    is 0."""
    upper, gap = np.asarray(network_upper, float), np.asarray(gaps, float)
    if upper.size == 0 or gap.size == 0:
        raise ValueError("network_upper and gaps must each hold at least one value")
    return bool(np.all(upper < plateau) and np.all(gap < 0))


def paired_margins(mean: Mapping[str, np.ndarray], network: str = "network") -> dict[str, np.ndarray]:
    r"""The margins of the paired comparison from a ``mean`` table (columns ``d, method, n, nmse``): for each
    ``d`` where ``network`` ran and each other method there, the largest difference ``network`` − method over the
    sample sizes :math:`n\ge d^2` at which both ran (negative: ``network`` is better at every such :math:`n`).
    Columns ``d, method, gap``, in the table's order of ``d`` and methods."""
    d, method, n, err = (np.asarray(mean[k]) for k in ("d", "method", "n", "nmse"))
    rows: dict[str, list] = dict(d=[], method=[], gap=[])
    for dd in dict.fromkeys(d[method == network].tolist()):
        mine = {int(k): float(e) for k, e in zip(n[(d == dd) & (method == network)],
                                                 err[(d == dd) & (method == network)], strict=True)}
        for other in dict.fromkeys(method[(d == dd) & (method != network)].tolist()):
            sel = (d == dd) & (method == other)
            diffs = [mine[int(k)] - float(e) for k, e in zip(n[sel], err[sel], strict=True)
                     if k >= dd * dd and int(k) in mine]
            if diffs:
                rows["d"].append(dd)
                rows["method"].append(other)
                rows["gap"].append(max(diffs))
    return {"d": np.array(rows["d"]), "method": np.array(rows["method"]), "gap": np.array(rows["gap"], float)}


def _source(d: int) -> targets.MultiIndexTarget:
    """The chapter's source target in dimension ``d`` (its ``U`` is drawn from ``key(1)`` at every ``d``)."""
    return targets.multi_index(jax.random.key(1), d, SOURCE)


def _gradient_paths(S: Sizes, key: Array, ds: Sequence[int], top: int, target_of: Callable[[int], Target],
                    desc: str) -> dict[int, tuple[np.ndarray, dict[str, np.ndarray]]]:
    """:func:`gradient_path_run` over ``S.seeds`` seeds for every ``d`` in ``ds`` (sample sizes
    :func:`doubling_checkpoints` up to ``top``·d²): ``{d: (ns, {name: (seeds, K)})}``."""
    out = {}
    for d in progress.progress(ds, desc=desc):
        ns = doubling_checkpoints(d, top)
        out[d] = (np.array(ns), sweeps.sweep(gradient_path_run, key=key, seeds=S.seeds, fixed=dict(
            target=target_of(d), m=S.path_m_per_d * d, checkpoints=ns, batch=S.batch)))
    return out


def _mean_se(se: np.ndarray) -> np.ndarray:
    """Standard error of the mean over seeds (axis 0) from each seed's standard error over the test rows."""
    return np.sqrt((se**2).sum(0)) / se.shape[0]


def key_lemma(S: Sizes, key: Array) -> dict[str, Any]:
    r"""Section 1, the key lemma: the first gradient on nested prefixes of one ghost data set
    (:func:`gradient_path_run`, ``n`` doubling up to ``S.path_max``·d², width ``S.path_m_per_d``·d) for every ``d``
    in ``S.path_d``.

    Returns ``table`` (columns ``d, seed, n, cosine, alignment, top_overlap``: every seed, the figure's data);
    ``mean`` (``d, n, cosine``: the cosine averaged over seeds); per ``d`` (``d``): ``cosine_last``, the mean
    cosine at the largest ``n``, and ``cosine_rise``, the smallest change of the mean cosine as ``n`` doubles;
    ``glue``: ``cos-min`` (the smallest ``cosine_last``) and ``cos-dmax`` (``cosine_last`` at the largest ``d``)."""
    path = _gradient_paths(S, key, S.path_d, S.path_max, _source, "dimensions")
    names = ("cosine", "alignment", "top_overlap")
    mean = {d: out["cosine"].mean(0) for d, (_, out) in path.items()}
    cos_last = {d: float(out["cosine"][:, -1].mean()) for d, (_, out) in path.items()}
    return {"table": figures.concat_tables(*(figures.sweep_table({k: out[k] for k in names}, {"n": ns}, d=d)
                                             for d, (ns, out) in path.items())),
            "mean": figures.concat_tables(*(figures.sweep_table({"cosine": mean[d]}, {"n": ns}, seed=None, d=d)
                                            for d, (ns, _) in path.items())),
            "d": np.array(list(path)), "cosine_last": np.array([c[-1] for c in mean.values()]),
            "cosine_rise": np.array([np.diff(c).min() for c in mean.values()]),
            "glue": {"cos-min": min(cos_last.values()), "cos-dmax": cos_last[S.path_d[-1]]}}


def sample_complexity(S: Sizes, key: Array) -> dict[str, Any]:
    r"""Section 2, sample complexity: the per-neuron alignment :math:`A` and the top-r subspace overlap of
    :math:`W^1` on the gradient paths of :func:`key_lemma` (the same sweeps: cached), their excess over the
    random value (:func:`excess_alignment`), the ``n`` at which each crosses :data:`LEVEL` for every ``d`` and
    seed (:func:`featlearn.metrics.crossing_point`) and the exponent of that ``n`` in ``d``
    (:func:`featlearn.metrics.fit_loglog`, bootstrap over seeds); and the degenerate control :data:`CONTROL` up to
    ``S.control_max``·d² for every ``d`` in ``S.control_d``.

    Returns ``table`` (columns ``quantity, d, seed, n, value``: the alignment, the overlap and the control's
    alignment at every ``n``, then the crossings ``n_half_neuron`` and ``n_half_top`` with ``value`` the level:
    the figure's data); ``mean`` (``d, n, alignment, top_overlap``, averaged over seeds) and ``control_mean``
    (``d, n, alignment``); ``crossing`` (``d, seed, neuron, top``); ``<neuron|top>_<slope|intercept|ci_low|
    ci_high>`` (the log-log fits); ``control_d`` and ``control_alignment`` (the control's mean alignment at its
    largest ``n``); ``level``; ``glue``: the fits' ``<neuron|top>-<slope|ci-low|ci-high>`` and the control's
    alignment at the smallest and the largest ``d``, ``ctrl-first`` and ``ctrl-last``."""
    path = _gradient_paths(S, key, S.path_d, S.path_max, _source, "dimensions")
    control = _gradient_paths(S, key, S.control_d, S.control_max,
                              lambda d: targets.single_index(jax.random.key(1), d, CONTROL), "control")
    r = _source(S.path_d[0]).r  # the rank of U
    cross = dict(d=[], seed=[], neuron=[], top=[])
    for d, (ns, out) in path.items():
        for s in range(S.seeds):
            cross["d"].append(d)
            cross["seed"].append(s)
            cross["neuron"].append(metrics.crossing_point(ns, excess_alignment(out["alignment"][s], r, d), LEVEL))
            cross["top"].append(metrics.crossing_point(ns, excess_alignment(out["top_overlap"][s], r, d), LEVEL))
    cross = {k: np.array(v) for k, v in cross.items()}
    fits = {name: metrics.fit_loglog(cross["d"], cross[name], groups=cross["seed"]) for name in ("neuron", "top")}
    table = [figures.sweep_table({"value": out[q.removeprefix("control_")]}, {"n": ns}, quantity=q, d=d)
             for q, res in (("alignment", path), ("top_overlap", path), ("control_alignment", control))
             for d, (ns, out) in res.items()]
    table += [{"quantity": np.full(len(cross["d"]), f"n_half_{name}"), "d": cross["d"], "seed": cross["seed"],
               "n": cross[name], "value": np.full(len(cross["d"]), LEVEL)} for name in ("neuron", "top")]

    def means(res, names):
        return figures.concat_tables(*(figures.sweep_table({k: out[k].mean(0) for k in names}, {"n": ns}, seed=None,
                                                           d=d) for d, (ns, out) in res.items()))

    out = {"table": figures.concat_tables(*table), "mean": means(path, ("alignment", "top_overlap")),
           "control_mean": means(control, ("alignment",)), "crossing": cross, "level": LEVEL,
           "control_d": np.array(list(control)),
           "control_alignment": np.array([float(o["alignment"][:, -1].mean()) for _, o in control.values()])}
    for name, fit in fits.items():
        out |= {f"{name}_{k}": getattr(fit, k) for k in ("slope", "intercept", "ci_low", "ci_high")}
    glue = {f"{name}-{k.replace('_', '-')}": out[f"{name}_{k}"] for name in fits
            for k in ("slope", "ci_low", "ci_high")}
    return out | {"glue": glue | {"ctrl-first": float(out["control_alignment"][0]),
                                  "ctrl-last": float(out["control_alignment"][-1])}}


def kernel_floor(mean: Mapping[str, np.ndarray], plateau: float, max_ratio: float | None = None, *,
                 window: float | None = None) -> tuple[float, str]:
    r"""The kernel run (any method but ``network`` of :func:`network_vs_kernels`'s ``mean`` table: columns ``d``,
    ``method``, ``n``, ``nmse``, ``se``) that comes closest to ``plateau`` from above, or goes furthest below it,
    in standard errors: ``(z, that run in words)``, with :math:`z = (\text{error} - \text{plateau})/\text{SE}`.
    ``max_ratio``: only the runs with :math:`n \le` ``max_ratio``·d². ``window``: only the runs with
    :math:`n \le` ``window``·:math:`N_4(d)` (:data:`KERNEL_WINDOW`): the source has no degree-3 part, so the next
    degree a kernel can learn past the plateau is 4, and it costs of order :math:`N_4(d)=\binom{d+3}{4}` samples."""
    d, method, n = (np.asarray(mean[k]) for k in ("d", "method", "n"))
    keep = method != "network"
    if max_ratio is not None:
        keep &= n <= max_ratio * d.astype(float) ** 2
    if window is not None:
        _checks.real_in("window", window, 0.0, low_open=True)
        keep &= n <= window * np.array([hermite.monomial_count(int(v), NEXT_DEGREE) for v in d], float)
    if not np.any(keep):
        raise ValueError(f"no kernel run with n <= max_ratio d^2 (max_ratio = {max_ratio}) and n <= window N_4(d) "
                         f"(window = {window})")
    z = (np.asarray(mean["nmse"], float) - plateau) / np.asarray(mean["se"], float)
    i = np.flatnonzero(keep)[np.argmin(z[keep])]
    return float(z[i]), (f"{method[i]} at d = {d[i]}, n = {n[i]}: {float(mean['nmse'][i]):.4f} ± "
                         f"{float(mean['se'][i]):.4f} (mean ± SE)")


def network_vs_kernels(S: Sizes, key: Array) -> dict[str, Any]:
    r"""Section 3, the network against kernels: :func:`learning_curve_run` (Algorithm 1 and random features) at
    ``n = r``·d² for ``r`` in ``S.curve_ratios`` and every ``d`` in ``S.curve_d``, and :func:`kernel_baselines_run`
    (the closed-form NTK, and the empirical NTK for ``d`` in ``S.entk_d``) at ``S.kernel_ratios``·d² up to
    ``S.kernel_n_max`` samples for ``d`` in ``S.kernel_d``, on the same samples (same seed keys; the kernels one
    seed per program, each holding its ``n × n`` Gram matrices).

    Returns ``table`` (columns ``d, method, seed, n, nmse, se``: every seed, methods ``network``, ``rf``, ``entk``,
    ``ntk``; the figure's data) and ``mean`` (the same averaged over seeds, ``se`` the standard error of the mean);
    ``plateau``, the target's variance above degree 2; over ``d`` in ``S.curve_d``: ``network_last`` and
    ``network_last_se`` (at the largest ratio) and ``network_upper`` (``network_last`` + 3 SE); ``spread`` and
    ``spread_small``, the gap between the network's curves of the two largest and of the two smallest ``d`` at
    each ratio; ``kernel_z``, the most negative distance of any kernel run (random features included) to the
    plateau in standard errors, and ``kernel_worst``, that run in words; over ``kernel_dims`` (the dimensions with
    kernels): ``ntk_top``, the closed-form NTK's error at its largest ``n``, and ``excess_ratio``, its excess over
    the plateau there as a fraction of its excess at ``n = d²``; ``kernel_top_ratio``, the largest kernel ``n``
    over d² at the largest kernel ``d``; ``entk_dims``; ``cg_res``, the largest conjugate-gradient residual at a
    selected :math:`\lambda`; ``margins`` (columns ``d, method, gap``): the largest difference network − method
    over ``n ≥ d²`` (negative: the network is better at every such ``n``), for random features at every ``d``
    and for each kernel where it ran; and ``glue``, the numbers the prose quotes."""
    curve, kern = {}, {}
    for d in progress.progress(S.curve_d, desc="dimensions"):
        tgt = _source(d)
        ns = tuple(int(r * d * d) for r in S.curve_ratios)
        curve[d] = (np.array(ns), sweeps.sweep(learning_curve_run, key=key, seeds=S.seeds, fixed=dict(
            target=tgt, m=S.m, ns=ns, n_test=S.n_test, batch=S.batch)))
        kn = tuple(int(r * d * d) for r in S.kernel_ratios if r * d * d <= S.kernel_n_max)
        if d in S.kernel_d and kn:
            names = ("ntk", "entk") if d in S.entk_d else ("ntk",)
            # One seed per program (chunk=1): each holds its n x n Gram matrices (1 GiB for two kernels at n = 8192).
            kern[d] = (np.array(kn), sweeps.sweep(kernel_baselines_run, key=key, seeds=S.seeds, chunk=1, fixed=dict(
                target=tgt, m=S.m, ns=kn, n_test=S.kernel_n_test, batch=S.batch, kernel_names=names)))
    capable = {}
    for d, kn in capable_baselines(S).items():  # the closed-form NTK where random features lack the capacity
        capable[d] = (np.array(kn), sweeps.sweep(kernel_baselines_run, key=key, seeds=S.seeds, chunk=1, fixed=dict(
            target=_source(d), m=S.m, ns=kn, n_test=S.kernel_n_test, batch=S.batch, kernel_names=("ntk",))))
    plateau = _source(16).plateau(2)
    # Every method at every size, per seed and averaged: (method, d, ns, errors (seeds, K), standard errors).
    runs = [(k, d, ns, out[k], out[f"{k}_se"]) for d, (ns, out) in curve.items() for k in ("network", "rf")]
    runs += [(k, d, kn, out[k], out[f"{k}_se"]) for d, (kn, out) in (kern | capable).items() for k in KERNEL_METHODS
             if k in out]
    table = figures.concat_tables(*(figures.sweep_table({"nmse": err, "se": se}, {"n": ns}, d=d, method=k)
                                    for k, d, ns, err, se in runs))
    mean = figures.concat_tables(*(figures.sweep_table({"nmse": err.mean(0), "se": _mean_se(se)}, {"n": ns},
                                                       seed=None, d=d, method=k) for k, d, ns, err, se in runs))
    net = np.stack([out["network"].mean(0) for _, out in curve.values()])  # (d, ratios)
    net_se = np.stack([_mean_se(out["network_se"]) for _, out in curve.values()])
    top = {d: kn[-1] for d, (kn, _) in kern.items()}
    excess = {d: float((out["ntk"].mean(0)[-1] - plateau) / (out["ntk"].mean(0)[kn == d * d][0] - plateau))
              for d, (kn, out) in kern.items()}
    margins = paired_margins(mean)
    # Which baselines have the capacity to learn the degree-2 part: the closed-form kernels (m = infinity), and the
    # finite-width ones (random features, the empirical NTK) with m >= CAPACITY N_2(d) neurons.
    margins["capable"] = np.array([k not in FINITE_WIDTH or S.m >= CAPACITY * hermite.monomial_count(int(d), 2)
                                   for d, k in zip(margins["d"], margins["method"], strict=True)])
    ntk_top = {d: float(out["ntk"].mean(0)[-1]) for d, (_, out) in kern.items()}
    entk_top = {d: float(out["entk"].mean(0)[-1]) for d, (_, out) in kern.items() if "entk" in out}
    dk = max(kern)
    spread, spread_small = np.abs(net[-1] - net[-2]), np.abs(net[1] - net[0])
    kernel_z, kernel_worst = kernel_floor(mean, plateau)
    window_z, window_worst = kernel_floor(mean, plateau, window=KERNEL_WINDOW)
    cg_res = max(float(o["cg_residual"].max()) for _, o in (kern | capable).values())
    big_d = [d for d in S.curve_d if d not in kern]  # the dimensions without a kernel of the d <= 32 kind
    cap_gap = {d: float(margins["gap"][(margins["d"] == d) & margins["capable"]].max()) for d in big_d
               if np.any((margins["d"] == d) & margins["capable"])}
    glue = {"net-last": float(net[:, -1].mean()), "spread": float(spread.max()),
            "spread-small": float(spread_small.max()),
            "kernel-min": float(np.min(mean["nmse"][mean["method"] != "network"])), "kernel-z": kernel_z,
            "plateau": plateau,
            "kernel-d-max": dk, "kernel-d-min": min(kern), "kernel-n-max": f"{int(top[dk]):,}",
            "kernel-top-ratio": float(top[dk] / dk**2), "rate-ratio": float(dk**2 / top[dk]),
            "ntk-top-small": ntk_top[min(kern)], "ntk-top-big": ntk_top[dk], "entk-top": min(entk_top.values()),
            "entk-d": ", ".join(str(d) for d in entk_top), "excess-ratio": max(excess.values()), "cg-res": cg_res,
            "window": KERNEL_WINDOW, "window-z": window_z, "n4-small": f"{hermite.monomial_count(min(kern), 4):,}",
            "kernel-n-small": f"{int(top[min(kern)]):,}", "kernel-ratio-small": float(top[min(kern)] / min(kern) ** 2),
            "kernel-n4-multiple-small": float(top[min(kern)] / hermite.monomial_count(min(kern), 4)),
            "window-n-small": f"{int(KERNEL_WINDOW * hermite.monomial_count(min(kern), 4)):,}",
            "n2-rf-short": ", ".join(f"{hermite.monomial_count(d, 2):,}" for d in S.curve_d
                                     if S.m < CAPACITY * hermite.monomial_count(d, 2)),
            "capable-d": ", ".join(str(d) for d in capable) or "none", "capacity": CAPACITY,
            "capable-ntk": ", ".join(f"{float(o['ntk'].mean(0)[0]):.3f}" for o in (v for _, v in capable.values()))
                           or "not run",
            "capable-gap": max(cap_gap.values()) if cap_gap else float("nan")}
    return {
        "table": table, "mean": mean, "plateau": plateau, "network_last": net[:, -1], "network_last_se": net_se[:, -1],
        "network_upper": net[:, -1] + 3 * net_se[:, -1], "spread": spread, "spread_small": spread_small,
        "kernel_z": kernel_z, "kernel_worst": kernel_worst, "kernel_dims": np.array(list(kern)),
        "window_z": window_z, "window_worst": window_worst, "capable_dims": np.array(list(capable), int),
        "capable_gap": np.array([cap_gap.get(d, np.nan) for d in big_d]), "big_dims": np.array(big_d, int),
        "kernel_top_ratio": glue["kernel-top-ratio"],
        "ntk_top": np.array(list(ntk_top.values())), "excess_ratio": np.array(list(excess.values())),
        "entk_dims": np.array(list(entk_top)), "cg_res": cg_res,
        "margins": {k: np.asarray(v) for k, v in margins.items()}, "glue": glue,
    }


def transfer_learning(S: Sizes, key: Array) -> dict[str, Any]:
    r"""Section 4, transfer learning: :func:`transfer_run` from the source :data:`SOURCE`, learned on
    ``S.source_ratio``·d² samples, to the head :data:`TARGET_HEAD` sharing its ``U``, fitted on ``S.n_target``
    samples, for every ``d`` in ``S.transfer_d``.

    Returns ``table`` (columns ``method, seed, d, nmse`` with methods ``transfer``, ``scratch`` and ``rf``: every
    seed, the figure's data); over ``d`` (``d``): ``transfer``, ``scratch`` and ``rf``, the errors on the new head
    averaged over seeds; ``glue``: those at the smallest and the largest ``d`` and the smallest of ``rf``."""
    trans = {}
    for d in progress.progress(S.transfer_d, desc="dimensions"):
        src = _source(d)
        tgt = targets.MultiIndexTarget(src.U, tuple(TARGET_HEAD.items()))
        trans[d] = sweeps.sweep(transfer_run, key=key, seeds=S.seeds, fixed=dict(
            source=src, target=tgt, m=S.m, n_source=S.source_ratio * d * d, n_target=S.n_target,
            n_test=S.n_test, batch=S.batch))
    ds, methods = np.array(S.transfer_d), ("transfer", "scratch", "rf")
    table = figures.concat_tables(*(figures.sweep_table(
        {"nmse": np.stack([trans[d][k] for d in S.transfer_d], axis=1)}, {"d": ds}, method=k) for k in methods))
    out = {k: np.array([trans[d][k].mean() for d in S.transfer_d]) for k in methods}
    glue = {"tr-first": float(out["transfer"][0]), "tr-last": float(out["transfer"][-1]),
            "rf-min": float(out["rf"].min()), "scratch-first": float(out["scratch"][0]),
            "scratch-last": float(out["scratch"][-1])}
    return out | {"table": table, "d": ds, "glue": glue}


def prose_sizes(S: Sizes) -> dict[str, int | float | str]:
    r"""The sizes the chapter's prose quotes, by glue name (``one-step-<name>``): counts, the largest ``n`` of each
    experiment as a multiple of :math:`d^2`, the dimensions and ratios the network-vs-kernels text discusses
    (``lag-lo``/``lag-hi``: the sample sizes of the smallest ``d`` at the second and the second-to-last ratio) and
    the transfer section's :math:`n_t/d^2`. Large counts are strings with thousands separators."""
    d0, r = S.curve_d[0], S.curve_ratios
    return {"seeds": S.seeds, "path-max": S.path_max, "m-per-d": S.path_m_per_d, "control-max": S.control_max,
            "m": S.m, "n-test": f"{S.n_test:,}", "kernel-n-test": f"{S.kernel_n_test:,}",
            "d-max": max(S.path_d + S.curve_d), "source-ratio": S.source_ratio, "n-target": f"{S.n_target:,}",
            "ratio-last": float(r[-1]), "d-small": d0, "d-second": S.curve_d[1], "d-big": S.curve_d[-1],
            "lag-lo": f"{int(r[1] * d0**2):,}", "lag-hi": f"{int(r[-2] * d0**2):,}", "lag-ratio-lo": r[1],
            "lag-ratio-hi": r[-2], "transfer-d-first": S.transfer_d[0], "transfer-d-last": S.transfer_d[-1],
            "nt-ratio-first": S.n_target / S.transfer_d[0] ** 2, "nt-ratio-last": S.n_target / S.transfer_d[-1] ** 2}


#: The chapter's experiments in its order (``featlearn reproduce one-step``).
#: The chapter's seed: every section receives ``jax.random.key(SEED)`` (the notebook and ``featlearn reproduce``).
SEED = 2022


SECTIONS = {"key_lemma": key_lemma, "sample_complexity": sample_complexity, "network_vs_kernels": network_vs_kernels,
            "transfer_learning": transfer_learning}


def _dims(column: np.ndarray) -> list:
    """The distinct values of a table's ``d`` column, in the order the section ran them."""
    return list(dict.fromkeys(np.asarray(column).tolist()))


def plot_sample_complexity(out: dict[str, Any], fig: Any = None) -> Any:
    r"""The alignment figure from :func:`sample_complexity`'s output ``out`` (live or stored), drawn for the book's
    column: the per-neuron alignment against :math:`n/d^2` with the degenerate control, the top-r subspace overlap
    against :math:`n/d`, the ``n`` at which each reaches half way against ``d`` with the fitted power laws, and one
    legend for the colours (``d``) and line styles. Draws into ``fig`` (a new figure when ``None``) and returns it."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    from ..figures import plain_log_ticks

    fig = plt.figure(figsize=(figures.COLUMN_WIDTH, 5.6)) if fig is None else fig
    ax = fig.subplots(2, 2).ravel()
    mean, ctrl, cross = out["mean"], out["control_mean"], out["crossing"]
    path_d = _dims(mean["d"])
    ds = np.array(path_d, float)
    shade = plt.get_cmap("viridis")
    colour = {d: shade(0.9 * i / max(len(path_d) - 1, 1)) for i, d in enumerate(path_d)}  # dark: small d
    for d in path_d:
        r = mean["d"] == d
        ax[0].semilogx(mean["n"][r] / d**2, mean["alignment"][r], "o-", color=colour[d], label=f"d = {d}")
        ax[1].semilogx(mean["n"][r] / d, mean["top_overlap"][r], "o-", color=colour[d], label=f"d = {d}")
    for d in _dims(ctrl["d"]):
        r = ctrl["d"] == d
        ax[0].semilogx(ctrl["n"][r] / d**2, ctrl["alignment"][r], "x:", color=colour.get(d, "0.4"),
                       label=f"$h_3$ control, d = {d}")
    ax[0].set(xlabel="$n/d^2$", ylabel="alignment", title="per-neuron alignment $A$")
    ax[1].set(xlabel="$n/d$", ylabel="overlap", title="top-$r$ subspace overlap")
    for name, lab, c in (("neuron", "per neuron", "C0"), ("top", "top-$r$", "C1")):
        e, c0 = out[f"{name}_slope"], np.exp(out[f"{name}_intercept"])
        ax[2].loglog(cross["d"], cross[name], "o", color=c, alpha=0.5)
        ax[2].loglog(ds, c0 * ds**e, "-", color=c, label=f"{lab}: $d^{{{e:.2f}}}$")
    plain_log_ticks(ax[2], path_d[:: 2 if len(path_d) > 5 else 1])
    ax[2].set(xlabel="$d$", ylabel="$n_{1/2}$", title="$n$ at half way")
    ax[2].legend()
    ax[3].axis("off")
    handles = [Line2D([], [], color=colour[d], marker="o", label=f"d = {d}") for d in path_d]
    handles.append(Line2D([], [], color="0.4", marker="x", ls=":", label="$h_3$ control (dotted)"))
    ax[3].legend(handles=handles, loc="center", ncol=2 if len(handles) > 5 else 1, title="colour: dimension")
    fig.tight_layout()
    return fig


def plot_network_vs_kernels(out: dict[str, Any], fig: Any = None) -> Any:
    r"""The network-against-kernels figure from :func:`network_vs_kernels`'s output ``out`` (live or stored), drawn
    for the book's column: Algorithm 1 (left) and the baselines — random features, the empirical and the
    closed-form NTK, with two standard errors — (right) against :math:`n/d^2`, colour for ``d`` and marker for the
    method, with the plateau. Draws into ``fig`` (a new figure when ``None``) and returns it."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    from ..figures import plain_log_ticks

    fig = plt.figure(figsize=(figures.COLUMN_WIDTH, 4.2)) if fig is None else fig
    ax = fig.subplots(1, 2, sharey=True)
    mean, plateau = out["mean"], out["plateau"]
    net = mean["method"] == "network"
    curve_d = _dims(mean["d"][net])
    colour = {d: f"C{i % 8}" for i, d in enumerate(curve_d)}
    d0 = curve_d[0]
    ratios = np.round(mean["n"][net & (mean["d"] == d0)] / d0**2, 3)  # the sizes' n/d², as the profile lists them
    styles = {"network": "o-", "rf": "s--", "entk": "^:", "ntk": "v-."}
    labels = {"rf": "random features", "entk": "empirical NTK", "ntk": "closed-form NTK"}
    for d in curve_d:
        for a, k in ((ax[0], "network"), (ax[1], "rf")):
            r = (mean["d"] == d) & (mean["method"] == k)
            a.semilogx(mean["n"][r] / d**2, mean["nmse"][r], styles[k], color=colour[d],
                       label=f"{labels.get(k, k)}, d = {d}")
    for d in _dims(mean["d"][np.isin(mean["method"], ("entk", "ntk"))]):  # the kernel runs, capable ones included
        for k in ("entk", "ntk"):
            r = (mean["d"] == d) & (mean["method"] == k)
            if r.any():
                ax[1].errorbar(mean["n"][r] / d**2, mean["nmse"][r], 2 * mean["se"][r], fmt=styles[k],
                               color=colour.get(d, "0.4"), label=f"{labels[k]}, d = {d}")
    for a in ax:
        a.axhline(plateau, color="k", lw=0.8, ls="--")
        a.set_xlabel("$n/d^2$")
        plain_log_ticks(a, ratios[:: max(1, len(ratios) // 4)])
    ax[0].text(ax[0].get_xlim()[0] * 1.1, plateau + 0.04, "variance above degree 2")
    ax[0].set(ylabel="normalised test MSE", ylim=(0, 1.1), title="network (Algorithm 1)")
    ax[1].set(title="baselines")
    ax[0].legend(handles=[Line2D([], [], color=colour[d], label=f"d = {d}") for d in curve_d[:6]], loc="lower left")
    present = [k for k in ("rf", "entk", "ntk") if np.any(mean["method"] == k)]
    ax[1].legend(handles=[Line2D([], [], color="0.3", ls=styles[k][1:], marker=styles[k][0], label=labels[k])
                          for k in present], loc="lower left")
    fig.tight_layout()
    return fig
