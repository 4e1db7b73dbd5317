r"""The atlas: every method of the book on every target, measured the same way.

Each paper compares its own method with a kernel on its own target. The atlas runs the seven methods on the six
targets through one interface and measures, for each pair, how the number of samples needed to reach a fixed test
error grows with the dimension: :math:`n^*(d)\propto d^{p}`, with :math:`p` fitted on log-log axes over a grid of
:math:`d` (:func:`exponent`) and a bootstrap interval over seeds; a pair that never reaches the level within the
sample budget is *censored*, never a number.

**Methods** (:data:`METHODS`; each calls its paper's module, :func:`run` is the one interface):

1. ``ntk``: kernel ridge regression with the closed-form NTK of the two-layer ReLU network, biases trained
   (:func:`featlearn.kernels.ntk_relu`, :func:`featlearn.ridge.kernel_ridge`);
2. ``random-features``: ridge regression on ``rf_ratio`` times more distinct random ReLU features than samples
   (:func:`featlearn.kernels.random_features`, :func:`featlearn.ridge.ridge`);
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
penalties :data:`featlearn.ridge.RIDGE_LAMBDAS`; a schedule of checkpoints; a grid of regularisation strengths or
step sizes; the iterations of the RFM); the candidate with the smallest square loss on ``n_val`` validation
samples (labels :math:`\pm1` for classification) is the method's predictor (:func:`score`), and only it is scored on
the test set: normalised MSE for regression targets, 0-1 error of its sign for classification targets.

**Programs.** The data of every (seed, target) is drawn once per :math:`d` (:func:`draw`, one program); a sample
size :math:`n` uses the first :math:`n` rows of the drawn training pool, so the training sets of one seed are
nested. Each (method, :math:`d`) is one compiled program over seeds × targets × sample sizes
(:func:`learning_curve_run`), cached by :func:`featlearn.sweeps.sweep`: the gradient methods see the whole pool with
the rows beyond :math:`n` weighted 0 (:func:`featlearn.data.first_n_weights`; :math:`n` traced, one ``lax.map``),
the kernel methods (:data:`SLICED`, whose :math:`n\times n` solves take :math:`n` as a shape) the first :math:`n`
rows themselves.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array, lax

from . import _checks, agop, data, hermite, kernels, metrics, models, one_step, ridge, targets, train
from . import good_directions as gd
from . import gradient_features as gf


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
    (:func:`featlearn.ridge.kernel_ridge`). One candidate. (``key`` unused: the method is deterministic.)"""
    del key
    kfn = lambda a, b: kernels.ntk_relu(a, b, bias_var=bias_var)  # noqa: E731
    Kv = kfn(p.x_val, p.x)
    coef = ridge.kernel_ridge(kfn(p.x, p.x), p.y, Kv, p.y_val).coef
    return Candidates((Kv @ coef)[None], (kfn(p.x_test, p.x) @ coef)[None])


def random_features_ridge(key: Array, p: Problem, *, features: int) -> Candidates:
    r"""Method 2: ridge regression on ``features`` distinct random ReLU features :math:`\sigma(Wx+b)/\sqrt N`
    (:func:`featlearn.kernels.random_features`: the network's initial :math:`W, b` from ``key``, the same for every
    sample size), many more than the samples, :math:`\lambda` chosen on the validation set
    (:func:`featlearn.ridge.ridge`). One candidate."""
    feats = [kernels.random_features(key, z, features) for z in (p.x, p.x_val, p.x_test)]
    fit = ridge.ridge(feats[0], p.y, feats[1], p.y_val)
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


