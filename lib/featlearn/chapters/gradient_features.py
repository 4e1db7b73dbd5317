r"""The chapter ``book/gradient-features.ipynb`` (Shi, Wei & Liang (2023)): what it runs, at which sizes, what it checks
and how it draws it. The mathematics it runs is one floor down, in :mod:`featlearn.gradient_features` (the two-stage
algorithm, gradient features, the baselines and the one-seed experiments).

Its contract is the chapters' (:mod:`featlearn.chapters`).

Sections: the mixture of Gaussians, the sparse parity, multi-index data, linear data, the theorem in numbers,
lottery tickets, simplicity bias and the neural feature ansatz.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import jax.numpy as jnp
import numpy as np
from jax import Array

from .. import figures, ridge, sweeps
from ..gradient_features import (
    linear_run,
    lottery_run,
    multi_index_run,
    nfa_run,
    parity_run,
    rfm_run,
    simplicity_run,
    xor_kernel_run,
    xor_opt_run,
    xor_run,
)
from ..profiles import Sizes
from ..scorecard import Claim

#: The chapter's sizes for ``featlearn.profiles.sizes(**SIZES)``: ``quick`` runs on 2 CPU cores in the chapter's
#: budget, ``cpu_large`` is for a stored run on them (``featlearn reproduce``), ``paper`` (ten times larger d, n and
#: m, five seeds) is for a GPU. Same keys in all.
SIZES: dict[str, dict] = dict(
    # toy: the smallest sizes that run every section, in seconds; what the tests run (not a result)
    toy=dict(seeds=2, d=8, m=16, ns=[32, 64], steps=5, eta1=10.0, n_pop=256, parity_d=8, parity_n=64, parity_steps=5,
             parity_eta1=4.0, mi_d=6, mi_n=64, lin_n=64, lin_margin=0.5, opt_ns=[32, 64], opt_n=128, ranks=[2, 4, 8],
             nfa_d=8, nfa_n=64, full_steps=5, rfm_d=8, rfm_n=64, rfm_iterations=1, n_test=64),
    quick=dict(seeds=3, d=100, m=200, ns=[250, 500, 1000, 2000], steps=100, eta1=10.0, n_pop=10000,
               parity_d=50, parity_n=2000, parity_steps=200, parity_eta1=4.0,
               mi_d=20, mi_n=2000, lin_n=1000, lin_margin=0.5,
               opt_ns=[500, 1000, 2000, 4000], opt_n=10000, ranks=[2, 4, 8, 16, 32],
               nfa_d=50, nfa_n=1000, full_steps=200, rfm_d=100, rfm_n=500, rfm_iterations=2, n_test=2000),
    # cpu_large: between the two, sized to this project's CPU budget for a stored run (12 minutes measured on 2
    # cores): twice the samples (the NTK's n x n eigendecompositions are the cost), a wider network, more seeds.
    cpu_large=dict(seeds=5, d=100, m=400, ns=[250, 500, 1000, 2000, 4000], steps=150, eta1=10.0, n_pop=20000,
                   parity_d=70, parity_n=3000, parity_steps=300, parity_eta1=4.0,
                   mi_d=30, mi_n=4500, lin_n=2000, lin_margin=0.5,
                   opt_ns=[500, 1000, 2000, 4000, 8000], opt_n=20000, ranks=[2, 4, 8, 16, 32, 64],
                   nfa_d=100, nfa_n=2000, full_steps=400, rfm_d=100, rfm_n=1000, rfm_iterations=2, n_test=4000),
    paper=dict(seeds=5, d=1000, m=2000, ns=[2500, 5000, 10000, 20000], steps=300, eta1=10.0, n_pop=20000,
               parity_d=500, parity_n=20000, parity_steps=400, parity_eta1=4.0,
               mi_d=40, mi_n=8000, lin_n=10000, lin_margin=0.5,
               opt_ns=[5000, 10000, 20000, 40000], opt_n=200000, ranks=[2, 4, 8, 16, 32],
               nfa_d=500, nfa_n=10000, full_steps=2000, rfm_d=1000, rfm_n=6000, rfm_iterations=2, n_test=20000),
)


#: ``featlearn reproduce --cut-short``: the step and sample budgets of a test run of a large profile on a CPU (see
#: :func:`featlearn.profiles.cut_short`); the dimensions, widths, seeds and ranks stay the profile's.
CUT_SHORT = dict(ns=("samples", [250, 500]), steps=("steps", 5), n_pop=("samples", 2000),
                 parity_n=("samples", 1000), parity_steps=("steps", 5), mi_n=("samples", 1000),
                 lin_n=("samples", 1000), opt_ns=("samples", [500, 1000]), opt_n=("samples", 2000),
                 nfa_n=("samples", 1000), full_steps=("steps", 5), rfm_n=("samples", 500), n_test=("samples", 1000))


#: Cone widths γ of the gradient feature set measured in the XOR-mixture and parity sections.
# --- the chapter's claims measured both live and on the stored results, each stated once (fl.scorecard.Claim)
#: Step 1 puts the mass the finite-n lemma predicts in span(mu): ``(measured, predicted)`` at the largest n and the
#: smallest ratio over n of the mass after step 1 to the mass at initialisation.
XOR_STEP1_MASS = Claim(
    "xor-step1-mass", "gradient-features-lemma-finite-n", status="library identity",
    measured="step-1 mass in span(mu), largest n: measured, predicted; min over n of step 1 / init",
    threshold="|measured/predicted - 1| < 0.1; > 5 x init at every n",
    holds=lambda v: abs(v[0] / v[1] - 1) < 0.1 and v[2] > 5)
#: The network beats every fixed-feature baseline at every n: its largest margins over random features and linear.
XOR_NET_BEATS_FIXED_FEATURES = Claim(
    "xor-net-beats-fixed-features", "gradient-features-prop-xor", threshold="< -0.2 (both, at every n)",
    measured="largest over n of network's error minus random features', minus linear's",
    holds=lambda v: v[0] < -0.2 and v[1] < -0.2)
#: The network beats the NTK at every n while the NTK is still improving with n (a fixed-n comparison).
XOR_NET_BEATS_NTK = Claim(
    "xor-net-beats-ntk", "gradient-features-prop-xor", status="partly", threshold="< 0 (both)",
    measured="largest over n of network's error minus NTK's; largest change of NTK's error with n",
    holds=lambda v: v[0] < 0 and v[1] < 0)

def xor_claim_values(xor: Mapping[str, np.ndarray]) -> dict[str, list[float]]:
    """The values of the XOR claims from :func:`mixture_of_gaussians`'s output (live or stored):
    ``step1_mass`` for :data:`XOR_STEP1_MASS` (step-1 mass, predicted mass, at the largest n; smallest step-1 / init
    ratio over n), ``fixed_features`` for :data:`XOR_NET_BEATS_FIXED_FEATURES` (largest network − random features,
    − linear over n) and ``ntk`` for :data:`XOR_NET_BEATS_NTK` (largest network − NTK over n; largest change of the
    NTK's error with n)."""
    net, ntk = np.asarray(xor["err_net"]), np.asarray(xor["err_ntk"])
    m1, m0 = np.asarray(xor["mass_step1"]), np.asarray(xor["mass_init"])
    return {"step1_mass": [float(m1[-1]), float(np.asarray(xor["mass_pred"])[-1]), float(np.min(m1 / m0))],
            "fixed_features": [float(np.max(net - np.asarray(xor["err_rf"]))),
                                             float(np.max(net - np.asarray(xor["err_linear"])))],
            "ntk": [float(np.max(net - ntk)), float(np.max(np.diff(ntk)))]}


XOR_GAMMA = 0.2


PARITY_GAMMA = 0.1


#: The biases of the OPT estimate's neurons (Theorem 3.12 in numbers), and the clusters' norm there.
OPT_BIASES = (-3.0, -2.0, -1.0, 0.0, 1.0)


OPT_MU_NORM = 2.0


#: The linear feature's margin in the simplicity-bias section (the control has none).
SIMPLICITY_MARGIN = 1.5


def _seed_mean(a) -> np.ndarray:
    """The mean over the seed axis (axis 0) of a sweep's output."""
    return np.asarray(a).mean(axis=0)


def mixture_of_gaussians(S: Sizes, key: Array) -> dict[str, Any]:
    r"""The XOR-like mixture: :func:`xor_run` (network, random features, linear classifier, step-1 mass and
    the gradient feature set) for every ``n`` in ``S.ns`` as prefixes of one sample, and
    :func:`xor_kernel_run` (the NTK) on the same samples.

    Returns ``table`` (columns ``seed, n, err_ntk, mass_init, mass_step1, mass_pred, gfs, err_net, err_rf,
    err_linear``: every seed, the figure's data); ``n``; over ``n``, averaged over seeds: ``mass_init``,
    ``mass_step1``, ``mass_pred``, ``gfs_rows_step1``, ``err_net``, ``err_rf``, ``err_linear``, ``err_ntk``;
    ``gfs``, the gradient feature fraction at the initialisation (cones :math:`\cos > 1-\gamma`,
    :data:`XOR_GAMMA`) averaged over seeds and ``n``; ``lam`` ``(seeds, len(ns))``, the NTK's ridge penalty chosen
    by leave-one-out, and the ends of the grid it was chosen from, ``grid_low`` and ``grid_high``; ``glue``
    (``xor-<name>``): the masses, the cone fractions and the errors at the largest ``n`` (``...-small``: at the
    smallest), the cone's cosine, and the smallest and the largest ``n`` (the largest also over :math:`d^2`)."""
    xor = sweeps.sweep(xor_run, key=key, seeds=S.seeds, vary=dict(n=S.ns),
                       fixed=dict(d=S.d, m=S.m, n_max=max(S.ns), eta1=S.eta1, steps=S.steps, n_test=S.n_test,
                                  n_pop=S.n_pop, gamma=XOR_GAMMA))
    xor_k = sweeps.sweep(xor_kernel_run, key=key, seeds=S.seeds,
                         fixed=dict(ns=tuple(S.ns), d=S.d, n_max=max(S.ns), n_test=S.n_test, n_pop=S.n_pop))
    ns = np.array(S.ns)
    cols = ["mass_init", "mass_step1", "mass_pred", "gfs", "err_net", "err_rf", "err_linear"]
    grid = np.asarray(ridge.log_grid())
    m = {c: _seed_mean(xor[c]) for c in ("mass_init", "mass_step1", "mass_pred", "gfs_rows_step1", "err_net", "err_rf",
                                         "err_linear")} | {"err_ntk": _seed_mean(xor_k["err_ntk"])}
    glue = {"mass-init": m["mass_init"][-1], "mass-step1": m["mass_step1"][-1], "mass-pred": m["mass_pred"][-1],
            "mass-step1-small": m["mass_step1"][0], "mass-pred-small": m["mass_pred"][0],
            "gfs": float(xor["gfs"].mean()), "gfs-rows-step1": m["gfs_rows_step1"][-1], "cone": 1 - XOR_GAMMA,
            "net": m["err_net"][-1], "net-small": m["err_net"][0], "ntk": m["err_ntk"][-1],
            "ntk-small": m["err_ntk"][0], "rf": m["err_rf"][-1], "linear": m["err_linear"][-1]}
    return m | {
        "table": figures.sweep_table({"err_ntk": xor_k["err_ntk"], **{c: xor[c] for c in cols}}, {"n": ns}),
        "n": ns, "gfs": glue["gfs"], "lam": xor_k["lam"], "grid_low": float(grid[0]), "grid_high": float(grid[-1]),
        "glue": {f"xor-{k}": float(v) for k, v in glue.items()} | {"xor-nmin": S.ns[0], "xor-nmax": S.ns[-1],
                                                                 "xor-nmax-over-d2": S.ns[-1] / S.d**2},
    }


def sparse_parity(S: Sizes, key: Array) -> dict[str, Any]:
    r"""Sparse parity on the Daniely–Malach distribution: :func:`parity_run` for ``k = 3`` (odd) and
    ``k = 4`` (even).

    Returns ``table`` (columns ``k, seed, mass_init, mass_step1, mass_pred, err_net_uniform, err_rf_uniform,
    err_ntk_uniform, err_ntk``: every seed, the figure's data); ``k`` ``(3, 4)``; per ``k``, averaged over
    seeds: those quantities and ``gfs_step1``; ``majority_error``, the fraction of the :math:`2^3` sign patterns
    on which the majority vote of three coordinates disagrees with their parity; ``cone``, the cone's cosine;
    ``glue``: ``parity<k>-<quantity>`` and those two."""
    par = {k: sweeps.sweep(parity_run, key=key, seeds=S.seeds,
                           fixed=dict(d=S.parity_d, k=k, n=S.parity_n, m=S.m, eta1=S.parity_eta1,
                                      steps=S.parity_steps, n_test=S.n_test, n_pop=S.n_pop, gamma=PARITY_GAMMA))
           for k in (3, 4)}
    cols = ["mass_init", "mass_step1", "mass_pred", "err_net_uniform", "err_rf_uniform", "err_ntk_uniform", "err_ntk"]
    # The majority vote of the k = 3 coordinates of A (what a degree-1 fit of the structured half learns) on
    # uniform inputs: the fraction of the 2^3 sign patterns where it disagrees with the parity.
    patterns = np.array(np.meshgrid(*[[-1, 1]] * 3)).reshape(3, -1).T
    out = {c: np.array([_seed_mean(par[k][c]) for k in (3, 4)]) for c in [*cols, "gfs_step1"]}
    out |= {"table": figures.concat_tables(*(figures.sweep_table({c: par[k][c] for c in cols}, k=k) for k in (3, 4))),
            "k": np.array([3, 4]), "cone": 1 - PARITY_GAMMA,
            "majority_error": float(np.mean(np.sign(patterns.sum(1)) != patterns.prod(1)))}
    glue = {f"parity{k}-{c.replace('_', '-')}": float(out[c][j]) for j, k in enumerate((3, 4)) for c in
            [*cols, "gfs_step1"]}
    return out | {"glue": glue | {"parity3-majority-error": out["majority_error"], "parity-cone": out["cone"]}}


def multi_index(S: Sizes, key: Array) -> dict[str, Any]:
    r"""Multi-index classification :math:`y = \mathrm{sign}(z_1z_2)`: :func:`multi_index_run`.

    Returns ``table`` (columns ``seed`` and every output of the experiment, per-neuron arrays averaged over the
    neurons: the figure's data); ``neuron_init`` and ``neuron_step1``, the per-neuron alignments of every neuron
    of every seed (flat); their means ``neuron_init_mean``, ``neuron_step1_mean`` and the predicted mean
    ``neuron_pred_mean``; ``neuron_median`` and ``neuron_half`` (the median alignment after step 1 and the
    fraction of neurons above 1/2); averaged over seeds: ``overlap_init``, ``overlap_step1``, ``err_net``,
    ``err_rf``, ``err_ntk``; ``glue`` (``mi-<name>``): those, and the alignment of random rows ``mi-random``
    (:math:`2/d`) and :math:`n/d^2`."""
    mi = sweeps.sweep(multi_index_run, key=key, seeds=S.seeds,
                      fixed=dict(d=S.mi_d, n=S.mi_n, m=S.m, eta1=S.eta1, steps=S.steps, n_test=S.n_test,
                                 n_pop=S.n_pop))
    per_seed = {k: (v.mean(axis=1) if v.ndim == 2 else v) for k, v in mi.items()}  # per-neuron: mean over neurons
    out = {
        "table": figures.sweep_table(per_seed),
        "neuron_init": mi["neuron_init"].ravel(), "neuron_step1": mi["neuron_step1"].ravel(),
        "neuron_init_mean": float(mi["neuron_init"].mean()), "neuron_step1_mean": float(mi["neuron_step1"].mean()),
        "neuron_pred_mean": float(mi["neuron_pred"].mean()),
        "neuron_median": float(np.median(mi["neuron_step1"])), "neuron_half": float(np.mean(mi["neuron_step1"] > 0.5)),
        **{c: _seed_mean(mi[c]) for c in ("overlap_init", "overlap_step1", "err_net", "err_rf", "err_ntk")},
    }
    glue = {k.replace("_", "-"): float(out[k]) for k in ("overlap_init", "overlap_step1", "err_net", "err_rf",
                                                         "err_ntk", "neuron_median", "neuron_half")}
    glue |= {f"neuron-{k}": out[f"neuron_{k}_mean"] for k in ("init", "step1", "pred")}
    glue |= {"random": 2 / S.mi_d, "n-over-d2": S.mi_n / S.mi_d**2}
    return out | {"glue": {f"mi-{k}": v for k, v in glue.items()}}


def linear_data(S: Sizes, key: Array) -> dict[str, Any]:
    r"""Linear data with a margin: :func:`linear_run`.

    Returns ``table`` (columns ``seed, neuron_step1, neuron_pred, err_net, err_ntk, err_linear, err_rf``, the
    alignments averaged over neurons: the figure's data); ``neuron_step1``, the per-neuron alignment with
    :math:`w^*` of every neuron of every seed (flat); ``neuron_step1_mean`` and the predicted ``neuron_pred_mean``;
    averaged over seeds: ``err_net``, ``err_ntk``, ``err_linear``, ``err_rf``; ``glue`` (``lin-<name>``): those,
    the margin, ``n`` and the alignment of random rows with :math:`w^*`, :math:`1/d`."""
    lin = sweeps.sweep(linear_run, key=key, seeds=S.seeds,
                       fixed=dict(d=S.d, n=S.lin_n, m=S.m, margin=S.lin_margin, eta1=S.eta1, steps=S.steps,
                                  n_test=S.n_test, n_pop=S.n_pop))
    errs = ("err_net", "err_ntk", "err_linear", "err_rf")
    out = {
        "table": figures.sweep_table({"neuron_step1": lin["neuron_step1"].mean(axis=1),
                                      "neuron_pred": lin["neuron_pred"].mean(axis=1), **{k: lin[k] for k in errs}}),
        "neuron_step1": lin["neuron_step1"].ravel(), "neuron_step1_mean": float(lin["neuron_step1"].mean()),
        "neuron_pred_mean": float(lin["neuron_pred"].mean()), **{k: _seed_mean(lin[k]) for k in errs},
    }
    glue = {k.replace("_", "-"): float(out[k]) for k in errs} | {
        "neuron-step1": out["neuron_step1_mean"], "neuron-pred": out["neuron_pred_mean"], "margin": S.lin_margin,
        "n": S.lin_n, "random": 1 / S.d}
    return out | {"glue": {f"lin-{k}": v for k, v in glue.items()}}


def theorem_in_numbers(S: Sizes, key: Array) -> dict[str, Any]:
    r"""Theorem 3.12 in numbers: an estimate of OPT (:func:`xor_opt_run`: the best network on the ground-truth
    directions with the biases :data:`OPT_BIASES`, on ``S.opt_n`` samples) and the two-stage network
    (:func:`xor_run`) for every ``n`` in ``S.opt_ns``, on the XOR mixture with :math:`\|\mu\|` =
    :data:`OPT_MU_NORM`.

    Returns ``table`` (columns ``seed, n, err_net, hinge_net, err_rf, opt_err, opt_hinge``: the figure's data);
    ``n``; ``opt_err`` and ``opt_hinge``, the OPT estimate's test 0-1 error and hinge loss averaged over seeds;
    over ``n``, averaged over seeds: ``err_net``, ``hinge_net``, ``err_rf`` and ``gap`` (``err_net`` −
    ``opt_err``); ``glue`` (``opt-<name>``): the OPT estimate, the network at the smallest and the largest ``n``
    and the gap there."""
    opt = sweeps.sweep(xor_opt_run, key=key, seeds=S.seeds,
                       fixed=dict(d=S.d, n=S.opt_n, mu_norm=OPT_MU_NORM, biases=jnp.array(OPT_BIASES), steps=S.steps,
                                  n_test=S.n_test))
    hard = sweeps.sweep(xor_run, key=key, seeds=S.seeds, vary=dict(n=S.opt_ns),
                        fixed=dict(d=S.d, m=S.m, n_max=max(S.opt_ns), mu_norm=OPT_MU_NORM, eta1=S.eta1,
                                   steps=S.steps, n_test=S.n_test, n_pop=S.n_test))
    on = np.array(S.opt_ns)
    opt_err = float(_seed_mean(opt["err"]))
    net_err = _seed_mean(hard["err_net"])
    out = {
        "table": figures.sweep_table({**{k: hard[k] for k in ("err_net", "hinge_net", "err_rf")},
                                      **{f"opt_{k}": np.repeat(opt[k][:, None], len(on), 1) for k in ("err", "hinge")}},
                                     {"n": on}),
        "n": on, "opt_err": opt_err, "opt_hinge": float(_seed_mean(opt["hinge"])), "err_net": net_err,
        "hinge_net": _seed_mean(hard["hinge_net"]), "err_rf": _seed_mean(hard["err_rf"]), "gap": net_err - opt_err,
    }
    glue = {"err": opt_err, "hinge": out["opt_hinge"], "net-small": net_err[0], "net-large": net_err[-1],
            "hinge-large": out["hinge_net"][-1], "gap": out["gap"][-1], "nmin": S.opt_ns[0], "nmax": S.opt_ns[-1]}
    return out | {"glue": {f"opt-{k}": (v if isinstance(v, int) else float(v)) for k, v in glue.items()}}


def lottery_tickets(S: Sizes, key: Array) -> dict[str, Any]:
    r"""Lottery tickets on the XOR mixture: :func:`lottery_run` for every number of kept neurons in
    ``S.ranks``.

    Returns ``table`` (columns ``seed, r, err_winners, err_random, align_winners``: the figure's data); ``r``;
    over ``r``, averaged over seeds: ``err_winners``, ``err_random``, ``align_winners``; ``err_full`` and
    ``align_all`` (the full network's error and its neurons' mean cosine to span(μ), averaged over seeds and
    ``r``); ``glue`` (``lottery-<name>``): the errors with 4 and 8 neurons kept, the full network's, the winners'
    alignment at 8 and that of all neurons."""
    lot = sweeps.sweep(lottery_run, key=key, seeds=S.seeds, vary=dict(r=S.ranks),
                       fixed=dict(d=S.d, m=S.m, n=max(S.ns), eta1=S.eta1, steps=S.steps, n_test=S.n_test))
    rr = np.array(S.ranks)
    out = {
        "table": figures.sweep_table({k: lot[k] for k in ("err_winners", "err_random", "align_winners")}, {"r": rr}),
        "r": rr, "err_full": float(lot["err_full"].mean()), "align_all": float(lot["align_all"].mean()),
        **{k: _seed_mean(lot[k]) for k in ("err_winners", "err_random", "align_winners")},
    }
    i4, i8 = S.ranks.index(4), S.ranks.index(8)
    win, rnd = out["err_winners"], out["err_random"]
    glue = {"win4": float(win[i4]), "rnd4": float(rnd[i4]), "win8": float(win[i8]), "rnd8": float(rnd[i8]),
            "full": out["err_full"], "align-win": float(out["align_winners"][i8]), "align-all": out["align_all"],
            "r4": S.ranks[i4], "r8": S.ranks[i8]}
    return out | {"glue": {f"lottery-{k}": v for k, v in glue.items()}}


def simplicity_bias(S: Sizes, key: Array) -> dict[str, Any]:
    r"""Simplicity bias: :func:`simplicity_run` with the linear feature's margin
    :data:`SIMPLICITY_MARGIN` and without it (the control).

    Returns ``table`` (columns ``seed, linear_margin`` and every output of the experiment: the figure's data);
    ``linear_margin`` ``(2,)``; per margin, averaged over seeds: ``mass_linear``, ``mass_xor``, ``err_clean``,
    ``err_shuffle_linear``, ``err_shuffle_xor`` (index 0: with the linear feature, 1: the control); ``margin``
    and ``linear_bayes``, the Bayes error of the linear feature alone, :math:`P(N(0,1) > c)`; ``glue``
    (``simp-<both|control>-<quantity>``, ``simp-margin``, ``simp-linear-bayes``)."""
    margins = [SIMPLICITY_MARGIN, 0.0]
    simp = sweeps.sweep(simplicity_run, key=key, seeds=S.seeds, vary=dict(linear_margin=margins),
                        fixed=dict(d=S.d, m=S.m, n=max(S.ns), eta1=S.eta1, steps=S.steps, n_test=S.n_test))
    out = {k: _seed_mean(v) for k, v in simp.items()}
    glue = {f"{tag}-{k.replace('_', '-')}": float(v[j]) for k, v in out.items() for j, tag in enumerate(("both",
                                                                                                      "control"))}
    out |= {"table": figures.sweep_table(simp, {"linear_margin": margins}), "linear_margin": np.array(margins),
            "margin": SIMPLICITY_MARGIN, "linear_bayes": 0.5 * math.erfc(SIMPLICITY_MARGIN / math.sqrt(2))}
    glue |= {"margin": out["margin"], "linear-bayes": out["linear_bayes"]}
    return out | {"glue": {f"simp-{k}": v for k, v in glue.items()}}


def neural_feature_ansatz(S: Sizes, key: Array) -> dict[str, Any]:
    r"""The Neural Feature Ansatz and a Recursive Feature Machine on the XOR mixture: :func:`nfa_run` and
    :func:`rfm_run`.

    Returns ``table`` (columns ``seed, iteration, rfm_error`` and every output of :func:`nfa_run`, repeated
    over the iterations: the figure's data); averaged over seeds: every output of :func:`nfa_run`
    (``corr_<init|two_stage|full>``, ``corr_sqrt_<...>``, ``err_two_stage``, ``err_full``) and ``rfm_error``
    (the RFM's test error by iteration, 0 the Laplace kernel); ``iteration``; ``glue``: ``nfa-<output>`` and the
    RFM's error at the first and the last iteration, ``rfm-0`` and ``rfm-last``, and the number of iterations."""
    nfa = sweeps.sweep(nfa_run, key=key, seeds=S.seeds,
                       fixed=dict(d=S.nfa_d, n=S.nfa_n, m=S.m, eta1=S.eta1, steps=S.steps, full_steps=S.full_steps,
                                  full_lr=0.5, n_agop=S.n_test))
    rfm = sweeps.sweep(rfm_run, key=key, seeds=S.seeds,
                       fixed=dict(d=S.rfm_d, n=S.rfm_n, iterations=S.rfm_iterations, n_test=S.n_test))
    it = np.arange(S.rfm_iterations + 1)
    out = {
        "table": figures.sweep_table({"rfm_error": rfm, **{k: np.repeat(v[:, None], len(it), 1)
                                                           for k, v in nfa.items()}}, {"iteration": it}),
        "iteration": it, "rfm_error": _seed_mean(rfm), **{k: _seed_mean(v) for k, v in nfa.items()},
    }
    glue = {f"nfa-{k.replace('_', '-')}": float(out[k]) for k in nfa}
    return out | {"glue": glue | {"rfm-0": float(out["rfm_error"][0]), "rfm-last": float(out["rfm_error"][-1]),
                                  "rfm-iters": S.rfm_iterations}}


#: The chapter's experiments in its order (``featlearn reproduce gradient-features``).
#: The chapter's seed: every section receives ``jax.random.key(SEED)`` (the notebook and ``featlearn reproduce``).
SEED = 2023


SECTIONS = {"mixture_of_gaussians": mixture_of_gaussians, "sparse_parity": sparse_parity, "multi_index": multi_index,
            "linear_data": linear_data, "theorem_in_numbers": theorem_in_numbers,
            "lottery_tickets": lottery_tickets, "simplicity_bias": simplicity_bias,
            "neural_feature_ansatz": neural_feature_ansatz}


def plot_mixture_of_gaussians(out: dict[str, Any], fig: Any = None) -> Any:
    r"""The XOR-mixture figure from :func:`mixture_of_gaussians`'s output ``out`` (live or stored): the first
    layer's mass in span(μ) at initialisation and after step 1 with the lemma's prediction, and the test error of
    the two-stage network, the NTK, random features and a linear classifier, against ``n``. Draws into ``fig`` (a
    new figure when ``None``) and returns it."""
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(figures.COLUMN_WIDTH, 3.5)) if fig is None else fig
    ax = fig.subplots(1, 2)
    ns = out["n"]
    ax[0].semilogx(ns, out["mass_step1"], "o-", label="after step 1")
    ax[0].semilogx(ns, out["mass_pred"], "k:", label="predicted (lemma)")
    ax[0].semilogx(ns, out["mass_init"], "s--", label="initialisation")
    ax[0].set(xlabel="$n$", ylabel=r"$\|W P_\mu\|_F^2/\|W\|_F^2$", title=r"first-layer mass in span$(\mu_1,\mu_2)$")
    ax[0].legend()
    for k, lab in [("err_net", "two-stage network"), ("err_ntk", "NTK (kernel ridge)"),
                   ("err_rf", "random features"), ("err_linear", "linear")]:
        ax[1].semilogx(ns, out[k], "o-", label=lab)
    ax[1].set(xlabel="$n$", ylabel="test 0-1 error", ylim=(0, 0.6))
    ax[1].legend()
    fig.tight_layout()
    return fig
