r"""The average gradient outer product (AGOP), the Neural Feature Ansatz and Recursive Feature Machines.

For a predictor :math:`f:\mathbb R^d\to\mathbb R` and inputs :math:`x_1,\dots,x_n`, the AGOP is

.. math::
   \mathrm{AGOP}(f) = \frac1n\sum_{j=1}^n \nabla_x f(x_j)\,\nabla_x f(x_j)^\top \in\mathbb R^{d\times d}.

The *Neural Feature Ansatz* (Radhakrishnan et al.) states that after training, the first layer's Gram matrix
:math:`W^\top W` is close to a power of the AGOP, :math:`W^\top W\propto\mathrm{AGOP}^{\alpha}` with
:math:`\alpha\in\{1/2, 1\}`; closeness is measured by :func:`nfa_correlation`, the cosine between the two matrices
after subtracting each one's mean entry.

A *Recursive Feature Machine* (:func:`rfm`) alternates kernel ridge regression with the Laplace kernel
:math:`K_M(x,x') = \exp(-\|x-x'\|_M/L)`, :math:`\|z\|_M=\sqrt{z^\top Mz}`, and the update
:math:`M\leftarrow\mathrm{AGOP}` of the fitted predictor.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import Array

from . import _checks, _linalg, metrics, ridge


def agop(f: Callable[[Array], Array], x: Array) -> Array:
    r""":math:`\frac1n\sum_j\nabla f(x_j)\nabla f(x_j)^\top` for ``f: (d,) -> ()`` and ``x`` ``(n, d)``; ``(d, d)``."""
    if x.ndim != 2:
        raise ValueError(f"x must have shape (n, d), got {x.shape}")
    g = jax.vmap(jax.grad(f))(x)  # (n, d)
    return g.T @ g / x.shape[0]


def two_layer_input_gradients(params: dict, x: Array, *, scale: float = 1.0) -> Array:
    r"""Closed form of :math:`\nabla_x f(x) = s\,W^\top(a\odot\sigma'(Wx+b))` for the ReLU network
    :math:`f(x)=s\sum_i a_i\sigma(w_i\cdot x+b_i)`: ``(n, d)`` for ``x`` ``(n, d)``."""
    _checks.shape("x", x, (None, params["W"].shape[1]))
    gate = (x @ params["W"].T + params["b"] > 0).astype(x.dtype)  # (n, m)
    return scale * (gate * params["a"][None, :]) @ params["W"]


def two_layer_agop(params: dict, x: Array, *, scale: float = 1.0) -> Array:
    """AGOP of the two-layer ReLU network over the inputs ``x`` ``(n, d)``: ``(d, d)``."""
    g = two_layer_input_gradients(params, x, scale=scale)
    return g.T @ g / x.shape[0]


def nfa_correlation(A: Array, B: Array) -> Array:
    r"""Cosine between two matrices after subtracting each one's mean entry,
    :math:`\frac{\langle A-\bar A, B-\bar B\rangle_F}{\|A-\bar A\|_F\|B-\bar B\|_F}` (the Pearson correlation of
    their entries). It is 1 for ``A = cB`` with ``c > 0`` and does not change when either matrix is rescaled."""
    if A.shape != B.shape:
        raise ValueError(f"A and B must have the same shape, got {A.shape} and {B.shape}")
    a = A - jnp.mean(A)
    b = B - jnp.mean(B)
    return jnp.sum(a * b) / (jnp.linalg.norm(a) * jnp.linalg.norm(b))


def psd_power(A: Array, power: float) -> Array:
    r""":math:`A^{p}` for a symmetric positive semi-definite ``A`` (negative eigenvalues from rounding are set
    to 0); ``power=0.5`` is the matrix square root."""
    _checks.real_in("power", power, 0.0, low_open=True)
    s, V = _linalg.eigh((A + A.T) / 2)
    return (V * jnp.clip(s, 0.0) ** power) @ V.T


def mahalanobis_distances(X: Array, Y: Array, M: Array) -> Array:
    r""":math:`\|x-y\|_M = \sqrt{(x-y)^\top M(x-y)}` for every pair: ``(n_x, n_y)`` (``M`` PSD ``(d, d)``)."""
    d = X.shape[1]
    _checks.shape("Y", Y, (None, d))
    _checks.shape("M", M, (d, d))
    XM = X @ M
    sq = jnp.sum(XM * X, axis=1)[:, None] + jnp.sum((Y @ M) * Y, axis=1)[None, :] - 2 * XM @ Y.T
    pos = sq > 0
    # the double `where` keeps the gradient finite at x = y
    return jnp.where(pos, jnp.sqrt(jnp.where(pos, sq, 1.0)), 0.0)


def laplace_kernel(X: Array, Y: Array, M: Array | None = None, *, bandwidth: float = 1.0) -> Array:
    r"""Laplace kernel :math:`K_M(x,y)=\exp(-\|x-y\|_M/L)`; ``M=None`` is the identity. ``(n_x, n_y)``."""
    _checks.real_in("bandwidth", bandwidth, 0.0, low_open=True)
    M = jnp.eye(X.shape[1], dtype=X.dtype) if M is None else M
    return jnp.exp(-mahalanobis_distances(X, Y, M) / bandwidth)


def kernel_predictor_agop(X: Array, alpha: Array, M: Array, x: Array, *, bandwidth: float) -> Array:
    r"""AGOP over ``x`` of the kernel predictor :math:`\hat f(z) = \sum_j\alpha_j K_M(z, X_j)`, with the Laplace
    kernel's gradient :math:`\nabla_z K_M(z,X_j) = -K_M(z,X_j)\,M(z-X_j)/(L\|z-X_j\|_M)` (0 at ``z = X_j``)."""
    D = mahalanobis_distances(x, X, M)  # (n_x, n)
    K = jnp.exp(-D / bandwidth)
    c = jnp.where(D > 0, -K * alpha[None, :] / (bandwidth * jnp.where(D > 0, D, 1.0)), 0.0)  # (n_x, n)
    # ∇f(z_i) = M Σ_j c_ij (z_i − X_j) = M (z_i Σ_j c_ij − c_i·X)
    g = (x * jnp.sum(c, axis=1, keepdims=True) - c @ X) @ M  # (n_x, d); M symmetric
    return g.T @ g / x.shape[0]


