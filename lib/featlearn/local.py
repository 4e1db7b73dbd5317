r"""Local convergence of regularised two-layer networks to a teacher (Zhou & Ge, NeurIPS 2024).

Teacher :math:`f^*(x)=\sum_{i\le m^*}a^*_i\sigma(w^*_i\cdot x)` with unit :math:`w^*_i`, student
:math:`f(x)=\sum_{j\le m}a_j\sigma(w_j\cdot x)`, :math:`m\gg m^*`, and the regularised objective

.. math::

    L_\lambda(\theta) = L(\theta) + \tfrac{\lambda}{2}\big(\|a\|^2 + \|W\|_F^2\big),

whose penalty equals :math:`\lambda\sum_j |a_j|\|w_j\|` at norm-balanced points. This module runs gradient
descent on :math:`L_\lambda` with :math:`\lambda` decreased in stages (:func:`staged_weight_decay`, one
``lax.scan`` over stages of ``lax.scan``\ s), measures how the student's neurons sit around the teacher
(:func:`teacher_structure`), computes the dual certificate :math:`\hat\eta(w)` (:func:`dual_certificate`), and
provides the early stage of the pipeline: one large first-layer step (:func:`one_step_features`) and a
second-layer fit (:func:`fit_second_layer`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array

from . import _checks, models, population, train


def weight_decay(params: dict) -> Array:
    r""":math:`\tfrac12(\|a\|^2+\|W\|_F^2)`."""
    return 0.5 * (jnp.sum(params["a"] ** 2) + jnp.sum(params["W"] ** 2))


def path_norm(params: dict) -> Array:
    r""":math:`\sum_j |a_j|\,\|w_j\|` (equal to :func:`weight_decay` at norm-balanced points, and never more)."""
    return jnp.sum(jnp.abs(params["a"]) * jnp.linalg.norm(params["W"], axis=1))


class StagedTrace(NamedTuple):
    """Record of :func:`staged_weight_decay`; the leading axis is the stage, the second the evaluation.

    ``step`` ``(S, k)`` global step count, ``loss`` ``(S, k)`` unregularised loss :math:`L`, ``objective``
    ``(S, k)`` :math:`L_\\lambda`, ``grad_norm`` ``(S, k)`` :math:`\\|\\nabla L_\\lambda\\|`, ``lam`` ``(S,)``,
    ``snapshots``: the parameters at the end of each stage (leaves with a leading ``(S,)`` axis)."""

    step: Array
    loss: Array
    objective: Array
    grad_norm: Array
    lam: Array
    snapshots: dict


def staged_weight_decay(params: dict, loss_fn: Callable[[dict], Array], lambdas: Array, *, steps: int,
                        lr: float | Array, n_evals: int = 20,
                        penalty: Callable[[dict], Array] = weight_decay) -> tuple[dict, StagedTrace]:
    r"""Gradient descent :math:`\theta\leftarrow\theta-\eta\nabla L_{\lambda_s}(\theta)` for ``steps`` steps in each
    stage :math:`s`, with :math:`L_\lambda = L + \lambda\,R` (``loss_fn`` is :math:`L`, ``penalty`` is
    :math:`R`, default :func:`weight_decay`). ``lambdas`` ``(S,)``: one strength per stage (decreasing in the
    paper; zeros give plain GD). ``n_evals`` evaluations per stage (it must divide ``steps``).

    One compiled program: a ``lax.scan`` over stages, each a ``lax.scan`` over blocks of steps; ``vmap``-able
    over ``params`` and ``lr``."""
    steps = _checks.positive_int("steps", steps)
    n_evals = _checks.positive_int("n_evals", n_evals)
    if steps % n_evals:
        raise ValueError(f"n_evals must divide steps = {steps}, got {n_evals}")
    _checks.real_in("lr", lr, 0.0, low_open=True)
    lambdas = jnp.asarray(lambdas)
    if lambdas.ndim != 1 or lambdas.shape[0] < 1:
        raise ValueError(f"lambdas must be a non-empty 1-d array, got shape {lambdas.shape}")
    every = steps // n_evals

    def objective(p, lam):
        return loss_fn(p) + lam * penalty(p)

    grad = jax.grad(objective)

    def evaluate(p, lam):
        g = grad(p, lam)
        gn = jnp.sqrt(sum(jnp.sum(v * v) for v in jax.tree_util.tree_leaves(g)))
        loss = loss_fn(p)
        return loss, loss + lam * penalty(p), gn

    def stage(p, lam):
        def one(q, _):
            g = grad(q, lam)
            return jax.tree_util.tree_map(lambda v, gv: v - lr * gv, q, g), None

        def block(q, _):
            q, _ = jax.lax.scan(one, q, None, length=every)
            return q, evaluate(q, lam)

        p, ev = jax.lax.scan(block, p, None, length=n_evals)
        return p, (ev, p)

    params, ((loss, obj, gn), snaps) = jax.lax.scan(stage, params, lambdas)
    n_stages = lambdas.shape[0]
    step = (jnp.arange(n_stages)[:, None] * steps + every * (1 + jnp.arange(n_evals))[None, :])
    return params, StagedTrace(step, loss, obj, gn, lambdas, snaps)


def population_objective(W_star: Array, a_star: Array, activation: str = "abs",
                         output_multiplier: float = 1.0) -> Callable[[dict], Array]:
    r"""The exact population loss :math:`L(\theta)=\tfrac12E(f-f^*)^2` as a function of the student's
    parameters. ``output_multiplier`` :math:`\alpha` trains :math:`\alpha f` with the loss divided by
    :math:`\alpha^2` (the lazy scaling of Chizat, Oyallon & Bach: large :math:`\alpha` is the kernel regime)."""
    _checks.one_of("activation", activation, population.ACTIVATIONS)
    _checks.real_in("output_multiplier", output_multiplier, 0.0, low_open=True)
    alpha = output_multiplier

    def loss(params):
        p = {"W": params["W"], "a": alpha * params["a"]}
        return population.population_loss(p, W_star, a_star, activation) / alpha**2

    return loss


def sample_objective(x: Array, y: Array, activation: str = "abs") -> Callable[[dict], Array]:
    r"""The empirical loss :math:`\hat L(\theta)=\tfrac1{2n}\sum_i(f(x_i)-y_i)^2` of the bias-free student
    (``x`` ``(n, d)``, ``y`` ``(n,)``)."""
    _checks.shape("y", y, (x.shape[0],))
    sigma = models.activation_fn(activation)

    def loss(params):
        return 0.5 * jnp.mean((sigma(x @ params["W"].T) @ params["a"] - y) ** 2)

    return loss


class Structure(NamedTuple):
    """How the student's neurons sit around the teacher (see :func:`teacher_structure`).

    ``angle`` ``(m,)`` angle to the nearest teacher direction (radians), ``nearest`` ``(m,)`` its index,
    ``mass`` ``(m,)`` :math:`|a_j|\\|w_j\\|`, ``far_mass`` mass of the neurons farther than δ from every
    teacher, ``teacher_mass`` ``(m*,)`` signed mass :math:`\\sum_{j\\in C_i} a_j\\|w_j\\|` in each δ-cone,
    ``mass_error`` ``(m*,)`` :math:`|\\,\\cdot - a^*_i|`, ``max_angle_alive`` the largest angle among neurons
    with mass above ``alive``, ``frac_aligned_or_vanished`` fraction of neurons within δ or with negligible
    mass."""

    angle: Array
    nearest: Array
    mass: Array
    far_mass: Array
    teacher_mass: Array
    mass_error: Array
    max_angle_alive: Array
    frac_aligned_or_vanished: Array


def teacher_structure(params: dict, W_star: Array, a_star: Array, *, delta: float = 0.1, alive: float = 1e-3,
                      up_to_sign: bool = True) -> Structure:
    r"""Neuron/teacher structure of Zhou & Ge's limit: every neuron is within angle :math:`\delta` of some
    :math:`w^*_i` (up to sign when σ is even, ``up_to_sign``) or has :math:`|a_j|\|w_j\|\approx0`, and in each
    :math:`\delta`-cone :math:`C_i` the signed mass :math:`\sum_{j\in C_i}a_j\|w_j\|\approx a^*_i`.
    ``alive``: mass threshold (relative to :math:`\sum_i|a^*_i|`) above which a neuron counts as alive."""
    _checks.real_in("delta", delta, 0.0, math.pi, low_open=True)
    _checks.real_in("alive", alive, 0.0)
    W, a = params["W"], params["a"]
    angle, nearest = nearest_teacher(W, W_star, up_to_sign)
    mass = jnp.abs(a) * jnp.linalg.norm(W, axis=1)
    close = angle <= delta
    signed = a * jnp.linalg.norm(W, axis=1)
    onehot = (nearest[:, None] == jnp.arange(W_star.shape[0])[None, :]) & close[:, None]
    teacher_mass = jnp.sum(onehot * signed[:, None], axis=0)
    thr = alive * jnp.sum(jnp.abs(a_star))
    is_alive = mass > thr
    return Structure(angle, nearest, mass, jnp.sum(jnp.where(close, 0.0, mass)), teacher_mass,
                     jnp.abs(teacher_mass - a_star), jnp.max(jnp.where(is_alive, angle, 0.0)),
                     jnp.mean(close | ~is_alive))


def nearest_teacher(W: Array, W_star: Array, up_to_sign: bool = True) -> tuple[Array, Array]:
    """Angle (radians, via ``arctan2``: accurate near 0) from each row of ``W`` ``(m, d)`` to the nearest row of
    ``W_star`` ``(k, d)``, up to sign if ``up_to_sign``, and that row's index; shapes ``(m,)``, ``(m,)``."""
    Wn = W / jnp.linalg.norm(W, axis=1, keepdims=True)
    Sn = W_star / jnp.linalg.norm(W_star, axis=1, keepdims=True)
    cos = Wn @ Sn.T
    if up_to_sign:
        cos = jnp.abs(cos)
    idx = jnp.argmax(cos, axis=1)
    c = jnp.take_along_axis(cos, idx[:, None], axis=1)[:, 0]
    sin = jnp.sqrt(jnp.clip(1.0 - c * c, 0.0))
    return jnp.arctan2(sin, c), idx


