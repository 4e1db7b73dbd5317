r"""Training kernels: full-batch GD / mini-batch SGD as one ``lax.scan``, and ridge regression.

Every function here is pure and traceable: ``jax.vmap`` it over seeds (the ``key`` / initial ``params``) and
over hyperparameters (``lr``, ``weight_decay``, ``lambdas``) to run a whole sweep as one compiled program.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax import Array

from . import _checks, _linalg, rng

LOSSES = ("mse", "hinge", "logistic")
OPTIMIZERS = ("sgd", "momentum", "adam")


def loss_value(pred: Array, y: Array, loss: str = "mse") -> Array:
    r"""Mean loss: ``"mse"`` :math:`\tfrac12(f-y)^2`, ``"hinge"`` :math:`\max(0,1-yf)`, ``"logistic"``
    :math:`\log(1+e^{-yf})`."""
    if loss == "mse":
        return 0.5 * jnp.mean((pred - y) ** 2)
    if loss == "hinge":
        return jnp.mean(jax.nn.relu(1.0 - y * pred))
    if loss == "logistic":
        return jnp.mean(jax.nn.softplus(-y * pred))
    raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")


class Trace(NamedTuple):
    """Thinned record of a run: ``step`` ``(k,)``, ``train_loss`` ``(k,)``, ``test_loss`` ``(k,)`` (NaN when no
    test set), ``grad_norm`` ``(k,)`` (norm of the gradient of the regularised objective)."""

    step: Array
    train_loss: Array
    test_loss: Array
    grad_norm: Array


def make_optimizer(name: str, lr: Array | float, momentum: float = 0.9) -> optax.GradientTransformation:
    """An optax optimizer whose learning rate is a hyperparameter in its state (so ``lr`` may be traced)."""
    _checks.one_of("optimizer", name, OPTIMIZERS)
    if name == "sgd":
        return optax.inject_hyperparams(optax.sgd)(learning_rate=lr)
    if name == "momentum":
        return optax.inject_hyperparams(optax.sgd)(learning_rate=lr, momentum=momentum)
    return optax.inject_hyperparams(optax.adam)(learning_rate=lr)


def fit(params: dict, apply_fn: Callable[[dict, Array], Array], x: Array, y: Array, *, steps: int,
        lr: Array | float, optimizer: str = "sgd", weight_decay: Array | float = 0.0, loss: str = "mse",
        trainable: Sequence[str] | None = None, batch_size: int | None = None, key: Array | None = None,
        x_test: Array | None = None, y_test: Array | None = None, n_evals: int = 50,
        regularizer: Callable[[dict], Array] | None = None) -> tuple[dict, Trace]:
    r"""Minimise :math:`L(\theta) + \tfrac{\lambda}{2}\|\theta_{\rm train}\|^2 (+ R(\theta))` by (S)GD.

    Shapes: ``x`` ``(n, d)``, ``y`` ``(n,)``. ``trainable``: names of the parameters that move (default all);
    the others stay frozen. ``batch_size=None`` is full-batch GD; otherwise each step draws ``batch_size``
    indices with replacement from ``key``. ``n_evals`` evaluations are recorded, evenly spaced (it must divide
    ``steps``), plus the initial point. The loop is a ``lax.scan`` of ``lax.scan``\ s: no Python loop under
    ``jit`` and no host synchronisation per step.
    """
    steps = _checks.positive_int("steps", steps)
    n_evals = _checks.positive_int("n_evals", n_evals)
    if steps % n_evals:
        raise ValueError(f"n_evals must divide steps = {steps}, got {n_evals}")
    _checks.one_of("loss", loss, LOSSES)
    _checks.real_in("lr", lr, 0.0, low_open=True)
    _checks.real_in("weight_decay", weight_decay, 0.0)
    n = x.shape[0]
    _checks.shape("y", y, (n,))
    if batch_size is not None:
        batch_size = _checks.positive_int("batch_size", batch_size)
        if key is None:
            raise ValueError("key must be given when batch_size is set (mini-batch SGD draws batches from it)")
    names = tuple(params) if trainable is None else tuple(trainable)
    for nm in names:
        if nm not in params:
            raise ValueError(f"trainable names unknown parameter {nm!r}; parameters are {tuple(params)}")
    has_test = x_test is not None and y_test is not None

    train_p = {k: params[k] for k in names}
    frozen = {k: v for k, v in params.items() if k not in names}

    def objective(tp, xb, yb):
        full = {**frozen, **tp}
        val = loss_value(apply_fn(full, xb), yb, loss)
        reg = 0.5 * weight_decay * sum(jnp.sum(v * v) for v in tp.values())
        if regularizer is not None:
            reg = reg + regularizer(full)
        return val + reg

    tx = make_optimizer(optimizer, lr)
    opt_state = tx.init(train_p)
    grad_fn = jax.value_and_grad(objective)
    key = jax.random.key(0) if key is None else key

    def step(carry, k):
        tp, st = carry
        if batch_size is None:
            xb, yb = x, y
        else:
            idx = rng.randint(k, (batch_size,), 0, n)
            xb, yb = x[idx], y[idx]
        _, g = grad_fn(tp, xb, yb)
        upd, st = tx.update(g, st, tp)
        return (optax.apply_updates(tp, upd), st), None

    def evaluate(tp):
        full = {**frozen, **tp}
        tr = loss_value(apply_fn(full, x), y, loss)
        te = loss_value(apply_fn(full, x_test), y_test, loss) if has_test else jnp.nan
        g = jax.grad(objective)(tp, x, y)
        gn = jnp.sqrt(sum(jnp.sum(v * v) for v in jax.tree_util.tree_leaves(g)))
        return tr, te, gn

    every = steps // n_evals

    def block(carry, keys):
        carry, _ = jax.lax.scan(step, carry, keys)
        return carry, evaluate(carry[0])

    keys = jax.random.split(key, steps).reshape(n_evals, every)
    init_eval = evaluate(train_p)
    (train_p, _), evals = jax.lax.scan(block, (train_p, opt_state), keys)
    tr, te, gn = (jnp.concatenate([jnp.atleast_1d(a0), a]) for a0, a in zip(init_eval, evals, strict=True))
    trace = Trace(jnp.arange(n_evals + 1) * every, tr, te.astype(tr.dtype), gn)
    return {**frozen, **train_p}, trace


class RidgeFit(NamedTuple):
    """Result of :func:`ridge` / :func:`kernel_ridge`: ``coef`` (``(p,)`` weights or ``(n,)`` dual weights),
    the selected ``lam``, ``val_mse`` ``(L,)`` over the grid, and the index ``best``."""

    coef: Array
    lam: Array
    val_mse: Array
    best: Array


def log_grid(low: float = 1e-6, high: float = 1e1, num: int = 15) -> Array:
    """A log-spaced grid of ridge penalties."""
    _checks.real_in("low", low, 0.0, low_open=True)
    _checks.real_in("high", high, low, low_open=True)
    num = _checks.positive_int("num", num)
    return jnp.logspace(jnp.log10(low), jnp.log10(high), num)


def ridge(F: Array, y: Array, F_val: Array, y_val: Array, lambdas: Array | None = None) -> RidgeFit:
    r"""Ridge regression :math:`\min_\theta \tfrac1n\|F\theta-y\|^2+\lambda\|\theta\|^2` with :math:`\lambda`
    chosen on the validation set from ``lambdas`` (default :func:`log_grid`, relative to the mean eigenvalue).

    One eigendecomposition — of :math:`F^\top F/n` (``p <= n``) or :math:`FF^\top/n` (``p > n``) — serves
    every :math:`\lambda`. Shapes: ``F`` ``(n, p)``, ``y`` ``(n,)``, ``F_val`` ``(n_val, p)``.
    """
    n, p = F.shape
    _checks.shape("y", y, (n,))
    _checks.shape("F_val", F_val, (None, p))
    _checks.shape("y_val", y_val, (F_val.shape[0],))
    if p <= n:
        s, V = _linalg.eigh(F.T @ F / n)
        b = V.T @ (F.T @ y) / n  # (p,)

        def coefs(lams):  # (L, p)
            return (b[None, :] / (s[None, :] + lams[:, None])) @ V.T
    else:
        s, Q = _linalg.eigh(F @ F.T / n)
        b = Q.T @ y / n

        def coefs(lams):
            return ((b[None, :] / (s[None, :] + lams[:, None])) @ Q.T) @ F
    scale = jnp.maximum(jnp.mean(jnp.clip(s, 0.0)), jnp.finfo(F.dtype).tiny)
    lams = (log_grid() if lambdas is None else jnp.asarray(lambdas, F.dtype)) * scale
    C = coefs(lams)
    val = jnp.mean((F_val @ C.T - y_val[:, None]) ** 2, axis=0)
    best = jnp.argmin(val)
    return RidgeFit(C[best], lams[best], val, best)


def kernel_ridge(K: Array, y: Array, K_val: Array, y_val: Array, lambdas: Array | None = None) -> RidgeFit:
    r"""Kernel ridge regression :math:`\alpha = (K/n + \lambda I)^{-1} y/n`, predictions :math:`K(\cdot,X)\alpha`,
    :math:`\lambda` chosen on the validation set (grid relative to the mean eigenvalue of :math:`K/n`).

    Shapes: ``K`` ``(n, n)``, ``y`` ``(n,)``, ``K_val`` ``(n_val, n)``. One ``eigh`` serves all λ."""
    n = K.shape[0]
    _checks.shape("K", K, (n, n))
    _checks.shape("y", y, (n,))
    _checks.shape("K_val", K_val, (None, n))
    _checks.shape("y_val", y_val, (K_val.shape[0],))
    s, Q = _linalg.eigh(K / n)
    b = Q.T @ y / n
    scale = jnp.maximum(jnp.mean(jnp.clip(s, 0.0)), jnp.finfo(K.dtype).tiny)
    lams = (log_grid() if lambdas is None else jnp.asarray(lambdas, K.dtype)) * scale
    A = (b[None, :] / (jnp.clip(s, 0.0)[None, :] + lams[:, None])) @ Q.T  # (L, n)
    val = jnp.mean((K_val @ A.T - y_val[:, None]) ** 2, axis=0)
    best = jnp.argmin(val)
    return RidgeFit(A[best], lams[best], val, best)


def kernel_ridge_loo(K: Array, y: Array, lambdas: Array | None = None) -> RidgeFit:
    r"""Kernel ridge regression with :math:`\lambda` chosen by exact leave-one-out error (no validation split).

    With :math:`K/n = Q\,\mathrm{diag}(s)\,Q^\top` and the hat matrix :math:`H_\lambda = K(K+n\lambda I)^{-1}
    = Q\,\mathrm{diag}(s/(s+\lambda))\,Q^\top`, the leave-one-out residuals are
    :math:`(y-H_\lambda y)_i/(1-(H_\lambda)_{ii})`; one ``eigh`` serves every :math:`\lambda`.
    ``val_mse`` holds the LOO errors. Shapes: ``K`` ``(n, n)``, ``y`` ``(n,)``; ``coef`` are dual weights."""
    n = K.shape[0]
    _checks.shape("K", K, (n, n))
    _checks.shape("y", y, (n,))
    s, Q = _linalg.eigh(K / n)
    s = jnp.clip(s, 0.0)
    b = Q.T @ y
    scale = jnp.maximum(jnp.mean(s), jnp.finfo(K.dtype).tiny)
    lams = (log_grid() if lambdas is None else jnp.asarray(lambdas, K.dtype)) * scale
    shrink = s[None, :] / (s[None, :] + lams[:, None])  # (L, n)
    fitted = (shrink * b[None, :]) @ Q.T  # (L, n)
    hdiag = shrink @ (Q.T**2)  # (L, n)
    loo = jnp.mean(((y[None, :] - fitted) / (1.0 - hdiag)) ** 2, axis=1)
    best = jnp.argmin(loo)
    coef = Q @ (b / (s + lams[best])) / n
    return RidgeFit(coef, lams[best], loo, best)


class KernelRidgeCG(NamedTuple):
    """Result of :func:`kernel_ridge_cg`: the fields of :class:`RidgeFit`, plus the number of conjugate-gradient
    ``iterations`` run and the relative ``residual`` :math:`\\|b-A_\\lambda\\alpha_\\lambda\\|/\\|b\\|` ``(L,)``
    for each :math:`\\lambda` of the grid."""

    coef: Array
    lam: Array
    val_mse: Array
    best: Array
    iterations: Array
    residual: Array


def kernel_ridge_cg(K: Array, y: Array, K_val: Array, y_val: Array, lambdas: Array | None = None, *,
                    rank: int = 512, tol: float = 1e-4, maxiter: int = 500, max_residual: float = 1e-2
                    ) -> KernelRidgeCG:
    r"""Kernel ridge regression as :func:`kernel_ridge` — dual weights :math:`\alpha_\lambda = (K/n+\lambda I)^{-1}
    y/n`, the grid ``lambdas`` (default :func:`log_grid`) relative to the mean eigenvalue :math:`\mathrm{tr}K/n^2`
    of :math:`K/n`, :math:`\lambda` chosen on the validation set — solved by preconditioned conjugate gradients
    for every :math:`\lambda` at once instead of an eigendecomposition of :math:`K` (:math:`9n^3` flops; the
    benchmarks find CG faster from :math:`n\approx1100`).

    Preconditioner: the Nyström approximation of :math:`K/n` on its first :math:`r=\min(\text{rank}, n/2)` rows
    (the rows are exchangeable, so this is a uniform sample of landmarks), :math:`BB^\top`, plus the mean of the
    rest of the spectrum, :math:`\mu = \mathrm{tr}(K/n - BB^\top)/(n-r)`: :math:`M_\lambda = BB^\top +
    (\mu+\lambda)I`, inverted for all :math:`\lambda` from two ``r × r`` eigendecompositions. For
    rotation-invariant kernels on :math:`n\ll d^3` Gaussian inputs the part of :math:`K` beyond low degrees is
    close to a multiple of the identity, so :math:`M_\lambda^{-1}(K/n+\lambda I)` is well conditioned for every
    :math:`\lambda` (a few dozen iterations to ``tol``). Stops when every :math:`\lambda`'s relative residual is
    below ``tol`` or after ``maxiter`` iterations, then restarts once from the true residual (``maxiter`` again;
    in float32 the recursively updated residual drifts from the true one). A :math:`\lambda` whose final relative
    residual exceeds ``max_residual`` is not a ridge solution and is not selected (its ``val_mse`` is ``inf``):
    for a nearly singular :math:`K` the smallest penalties converge slowly, and they are the ones validation
    rejects anyway. Safe under ``vmap`` (eigendecompositions through :mod:`featlearn._linalg`).

    Shapes: ``K`` ``(n, n)``, ``y`` ``(n,)``, ``K_val`` ``(n_val, n)``; ``coef`` ``(n,)`` dual weights."""
    n = K.shape[0]
    _checks.shape("K", K, (n, n))
    _checks.shape("y", y, (n,))
    _checks.shape("K_val", K_val, (None, n))
    _checks.shape("y_val", y_val, (K_val.shape[0],))
    rank = _checks.positive_int("rank", rank)
    maxiter = _checks.positive_int("maxiter", maxiter)
    _checks.real_in("tol", tol, 0.0, low_open=True)
    _checks.real_in("max_residual", max_residual, 0.0, low_open=True)
    r = max(min(rank, n // 2), 1)
    Kn = K / n
    trace = jnp.trace(Kn)
    scale = jnp.maximum(trace / n, jnp.finfo(K.dtype).tiny)
    lams = (log_grid() if lambdas is None else jnp.asarray(lambdas, K.dtype)) * scale  # (L,)

    # Nystrom factor B (n, r) with B B^T = K_{nr} K_{rr}^+ K_{rn} / n, then its orthonormal column basis U.
    s, Q = _linalg.eigh(K[:r, :r])
    keep = s > 1e-6 * s[-1]
    B = (K[:, :r] @ Q) * jnp.where(keep, 1.0 / jnp.sqrt(jnp.where(keep, s, 1.0)), 0.0) / jnp.sqrt(n)
    e, V = _linalg.eigh(B.T @ B)
    ok = e > 1e-7 * e[-1]
    e = jnp.where(ok, e, 0.0)
    U = (B @ V) * jnp.where(ok, 1.0 / jnp.sqrt(jnp.where(ok, e, 1.0)), 0.0)
    mu = jnp.maximum(trace - jnp.sum(e), 0.0) / (n - r)
    shift = lams + mu

    def precondition(R):  # M_lambda^{-1} R, one column per lambda
        C = U.T @ R
        return U @ (C / (e[:, None] + shift[None, :])) + (R - U @ C) / shift[None, :]

    def apply(P):
        return Kn @ P + lams[None, :] * P

    def safe_div(a, b):
        return jnp.where(b > 0, a / jnp.where(b > 0, b, 1.0), 0.0)

    rhs = jnp.broadcast_to((y / n)[:, None], (n, lams.shape[0]))
    rhs_norm = jnp.maximum(jnp.linalg.norm(rhs, axis=0), jnp.finfo(K.dtype).tiny)

    def cond(state):
        _, R, _, _, k = state
        return (k < maxiter) & (jnp.max(jnp.linalg.norm(R, axis=0) / rhs_norm) > tol)

    def body(state):
        A, R, P, rz, k = state
        AP = apply(P)
        step = safe_div(rz, jnp.sum(P * AP, axis=0))
        A, R = A + step * P, R - step * AP
        Z = precondition(R)
        rz_new = jnp.sum(R * Z, axis=0)
        return A, R, Z + safe_div(rz_new, rz) * P, rz_new, k + 1

    A, iterations = jnp.zeros_like(rhs), 0
    for _ in range(2):  # a first solve, then one restart from the true residual
        R = rhs - apply(A)
        Z = precondition(R)
        A, _, _, _, k = jax.lax.while_loop(cond, body, (A, R, Z, jnp.sum(R * Z, axis=0), 0))
        iterations = iterations + k
    residual = jnp.linalg.norm(rhs - apply(A), axis=0) / rhs_norm
    val = jnp.mean((K_val @ A - y_val[:, None]) ** 2, axis=0)
    val = jnp.where(jnp.isfinite(val) & (residual <= max_residual), val, jnp.inf)
    best = jnp.argmin(val)
    return KernelRidgeCG(A[:, best], lams[best], val, best, iterations, residual)
