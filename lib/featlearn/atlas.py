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

from . import _checks, agop, data, figures, hermite, kernels, metrics, models, one_step, ridge, sweeps, targets, train
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


def learning_curve(key: Array, seed: int | Array, target: int | Array, *, method: str, problems: Problem,
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
_KERNEL_SOURCES = {"ntk": "ghorbani2021; mei2022", "random-features": "ghorbani2021; mei2022"}


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
    if method in _KERNEL_SOURCES and spec.kernel_degree is not None:
        k = spec.kernel_degree
        return Prediction(float(k), KERNEL, _KERNEL_SOURCES[method],
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
        "rfm": {"iterations": S.rfm_iterations, "bandwidths": tuple(S.rfm_bandwidths)},
    }[method]


def cells(S: SimpleNamespace) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The methods and targets run at the sizes ``S`` (``S.methods``, ``S.targets``), in the atlas's order."""
    methods, targets_ = tuple(S.methods), tuple(S.targets)
    for m in methods:
        _checks.one_of("methods", m, METHODS)
    for t in targets_:
        _checks.one_of("targets", t, TARGET_NAMES)
    if not methods or not targets_:
        raise ValueError(f"methods and targets must each name at least one, got {methods} and {targets_}")
    return tuple(m for m in METHODS if m in methods), tuple(t for t in TARGET_NAMES if t in targets_)


# --- the chapter's experiments
# One function per section of book/atlas.ipynb, ``<section>(S, key)``: ``S`` the chapter's sizes, ``key`` the
# chapter's key. Both run the same sweeps (cached): the learning curves first, then the exponents from them.


def _problems(S: SimpleNamespace, key: Array, d: int, drawn: Sequence[int]) -> tuple[np.ndarray, Problem]:
    """The sample sizes and the drawn problems ``(seeds, targets, ...)`` at dimension ``d`` for the targets
    numbered ``drawn``."""
    ns = sample_sizes(d, S.budget, S.points)
    problems = sweeps.sweep(draw, key=jax.random.fold_in(key, d), seeds=S.seeds, vary=dict(target=list(drawn)),
                            fixed=dict(d=d, n_max=int(ns[-1]), n_val=S.n_val, n_test=S.n_test,
                                       functions=gaussian_targets(d)))
    return ns, Problem(*(jnp.asarray(a) for a in problems))


def curves(S: SimpleNamespace, key: Array) -> dict[str, np.ndarray]:
    """Every method's test error for every ``d``, seed, target and ``n`` (the cells of :func:`cells`), as a long
    table (columns ``method, target, d, seed, n, error, choice``). One sweep per (method, d)."""
    k_data, k_fit = jax.random.split(key)
    methods, names = cells(S)
    drawn = tuple(TARGET_NAMES.index(t) for t in names)
    rows = []
    for d in progress(S.d, desc="dimensions"):
        ns, problems = _problems(S, k_data, d, drawn)
        for method in methods:
            out = sweeps.sweep(learning_curve, key=k_fit, seeds=1,
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


def grid_edges(S: SimpleNamespace, table: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
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


def learning_curves(S: SimpleNamespace, key: Array) -> dict[str, Any]:
    r"""Section 1: every method on every target of :func:`cells`, :func:`learning_curve` for every ``d`` in ``S.d``
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


def kernel_barrier(table: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    r"""The kernel cells whose level needs degree :math:`k\ge3` (NTK and random features; :func:`theory` predicts
    :math:`n^*\asymp d^{k\pm\delta}`, beyond a budget :math:`\propto d^2`), from :func:`measure`'s table: columns
    ``method, target, theory, never, crossed, runs``. The claim "kernels cannot learn degree :math:`\ge3` within
    the budget" holds when ``never == runs`` in every row: every run, at every :math:`d`, never reached the level
    (a cell is censored as soon as one run fails; the claim needs all of them)."""
    keep = [i for i in range(len(table["method"])) if str(table["method"][i]) in _KERNEL_SOURCES
            and int(table["degree"][i]) >= 3]
    return {k: np.asarray(table[k])[keep] for k in ("method", "target", "theory", "never", "crossed", "runs")}


def exponents(S: SimpleNamespace, key: Array, table: Mapping[str, np.ndarray] | None = None) -> dict[str, Any]:
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
