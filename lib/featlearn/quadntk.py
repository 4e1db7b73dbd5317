r"""Escaping the NTK with good directions (Nichani, Bai & Lee 2022): the linear and quadratic Taylor terms of a
two-layer network around a symmetric initialisation, the regulariser :math:`R_1`, and the target class.

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
from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax import Array

from featlearn import _checks, rng, train

MODELS = ("L", "Q", "LQ")


def sigma(z: Array) -> Array:
    r""":math:`\sigma(z) = \mathrm{sigmoid}(z-1)` (smooth, with non-zero Hermite coefficients at every degree)."""
    return jax.nn.sigmoid(z - 1.0)


def sigma_prime(z: Array) -> Array:
    r""":math:`\sigma'(z) = s(1-s)`, :math:`s=\sigma(z)`."""
    s = sigma(z)
    return s * (1.0 - s)


def sigma_second(z: Array) -> Array:
    r""":math:`\sigma''(z) = s(1-s)(1-2s)`."""
    s = sigma(z)
    return s * (1.0 - s) * (1.0 - 2.0 * s)


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
    return sigma(x @ (net["W0"] + W).T) @ net["a"]


def f_L(net: dict[str, Array], W: Array, x: Array) -> Array:
    r"""Linear (NTK) term :math:`f_L(x;W)=\sum_r a_r\sigma'(w_{0,r}\cdot x)(w_r\cdot x)`, shape ``(n,)``."""
    return (sigma_prime(x @ net["W0"].T) * (x @ W.T)) @ net["a"]


def f_Q(net: dict[str, Array], W: Array, x: Array) -> Array:
    r"""Quadratic (QuadNTK) term :math:`f_Q(x;W)=\tfrac12\sum_r a_r\sigma''(w_{0,r}\cdot x)(w_r\cdot x)^2`."""
    return 0.5 * (sigma_second(x @ net["W0"].T) * (x @ W.T) ** 2) @ net["a"]


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
    s = sigma_prime(x @ net["W0"].T) * jnp.abs(net["a"])
    return (s @ s.T) * (x @ x.T)


def ntk_jacobian(net: dict[str, Array], x: Array) -> Array:
    r"""The full :math:`J` ``(n, m d)``, :math:`J_{i,(r,k)} = a_r\sigma'(w_{0,r}\cdot x_i)x_{ik}` (small sizes)."""
    s = sigma_prime(x @ net["W0"].T) * net["a"]
    return (s[:, :, None] * x[:, None, :]).reshape(x.shape[0], -1)


def singular_values(net: dict[str, Array], x: Array) -> Array:
    r"""Singular values of :math:`J`, descending, from the eigenvalues of :math:`JJ^\top` ``(n,)``."""
    ev = jnp.linalg.eigvalsh(ntk_gram(net, x))[::-1]
    return jnp.sqrt(jnp.clip(ev, 0.0))


def top_directions(net: dict[str, Array], x: Array, k: int) -> Array:
    r"""The top-``k`` left singular vectors :math:`U_k` ``(n, k)`` of :math:`J` (eigenvectors of :math:`JJ^\top`)."""
    k = _checks.positive_int("k", k)
    if k > x.shape[0]:
        raise ValueError(f"k must be at most n = {x.shape[0]}, got {k}")
    _, U = jnp.linalg.eigh(ntk_gram(net, x))
    return U[:, ::-1][:, :k]


def regularizer_r1(net: dict[str, Array], x: Array, k: int) -> Callable[[dict], Array]:
    r""":math:`R_1(W) = \|J_{\rm large}\,\mathrm{vec}W\|^2/n` with :math:`J_{\rm large}=J-U_kU_k^\top J`
    (:math:`J` minus its top-``k`` singular components) :math:`=\|(I-U_kU_k^\top)f_L(X;W)\|^2/n`.
    Returns ``R1({"W": W}) -> scalar``."""
    U = top_directions(net, x, k)

    def r1(params: dict) -> Array:
        v = f_L(net, params["W"], x)
        v = v - U @ (U.T @ v)
        return jnp.sum(v * v) / x.shape[0]

    return r1


def project_off_top(net: dict[str, Array], x: Array, W: Array, k: int) -> Array:
    r"""Remove from ``W`` its component in the row space of the top-``k`` block of :math:`J`:
    :math:`\mathrm{vec}W - V_kV_k^\top\mathrm{vec}W`, with :math:`V_k = J^\top U_k\,\mathrm{diag}(1/s_k)`."""
    ev, U = jnp.linalg.eigh(ntk_gram(net, x))
    U, s = U[:, ::-1][:, :k], jnp.sqrt(jnp.clip(ev[::-1][:k], 1e-30))
    c = (U.T @ f_L(net, W, x)) / s  # coordinates of vec W on V_k, (k,)
    g = U @ (c / s)  # (n,): V_k c = J^T g
    s_in = sigma_prime(x @ net["W0"].T) * net["a"]  # (n, m)
    return W - (s_in * g[:, None]).T @ x


def target(x: Array, beta: Array) -> Array:
    r"""The paper's unit-variance dense low-degree + sparse target :math:`f^*(x)=((\beta\cdot x)^2-1+\beta\cdot x)/
    \sqrt3`, :math:`\|\beta\|=1`; ``x`` ``(n, d)`` → ``(n,)``."""
    z = x @ beta
    return (z * z - 1.0 + z) / math.sqrt(3.0)


def fit(net: dict[str, Array], x: Array, y: Array, *, model: str = "LQ", lam: float | Array = 0.0, k: int = 1,
        steps: int, lr: float = 1.0, W_init: Array | None = None, x_test: Array | None = None,
        y_test: Array | None = None, n_evals: int = 50) -> tuple[Array, train.Trace, Array]:
    r"""Full-batch GD on the training MSE :math:`\tfrac1{2n}\sum_i(f(x_i;W)-y_i)^2+\lambda R_1(W)` for
    ``model`` in ``"L"``, ``"Q"``, ``"LQ"``, from ``W_init`` (default 0), as one ``lax.scan`` through
    :func:`featlearn.train.fit`. Returns the final ``W`` ``(m, d)``, the trace, and :math:`R_1` at each
    evaluation ``(n_evals + 1,)`` (recomputed from a second pass over the same evaluation points)."""
    _checks.one_of("model", model, MODELS)
    r1 = regularizer_r1(net, x, k)
    W0 = jnp.zeros_like(net["W0"]) if W_init is None else W_init
    apply_fn = model_fn(net, model)

    def reg(p):
        return lam * r1(p)

    # record R1 alongside: train in n_evals blocks of the same scan, reading W after each block
    every = steps // n_evals if steps % n_evals == 0 else None
    if every is None:
        raise ValueError(f"n_evals must divide steps = {steps}, got {n_evals}")

    def block(W, _):
        p, tr = train.fit({"W": W}, apply_fn, x, y, steps=every, lr=lr, regularizer=reg, x_test=x_test,
                          y_test=y_test, n_evals=1)
        return p["W"], (tr.train_loss[-1], tr.test_loss[-1], r1(p))

    p0 = {"W": W0}
    first = (train.loss_value(apply_fn(p0, x), y), train.loss_value(apply_fn(p0, x_test), y_test)
             if x_test is not None else jnp.nan, r1(p0))
    W, (tr, te, rr) = jax.lax.scan(block, W0, None, length=n_evals)
    cat = [jnp.concatenate([jnp.atleast_1d(a0), a]) for a0, a in zip(first, (tr, te, rr), strict=True)]
    trace = train.Trace(jnp.arange(n_evals + 1) * every, cat[0], cat[1], jnp.full_like(cat[0], jnp.nan))
    return W, trace, cat[2]
