r"""The chapter ``book/atlas.ipynb`` (the atlas): what it runs, at which sizes, what it checks and how it draws it. The
mathematics it runs is one floor down, in :mod:`featlearn.atlas` (the targets, the methods through one protocol, the
crossings, the exponent fits and the published predictions).

Its contract is the chapters' (:mod:`featlearn.chapters`).

Sections: the learning curves (:func:`learning_curves`) and the exponents with their verdicts (:func:`exponents`),
the table's text and its figures.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array

from .. import _checks, figures, hermite, sweeps
from ..atlas import (
    ABOVE_BUDGET,
    AGREES,
    BELOW_GRID,
    CONSISTENT,
    CROSSED,
    DISAGREES,
    KERNEL_SOURCES,
    METHOD_LABELS,
    METHODS,
    NO_PREDICTION,
    NOT_MEASURED,
    SILENT,
    TARGET_NAMES,
    TARGETS,
    VERDICTS,
    Problem,
    Target,
    crossings,
    draw,
    exponent,
    gaussian_targets,
    learning_curve_run,
    sample_sizes,
    settling_sizes,
    theory,
    verdict,
)
from ..profiles import Sizes
from ..progress import progress
from ..scorecard import Claim

#: The largest :math:`n` at which this library's exact kernel ridge (an :math:`n\times n` eigendecomposition) is
#: run on a CPU; a cell that needs more is left to the ``paper`` profile (an accelerator, and the CG solver).
CPU_KERNEL_N = 4096


def needs(spec: Target, ds: Sequence[int], n_max: Sequence[int], censored: str) -> str:
    r"""What would settle a censored cell of target ``spec`` measured at ``ds`` with the largest sample sizes
    ``n_max`` (one per ``d``): for a level that needs degree :math:`k\ge3`, "needs the paper profile (GPU)" with the
    sizes :math:`4N_k(d)` (:func:`settling_sizes`) when they exceed :data:`CPU_KERNEL_N`; otherwise a larger budget;
    below the grid, smaller sizes; ``""`` for a cell that is not censored."""
    if not censored:
        return ""
    if censored == BELOW_GRID:
        return "sizes below d/2"
    top = np.asarray(n_max)
    k = spec.kernel_degree
    if k is not None and k >= 3:
        want = settling_sizes(k, ds)
        sizes = ", ".join(f"{v:,}" for v in want)
        where = "needs the paper profile (GPU)" if want.max() > CPU_KERNEL_N else "needs a larger budget"
        return f"{where}: n up to 4·N_{k}(d) = {sizes} at d = {figures.listed(list(ds))}"
    return f"needs a larger budget than n ≤ {figures.listed([int(v) for v in top])}"


# ----------------------------------------------------------------------------------------------------- sizes
#: The chapter's sizes (``S = fl.profiles.sizes(**atlas.SIZES)``): ``quick`` on 2 CPU cores in the book's budget,
#: ``cpu_large`` about an hour on 2 busy CPU cores, ``paper`` an accelerator's job; the same keys in all. ``d``: the
#: dimensions; ``budget``: :math:`n_{\max} = \text{budget}\cdot d^2`; ``points``: sample sizes per :math:`d`
#: (:func:`sample_sizes`); ``methods`` and ``targets``: the cells run (``quick`` runs the two methods and two
#: targets its checks are about; ``cpu_large`` every target and every method but NTK + QuadNTK with :math:`R_1`,
#: whose regularised training took about 40 minutes at :math:`d = 16` alone on the shared cores; ``paper`` all of
#: them); the rest: each method's hyperparameters
#: (:func:`hyperparameters`). ``quad_lams``, the strengths of :math:`R_1`, hold 0 (no regulariser), 0.1 and 1 (the
#: value validation chose in the good-directions chapter at its quick sizes); ``net_lrs`` go down to 1/32 and
#: ``rfm_bandwidths`` to 2.5, ``rfm_iterations`` up to 2 at ``cpu_large`` (each grid was widened at the edge that
#: validation chose more than a third of the time in the stored run before: rate 0.125 in 53% of GD's runs,
#: bandwidth 5 in 63% and the last of one iteration in 54% of the RFM's); ``rfm_bandwidths`` is the RFM's bandwidth
#: grid, chosen on validation.
SIZES: dict[str, dict[str, Any]] = dict(
    # toy: the smallest sizes that run every section, in seconds; what the tests run (not a result)
    toy=dict(d=[4, 6], seeds=2, budget=1.5, points=3, methods=tuple(METHODS), targets=TARGET_NAMES, n_val=32,
             n_test=64, n_boot=50, rf_ratio=4, width=16, stage_steps=10, eta1s=(1.0,), decays=(1e-4,), quad_width=8,
             quad_steps=10, quad_time=10.0, quad_lams=(0.0,), net_width=8, net_steps=10, net_lrs=(0.5,), net_evals=2,
             rfm_iterations=1, rfm_bandwidths=(3.0, 6.0)),
    quick=dict(d=[16, 24, 32], seeds=3, budget=2.0, points=10, methods=("ntk", "one-step"), targets=("he2", "he3"),
               n_val=512, n_test=1024, n_boot=500, rf_ratio=4, width=256, stage_steps=150, eta1s=(1.0, 4.0, 16.0),
               decays=(1e-4,), quad_width=64, quad_steps=200, quad_time=3000.0, quad_lams=(0.0, 0.1, 1.0),
               net_width=64, net_steps=400, net_lrs=(0.125, 0.5, 2.0), net_evals=4, rfm_iterations=1,
               rfm_bandwidths=(5.0, 10.0, 20.0)),
    cpu_large=dict(d=[16, 24, 32], seeds=3, budget=2.0, points=10, methods=tuple(m for m in METHODS
                                                                                 if m != "good-directions"),
                   targets=TARGET_NAMES,
                   n_val=1024, n_test=2048, n_boot=2000, rf_ratio=4, width=256, stage_steps=150,
                   eta1s=(1.0, 4.0, 16.0), decays=(1e-4,), quad_width=64, quad_steps=200, quad_time=3000.0,
                   quad_lams=(0.0, 0.1, 1.0), net_width=64, net_steps=400, net_lrs=(0.03125, 0.125, 0.5, 2.0),
                   net_evals=4, rfm_iterations=2, rfm_bandwidths=(2.5, 5.0, 10.0, 20.0)),
    paper=dict(d=[16, 24, 32], seeds=5, budget=24.0, points=14, methods=tuple(METHODS), targets=TARGET_NAMES,
               n_val=8192, n_test=16384, n_boot=2000, rf_ratio=4, width=1024, stage_steps=500,
               eta1s=(1.0, 4.0, 16.0), decays=(1e-4,), quad_width=1024, quad_steps=2000, quad_time=20000.0,
               quad_lams=(0.0, 0.1, 1.0, 3.0), net_width=512, net_steps=5000, net_lrs=(0.03125, 0.125, 0.5, 2.0),
               net_evals=10, rfm_iterations=3, rfm_bandwidths=(2.5, 5.0, 10.0, 20.0)),
)


#: ``featlearn reproduce --cut-short``: the step and sample budgets of a test run of a large profile on a CPU (see
#: :func:`featlearn.profiles.cut_short`); the widths, dimensions, seeds and hyperparameter grids stay the profile's.
#: ``quad_time`` (learning rate × steps) is cut with ``quad_steps`` so that the learning rate stays the profile's.
CUT_SHORT = dict(budget=("samples", 0.5), n_val=("samples", 512), n_test=("samples", 1024),
                 stage_steps=("steps", 20), quad_steps=("steps", 20), quad_time=("steps", 200.0),
                 net_steps=("steps", 50), rfm_iterations=("steps", 2))


#: The chapter's seed: every section gets ``jax.random.key(SEED)`` (the notebook's ``key``; ``featlearn reproduce``).
SEED = 2026


# --- the chapter's claims measured both live and on the stored results, each stated once (fl.scorecard.Claim)
#: Kernels cannot learn degree ≥ 3 within the budget: every run, at every d, never reaches the level (the value
#: lists the cells; the predicate reads the counts of runs that never crossed, ``never``, of all runs, ``runs``).
KERNELS_NEVER_REACH_DEGREE_THREE = Claim(
    "kernels-never-reach-degree-three", "atlas-thm-kernels",
    measured="kernel cells whose level needs degree ≥ 3: runs that never reached the level, of all runs",
    threshold="all runs at every d never reach it within n ≤ {budget:g} d² (theory: n ≍ d^(k±δ), k ≥ 3)",
    holds=lambda cells, never, runs: len(never) > 0 and bool(np.all(np.asarray(never) == np.asarray(runs))))
#: NTK ridge on :math:`h_2` is measured, and its n* grows like the count :math:`N_2(d)` (slope 1 against
#: :math:`\log N_2(d)`); the value is the slope in words, the predicate reads the table's ``row``.
NTK_EXPONENT_H2 = Claim(
    "ntk-exponent-h2", "atlas-thm-kernels", threshold="measured (not censored); the interval contains 1",
    measured="NTK ridge on h2: slope of log n* against log N_2(d) [95% interval]",
    holds=lambda text, row: row["censored"] == "" and row["count_ci_low"] <= 1 <= row["count_ci_high"])


def hyperparameters(S: Sizes, method: str, n_max: int) -> dict[str, Any]:
    """The hyperparameters (static arguments) of ``method`` at the sizes ``S``, for a pool of ``n_max`` rows."""
    _checks.one_of("method", method, METHODS)
    return {
        "ntk": {},
        "random-features": {"features": int(S.rf_ratio * n_max)},
        "one-step": {"width": S.width},
        "two-stage": {"width": S.width, "steps": S.stage_steps, "eta1s": tuple(S.eta1s), "decays": tuple(S.decays)},
        "good-directions": {"width": S.quad_width, "steps": S.quad_steps, "time": S.quad_time,
                            "lams": tuple(S.quad_lams)},
        "full-gd": {"width": S.net_width, "steps": S.net_steps, "lrs": tuple(S.net_lrs), "evals": S.net_evals},
        "rfm": {"iterations": S.rfm_iterations, "bandwidths": tuple(S.rfm_bandwidths)},
    }[method]


def cells(S: Sizes) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The methods and targets run at the sizes ``S`` (``S.methods``, ``S.targets``), in the atlas's order."""
    methods, targets_ = tuple(S.methods), tuple(S.targets)
    for m in methods:
        _checks.one_of("methods", m, METHODS)
    for t in targets_:
        _checks.one_of("targets", t, TARGET_NAMES)
    if not methods or not targets_:
        raise ValueError(f"methods and targets must each name at least one, got {methods} and {targets_}")
    return tuple(m for m in METHODS if m in methods), tuple(t for t in TARGET_NAMES if t in targets_)