def dual_certificate(V: Array, params: dict, W_star: Array, a_star: Array, lam: float | Array,
                     activation: str = "abs") -> Array:
    r"""The computable certificate :math:`\hat\eta(v) = -\tfrac1\lambda E[(f-f^*)(x)\,\sigma(\bar v\cdot x)]`,
    :math:`\bar v = v/\|v\|`, for each row of ``V`` ``(q, d)`` → ``(q,)``: the normalised negative derivative of
    the loss with respect to adding a neuron in direction :math:`v`. At a stationary point of :math:`L_\lambda`
    with a 1-homogeneous σ, :math:`\hat\eta = \mathrm{sign}(a_j)` on every alive neuron; at a global minimiser
    :math:`|\hat\eta|\le1` everywhere."""
    _checks.real_in("lam", lam, 0.0, low_open=True)
    Vn = V / jnp.linalg.norm(V, axis=1, keepdims=True)
    return -population.residual_correlation(Vn, params, W_star, a_star, activation) / lam


def great_circle(u: Array, v: Array, t: Array) -> Array:
    r"""Points :math:`\cos t\,\bar u + \sin t\,\bar v_\perp` on the great circle through ``u`` towards ``v``
    (``(d,)`` each), for angles ``t`` ``(q,)`` → ``(q, d)``; :math:`\bar v_\perp` is ``v`` made orthogonal to
    ``u`` and normalised."""
    u = u / jnp.linalg.norm(u)
    w = v - (v @ u) * u
    w = w / jnp.linalg.norm(w)
    return jnp.cos(t)[:, None] * u[None, :] + jnp.sin(t)[:, None] * w[None, :]