def rfm_fit(key: Array, p: Problem, *, iterations: int, bandwidths: Sequence[float]) -> Candidates:
    r"""Method 7: the Recursive Feature Machine (:func:`featlearn.agop.rfm`: Laplace-kernel ridge, then
    :math:`M\leftarrow` the AGOP of the fit, ``iterations`` times), each ridge's :math:`\lambda` chosen on the
    validation set, and the bandwidth :math:`L` too: the plain Laplace kernel (:math:`M = I`) is fitted at every
    bandwidth of ``bandwidths``, and the iterations run at the one of smallest validation loss.

    Candidates, ``(B, T + 1)`` laid out bandwidth-major (``B = len(bandwidths)``, ``T = iterations``): row
    :math:`b` holds the plain Laplace kernel at bandwidth :math:`b`, then, for the chosen bandwidth only, the
    predictor after each iteration (``nan`` for the other bandwidths: never chosen). (``key`` unused.)"""
    del key
    res = agop.rfm(p.x, p.y, p.x_test, p.y_test, iterations=iterations, bandwidth=tuple(bandwidths), x_val=p.x_val,
                   y_val=p.y_val)
    B, T = len(bandwidths), iterations

    def layout(pred: Array) -> Array:  # (B + T, n) -> (B * (T + 1), n)
        rows = jnp.full((B, T + 1, pred.shape[1]), jnp.nan, pred.dtype).at[:, 0].set(pred[:B])
        rows = rows.at[res.choice, 1:].set(pred[B:])
        return rows.reshape(B * (T + 1), -1)

    return Candidates(layout(res.val_pred), layout(res.test_pred))


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


def with_null(cands: Candidates, constant: Array | float) -> Candidates:
    r"""The candidates with the null predictor first: the constant ``constant`` (the mean of the training labels,
    the best constant predictor; about 0 on a centred target, the majority label on a classification target;
    nudged off 0 so that its sign is a label) everywhere. With it among the candidates no method scores worse on
    validation than predicting a constant, whatever its knobs. Row 0 of the result is the null predictor, row
    :math:`i+1` the method's candidate :math:`i`."""
    c = jnp.asarray(constant, cands.pred_val.dtype)
    c = jnp.where(c == 0, jnp.finfo(c.dtype).eps, c)  # sign(0) is no label: a tie goes to +1
    return Candidates(jnp.concatenate([jnp.full((1, cands.pred_val.shape[1]), c), cands.pred_val]),
                      jnp.concatenate([jnp.full((1, cands.pred_test.shape[1]), c), cands.pred_test]))


def run(method: str, key: Array, p: Problem, n: int | Array, classification: float | Array = 0.0,
        **hyper: Any) -> dict[str, Array]:
    r"""The one interface: method ``method`` (a name of :data:`METHODS`) with ``key``, on the first ``n`` rows of
    the problem ``p``, its hyperparameters ``hyper``; ``classification`` (0 or 1, may be traced) says how the target
    is scored. For a method of :data:`SLICED` ``n`` is a Python integer (the rows are sliced); for the others it may
    be traced (the rows beyond ``n`` get weight 0, :func:`featlearn.data.first_n_weights`). The null predictor
    (:func:`with_null`: the mean of the first ``n`` training labels) is candidate 0 of every method. Returns
    :func:`score`'s test error and diagnostics."""
    _checks.one_of("method", method, METHODS)
    cls = jnp.asarray(classification, p.x.dtype)
    if method in SLICED:
        if _checks.is_tracer(n):
            raise ValueError(f"n must be a Python integer for the method {method!r} (its solver's shape), got a "
                             "traced value")
        q = first_rows(p, int(n))
        return score(p, with_null(METHODS[method](key, q, **hyper), jnp.mean(q.y)), cls)
    keep = data.first_n_weights(n, p.x.shape[0], dtype=p.x.dtype)
    extra = {"classification": cls} if method in _NEEDS_KIND else {}
    mean = jnp.sum(keep * p.y) / jnp.sum(keep)
    return score(p, with_null(METHODS[method](key, p, keep, **extra, **hyper), mean), cls)