class RFMResult(NamedTuple):
    """Result of :func:`rfm`: ``test_error`` ``(B+T,)`` (0-1 error of the sign of each predictor: first the plain
    Laplace kernel, ``M = I``, at each of the ``B`` bandwidths, then the predictor after each of the ``T``
    iterations at the chosen bandwidth), the final ``M`` ``(d, d)``, the predictions of the same predictors on the
    test inputs, ``test_pred`` ``(B+T, n_test)``, and on the validation inputs, ``val_pred`` ``(B+T, n_val)``
    (``None`` without a validation set), the index ``choice`` of the chosen bandwidth and the ``bandwidth`` itself
    (``B = 1``: one bandwidth, ``choice`` 0)."""

    test_error: Array
    M: Array
    test_pred: Array
    val_pred: Array | None
    choice: Array | int = 0
    bandwidth: Array | float = 10.0


def rfm(x: Array, y: Array, x_test: Array, y_test: Array, *, iterations: int = 5,
        bandwidth: float | Sequence[float] = 10.0, rel_lams: Array | None = None, x_val: Array | None = None,
        y_val: Array | None = None) -> RFMResult:
    r"""Recursive Feature Machine: for :math:`t=0..T`, fit kernel ridge regression with :math:`K_{M_t}` (penalty
    by exact leave-one-out error, or on the validation set ``x_val``, ``y_val`` when one is given), record its test
    0-1 error and its predictions, then set :math:`M_{t+1}=\mathrm{AGOP}(\hat f_t)` over the training inputs,
    rescaled to trace ``d`` (so that distances keep the scale of :math:`M_0=I`).

    ``bandwidth`` :math:`L`: one value, or several; with several (a validation set is then required) the plain
    Laplace kernel :math:`M_0 = I` is fitted at each, and the iterations run at the one whose fit has the smallest
    validation square loss (the bandwidth is chosen on validation data like the penalty).
    Shapes: ``x`` ``(n, d)``, ``y`` ``(n,)`` (in ``{±1}`` for the 0-1 error; any real labels otherwise),
    ``x_val`` ``(n_val, d)``, ``y_val`` ``(n_val,)``; ``iterations`` is :math:`T`."""
    iterations = _checks.nonneg_int("iterations", iterations)
    widths = tuple(bandwidth) if isinstance(bandwidth, (tuple, list)) else (bandwidth,)
    if not widths:
        raise ValueError("bandwidth must be a positive number or a non-empty sequence of them, got ()")
    for L in widths:
        _checks.real_in("bandwidth", L, 0.0, low_open=True)
    n, d = x.shape
    _checks.shape("y", y, (n,))
    if (x_val is None) != (y_val is None):
        raise ValueError("x_val and y_val must be given together (a validation set), or neither (leave-one-out)")
    if len(widths) > 1 and x_val is None:
        raise ValueError(f"several bandwidths ({len(widths)}) need a validation set (x_val, y_val) to choose one")

    def fit(M: Array, L: Array | float) -> tuple[Array, Array, Array | None]:
        K, Kt = laplace_kernel(x, x, M, bandwidth=L), laplace_kernel(x_test, x, M, bandwidth=L)
        Kv = None if x_val is None else laplace_kernel(x_val, x, M, bandwidth=L)
        coef = ridge.kernel_ridge(K, y, Kv, y_val, rel_lams=rel_lams).coef  # λ by leave-one-out, or on validation
        return coef, Kt @ coef, None if Kv is None else Kv @ coef

    M = jnp.eye(d, dtype=x.dtype)
    plain = [fit(M, L) for L in widths]
    preds = [f[1] for f in plain]
    vals = [f[2] for f in plain] if x_val is not None else []
    if len(widths) > 1:
        choice = jnp.argmin(jnp.stack([jnp.mean((v - y_val) ** 2) for v in vals]))
        L = jnp.asarray(widths, x.dtype)[choice]
        coef = jnp.stack([f[0] for f in plain])[choice]
    else:
        choice, L, coef = 0, widths[0], plain[0][0]
    for _ in range(iterations):
        G = kernel_predictor_agop(x, coef, M, x, bandwidth=L)
        M = d * G / jnp.maximum(jnp.trace(G), jnp.finfo(x.dtype).tiny)
        coef, pt, pv = fit(M, L)
        preds.append(pt)
        if pv is not None:
            vals.append(pv)
    errs = jnp.stack([metrics.classification_error(q, y_test) for q in preds])
    return RFMResult(errs, M, jnp.stack(preds), jnp.stack(vals) if vals else None, choice, L)
