r"""The atlas: every method of the book on every target, measured the same way.

Each paper compares its own method with a kernel on its own target. The atlas runs the seven methods on the six
targets through one interface and measures, for each pair, how the number of samples needed to reach a fixed test
error grows with the dimension: :math:`n^*(d)\propto d^{p}`, with :math:`p` fitted on log-log axes over a grid of
:math:`d` (:func:`exponent`) and a bootstrap interval over seeds; a pair that never reaches the level within the
sample budget is *censored*, never a number.

**Methods** (:data:`METHODS`; each calls its paper's module, :func:`run` is the one interface):

1. ``ntk``: kernel ridge regression with the closed-form NTK of the two-layer ReLU network, biases trained
   (:func:`featlearn.kernels.ntk_relu`, :func:`featlearn.train.kernel_ridge`);
2. ``random-features``: ridge regression on ``rf_ratio`` times more distinct random ReLU features than samples
   (:func:`featlearn.kernels.random_features`, :func:`featlearn.train.ridge`);
3. ``one-step``: one gradient step, then ridge (Algorithm 1 of Damian, Lee & Soltanolkotabi,
   :func:`featlearn.one_step.fit_on_data`);
4. ``two-stage``: gradient-feature learning (Shi, Wei & Liang, :func:`featlearn.gradient_features.two_stage`; the
   hinge loss on classification targets, the square loss on regression targets);
5. ``good-directions``: :math:`f_L + f_Q` with the regulariser :math:`R_1` (Nichani, Bai & Lee,
   :func:`featlearn.good_directions.fit`, model ``"LQ"``);
6. ``full-gd``: full-batch gradient descent on all layers of the two-layer ReLU network (:func:`featlearn.train.fit`);
7. ``rfm``: the Recursive Feature Machine (:func:`featlearn.agop.rfm`).

**Targets** (:data:`TARGETS`, unit variance, Gaussian inputs unless stated): :math:`h_2(u\cdot x)`,
:math:`h_3(u\cdot x)` (its expected Hessian vanishes), the one-step chapter's two-index target
(:data:`featlearn.one_step.SOURCE`), the good-directions chapter's dense quadratic plus sparse cubic
(:func:`featlearn.good_directions.dense_sparse_target`), a 3-sparse parity on the uniform hypercube and the XOR
Gaussian mixture (:func:`featlearn.data.sparse_parity`, :func:`featlearn.data.xor_mixture`; classification, labels
:math:`\pm1`). Each target's level, the test error whose crossing is measured, is stated in :data:`TARGETS`.

**The shared rule.** Every method produces a few candidate predictors, fixed in advance by its grid (the ridge
penalties :data:`featlearn.train.RIDGE_LAMBDAS`; a schedule of checkpoints; a grid of regularisation strengths or
step sizes; the iterations of the RFM); the candidate with the smallest square loss on ``n_val`` validation
samples (labels :math:`\pm1` for classification) is the method's predictor (:func:`score`), and only it is scored on
the test set: normalised MSE for regression targets, 0-1 error of its sign for classification targets.

**Programs.** The data of every (seed, target) is drawn once per :math:`d` (:func:`draw`, one program); a sample
size :math:`n` uses the first :math:`n` rows of the drawn training pool, so the training sets of one seed are
nested. Each (method, :math:`d`) is one compiled program over seeds × targets × sample sizes (:func:`learning_curve`),
cached by :func:`featlearn.sweeps.sweep`: the gradient methods see the whole pool with the rows beyond :math:`n`
weighted 0 (:func:`featlearn.data.first_n_weights`; :math:`n` traced, one ``lax.map``), the kernel methods
(:data:`SLICED`, whose :math:`n\times n` solves take :math:`n` as a shape) the first :math:`n` rows themselves.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping, Sequence
from types import SimpleNamespace
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array, lax

from . import _checks, agop, data, figures, kernels, metrics, models, one_step, sweeps, targets, train
from . import good_directions as gd
from . import gradient_features as gf
from .progress import progress


# ------------------------------------------------------------------------------------------------- targets
class Target(NamedTuple):
    r"""One target of the atlas: its ``name`` (an id), ``label`` (plain text, for figures and tables), ``kind``
    (``"regression"``: scored by normalised MSE; ``"classification"``: by the 0-1 error of the sign, labels
    :math:`\pm1`), the ``level`` whose crossing is measured (stated before any run), ``kernel_degree``, the
    polynomial degree a predictor must learn to reach that level (what a rotation-invariant kernel pays
    :math:`n\asymp d^{\rm degree}` for; ``None`` where the target is not a polynomial of Gaussian or hypercube
    inputs) and ``why``, the reason for the level."""

    name: str
    label: str
    kind: str
    level: float
    kernel_degree: int | None
    why: str


#: The six targets, in the order of the atlas's columns.
TARGETS: tuple[Target, ...] = (
    Target("he2", "h₂(u·x)", "regression", 0.5, 2,
           "half of its variance: all of it is degree 2, so the level needs degree 2"),
    Target("he3", "h₃(u·x)", "regression", 0.5, 3,
           "half of its variance: all of it is degree 3 (expected Hessian 0), so the level needs degree 3"),
    Target("multi-index", "two-index, degree 4", "regression", 0.3, 4,
           "below the degree-≤2 plateau 0.5: the level needs 40% of the degree-4 part"),
    Target("dense-sparse", "dense quadratic + sparse cubic", "regression", 0.3, 3,
           "below the degree-≤2 plateau 0.5: the level needs 40% of the sparse cubic"),
    Target("parity", "3-sparse parity (hypercube)", "classification", 0.25, 3,
           "half way from chance (0.5) to perfect: a degree-3 multilinear function"),
    Target("xor", "XOR Gaussian mixture", "classification", 0.25, None,
           "half way from chance (0.5) to perfect (the Bayes error is below 0.01)"),
)
TARGET_NAMES = tuple(t.name for t in TARGETS)
#: 1.0 for the classification targets (scored by the 0-1 error), 0.0 for the regression targets.
CLASSIFICATION = tuple(float(t.kind == "classification") for t in TARGETS)
#: The parity's support size and the XOR mixture's cluster norm (noise standard deviation 1).
PARITY_K = 3
XOR_MU = 3.0


def gaussian_targets(d: int) -> tuple[Callable[[Array], Array], ...]:
    r"""The four Gaussian-input targets in dimension ``d``, in :data:`TARGETS`'s order: :math:`h_2(u\cdot x)`,
    :math:`h_3(u\cdot x)`, :math:`g(Ux)` with :math:`g` = :data:`featlearn.one_step.SOURCE` and
    :func:`featlearn.good_directions.dense_sparse_target`. Their directions are drawn from ``key(1)`` at every
    ``d`` and every seed (the methods are rotation invariant; seeds draw new data)."""
    d = _checks.positive_int("d", d, minimum=2)
    k = jax.random.key(1)
    return (targets.single_index(k, d, {2: 1.0}), targets.single_index(k, d, {3: 1.0}),
            targets.multi_index(k, d, one_step.SOURCE), gd.dense_sparse_target(k, d))


class Problem(NamedTuple):
    r"""One target's data at one seed: the training pool ``x`` ``(n_max, d)``, ``y`` ``(n_max,)`` (a sample size
    :math:`n` uses its first :math:`n` rows), the validation set ``x_val``, ``y_val`` and the test set ``x_test``,
    ``y_test`` (noise-free labels; :math:`\pm1` for classification)."""

    x: Array
    y: Array
    x_val: Array
    y_val: Array
    x_test: Array
    y_test: Array


def draw(key: Array, target: int | Array, *, d: int, n_max: int, n_val: int, n_test: int,
         functions: Sequence[Callable[[Array], Array]]) -> Problem:
    r"""The :class:`Problem` of target number ``target`` (an index into :data:`TARGETS`; may be traced: the six
    samplers are one ``lax.switch``) from ``key``: ``n_max + n_val + n_test`` independent rows, split in that
    order. ``functions``: :func:`gaussian_targets` ``(d)``, whose rows come from
    :func:`featlearn.data.ghost_rows`; the parity and the mixture from :func:`featlearn.data.sparse_parity`
    (uniform inputs) and :func:`featlearn.data.xor_mixture`."""
    rows = sum(_checks.positive_int(k, v) for k, v in (("n_max", n_max), ("n_val", n_val), ("n_test", n_test)))
    if len(functions) != 4:
        raise ValueError(f"functions must hold the 4 Gaussian-input targets of gaussian_targets(d), "
                         f"got {len(functions)}")

    def gaussian(f):
        return lambda k: data.ghost_rows(k, 0, rows, d, f)

    def parity(k):
        return data.sparse_parity(k, rows, d, PARITY_K, structured_fraction=0.0)[:2]

    def mixture(k):
        return data.xor_mixture(k, rows, d, mu_norm=XOR_MU)[:2]

    x, y = lax.switch(target, [*(gaussian(f) for f in functions), parity, mixture], key)
    cut = (n_max, n_max + n_val)
    return Problem(x[:cut[0]], y[:cut[0]], x[cut[0]:cut[1]], y[cut[0]:cut[1]], x[cut[1]:], y[cut[1]:])


# ------------------------------------------------------------------------------------------------- methods
class Candidates(NamedTuple):
    r"""A method's candidate predictors on one problem: their predictions on the validation inputs ``pred_val``
    ``(P, n_val)`` and on the test inputs ``pred_test`` ``(P, n_test)``, one row per candidate (the shared rule,
    :func:`score`, picks one by its validation loss)."""

    pred_val: Array
    pred_test: Array


def ntk_ridge(key: Array, p: Problem, *, bias_var: float = 1.0) -> Candidates:
    r"""Method 1: kernel ridge regression with the closed-form NTK of the two-layer ReLU network, all layers and
    the biases trained (:func:`featlearn.kernels.ntk_relu`: :math:`\kappa_1 + (x\cdot x'+1)\kappa_0`, pre-activation
    covariance :math:`x\cdot x'/d + s_b^2`), :math:`\lambda` chosen on the validation set
    (:func:`featlearn.train.kernel_ridge`). One candidate. (``key`` unused: the method is deterministic.)"""
    del key
    kfn = lambda a, b: kernels.ntk_relu(a, b, bias_var=bias_var)  # noqa: E731
    Kv = kfn(p.x_val, p.x)
    coef = train.kernel_ridge(kfn(p.x, p.x), p.y, Kv, p.y_val).coef
    return Candidates((Kv @ coef)[None], (kfn(p.x_test, p.x) @ coef)[None])


def random_features_ridge(key: Array, p: Problem, *, features: int) -> Candidates:
    r"""Method 2: ridge regression on ``features`` distinct random ReLU features :math:`\sigma(Wx+b)/\sqrt N`
    (:func:`featlearn.kernels.random_features`: the network's initial :math:`W, b` from ``key``, the same for every
    sample size), many more than the samples, :math:`\lambda` chosen on the validation set
    (:func:`featlearn.train.ridge`). One candidate."""
    feats = [kernels.random_features(key, z, features) for z in (p.x, p.x_val, p.x_test)]
    fit = train.ridge(feats[0], p.y, feats[1], p.y_val)
    return Candidates((feats[1] @ fit.coef)[None], (feats[2] @ fit.coef)[None])


def one_step_ridge(key: Array, p: Problem, keep: Array, *, width: int) -> Candidates:
    r"""Method 3: Algorithm 1 of Damian, Lee & Soltanolkotabi (:func:`featlearn.one_step.fit_on_data`: linear part
    removed, one gradient step on :math:`W` that forgets the initialisation, biases re-drawn, ridge on the second
    layer with :math:`\lambda` on the validation set), width ``width``. One candidate."""
    model = one_step.fit_on_data(key, p.x, p.y, p.x_val, p.y_val, width, weights=keep)
    return Candidates(one_step.predict(model, p.x_val)[None], one_step.predict(model, p.x_test)[None])


def two_stage_fit(key: Array, p: Problem, keep: Array, classification: Array, *, width: int, steps: int,
                  eta1s: Sequence[float], decays: Sequence[float]) -> Candidates:
    r"""Method 4: the two-stage algorithm of Shi, Wei & Liang (:func:`featlearn.gradient_features.two_stage`: one
    step on :math:`W` with :math:`\lambda_1 = 1/\eta_1` from the symmetric initialisation, then the second layer by
    ``steps`` steps of Nesterov gradient descent with weight decay :math:`\lambda_2`), width ``width``, on the hinge
    loss for a classification target and the square loss otherwise (both are run; ``classification`` selects).
    Candidates: every :math:`(\eta_1, \lambda_2)` in ``eta1s`` × ``decays``."""
    p0 = models.init_params(key, p.x.shape[1], width, symmetric=True)
    e1, wd = (jnp.asarray(v, p.x.dtype).ravel() for v in np.meshgrid(eta1s, decays, indexing="ij"))

    def one(eta1, decay, loss):
        net = gf.two_stage(p0, p.x, p.y, eta1=eta1, steps=steps, weight_decay=decay, weights=keep, loss=loss).final
        return models.apply(net, p.x_val), models.apply(net, p.x_test)

    hinge = jax.vmap(lambda a, b: one(a, b, "hinge"))(e1, wd)
    square = jax.vmap(lambda a, b: one(a, b, "mse"))(e1, wd)
    return Candidates(*(jnp.where(classification > 0, h, s) for h, s in zip(hinge, square, strict=True)))


def good_directions_fit(key: Array, p: Problem, keep: Array, *, width: int, steps: int, time: float,
                        lams: Sequence[float]) -> Candidates:
    r"""Method 5: :math:`f_L + f_Q` of Nichani, Bai & Lee trained from :math:`W = 0` by full-batch GD on the
    training MSE plus :math:`\lambda R_1` (:func:`featlearn.good_directions.fit`, model ``"LQ"``, the top block of
    :math:`k = d` directions, the number of outlying singular values the good-directions chapter measures), width
    ``width``, for the training time :math:`\eta t` = ``time`` in ``steps`` steps (rate ``time / steps``).
    Candidates: every :math:`\lambda` in ``lams``."""
    d = p.x.shape[1]
    net = gd.initial_network(key, d, width)
    apply_fn = gd.model_fn(net, "LQ")

    def one(lam):
        W, _ = gd.fit(net, p.x, p.y, model="LQ", lam=lam, k=d, steps=steps, lr=time / steps, n_evals=1,
                      weights=keep)
        return apply_fn({"W": W}, p.x_val), apply_fn({"W": W}, p.x_test)

    return Candidates(*jax.vmap(one)(jnp.asarray(lams, p.x.dtype)))


def full_gd(key: Array, p: Problem, keep: Array, *, width: int, steps: int, lrs: Sequence[float],
            evals: int) -> Candidates:
    r"""Method 6: full-batch gradient descent on all layers (:math:`W`, :math:`b`, :math:`a`) of the two-layer ReLU
    network :math:`f = m^{-1/2}\sum_j a_j\sigma(w_j\cdot x+b_j)` from the symmetric initialisation (biases
    :math:`N(0,1)`), on the square loss of the kept rows, ``steps`` steps (:func:`featlearn.train.fit`).
    Candidates: for every learning rate in ``lrs``, the network at ``evals + 1`` evenly spaced checkpoints, the start
    (:math:`f\equiv0`) included (early stopping)."""
    d = p.x.shape[1]
    params = models.init_params(key, d, width, symmetric=True)
    apply_fn = models.make_apply("relu", models.output_scale(width, "ntk"))
    loss = train.supervised_loss(apply_fn, p.x, p.y, weights=keep)

    def one(lr):
        _, trace = train.fit(params, loss, steps=steps, lr=lr, n_evals=evals,
                             metrics=lambda q: (apply_fn(q, p.x_val), apply_fn(q, p.x_test)))
        return trace.metrics

    pv, pt = jax.vmap(one)(jnp.asarray(lrs, p.x.dtype))  # (L, evals + 1, n)
    return Candidates(pv.reshape(-1, pv.shape[-1]), pt.reshape(-1, pt.shape[-1]))


def rfm_fit(key: Array, p: Problem, *, iterations: int, bandwidth: float) -> Candidates:
    r"""Method 7: the Recursive Feature Machine (:func:`featlearn.agop.rfm`: Laplace-kernel ridge, then
    :math:`M\leftarrow` the AGOP of the fit, ``iterations`` times; bandwidth ``bandwidth``), each ridge's
    :math:`\lambda` chosen on the validation set. Candidates: the predictor after each iteration, the plain Laplace
    kernel (:math:`M = I`) first. (``key`` unused.)"""
    del key
    res = agop.rfm(p.x, p.y, p.x_test, p.y_test, iterations=iterations, bandwidth=bandwidth, x_val=p.x_val,
                   y_val=p.y_val)
    return Candidates(res.val_pred, res.test_pred)


#: The seven methods, in the order of the atlas's rows: name → ``fn(key, problem, [keep,] **hyperparameters)``
#: (``keep``: the first-n mask, for the methods not in :data:`SLICED`).
METHODS: dict[str, Callable[..., Candidates]] = {
    "ntk": ntk_ridge, "random-features": random_features_ridge, "one-step": one_step_ridge,
    "two-stage": two_stage_fit, "good-directions": good_directions_fit, "full-gd": full_gd, "rfm": rfm_fit,
}
#: How each method is named in the chapter's figures and table.
METHOD_LABELS = {"ntk": "NTK ridge", "random-features": "random features", "one-step": "one step + ridge",
                 "two-stage": "two-stage", "good-directions": "NTK + QuadNTK, R₁", "full-gd": "GD, all layers",
                 "rfm": "RFM"}
_NEEDS_KIND = {"two-stage"}  # methods whose loss depends on the kind of target
#: The methods whose solvers take the sample size as a shape (an n × n kernel): they run on the first ``n`` rows
#: themselves, one compiled copy per ``n``; the others (gradient methods, whose cost grows like ``n``) run on the
#: whole pool with the rows beyond ``n`` weighted 0, ``n`` traced, one compiled copy for every ``n``.
SLICED = frozenset({"ntk", "random-features", "rfm"})


def score(p: Problem, cands: Candidates, classification: Array) -> dict[str, Array]:
    r"""The shared rule: the candidate with the smallest validation square loss :math:`\frac1{n_{\rm val}}\sum(\hat
    f(x)-y)^2` (a candidate with a non-finite loss is never chosen) is scored on the test set. Returns scalars:
    ``error`` (the target's error: the 0-1 error of the sign if ``classification`` is 1, else the normalised MSE),
    ``nmse``, ``error01``, the chosen candidate's ``val_loss`` and its index ``choice``."""
    val = jnp.mean((cands.pred_val - p.y_val[None, :]) ** 2, axis=1)
    val = jnp.where(jnp.isfinite(val), val, jnp.inf)
    best = jnp.argmin(val)
    pred = cands.pred_test[best]
    nmse = metrics.normalized_mse(pred, p.y_test)
    err01 = metrics.classification_error(pred, p.y_test)
    return {"error": jnp.where(classification > 0, err01, nmse), "nmse": nmse, "error01": err01,
            "val_loss": val[best], "choice": best}


def first_rows(p: Problem, n: int) -> Problem:
    """The problem restricted to the first ``n`` rows of its training pool (validation and test sets unchanged)."""
    n = _checks.positive_int("n", n)
    if n > p.x.shape[0]:
        raise ValueError(f"n must be at most the pool's {p.x.shape[0]} rows, got {n}")
    return p._replace(x=p.x[:n], y=p.y[:n])


def run(method: str, key: Array, p: Problem, n: int | Array, classification: float | Array = 0.0,
        **hyper: Any) -> dict[str, Array]:
    r"""The one interface: method ``method`` (a name of :data:`METHODS`) with ``key``, on the first ``n`` rows of
    the problem ``p``, its hyperparameters ``hyper``; ``classification`` (0 or 1, may be traced) says how the target
    is scored. For a method of :data:`SLICED` ``n`` is a Python integer (the rows are sliced); for the others it may
    be traced (the rows beyond ``n`` get weight 0, :func:`featlearn.data.first_n_weights`). Returns :func:`score`'s
    test error and diagnostics."""
    _checks.one_of("method", method, METHODS)
    cls = jnp.asarray(classification, p.x.dtype)
    if method in SLICED:
        if _checks._is_tracer(n):
            raise ValueError(f"n must be a Python integer for the method {method!r} (its solver's shape), got a "
                             "traced value")
        return score(p, METHODS[method](key, first_rows(p, int(n)), **hyper), cls)
    keep = data.first_n_weights(n, p.x.shape[0], dtype=p.x.dtype)
    extra = {"classification": cls} if method in _NEEDS_KIND else {}
    return score(p, METHODS[method](key, p, keep, **extra, **hyper), cls)


def learning_curve(key: Array, seed: int | Array, target: int | Array, *, method: str, problems: Problem,
                   ns: Sequence[int], **hyper: Any) -> dict[str, Array]:
    r""":func:`run` for every ``n`` in ``ns`` (increasing) on the problem of seed ``seed`` and target ``target``
    (indices into ``problems``, whose arrays are ``(seeds, targets, ...)`` as :func:`draw` swept over seeds and
    targets returns them; both may be traced). The sample sizes run one after another inside one program: a
    ``lax.map`` (one compiled copy) for a traced-``n`` method, a loop over the slices for a method of
    :data:`SLICED`. The method's key is ``fold_in(key, seed)``: the same initialisation for every ``n`` and target
    of a seed, so the curves of one seed differ only by the training rows. Returns ``(K,)`` arrays."""
    ns = tuple(_checks.positive_int("ns", int(v)) for v in ns)
    if not ns or list(ns) != sorted(set(ns)) or ns[-1] > problems.x.shape[2]:
        raise ValueError(f"ns must be increasing sample sizes, at most n_max = {problems.x.shape[2]}, got {ns}")
    p = jax.tree_util.tree_map(lambda a: a[seed, target], problems)
    cls = jnp.asarray(CLASSIFICATION)[target]
    k = jax.random.fold_in(key, seed)
    if method in SLICED:
        outs = [run(method, k, p, n, cls, **hyper) for n in ns]
        return jax.tree_util.tree_map(lambda *a: jnp.stack(a), *outs)
    return lax.map(lambda n: run(method, k, p, n, cls, **hyper), jnp.asarray(ns))


# ------------------------------------------------------------------------------------------------ measurement
def sample_sizes(d: int, budget: float, points: int) -> np.ndarray:
    r"""The sample sizes at dimension ``d``: ``points`` sizes spaced evenly in :math:`\log n` from :math:`d/2` to
    the budget :math:`n_{\max} = \lfloor\text{budget}\cdot d^2\rfloor`, rounded, distinct → ``(K,)`` integers."""
    d = _checks.positive_int("d", d, minimum=2)
    _checks.real_in("budget", budget, 0.0, low_open=True)
    points = _checks.positive_int("points", points, minimum=2)
    top = int(budget * d * d)
    if top <= d // 2:
        raise ValueError(f"budget must give n_max = budget·d² above d/2 = {d // 2}, got n_max = {top}")
    return np.unique(np.round(np.geomspace(d / 2, top, points)).astype(int))


#: What a crossing can be: reached inside the grid, never reached (the budget is too small), or already reached
#: at the smallest sample size (the grid starts too late).
CROSSED, NEVER, AT_START = "crossed", "never", "at start"
#: The ``censored`` entry of a cell: not censored, censored above the budget, censored below the grid.
ABOVE_BUDGET, BELOW_GRID = "> budget", "< smallest n"


def crossings(ns: Sequence[int], errors: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    r"""For each error curve ``errors`` ``(..., K)`` over the increasing sample sizes ``ns`` ``(K,)``, the smallest
    :math:`n` at which the (decreasing) error reaches ``level`` or below, interpolated linearly in :math:`\log n`
    (:func:`featlearn.metrics.crossing_point`), and how: :data:`CROSSED`, :data:`NEVER` (``nan``: censored above
    the budget) or :data:`AT_START` (the curve starts at or below the level: ``nan``, censored below the grid).
    A non-finite error never counts as reached. Returns ``n_star`` and ``status``, each ``(...)``."""
    ns = np.asarray(ns, float)
    errors = np.asarray(errors, float)
    if ns.ndim != 1 or ns.size < 2 or np.any(np.diff(ns) <= 0):
        raise ValueError(f"ns must be at least two increasing sample sizes, got {ns}")
    if errors.shape[-1:] != ns.shape:
        raise ValueError(f"errors must have last axis of length len(ns) = {ns.size}, got shape {errors.shape}")
    _checks.real_in("level", level, 0.0, low_open=True)
    flat = np.where(np.isfinite(errors), errors, np.inf).reshape(-1, ns.size)
    n_star = np.full(flat.shape[0], np.nan)
    status = np.full(flat.shape[0], NEVER, dtype=object)
    for i, e in enumerate(flat):
        if e[0] <= level:
            status[i] = AT_START
        elif np.any(e <= level):
            status[i], n_star[i] = CROSSED, metrics.crossing_point(ns, -e, -level)
    return n_star.reshape(errors.shape[:-1]), status.reshape(errors.shape[:-1]).astype(str)


class Exponent(NamedTuple):
    r"""The measured exponent of one cell: the slope of :math:`\log n^*` against :math:`\log d` and its bootstrap
    interval (``nan`` when censored), ``censored`` (``""``, :data:`ABOVE_BUDGET` or :data:`BELOW_GRID`) and
    ``crossed``, the number of (d, seed) runs that crossed inside the grid, out of ``runs``."""

    exponent: float
    ci_low: float
    ci_high: float
    censored: str
    crossed: int
    runs: int


def exponent(ds: Sequence[int], n_star: np.ndarray, status: np.ndarray, *, level: float = 0.95, n_boot: int = 2000,
             seed: int = 0) -> Exponent:
    r"""The exponent of :math:`n^*(d)` from the crossings ``n_star`` and their ``status`` ``(D, seeds)`` (rows: the
    dimensions ``ds``): the least-squares slope on log-log axes over every (d, seed) and a percentile bootstrap
    interval at ``level`` that resamples seeds within each :math:`d` (:func:`featlearn.metrics.fit_loglog`).

    Censoring comes first and is never turned into a number: if any run never reached the level the cell is
    :data:`ABOVE_BUDGET`; otherwise, if any run was already below it at the smallest sample size,
    :data:`BELOW_GRID`; either way the exponent and its interval are ``nan``."""
    ds = np.asarray(ds, float)
    n_star = np.asarray(n_star, float)
    status = np.asarray(status)
    if n_star.ndim != 2 or n_star.shape[0] != ds.size or status.shape != n_star.shape:
        raise ValueError(f"n_star and status must have shape (len(ds), seeds) = ({ds.size}, *), got "
                         f"{n_star.shape} and {status.shape}")
    if ds.size < 2 or np.unique(ds).size < 2:
        raise ValueError(f"ds must hold at least two distinct dimensions, got {ds}")
    crossed = int(np.sum(status == CROSSED))
    censored = ABOVE_BUDGET if np.any(status == NEVER) else BELOW_GRID if np.any(status == AT_START) else ""
    if censored:
        return Exponent(math.nan, math.nan, math.nan, censored, crossed, status.size)
    seeds = n_star.shape[1]
    fit = metrics.fit_loglog(np.repeat(ds, seeds), n_star.ravel(), groups=np.tile(np.arange(seeds), ds.size),
                             level=level, n_boot=n_boot, seed=seed)
    return Exponent(fit.slope, fit.ci_low, fit.ci_high, "", crossed, status.size)


# ----------------------------------------------------------------------------------------------------- theory
class Prediction(NamedTuple):
    r"""What a published result predicts for one cell: ``exponent`` :math:`p` of :math:`n^*(d)\asymp d^p` (``None``:
    no prediction), ``relation`` (``"="``: :math:`n^*\asymp d^p`; ``"<"``: an upper bound, :math:`n^* = o(d^p)`),
    ``source`` (BibTeX keys of ``book/references.bib``, separated by ``"; "``) and ``why`` (one line)."""

    exponent: float | None
    relation: str
    source: str
    why: str

    @property
    def text(self) -> str:
        """The theory column: ``"2"``, ``"< 3"`` or ``"no prediction"``."""
        if self.exponent is None:
            return "no prediction"
        return f"{'' if self.relation == '=' else self.relation + ' '}{self.exponent:g}"


NO_PREDICTION = Prediction(None, "", "", "no published result covers this method on this target")
_KERNEL_SOURCES = {"ntk": "ghorbani2021; mei2022", "random-features": "ghorbani2021; mei2022"}


def theory(method: str, target: str) -> Prediction:
    r"""The theory column of cell (``method``, ``target``): only what the cited results state.

    * Kernels (``ntk``, ``random-features`` with many more features than samples), on Gaussian or hypercube inputs:
      ridge regression learns the part of degree :math:`\le\ell` from :math:`d^{\ell+\delta}\le n\le
      d^{\ell+1-\delta}` samples and nothing above it (Ghorbani et al.; Mei et al., who also treat the
      hypercube), so reaching a level that needs degree :math:`k` (``Target.kernel_degree``) takes
      :math:`n\asymp d^k`. The XOR mixture is neither input law: no prediction.
    * ``one-step`` (Damian et al., Theorem 1): :math:`n\gtrsim d^2r\kappa^2 + dr^p` for :math:`f^* = g(Ux)` with
      :math:`U` of fixed rank :math:`r` and a non-degenerate expected Hessian: exponent 2 on :math:`h_2` (r = 1)
      and on the two-index target (r = 2, :math:`\kappa = 1`). On :math:`h_3` (:math:`H = 0`) and on the dense
      quadratic (rank :math:`d`, not fixed) the theorem does not apply; the parity and the mixture are not
      Gaussian inputs.
    * ``good-directions`` (Nichani et al.): on a dense low-degree plus sparse high-degree target, the regularised
      :math:`f_L + f_Q` has a better sample complexity than the NTK: below the kernel's exponent 3 on the dense
      quadratic plus sparse cubic (an upper bound; no exponent stated here).
    * Everything else: no prediction (``two-stage``: polynomial in :math:`d` on its case-study distributions, no
      exponent; ``full-gd``, ``rfm``: no sample-complexity result for these algorithms on these targets; the
      information-exponent rates of Ben Arous et al. are for online SGD, which full-batch GD is not)."""
    _checks.one_of("method", method, METHODS)
    _checks.one_of("target", target, TARGET_NAMES)
    spec = TARGETS[TARGET_NAMES.index(target)]
    if method in _KERNEL_SOURCES and spec.kernel_degree is not None:
        k = spec.kernel_degree
        return Prediction(float(k), "=", _KERNEL_SOURCES[method], f"the level needs degree {k}: n ≍ d^{k}")
    if method == "one-step" and target in ("he2", "multi-index"):
        return Prediction(2.0, "=", "damian2022", "n ≳ d²rκ² + dr^p with fixed r and a non-degenerate Hessian")
    if method == "good-directions" and target == "dense-sparse":
        return Prediction(3.0, "<", "nichani2022", "better sample complexity than the NTK (d³ for the cubic)")
    return NO_PREDICTION


#: Verdicts of :func:`verdict`.
AGREES, DISAGREES, INCONCLUSIVE, SILENT = "agrees", "disagrees", "inconclusive", "no prediction"


def verdict(pred: Prediction, measured: Exponent, *, budget_exponent: float = 2.0) -> str:
    r"""Measurement against theory, by rules fixed in advance. With the sample budget :math:`n_{\max}\propto
    d^{\beta}` (``budget_exponent`` :math:`\beta = 2`):

    * a predicted :math:`p` (``"="``): a finite exponent *agrees* when its interval contains :math:`p`; a cell
      censored above the budget agrees when :math:`p > \beta` (the theory puts :math:`n^*` beyond the budget) and
      *disagrees* when :math:`p\le\beta`;
    * an upper bound ``"< p"``: a finite exponent disagrees when its whole interval lies at or above :math:`p`,
      and agrees otherwise; censored above a budget of exponent :math:`\beta < p` it is *inconclusive*;
    * censored below the grid: inconclusive; no prediction: :data:`SILENT`."""
    if pred.exponent is None:
        return SILENT
    p = pred.exponent
    if measured.censored == BELOW_GRID:
        return INCONCLUSIVE
    if pred.relation == "=":
        if measured.censored == ABOVE_BUDGET:
            return AGREES if p > budget_exponent else DISAGREES
        return AGREES if measured.ci_low <= p <= measured.ci_high else DISAGREES
    if measured.censored == ABOVE_BUDGET:
        return DISAGREES if p <= budget_exponent else INCONCLUSIVE
    return DISAGREES if measured.ci_low >= p else AGREES


# ----------------------------------------------------------------------------------------------------- sizes
#: The chapter's sizes (``S = fl.profiles.sizes(**atlas.SIZES)``): ``quick`` on 2 CPU cores in the book's budget,
#: ``cpu_large`` a CPU's afternoon, ``paper`` an accelerator's job; the same keys in all. ``d``: the dimensions;
#: ``budget``: :math:`n_{\max} = \text{budget}\cdot d^2`; ``points``: sample sizes per :math:`d` (:func:`sample_sizes`);
#: the rest: each method's hyperparameters (:func:`hyperparameters`); ``quad_lams``, the strengths of :math:`R_1`,
#: hold 0 (no regulariser) and 1, the value validation chose in the good-directions chapter at its quick sizes.
SIZES: dict[str, dict[str, Any]] = dict(
    quick=dict(d=[8, 12, 16], seeds=3, budget=2.0, points=8, n_val=512, n_test=1024, n_boot=500, rf_ratio=4,
               width=256, stage_steps=150, eta1s=(1.0, 4.0, 16.0), decays=(1e-4,), quad_width=64, quad_steps=200,
               quad_time=3000.0, quad_lams=(0.0, 1.0), net_width=64, net_steps=400, net_lrs=(0.5, 2.0),
               net_evals=4, rfm_iterations=2, bandwidth=10.0),
    cpu_large=dict(d=[8, 12, 16, 24], seeds=4, budget=4.0, points=7, n_val=2048, n_test=4096, n_boot=2000,
                   rf_ratio=4, width=512, stage_steps=300, eta1s=(1.0, 4.0, 16.0), decays=(1e-4,), quad_width=128,
                   quad_steps=500, quad_time=3000.0, quad_lams=(0.0, 1.0, 3.0), net_width=128, net_steps=2000,
                   net_lrs=(0.5, 2.0), net_evals=10, rfm_iterations=3, bandwidth=10.0),
    paper=dict(d=[16, 24, 32, 48], seeds=5, budget=4.0, points=8, n_val=8192, n_test=16384, n_boot=2000,
               rf_ratio=4, width=1024, stage_steps=500, eta1s=(1.0, 4.0, 16.0), decays=(1e-4,), quad_width=1024,
               quad_steps=2000, quad_time=20000.0, quad_lams=(0.0, 1.0, 3.0), net_width=512, net_steps=5000,
               net_lrs=(0.5, 2.0), net_evals=10, rfm_iterations=5, bandwidth=10.0),
)
#: ``featlearn reproduce --cut-short``: the step and sample budgets of a test run of a large profile on a CPU (see
#: :func:`featlearn.profiles.cut_short`); the widths, dimensions, seeds and hyperparameter grids stay the profile's.
#: ``quad_time`` (learning rate × steps) is cut with ``quad_steps`` so that the learning rate stays the profile's.
CUT_SHORT = dict(budget=("samples", 0.5), n_val=("samples", 512), n_test=("samples", 1024),
                 stage_steps=("steps", 20), quad_steps=("steps", 20), quad_time=("steps", 200.0),
                 net_steps=("steps", 50), rfm_iterations=("steps", 2))
#: The chapter's seed: every section gets ``jax.random.key(SEED)`` (the notebook's ``key``; ``featlearn reproduce``).
SEED = 2026


def hyperparameters(S: SimpleNamespace, method: str, n_max: int) -> dict[str, Any]:
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
        "rfm": {"iterations": S.rfm_iterations, "bandwidth": S.bandwidth},
    }[method]


# --- the chapter's experiments
# One function per section of book/atlas.ipynb, ``<section>(S, key)``: ``S`` the chapter's sizes, ``key`` the
# chapter's key. Both run the same sweeps (cached): the learning curves first, then the exponents from them.


def _problems(S: SimpleNamespace, key: Array, d: int) -> tuple[np.ndarray, Problem]:
    """The sample sizes and the drawn problems ``(seeds, targets, ...)`` at dimension ``d``."""
    ns = sample_sizes(d, S.budget, S.points)
    problems = sweeps.sweep(draw, key=jax.random.fold_in(key, d), seeds=S.seeds, vary=dict(target=range(len(TARGETS))),
                            fixed=dict(d=d, n_max=int(ns[-1]), n_val=S.n_val, n_test=S.n_test,
                                       functions=gaussian_targets(d)))
    return ns, Problem(*(jnp.asarray(a) for a in problems))


def curves(S: SimpleNamespace, key: Array) -> dict[str, np.ndarray]:
    """Every method's test error for every ``d``, seed, target and ``n``: ``{(method, d): (ns, error (seeds,
    targets, K), choice (seeds, targets, K))}`` flattened into a long table (columns ``method, target, d, seed, n,
    error, choice``). One sweep per (method, d)."""
    k_data, k_fit = jax.random.split(key)
    rows = []
    for d in progress(S.d, desc="dimensions"):
        ns, problems = _problems(S, k_data, d)
        for method in METHODS:
            out = sweeps.sweep(learning_curve, key=k_fit, seeds=1,
                               vary=dict(seed=range(S.seeds), target=range(len(TARGETS))),
                               fixed=dict(method=method, problems=problems, ns=tuple(int(v) for v in ns),
                                          **hyperparameters(S, method, int(ns[-1]))))
            for t, name in enumerate(TARGET_NAMES):
                rows.append(figures.sweep_table({"error": out["error"][0, :, t], "choice": out["choice"][0, :, t]},
                                                {"n": ns}, method=method, target=name, d=d))
    return figures.concat_tables(*rows)


def _cell(table: Mapping[str, np.ndarray], method: str, target: str) -> tuple[np.ndarray, list, np.ndarray]:
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


def measure(table: Mapping[str, np.ndarray], *, n_boot: int = 2000) -> dict[str, np.ndarray]:
    """The atlas's table from :func:`curves`' long table: for every (method, target), the crossings of the target's
    level and the exponent (:func:`crossings`, :func:`exponent`), the theory (:func:`theory`) and the
    :func:`verdict`. Columns ``method, target, exponent, ci_low, ci_high, censored, theory, source, verdict,
    crossed, runs, crossed_top`` (the runs that crossed at the largest :math:`d`, of ``seeds``), ``seeds``,
    ``level``."""
    names = ("method", "target", "exponent", "ci_low", "ci_high", "censored", "theory", "source", "verdict", "crossed",
             "runs", "crossed_top", "seeds", "level")
    cols: dict[str, list] = {k: [] for k in names}
    for method in METHODS:
        for spec in TARGETS:
            ds, grids, errs = _cell(table, method, spec.name)
            found = [crossings(ns, e, spec.level) for ns, e in zip(grids, errs, strict=True)]
            status = np.stack([f[1] for f in found])
            exp = exponent(ds, np.stack([f[0] for f in found]), status, n_boot=n_boot)
            pred = theory(method, spec.name)
            row = dict(method=method, target=spec.name, exponent=exp.exponent, ci_low=exp.ci_low,
                       ci_high=exp.ci_high, censored=exp.censored, theory=pred.text, source=pred.source,
                       verdict=verdict(pred, exp), crossed=exp.crossed, runs=exp.runs,
                       crossed_top=int(np.sum(status[-1] == CROSSED)), seeds=status.shape[1], level=spec.level)
            for k in names:
                cols[k].append(row[k])
    return {k: np.asarray(v) for k, v in cols.items()}


def row(table: Mapping[str, np.ndarray], method: str, target: str) -> dict[str, Any]:
    """The row of cell (``method``, ``target``) of :func:`measure`'s table, as a dict of its columns."""
    at = np.flatnonzero((np.asarray(table["method"]) == method) & (np.asarray(table["target"]) == target))
    if at.size != 1:
        raise ValueError(f"method and target must name one cell of the table, got {method!r} and {target!r}")
    return {k: np.asarray(v)[at[0]] for k, v in table.items()}


def measured_text(row: Mapping[str, Any]) -> str:
    """One cell as the chapter writes it: ``"1.36 [1.16, 1.56]"`` or ``"censored (> budget)"``."""
    if row["censored"]:
        return f"censored ({row['censored']})"
    return f"{row['exponent']:.2f} [{row['ci_low']:.2f}, {row['ci_high']:.2f}]"


def table_html(table: Mapping[str, np.ndarray]) -> str:
    """:func:`measure`'s table as an HTML table (for the chapter: a notebook's Markdown output has no tables): one
    row per (method, target), with the level, the measured exponent and its interval (or the censoring), the runs
    that crossed, the theory, its source and the verdict."""
    label = {t.name: t.label for t in TARGETS}
    head = ("method", "target", "level", "measured exponent [95% CI]", "crossed", "theory", "source", "verdict")
    rows = []
    for i in range(len(table["method"])):
        r = {k: v[i] for k, v in table.items()}
        cells = (METHOD_LABELS[str(r["method"])], label[str(r["target"])], f"{float(r['level']):g}", measured_text(r),
                 f"{r['crossed']}/{r['runs']}", str(r["theory"]), str(r["source"]) or "—", str(r["verdict"]))
        rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    header = "<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>"
    # a wide table scrolls inside its own box rather than pushing the page sideways
    return (f'<div style="overflow-x: auto">\n<table style="font-size: 0.85em">\n<thead>{header}</thead>\n<tbody>\n'
            + "\n".join(rows) + "\n</tbody>\n</table>\n</div>")


#: The columns of ``figures/atlas-exponents.csv``.
CSV_COLUMNS = ("method", "target", "exponent", "ci_low", "ci_high", "censored", "theory", "source")


def grid_edges(S: SimpleNamespace, table: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    r"""How often validation chose a candidate at an edge of a method's grid, from the ``choice`` column of
    :func:`curves` (validation data only: the test errors play no part). A grid whose edge is chosen often may be
    too narrow for that method. Returns a table (columns ``method``, ``edge``, ``share``: the share of that method's
runs whose choice is at that edge) for the methods with several candidates:
    ``two-stage`` (the smallest and the largest :math:`\eta_1`), ``good-directions`` (:math:`\lambda = 0` and the
    largest :math:`\lambda`), ``full-gd`` (the last checkpoint; the smallest and the largest learning rate) and
    ``rfm`` (the plain Laplace kernel, the last iteration)."""
    choice, method = np.asarray(table["choice"]), np.asarray(table["method"])

    def share(name: str, hit: Callable[[np.ndarray], np.ndarray]) -> float:
        c = choice[method == name]
        return float(np.mean(hit(c))) if c.size else float("nan")

    n_eta, n_dec = len(S.eta1s), len(S.decays)
    n_lam, n_lr, n_ck = len(S.quad_lams), len(S.net_lrs), S.net_evals + 1
    edges = {
        "two-stage": {"smallest η₁": share("two-stage", lambda c: c // n_dec == 0),
                      "largest η₁": share("two-stage", lambda c: c // n_dec == n_eta - 1)},
        "good-directions": {"λ = 0": share("good-directions", lambda c: c == 0),
                            "largest λ": share("good-directions", lambda c: c == n_lam - 1)},
        "full-gd": {"last checkpoint": share("full-gd", lambda c: c % n_ck == n_ck - 1),
                    "smallest rate": share("full-gd", lambda c: c // n_ck == 0),
                    "largest rate": share("full-gd", lambda c: c // n_ck == n_lr - 1)},
        "rfm": {"plain Laplace kernel": share("rfm", lambda c: c == 0),
                "last iteration": share("rfm", lambda c: c == S.rfm_iterations)},
    }
    rows = [(m, k, v) for m, e in edges.items() for k, v in e.items()]
    return {"method": np.array([r[0] for r in rows]), "edge": np.array([r[1] for r in rows]),
            "share": np.array([r[2] for r in rows])}


def learning_curves(S: SimpleNamespace, key: Array) -> dict[str, Any]:
    r"""Section 1: every method on every target, :func:`learning_curve` for every ``d`` in ``S.d`` (one program per
    (method, d)). Returns ``table`` (columns ``method, target, d, seed, n, error, choice``: the figure's data),
    ``mean`` (the same averaged over seeds: ``method, target, d, n, error``), ``grid_edges`` (:func:`grid_edges`)
    and ``glue``."""
    table = curves(S, key)
    keys = list(zip(table["method"], table["target"], table["d"], table["n"], strict=True))
    groups: dict[tuple, list[float]] = {}
    for k, e in zip(keys, table["error"], strict=True):
        groups.setdefault(k, []).append(float(e))
    mean = {name: np.array([k[i] for k in groups]) for i, name in enumerate(("method", "target", "d", "n"))}
    mean["error"] = np.array([np.mean(v) for v in groups.values()])
    budgets = [int(sample_sizes(d, S.budget, S.points)[-1]) for d in S.d]
    glue = {"d-all": figures.listed(S.d), "d-min": min(S.d), "d-max": max(S.d), "d-span": max(S.d) / min(S.d),
            "seeds": S.seeds, "budget": f"{S.budget:g}", "points": S.points,
            "n-max": f"{budgets[-1]:,}", "n-val": f"{S.n_val:,}", "n-test": f"{S.n_test:,}",
            "methods": len(METHODS), "targets": len(TARGETS), "quad-time": f"{S.quad_time:g}"}
    edges = grid_edges(S, table)
    glue["grid-edges"] = "; ".join(
        f"{METHOD_LABELS[m]}: " + ", ".join(f"{k} {v:.0%}" for mm, k, v in zip(*edges.values(), strict=True)
                                            if mm == m) for m in dict.fromkeys(edges["method"]))
    return {"table": table, "mean": mean, "grid_edges": edges, "glue": glue}


def lower_order_slope(d_lo: float, d_hi: float) -> float:
    r"""The log-log slope of :math:`n(d) = d + d^2/4` between ``d_lo`` and ``d_hi``: what a sample size that fills
    :math:`d` degree-1 and about :math:`d^2/2` degree-2 directions looks like at small :math:`d` (it tends to 2 as
    :math:`d` grows), the chapter's yardstick for a measured exponent below 2 at these dimensions."""
    if not 0 < d_lo < d_hi:
        raise ValueError(f"need 0 < d_lo < d_hi, got d_lo = {d_lo!r}, d_hi = {d_hi!r}")
    n = [d + d * d / 4 for d in (d_lo, d_hi)]
    return float(np.log(n[1] / n[0]) / np.log(d_hi / d_lo))


def exponents(S: SimpleNamespace, key: Array, table: Mapping[str, np.ndarray] | None = None) -> dict[str, Any]:
    r"""Section 2: the exponents of :math:`n^*(d)` for every (method, target) from the learning curves of
    :func:`learning_curves` (its ``table``, or the same sweeps run again: cached), against theory.

    Returns ``table`` (:func:`measure`'s columns), ``csv`` (its :data:`CSV_COLUMNS`, written to
    ``figures/atlas-exponents.csv``), ``grid`` (the exponents as a ``(methods, targets)`` array, ``nan`` where
    censored), ``censored`` (the same, the censoring label), ``disagreements`` (the rows whose verdict is
    :data:`DISAGREES`, as ``"method on target: measured …, theory …"`` lines), ``html`` (the table as HTML,
    :func:`table_html`), ``kernels_beyond`` (the kernel cells whose predicted exponent exceeds the budget's 2:
    columns ``method, target, theory, censored, crossed, runs``) and ``glue`` (the counts of cells by censoring and
    by verdict, the disagreements as one line, the smallest and largest exponent on :math:`h_2` (``he2-min``,
    ``he2-max``), the slope of :math:`d + d^2/4` over ``S.d`` (:func:`lower_order_slope`), the median width of
    the finite intervals (``ci-width``), and every cell's measured text and crossed runs as ``<method>-<target>``
    and ``<method>-<target>-crossed``)."""
    table = measure(curves(S, key) if table is None else table, n_boot=S.n_boot)
    shape = (len(METHODS), len(TARGETS))
    rows = [{k: v[i] for k, v in table.items()} for i in range(len(table["method"]))]
    grid = np.asarray(table["exponent"], float).reshape(shape)
    censored = np.asarray(table["censored"]).reshape(shape)
    lines = [f"{METHOD_LABELS[r['method']]} on {r['target']}: measured {measured_text(r)}, theory {r['theory']}"
             for r in rows if r["verdict"] == DISAGREES]
    counts = {v.replace(" ", "-"): int(np.sum(table["verdict"] == v))
              for v in (AGREES, DISAGREES, INCONCLUSIVE, SILENT)}
    beyond = [r for r in rows if r["method"] in _KERNEL_SOURCES and r["theory"] != NO_PREDICTION.text
              and float(r["theory"]) > 2]
    he2 = grid[:, TARGET_NAMES.index("he2")]
    width = np.asarray(table["ci_high"], float) - np.asarray(table["ci_low"], float)
    glue = {"cells": grid.size, "finite": int(np.isfinite(grid).sum()),
            "he2-min": f"{np.nanmin(he2):.2f}" if np.isfinite(he2).any() else "censored",
            "he2-max": f"{np.nanmax(he2):.2f}" if np.isfinite(he2).any() else "censored",
            "ci-width": f"{np.nanmedian(width):.2f}" if np.isfinite(width).any() else "none",
            "above-budget": int(np.sum(censored == ABOVE_BUDGET)), "below-grid": int(np.sum(censored == BELOW_GRID)),
            **counts, "disagreement-list": "; ".join(lines) if lines else "none",
            "lower-order-slope": lower_order_slope(min(S.d), max(S.d))}
    glue |= {f"{r['method']}-{r['target']}": measured_text(r) for r in rows}
    glue |= {f"{r['method']}-{r['target']}-crossed": f"{r['crossed']}/{r['runs']}" for r in rows}
    return {"table": table, "csv": {k: table[k] for k in CSV_COLUMNS}, "grid": grid, "censored": censored,
            "disagreements": lines, "html": table_html(table),
            "kernels_beyond": {k: np.array([r[k] for r in beyond]) for k in ("method", "target", "theory", "censored",
                                                                              "crossed", "runs")},
            "glue": glue}


# --- the chapter's figures (the live run and the stored results draw with the same code)


def plot_curves(mean: Mapping[str, np.ndarray]):
    r"""The grid of learning curves: one panel per target, each method's test error averaged over seeds against
    :math:`n/d^2` at the largest :math:`d` of ``mean`` (solid) and the smallest (dotted), with the target's level.
    ``mean``: :func:`learning_curves`' ``mean`` table (columns ``method, target, d, n, error``). Returns the
    figure."""
    import matplotlib.pyplot as plt

    fig, axs = plt.subplots(2, 3, figsize=(12, 6.4), sharex=True, constrained_layout=True)
    ds = np.unique(mean["d"])
    for ax, spec in zip(axs.ravel(), TARGETS, strict=True):
        for j, method in enumerate(METHODS):
            for d, style in ((ds[-1], "-"), (ds[0], ":")):
                at = (mean["method"] == method) & (mean["target"] == spec.name) & (mean["d"] == d)
                ax.plot(mean["n"][at] / d**2, mean["error"][at], style, color=f"C{j}", marker="o" if style == "-"
                        else None, label=METHOD_LABELS[method] if style == "-" else None)
        ax.axhline(spec.level, color="k", lw=0.8, ls="--")
        ax.set(xscale="log", title=spec.label, ylim=(0, 1.3 if spec.kind == "regression" else 0.65),
               ylabel="normalised MSE" if spec.kind == "regression" else "0-1 error")
    for ax in axs[1]:
        ax.set_xlabel("$n/d^2$")
    axs[0, 0].legend(loc="lower left", fontsize=7)
    fig.suptitle(f"mean over seeds; solid: d = {ds[-1]}, dotted: d = {ds[0]}; dashed: the level", fontsize=9)
    return fig


def plot_exponents(ex: Mapping[str, Any]):
    r"""The heat map of the measured exponents, methods × targets: each cell coloured by its exponent and labelled
    with it and its interval, a censored cell grey and labelled with its censoring, every cell with the theory's
    exponent below. ``ex``: :func:`exponents`' output (``grid``, ``censored``, ``table``). Returns the figure."""
    import matplotlib.pyplot as plt

    grid = np.asarray(ex["grid"], float)
    censored = np.asarray(ex["censored"]).astype(str)
    table = ex["table"]
    lo = np.asarray(table["ci_low"], float).reshape(grid.shape)
    hi = np.asarray(table["ci_high"], float).reshape(grid.shape)
    theo = np.asarray(table["theory"]).astype(str).reshape(grid.shape)
    fig, ax = plt.subplots(figsize=(10, 5.4), constrained_layout=True)
    ax.imshow(np.where(censored == "", np.nan, 1.0), cmap="Greys", vmin=0, vmax=4, aspect="auto")  # censored: grey
    im = ax.imshow(grid, cmap="viridis", vmin=0.5, vmax=4.0, aspect="auto")
    for i in range(grid.shape[0]):
        for j in range(grid.shape[1]):
            top = f"{grid[i, j]:.2f}\n[{lo[i, j]:.2f}, {hi[i, j]:.2f}]" if not censored[i, j] else censored[i, j]
            dark = not censored[i, j] and grid[i, j] < 2.5
            ax.text(j, i - 0.08, top, ha="center", va="center", fontsize=7.5, color="w" if dark else "k")
            ax.text(j, i + 0.33, f"theory: {theo[i, j]}", ha="center", va="center", fontsize=6.5,
                    color="w" if dark else "k")
    ax.set_xticks(range(len(TARGETS)), [t.label for t in TARGETS], rotation=15, fontsize=8)
    ax.set_yticks(range(len(METHODS)), [METHOD_LABELS[m] for m in METHODS], fontsize=8)
    ax.grid(False)
    fig.colorbar(im, ax=ax, label="measured exponent $p$ of $n^*(d)\\propto d^p$")
    return fig


#: The chapter's experiments in its order (``featlearn reproduce atlas``).
SECTIONS = {"learning_curves": learning_curves, "exponents": exponents}