def learning_curve_run(key: Array, seed: int | Array, target: int | Array, *, method: str, problems: Problem,
                       ns: Sequence[int], drawn: Sequence[int] | None = None, **hyper: Any) -> dict[str, Array]:
    r""":func:`run` for every ``n`` in ``ns`` (increasing) on the problem of seed ``seed`` and target ``target``
    (indices into ``problems``, whose arrays are ``(seeds, targets, ...)`` as :func:`draw` swept over seeds and
    targets returns them; both may be traced; ``drawn``: the numbers in :data:`TARGETS` of the targets along that
    axis, all of them by default). The sample sizes run one after another inside one program: a
    ``lax.map`` (one compiled copy) for a traced-``n`` method, a loop over the slices for a method of
    :data:`SLICED`. The method's key is ``fold_in(key, seed)``: the same initialisation for every ``n`` and target
    of a seed, so the curves of one seed differ only by the training rows. Returns ``(K,)`` arrays."""
    ns = tuple(_checks.positive_int("ns", int(v)) for v in ns)
    if not ns or list(ns) != sorted(set(ns)) or ns[-1] > problems.x.shape[2]:
        raise ValueError(f"ns must be increasing sample sizes, at most n_max = {problems.x.shape[2]}, got {ns}")
    drawn = tuple(range(len(TARGETS))) if drawn is None else tuple(int(t) for t in drawn)
    if len(drawn) != problems.x.shape[1]:
        raise ValueError(f"drawn must name the {problems.x.shape[1]} targets of problems' target axis, got {drawn}")
    # the barrier keeps XLA from constant-folding kernels of the drawn data (a constant of the program): on 2 CPU
    # cores that folding took longer than the NTK's solves themselves
    p = jax.tree_util.tree_map(lambda a: a[seed, target], lax.optimization_barrier(problems))
    cls = jnp.asarray([CLASSIFICATION[t] for t in drawn])[target]
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
    interval (``nan`` when censored), ``censored`` (``""``, :data:`ABOVE_BUDGET` or :data:`BELOW_GRID`),
    ``crossed``, the number of (d, seed) runs that crossed inside the grid, out of ``runs``, ``never``, the number
    that never reached the level, and ``vs_count`` with ``count_low``, ``count_high``: the slope of
    :math:`\log n^*` against :math:`\log N_k(d)` and its interval (``nan`` when censored or no count was given)."""

    exponent: float
    ci_low: float
    ci_high: float
    censored: str
    crossed: int
    runs: int
    never: int = 0
    vs_count: float = math.nan
    count_low: float = math.nan
    count_high: float = math.nan


def exponent(ds: Sequence[int], n_star: np.ndarray, status: np.ndarray, *, counts: Sequence[float] | None = None,
             level: float = 0.95, n_boot: int = 2000, seed: int = 0) -> Exponent:
    r"""The exponent of :math:`n^*(d)` from the crossings ``n_star`` and their ``status`` ``(D, seeds)`` (rows: the
    dimensions ``ds``): the least-squares slope on log-log axes over every (d, seed) and a percentile bootstrap
    interval at ``level`` that resamples seeds within each :math:`d` (:func:`featlearn.metrics.fit_loglog`).
    With ``counts`` ``(D,)`` (:math:`N_k(d)` at each ``d``, :func:`featlearn.hermite.monomial_count`), the same
    fit against :math:`\log N_k(d)` as well (``vs_count``: 1 where :math:`n^*\propto N_k(d)`).

    Censoring comes first and is never turned into a number: if any run never reached the level the cell is
    :data:`ABOVE_BUDGET`; otherwise, if any run was already below it at the smallest sample size,
    :data:`BELOW_GRID`; either way the exponents and their intervals are ``nan``."""
    ds = np.asarray(ds, float)
    n_star = np.asarray(n_star, float)
    status = np.asarray(status)
    if n_star.ndim != 2 or n_star.shape[0] != ds.size or status.shape != n_star.shape:
        raise ValueError(f"n_star and status must have shape (len(ds), seeds) = ({ds.size}, *), got "
                         f"{n_star.shape} and {status.shape}")
    if ds.size < 2 or np.unique(ds).size < 2:
        raise ValueError(f"ds must hold at least two distinct dimensions, got {ds}")
    if counts is not None and np.shape(counts) != ds.shape:
        raise ValueError(f"counts must hold one count per dimension, shape ({ds.size},), got {np.shape(counts)}")
    crossed, never = int(np.sum(status == CROSSED)), int(np.sum(status == NEVER))
    censored = ABOVE_BUDGET if never else BELOW_GRID if np.any(status == AT_START) else ""
    if censored:
        return Exponent(math.nan, math.nan, math.nan, censored, crossed, status.size, never)
    seeds = n_star.shape[1]
    groups = np.tile(np.arange(seeds), ds.size)
    fit = metrics.fit_loglog(np.repeat(ds, seeds), n_star.ravel(), groups=groups, level=level, n_boot=n_boot,
                             seed=seed)
    vs = (math.nan,) * 3
    if counts is not None:
        c = metrics.fit_loglog(np.repeat(np.asarray(counts, float), seeds), n_star.ravel(), groups=groups,
                               level=level, n_boot=n_boot, seed=seed)
        vs = (c.slope, c.ci_low, c.ci_high)
    return Exponent(fit.slope, fit.ci_low, fit.ci_high, "", crossed, status.size, never, *vs)


# ----------------------------------------------------------------------------------------------------- theory
#: Relations of a :class:`Prediction`: ``KERNEL`` (:math:`d^{k-\delta}\lesssim n^*\lesssim d^{k+\delta}` for every
#: :math:`\delta > 0`, the kernel theorems; at finite :math:`d`, :math:`n^*` grows like the count :math:`N_k(d)`),
#: ``SUFFICIENT`` (a sufficient :math:`n\lesssim d^{p}`: an upper bound on :math:`n^*`), ``BETTER`` (a rate better than
#: :math:`d^{p}`, strictly).
KERNEL, SUFFICIENT, BETTER = "±", "≤", "<"


class Prediction(NamedTuple):
    r"""What a published result predicts for one cell: ``exponent`` :math:`p` (``None``: no prediction),
    ``relation`` (:data:`KERNEL`, :data:`SUFFICIENT` or :data:`BETTER`), ``source`` (BibTeX keys of
    ``book/references.bib``, separated by ``"; "``), ``why`` (one line) and ``degree``, the degree :math:`k` whose
    count :math:`N_k(d)` the prediction is about (kernels; ``None`` otherwise)."""

    exponent: float | None
    relation: str
    source: str
    why: str
    degree: int | None = None

    @property
    def text(self) -> str:
        r"""The theory column: ``"2 ± δ"`` (kernels: :math:`d^{2\pm\delta}`), ``"≤ 2"``, ``"< 3"`` or
        ``"no prediction"``."""
        if self.exponent is None:
            return "no prediction"
        if self.relation == KERNEL:
            return f"{self.exponent:g} ± δ"
        return f"{self.relation} {self.exponent:g}"


NO_PREDICTION = Prediction(None, "", "", "no published result covers this method on this target")
KERNEL_SOURCES = {"ntk": "ghorbani2021; mei2022", "random-features": "ghorbani2021; mei2022"}


def theory(method: str, target: str) -> Prediction:
    r"""The theory column of cell (``method``, ``target``): only what the cited results state.

    * Kernels (``ntk``, ``random-features`` with many more features than samples), inner-product kernels on the
      sphere or the hypercube (Gaussian inputs concentrate on a sphere): ridge regression learns the part of
      degree :math:`\le\ell` from :math:`d^{\ell+\delta}\le n\le d^{\ell+1-\delta}` samples and nothing above it
      (Ghorbani et al.; Mei et al.), so reaching a level that needs degree :math:`k` (``Target.kernel_degree``)
      takes :math:`d^{k-\delta}\lesssim n^*\lesssim d^{k+\delta}` (:data:`KERNEL`). At finite :math:`d` the
      kernel's cost is the count :math:`N_k(d)` of degree-:math:`k` directions, whose local slope in
      :math:`\log d` is below :math:`k`: the prediction is :math:`n^*\propto N_k(d)`, a slope 1 against
      :math:`\log N_k(d)`. The XOR mixture is neither input law: no prediction.
    * ``one-step`` (Damian et al., Theorem 1): :math:`n\gtrsim d^2r\kappa^2 + dr^p` suffices for :math:`f^* =
      g(Ux)` with :math:`U` of fixed rank :math:`r` and a non-degenerate expected Hessian: a sufficient
      :math:`n\lesssim d^2` (:data:`SUFFICIENT`) on :math:`h_2` (r = 1) and on the two-index target (r = 2,
      :math:`\kappa = 1`). On :math:`h_3` (:math:`H = 0`) and on the dense quadratic (rank :math:`d`, not fixed)
      the theorem does not apply; the parity and the mixture are not Gaussian inputs.
    * ``good-directions`` (Nichani et al.): on a dense low-degree plus sparse high-degree target, the regularised
      :math:`f_L + f_Q` has a better sample complexity than the NTK: below the kernel's exponent 3 on the dense
      quadratic plus sparse cubic (:data:`BETTER`; no exponent stated here).
    * Everything else: no prediction (``two-stage``: polynomial in :math:`d` on its case-study distributions, no
      exponent; ``full-gd``, ``rfm``: no sample-complexity result for these algorithms on these targets; the
      information-exponent rates of Ben Arous et al. are for online SGD, which full-batch GD is not)."""
    _checks.one_of("method", method, METHODS)
    _checks.one_of("target", target, TARGET_NAMES)
    spec = TARGETS[TARGET_NAMES.index(target)]
    if method in KERNEL_SOURCES and spec.kernel_degree is not None:
        k = spec.kernel_degree
        return Prediction(float(k), KERNEL, KERNEL_SOURCES[method],
                          f"the level needs degree {k}: n ≍ d^({k}±δ), at finite d n ∝ N_{k}(d)", k)
    if method == "one-step" and target in ("he2", "multi-index"):
        return Prediction(2.0, SUFFICIENT, "damian2022",
                          "n ≳ d²rκ² + dr^p suffices (fixed r, non-degenerate Hessian): a sufficient n, not n*")
    if method == "good-directions" and target == "dense-sparse":
        return Prediction(3.0, BETTER, "nichani2022", "better sample complexity than the NTK (d³ for the cubic)")
    return NO_PREDICTION


#: Verdicts of :func:`verdict`.
AGREES, CONSISTENT, DISAGREES, NOT_MEASURED, SILENT = (
    "agrees", "consistent", "disagrees", "not measured", "no prediction")
VERDICTS = (AGREES, CONSISTENT, DISAGREES, NOT_MEASURED, SILENT)


def verdict(pred: Prediction, measured: Exponent) -> str:
    r"""Measurement against theory, by rules fixed in advance:

    * a censored cell is :data:`NOT_MEASURED`, whatever the theory: a bound on :math:`n^*` is not an exponent, and
      never agrees or disagrees (:func:`kernel_barrier` counts the runs that never crossed, separately);
    * no prediction: :data:`SILENT`;
    * kernels (:data:`KERNEL`, degree :math:`k`): :data:`AGREES` when the interval of the slope against
      :math:`\log N_k(d)` contains 1 (:math:`n^*\propto N_k(d)`; without that slope, when the interval of the
      exponent contains :math:`k`), :data:`DISAGREES` otherwise;
    * an upper bound (:data:`SUFFICIENT` :math:`\le p`, :data:`BETTER` :math:`< p`): :data:`CONSISTENT` when the
      interval's lower end is at or below :math:`p` (strictly below for :data:`BETTER`), :data:`DISAGREES` when
      the whole interval lies above it. A sufficient :math:`n` bounds :math:`n^*` from above only: a smaller
      measured exponent is consistent with it, never an agreement with "= p"."""
    if measured.censored:
        return NOT_MEASURED
    if pred.exponent is None:
        return SILENT
    p = pred.exponent
    if pred.relation == KERNEL:
        if math.isfinite(measured.count_low) and math.isfinite(measured.count_high):
            return AGREES if measured.count_low <= 1.0 <= measured.count_high else DISAGREES
        return AGREES if measured.ci_low <= p <= measured.ci_high else DISAGREES
    below = measured.ci_low <= p if pred.relation == SUFFICIENT else measured.ci_low < p
    return CONSISTENT if below else DISAGREES


def settling_sizes(k: int, ds: Sequence[int], factor: float = 4.0) -> np.ndarray:
    r"""The sample sizes that would settle a cell whose level needs degree ``k``: :math:`n` up to ``factor``
    :math:`\cdot N_k(d)` at each ``d`` of ``ds`` (a kernel has then filled the degree-:math:`k` directions several
    times over) → ``(D,)`` integers."""
    k = _checks.positive_int("k", k)
    _checks.real_in("factor", factor, 0.0, low_open=True)
    return np.array([int(math.ceil(factor * hermite.monomial_count(int(d), k))) for d in ds])