class Curvature(NamedTuple):
    """Fit of :math:`1-s\\,\\hat\\eta(t) \\approx \\rho\\,t^p` near a teacher: ``rho`` (from the fit with
    :math:`p=2` fixed), ``exponent`` (free log-log slope :math:`p`) and ``r2`` of the fixed-exponent fit."""

    rho: float
    exponent: float
    r2: float


def fit_curvature(t, eta, sign: float) -> Curvature:
    r"""Fit :math:`1 - \mathrm{sign}\cdot\hat\eta(t) = \rho t^2` by least squares through the origin, and the free
    exponent :math:`p` on log-log axes (``t`` ``(q,)`` positive angles, ``eta`` ``(q,)``)."""
    t = np.asarray(t, float)
    gap = 1.0 - sign * np.asarray(eta, float)
    if t.shape != gap.shape or t.ndim != 1 or np.any(t <= 0):
        raise ValueError("t must be 1-d, positive, and of the same length as eta")
    t2 = t**2
    rho = float(t2 @ gap / (t2 @ t2))
    resid = gap - rho * t2
    r2 = float(1.0 - resid @ resid / np.sum((gap - gap.mean()) ** 2))
    pos = gap > 0
    exponent = float(np.polyfit(np.log(t[pos]), np.log(gap[pos]), 1)[0]) if pos.sum() >= 2 else float("nan")
    return Curvature(rho, exponent, r2)