def _problems(S: Sizes, key: Array, d: int, drawn: Sequence[int]) -> tuple[np.ndarray, Problem]:
    """The sample sizes and the drawn problems ``(seeds, targets, ...)`` at dimension ``d`` for the targets
    numbered ``drawn``."""
    ns = sample_sizes(d, S.budget, S.points)
    problems = sweeps.sweep(draw, key=jax.random.fold_in(key, d), seeds=S.seeds, vary=dict(target=list(drawn)),
                            fixed=dict(d=d, n_max=int(ns[-1]), n_val=S.n_val, n_test=S.n_test,
                                       functions=gaussian_targets(d)))
    return ns, Problem(*(jnp.asarray(a) for a in problems))


def curves(S: Sizes, key: Array) -> dict[str, np.ndarray]:
    """Every method's test error for every ``d``, seed, target and ``n`` (the cells of :func:`cells`), as a long
    table (columns ``method, target, d, seed, n, error, choice``). One sweep per (method, d)."""
    k_data, k_fit = jax.random.split(key)
    methods, names = cells(S)
    drawn = tuple(TARGET_NAMES.index(t) for t in names)
    rows = []
    for d in progress(S.d, desc="dimensions"):
        ns, problems = _problems(S, k_data, d, drawn)
        for method in methods:
            out = sweeps.sweep(learning_curve_run, key=k_fit, seeds=1,
                               vary=dict(seed=range(S.seeds), target=range(len(drawn))),
                               fixed=dict(method=method, problems=problems, ns=tuple(int(v) for v in ns),
                                          drawn=drawn, **hyperparameters(S, method, int(ns[-1]))))
            for t, name in enumerate(names):
                rows.append(figures.sweep_table({"error": out["error"][0, :, t], "choice": out["choice"][0, :, t]},
                                                {"n": ns}, method=method, target=name, d=d))
    return figures.concat_tables(*rows)


