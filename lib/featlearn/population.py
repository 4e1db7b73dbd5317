r"""Closed-form population losses for bias-free two-layer networks with Gaussian inputs.

For :math:`x\sim N(0, I_d)` and a positively 1-homogeneous activation, the second moment of two neurons
depends only on their norms and the cosine :math:`\rho = \frac{u\cdot v}{\|u\|\|v\|}` (arc-cosine kernels,
Cho & Saul 2009):

.. math::

    E[\sigma(u\cdot x)\,\sigma(v\cdot x)] = \|u\|\,\|v\|\,\kappa(\rho),\qquad
    \kappa_{|z|}(\rho) = \tfrac{2}{\pi}\big(\sqrt{1-\rho^2} + \rho\arcsin\rho\big),\qquad
    \kappa_{\rm ReLU}(\rho) = \tfrac{1}{2\pi}\big(\sqrt{1-\rho^2} + \rho(\tfrac{\pi}{2}+\arcsin\rho)\big).

The derivatives :math:`\kappa'_{|z|}(\rho) = \tfrac2\pi\arcsin\rho` and :math:`\kappa'_{\rm ReLU}(\rho) =
\tfrac{1}{2\pi}(\tfrac\pi2 + \arcsin\rho)` stay finite at :math:`\rho=\pm1`, where automatic differentiation
of :math:`\sqrt{1-\rho^2}` does not; :func:`kappa` carries them as a custom JVP.

With the student :math:`f(x)=\sum_{j\le m} a_j\sigma(w_j\cdot x)` and the teacher
:math:`f^*(x)=\sum_{i\le m^*} a^*_i\sigma(w^*_i\cdot x)`, the population loss is the quadratic form

.. math::

    L(\theta) = \tfrac12 E(f-f^*)^2 = \tfrac12\big(a^\top K(W,W)a - 2a^\top K(W,W^*)a^* + a^{*\top}K(W^*,W^*)a^*\big).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jax import Array

from . import _checks

#: The activations of :data:`featlearn.models.ACTIVATIONS` whose normalised second moment :math:`\kappa` has the
#: closed form above (positively 1-homogeneous, with the arc-cosine expectations of Cho & Saul).
CLOSED_FORM_ACTIVATIONS = ("abs", "relu")


def _kappa_value(rho: Array, activation: str) -> Array:
    r = jnp.clip(rho, -1.0, 1.0)
    s = jnp.sqrt(jnp.clip(1.0 - r * r, 0.0))
    if activation == "abs":
        return (2.0 / math.pi) * (s + r * jnp.arcsin(r))
    return (s + r * (0.5 * math.pi + jnp.arcsin(r))) / (2.0 * math.pi)


def _kappa_slope(rho: Array, activation: str) -> Array:
    r = jnp.clip(rho, -1.0, 1.0)
    if activation == "abs":
        return (2.0 / math.pi) * jnp.arcsin(r)
    return (0.5 * math.pi + jnp.arcsin(r)) / (2.0 * math.pi)


@jax.custom_jvp
def _kappa_abs(rho: Array) -> Array:
    return _kappa_value(rho, "abs")


@_kappa_abs.defjvp
def _kappa_abs_jvp(primals, tangents):
    (rho,), (t,) = primals, tangents
    return _kappa_value(rho, "abs"), _kappa_slope(rho, "abs") * t


@jax.custom_jvp
def _kappa_relu(rho: Array) -> Array:
    return _kappa_value(rho, "relu")


@_kappa_relu.defjvp
def _kappa_relu_jvp(primals, tangents):
    (rho,), (t,) = primals, tangents
    return _kappa_value(rho, "relu"), _kappa_slope(rho, "relu") * t


def kappa(rho: Array, activation: str = "abs") -> Array:
    r"""The normalised second moment :math:`\kappa(\rho) = E[\sigma(z_1)\sigma(z_2)]` for standard Gaussians
    with correlation :math:`\rho` (elementwise; :math:`\rho` is clipped to :math:`[-1, 1]`), with its
    closed-form derivative as a custom JVP. ``activation``: ``"abs"`` or ``"relu"``."""
    _checks.one_of("activation", activation, CLOSED_FORM_ACTIVATIONS)
    return (_kappa_abs if activation == "abs" else _kappa_relu)(rho)


def second_moment(U: Array, V: Array, activation: str = "abs", eps: float = 1e-30) -> Array:
    r"""The matrix :math:`K_{jk} = E[\sigma(u_j\cdot x)\sigma(v_k\cdot x)] = \|u_j\|\|v_k\|\kappa(\rho_{jk})` for
    :math:`x\sim N(0,I_d)`. Shapes: ``U`` ``(p, d)``, ``V`` ``(q, d)`` → ``(p, q)``.

    ``eps`` keeps the cosine finite for a zero row (whose entries are then 0, as they should be)."""
    _checks.shape("V", V, (None, U.shape[-1]))
    nu = jnp.sqrt(jnp.sum(U * U, axis=-1) + eps)  # (p,)
    nv = jnp.sqrt(jnp.sum(V * V, axis=-1) + eps)  # (q,)
    rho = (U @ V.T) / (nu[:, None] * nv[None, :])
    return nu[:, None] * nv[None, :] * kappa(rho, activation)


def population_loss(params: dict, W_star: Array, a_star: Array, activation: str = "abs") -> Array:
    r"""Exact :math:`L = \tfrac12 E_{x\sim N(0,I_d)}(f(x)-f^*(x))^2` for the bias-free student ``params``
    (``"W"`` ``(m, d)``, ``"a"`` ``(m,)``; other entries are ignored) and the teacher ``W_star`` ``(k, d)``,
    ``a_star`` ``(k,)``. Differentiable in every argument."""
    W, a = params["W"], params["a"]
    _checks.shape("a", a, (W.shape[0],))
    _checks.shape("W_star", W_star, (None, W.shape[-1]))
    _checks.shape("a_star", a_star, (W_star.shape[0],))
    ss = a @ second_moment(W, W, activation) @ a
    st = a @ second_moment(W, W_star, activation) @ a_star
    tt = a_star @ second_moment(W_star, W_star, activation) @ a_star
    return 0.5 * (ss - 2.0 * st + tt)


def residual_correlation(V: Array, params: dict, W_star: Array, a_star: Array, activation: str = "abs") -> Array:
    r""":math:`E[(f-f^*)(x)\,\sigma(v_k\cdot x)]` for each row :math:`v_k` of ``V`` ``(q, d)`` → ``(q,)``: the
    derivative of :math:`L` with respect to the output weight of a new neuron with first-layer weights
    :math:`v_k`, added with zero output weight."""
    return second_moment(V, params["W"], activation) @ params["a"] - second_moment(V, W_star, activation) @ a_star


def teacher_variance(W_star: Array, a_star: Array, activation: str = "abs") -> Array:
    r""":math:`E f^{*2}`: twice the loss of the zero network."""
    return a_star @ second_moment(W_star, W_star, activation) @ a_star
