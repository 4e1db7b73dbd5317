r"""Local convergence of regularised two-layer networks to a teacher (Zhou & Ge, NeurIPS 2024).

Teacher :math:`f^*(x)=\sum_{i\le m^*}a^*_i\sigma(w^*_i\cdot x)` with unit :math:`w^*_i`, student
:math:`f(x)=\sum_{j\le m}a_j\sigma(w_j\cdot x)`, :math:`m\gg m^*`, and the regularised objective

.. math::

    L_\lambda(\theta) = L(\theta) + \tfrac{\lambda}{2}\big(\|a\|^2 + \|W\|_F^2\big),

whose penalty equals :math:`\lambda\sum_j |a_j|\|w_j\|` at norm-balanced points. This module runs gradient
descent on :math:`L_\lambda` with :math:`\lambda` decreased in stages (:func:`staged_weight_decay`, one call
of :func:`featlearn.train.fit` with the stages as its λ schedule), measures how the student's neurons sit
around the teacher (:func:`teacher_structure`), computes the dual certificate :math:`\hat\eta(w)`
(:func:`dual_certificate`), and provides the early stage of the pipeline: one large first-layer step
(:func:`featlearn.models.first_layer_step`) and a second-layer fit (:func:`fit_second_layer`).

The chapter's experiments are pure functions of a key, run over seeds by :func:`featlearn.sweeps.sweep`
(cached, sharded): :func:`staged_run` (the local phase on the population loss), :func:`lazy_run` (the same loss
in the kernel regime), :func:`certificate_run` (training at a fixed λ and the certificate it leaves) and
:func:`pipeline_run` (early stage + local phase, on the population or on an empirical loss). The chapter's sizes,
sections and figures are in :mod:`featlearn.chapters.local_convergence`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array

from . import _checks, metrics, models, population, ridge, rng, targets, train


def weight_decay(params: dict) -> Array:
    r""":math:`\tfrac12(\|a\|^2+\|W\|_F^2)`."""
    return 0.5 * (jnp.sum(params["a"] ** 2) + jnp.sum(params["W"] ** 2))


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


def staged_weight_decay(params: dict, loss_fn: Callable[[dict], Array], schedule: Array, *, steps: int,
                        lr: float | Array, n_evals: int = 20,
                        penalty: Callable[[dict], Array] = weight_decay) -> tuple[dict, StagedTrace]:
    r"""Gradient descent :math:`\theta\leftarrow\theta-\eta\nabla L_{\lambda_s}(\theta)` for ``steps`` steps in each
    stage :math:`s`, with :math:`L_\lambda = L + \lambda\,R` (``loss_fn`` is :math:`L`, ``penalty`` is
    :math:`R`, default :func:`weight_decay`). ``schedule`` ``(S,)``: one strength per stage (decreasing in the
    paper; zeros give plain GD). ``n_evals`` evaluations per stage (it must divide ``steps``).

    One call of :func:`featlearn.train.fit` (plain SGD, ``schedule`` as its λ schedule, the end of each stage
    kept as a snapshot): one compiled program, ``vmap``-able over ``params`` and ``lr``."""
    steps = _checks.positive_int("steps", steps)
    n_evals = _checks.positive_int("n_evals", n_evals)
    if steps % n_evals:
        raise ValueError(f"n_evals must divide steps = {steps}, got {n_evals}")
    schedule = jnp.asarray(schedule)
    if schedule.ndim != 1 or schedule.shape[0] < 1:
        raise ValueError(f"schedule must be a non-empty 1-d array, got shape {schedule.shape}")
    n_stages = schedule.shape[0]
    params, tr = train.fit(params, loss_fn, steps=n_stages * steps, lr=lr, lam=schedule, penalty=penalty,
                           n_evals=n_stages * n_evals)

    def per_stage(a):  # drop the record at the start; (S * n_evals,) -> (S, n_evals)
        return a[1:].reshape(n_stages, n_evals)

    return params, StagedTrace(per_stage(tr.step), per_stage(tr.loss), per_stage(tr.objective),
                               per_stage(tr.grad_norm), schedule, tr.snapshots)


def population_objective(W_star: Array, a_star: Array, activation: str = "abs",
                         output_multiplier: float = 1.0) -> Callable[[dict], Array]:
    r"""The exact population loss :math:`L(\theta)=\tfrac12E(f-f^*)^2` as a function of the student's
    parameters. ``output_multiplier`` :math:`\alpha` trains :math:`\alpha f` with the loss divided by
    :math:`\alpha^2` (the lazy scaling of Chizat, Oyallon & Bach: large :math:`\alpha` is the kernel regime)."""
    _checks.one_of("activation", activation, population.CLOSED_FORM_ACTIVATIONS)
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
    angle, nearest = metrics.nearest_teacher(W, W_star, up_to_sign=up_to_sign)
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
    r"""The chapter's teacher as arrays: ``W_star`` ``(m*, d)`` uniformly random orthonormal directions and
    ``a_star`` ``(m*,)``, of :func:`featlearn.targets.teacher_network` with :math:`\sigma = |z|`."""
    a_star = jnp.asarray(a_star, dtype)
    t = targets.teacher_network(key, d, a_star.shape[0], a=a_star, activation="abs", dtype=dtype)
    return t.W, t.a


def fit_second_layer(params: dict, x: Array, y: Array, x_val: Array, y_val: Array, *,
                     activation: str = "abs") -> dict:
    r"""Refit the output weights by ridge regression on the features :math:`\sigma(Wx)` (λ chosen on the
    validation set, :func:`featlearn.ridge.ridge`), with the first-layer rows normalised to unit length."""
    W = params["W"] / jnp.linalg.norm(params["W"], axis=1, keepdims=True)
    sigma = models.activation_fn(activation)
    fit = ridge.ridge(sigma(x @ W.T), y, sigma(x_val @ W.T), y_val)
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


def polygon_corners(k: int) -> Array:
    r"""The corners :math:`p_i = (\cos\frac{2\pi i}{k}, \sin\frac{2\pi i}{k})` of a regular ``k``-gon in the
    plane, ``(k, 2)``: where :func:`teacher_plane_coordinates` draws the ``k`` teacher directions."""
    k = _checks.positive_int("k", k)
    ang = 2.0 * math.pi * np.arange(k) / k
    return jnp.asarray(np.stack([np.cos(ang), np.sin(ang)], axis=1))


def teacher_plane_coordinates(W: Array, W_star: Array, *, up_to_sign: bool = True) -> Array:
    r"""A picture of the neurons in the teacher subspace: unit neuron :math:`\bar w_j` is drawn at
    :math:`\sum_i(\bar w_j\cdot w^*_i)\,p_i` with :math:`p_i` the corners of a regular :math:`m^*`-gon
    (:func:`polygon_corners`), so teacher :math:`i` sits at corner :math:`i` and a direction orthogonal to the
    teacher subspace at the centre. ``W`` ``(m, d)``, ``W_star`` ``(m*, d)`` → ``(m, 2)``, for any :math:`m^*`."""
    _checks.shape("W_star", W_star, (None, W.shape[-1]))
    corners = polygon_corners(W_star.shape[0]).astype(W.dtype)
    return teacher_coordinates(W, W_star, up_to_sign=up_to_sign) @ corners


def halving_schedule(lam0: float | Array, stages: int) -> Array:
    r"""Zhou & Ge's decreasing weight decay, halved at every stage: :math:`\lambda_s = \lambda_0\,2^{-s}`,
    :math:`s = 0,\dots,S-1`, shape ``(S,)``. ``lam0`` may be traced (a sweep varies it); ``lam0 = 0`` gives
    plain gradient descent."""
    stages = _checks.positive_int("stages", stages)
    _checks.real_in("lam0", lam0, 0.0)
    return lam0 * 0.5 ** jnp.arange(stages)


def certificate_schedule(lam0: float, lam: float, *, halvings: int, stages: int) -> Array:
    r"""``halvings`` stages of :func:`halving_schedule` from ``lam0``, then ``stages - halvings`` stages at the
    fixed ``lam`` (the run that ends near a stationary point of :math:`L_\lambda` for the certificate)."""
    halvings = _checks.positive_int("halvings", halvings)
    stages = _checks.positive_int("stages", stages, minimum=halvings + 1)
    _checks.real_in("lam", lam, 0.0, low_open=True)
    return jnp.concatenate([halving_schedule(lam0, halvings), jnp.full(stages - halvings, lam)])


def _structure_dict(st: Structure) -> dict:
    return {"far_mass": st.far_mass, "teacher_mass": st.teacher_mass, "mass_error": st.mass_error,
            "max_angle_alive": st.max_angle_alive, "frac_aligned_or_vanished": st.frac_aligned_or_vanished}


def staged_run(key: Array, lam0: float | Array, *, W_star: Array, a_star, m: int, init_scale: float, lr: float,
               stages: int, steps: int, n_evals: int, delta: float, alive: float = 1e-3) -> dict:
    r"""The local phase on the exact population loss (σ = \|z\|): a small student
    (:func:`student_init`, scale ``init_scale``, drawn from ``key``) trained by :func:`staged_weight_decay` with
    :func:`halving_schedule` from ``lam0`` (``lam0 = 0``: no regularisation). ``W_star`` ``(m*, d)``.

    Returns a dict: ``init`` and ``final`` parameters (``W`` ``(m, d)``, ``a`` ``(m,)``), ``snapshots`` (leaves
    ``(S, ...)``: the end of each stage), the trace ``step``, ``loss``, ``objective``, ``grad_norm`` (each
    ``(S, n_evals)``), ``init_loss``, ``stage_max_angle`` and ``stage_far_mass`` ``(S,)`` (the
    :func:`teacher_structure` at the end of each stage) and the final structure (``far_mass``, ``teacher_mass``
    ``(m*,)``, ``mass_error`` ``(m*,)``, ``max_angle_alive``, ``frac_aligned_or_vanished``)."""
    a_star = jnp.asarray(a_star, W_star.dtype)
    loss = population_objective(W_star, a_star)
    p0 = student_init(key, W_star.shape[1], m, scale=init_scale, dtype=W_star.dtype)
    p, tr = staged_weight_decay(p0, loss, halving_schedule(lam0, stages), steps=steps, lr=lr, n_evals=n_evals)
    struct = jax.vmap(lambda q: teacher_structure(q, W_star, a_star, delta=delta, alive=alive))
    per_stage = struct(tr.snapshots)
    final = teacher_structure(p, W_star, a_star, delta=delta, alive=alive)
    return {"init": p0, "final": p, "snapshots": tr.snapshots, "step": tr.step, "loss": tr.loss,
            "objective": tr.objective, "grad_norm": tr.grad_norm, "init_loss": loss(p0),
            "stage_max_angle": per_stage.max_angle_alive, "stage_far_mass": per_stage.far_mass,
            **_structure_dict(final)}


def lazy_run(key: Array, *, W_star: Array, a_star, m: int, alpha: float, lr: float, stages: int, steps: int,
             n_evals: int, delta: float, alive: float = 1e-3) -> dict:
    r"""The same population loss in the kernel regime (lazy scaling of Chizat, Oyallon & Bach): train
    :math:`\alpha f` with the loss divided by :math:`\alpha^2`, from a symmetric unit-scale initialisation with
    output weights :math:`\pm1/m` (so :math:`\alpha f` starts at 0), without regularisation, for ``stages`` ×
    ``steps`` steps. Gradient descent is stable only for ``lr`` below about :math:`\pi/m` here (the output-layer
    kernel has top eigenvalue about :math:`2m/\pi`).

    Returns ``final`` (the function actually trained: ``a`` multiplied by α), ``loss`` (its population loss),
    ``move`` :math:`\|W_T-W_0\|_F/\|W_0\|_F` and its :func:`teacher_structure` fields."""
    a_star = jnp.asarray(a_star, W_star.dtype)
    p0 = student_init(key, W_star.shape[1], m, scale=1.0, symmetric=True, dtype=W_star.dtype)
    p0 = {"W": p0["W"], "a": p0["a"] / m}
    lazy_loss = population_objective(W_star, a_star, output_multiplier=alpha)
    p, _ = staged_weight_decay(p0, lazy_loss, jnp.zeros(stages), steps=steps, lr=lr, n_evals=n_evals)
    eff = {"W": p["W"], "a": alpha * p["a"]}
    move = jnp.linalg.norm(p["W"] - p0["W"]) / jnp.linalg.norm(p0["W"])
    st = teacher_structure(eff, W_star, a_star, delta=delta, alive=alive)
    return {"final": eff, "loss": population.population_loss(eff, W_star, a_star), "move": move,
            **_structure_dict(st)}


def certificate_run(key: Array, *, W_star: Array, a_star, m: int, init_scale: float, lr: float, lam0: float,
                    lam: float, halvings: int, stages: int, steps: int, n_evals: int, n_random: int,
                    n_circle: int, alive: float = 1e-3) -> dict:
    r"""Train as in :func:`staged_run` with :func:`certificate_schedule` (``halvings`` halvings from ``lam0``,
    then the fixed ``lam`` up to ``stages``), and evaluate the certificate :math:`\hat\eta` of the network it ends
    at (:func:`dual_certificate` at ``lam``):

    * ``eta_teacher`` ``(m*,)``: at the teacher directions;
    * ``eta_alive_err``: :math:`\max_j|\hat\eta(w_j)-\mathrm{sign}(a_j)|` over alive neurons (mass above
      ``alive`` × :math:`\sum_i|a^*_i|`);
    * ``eta_random``: :math:`\max|\hat\eta|` over ``n_random`` random directions (drawn from ``key``);
    * ``t`` ``(q,)`` with ``q = n_circle`` angles in :math:`(0, \pi]`, ``circle_eta`` and ``circle_angle``
      ``(m*, 2, q)``: :math:`\hat\eta` and the angle to the nearest teacher along the great circles from each
      :math:`w^*_i` towards :math:`w^*_{i+1}` (index 0) and towards a random direction (index 1);
    * ``grad_norm`` (the last recorded :math:`\|\nabla L_\lambda\|`) and the final parameters ``final``."""
    a_star = jnp.asarray(a_star, W_star.dtype)
    k = W_star.shape[0]
    if k < 2:
        raise ValueError(f"a_star must hold at least 2 teacher weights (circles run between teachers), got {k}")
    k_init, k_dir = jax.random.split(key)
    loss = population_objective(W_star, a_star)
    p0 = student_init(k_init, W_star.shape[1], m, scale=init_scale, dtype=W_star.dtype)
    lams = certificate_schedule(lam0, lam, halvings=halvings, stages=stages)
    p, tr = staged_weight_decay(p0, loss, lams, steps=steps, lr=lr, n_evals=n_evals)
    mass = jnp.abs(p["a"]) * jnp.linalg.norm(p["W"], axis=1)
    is_alive = mass > alive * jnp.sum(jnp.abs(a_star))
    eta_nodes = dual_certificate(p["W"], p, W_star, a_star, lam)
    V = rng.normal(k_dir, (n_random, W_star.shape[1]), W_star.dtype)
    t = jnp.linspace(1e-3, math.pi, n_circle, dtype=W_star.dtype)
    towards = jnp.stack([jnp.roll(W_star, -1, axis=0), V[:k]], axis=1)  # (m*, 2, d)
    pts = jax.vmap(jax.vmap(lambda u, v: great_circle(u, v, t), in_axes=(None, 0)))(W_star, towards)  # (m*,2,q,d)
    flat = pts.reshape(-1, W_star.shape[1])
    circle_eta = dual_certificate(flat, p, W_star, a_star, lam).reshape(pts.shape[:3])
    circle_angle = metrics.nearest_teacher(flat, W_star, up_to_sign=True)[0].reshape(pts.shape[:3])
    return {"final": p, "grad_norm": tr.grad_norm[-1, -1],
            "eta_teacher": dual_certificate(W_star, p, W_star, a_star, lam),
            "eta_alive_err": jnp.max(jnp.where(is_alive, jnp.abs(eta_nodes - jnp.sign(p["a"])), 0.0)),
            "eta_random": jnp.max(jnp.abs(dual_certificate(V, p, W_star, a_star, lam))),
            "t": t, "circle_eta": circle_eta, "circle_angle": circle_angle}


def certificate_curvature(t, circle_eta, a_star, band: tuple[float, float] = (0.05, 0.3)) -> tuple[np.ndarray,
                                                                                                  np.ndarray]:
    r""":func:`fit_curvature` of every great circle of :func:`certificate_run` on the angles ``band``:
    ``circle_eta`` ``(..., m*, 2, q)`` on angles ``t`` ``(q,)``, sign of teacher :math:`i` from ``a_star``.
    Returns ``rho`` and ``exponent``, each ``(..., m*, 2)``."""
    t = np.asarray(t, float)
    eta = np.asarray(circle_eta, float)
    sign = np.sign(np.asarray(a_star, float))
    if eta.ndim < 3 or eta.shape[-3:] != (sign.size, 2, t.size):
        raise ValueError(f"circle_eta must have shape (..., {sign.size}, 2, {t.size}), got {eta.shape}")
    lo, hi = band
    if not 0 < lo < hi:
        raise ValueError(f"band must satisfy 0 < low < high, got {band}")
    sel = (t > lo) & (t < hi)
    flat = eta.reshape(-1, sign.size, 2, t.size)
    fits = [[[fit_curvature(t[sel], e[i, j, sel], sign[i]) for j in range(2)] for i in range(sign.size)]
            for e in flat]
    rho = np.array([[[c.rho for c in row] for row in f] for f in fits]).reshape(eta.shape[:-1])
    exponent = np.array([[[c.exponent for c in row] for row in f] for f in fits]).reshape(eta.shape[:-1])
    return rho, exponent


LOCAL_LOSSES = ("population", "empirical")


def pipeline_run(key: Array, start: int | Array = 0, *, d: int, m: int, a_star, n_factor: float,
                 local_n_factor: float, init_scale: float, lr: float, lam0: float, stages: int, steps: int,
                 n_evals: int, delta: float, local_loss: str = "population", alive: float = 1e-3) -> dict:
    r"""Early stage + local phase, end to end, for one teacher drawn from ``key`` (orthonormal directions in
    :math:`\mathbb R^d`, weights ``a_star``), with noiseless labels :math:`y=f^*(x)`:

    1. from a symmetric unit-scale student (:math:`f\equiv0`), one large step on :math:`W` with the weight decay
       :math:`1/\eta` that resets it, :math:`W_1 = -\eta\nabla_W\hat L` (:func:`featlearn.models.first_layer_step`,
       learning rate :math:`\eta = 1`, labels centred), on :math:`n = ` ``n_factor`` :math:`d^2` samples: from
       :math:`f\equiv0` the rows of :math:`W_1` are :math:`\approx -\eta\,a_j E[f^*(x)\sigma'(w_j\cdot x)x]`, whose
       leading part lies in the teacher subspace;
    2. ridge regression for :math:`a` on the features (:func:`fit_second_layer`, penalty chosen on :math:`n/4`
       validation samples), then :func:`balance`;
    3. the local phase (:func:`staged_weight_decay`, :func:`halving_schedule` from ``lam0``) on the exact
       population loss (``local_loss="population"``) or on the empirical loss of
       :math:`n_{\rm loc} = ` ``local_n_factor`` :math:`d^2` fresh samples (``"empirical"``).

    ``start`` (may be traced): 0 starts the local phase from the early stage's network, 1 from a small random
    initialisation (:func:`student_init`, scale ``init_scale``). Returns ``align0``, ``align1`` (mean
    :func:`featlearn.metrics.neuron_alignment` before and after the step), ``start_loss`` and ``zero_loss``
    (population loss at the start of the local phase and of :math:`f=0`), the local phase's trace ``step`` and
    ``loss`` (its training loss) ``(S, n_evals)``, ``stage_pop_loss`` ``(S,)`` (population loss at the end of
    each stage), the final parameters ``final``, ``final_pop_loss``, ``final_train_loss`` and the final
    :func:`teacher_structure` fields."""
    _checks.one_of("local_loss", local_loss, LOCAL_LOSSES)
    d = _checks.positive_int("d", d)
    _checks.real_in("n_factor", n_factor, 0.0, low_open=True)
    _checks.real_in("local_n_factor", local_n_factor, 0.0, low_open=True)
    n, n_loc = int(n_factor * d * d), int(local_n_factor * d * d)
    if n < 4 or n_loc < 1:
        raise ValueError(f"n_factor * d**2 must be at least 4 and local_n_factor * d**2 at least 1, got {n}, {n_loc}")
    k_t, k_x, k_v, k_0, k_r, k_l = jax.random.split(key, 6)
    W_star, a_star = teacher(k_t, d, a_star)
    x = rng.normal(k_x, (n, d), W_star.dtype)
    x_val = rng.normal(k_v, (n // 4, d), W_star.dtype)
    y, y_val = jnp.abs(x @ W_star.T) @ a_star, jnp.abs(x_val @ W_star.T) @ a_star
    pop = population_objective(W_star, a_star)
    p0 = student_init(k_0, d, m, scale=1.0, symmetric=True, dtype=W_star.dtype)
    early = sample_objective(x, y - jnp.mean(y))  # the early stage's loss, labels centred
    p1 = models.first_layer_step(p0, models.first_layer_gradient(early, p0), 1.0)
    p2 = balance(fit_second_layer(p1, x, y, x_val, y_val))
    p_rand = student_init(k_r, d, m, scale=init_scale, dtype=W_star.dtype)
    p_start = jax.tree_util.tree_map(lambda u, v: jnp.where(start == 0, u, v), p2, p_rand)
    if local_loss == "population":
        train_loss = pop
    else:
        x_loc = rng.normal(k_l, (n_loc, d), W_star.dtype)
        train_loss = sample_objective(x_loc, jnp.abs(x_loc @ W_star.T) @ a_star)
    p, tr = staged_weight_decay(p_start, train_loss, halving_schedule(lam0, stages), steps=steps, lr=lr,
                                n_evals=n_evals)
    st = teacher_structure(p, W_star, a_star, delta=delta, alive=alive)
    return {"align0": jnp.mean(metrics.neuron_alignment(p0["W"], W_star)),
            "align1": jnp.mean(metrics.neuron_alignment(p1["W"], W_star)),
            "start_loss": pop(p_start), "zero_loss": population.teacher_variance(W_star, a_star) / 2,
            "step": tr.step, "loss": tr.loss, "stage_pop_loss": jax.vmap(pop)(tr.snapshots),
            "final": p, "final_pop_loss": pop(p), "final_train_loss": train_loss(p), **_structure_dict(st)}


def first_step_below(step, curve, level: float) -> int:
    """The first recorded step at which ``curve`` (same length as ``step``) is below ``level``; -1 if never."""
    step, curve = np.asarray(step).ravel(), np.asarray(curve).ravel()
    if step.shape != curve.shape:
        raise ValueError(f"step and curve must have the same length, got {step.shape} and {curve.shape}")
    below = np.flatnonzero(curve < level)
    return int(step[below[0]]) if below.size else -1