def _cell(table: Mapping[str, np.ndarray], method: str, target: str) -> tuple[np.ndarray, list, list]:
    """One cell's curves from :func:`curves`' table: dimensions, per-d sample sizes, errors per d ``(seeds, K)``."""
    at = (table["method"] == method) & (table["target"] == target)
    ds = np.unique(table["d"][at])
    grids, errs = [], []
    for d in ds:
        rows = at & (table["d"] == d)
        ns = np.unique(table["n"][rows])
        seeds = np.unique(table["seed"][rows])
        grids.append(ns)
        errs.append(table["error"][rows].reshape(seeds.size, ns.size))  # rows are seed-major (sweep_table)
    return ds, grids, errs


#: The columns of :func:`measure`'s table.
TABLE_COLUMNS = ("method", "target", "exponent", "ci_low", "ci_high", "censored", "theory", "source",
                 "slope_vs_count", "count_ci_low", "count_ci_high", "theory_local", "verdict", "needs", "degree",
                 "crossed", "never", "runs", "crossed_top", "seeds", "level")


def measure(table: Mapping[str, np.ndarray], *, n_boot: int = 2000) -> dict[str, np.ndarray]:
    r"""The atlas's table from :func:`curves`' long table: for every (method, target) in it, the crossings of the
    target's level and the exponents (:func:`crossings`, :func:`exponent`, against :math:`\log d` and against
    :math:`\log N_k(d)` for the degree :math:`k` the level needs), the theory (:func:`theory`), ``theory_local``
    (the local slope of :math:`N_k(d)` over the measured :math:`d`, :func:`featlearn.hermite.count_slope`: what a
    kernel's exponent is at these :math:`d`), the :func:`verdict` and, for a censored cell, what would settle it
    (:func:`needs`). Columns :data:`TABLE_COLUMNS` (``degree``: :math:`k`, 0 where the target has none;
    ``crossed_top``: the runs that crossed at the largest :math:`d`, of ``seeds``)."""
    cols: dict[str, list] = {k: [] for k in TABLE_COLUMNS}
    present = set(zip(np.asarray(table["method"]).tolist(), np.asarray(table["target"]).tolist(), strict=True))
    for method in METHODS:
        for spec in TARGETS:
            if (method, spec.name) not in present:
                continue
            ds, grids, errs = _cell(table, method, spec.name)
            found = [crossings(ns, e, spec.level) for ns, e in zip(grids, errs, strict=True)]
            status = np.stack([f[1] for f in found])
            k = spec.kernel_degree
            counts = None if k is None else [hermite.monomial_count(int(d), k) for d in ds]
            exp = exponent(ds, np.stack([f[0] for f in found]), status, counts=counts, n_boot=n_boot)
            pred = theory(method, spec.name)
            row = dict(method=method, target=spec.name, exponent=exp.exponent, ci_low=exp.ci_low,
                       ci_high=exp.ci_high, censored=exp.censored, theory=pred.text, source=pred.source,
                       slope_vs_count=exp.vs_count, count_ci_low=exp.count_low, count_ci_high=exp.count_high,
                       theory_local=math.nan if k is None else hermite.count_slope(ds, k),
                       verdict=verdict(pred, exp), needs=needs(spec, ds, [g[-1] for g in grids], exp.censored),
                       degree=k or 0, crossed=exp.crossed, never=exp.never, runs=exp.runs,
                       crossed_top=int(np.sum(status[-1] == CROSSED)), seeds=status.shape[1], level=spec.level)
            for c in TABLE_COLUMNS:
                cols[c].append(row[c])
    return {k: np.asarray(v) for k, v in cols.items()}


