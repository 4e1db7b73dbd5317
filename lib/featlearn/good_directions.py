r"""Escaping the NTK with good directions (Nichani, Bai & Lee 2022): the linear and quadratic Taylor terms of a
two-layer network around a symmetric initialisation, the regulariser :math:`R_1`, the target class, and the
chapter's three experiments as pure, sweepable functions (:func:`regularized_run`, :func:`spectrum`,
:func:`ordinary_network_run`), with the chapter's sizes (:data:`SIZES`).

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

import itertools
import math
from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array

from featlearn import (
    _checks,
    _linalg,
    data,
    figures,
    kernels,
    metrics,
    models,
    ridge,
    rng,
    scorecard,
    separations,
    sweeps,
    train,
)
from featlearn.progress import progress

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
        fit = ridge.kernel_ridge_cholesky(K[:n, :n], y[:n], Kv[:, :n], yv, lambdas=KERNEL_LAMBDAS)
        errs.append(float(np.mean((Kt[:, :n] @ fit.coef - yt) ** 2) / np.var(yt)))
        lams.append(float(fit.rel_lam))
    return KernelCurve(np.array(errs), np.array(lams))


def validated_errors(curve: SampleCurve) -> tuple[np.ndarray, np.ndarray]:
    r"""The test error at the evaluation step whose validation error is smallest, and that step's index: ``curve``
    with fields ``(..., E)`` → two arrays ``(...)``. The test error plays no part in the choice."""
    val, test = np.asarray(curve.val_error, float), np.asarray(curve.test_error, float)
    best = np.argmin(val, axis=-1)
    return np.take_along_axis(test, best[..., None], axis=-1)[..., 0], best


def sample_threshold(ns: np.ndarray, errors: np.ndarray, level: float) -> np.ndarray:
    r"""The smallest ``n`` at which the test error reaches ``level`` or below, interpolated linearly in
    :math:`\log n` (:func:`featlearn.metrics.crossing_point`); ``nan`` where it never does. ``ns`` ``(K,)``
    increasing, ``errors`` ``(..., K)`` → ``(...)``."""
    ns = np.asarray(ns, float)
    errors = np.asarray(errors, float)
    if ns.ndim != 1 or errors.shape[-1:] != ns.shape:
        raise ValueError(f"errors must have last axis of length len(ns) = {ns.size}, got shape {errors.shape}")
    if np.any(np.diff(ns) <= 0):
        raise ValueError(f"ns must be increasing, got {ns}")
    _checks.real_in("level", level, 0.0, low_open=True)
    flat = errors.reshape(-1, ns.size)
    out = np.array([metrics.crossing_point(ns, -e, -level) for e in flat])
    return out.reshape(errors.shape[:-1])


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


# ----------------------------------------------------------------------------------------------------------------
# The chapter's sizes, stated once: book/good-directions.ipynb runs ``profiles.sizes(**good_directions.SIZES)``.
# ----------------------------------------------------------------------------------------------------------------


def _chapter_sizes(d: int, **rest: object) -> dict[str, object]:
    # n = floor(d^1.5) training samples, as in the authors' experiment (n = 1000 at d = 100)
    return dict(d=d, n=int(d ** 1.5), **rest)


SIZES: dict[str, dict[str, object]] = dict(
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


# --- the chapter's experiments
# One function per section of the chapter, ``section(S, key) -> dict`` (S: the chapter's sizes, key: the key the
# chapter passes), returning plain arrays and scalars, and under ``"glue"`` the values the chapter's prose shows
# (by glue name, without the chapter's prefix); the notebook plots, glues and checks.

#: The chapter's seed: every section gets ``jax.random.key(SEED)`` (the notebook's ``key``; ``featlearn reproduce``).
SEED = 0


def spectrum_outliers(S: SimpleNamespace, key: Array) -> dict[str, Any]:
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


def regularisation_strength(S: SimpleNamespace, key: Array, k: int | None = None, *, lr: float | None = None
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


def models_compared(S: SimpleNamespace, key: Array, regularised: dict[str, Any] | None = None) -> dict[str, Any]:
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


def sample_complexity(S: SimpleNamespace, key: Array, *, lr: float = 2.0, ci: float = 0.95) -> dict[str, Any]:
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
    from . import results

    return results.load("authors-size", "d100", root=results.results_dir() / "good-directions")


#: The chapter's experiments, in its order (``fl.good_directions.SECTIONS[name](S, key)``).
SECTIONS = {"spectrum_outliers": spectrum_outliers, "regularisation_strength": regularisation_strength,
            "models_compared": models_compared, "sample_complexity": sample_complexity}


# --- the chapter's figures
# Drawn from what a section returns, so that the chapter draws the same figure from a live run and from stored
# results (``featlearn.results``); matplotlib is imported inside, so ``import featlearn`` does not load it.


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
