r"""Escaping the NTK with good directions (Nichani, Bai & Lee 2022): the linear and quadratic Taylor terms of a
two-layer network around a symmetric initialisation, the regulariser :math:`R_1`, the target class, and the
chapter's three experiments as pure, sweepable functions (:func:`regularized_run`, :func:`spectrum`,
:func:`ordinary_network_run`); the chapter's sizes, sections and figures are in
:mod:`featlearn.chapters.good_directions`.

Network: :math:`f(x;W_0+W) = \sum_{r=1}^m a_r\,\sigma((w_{0,r}+w_r)\cdot x)` with :math:`a_r=\pm1/\sqrt m`
fixed and :math:`f(\cdot;W_0)\equiv0` (neurons duplicated with opposite signs). Only :math:`W` moves.

.. math::
   f_L(x;W) = \sum_r a_r\,\sigma'(w_{0,r}\cdot x)\,(w_r\cdot x),\qquad
   f_Q(x;W) = \tfrac12\sum_r a_r\,\sigma''(w_{0,r}\cdot x)\,(w_r\cdot x)^2 .

:math:`J = \partial f_L/\partial\,\mathrm{vec}\,W` on the training set is ``(n, m d)``; since
:math:`J\,\mathrm{vec}W = f_L(X;W)`, everything needed about :math:`J` comes from the ``(n, n)`` matrix
:math:`JJ^\top = [\sum_r a_r^2\sigma'(w_{0,r}\cdot x_i)\sigma'(w_{0,r}\cdot x_j)]\,x_i\cdot x_j`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array

from featlearn import (
    _checks,
    _linalg,
    data,
    kernels,
    metrics,
    models,
    ridge,
    rng,
    train,
)

MODELS = ("L", "Q", "LQ")


#: :math:`\sigma(z) = \mathrm{sigmoid}(z-1)` (smooth, with non-zero Hermite coefficients at every degree) and its
#: derivatives :math:`\sigma' = s(1-s)`, :math:`\sigma'' = s(1-s)(1-2s)`: ``SIGMA.fn``, ``SIGMA.prime``,
#: ``SIGMA.second`` (:data:`featlearn.models.ACTIVATIONS`).
SIGMA = models.activation("sigmoid_shift")


def initial_network(key: Array, d: int, m: int) -> dict[str, Array]:
    r"""Symmetric initialisation ``{"W0": (m, d), "a": (m,)}``: unit-norm rows :math:`w_{0,r}`, neuron
    :math:`r` and :math:`r+m/2` share :math:`w_{0,r}` and have :math:`a=\pm1/\sqrt m`, so :math:`f(\cdot;W_0)=0`."""
    d = _checks.positive_int("d", d)
    m = _checks.positive_int("m", m, minimum=2)
    if m % 2:
        raise ValueError(f"m must be even for a symmetric initialisation, got {m}")
    kw, ka = jax.random.split(key)
    w = rng.normal(kw, (m // 2, d))
    w = w / jnp.linalg.norm(w, axis=1, keepdims=True)
    s = rng.rademacher(ka, (m // 2,)) / math.sqrt(m)
    return {"W0": jnp.concatenate([w, w]), "a": jnp.concatenate([s, -s])}


def network(net: dict[str, Array], W: Array, x: Array) -> Array:
    r""":math:`f(x;W_0+W)`; ``W`` ``(m, d)``, ``x`` ``(n, d)`` → ``(n,)``."""
    return SIGMA.fn(x @ (net["W0"] + W).T) @ net["a"]


def f_L(net: dict[str, Array], W: Array, x: Array) -> Array:
    r"""Linear (NTK) term :math:`f_L(x;W)=\sum_r a_r\sigma'(w_{0,r}\cdot x)(w_r\cdot x)`, shape ``(n,)``."""
    return (SIGMA.prime(x @ net["W0"].T) * (x @ W.T)) @ net["a"]


def f_Q(net: dict[str, Array], W: Array, x: Array) -> Array:
    r"""Quadratic (QuadNTK) term :math:`f_Q(x;W)=\tfrac12\sum_r a_r\sigma''(w_{0,r}\cdot x)(w_r\cdot x)^2`."""
    return 0.5 * (SIGMA.second(x @ net["W0"].T) * (x @ W.T) ** 2) @ net["a"]


def model_fn(net: dict[str, Array], model: str = "LQ") -> Callable[[dict, Array], Array]:
    """``apply_fn({"W": W}, x)`` for ``model`` in ``"L"`` (:math:`f_L`), ``"Q"`` (:math:`f_Q`), ``"LQ"`` (both)."""
    _checks.one_of("model", model, MODELS)

    def apply_fn(params: dict, x: Array) -> Array:
        W = params["W"]
        out = 0.0
        if "L" in model:
            out = out + f_L(net, W, x)
        if "Q" in model:
            out = out + f_Q(net, W, x)
        return out

    return apply_fn


def ntk_gram(net: dict[str, Array], x: Array) -> Array:
    r""":math:`JJ^\top` ``(n, n)`` with :math:`(JJ^\top)_{ij}=(x_i\cdot x_j)\sum_r a_r^2\sigma'(w_{0,r}\cdot x_i)
    \sigma'(w_{0,r}\cdot x_j)`, never forming the ``(n, m d)`` matrix :math:`J`."""
    s = SIGMA.prime(x @ net["W0"].T) * jnp.abs(net["a"])
    return (s @ s.T) * (x @ x.T)


def singular_values(net: dict[str, Array], x: Array) -> Array:
    r"""Singular values of :math:`J`, descending, from the eigenvalues of :math:`JJ^\top` ``(n,)``."""
    ev = _linalg.eigvalsh(ntk_gram(net, x))[::-1]
    return jnp.sqrt(jnp.clip(ev, 0.0))


def top_directions(net: dict[str, Array], x: Array, k: int) -> Array:
    r"""The top-``k`` left singular vectors :math:`U_k` ``(n, k)`` of :math:`J` (eigenvectors of :math:`JJ^\top`)."""
    k = _checks.positive_int("k", k)
    if k > x.shape[0]:
        raise ValueError(f"k must be at most n = {x.shape[0]}, got {k}")
    _, U = _linalg.eigh(ntk_gram(net, x))
    return U[:, ::-1][:, :k]


def regularizer_r1(net: dict[str, Array], x: Array, k: int, weights: Array | None = None) -> Callable[[dict], Array]:
    r""":math:`R_1(W) = \|J_{\rm large}\,\mathrm{vec}W\|^2/n` with :math:`J_{\rm large}=J-U_kU_k^\top J`
    (:math:`J` minus its top-``k`` singular components) :math:`=\|(I-U_kU_k^\top)f_L(X;W)\|^2/n`.
    ``weights``: a 0/1 mask ``(n,)`` of the rows that count (e.g. :func:`featlearn.data.first_n_weights`, may be
    traced): :math:`J` and :math:`n` are those of the kept rows alone. Returns ``R1({"W": W}) -> scalar``."""
    if weights is None:
        U, keep, count = top_directions(net, x, k), 1.0, x.shape[0]
    else:
        _checks.shape("weights", weights, (x.shape[0],))
        keep = jnp.asarray(weights, x.dtype)
        U, count = top_directions(net, x * keep[:, None], k), jnp.sum(keep)  # a zero row: out of J, and of U_k

    def r1(params: dict) -> Array:
        v = f_L(net, params["W"], x) * keep
        v = v - U @ (U.T @ v)
        return jnp.sum(v * v) / count

    return r1


def project_off_top(net: dict[str, Array], x: Array, W: Array, k: int) -> Array:
    r"""Remove from ``W`` its component in the row space of the top-``k`` block of :math:`J`:
    :math:`\mathrm{vec}W - V_kV_k^\top\mathrm{vec}W`, with :math:`V_k = J^\top U_k\,\mathrm{diag}(1/s_k)`."""
    ev, U = _linalg.eigh(ntk_gram(net, x))
    U, s = U[:, ::-1][:, :k], jnp.sqrt(jnp.clip(ev[::-1][:k], 1e-30))
    c = (U.T @ f_L(net, W, x)) / s  # coordinates of vec W on V_k, (k,)
    g = U @ (c / s)  # (n,): V_k c = J^T g
    s_in = SIGMA.prime(x @ net["W0"].T) * net["a"]  # (n, m)
    return W - (s_in * g[:, None]).T @ x


def target(x: Array, beta: Array) -> Array:
    r"""The paper's unit-variance dense low-degree + sparse target :math:`f^*(x)=((\beta\cdot x)^2-1+\beta\cdot x)/
    \sqrt3`, :math:`\|\beta\|=1`; ``x`` ``(n, d)`` → ``(n,)``."""
    z = x @ beta
    return (z * z - 1.0 + z) / math.sqrt(3.0)


class Curves(NamedTuple):
    r"""Training curves of one run, each ``(n_evals + 1,)``: GD ``step``; ``train_loss``, ``val_loss`` and
    ``test_loss`` (:math:`\tfrac12`MSE without the regulariser, on the training, validation and test inputs;
    NaN where no such set was given); and :math:`R_1(W)`."""

    step: Array
    train_loss: Array
    val_loss: Array
    test_loss: Array
    r1: Array


def fit(net: dict[str, Array], x: Array, y: Array, *, model: str = "LQ", lam: float | Array = 0.0, k: int = 1,
        steps: int, lr: float = 1.0, W_init: Array | None = None, x_val: Array | None = None,
        y_val: Array | None = None, x_test: Array | None = None, y_test: Array | None = None,
        n_evals: int = 50, weights: Array | None = None) -> tuple[Array, Curves]:
    r"""Full-batch GD on the training MSE :math:`\tfrac1{2n}\sum_i(f(x_i;W)-y_i)^2+\lambda R_1(W)` for
    ``model`` in ``"L"``, ``"Q"``, ``"LQ"``, from ``W_init`` (default 0): one call of
    :func:`featlearn.train.fit` with :math:`R_1` as its penalty, the validation and test losses and :math:`R_1`
    recorded by its metrics callback. ``x`` ``(n, d)``, ``y`` ``(n,)``; the optional validation and test sets
    are only evaluated, never trained on. ``weights``: a 0/1 mask ``(n,)`` of the training rows that count, in the
    loss and in :math:`R_1` (:func:`regularizer_r1`); may be traced, so that sample sizes are prefixes of one
    training set. Returns the final ``W`` ``(m, d)`` and :class:`Curves` with ``n_evals + 1`` evaluations
    (``n_evals`` must divide ``steps``)."""
    _checks.one_of("model", model, MODELS)
    r1 = regularizer_r1(net, x, k, weights)
    W0 = jnp.zeros_like(net["W0"]) if W_init is None else W_init
    apply_fn = model_fn(net, model)

    def held_out(p, xs, ys):
        return jnp.nan if xs is None or ys is None else train.loss_value(apply_fn(p, xs), ys)

    def record(p):
        return held_out(p, x_val, y_val), held_out(p, x_test, y_test), r1(p)

    loss = train.supervised_loss(apply_fn, x, y, weights=weights)
    p, tr = train.fit({"W": W0}, loss, steps=steps, lr=lr, lam=lam, penalty=r1, n_evals=n_evals, metrics=record)
    return p["W"], Curves(tr.step, tr.loss, *tr.metrics)


# ----------------------------------------------------------------------------------------------------------------
# The chapter's experiments, one seed each: pure functions of a key, to be run with featlearn.sweeps.sweep.
# ----------------------------------------------------------------------------------------------------------------


def _sizes(**kw: int) -> None:
    for name, v in kw.items():
        _checks.positive_int(name, v)


def _top_k(k: int | None, d: int, n: int) -> int:
    k = d if k is None else _checks.positive_int("k", k)
    if k > n:
        raise ValueError(f"k must be at most n = {n}, got {k}")
    return k


def regularized_run(key: Array, lam: float | Array = 0.0, *, d: int, m: int, n: int, n_val: int, n_test: int,
                    steps: int, model: str = "LQ", q_init: float = 0.1, k: int | None = None, lr: float = 1.0,
                    n_evals: int = 50) -> Curves:
    r"""One seed of the public experiment: draw the symmetric network (:func:`initial_network`, width ``m``), a
    unit :math:`\beta`, ``n`` training, ``n_val`` validation and ``n_test`` test inputs :math:`x\sim N(0,I_d)`
    (three independent draws) and the target :func:`target`; train ``model`` (``"L"``, ``"Q"`` or ``"LQ"``) on
    :math:`\tfrac1{2n}\sum_i(f(x_i;W)-y_i)^2+\lambda R_1(W)` by full-batch GD (:func:`fit`), with ``k`` top
    directions (default :math:`d`, as in the authors' code: the degree-1 block of :math:`J`).

    :math:`W` starts at 0, except for ``model="Q"``: :math:`W=0` is a saddle of :math:`f_Q` alone, so the
    QuadNTK model starts from :math:`W_{rj}\sim N(0, q_{\rm init}^2/d)`. ``lam`` may be traced (a sweep axis);
    the sizes are static. The validation curve is there to choose :math:`\lambda`
    (:func:`validated_lambda`); the test curve only reports. Returns :class:`Curves` with ``n_evals + 1``
    evaluations."""
    _sizes(d=d, m=m, n=n, n_val=n_val, n_test=n_test, steps=steps)
    _checks.one_of("model", model, MODELS)
    _checks.real_in("lam", lam, 0.0)
    _checks.real_in("q_init", q_init, 0.0)
    k = _top_k(k, d, n)
    kn, kx, kt, kb, kw, kv = jax.random.split(key, 6)  # split is prefix-stable: the first five keep their streams
    net = initial_network(kn, d, m)
    beta = rng.normal(kb, (d, 1))[:, 0]
    beta = beta / jnp.linalg.norm(beta)
    x, xv, xt = rng.normal(kx, (n, d)), rng.normal(kv, (n_val, d)), rng.normal(kt, (n_test, d))
    W_init = q_init * rng.normal(kw, (m, d)) / math.sqrt(d) if model == "Q" else None
    _, curves = fit(net, x, target(x, beta), model=model, lam=lam, k=k, steps=steps, lr=lr, W_init=W_init,
                    x_val=xv, y_val=target(xv, beta), x_test=xt, y_test=target(xt, beta), n_evals=n_evals)
    return curves


def authors_lambda(lam: float | np.ndarray, n: int) -> float | np.ndarray:
    r"""The strength :math:`\lambda` in this module's units of a strength ``lam`` on the authors' figure's scale,
    with ``n`` training points: ``lam * n / 2``.

    Here the objective is :math:`\tfrac12\mathrm{MSE}+\lambda R_1` with :math:`R_1` a mean over the ``n``
    training points, :math:`\|J_{\rm large}\mathrm{vec}W\|^2/n`, and GD runs at rate 2; the figure's run is GD at
    rate 1 on the MSE plus :math:`\lambda' R_1^{\Sigma}`, with :math:`R_1^{\Sigma} = nR_1` the sum over the
    training points (the figure's :math:`R_1` reaches about 390 without the regulariser at :math:`n = 1000`,
    :math:`n` times this module's on the same run, ``results/good-directions/authors-size/``). The two steps agree
    when :math:`2\lambda/n = \lambda'`, so :math:`\lambda = n\lambda'/2`. (Which regulariser the published
    code weights by :math:`\lambda'` is another matter: see the chapter.)"""
    _checks.positive_int("n", n)
    return lam * n / 2


def figure_lambda(lam: float | np.ndarray, n: int) -> float | np.ndarray:
    r"""The inverse of :func:`authors_lambda`: this module's ``lam`` on the figure's scale, ``2 * lam / n``."""
    _checks.positive_int("n", n)
    return 2 * lam / n


def validated_lambda(val_loss: np.ndarray) -> int:
    r"""Index of the :math:`\lambda` whose final validation loss, averaged over seeds, is smallest:
    ``val_loss`` ``(seeds, L)`` (or ``(L,)``) → an index into the grid. The test loss plays no part."""
    v = np.asarray(val_loss, float)
    if v.ndim not in (1, 2) or v.shape[-1] < 1:
        raise ValueError(f"val_loss must have shape (seeds, L) or (L,) with L >= 1, got {v.shape}")
    if not np.all(np.isfinite(v)):
        raise ValueError("val_loss must be finite (was a validation set given?)")
    return int(np.argmin(v.reshape(-1, v.shape[-1]).mean(0)))


class Spectrum(NamedTuple):
    r"""``singular_values`` ``(n,)`` of :math:`J` (descending) and ``off_top_ratio`` ``()``:
    :math:`\|f_L(X';W_\perp)\|/\|f_L(X';W)\|` on fresh inputs :math:`X'` for a random :math:`W` and
    :math:`W_\perp`, the same displacement projected off the top-``k`` block and rescaled to
    :math:`\|W_\perp\|=\|W\|`."""

    singular_values: Array
    off_top_ratio: Array


def spectrum(key: Array, *, d: int, m: int, n: int, n_test: int, k: int | None = None) -> Spectrum:
    r"""One seed of the spectral picture: the singular values of :math:`J` at a symmetric initialisation on
    ``n`` Gaussian inputs, and how much a random displacement moves :math:`f_L` on ``n_test`` fresh inputs
    once projected off the top ``k`` (default :math:`d`) right singular vectors (:func:`project_off_top`),
    relative to the unprojected one. A ratio well below 1 means the directions off the top block are the
    "good" ones: :math:`f_L` barely changes there, so :math:`f_Q` may use them."""
    _sizes(d=d, m=m, n=n, n_test=n_test)
    k = _top_k(k, d, n)
    kn, kx, kt, kw = jax.random.split(key, 4)
    net = initial_network(kn, d, m)
    x, xt = rng.normal(kx, (n, d)), rng.normal(kt, (n_test, d))
    s = singular_values(net, x)
    W = rng.normal(kw, (m, d))
    Wp = project_off_top(net, x, W, k)
    Wp = Wp * jnp.linalg.norm(W) / jnp.linalg.norm(Wp)
    ratio = jnp.linalg.norm(f_L(net, Wp, xt)) / jnp.linalg.norm(f_L(net, W, xt))
    return Spectrum(s, ratio)


def outlier_count(s: np.ndarray, search: int) -> np.ndarray:
    r"""Number of outlying singular values: the index :math:`i\le` ``search`` of the largest ratio
    :math:`s_i/s_{i+1}` (1-based), for descending ``s`` ``(..., n)`` → ``(...)`` integers."""
    s = np.asarray(s, float)
    search = _checks.positive_int("search", search)
    if s.ndim < 1 or s.shape[-1] < 2:
        raise ValueError(f"s must hold at least two singular values along its last axis, got shape {s.shape}")
    search = min(search, s.shape[-1] - 1)
    return np.argmax(s[..., :search] / s[..., 1:search + 1], axis=-1) + 1


# --- Section 4: an ordinary network's sample complexity ---------------------------------------------------------


class DenseSparseTarget(NamedTuple):
    r"""A dense quadratic plus a sparse cubic, :math:`f^*(x) = \bigl(x^\top Ax-\mathrm{tr}A
    + h_3(\beta\cdot x)\bigr)/\sqrt2` with :math:`h_3(z)=(z^3-3z)/\sqrt6`, symmetric ``A`` ``(d, d)`` with
    :math:`2\|A\|_F^2=1` and unit ``beta`` ``(d,)``. For :math:`x\sim N(0,I_d)` the two parts are orthogonal
    with variance :math:`\tfrac12` each, so :math:`\mathrm{Var}f^*=1` and a predictor that learns only degrees
    :math:`\le2` stays at normalised MSE :math:`\tfrac12`. A JAX pytree."""

    A: Array
    beta: Array

    def __call__(self, x: Array) -> Array:
        """``x`` ``(n, d)`` → ``(n,)``."""
        quad = jnp.sum((x @ self.A) * x, axis=-1) - jnp.trace(self.A)
        z = x @ self.beta
        return (quad + (z ** 3 - 3.0 * z) / math.sqrt(6.0)) / math.sqrt(2.0)


def dense_sparse_target(key: Array, d: int) -> DenseSparseTarget:
    r"""Draw :class:`DenseSparseTarget`: :math:`A\propto G+G^\top` (``G`` Gaussian, so every entry of ``A``
    is of the same order: the quadratic part is dense), :math:`\beta` uniform on the sphere."""
    d = _checks.positive_int("d", d)
    ka, kb = jax.random.split(key)
    G = rng.normal(ka, (d, d))
    A = G + G.T
    A = A / jnp.sqrt(2.0 * jnp.sum(A * A))
    beta = rng.normal(kb, (d, 1))[:, 0]
    return DenseSparseTarget(A, beta / jnp.linalg.norm(beta))


class SampleCurve(NamedTuple):
    r"""One trained network: ``test_error`` and ``val_error`` ``(n_evals + 1,)``, the normalised MSE
    :math:`\|f-f^*\|^2/\|f^*-\bar f^*\|^2` on the fresh test and validation inputs (1 for the zero predictor)
    at each evaluation, and ``train_loss`` ``(n_evals + 1,)`` (:math:`\tfrac12`MSE on the ``n`` training
    samples). The stopping step is chosen on ``val_error`` (:func:`validated_errors`), never on the test error."""

    test_error: Array
    train_loss: Array
    val_error: Array


def dense_sparse_data(key: Array, *, d: int, n_max: int, n_val: int, n_test: int
                      ) -> tuple[DenseSparseTarget, tuple[Array, Array], tuple[Array, Array], tuple[Array, Array]]:
    r"""One seed's problem for section 4, shared by the network and the kernel so that they see the same draws:
    the target (:func:`dense_sparse_target`) and ``(x, y)`` pairs of ``n_max`` training, ``n_val`` validation and
    ``n_test`` test inputs :math:`x\sim N(0,I_d)`, from ``key`` (the network's initialisation uses the fourth of
    ``jax.random.split(key, 5)``, which this function leaves alone)."""
    kt, kx, kxt, _, kv = jax.random.split(key, 5)
    f_star = dense_sparse_target(kt, d)
    x, xv, xt = rng.normal(kx, (n_max, d)), rng.normal(kv, (n_val, d)), rng.normal(kxt, (n_test, d))
    return f_star, (x, f_star(x)), (xv, f_star(xv)), (xt, f_star(xt))


def ordinary_network_run(key: Array, n: int | Array, *, d: int, n_max: int, m: int, steps: int, lr: float,
                         n_test: int, n_val: int, bias_std: float = 1.0, n_evals: int = 10) -> SampleCurve:
    r"""An ordinary two-layer ReLU network :math:`f(x)=\tfrac1{\sqrt m}\sum_j a_j\,\mathrm{relu}(w_j\cdot x+b_j)`
    (:mod:`featlearn.models`: symmetric initialisation, so :math:`f\equiv0` at the start; biases
    :math:`N(0,b_{\rm std}^2)`, without which a ReLU network's kernel puts no weight on degree 3), all layers
    trained by full-batch GD for ``steps`` steps on the first ``n`` of ``n_max`` samples of
    :func:`dense_sparse_target` (:func:`dense_sparse_data`), its validation and test errors recorded at
    ``n_evals + 1`` evenly spaced steps (step 0 is the zero predictor, so the null predictor is always a
    candidate of the validated stopping rule).

    The seed (``key``) fixes the target, the inputs and the initialisation, so within one seed the training sets
    are nested and only ``n`` differs. ``n`` is a traced value (:func:`featlearn.data.first_n_weights`): a sweep
    over it is one compiled program per ``d``."""
    _sizes(d=d, n_max=n_max, m=m, steps=steps, n_test=n_test, n_val=n_val)
    _, (x, y), (xv, yv), (xt, yt) = dense_sparse_data(key, d=d, n_max=n_max, n_val=n_val, n_test=n_test)
    params = models.init_params(jax.random.split(key, 5)[3], d, m, symmetric=True, bias_std=bias_std)
    apply_fn = models.make_apply("relu", models.output_scale(m, "ntk"))
    loss = train.supervised_loss(apply_fn, x, y, weights=data.first_n_weights(n, n_max, rescale=True))
    _, tr = train.fit(params, loss, steps=steps, lr=lr, n_evals=n_evals,
                      metrics=lambda p: (metrics.normalized_mse(apply_fn(p, xt), yt),
                                         metrics.normalized_mse(apply_fn(p, xv), yv)))
    test_error, val_error = tr.metrics
    return SampleCurve(test_error, tr.loss, val_error)


#: The NTK's relative ridge penalties in section 4, :math:`10^{-10}, \dots, 1` times the mean eigenvalue of
#: :math:`K/n` (the library's default grid stops at :math:`10^{-6}`, which validation chose in every run on these
#: noiseless labels). Solved in float64.
KERNEL_LAMBDAS: tuple[float, ...] = tuple(10.0 ** k for k in range(-10, 1))


class KernelCurve(NamedTuple):
    r"""The closed-form NTK by kernel ridge on the first ``n`` samples for each ``n`` of a grid: ``test_error``
    ``(K,)`` (normalised MSE on the test inputs at the validated candidate) and ``rel_lam`` ``(K,)``, the chosen
    relative ridge penalty (``inf`` where validation chose the null predictor)."""

    test_error: np.ndarray
    rel_lam: np.ndarray


def ntk_ridge_run(key: Array, ns: Sequence[int], *, d: int, n_max: int, n_val: int, n_test: int,
                  bias_std: float = 1.0) -> KernelCurve:
    r"""The kernel side of section 4's paired measurement: the closed-form NTK of the same two-layer ReLU network
    (all layers trained, biases :math:`N(0,b_{\rm std}^2)`; :func:`featlearn.kernels.ntk_relu`) on the same draws
    as :func:`ordinary_network_run` with the same ``key`` (:func:`dense_sparse_data`), by kernel ridge on the first
    ``n`` samples for each ``n`` in ``ns`` (:func:`featlearn.ridge.kernel_ridge_cholesky`: penalty from
    :data:`KERNEL_LAMBDAS` or the null predictor, chosen by the validation error like the network's stopping
    step)."""
    _sizes(d=d, n_max=n_max, n_val=n_val, n_test=n_test)
    grid = [int(v) for v in ns]
    if not grid or any(not 1 <= v <= n_max for v in grid):
        raise ValueError(f"ns must be a non-empty list of sizes in [1, n_max = {n_max}], got {list(ns)}")
    _, (x, y), (xv, yv), (xt, yt) = dense_sparse_data(key, d=d, n_max=n_max, n_val=n_val, n_test=n_test)
    bias_var = float(bias_std) ** 2
    with jax.enable_x64(True):  # noiseless labels: validation wants penalties below float32's resolution
        x, xv, xt = (jnp.asarray(a, jnp.float64) for a in (x, xv, xt))
        K, Kv, Kt = (np.asarray(kernels.ntk_relu(a, x, bias_var=bias_var)) for a in (x, xv, xt))
    y, yv, yt = (np.asarray(a, np.float64) for a in (y, yv, yt))
    errs, lams = [], []
    for n in grid:
        fit = ridge.kernel_ridge_cholesky(K[:n, :n], y[:n], Kv[:, :n], yv, rel_lams=KERNEL_LAMBDAS)
        errs.append(float(np.mean((Kt[:, :n] @ fit.coef - yt) ** 2) / np.var(yt)))
        lams.append(float(fit.rel_lam))
    return KernelCurve(np.array(errs), np.array(lams))


def validated_errors(curve: SampleCurve) -> tuple[np.ndarray, np.ndarray]:
    r"""The test error at the evaluation step whose validation error is smallest, and that step's index: ``curve``
    with fields ``(..., E)`` → two arrays ``(...)``. The test error plays no part in the choice."""
    val, test = np.asarray(curve.val_error, float), np.asarray(curve.test_error, float)
    best = np.argmin(val, axis=-1)
    return np.take_along_axis(test, best[..., None], axis=-1)[..., 0], best


def sample_grid(d: int, n_over_d2: tuple[float, ...] | np.ndarray) -> np.ndarray:
    r"""Section 4's sample sizes at dimension ``d``: :math:`n = \mathrm{round}(c\,d^2)` for each ratio ``c`` in
    ``n_over_d2`` ``(K,)``, increasing and without repeats → ``(K',)`` integers, ``K' <= K``."""
    d = _checks.positive_int("d", d)
    c = np.asarray(n_over_d2, float)
    if c.ndim != 1 or c.size == 0 or np.any(c <= 0):
        raise ValueError(f"n_over_d2 must be a non-empty list of positive ratios, got {n_over_d2}")
    grid = np.unique(np.round(c * d * d).astype(int))
    if grid[0] < 1:
        raise ValueError(f"n_over_d2 must give n >= 1 at d = {d}, got n = {grid[0]}")
    return grid