def row(table: Mapping[str, np.ndarray], method: str, target: str) -> dict[str, Any]:
    """The row of cell (``method``, ``target``) of :func:`measure`'s table, as a dict of its columns."""
    at = np.flatnonzero((np.asarray(table["method"]) == method) & (np.asarray(table["target"]) == target))
    if at.size != 1:
        raise ValueError(f"method and target must name one cell of the table, got {method!r} and {target!r}")
    return {k: np.asarray(v)[at[0]] for k, v in table.items()}


def measured_text(row: Mapping[str, Any]) -> str:
    """One cell as the chapter writes it: ``"1.36 [1.16, 1.56]"`` or ``"not measured (> budget)"``."""
    if row["censored"]:
        return f"not measured ({row['censored']})"
    return f"{row['exponent']:.2f} [{row['ci_low']:.2f}, {row['ci_high']:.2f}]"


def contains_text(row: Mapping[str, Any], value: float) -> str:
    """Whether the interval of a cell's exponent holds ``value``, as the chapter's prose says it: ``"contains"``,
    ``"does not contain"``, or, for a censored cell (no interval), ``"cannot be compared with"``."""
    if row["censored"] or not np.isfinite(float(row["ci_low"])):
        return "cannot be compared with"
    return "contains" if float(row["ci_low"]) <= value <= float(row["ci_high"]) else "does not contain"


def grid_glue(sizes: Mapping[str, Any]) -> dict[str, Any]:
    """The hyperparameter grids' edges the chapter's prose names, from a profile's sizes (live, or a stored run's
    manifest): the smallest learning rate of GD, the smallest RFM bandwidth and the RFM's iterations."""
    return {"net-lr-min": min(sizes["net_lrs"]), "rfm-bandwidth-min": min(sizes["rfm_bandwidths"]),
            "rfm-iterations": int(sizes["rfm_iterations"])}


def count_text(row: Mapping[str, Any]) -> str:
    r"""The slope against :math:`\log N_k(d)` as the chapter writes it: ``"1.05 [0.86, 1.25]"``, or ``"—"``."""
    if row["censored"] or not np.isfinite(float(row["slope_vs_count"])):
        return "—"
    return f"{row['slope_vs_count']:.2f} [{row['count_ci_low']:.2f}, {row['count_ci_high']:.2f}]"


def theory_text(row: Mapping[str, Any]) -> str:
    r"""The theory column with the local slope of :math:`N_k(d)` beside it for the kernels: ``"2 ± δ (local
    1.93)"``."""
    t = str(row["theory"])
    if t.endswith("± δ") and np.isfinite(float(row["theory_local"])):
        return f"{t} (local {float(row['theory_local']):.2f})"
    return t