def teacher(key: Array, d: int, a_star, dtype=jnp.float64) -> tuple[Array, Array]:
    """Orthonormal teacher directions ``W_star`` ``(m*, d)`` (uniformly random) and ``a_star`` ``(m*,)``."""
    from .targets import random_orthonormal

    a_star = jnp.asarray(a_star, dtype)
    return random_orthonormal(key, a_star.shape[0], d, dtype), a_star


def one_step_features(params: dict, x: Array, y: Array, *, lr: float, activation: str = "abs") -> dict:
    r"""The early stage (Damian, Lee & Soltanolkotabi 2022): one full-batch gradient step on the first layer
    with weight decay :math:`1/\eta` that resets it, :math:`W_1 = W_0 - \eta(\nabla_W\hat L + W_0/\eta) =
    -\eta\nabla_W\hat L`. From a symmetric initialisation (:math:`f\equiv0`) the rows of :math:`W_1` are
    :math:`\approx -\eta\,a_j E[f^*(x)\sigma'(w_j\cdot x)x]`, whose leading part lies in the teacher subspace.
    The output weights are kept. Shapes: ``x`` ``(n, d)``, ``y`` ``(n,)``."""
    _checks.real_in("lr", lr, 0.0, low_open=True)
    loss = sample_objective(x, y, activation)
    g = jax.grad(lambda W: loss({"W": W, "a": params["a"]}))(params["W"])
    return {"W": -lr * g, "a": params["a"]}


def fit_second_layer(params: dict, x: Array, y: Array, x_val: Array, y_val: Array, *,
                     activation: str = "abs") -> dict:
    r"""Refit the output weights by ridge regression on the features :math:`\sigma(Wx)` (λ chosen on the
    validation set, :func:`featlearn.train.ridge`), with the first-layer rows normalised to unit length."""
    W = params["W"] / jnp.linalg.norm(params["W"], axis=1, keepdims=True)
    sigma = models.activation_fn(activation)
    fit = train.ridge(sigma(x @ W.T), y, sigma(x_val @ W.T), y_val)
    return {"W": W, "a": fit.coef}


def balance(params: dict) -> dict:
    r"""Rescale each neuron to :math:`|a_j| = \|w_j\|` without changing the function (σ 1-homogeneous):
    the weight-decay penalty then equals the path norm."""
    nw = jnp.linalg.norm(params["W"], axis=1)
    c = jnp.sqrt(jnp.abs(params["a"]) / jnp.maximum(nw, 1e-300))
    return {"W": params["W"] * c[:, None], "a": params["a"] / jnp.where(c > 0, c, 1.0)}


def student_init(key: Array, d: int, m: int, *, scale: float = 0.1, symmetric: bool = False,
                 dtype=jnp.float64) -> dict:
    r"""A bias-free student ``{"W": (m, d), "a": (m,)}`` with :math:`w_j\sim N(0, \tfrac{s^2}{d}I_d)` and
    :math:`a_j=\pm s` (:func:`featlearn.models.init_params` with ``bias_std=0``); ``symmetric`` pairs neurons
    with opposite :math:`a_j` so that :math:`f\equiv0`."""
    p = models.init_params(key, d, m, symmetric=symmetric, bias_std=0.0, w_std=scale, second_layer="sign",
                           a_scale=scale, dtype=dtype)
    return {"W": p["W"], "a": p["a"]}


def teacher_coordinates(W: Array, W_star: Array, *, up_to_sign: bool = True) -> Array:
    r"""Coordinates :math:`(\bar w_j\cdot w^*_i)_i` of the unit neurons in the teacher basis, ``(m, m*)``; with
    ``up_to_sign`` (even σ) each neuron is flipped so that its largest coordinate is positive."""
    Wn = W / jnp.linalg.norm(W, axis=1, keepdims=True)
    c = Wn @ W_star.T
    if up_to_sign:
        big = jnp.take_along_axis(c, jnp.argmax(jnp.abs(c), axis=1)[:, None], axis=1)
        c = c * jnp.where(big < 0, -1.0, 1.0)
    return c
