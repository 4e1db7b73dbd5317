r"""Gradient feature learning (Shi, Wei & Liang 2023): the two-stage algorithm and its observables.

The network is :math:`f(x) = \sum_{i=1}^m a_i\,\sigma(w_i\cdot x + b_i)`, :math:`\sigma=\mathrm{ReLU}`, with the
symmetric initialisation of :func:`featlearn.models.init_params` (so :math:`f\equiv0`) and the hinge loss
:math:`\ell(z)=\max(0,1-z)`. (The paper writes :math:`\sigma(\langle w,x\rangle - b)`; the library's bias is
minus the paper's.)

* **Simplified gradient** :math:`G(w,b) = \mathbb E[y\,x\,\mathbb 1[w\cdot x + b > 0]]` (:func:`simplified_gradient`).
  At the symmetric initialisation :math:`\ell'(y f(x)) = -1` for every sample, so
  :math:`\nabla_{w_i}L = -a_i\,G(w_i,b_i)`.
* **Step 1** (:func:`first_step`): one gradient step on :math:`W` with rate :math:`\eta_1` and weight decay
  :math:`\lambda_1 = 1/\eta_1`, biases fixed: :math:`w_i^{(1)} = w_i^{(0)} - \eta_1(\nabla_{w_i}L + \lambda_1 w_i^{(0)})
  = \eta_1 a_i G(w_i,b_i)`. The initial weights are forgotten; each neuron now points along its gradient feature.
* **Stage 2** (:func:`train_second_layer`): :math:`W^{(1)}, b` frozen, the second layer trained from 0 by gradient
  descent on the hinge loss with a small weight decay :math:`\lambda_2` (a convex problem).
* **Gradient feature set** :math:`S_{p,\gamma,B_G}`: unit directions :math:`D` hit by :math:`G(w,b)/\|G(w,b)\|`
  within the cone :math:`\cos > 1-\gamma` (and :math:`\|G\|\ge B_G`) with probability at least :math:`p` over the
  initialisation. :func:`gradient_feature_fraction` measures that probability on a finite network.

Every function is pure; the ``*_run`` functions are one seed of one experiment of the chapter, written to be
swept over seeds and hyperparameters with :func:`featlearn.sweeps.sweep`. Sample sizes are traced where
possible: data are drawn at ``n_max`` and the first ``n`` samples carry weight 1, the rest 0, so a grid over
``n`` is one compiled program (and larger ``n`` extend the same sample). The chapter's sizes, sections and
figures are in :mod:`featlearn.chapters.gradient_features`.

Baselines: **random features** (:func:`random_features_init`: :math:`m` distinct random neurons, the same stage 2)
and the **NTK** (:func:`featlearn.kernels.ntk_classifier`: closed-form kernel ridge with the NTK of the same
architecture, trained biases included, :math:`\lambda` by exact leave-one-out; the class is the sign of the ridge
prediction).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import Array

from . import _checks, agop, data, kernels, metrics, models, rng, targets, train

# ---------------------------------------------------------------------------------------------------------------
# The algorithm


#: The losses of the two stages: the paper's hinge loss (labels in ``{±1}``) and the square loss (real labels).
STAGE_LOSSES = ("hinge", "mse")


def _weights(n: int, weights: Array | None, dtype) -> Array:
    return jnp.ones((n,), dtype) if weights is None else jnp.asarray(weights, dtype)


def simplified_gradient(W: Array, b: Array, x: Array, y: Array, weights: Array | None = None) -> Array:
    r"""Empirical simplified gradient :math:`\hat G(w_i,b_i) = \sum_j \omega_j y_j x_j\mathbb 1[w_i\cdot x_j+b_i>0]
    / \sum_j\omega_j` for every neuron. Shapes: ``W`` ``(m, d)``, ``b`` ``(m,)``, ``x`` ``(n, d)``, ``y``
    ``(n,)``, ``weights`` :math:`\omega` ``(n,)`` (default all 1) → ``(m, d)``."""
    n, d = x.shape
    _checks.shape("W", W, (None, d))
    _checks.shape("b", b, (W.shape[0],))
    _checks.shape("y", y, (n,))
    w = _weights(n, weights, x.dtype)
    fire = (x @ W.T + b > 0).astype(x.dtype)  # (n, m)
    return (fire * (w * y)[:, None]).T @ x / jnp.sum(w)


def hinge_loss(params: models.Params, x: Array, y: Array, weights: Array | None = None) -> Array:
    r"""Weighted mean hinge loss :math:`\sum_j\omega_j\max(0, 1-y_jf(x_j))/\sum_j\omega_j` of the network."""
    return train.loss_value(models.apply(params, x), y, "hinge", weights)


def first_step(params: models.Params, x: Array, y: Array, eta1: float | Array, weights: Array | None = None,
               weight_decay: float | Array | None = None, *, loss: str = "hinge") -> models.Params:
    r"""Step 1 of the two-stage algorithm: :math:`W^{(1)} = W^{(0)} - \eta_1(\nabla_W L(W^{(0)}) + \lambda_1W^{(0)})`
    (:func:`featlearn.models.first_layer_step`), with :math:`\nabla_W L` by automatic differentiation of the
    weighted hinge loss (:func:`hinge_loss`, per-sample ``weights``); ``b`` and ``a`` are unchanged.
    ``weight_decay=None`` is the paper's choice :math:`\lambda_1 = 1/\eta_1`, for which the initial weights cancel
    exactly and :math:`W^{(1)} = -\eta_1\nabla_WL`; at a symmetric initialisation this is
    :math:`\eta_1 a_i\hat G(w_i,b_i)` row by row. ``loss="mse"`` takes the gradient of the weighted
    :math:`\tfrac12` square loss instead (for real-valued labels; at a symmetric initialisation, where
    :math:`f\equiv0`, it is the same step: :math:`\nabla_{w_i}L = -a_i\hat G(w_i,b_i)` for both)."""
    _checks.real_in("eta1", eta1, 0.0, low_open=True)
    _checks.one_of("loss", loss, STAGE_LOSSES)
    if weight_decay is not None:
        _checks.real_in("weight_decay", weight_decay, 0.0)
    if loss == "hinge":
        gW = models.first_layer_gradient(lambda p: hinge_loss(p, x, y, weights), params)
    else:
        gW = models.first_layer_gradient(lambda p: train.loss_value(models.apply(p, x), y, "mse", weights), params)
    return models.first_layer_step(params, gW, eta1, weight_decay=weight_decay)


def train_second_layer(Phi: Array, y: Array, *, steps: int = 300, lr: float | Array = 1.0,
                       weight_decay: float | Array = 1e-4, weights: Array | None = None,
                       momentum: float = 0.9, loss: str = "hinge") -> Array:
    r"""Stage 2: gradient descent from :math:`a=0` on the convex objective
    :math:`\sum_j\omega_j\max(0,1-y_j\,\Phi_j\cdot a)/\sum_j\omega_j + \tfrac{\lambda_2}{2}\bar s\,\|a\|^2`, where
    :math:`\Phi_j = \sigma(W^{(1)}x_j+b)` are the frozen features ``(n, m)`` and
    :math:`\bar s = \sum_j\omega_j\|\Phi_j\|^2/\sum_j\omega_j` their mean squared norm. The step is
    :math:`\eta_2/\bar s` (``lr`` is :math:`\eta_2`), so the run does not depend on the scale of the features,
    with Nesterov momentum ``momentum`` (0 is plain gradient descent; the features of a trained first layer are
    strongly correlated, and momentum reaches a small loss in far fewer steps).

    Run by :func:`featlearn.train.fit` (optax's Nesterov, ``"nesterov"``) on the objective divided by
    :math:`\bar s`: the weighted hinge risk of :func:`featlearn.train.supervised_loss` over :math:`\bar s`, plus
    :math:`\lambda_2` times :math:`\tfrac12\|a\|^2`. Returns its last iterate :math:`a` ``(m,)`` (optax's
    Nesterov iterate: the look-ahead point :math:`a_T+\mu v_T` of the textbook recursion; see
    :func:`featlearn.train.make_optimizer`). ``loss="mse"``: the weighted :math:`\tfrac12` square loss in place of
    the hinge loss (for real-valued labels), the rest unchanged."""
    steps = _checks.positive_int("steps", steps)
    _checks.one_of("loss", loss, STAGE_LOSSES)
    _checks.real_in("lr", lr, 0.0, low_open=True)
    _checks.real_in("weight_decay", weight_decay, 0.0)
    _checks.real_in("momentum", momentum, 0.0, 1.0, high_open=True)
    n, m = Phi.shape
    _checks.shape("y", y, (n,))
    w = _weights(n, weights, Phi.dtype)
    s = jnp.maximum(jnp.sum(w * jnp.sum(Phi * Phi, axis=1)) / jnp.sum(w), jnp.finfo(Phi.dtype).tiny)
    risk = train.supervised_loss(lambda p, F: F @ p["a"], Phi, y, loss=loss, weights=w)
    p, _ = train.fit({"a": jnp.zeros((m,), Phi.dtype)}, lambda p: risk(p) / s, steps=steps, lr=lr,
                     optimizer="nesterov", momentum=momentum, lam=weight_decay)
    return p["a"]


class TwoStage(NamedTuple):
    """The three networks of one run of :func:`two_stage`: at ``init``, after ``step1`` (second layer still the
    initial one) and ``final`` (after stage 2). Each is a params dict ``{"W", "b", "a"}``."""

    init: models.Params
    step1: models.Params
    final: models.Params


def two_stage(params: models.Params, x: Array, y: Array, *, eta1: float | Array = 1.0, steps: int = 300,
              lr: float | Array = 1.0, weight_decay: float | Array = 1e-4, weights: Array | None = None,
              learn_features: bool = True, loss: str = "hinge") -> TwoStage:
    r"""The two-stage algorithm: :func:`first_step` (skipped when ``learn_features=False``, which gives the
    random-features baseline with :math:`W` frozen at its initialisation) then :func:`train_second_layer` on
    :math:`\sigma(W^{(1)}x+b)`, both on ``loss`` (the paper's ``"hinge"``, or ``"mse"`` for real-valued labels).
    ``params`` should be a symmetric initialisation."""
    p1 = first_step(params, x, y, eta1, weights, loss=loss) if learn_features else params
    a = train_second_layer(models.features(p1, x), y, steps=steps, lr=lr, weight_decay=weight_decay,
                           weights=weights, loss=loss)
    return TwoStage(params, p1, {**p1, "a": a})


def linear_baseline(x: Array, y: Array, x_test: Array, *, steps: int = 300, lr: float | Array = 1.0,
                    weight_decay: float | Array = 1e-4, weights: Array | None = None) -> Array:
    r"""A linear classifier :math:`\mathrm{sign}(\theta\cdot x+c)` trained by the same stage-2 routine (hinge
    loss, small weight decay) on the features :math:`[x, 1]`; returns its predictions on ``x_test``."""
    one = jnp.ones((x.shape[0], 1), x.dtype)
    theta = train_second_layer(jnp.concatenate([x, one], 1), y, steps=steps, lr=lr, weight_decay=weight_decay,
                               weights=weights)
    return x_test @ theta[:-1] + theta[-1]


def random_features_init(key: Array, d: int, m: int, *, bias_std: float = 1.0) -> models.Params:
    r"""The random-features baseline's first layer: :math:`m` *distinct* random neurons
    :math:`w_i\sim N(0,I_d/d)`, :math:`b_i\sim N(0,s_b^2)` (not the symmetric initialisation, whose mirrored
    pairs would give only :math:`m/2` distinct features). Stage 2 trains :math:`a` from 0, so :math:`f\equiv0`
    at the start is not needed. Returns params ``{"W": (m, d), "b": (m,), "a": (m,)}``."""
    return models.init_params(key, d, m, symmetric=False, bias_std=bias_std)


# ---------------------------------------------------------------------------------------------------------------
# Observables


def cone_fraction(W: Array, D: Array, gamma: float | Array) -> Array:
    r"""For each unit direction :math:`D_k` (rows of ``D`` ``(K, d)``), the fraction of rows :math:`w_i` of ``W``
    ``(m, d)`` with :math:`\cos(w_i, D_k) > 1-\gamma`: ``(K,)``."""
    _checks.shape("D", D, (None, W.shape[1]))
    _checks.real_in("gamma", gamma, 0.0, 2.0, low_open=True)
    Wn = W / jnp.maximum(jnp.linalg.norm(W, axis=1, keepdims=True), jnp.finfo(W.dtype).tiny)
    Dn = D / jnp.linalg.norm(D, axis=1, keepdims=True)
    return jnp.mean(Wn @ Dn.T > 1.0 - gamma, axis=0)


def gradient_feature_fraction(params: models.Params, x: Array, y: Array, D: Array, gamma: float | Array, *,
                              B_G: float | Array = 0.0, weights: Array | None = None) -> Array:
    r"""The empirical gradient feature set of a network: for each ground-truth direction :math:`D_k`, the
    fraction of neurons whose step-1 direction :math:`\mathrm{sign}(a_i)\hat G(w_i,b_i)` lies in the cone
    :math:`\cos > 1-\gamma` around :math:`D_k` and has :math:`\|\hat G\|\ge B_G`. At a random initialisation this
    estimates the probability :math:`p` of the definition of :math:`S_{p,\gamma,B_G}`. ``(K,)``."""
    _checks.real_in("B_G", B_G, 0.0)
    G = jnp.sign(params["a"])[:, None] * simplified_gradient(params["W"], params["b"], x, y, weights)
    big = jnp.linalg.norm(G, axis=1) >= B_G
    Gn = G / jnp.maximum(jnp.linalg.norm(G, axis=1, keepdims=True), jnp.finfo(G.dtype).tiny)
    _checks.shape("D", D, (None, G.shape[1]))
    _checks.real_in("gamma", gamma, 0.0, 2.0, low_open=True)
    Dn = D / jnp.linalg.norm(D, axis=1, keepdims=True)
    return jnp.mean((Gn @ Dn.T > 1.0 - gamma) & big[:, None], axis=0)


class StepOnePrediction(NamedTuple):
    r"""What the theory predicts for the rows :math:`w_i^{(1)} = \eta_1a_i\hat G_i` of step 1 on :math:`n`
    samples: ``in_span`` :math:`\mathbb E\|P_U\hat G_i\|^2` and ``total`` :math:`\mathbb E\|\hat G_i\|^2`,
    each ``(m,)``, and the neurons' squared second-layer weights ``a2`` ``(m,)``."""

    in_span: Array
    total: Array
    a2: Array

    @property
    def mass(self) -> Array:
        r"""Predicted :math:`\|W^{(1)}U^\top\|_F^2/\|W^{(1)}\|_F^2` (compare
        :func:`featlearn.metrics.subspace_alignment`)."""
        return jnp.sum(self.a2 * self.in_span) / jnp.sum(self.a2 * self.total)

    @property
    def neuron(self) -> Array:
        r"""Predicted per-neuron alignment, :math:`\mathbb E\|P_U\hat G_i\|^2/\mathbb E\|\hat G_i\|^2`
        ``(m,)`` (compare :func:`featlearn.metrics.neuron_alignment` with ``squared=True``; a ratio of
        expectations, accurate to :math:`O(1/d)`)."""
        return jnp.where(self.total > 0, self.in_span / jnp.where(self.total > 0, self.total, 1.0), 0.0)


def predicted_alignment(params: models.Params, x_pop: Array, y_pop: Array, U: Array,
                        n: int | Array) -> StepOnePrediction:
    r"""The theory of step 1 at finite :math:`n`. At the symmetric initialisation step 1 sets
    :math:`w_i^{(1)} = \eta_1a_i\hat G_i`, where :math:`\hat G_i` is the mean of :math:`n` independent copies of
    :math:`g_i = y\,x\,\mathbb 1[w_i\cdot x+b_i>0]`: the population gradient :math:`G_i` plus a noise of mean 0
    and covariance :math:`(\mathbb E[g_ig_i^\top]-G_iG_i^\top)/n`. Hence

    .. math::
       \mathbb E\|P_U\hat G_i\|^2 = \|P_UG_i\|^2 + \frac{\mathbb E\|P_Ug_i\|^2-\|P_UG_i\|^2}{n},

    and the same without :math:`P_U`. :math:`G_i` and :math:`\mathbb E\|P_Ug_i\|^2` are estimated on the
    ``n_pop`` samples ``x_pop``, ``y_pop`` (independent of the training set), and the
    :math:`1/n_{\rm pop}` noise of :math:`\|P_U\hat G^{\rm pop}_i\|^2` is removed the same way. Shapes:
    ``x_pop`` ``(n_pop, d)``, ``y_pop`` ``(n_pop,)``, ``U`` ``(r, d)`` orthonormal rows; ``n`` may be traced."""
    n_pop, d = x_pop.shape
    _checks.shape("y_pop", y_pop, (n_pop,))
    _checks.shape("U", U, (None, d))
    _checks.real_in("n", n, 0.0, low_open=True)
    fire = (x_pop @ params["W"].T + params["b"] > 0).astype(x_pop.dtype)  # (n_pop, m)
    G = simplified_gradient(params["W"], params["b"], x_pop, y_pop)  # (m, d)
    y2 = y_pop * y_pop
    sq_total = fire.T @ (y2 * jnp.sum(x_pop * x_pop, axis=1)) / n_pop  # E||g_i||^2, (m,)
    sq_span = fire.T @ (y2 * jnp.sum((x_pop @ U.T) ** 2, axis=1)) / n_pop  # E||P g_i||^2
    G_total = jnp.sum(G * G, axis=1)
    G_span = jnp.sum((G @ U.T) ** 2, axis=1)
    c = 1.0 / n - 1.0 / n_pop
    return StepOnePrediction(G_span + c * (sq_span - G_span), G_total + c * (sq_total - G_total),
                             params["a"] ** 2)


def weighted_error(pred: Array, y: Array, mask: Array) -> Array:
    """0-1 error of ``sign(pred)`` on the samples where ``mask`` is true."""
    mask = mask.astype(pred.dtype)
    return jnp.sum(mask * (jnp.sign(pred) != y)) / jnp.maximum(jnp.sum(mask), 1.0)


def opt_network(directions: Array, biases: Array, x: Array, y: Array, *, scale: float = 1.0, steps: int = 300,
                lr: float | Array = 1.0, weight_decay: float | Array = 1e-4) -> models.Params:
    r"""An estimate of OPT's network: the gradient-feature-induced network whose :math:`r = K\cdot B` neurons are
    :math:`\sigma(c\,D_k\cdot x + \beta)` for the ground-truth directions :math:`D_k` (rows of ``directions``,
    normalised) and each bias :math:`\beta` in ``biases`` (``(B,)``), with :math:`c` = ``scale``; the second layer
    is fitted by the stage-2 routine (hinge loss, small weight decay) on ``x``, ``y``. Returns its params."""
    Dn = directions / jnp.linalg.norm(directions, axis=1, keepdims=True)
    K, B = Dn.shape[0], biases.shape[0]
    W = scale * jnp.repeat(Dn, B, axis=0)
    b = jnp.tile(biases, K)
    p = {"W": W, "b": b, "a": jnp.zeros((K * B,), x.dtype)}
    a = train_second_layer(models.features(p, x), y, steps=steps, lr=lr, weight_decay=weight_decay)
    return {**p, "a": a}


def prune_scores(params: models.Params) -> Array:
    r"""Magnitude score of each neuron, :math:`|a_i|\,\|w_i\|`: ``(m,)``."""
    return jnp.abs(params["a"]) * jnp.linalg.norm(params["W"], axis=1)


def top_mask(scores: Array, r: int | Array) -> Array:
    """Boolean mask of the ``r`` largest scores (ties broken by index); ``r`` may be traced."""
    rank = jnp.argsort(jnp.argsort(-scores, stable=True), stable=True)
    return rank < r


def random_mask(key: Array, m: int, r: int | Array) -> Array:
    """Boolean mask of ``r`` neurons out of ``m`` drawn uniformly without replacement; ``r`` may be traced."""
    return top_mask(jax.random.uniform(key, (m,)), r)


def retrain_subset(step1: models.Params, mask: Array, x: Array, y: Array, *, steps: int = 300,
                   lr: float | Array = 1.0, weight_decay: float | Array = 1e-4) -> models.Params:
    r"""Lottery-ticket retraining: keep the neurons in ``mask`` (with their step-1 weights :math:`W^{(1)}`, b),
    rewind the second layer to its stage-2 start :math:`a=0` and rerun stage 2 on them alone."""
    Phi = models.features(step1, x) * mask.astype(x.dtype)[None, :]
    a = train_second_layer(Phi, y, steps=steps, lr=lr, weight_decay=weight_decay)
    return {**step1, "a": a * mask}


# ---------------------------------------------------------------------------------------------------------------
# Data for the simplicity-bias section


def linear_plus_xor(key: Array, n: int, d: int, *, linear_margin: float | Array = 1.5, mu_norm: float = 3.0,
                    noise_std: float = 1.0, dtype=jnp.float32) -> tuple[Array, Array, Array, Array]:
    r"""Data with two predictive features: a **linear** one, :math:`x_1 = c\,y + \xi_1` (``linear_margin`` c), and
    an **XOR** one, :math:`(x_2,x_3) = \pm\mu_y + (\xi_2,\xi_3)` with :math:`\mu_{+1}=\|\mu\|e_1`,
    :math:`\mu_{-1}=\|\mu\|e_2` in the plane of coordinates 2, 3 (as :func:`featlearn.data.xor_mixture`), and
    the other coordinates pure noise :math:`N(0,\sigma^2)`. ``linear_margin=0`` removes the linear feature.

    Returns ``x`` ``(n, d)``, ``y`` ``(n,)``, ``u_linear`` ``(1, d)`` and ``U_xor`` ``(2, d)`` (orthonormal rows)."""
    d = _checks.positive_int("d", d, minimum=3)
    _checks.real_in("linear_margin", linear_margin, 0.0)
    k1, k2 = jax.random.split(key)
    xx, y, _ = data.xor_mixture(k1, n, d - 1, mu_norm=mu_norm, noise_std=noise_std, dtype=dtype)
    x1 = linear_margin * y + noise_std * rng.normal(k2, (n,), dtype)
    x = jnp.concatenate([x1[:, None], xx], axis=1)
    eye = jnp.eye(3, d, dtype=dtype)
    return x, y, eye[:1], eye[1:3]


def shuffle_columns(key: Array, x: Array, cols: Array) -> Array:
    """``x`` with the coordinates ``cols`` (a boolean mask ``(d,)``) permuted jointly across samples, which keeps
    their marginal law and breaks their link to the label."""
    perm = jax.random.permutation(key, x.shape[0])
    return jnp.where(cols[None, :], x[perm], x)


# ---------------------------------------------------------------------------------------------------------------
# One seed of each section


def _xor_data(key: Array, n_max: int, d: int, mu_norm: float, n_test: int, n_pop: int):
    kd, kt, kp, kg = jax.random.split(key, 4)
    x, y, mus = data.xor_mixture(kd, n_max, d, mu_norm=mu_norm)
    xt, yt, _ = data.xor_mixture(kt, n_test, d, mu_norm=mu_norm)
    xg, yg, _ = data.xor_mixture(kg, n_pop, d, mu_norm=mu_norm)
    return x, y, mus, xt, yt, xg, yg, kp


def xor_run(key: Array, n: int | Array, *, d: int, m: int, n_max: int, mu_norm: float = 3.0,
            eta1: float = 1.0, steps: int = 300, lr: float = 1.0, weight_decay: float = 1e-4,
            gamma: float = 0.2, n_test: int = 2000, n_pop: int = 10000) -> dict:
    r"""Mixture of Gaussians (XOR-like), one seed, ``n`` of ``n_max`` samples used. Returns

    * ``err_net``, ``err_rf``, ``err_linear``: test 0-1 errors of the two-stage network, of random features
      (:func:`random_features_init`, :math:`m` distinct neurons, same stage 2) and of a linear classifier;
      ``hinge_net``: the network's test hinge loss (the NTK baseline is :func:`xor_kernel_run`);
    * ``mass_init``, ``mass_step1``: fraction of :math:`\|W\|_F^2` in span(μ₁, μ₂) before and after step 1
      (random rows: 2/d); ``mass_pred``: what :func:`predicted_alignment` predicts for ``mass_step1``
      (population gradient plus the sampling noise of ``n`` samples);
    * ``gfs``: the empirical gradient feature set at the initialisation: the fraction of neurons whose step-1
      direction :math:`\mathrm{sign}(a_i)G(w_i,b_i)`, with :math:`G` estimated on ``n_pop`` fresh samples, is
      within the γ-cone of one of :math:`\pm\mu_1/\|\mu\|,\pm\mu_2/\|\mu\|` (summed over the four);
      ``gfs_rows_step1``: the fraction of rows of :math:`W^{(1)}` (built from the ``n`` training samples) in
      those cones."""
    x, y, mus, xt, yt, xg, yg, kp = _xor_data(key, n_max, d, mu_norm, n_test, n_pop)
    w = data.first_n_weights(n, n_max, dtype=x.dtype)
    p0 = models.init_params(kp, d, m, symmetric=True)
    kw = dict(steps=steps, lr=lr, weight_decay=weight_decay, weights=w)
    net = two_stage(p0, x, y, eta1=eta1, **kw)
    rf = two_stage(random_features_init(jax.random.fold_in(kp, 1), d, m), x, y, learn_features=False, **kw)
    U = mus / mu_norm
    D = jnp.concatenate([U, -U])
    pred = models.apply(net.final, xt)
    return {
        "err_net": metrics.classification_error(pred, yt),
        "hinge_net": jnp.mean(jax.nn.relu(1.0 - yt * pred)),
        "err_rf": metrics.classification_error(models.apply(rf.final, xt), yt),
        "err_linear": metrics.classification_error(linear_baseline(x, y, xt, **kw), yt),
        "mass_init": metrics.subspace_alignment(p0["W"], U),
        "mass_step1": metrics.subspace_alignment(net.step1["W"], U),
        "mass_pred": predicted_alignment(p0, xg, yg, U, n).mass,
        "gfs": jnp.sum(gradient_feature_fraction(p0, xg, yg, D, gamma)),
        "gfs_rows_step1": jnp.sum(cone_fraction(net.step1["W"], D, gamma)),
    }


def xor_kernel_run(key: Array, *, ns: tuple[int, ...], d: int, n_max: int, mu_norm: float = 3.0,
                   n_test: int = 2000, n_pop: int = 10000) -> dict:
    r"""The NTK baseline (:func:`featlearn.kernels.ntk_classifier`) on the same samples as :func:`xor_run`
    with the same ``key``, ``n_max``, ``n_test`` and ``n_pop``: the first ``n`` training samples for each ``n`` in
    ``ns`` (static; one kernel solve each). Returns ``err_ntk`` ``(len(ns),)`` (test 0-1 error) and ``lam`` (the ridge
    penalty chosen by leave-one-out, relative to the mean eigenvalue of :math:`K/n`)."""
    ns = tuple(_checks.positive_int("ns", int(v)) for v in ns)
    if not ns or max(ns) > n_max:
        raise ValueError(f"ns must be non-empty with every n <= n_max = {n_max}, got {ns}")
    x, y, _, xt, yt, _, _, _ = _xor_data(key, n_max, d, mu_norm, n_test, n_pop)
    errs, lams = [], []
    for n in ns:
        pred, fit = kernels.ntk_classifier(x[:n], y[:n], xt)
        errs.append(metrics.classification_error(pred, yt))
        lams.append(fit.rel_lam)
    return {"err_ntk": jnp.stack(errs), "lam": jnp.stack(lams)}


def xor_opt_run(key: Array, *, d: int, n: int, mu_norm: float, biases: Array, scale: float = 1.0,
                steps: int = 300, lr: float = 1.0, weight_decay: float = 1e-4, n_test: int = 2000) -> dict:
    r"""An estimate of OPT for the XOR mixture: the network of :func:`opt_network` on the four ground-truth
    directions :math:`\pm\mu_k/\|\mu\|` with the given biases, fitted on ``n`` samples. Returns its test
    ``hinge`` loss and 0-1 ``err`` (the quantities OPT bounds)."""
    kd, kt = jax.random.split(key)
    x, y, mus = data.xor_mixture(kd, n, d, mu_norm=mu_norm)
    xt, yt, _ = data.xor_mixture(kt, n_test, d, mu_norm=mu_norm)
    U = mus / mu_norm
    p = opt_network(jnp.concatenate([U, -U]), biases, x, y, scale=scale, steps=steps, lr=lr,
                    weight_decay=weight_decay)
    pred = models.apply(p, xt)
    return {"hinge": jnp.mean(jax.nn.relu(1.0 - yt * pred)), "err": metrics.classification_error(pred, yt)}


def _network_and_baselines(kp: Array, p0: dict, x: Array, y: Array, xt: Array, *, eta1: float,
                           bias_std: float = 1.0, **kw):
    """The two-stage network from ``p0``, random features with ``m`` distinct neurons (drawn from
    ``fold_in(kp, 1)``) trained by the same stage 2, and the NTK classifier's test predictions on ``xt``."""
    d, m = x.shape[1], p0["W"].shape[0]
    net = two_stage(p0, x, y, eta1=eta1, **kw)
    rf = two_stage(random_features_init(jax.random.fold_in(kp, 1), d, m, bias_std=bias_std), x, y,
                   learn_features=False, **kw)
    ntk, _ = kernels.ntk_classifier(x, y, xt, bias_var=bias_std**2)
    return net, rf, ntk


def parity_run(key: Array, *, d: int, k: int, n: int, m: int, eta1: float = 1.0, bias_std: float = 1.0,
               steps: int = 300, lr: float = 1.0, weight_decay: float = 1e-4, gamma: float = 0.1,
               n_test: int = 2000, n_pop: int = 10000) -> dict:
    r"""Sparse parity on the Daniely–Malach distribution, one seed. Returns

    * ``mass_init``, ``mass_step1``: fraction of :math:`\|W\|_F^2` on the support coordinates A (random: k/d);
      ``mass_pred``: its prediction by :func:`predicted_alignment` (``n_pop`` fresh samples);
    * ``gfs_step1``: fraction of neurons whose step-1 direction is within the γ-cone of :math:`\pm 1_A/\sqrt k`;
    * ``err_net_uniform``, ``err_rf_uniform``, ``err_ntk_uniform``: test 0-1 error on the uniform half for the
      two-stage network, random features (:func:`random_features_init`) and the NTK
      (:func:`featlearn.kernels.ntk_classifier`);
      ``err_net``, ``err_ntk``: on the whole distribution."""
    kd, kt, kp = jax.random.split(key, 3)
    x, y, _, u = data.sparse_parity(kd, n, d, k)
    xt, yt, unif, _ = data.sparse_parity(kt, n_test, d, k)
    xg, yg, _, _ = data.sparse_parity(jax.random.fold_in(kd, 1), n_pop, d, k)
    p0 = models.init_params(kp, d, m, symmetric=True, bias_std=bias_std)
    net, rf, ntk = _network_and_baselines(kp, p0, x, y, xt, eta1=eta1, bias_std=bias_std, steps=steps, lr=lr,
                                          weight_decay=weight_decay)
    A = jnp.eye(k, d, dtype=x.dtype)
    pred = models.apply(net.final, xt)
    return {
        "mass_init": metrics.subspace_alignment(p0["W"], A),
        "mass_step1": metrics.subspace_alignment(net.step1["W"], A),
        "mass_pred": predicted_alignment(p0, xg, yg, A, n).mass,
        "gfs_step1": jnp.sum(gradient_feature_fraction(p0, x, y, jnp.stack([u, -u]), gamma)),
        "err_net_uniform": weighted_error(pred, yt, unif),
        "err_rf_uniform": weighted_error(models.apply(rf.final, xt), yt, unif),
        "err_ntk_uniform": weighted_error(ntk, yt, unif),
        "err_net": metrics.classification_error(pred, yt),
        "err_ntk": metrics.classification_error(ntk, yt),
    }


def multi_index_run(key: Array, *, d: int, n: int, m: int, eta1: float = 1.0, steps: int = 300,
                    lr: float = 1.0, weight_decay: float = 1e-4, n_test: int = 2000,
                    n_pop: int = 10000) -> dict:
    r"""Multi-index classification :math:`y=\mathrm{sign}(z_1z_2)`, :math:`z = Ux`, :math:`x\sim N(0,I_d)`, one
    seed. Returns

    * ``neuron_step1`` ``(m,)``: the per-neuron alignment :math:`\|P_Uw_i\|^2/\|w_i\|^2` of :math:`W^{(1)}` with span(U)
      (random rows: 2/d), ``neuron_pred`` ``(m,)`` its prediction by :func:`predicted_alignment` and
      ``neuron_init`` ``(m,)`` at the initialisation;
    * ``overlap_init``, ``overlap_step1``: top-2 subspace overlap of :math:`W` with span(U) (1 when equal, about
      2/d at random), for contrast: a spectral property of the whole layer, not of each neuron;
    * the test 0-1 errors ``err_net``, ``err_rf`` (:func:`random_features_init`) and ``err_ntk``
      (:func:`featlearn.kernels.ntk_classifier`)."""
    ku, kd, kt, kp = jax.random.split(key, 4)
    tgt = targets.multi_index(ku, d, {(1, 1): 1.0})
    x = targets.gaussian_inputs(kd, n, d)
    xt = targets.gaussian_inputs(kt, n_test, d)
    xg = targets.gaussian_inputs(jax.random.fold_in(kd, 1), n_pop, d)
    y, yt, yg = jnp.sign(tgt(x)), jnp.sign(tgt(xt)), jnp.sign(tgt(xg))
    p0 = models.init_params(kp, d, m, symmetric=True)
    net, rf, ntk = _network_and_baselines(kp, p0, x, y, xt, eta1=eta1, steps=steps, lr=lr,
                                          weight_decay=weight_decay)
    return {
        "neuron_init": metrics.neuron_alignment(p0["W"], tgt.U, squared=True),
        "neuron_step1": metrics.neuron_alignment(net.step1["W"], tgt.U, squared=True),
        "neuron_pred": predicted_alignment(p0, xg, yg, tgt.U, n).neuron,
        "overlap_init": metrics.top_subspace_overlap(p0["W"], tgt.U),
        "overlap_step1": metrics.top_subspace_overlap(net.step1["W"], tgt.U),
        "err_net": metrics.classification_error(models.apply(net.final, xt), yt),
        "err_rf": metrics.classification_error(models.apply(rf.final, xt), yt),
        "err_ntk": metrics.classification_error(ntk, yt),
    }


def linear_margin_data(key: Array, n: int, d: int, *, margin: float | Array = 0.5,
                       dtype=jnp.float32) -> tuple[Array, Array, Array]:
    r"""Linearly separable data with a margin: :math:`\xi\sim N(0,I_d)`, :math:`y=\mathrm{sign}(w^*\cdot\xi)`,
    :math:`x = \xi + \gamma\,y\,w^*` with :math:`w^* = e_1` and :math:`\gamma` = ``margin``, so that
    :math:`y\,w^*\cdot x\ge\gamma` for every sample. Returns ``x`` ``(n, d)``, ``y`` ``(n,)`` and ``w_star``
    ``(1, d)`` (a unit row)."""
    n = _checks.positive_int("n", n)
    d = _checks.positive_int("d", d, minimum=2)
    _checks.real_in("margin", margin, 0.0)
    xi = rng.normal(key, (n, d), dtype)
    y = jnp.where(xi[:, 0] >= 0, 1.0, -1.0).astype(dtype)
    w_star = jnp.eye(1, d, dtype=dtype)
    return xi + margin * y[:, None] * w_star, y, w_star


def linear_run(key: Array, *, d: int, n: int, m: int, margin: float = 0.5, eta1: float = 1.0,
               steps: int = 300, lr: float = 1.0, weight_decay: float = 1e-4, n_test: int = 2000,
               n_pop: int = 10000) -> dict:
    r"""Linear data with a margin (:func:`linear_margin_data`), one seed. Returns the per-neuron alignment
    with :math:`w^*` after step 1 (``neuron_step1`` ``(m,)``, :math:`\|P_{w^*}w_i\|^2/\|w_i\|^2`), its prediction
    (``neuron_pred``), and the test 0-1 errors of the network (``err_net``), random features (``err_rf``), the
    NTK (``err_ntk``) and a linear classifier (``err_linear``)."""
    kd, kt, kp = jax.random.split(key, 3)
    x, y, w_star = linear_margin_data(kd, n, d, margin=margin)
    xt, yt, _ = linear_margin_data(kt, n_test, d, margin=margin)
    xg, yg, _ = linear_margin_data(jax.random.fold_in(kd, 1), n_pop, d, margin=margin)
    p0 = models.init_params(kp, d, m, symmetric=True)
    kw = dict(steps=steps, lr=lr, weight_decay=weight_decay)
    net, rf, ntk = _network_and_baselines(kp, p0, x, y, xt, eta1=eta1, **kw)
    return {
        "neuron_step1": metrics.neuron_alignment(net.step1["W"], w_star, squared=True),
        "neuron_pred": predicted_alignment(p0, xg, yg, w_star, n).neuron,
        "err_net": metrics.classification_error(models.apply(net.final, xt), yt),
        "err_rf": metrics.classification_error(models.apply(rf.final, xt), yt),
        "err_ntk": metrics.classification_error(ntk, yt),
        "err_linear": metrics.classification_error(linear_baseline(x, y, xt, **kw), yt),
    }


def lottery_run(key: Array, r: int | Array, *, d: int, n: int, m: int, mu_norm: float = 3.0,
                eta1: float = 1.0, steps: int = 300, lr: float = 1.0, weight_decay: float = 1e-4,
                n_test: int = 2000) -> dict:
    r"""Lottery tickets on the XOR mixture, one seed, ``r`` (traced) neurons kept. The two-stage network is
    trained; the ``r`` neurons with the largest :math:`|a_i|\|w_i\|` (the *winners*) and ``r`` random neurons are
    each retrained by :func:`retrain_subset`. Returns ``err_winners``, ``err_random``, ``err_full`` and
    ``align_winners``, ``align_all`` (mean cosine to span(μ) of the kept and of all step-1 neurons)."""
    kd, kt, kp, km = jax.random.split(key, 4)
    x, y, mus = data.xor_mixture(kd, n, d, mu_norm=mu_norm)
    xt, yt, _ = data.xor_mixture(kt, n_test, d, mu_norm=mu_norm)
    p0 = models.init_params(kp, d, m, symmetric=True)
    kw = dict(steps=steps, lr=lr, weight_decay=weight_decay)
    net = two_stage(p0, x, y, eta1=eta1, **kw)
    win = top_mask(prune_scores(net.final), r)
    rnd = random_mask(km, m, r)
    pw = retrain_subset(net.step1, win, x, y, **kw)
    pr = retrain_subset(net.step1, rnd, x, y, **kw)
    W1 = net.step1["W"]  # dead neurons (never active on the data) have w = 0 and count as cosine 0
    al = metrics.neuron_alignment(W1, mus / mu_norm)
    return {
        "err_winners": metrics.classification_error(models.apply(pw, xt), yt),
        "err_random": metrics.classification_error(models.apply(pr, xt), yt),
        "err_full": metrics.classification_error(models.apply(net.final, xt), yt),
        "align_winners": jnp.sum(al * win) / jnp.sum(win),
        "align_all": jnp.mean(al),
    }


def simplicity_run(key: Array, linear_margin: float | Array, *, d: int, n: int, m: int,
                   mu_norm: float = 3.0, eta1: float = 1.0, steps: int = 300, lr: float = 1.0,
                   weight_decay: float = 1e-4, n_test: int = 2000) -> dict:
    r"""Simplicity bias, one seed, on :func:`linear_plus_xor` (``linear_margin=0`` is the control without the
    linear feature). Returns the step-1 mass on the linear coordinate (``mass_linear``) and on the XOR plane
    (``mass_xor``), and the network's test 0-1 error on clean data (``err_clean``), with the linear coordinate
    shuffled (``err_shuffle_linear``) and with the XOR plane shuffled (``err_shuffle_xor``)."""
    kd, kt, kp, ks1, ks2 = jax.random.split(key, 5)
    x, y, u, U = linear_plus_xor(kd, n, d, linear_margin=linear_margin, mu_norm=mu_norm)
    xt, yt, _, _ = linear_plus_xor(kt, n_test, d, linear_margin=linear_margin, mu_norm=mu_norm)
    p0 = models.init_params(kp, d, m, symmetric=True)
    net = two_stage(p0, x, y, eta1=eta1, steps=steps, lr=lr, weight_decay=weight_decay)
    col = jnp.arange(d)
    err = lambda xx: metrics.classification_error(models.apply(net.final, xx), yt)
    return {
        "mass_linear": metrics.subspace_alignment(net.step1["W"], u),
        "mass_xor": metrics.subspace_alignment(net.step1["W"], U),
        "err_clean": err(xt),
        "err_shuffle_linear": err(shuffle_columns(ks1, xt, col == 0)),
        "err_shuffle_xor": err(shuffle_columns(ks2, xt, (col == 1) | (col == 2))),
    }


def nfa_run(key: Array, *, d: int, n: int, m: int, mu_norm: float = 3.0, eta1: float = 1.0,
            steps: int = 300, lr: float = 1.0, weight_decay: float = 1e-4, full_steps: int = 500,
            full_lr: float = 0.05, n_agop: int = 1000) -> dict:
    r"""The Neural Feature Ansatz on the XOR mixture, one seed: :func:`~featlearn.agop.nfa_correlation` between
    :math:`W^\top W` and the AGOP (``corr_*``) and its square root (``corr_sqrt_*``) of the same network, over
    fresh inputs, for

    * ``init``: a random (non-symmetric, so :math:`f\not\equiv0`) initialisation with :math:`a_i=\pm1/\sqrt m`;
    * ``two_stage``: the network of :func:`two_stage`;
    * ``full``: ordinary full-batch gradient descent on all parameters (hinge loss, mean-field output scale
      :math:`1/m`) from the symmetric initialisation.

    Also returns the test 0-1 errors ``err_two_stage`` and ``err_full``."""
    kd, kt, kp, kq = jax.random.split(key, 4)
    x, y, _ = data.xor_mixture(kd, n, d, mu_norm=mu_norm)
    xt, yt, _ = data.xor_mixture(kt, n_agop, d, mu_norm=mu_norm)
    p0 = models.init_params(kp, d, m, symmetric=True)
    net = two_stage(p0, x, y, eta1=eta1, steps=steps, lr=lr, weight_decay=weight_decay)
    scale = 1.0 / m
    pf, _ = train.fit(p0, train.supervised_loss(models.make_apply("relu", scale), x, y, loss="hinge"),
                      steps=full_steps, lr=full_lr * m)
    pi = models.init_params(kq, d, m, symmetric=False, a_scale=m ** -0.5)
    out = {}
    for name, p, s in (("init", pi, 1.0), ("two_stage", net.final, 1.0), ("full", pf, scale)):
        G = agop.two_layer_agop(p, xt, scale=s)
        WtW = p["W"].T @ p["W"]
        out[f"corr_{name}"] = agop.nfa_correlation(WtW, G)
        out[f"corr_sqrt_{name}"] = agop.nfa_correlation(WtW, agop.psd_power(G, 0.5))
    out["err_two_stage"] = metrics.classification_error(models.apply(net.final, xt), yt)
    out["err_full"] = metrics.classification_error(models.apply(pf, xt, scale=scale), yt)
    return out


def rfm_run(key: Array, *, d: int, n: int, mu_norm: float = 3.0, iterations: int = 5,
            bandwidth: float = 10.0, n_test: int = 2000) -> Array:
    r"""A Recursive Feature Machine (:func:`featlearn.agop.rfm`) on the XOR mixture, one seed: test 0-1 error
    after each iteration, ``(iterations + 1,)``; entry 0 is the plain Laplace kernel."""
    kd, kt = jax.random.split(key)
    x, y, _ = data.xor_mixture(kd, n, d, mu_norm=mu_norm)
    xt, yt, _ = data.xor_mixture(kt, n_test, d, mu_norm=mu_norm)
    return agop.rfm(x, y, xt, yt, iterations=iterations, bandwidth=bandwidth).test_error