def verdict_text(row: Mapping[str, Any]) -> str:
    """The verdict as the chapter writes it: a censored cell's with its censoring and what would settle it."""
    v = str(row["verdict"])
    if row["censored"]:
        v = f"{v} ({row['censored']})"
    return f"{v}; {row['needs']}" if str(row["needs"]).startswith("needs the paper") else v


def table_html(table: Mapping[str, np.ndarray]) -> str:
    """:func:`measure`'s table as an HTML table (for the chapter: a notebook's Markdown output has no tables): one
    row per (method, target), with the level, the measured exponent and its interval (or "not measured"), the
    slope against the count, the runs that crossed, the theory (and the count's local slope), its source and the
    verdict."""
    label = {t.name: t.label for t in TARGETS}
    head = ("method", "target", "level", "exponent of n* in d [95% CI]", "slope against N_k(d) [95% CI]",
            "runs crossed", "theory (local slope of N_k)", "source", "verdict")
    rows = []
    for i in range(len(table["method"])):
        r = {k: v[i] for k, v in table.items()}
        k = int(r["degree"])
        cells_ = (METHOD_LABELS[str(r["method"])], label[str(r["target"])] + (f", k = {k}" if k else ""),
                  f"{float(r['level']):g}", measured_text(r), count_text(r), f"{r['crossed']}/{r['runs']}",
                  theory_text(r), str(r["source"]) or "—", verdict_text(r))
        rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells_) + "</tr>")
    header = "<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>"
    # a wide table scrolls inside its own box rather than pushing the page sideways
    return (f'<div style="overflow-x: auto">\n<table style="font-size: 0.85em">\n<thead>{header}</thead>\n<tbody>\n'
            + "\n".join(rows) + "\n</tbody>\n</table>\n</div>")


#: The columns of ``figures/atlas-exponents.csv``.
CSV_COLUMNS = ("method", "target", "exponent", "ci_low", "ci_high", "censored", "theory", "source",
               "slope_vs_count", "count_ci_low", "count_ci_high", "theory_local", "verdict", "needs")


