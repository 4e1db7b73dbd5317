r"""One gradient step learns the representation: Algorithm 1 of Damian, Lee & Soltanolkotabi (COLT 2022).

Setting: :math:`x\sim N(0,I_d)`, labels :math:`y = f^*(x) + \varepsilon` with :math:`f^*(x) = g(Ux)`,
:math:`U\in\mathbb R^{r\times d}` with orthonormal rows, :math:`g` a polynomial of degree :math:`p`. The paper
assumes the expected Hessian :math:`H = \mathbb E[\nabla^2 f^*(x)]` has rank :math:`r`, so that
:math:`\mathrm{span}(H) = \mathrm{span}(U^\top)`. The network is the ReLU net
:math:`f(x) = s\sum_{j=1}^m a_j\,\sigma(w_j\cdot x + b_j)` at a *symmetric* initialisation (:math:`f\equiv0`).

Algorithm 1, as implemented by :func:`one_step_fit`:

1. remove the constant and linear part of the labels, :math:`y\leftarrow y-\hat\alpha-\hat\beta\cdot x` with
   :math:`\hat\alpha = \frac1n\sum y_i`, :math:`\hat\beta = \frac1n\sum y_i x_i` (:func:`remove_linear_part`);
2. one full-batch gradient step on :math:`W` with weight decay :math:`\lambda_1 = 1/\eta_1`, so the
   initialisation is forgotten: :math:`W^1 = -\eta_1\nabla_W L(\theta^0)` (:func:`ghost_gradient`,
   :func:`first_step`);
3. biases re-drawn, :math:`b\sim N(0,1)` (:func:`first_step`);
4. ridge regression on the second layer :math:`a` over the features :math:`\sigma(W^1x+b)`, with
   :math:`\lambda` chosen on a validation set (:func:`streamed_head`, :func:`featlearn.ridge.ridge_from_stats`).

The key lemma (:func:`predicted_gradient`): at the symmetric initialisation
:math:`\nabla_{w_j}L \approx -s\,a_j\,\mathbb E[\sigma''(w_j\cdot x+b_j)]\,Hw_j
= -s\,a_j\,\frac{\varphi(b_j/\|w_j\|)}{\|w_j\|}\,Hw_j`, so every row of :math:`W^1` lies near span(U) once the
sampling noise, of size :math:`\sqrt{d/n}` per neuron against a signal of size :math:`1/\sqrt d`, is small:
:math:`n\gtrsim d^2`.

**Ghost batches.** Every row of a data set is a function of the key and its index alone
(:func:`featlearn.data.ghost_rows`), so a data set of any size is defined by ``(key, n)`` alone and can be
streamed in batches (:func:`featlearn.data.stream`; no ``(n, d)`` array is ever resident) or materialised, with
identical rows either way. ``n`` may be a traced integer, so several sample sizes run as prefixes of one stream in
one compiled program.
Every function is a pure function of its keys and can be ``vmap``-ed over seeds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import Array, lax

from . import _checks, data, metrics, models, ridge, rng, targets, train
from .models import Params, init_params

Target = Callable[[Array], Array]
KERNELS = ("ntk", "nngp", "entk")

#: Validation rows that choose every ridge penalty of the chapter (network, random features, kernels). The target
#: has degree-4 Hermite terms, whose squares are heavy-tailed: on 2048 rows one seed's label variance came out
#: 0.70 for a unit-variance target, and validation then preferred the largest penalty of the grid.
N_VAL = 8192


#: The source target of every section, :math:`g(z) = \tfrac12[h_2(z_1) + h_2(z_2) + h_4(z_1) + h_2(z_1)h_2(z_2)]`
#: (unit variance, :math:`\kappa = 1`, half of its variance in degree 4), as Hermite coefficients by multi-index.
SOURCE = {(2, 0): .5, (0, 2): .5, (4, 0): .5, (2, 2): .5}


def _dim(target: Target, d: int | None) -> int:
    d = getattr(target, "d", None) if d is None else d
    if d is None:
        raise ValueError("d must be given for a target without a .d attribute")
    return _checks.positive_int("d", d)


# ------------------------------------------------------------------------------------ step 1: linear part
class LinearPart(NamedTuple):
    r"""The constant and linear part :math:`\hat\alpha + \hat\beta\cdot x` removed from the labels:
    ``alpha`` scalar, ``beta`` ``(d,)``."""

    alpha: Array
    beta: Array

    def __call__(self, x: Array) -> Array:
        return self.alpha + x @ self.beta


def linear_part(x: Array, y: Array, mask: Array | None = None) -> LinearPart:
    r"""Estimate the constant and linear part of ``y`` on ``x`` ``(n, d)`` as the paper does, by Stein's lemma:
    :math:`\hat\alpha = \frac1n\sum y_i`, :math:`\hat\beta=\frac1n\sum y_ix_i` (:math:`\mathbb E[yx] = \mathbb
    E[\nabla f^*]`), a one-pass statistic that leaves the labels uncorrelated with 1 and ``x`` up to :math:`O(d/n)`.
    ``mask`` ``(n,)``: weights of the rows (the first ``n`` of a pool)."""
    n, d = x.shape
    _checks.shape("y", y, (n,))
    w = jnp.ones((n,), x.dtype) if mask is None else mask
    cnt = jnp.maximum(jnp.sum(w), 1.0)
    return LinearPart(jnp.sum(w * y) / cnt, (w * y) @ x / cnt)


def remove_linear_part(x: Array, y: Array) -> tuple[Array, LinearPart]:
    r"""Step 1 of Algorithm 1: the labels :math:`y - \hat\alpha - \hat\beta\cdot x` ``(n,)`` and the part
    removed (apply the same :class:`LinearPart` to validation and test labels)."""
    lp = linear_part(x, y)
    return y - lp(x), lp


def streamed_linear_part(key: Array, n: Array | int, target: Target, *, d: int | None = None,
                         noise_std: float = 0.0, batch: int = 4096) -> LinearPart:
    r"""The ``"stein"`` :class:`LinearPart` of the first ``n`` rows of the ghost data set ``(key, ·)``, streamed
    (memory :math:`O(\text{batch}\cdot d)`)."""
    d = _dim(target, d)
    batch = _checks.positive_int("batch", batch)

    def body(acc, x, y, mask):
        s, v = acc
        return s + jnp.sum(mask * y), v + (mask * y) @ x

    s, v = data.stream(body, (jnp.zeros(()), jnp.zeros((d,))), key, n, batch=batch, d=d, target=target,
                   noise_std=noise_std)
    return LinearPart(s / n, v / n)


# ------------------------------------------------------------------------------- step 2: the first gradient
def _relu_grad_rows(params: Params, x: Array, y: Array, scale: float) -> Array:
    """Per-row pre-activation gradients ``(n, m)``: :math:`(f(x_i)-y_i)\\,s\\,a_j\\,\\sigma'(u_{ij})`."""
    u = x @ params["W"].T + params["b"]
    f = scale * jax.nn.relu(u) @ params["a"]
    return (f - y)[:, None] * (scale * params["a"])[None, :] * (u > 0).astype(x.dtype)


def ghost_gradient(key: Array, params: Params, target: Target, n: Array | int, *, d: int | None = None,
                   noise_std: float = 0.0, batch: int = 4096, linear: LinearPart | None = None,
                   scale: float = 1.0) -> Array:
    r""":math:`\nabla_W L(\theta)` on the first ``n`` rows of the ghost data set ``(key, ·)``, with the labels'
    linear part removed (``linear``; by default estimated in a first streamed pass over the same rows), streamed
    in batches: memory :math:`O(\text{batch}\cdot(d+m) + md)` whatever ``n``. Shape ``(m, d)``. (On materialised
    data it equals :func:`featlearn.models.first_layer_gradient` of the square loss, up to rounding.)

    :math:`\nabla_{w_j}L = \frac1n\sum_i (f(x_i)-y_i)\,s\,a_j\,\sigma'(w_j\cdot x_i+b_j)\,x_i`."""
    d = _dim(target, d)
    batch = _checks.positive_int("batch", batch)
    _checks.real_in("noise_std", noise_std, 0.0)
    if linear is None:
        linear = streamed_linear_part(key, n, target, d=d, noise_std=noise_std, batch=batch)

    def body(G, x, y, mask):
        g = _relu_grad_rows(params, x, y - linear(x), scale) * mask[:, None]
        return G + g.T @ x

    G = data.stream(body, jnp.zeros_like(params["W"]), key, n, batch=batch, d=d, target=target,
                noise_std=noise_std)
    return G / n


# --------------------------------------------------------------------------------------- the key lemma
def expected_hessian(target: Target, *, key: Array | None = None, d: int | None = None, n: int = 100_000
                     ) -> Array:
    r""":math:`H = \mathbb E[\nabla^2 f^*(x)]`, ``(d, d)``.

    In closed form for a :class:`~featlearn.targets.MultiIndexTarget` (only the degree-2 Hermite coefficients
    enter: :math:`c_{2e_i}\sqrt2` on the diagonal, :math:`c_{e_i+e_j}` off it). For any other callable, the
    Monte Carlo estimate :math:`\frac1n\sum f^*(x_i)(x_ix_i^\top - I)` (Stein's lemma) from ``key``."""
    if hasattr(target, "expected_hessian"):
        return target.expected_hessian()
    if key is None:
        raise ValueError("key must be given to estimate the expected Hessian of a target without a closed form")
    d = _dim(target, d)
    n = _checks.positive_int("n", n, minimum=2)
    x = targets.gaussian_inputs(key, n, d)
    y = target(x)
    return (x * y[:, None]).T @ x / n - jnp.mean(y) * jnp.eye(d)


def _relu_curvature(params: Params) -> tuple[Array, Array, Array]:
    """``‖w_j‖``, ``β_j = b_j/‖w_j‖`` and :math:`\\mathbb E[\\sigma''(w_j\\cdot x+b_j)] = \\varphi(β_j)/\\|w_j\\|`."""
    norm = jnp.linalg.norm(params["W"], axis=1)
    beta = params["b"] / norm
    return norm, beta, jnp.exp(-0.5 * beta**2) / math.sqrt(2 * math.pi) / norm


def predicted_gradient(params: Params, H: Array, *, scale: float = 1.0) -> Array:
    r"""The key lemma's prediction of the first gradient,
    :math:`-s\,a_j\,\frac{\varphi(b_j/\|w_j\|)}{\|w_j\|}\,Hw_j`, for every neuron: ``(m, d)``."""
    _checks.shape("H", H, (params["W"].shape[1],) * 2)
    _, _, curv = _relu_curvature(params)
    return -(scale * params["a"] * curv)[:, None] * (params["W"] @ H)


def population_gradient_quadratic(params: Params, H: Array, *, scale: float = 1.0) -> Array:
    r"""The exact population gradient :math:`\nabla_W L` at a point where :math:`f\equiv0`, for a *quadratic*
    target :math:`f^*(x) = \tfrac12(x^\top Hx - \mathrm{tr}H)` (whose linear part is zero):

    .. math:: \nabla_{w_j}L = -s\,a_j\frac{\varphi(\beta_j)}{\|w_j\|}\Bigl(Hw_j +
       \tfrac12(\hat w_j^\top H\hat w_j)(\beta_j^2-1)\,w_j\Bigr),\qquad \beta_j = b_j/\|w_j\|.

    The first term is :func:`predicted_gradient`; the second, along :math:`w_j` itself, is
    :math:`O(\mathrm{tr}H/d)` for a random :math:`w_j` (Stein's lemma twice; the second term is
    :math:`\mathbb E[f^*\mid w_j\cdot x=-b_j]` times the density of :math:`w_j\cdot x` at :math:`-b_j`)."""
    _checks.shape("H", H, (params["W"].shape[1],) * 2)
    norm, beta, curv = _relu_curvature(params)
    W = params["W"]
    what = W / norm[:, None]
    quad = jnp.sum((what @ H) * what, axis=1)
    return -(scale * params["a"] * curv)[:, None] * (W @ H + (0.5 * quad * (beta**2 - 1))[:, None] * W)


def gradient_cosine(G: Array, P: Array) -> Array:
    r"""Cosine :math:`\langle G,P\rangle_F/(\|G\|_F\|P\|_F)` between an empirical and a predicted gradient."""
    _checks.shape("P", P, G.shape)
    return jnp.sum(G * P) / (jnp.linalg.norm(G) * jnp.linalg.norm(P))


# ------------------------------------------------------------------------------- step 2-3: the new features
def first_step(key_bias: Array, params: Params, G: Array, *, eta: float | Array | None = None,
               bias_std: float = 1.0) -> tuple[Array, Array]:
    r"""Steps 2-3 of Algorithm 1 from the first gradient :math:`G = \nabla_W L(\theta^0)` ``(m, d)`` at
    ``params`` (:func:`ghost_gradient`, streamed; or :func:`featlearn.models.first_layer_gradient` on
    materialised data): one step on :math:`W` with weight decay :math:`\lambda_1 = 1/\eta_1`, which forgets
    :math:`W^0`, :math:`W^1 = -\eta_1 G` (:func:`featlearn.models.first_layer_step`), and biases re-drawn,
    :math:`b\sim N(0, s_b^2)` from ``key_bias``, independent of the initial ones. ``eta=None`` picks
    :math:`\eta_1` so that the rows of :math:`W^1` have RMS norm 1 (the scale of the initialisation). Returns
    ``W1`` ``(m, d)``, ``b`` ``(m,)``."""
    _checks.real_in("bias_std", bias_std, 0.0)
    m = G.shape[0]
    if eta is None:
        eta = jnp.sqrt(m / jnp.maximum(jnp.sum(G * G), jnp.finfo(G.dtype).tiny))
    W1 = models.first_layer_step(params, G, eta)["W"]
    return W1, bias_std * rng.normal(key_bias, (m,), G.dtype)


def rf_params(key: Array, d: int, m: int, *, bias_std: float = 1.0) -> Params:
    r"""The random-features baseline's neurons: ``m`` *distinct* rows :math:`w_j\sim N(0,I_d/d)`,
    :math:`b_j\sim N(0,s_b^2)`, :math:`a_j=\pm1` (:func:`featlearn.models.init_params` without the symmetric
    duplication, which would leave only ``m/2`` distinct features). ``{"W": (m, d), "b": (m,), "a": (m,)}``."""
    return init_params(key, d, m, symmetric=False, bias_std=bias_std)


# ------------------------------------------------------------------------------- step 4: the second layer
class OneStepModel(NamedTuple):
    r"""The trained predictor :math:`\hat f(x) = \hat\alpha + \hat\beta\cdot x + \sum_j a_j\sigma(w^1_j\cdot x+b_j)`:
    ``W`` ``(m, d)``, ``b`` ``(m,)``, ``a`` ``(m,)``, the removed ``linear`` part and the ridge ``lam``."""

    W: Array
    b: Array
    a: Array
    linear: LinearPart
    lam: Array


def predict(model: OneStepModel, x: Array) -> Array:
    """:math:`\\hat f(x)` for ``x`` ``(n, d)`` → ``(n,)``."""
    return model.linear(x) + jax.nn.relu(x @ model.W.T + model.b) @ model.a


def head_stats(key: Array, key_val: Array, W: Array, b: Array, linear: LinearPart, target: Target,
               n: Array | int, n_val: int, *, noise_std: float = 0.0, batch: int = 4096) -> ridge.RidgeStats:
    r"""Stream the sufficient statistics (:class:`featlearn.ridge.RidgeStats`) of the second-layer ridge on the
    features :math:`\sigma(Wx+b)` over the first ``n`` rows of ``(key, ·)`` and ``n_val`` rows of
    ``(key_val, ·)``, labels with ``linear`` removed (memory :math:`O(m^2)`)."""
    d = W.shape[1]
    m = W.shape[0]

    def body(acc, x, y, mask):
        gram, v, q = acc
        F = jax.nn.relu(x @ W.T + b) * mask[:, None]
        yc = (y - linear(x)) * mask
        return gram + F.T @ F, v + F.T @ yc, q + jnp.sum(yc * yc)

    z = (jnp.zeros((m, m)), jnp.zeros((m,)), jnp.zeros(()))
    gram, v, _ = data.stream(body, z, key, n, batch=batch, d=d, target=target, noise_std=noise_std)
    gv, vv, qv = data.stream(body, z, key_val, n_val, batch=batch, d=d, target=target, noise_std=noise_std)
    return ridge.RidgeStats(gram / n, v / n, gv / n_val, vv / n_val, qv / n_val)


def streamed_head(key: Array, key_val: Array, W: Array, b: Array, linear: LinearPart, target: Target,
                  n: Array | int, n_val: int, *, noise_std: float = 0.0, batch: int = 4096,
                  rel_lams: Sequence[float] | None = None) -> ridge.RidgeFit:
    r"""Step 4: ridge regression of the second layer, :math:`\min_a\frac1n\|Fa-y\|^2+\lambda\|a\|^2` on the
    features :math:`F = \sigma(Wx+b)` of the first ``n`` rows of ``(key, ·)``, :math:`\lambda` chosen on ``n_val``
    rows of ``(key_val, ·)`` from the grid ``rel_lams`` (default :data:`featlearn.ridge.RIDGE_LAMBDAS`, relative to
    the mean eigenvalue of :math:`F^\top F/n`): :func:`featlearn.ridge.ridge_from_stats` on the streamed
    statistics of :func:`head_stats`. ``coef`` ``(m,)`` is the second layer :math:`a`."""
    return ridge.ridge_from_stats(*head_stats(key, key_val, W, b, linear, target, n, n_val, noise_std=noise_std,
                                              batch=batch), rel_lams=rel_lams)


def normalized_test_error(key: Array, model: OneStepModel, target: Target, n_test: int, *, batch: int = 4096,
                          predictor: Callable[[Array], Array] | None = None, with_se: bool = False
                          ) -> Array | tuple[Array, Array]:
    r"""Normalised test MSE :math:`R = \frac{\mathbb E(\hat f(x) - f^*(x))^2}{\mathrm{Var} f^*(x)}` on ``n_test``
    noise-free rows of ``(key, ·)``, streamed: the *excess* error, 1 for the best constant predictor.
    ``predictor`` overrides ``model``: any ``(n, d) → (n,)`` function, or ``(n, d) → (n, k)`` for ``k``
    predictors scored on the same rows (then the result is ``(k,)``). ``with_se=True`` also returns the standard
    error of :math:`\hat R` over the test rows (delta method, :math:`\mathrm{sd}(e_i^2 - \hat R\,y_i^2)/
    (\sqrt{n}\,\overline{y^2})`, with :math:`e_i` the residuals; the labels' mean is ignored there)."""
    n_test = _checks.positive_int("n_test", n_test, minimum=2)
    pred_fn = (lambda x: predict(model, x)) if predictor is None else predictor
    d = model.W.shape[1] if model is not None else _dim(target, None)
    b = min(batch, n_test)
    shape = jax.eval_shape(pred_fn, jax.ShapeDtypeStruct((b, d), jnp.float32)).shape[1:]

    def body(acc, x, y, mask):
        se, e4, e2y2, s1, s2, y4 = acc
        p = pred_fn(x)
        yy, mm = (y[:, None], mask[:, None]) if p.ndim == 2 else (y, mask)
        e2 = mm * (p - yy) ** 2
        return (se + jnp.sum(e2, axis=0), e4 + jnp.sum(e2 * e2, axis=0), e2y2 + jnp.sum(e2 * yy * yy, axis=0),
                s1 + jnp.sum(mask * y), s2 + jnp.sum(mask * y * y), y4 + jnp.sum(mask * y**4))

    init = (jnp.zeros(shape),) * 3 + (jnp.zeros(()),) * 3
    se, e4, e2y2, s1, s2, y4 = data.stream(body, init, key, n_test, batch=batch, d=d, target=target, noise_std=0.0)
    risk = (se / n_test) / (s2 / n_test - (s1 / n_test) ** 2)
    if not with_se:
        return risk
    # Var(e^2 - R y^2) from its first two moments; R is the ratio of the means of e^2 and y^2.
    q = se / s2
    mom2 = (e4 - 2 * q * e2y2 + q * q * y4) / n_test
    mean = (se - q * s2) / n_test
    return risk, jnp.sqrt(jnp.maximum(mom2 - mean**2, 0.0) / n_test) / (s2 / n_test)


def one_step_fit(key: Array, target: Target, m: int, n: Array | int, *, n_val: int = N_VAL, noise_std: float = 0.0,
                 batch: int = 4096, step: bool = True, eta: float | None = None, bias_std: float = 1.0,
                 params: Params | None = None, rel_lams: Sequence[float] | None = None) -> OneStepModel:
    r"""Algorithm 1 end to end on ``n`` streamed samples of ``target`` (any callable with a ``.d``), width ``m``.

    The same ``n`` rows serve the gradient step and the ridge fit of :math:`a`; ``n_val`` fresh rows choose
    :math:`\lambda`. ``step=False`` is the random-features baseline: the same pipeline with :math:`W^0` in
    place of :math:`W^1`. ``params`` (optional) is the initialisation; by default a symmetric one
    (:func:`featlearn.models.init_params`, :math:`w_j\sim N(0,I_d/d)`, :math:`b_j\sim N(0,1)`, :math:`a_j=\pm1`)
    for the network, and ``m`` distinct neurons (:func:`rf_params`) for random features.
    ``n`` may be traced (then it is the length of a prefix of the stream)."""
    d = _dim(target, None)
    m = _checks.positive_int("m", m, minimum=2)
    batch = _checks.positive_int("batch", batch)
    n_val = _checks.positive_int("n_val", n_val)
    _checks.real_in("noise_std", noise_std, 0.0)
    if isinstance(n, int):
        _checks.positive_int("n", n)
    k_data, k_val, k_init, k_bias = jax.random.split(key, 4)
    if params is not None:
        p0 = params
    elif step:
        p0 = init_params(k_init, d, m, symmetric=True, bias_std=bias_std)
    else:
        p0 = rf_params(k_init, d, m, bias_std=bias_std)
    lin = streamed_linear_part(k_data, n, target, d=d, noise_std=noise_std, batch=batch)
    if step:
        G = ghost_gradient(k_data, p0, target, n, d=d, noise_std=noise_std, batch=batch, linear=lin)
        W, b = first_step(k_bias, p0, G, eta=eta, bias_std=bias_std)
    else:
        W, b = p0["W"], p0["b"]
    head = streamed_head(k_data, k_val, W, b, lin, target, n, n_val, noise_std=noise_std, batch=batch,
                         rel_lams=rel_lams)
    return OneStepModel(W, b, head.coef, lin, head.lam)


def fit_on_data(key: Array, x: Array, y: Array, x_val: Array, y_val: Array, m: int, *,
                weights: Array | None = None, eta: float | None = None, bias_std: float = 1.0,
                rel_lams: Sequence[float] | None = None) -> OneStepModel:
    r"""Algorithm 1 on a materialised data set of any input law (e.g. the hypercube, a Gaussian mixture), width
    ``m``, with per-sample ``weights`` :math:`\omega\ge0` ``(n,)`` (default all 1; a 0/1 mask
    :func:`featlearn.data.first_n_weights` keeps the first ``n`` rows, and may be traced): the steps of
    :func:`one_step_fit` with every empirical mean weighted.

    1. :func:`linear_part` (``"stein"``) of the weighted rows; 2-3. the first gradient
    :func:`featlearn.models.first_layer_gradient` of the weighted square loss of the residual labels at the symmetric
    initialisation, and :func:`first_step` (:math:`W^1 = -\eta_1\nabla_WL`, biases re-drawn); 4. the second layer by
    :func:`featlearn.ridge.ridge` on :math:`\sigma(W^1x+b)` with each row weighted by :math:`\omega` (for a 0/1 mask,
    the ridge on the kept rows alone: the penalty grid is relative to their mean eigenvalue), with
    :math:`\lambda` chosen on ``x_val``, ``y_val`` (labels with the same linear part removed). The keys split as in
    :func:`one_step_fit`, so on the rows of its ghost data set both give the same model up to rounding. Shapes:
    ``x`` ``(n, d)``, ``y`` ``(n,)``, ``x_val`` ``(n_val, d)``, ``y_val`` ``(n_val,)``."""
    n, d = x.shape
    _checks.shape("y", y, (n,))
    _checks.shape("x_val", x_val, (None, d))
    _checks.shape("y_val", y_val, (x_val.shape[0],))
    m = _checks.positive_int("m", m, minimum=2)
    w = jnp.ones((n,), x.dtype) if weights is None else jnp.asarray(weights, x.dtype)
    _checks.shape("weights", w, (n,))
    _, _, k_init, k_bias = jax.random.split(key, 4)  # as in one_step_fit (its data and validation keys unused)
    p0 = init_params(k_init, d, m, symmetric=True, bias_std=bias_std)
    lin = linear_part(x, y, mask=w)
    residual = train.supervised_loss(models.make_apply("relu"), x, y - lin(x), weights=w)
    W, b = first_step(k_bias, p0, models.first_layer_gradient(residual, p0), eta=eta, bias_std=bias_std)
    root = jnp.sqrt(w)  # weighted least squares: rows scaled by the root of their weight
    head = ridge.ridge(jax.nn.relu(x @ W.T + b) * root[:, None], (y - lin(x)) * root,
                       jax.nn.relu(x_val @ W.T + b), y_val - lin(x_val), rel_lams=rel_lams)
    return OneStepModel(W, b, head.coef, lin, head.lam)


# -------------------------------------------------------------------------------------- kernel baselines
def entk_relu(params: Params, X: Array, Y: Array) -> Array:
    r"""The empirical NTK :math:`\langle\nabla_\theta f(x),\nabla_\theta f(y)\rangle` of the network
    :math:`f = m^{-1/2}\sum_j a_j\sigma(w_j\cdot x+b_j)` at ``params`` (all of :math:`W, b, a` trained), in closed
    form: :math:`\frac1m\bigl[\sigma(u)\cdot\sigma(u') + \sum_j a_j^2\sigma'(u_j)\sigma'(u'_j)(x\cdot y+1)\bigr]`
    with :math:`u = Wx+b`. ``X`` ``(n_x, d)``, ``Y`` ``(n_y, d)`` → ``(n_x, n_y)``; memory
    :math:`O((n_x+n_y)m + n_xn_y)` (the Jacobian, :math:`m(d+2)` columns, is never formed)."""
    m = params["W"].shape[0]
    _checks.shape("Y", Y, (None, X.shape[1]))
    u, v = X @ params["W"].T + params["b"], Y @ params["W"].T + params["b"]
    gate_x = (u > 0).astype(X.dtype) * params["a"] ** 2
    gate_y = (v > 0).astype(Y.dtype)
    return (jax.nn.relu(u) @ jax.nn.relu(v).T + (gate_x @ gate_y.T) * (X @ Y.T + 1.0)) / m


def kernel_baselines_run(key: Array, target: Target, m: int, ns: Sequence[int], *, n_val: int = N_VAL,
                         n_test: int = 50_000, noise_std: float = 0.0, batch: int = 4096, bias_std: float = 1.0,
                         rel_lams: Sequence[float] | None = None, kernel_names: Sequence[str] = KERNELS,
                         rank: int = 256, tol: float = 1e-4, maxiter: int = 40) -> dict[str, Array]:
    r"""Normalised test MSE, for each ``n`` in ``ns``, of kernel ridge regression with

    * ``ntk``: the closed-form NTK of the infinite-width network, all layers trained
      (:func:`featlearn.kernels.ntk_relu`);
    * ``nngp``: the closed-form NNGP kernel (:func:`featlearn.kernels.nngp_relu`), the limit of random features
      :math:`\sigma(Wx+b)` as their number :math:`N\to\infty` (second layer trained alone);
    * ``entk``: the empirical NTK (:func:`entk_relu`) of a width-``m`` network with ``m`` distinct neurons
      (:func:`rf_params`: the random-features neurons), all layers trained.

    Same training rows (linear part removed, as for the network), validation rows, test rows and key splitting
    as :func:`one_step_fit` and :func:`learning_curve_run` with the same ``key``. Every kernel is solved by
    :func:`featlearn.ridge.kernel_ridge` with ``solver="cg"`` (preconditioned conjugate gradients, ``rank``
    Nyström landmarks, relative residual ``tol`` or ``maxiter`` iterations per pass) for every :math:`\lambda` in
    ``rel_lams`` (default :data:`featlearn.ridge.RIDGE_LAMBDAS`, relative to the mean eigenvalue of :math:`K/n`),
    and :math:`\lambda` is chosen on the ``n_val`` validation rows. Test predictions are streamed in batches of at
    most 2048 rows.

    Returns ``(K,)`` arrays: the error of each kernel in ``kernel_names``, ``<name>_se`` its standard error over
    the test rows, ``<name>_lambda`` the selected relative :math:`\lambda`; and ``cg_residual`` and
    ``cg_iterations``, the largest over the kernels (the residual at the selected :math:`\lambda`).

    The empirical NTK's predictor is evaluated in its primal form: with :math:`u=Wx+b` and dual weights
    :math:`\alpha`, :math:`\hat f(x) = \sigma(u)\cdot\theta_a + \sum_j a_j^2\sigma'(u_j)(x\cdot\theta_{W,j}+
    \theta_{b,j})`, :math:`\theta_a=\sum_i\alpha_i\sigma(u_i)/m`, :math:`\theta_W=\sum_i\alpha_i\sigma'(u_i)
    x_i^\top/m`, :math:`\theta_b = \sum_i\alpha_i\sigma'(u_i)/m`."""
    from . import kernels

    d = _dim(target, None)
    m = _checks.positive_int("m", m)
    ns = tuple(_checks.positive_int("ns", int(c), minimum=2) for c in ns)
    if not ns:
        raise ValueError("ns must name at least one sample size")
    n_val = _checks.positive_int("n_val", n_val)
    kernel_names = tuple(_checks.one_of("kernel_names", k, KERNELS) for k in kernel_names)
    if not kernel_names:
        raise ValueError(f"kernel_names must name at least one of {KERNELS}")
    k_data, k_val, k_init, _ = jax.random.split(key, 4)
    k_test = jax.random.fold_in(key, 7)
    p = rf_params(k_init, d, m, bias_std=bias_std)
    bias_var = bias_std**2
    xv, yv = data.ghost_rows(k_val, 0, n_val, d, target, noise_std)
    closed = {"ntk": lambda a, b: kernels.ntk_relu(a, b, bias_var=bias_var),
              "nngp": lambda a, b: kernels.nngp_relu(a, b, bias_var=bias_var)}

    def acts(z):
        u = z @ p["W"].T + p["b"]
        return jax.nn.relu(u), (u > 0).astype(z.dtype)

    out = {k: [] for k in (*kernel_names, *(f"{k}_{s}" for k in kernel_names for s in ("se", "lambda")),
                           "cg_residual", "cg_iterations")}
    for n in ns:  # a Python loop: each n has its own kernel shape
        x, y = data.ghost_rows(k_data, 0, n, d, target, noise_std)
        lin = linear_part(x, y)
        yc, yvc = y - lin(x), yv - lin(xv)
        kfns = [closed[name] if name in closed else (lambda a, b: entk_relu(p, a, b)) for name in kernel_names]
        # One solver for all kernels (vmapped over the stacked Gram matrices): one copy to compile per n.
        fits = jax.vmap(lambda K, Kv, yc=yc, yvc=yvc: ridge.kernel_ridge(K, yc, Kv, yvc, rel_lams=rel_lams, solver="cg",
                                                                        rank=rank, tol=tol, maxiter=maxiter))(
            jnp.stack([kf(x, x) for kf in kfns]), jnp.stack([kf(xv, x) for kf in kfns]))
        coef = {name: fits.coef[i] for i, name in enumerate(kernel_names)}
        for i, name in enumerate(kernel_names):
            out[f"{name}_lambda"].append(fits.rel_lam[i])
        out["cg_residual"].append(jnp.max(jnp.take_along_axis(fits.residual, fits.best[:, None], axis=1)))
        out["cg_iterations"].append(jnp.max(fits.iterations))
        theta = None
        if "entk" in coef:
            s, g = acts(x)
            al = coef["entk"]
            theta = (s.T @ al / m, (g * al[:, None]).T @ x / m, g.T @ al / m)

        def predictor(z, x=x, lin=lin, coef=coef, theta=theta):
            cols = []
            for name in kernel_names:
                if name == "entk":
                    th_a, th_W, th_b = theta
                    sz, gz = acts(z)
                    gz = gz * p["a"] ** 2
                    cols.append(sz @ th_a + jnp.sum(gz * (z @ th_W.T + th_b), axis=1))
                else:
                    cols.append(closed[name](z, x) @ coef[name])
            return lin(z)[:, None] + jnp.stack(cols, axis=1)

        errs, ses = normalized_test_error(k_test, None, target, n_test, batch=min(batch, 2048), predictor=predictor,
                                          with_se=True)
        for i, name in enumerate(kernel_names):
            out[name].append(errs[i])
            out[f"{name}_se"].append(ses[i])
    return {k: jnp.stack(v) for k, v in out.items()}


def doubling_checkpoints(d: int, top: int) -> tuple[int, ...]:
    r"""Sample sizes for a gradient path: :math:`d/2, d, 2d, 4d, \dots` (each ``int(d·2^k) // 2``) up to
    ``top``·d², and ``top``·d² itself; sorted, no repeats."""
    d = _checks.positive_int("d", d)
    top = _checks.positive_int("top", top)
    ns = [d * 2**k // 2 for k in range(64) if d * 2**k // 2 <= top * d * d]
    return tuple(sorted({n for n in ns if n > 0} | {top * d * d}))


def excess_alignment(v, r: int, d: int):
    r"""An alignment (or overlap) ``v`` with an ``r``-dimensional subspace of :math:`\mathbb R^d`, measured
    above its value for random directions, :math:`r/d`, and rescaled so that 1 stays 1: :math:`(v - r/d)/(1 - r/d)`.
    Works on arrays elementwise."""
    r = _checks.positive_int("r", r)
    d = _checks.positive_int("d", d)
    if r >= d:
        raise ValueError(f"r must be smaller than d = {d}, got {r}")
    return (v - r / d) / (1 - r / d)


# ------------------------------------------------------------------------- experiments (one seed each)
def gradient_path_run(key: Array, target: targets.MultiIndexTarget, m: int, checkpoints: Sequence[int], *,
                      noise_std: float = 0.0, batch: int = 4096, bias_std: float = 1.0) -> dict[str, Array]:
    r"""The first gradient on nested prefixes of one ghost data set, for every ``n`` in ``checkpoints``.

    Returns ``(K,)`` arrays: ``cosine`` between the empirical gradient and :func:`predicted_gradient`;
    ``alignment``, the per-neuron alignment :math:`A = \|W^1U^\top\|_F^2/\|W^1\|_F^2` (random rows: r/d);
    ``top_overlap``, the overlap of the top-r right singular subspace of :math:`W^1` with span(U). The sample
    sizes run one after another (``lax.map``) inside one compiled program; each is a fresh two-pass computation
    (linear part, then gradient) on its own prefix."""
    checkpoints = tuple(_checks.positive_int("checkpoints", int(c)) for c in checkpoints)
    if not checkpoints:
        raise ValueError("checkpoints must name at least one sample size")
    d = target.d
    k_data, k_init = jax.random.split(key)
    p0 = init_params(k_init, d, m, symmetric=True, bias_std=bias_std)
    P = predicted_gradient(p0, expected_hessian(target))
    U = target.U

    Gs = lax.map(lambda n: ghost_gradient(k_data, p0, target, n, d=d, noise_std=noise_std, batch=batch),
                 jnp.asarray(checkpoints))  # (K, m, d); the SVDs run outside the loop (faster on a CPU)
    cos = jax.vmap(gradient_cosine, (0, None))(Gs, P)
    align = jax.vmap(metrics.subspace_alignment, (0, None))(Gs, U)
    top = jax.vmap(metrics.top_subspace_overlap, (0, None))(Gs, U)
    return {"cosine": cos, "alignment": align, "top_overlap": top}


def learning_curve_run(key: Array, target: targets.MultiIndexTarget, m: int, ns: Sequence[int], *, n_val: int = N_VAL,
                       n_test: int = 50_000, noise_std: float = 0.0, batch: int = 4096) -> dict[str, Array]:
    r"""Normalised test MSE of Algorithm 1 (``network``, width ``m`` at the symmetric initialisation) and of random
    features (``rf``: the same pipeline without the step, on ``m`` distinct neurons from :func:`rf_params`; same
    rows, validation and test set), their standard errors over the test rows (``network_se``, ``rf_se``), and the
    network's per-neuron ``alignment``, for each ``n`` in ``ns`` (nested prefixes of one stream, one compiled
    program). ``(K,)`` arrays."""
    ns = tuple(_checks.positive_int("ns", int(c)) for c in ns)
    if not ns:
        raise ValueError("ns must name at least one sample size")
    d = target.d
    k_data, k_val, k_init, k_bias = jax.random.split(key, 4)  # as in one_step_fit
    k_test = jax.random.fold_in(key, 7)
    p0 = init_params(k_init, d, m, symmetric=True)
    prf = rf_params(k_init, d, m)

    def one(n):
        lin = streamed_linear_part(k_data, n, target, noise_std=noise_std, batch=batch)
        W, b = first_step(k_bias, p0, ghost_gradient(k_data, p0, target, n, noise_std=noise_std, batch=batch,
                                                     linear=lin))
        feats = [(W, b), (prf["W"], prf["b"])]
        heads = [streamed_head(k_data, k_val, Wf, bf, lin, target, n, n_val, noise_std=noise_std, batch=batch).coef
                 for Wf, bf in feats]

        def predictor(z):  # both models on the same test rows, one pass
            return lin(z)[:, None] + jnp.stack([jax.nn.relu(z @ Wf.T + bf) @ a
                                                for (Wf, bf), a in zip(feats, heads, strict=True)], axis=1)

        err, se = normalized_test_error(k_test, None, target, n_test, batch=batch, predictor=predictor, with_se=True)
        return {"network": err[0], "rf": err[1], "network_se": se[0], "rf_se": se[1],
                "alignment": metrics.subspace_alignment(W, target.U)}

    # The sample sizes run one after another (lax.map) in one compiled program: one copy of the pipeline,
    # whatever the number of sizes (a Python loop would trace and compile it once per size).
    return lax.map(one, jnp.asarray(ns))


def transfer_run(key: Array, source: targets.MultiIndexTarget, target: targets.MultiIndexTarget, m: int,
                 n_source: int, n_target: int, *, n_val: int = N_VAL, n_test: int = 50_000, batch: int = 4096
                 ) -> dict[str, Array]:
    r"""Transfer learning. Learn :math:`W^1, b` by Algorithm 1's step on ``n_source`` samples of ``source``;
    then fit only the second layer (and the linear part) on ``n_target`` samples of ``target`` (which must share
    ``U``). Returns the normalised test MSE on ``target`` of ``transfer``; of ``scratch`` (Algorithm 1 run on the
    ``n_target`` target samples alone, from the same initialisation); of ``rf`` (random features on ``m`` distinct
    neurons, :func:`rf_params`, on the same samples); and the source features' ``alignment``. The three share one
    test set."""
    if source.U.shape != target.U.shape:
        raise ValueError(f"target must share U with source: shapes {target.U.shape} and {source.U.shape}")
    d = source.d
    k_src, k_tgt, k_init, k_bias = jax.random.split(key, 4)
    k_test = jax.random.fold_in(key, 7)
    p0 = init_params(k_init, d, m, symmetric=True)
    lin_s = streamed_linear_part(k_src, n_source, source, batch=batch)
    W, b = first_step(k_bias, p0, ghost_gradient(k_src, p0, source, n_source, batch=batch, linear=lin_s))
    # The target rows and validation rows are those one_step_fit(k_tgt, ...) uses for the baselines below.
    kt_data, kt_val, _, _ = jax.random.split(k_tgt, 4)
    lin = streamed_linear_part(kt_data, n_target, target, batch=batch)
    head = streamed_head(kt_data, kt_val, W, b, lin, target, n_target, n_val, batch=batch)
    fits = (OneStepModel(W, b, head.coef, lin, head.lam),
            one_step_fit(k_tgt, target, m, n_target, n_val=n_val, batch=batch, params=p0),
            one_step_fit(k_tgt, target, m, n_target, n_val=n_val, batch=batch, step=False))  # m distinct neurons
    err = normalized_test_error(k_test, None, target, n_test, batch=batch,
                                predictor=lambda z: jnp.stack([predict(f, z) for f in fits], axis=1))
    return {"transfer": err[0], "scratch": err[1], "rf": err[2], "alignment": metrics.subspace_alignment(W, source.U)}