def grid_edges(S: Sizes, table: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    r"""How often validation chose the null predictor or a candidate at an edge of a method's grid, from the
    ``choice`` column of :func:`curves` (validation data only: the test errors play no part; candidate 0 is the
    null predictor, :func:`with_null`). A grid whose edge is chosen more than a third of the time is too narrow
    there. Returns a table (columns ``method``, ``edge``, ``share``: the share of that method's runs whose choice
    is at that edge) for the methods run: every method's ``null predictor``, and ``two-stage`` (the smallest and
    the largest :math:`\eta_1`), ``good-directions`` (:math:`\lambda = 0` and the largest :math:`\lambda`),
    ``full-gd`` (the last checkpoint; the smallest and the largest learning rate) and ``rfm`` (the smallest and the
    largest bandwidth, the plain Laplace kernel, the last iteration)."""
    choice, method = np.asarray(table["choice"]), np.asarray(table["method"])

    def share(name: str, hit: Callable[[np.ndarray], np.ndarray]) -> float:
        c = choice[method == name]
        if not c.size:
            return float("nan")
        inner = c[c > 0] - 1  # the method's own candidates, numbered from 0
        return float(np.sum(hit(inner)) / c.size)

    n_eta, n_dec = len(S.eta1s), len(S.decays)
    n_lam, n_lr, n_ck = len(S.quad_lams), len(S.net_lrs), S.net_evals + 1
    n_bw, n_it = len(S.rfm_bandwidths), S.rfm_iterations + 1
    edges = {
        "two-stage": {"smallest η₁": lambda c: c // n_dec == 0, "largest η₁": lambda c: c // n_dec == n_eta - 1},
        "good-directions": {"λ = 0": lambda c: c == 0, "largest λ": lambda c: c == n_lam - 1},
        "full-gd": {"last checkpoint": lambda c: c % n_ck == n_ck - 1, "smallest rate": lambda c: c // n_ck == 0,
                    "largest rate": lambda c: c // n_ck == n_lr - 1},
        "rfm": {"smallest bandwidth": lambda c: c // n_it == 0, "largest bandwidth": lambda c: c // n_it == n_bw - 1,
                "plain Laplace kernel": lambda c: c % n_it == 0, "last iteration": lambda c: c % n_it == n_it - 1},
    }
    rows = []
    for m in METHODS:
        if not np.any(method == m):
            continue
        rows.append((m, "null predictor", float(np.mean(choice[method == m] == 0))))
        rows += [(m, k, share(m, hit)) for k, hit in edges.get(m, {}).items()]
    return {"method": np.array([r[0] for r in rows]), "edge": np.array([r[1] for r in rows]),
            "share": np.array([r[2] for r in rows])}


#: A grid edge chosen more often than this is too narrow there (``SEPARATIONS.md``).
EDGE_SHARE = 1 / 3


def learning_curves(S: Sizes, key: Array) -> dict[str, Any]:
    r"""Section 1: every method on every target of :func:`cells`, :func:`learning_curve_run` for every ``d`` in ``S.d``
    (one program per (method, d)). Returns ``table`` (columns ``method, target, d, seed, n, error, choice``: the
    figure's data), ``mean`` (the same averaged over seeds: ``method, target, d, n, error``), ``grid_edges``
    (:func:`grid_edges`) and ``glue``."""
    table = curves(S, key)
    keys = list(zip(table["method"], table["target"], table["d"], table["n"], strict=True))
    groups: dict[tuple, list[float]] = {}
    for k, e in zip(keys, table["error"], strict=True):
        groups.setdefault(k, []).append(float(e))
    mean = {name: np.array([k[i] for k in groups]) for i, name in enumerate(("method", "target", "d", "n"))}
    mean["error"] = np.array([np.mean(v) for v in groups.values()])
    budgets = [int(sample_sizes(d, S.budget, S.points)[-1]) for d in S.d]
    methods, names = cells(S)
    label = {t.name: t.label for t in TARGETS}
    glue = {"d-all": figures.listed(S.d), "d-min": min(S.d), "d-max": max(S.d), "d-span": max(S.d) / min(S.d),
            "seeds": S.seeds, "budget": f"{S.budget:g}", "points": S.points,
            "n-max": f"{budgets[-1]:,}", "n-val": f"{S.n_val:,}", "n-test": f"{S.n_test:,}",
            "methods": len(methods), "targets": len(names), "quad-time": f"{S.quad_time:g}",
            "method-list": ", ".join(METHOD_LABELS[m] for m in methods),
            "target-list": ", ".join(label[t] for t in names)}
    edges = grid_edges(S, table)
    glue["grid-edges"] = "; ".join(
        f"{METHOD_LABELS[m]}: " + ", ".join(f"{k} {v:.0%}" for mm, k, v in zip(*edges.values(), strict=True)
                                            if mm == m) for m in dict.fromkeys(edges["method"]))
    wide = [f"{METHOD_LABELS[m]}, {k} ({v:.0%})" for m, k, v in zip(*edges.values(), strict=True)
            if k != "null predictor" and v > EDGE_SHARE]
    glue["edges-over-third"] = "; ".join(wide) if wide else "none"
    return {"table": table, "mean": mean, "grid_edges": edges, "glue": glue}


def never_crossed(kernels_beyond: Mapping[str, np.ndarray]) -> list[str]:
    """The kernel cells of :func:`kernel_barrier`'s table in words, ``"<method> on <target>: <never>/<runs> runs
    never crossed"``: the value of :data:`KERNELS_NEVER_REACH_DEGREE_THREE`, live and stored."""
    kb = kernels_beyond
    return [f"{METHOD_LABELS[str(m)]} on {t}: {int(v)}/{int(r)} runs never crossed"
            for m, t, v, r in zip(kb["method"], kb["target"], kb["never"], kb["runs"], strict=True)]


def kernel_barrier(table: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    r"""The kernel cells whose level needs degree :math:`k\ge3` (NTK and random features; :func:`theory` predicts
    :math:`n^*\asymp d^{k\pm\delta}`, beyond a budget :math:`\propto d^2`), from :func:`measure`'s table: columns
    ``method, target, theory, never, crossed, runs``. The claim "kernels cannot learn degree :math:`\ge3` within
    the budget" holds when ``never == runs`` in every row: every run, at every :math:`d`, never reached the level
    (a cell is censored as soon as one run fails; the claim needs all of them)."""
    keep = [i for i in range(len(table["method"])) if str(table["method"][i]) in KERNEL_SOURCES
            and int(table["degree"][i]) >= 3]
    return {k: np.asarray(table[k])[keep] for k in ("method", "target", "theory", "never", "crossed", "runs")}


def exponents(S: Sizes, key: Array, table: Mapping[str, np.ndarray] | None = None) -> dict[str, Any]:
    r"""Section 2: the exponents of :math:`n^*(d)` for every (method, target) of :func:`cells` from the learning
    curves of :func:`learning_curves` (its ``table``, or the same sweeps run again: cached), against theory.

    Returns ``table`` (:func:`measure`'s columns), ``csv`` (its :data:`CSV_COLUMNS`, written to
    ``figures/atlas-exponents.csv``), ``grid`` (the exponents as a ``(methods, targets)`` array over the cells
    run, ``nan`` where censored), ``censored`` and ``verdicts`` (the same, the censoring label and the verdict),
    ``methods`` and ``targets`` (the grid's rows and columns), ``disagreements`` (the rows whose verdict is
    :data:`DISAGREES`, as ``"method on target: measured …, theory …"`` lines), ``html`` (the table as HTML,
    :func:`table_html`), ``kernels_beyond`` (:func:`kernel_barrier`) and ``glue`` (the counts of cells by
    censoring and by verdict, the disagreements as one line, the median width of the finite intervals
    (``ci-width``), the cells that need the paper profile, and every cell's measured text, slope against the count,
    local count slope, verdict and crossed runs as ``<method>-<target>``, ``…-count``, ``…-local``,
    ``…-verdict`` and ``…-crossed``)."""
    table = measure(curves(S, key) if table is None else table, n_boot=S.n_boot)
    methods = tuple(dict.fromkeys(np.asarray(table["method"]).tolist()))
    names = tuple(dict.fromkeys(np.asarray(table["target"]).tolist()))
    shape = (len(methods), len(names))
    if len(table["method"]) != shape[0] * shape[1]:
        raise ValueError(f"the table must hold every (method, target) of its methods and targets, got "
                         f"{len(table['method'])} rows for {shape}")
    rows = [{k: v[i] for k, v in table.items()} for i in range(len(table["method"]))]
    grid = np.asarray(table["exponent"], float).reshape(shape)
    label = {t.name: t.label for t in TARGETS}
    lines = [f"{METHOD_LABELS[r['method']]} on {label[r['target']]}: measured {measured_text(r)}, theory "
             f"{theory_text(r)}" for r in rows if r["verdict"] == DISAGREES]
    counts = {v.replace(" ", "-"): int(np.sum(table["verdict"] == v)) for v in VERDICTS}
    width = np.asarray(table["ci_high"], float) - np.asarray(table["ci_low"], float)
    paper = [f"{METHOD_LABELS[r['method']]} on {label[r['target']]}" for r in rows
             if str(r["needs"]).startswith("needs the paper")]
    glue = {"cells": grid.size, "finite": int(np.isfinite(grid).sum()),
            "ci-width": f"{np.nanmedian(width):.2f}" if np.isfinite(width).any() else "none",
            "above-budget": int(np.sum(table["censored"] == ABOVE_BUDGET)),
            "below-grid": int(np.sum(table["censored"] == BELOW_GRID)),
            **counts, "disagreement-list": "; ".join(lines) if lines else "none",
            "needs-paper": len(paper), "needs-paper-list": "; ".join(paper) if paper else "none"}
    glue |= {f"{r['method']}-{r['target']}": measured_text(r) for r in rows}
    glue |= {f"{r['method']}-{r['target']}-count": count_text(r) for r in rows}
    glue |= {f"{r['method']}-{r['target']}-local": f"{float(r['theory_local']):.2f}" for r in rows
             if np.isfinite(float(r["theory_local"]))}
    glue |= {f"{r['method']}-{r['target']}-verdict": verdict_text(r) for r in rows}
    glue |= {f"{r['method']}-{r['target']}-crossed": f"{r['crossed']}/{r['runs']}" for r in rows}
    return {"table": table, "csv": {k: table[k] for k in CSV_COLUMNS}, "grid": grid,
            "censored": np.asarray(table["censored"]).reshape(shape),
            "verdicts": np.asarray(table["verdict"]).reshape(shape), "methods": np.array(methods),
            "targets": np.array(names), "disagreements": lines, "html": table_html(table),
            "kernels_beyond": kernel_barrier(table), "glue": glue}


# --- the chapter's figures (the live run and the stored results draw with the same code)
#: The figures' width in inches: the width at which the book shows them, so that their text (9 pt and up, the
#: book's smallest) keeps its size.
FIGURE_WIDTH = figures.COLUMN_WIDTH


def plot_curves(mean: Mapping[str, np.ndarray]):
    r"""The learning curves: one panel per target, each method's test error averaged over seeds against :math:`n`
    at the largest :math:`d` of ``mean`` (methods in colour; with at most three methods, every :math:`d`, darker
    for larger :math:`d`), with the target's level. ``mean``: :func:`learning_curves`' ``mean`` table (columns
    ``method, target, d, n, error``). Returns the figure, :data:`FIGURE_WIDTH` wide."""
    import matplotlib.pyplot as plt

    names = [t for t in TARGETS if np.any(mean["target"] == t.name)]
    methods = [m for m in METHODS if np.any(mean["method"] == m)]
    ds = np.unique(mean["d"])
    shown = ds if len(methods) <= 3 else ds[-1:]
    cols = min(len(names), 2)
    rows_ = -(-len(names) // cols)
    fig, axs = plt.subplots(rows_, cols, figsize=(FIGURE_WIDTH, 2.6 * rows_ + 0.9), squeeze=False,
                            constrained_layout=True)
    for ax, spec in zip(axs.ravel(), names, strict=False):
        for j, method in enumerate(methods):
            for i, d in enumerate(shown):
                at = (mean["method"] == method) & (mean["target"] == spec.name) & (mean["d"] == d)
                alpha = 1.0 if d == shown[-1] else 0.35 + 0.5 * i / max(len(shown) - 1, 1)
                ax.plot(mean["n"][at], mean["error"][at], "-o", ms=3, color=f"C{j}", alpha=alpha, lw=1.4,
                        label=f"{METHOD_LABELS[method]}" + (f", d = {d}" if len(shown) > 1 else ""))
        ax.axhline(spec.level, color="k", lw=0.8, ls="--")
        ax.set_xscale("log")
        ax.set_title(spec.label, fontsize=10)
        ax.set_ylim(0, 1.3 if spec.kind == "regression" else 0.65)
        ax.set_ylabel("normalised MSE" if spec.kind == "regression" else "0-1 error", fontsize=9)
        ax.set_xlabel("training samples n", fontsize=9)
        ax.tick_params(labelsize=9)
    for ax in axs.ravel()[len(names):]:
        ax.set_visible(False)
    handles, labels = axs.ravel()[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=min(len(labels), 3 if len(shown) > 1 else 4),
               fontsize=9, frameon=False)
    which = f"d = {figures.listed([int(v) for v in shown])}" if len(shown) > 1 else f"d = {shown[-1]}"
    fig.suptitle(f"test error, mean over seeds, {which}; dashed: the level", fontsize=9)
    return fig


#: Colours of the heat map's verdicts.
_VERDICT_COLOURS = {AGREES: "#4c9a2a", CONSISTENT: "#9ccc65", DISAGREES: "#d9534f", NOT_MEASURED: "#bdbdbd",
                    SILENT: "#ffffff"}


def plot_exponents(ex: Mapping[str, Any]):
    r"""The atlas as a grid, methods × targets: each cell coloured by its verdict (:data:`VERDICTS`) and labelled
    with the measured exponent and its interval (or "not measured"), the theory and the verdict in words. ``ex``:
    :func:`exponents`' output (``grid``, ``censored``, ``verdicts``, ``methods``, ``targets``, ``table``). Returns
    the figure, :data:`FIGURE_WIDTH` wide."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    grid = np.asarray(ex["grid"], float)
    censored = np.asarray(ex["censored"]).astype(str)
    verdicts = np.asarray(ex["verdicts"]).astype(str)
    methods, names = [str(m) for m in ex["methods"]], [str(t) for t in ex["targets"]]
    table = ex["table"]
    lo = np.asarray(table["ci_low"], float).reshape(grid.shape)
    hi = np.asarray(table["ci_high"], float).reshape(grid.shape)
    theo = np.asarray(table["theory"]).astype(str).reshape(grid.shape)
    code = np.vectorize(VERDICTS.index)(verdicts)
    label = {t.name: t.label for t in TARGETS}
    fig, ax = plt.subplots(figsize=(FIGURE_WIDTH, 1.0 * grid.shape[0] + 1.9), constrained_layout=True)
    ax.imshow(code, cmap=ListedColormap([_VERDICT_COLOURS[v] for v in VERDICTS]), vmin=-0.5,
              vmax=len(VERDICTS) - 0.5, aspect="auto")
    for i in range(grid.shape[0]):
        for j in range(grid.shape[1]):
            top = (f"{grid[i, j]:.2f}\n[{lo[i, j]:.2f}, {hi[i, j]:.2f}]" if not censored[i, j]
                   else f"not measured\n({censored[i, j]})")
            ax.text(j, i - 0.2, top, ha="center", va="center", fontsize=9)
            if theo[i, j] != NO_PREDICTION.text:
                ax.text(j, i + 0.14, f"theory {theo[i, j]}", ha="center", va="center", fontsize=9)
            if verdicts[i, j] not in (SILENT, NOT_MEASURED):
                ax.text(j, i + 0.34, verdicts[i, j], ha="center", va="center", fontsize=9, style="italic")
    ax.set_xticks(range(len(names)), [label[t] for t in names], rotation=20, ha="right", fontsize=9)
    ax.set_yticks(range(len(methods)), [METHOD_LABELS[m] for m in methods], fontsize=9)
    ax.set_xticks(np.arange(len(names) + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(len(methods) + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="w", lw=2)
    ax.grid(which="major", visible=False)
    ax.tick_params(which="minor", length=0)
    fig.legend([Patch(facecolor=_VERDICT_COLOURS[v], edgecolor="0.6") for v in VERDICTS], list(VERDICTS),
               loc="outside lower center", ncol=len(VERDICTS), fontsize=9, frameon=False)
    ax.set_title("exponent p of n*(d) ∝ d^p [95% CI]; colour: the verdict against theory", fontsize=9)
    return fig


#: The chapter's experiments in its order (``featlearn reproduce atlas``).
SECTIONS = {"learning_curves": learning_curves, "exponents": exponents}
