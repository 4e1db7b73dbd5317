r"""Ridge regression, every form the library fits in closed form: primal on features (:func:`ridge`), from
sufficient statistics (:func:`ridge_from_stats`), dual on a kernel (:func:`kernel_ridge`, by one
eigendecomposition or by conjugate gradients) and dual in float64 by Cholesky solves (:func:`kernel_ridge_cholesky`,
for noiseless targets whose penalties lie below float32's resolution). One relative penalty grid
(:data:`RIDGE_LAMBDAS`), one normalisation (the mean eigenvalue), one selection rule (the smallest held-out error,
never the test error).

The JAX solvers are pure and traceable: ``jax.vmap`` them over seeds and grids.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array

from . import _checks, _linalg

# One solver. Every form reduces to a symmetric positive semi-definite k × k system (G + λI) c = b:
#   primal, p <= n:  G = FᵀF/n (p × p), b = Fᵀy/n, θ = c;
#   primal, p > n:   G = FFᵀ/n (n × n), b = y/n,   θ = Fᵀc;
#   statistics:      G = Σ̂ (m × m),     b = v̂,     θ = c;
#   dual (kernel):   G = K/n (n × n),   b = y/n,   α = c.
# _path solves it for the whole grid from one eigendecomposition (conjugate gradients: _cg_path); λ is chosen by
# one of three held-out errors (_validation_mse, _statistics_mse, _loo_mse) and one rule (_select).

RIDGE_LAMBDAS: tuple[float, ...] = tuple(10.0 ** (k / 2) for k in range(-12, 3))
r"""The ridge-penalty grid of every solver in the library: :math:`10^{-6}, 10^{-5.5}, \dots, 10^{1}` (15 values,
two per decade), *relative* to the mean eigenvalue :math:`\bar s` of the normalised Gram matrix — :math:`\bar s =
\mathrm{tr}(F^\top F/n)/p` in the primal form, :math:`\mathrm{tr}(K/n)/n` in the dual — so that the same grid fits
features and kernels of any scale: the solvers use :math:`\lambda = \rho\,\bar s` for each :math:`\rho` here."""

SOLVERS = ("eigh", "cg")


class RidgeFit(NamedTuple):
    r"""Result of every ridge solver (:func:`ridge`, :func:`ridge_from_stats`, :func:`kernel_ridge`).

    ``coef``: the weights at the selected penalty, ``(p,)`` primal :math:`\theta` or ``(n,)`` dual
    :math:`\alpha`; ``lam``: the selected :math:`\lambda` (absolute, :math:`\rho\,\bar s`); ``rel_lam``: the same
    relative to the mean eigenvalue (an entry of the grid, exactly); ``val_mse`` ``(L,)``: the held-out error that
    chose it, for every :math:`\lambda` of the grid (validation or leave-one-out MSE; ``inf`` for a :math:`\lambda`
    that may not be chosen); ``best``: the index of the selected :math:`\lambda`; ``iterations``: conjugate-gradient
    iterations (0 for the eigendecomposition); ``residual`` ``(L,)``: the relative residual
    :math:`\|b-(G+\lambda I)c_\lambda\|/\|b\|` of the linear system solved for each :math:`\lambda`."""

    coef: Array
    lam: Array
    rel_lam: Array
    val_mse: Array
    best: Array
    iterations: Array
    residual: Array


class RidgeStats(NamedTuple):
    r"""Sufficient statistics of a primal ridge problem with a validation set: :math:`\hat\Sigma = F^\top F/n`
    ``(p, p)``, :math:`\hat v = F^\top y/n` ``(p,)`` on the training rows, :math:`\Sigma_{\rm val}`, :math:`v_{\rm
    val}` and :math:`q_{\rm val} = \overline{y^2}` (scalar) on the validation rows. Memory :math:`O(p^2)` whatever
    the number of rows, so they can be accumulated over streamed batches."""

    gram: Array
    v: Array
    gram_val: Array
    v_val: Array
    q_val: Array


def log_grid() -> Array:
    """:data:`RIDGE_LAMBDAS`, the relative ridge-penalty grid, as an array ``(15,)``."""
    return jnp.asarray(RIDGE_LAMBDAS)


def _checked_grid(rel_lams: Array | Sequence[float]) -> list[float]:
    """The relative penalties ``rel_lams`` as floats; a clear error unless they form a non-empty 1-D grid of finite
    values above 0."""
    try:
        vals = [float(v) for v in (jax.device_get(rel_lams) if isinstance(rel_lams, jax.Array) else rel_lams)]
    except TypeError:  # a scalar or a nested grid
        vals = []
    if not vals or not all(0.0 < v < float("inf") for v in vals):
        raise ValueError(f"rel_lams must be a non-empty 1-D grid of finite penalties > 0, got {rel_lams!r}")
    return vals


def _relative_grid(rel_lams: Array | Sequence[float] | None, dtype) -> Array:
    """``rel_lams`` (default :data:`RIDGE_LAMBDAS`) as a ``(L,)`` array, checked when it is not traced."""
    if rel_lams is None:
        return jnp.asarray(RIDGE_LAMBDAS, dtype)
    if not isinstance(rel_lams, jax.core.Tracer):  # a traced grid (vmapped over) is not checked
        _checked_grid(rel_lams)
    return jnp.asarray(rel_lams, dtype)


def _grid(rel_lams, trace: Array, dim: int, dtype) -> tuple[Array, Array]:
    r"""Relative grid ``(L,)`` and absolute penalties :math:`\lambda = \rho\,\bar s` ``(L,)``, with the mean
    eigenvalue :math:`\bar s = \mathrm{tr}\,G/\dim` of the ``dim × dim`` normalised Gram matrix."""
    rel = _relative_grid(rel_lams, dtype)
    return rel, rel * jnp.maximum(trace / dim, jnp.finfo(dtype).tiny)


def _eig(G: Array) -> tuple[Array, Array]:
    """Eigenvalues (clipped at 0: ``G`` is positive semi-definite) and eigenvectors of ``G`` (vmap-safe)."""
    s, V = _linalg.eigh(G)
    return jnp.clip(s, 0.0), V


def _path(s: Array, V: Array, b: Array, lams: Array) -> Array:
    r"""The solution path :math:`c_\lambda = (G+\lambda I)^{-1}b = V\,\mathrm{diag}(1/(s+\lambda))\,V^\top b`
    for every :math:`\lambda`, from one eigendecomposition :math:`G = V\mathrm{diag}(s)V^\top`: ``(L, k)``."""
    return ((V.T @ b)[None, :] / (s[None, :] + lams[:, None])) @ V.T


def _residual(G: Array, C: Array, b: Array, lams: Array) -> Array:
    r""":math:`\|b-(G+\lambda I)c_\lambda\|/\|b\|` for every row :math:`c_\lambda` of ``C`` ``(L, k)``: ``(L,)``."""
    R = C @ G + lams[:, None] * C - b[None, :]  # G is symmetric
    return jnp.linalg.norm(R, axis=1) / jnp.maximum(jnp.linalg.norm(b), jnp.finfo(b.dtype).tiny)


def _validation_mse(pred: Array, y_val: Array) -> Array:
    """Validation MSE of predictions ``(n_val, L)``, one column per λ: ``(L,)``."""
    return jnp.mean((pred - y_val[:, None]) ** 2, axis=0)


def _statistics_mse(C: Array, gram_val: Array, v_val: Array, q_val: Array) -> Array:
    r"""Validation MSE from sufficient statistics, :math:`\theta^\top\Sigma_{\rm val}\theta - 2\theta^\top v_{\rm
    val} + q_{\rm val}`, for every row :math:`\theta` of ``C`` ``(L, p)``: ``(L,)``."""
    return jnp.einsum("li,ij,lj->l", C, gram_val, C) - 2 * C @ v_val + q_val


def _loo_mse(U: Array, w: Array, y: Array) -> Array:
    r"""Exact leave-one-out MSE for hat matrices :math:`H_\lambda = U\,\mathrm{diag}(w_\lambda)\,U^\top`
    (``U`` ``(n, k)``, ``w`` ``(L, k)``): :math:`\frac1n\sum_i\bigl((y-H_\lambda y)_i/(1-(H_\lambda)_{ii})\bigr)^2`
    for every :math:`\lambda` (the residual of a refit without row :math:`i`, in closed form): ``(L,)``."""
    fitted = (w * (U.T @ y)[None, :]) @ U.T  # (L, n)
    hdiag = w @ (U.T**2)  # (L, n)
    return jnp.mean(((y[None, :] - fitted) / (1.0 - hdiag)) ** 2, axis=1)


def _select(coefs: Array, rel: Array, lams: Array, score: Array, residual: Array, iterations: Array | int = 0,
            usable: Array | None = None) -> RidgeFit:
    """The one selection rule: the λ of smallest held-out error among those whose error is finite (and, for an
    iterative solve, whose system was solved: ``usable``). ``coefs`` ``(L, k)``."""
    ok = jnp.isfinite(score) if usable is None else jnp.isfinite(score) & usable
    score = jnp.where(ok, score, jnp.inf)
    best = jnp.argmin(score)
    return RidgeFit(coefs[best], lams[best], rel[best], score, best, jnp.asarray(iterations), residual)


def _validation_pair(name: str, X_val: Array | None, y_val: Array | None, ncol: int) -> bool:
    if (X_val is None) != (y_val is None):
        raise ValueError(f"{name} and y_val must be given together (a validation set), or neither (leave-one-out)")
    if X_val is None:
        return False
    _checks.shape(name, X_val, (None, ncol))
    _checks.shape("y_val", y_val, (X_val.shape[0],))
    return True


def ridge(F: Array, y: Array, F_val: Array | None = None, y_val: Array | None = None, *,
          rel_lams: Array | Sequence[float] | None = None) -> RidgeFit:
    r"""Ridge regression in the primal, :math:`\theta_\lambda = \arg\min_\theta \tfrac1n\|F\theta-y\|^2 +
    \lambda\|\theta\|^2 = (F^\top F/n+\lambda I)^{-1}F^\top y/n`, with :math:`\lambda` chosen from the grid
    ``rel_lams`` (default :data:`RIDGE_LAMBDAS`, relative to the mean eigenvalue :math:`\mathrm{tr}(F^\top F/n)/p`)
    on the validation set ``F_val``, ``y_val``, or, when none is given, by exact leave-one-out error on the
    training rows (:math:`H_\lambda = F(F^\top F+n\lambda I)^{-1}F^\top`, residuals
    :math:`(y-H_\lambda y)_i/(1-(H_\lambda)_{ii})`). Never on test data.

    One eigendecomposition serves every :math:`\lambda`: of :math:`F^\top F/n` when ``p <= n``, of
    :math:`FF^\top/n` (then :math:`\theta = F^\top c`) when ``p > n``. Shapes: ``F`` ``(n, p)``, ``y`` ``(n,)``,
    ``F_val`` ``(n_val, p)``, ``y_val`` ``(n_val,)``; ``coef`` ``(p,)``."""
    _checks.shape("F", F, (None, None))
    n, p = F.shape
    _checks.shape("y", y, (n,))
    validated = _validation_pair("F_val", F_val, y_val, p)
    rel, lams = _grid(rel_lams, jnp.sum(F * F) / n, p, F.dtype)
    if p <= n:
        G, b = F.T @ F / n, F.T @ y / n
        s, V = _eig(G)
        coefs = C = _path(s, V, b, lams)  # (L, p)

        def hat():  # H = (FV/√n) diag(1/(s+λ)) (FV/√n)ᵀ
            return F @ V / jnp.sqrt(n), 1.0 / (s[None, :] + lams[:, None])
    else:
        G, b = F @ F.T / n, y / n
        s, V = _eig(G)
        C = _path(s, V, b, lams)  # (L, n): dual weights
        coefs = C @ F

        def hat():  # H = V diag(s/(s+λ)) Vᵀ
            return V, s[None, :] / (s[None, :] + lams[:, None])
    score = _validation_mse(F_val @ coefs.T, y_val) if validated else _loo_mse(*hat(), y)
    return _select(coefs, rel, lams, score, _residual(G, C, b, lams))


def ridge_from_stats(gram: Array, v: Array, gram_val: Array, v_val: Array, q_val: Array, *,
                     rel_lams: Array | Sequence[float] | None = None) -> RidgeFit:
    r""":func:`ridge` with a validation set, from sufficient statistics (:class:`RidgeStats`; pass them as
    ``ridge_from_stats(*stats)``): :math:`\theta_\lambda = (\hat\Sigma+\lambda I)^{-1}\hat v` for every
    :math:`\lambda` of the grid (relative to :math:`\mathrm{tr}\hat\Sigma/p`) from one eigendecomposition, and
    :math:`\lambda` chosen by the validation MSE :math:`\theta^\top\Sigma_{\rm val}\theta - 2\theta^\top v_{\rm
    val} + q_{\rm val}`. Memory :math:`O(p^2)`: the rows themselves are never needed. Shapes: ``gram``,
    ``gram_val`` ``(p, p)``, ``v``, ``v_val`` ``(p,)``, ``q_val`` scalar; ``coef`` ``(p,)``.

    (An eigendecomposition, not a Cholesky solve per :math:`\lambda`: with jaxlib 0.10.2 on a CPU the batched
    triangular solve behind ``cho_solve`` can deadlock XLA's intra-op thread pool.)"""
    _checks.shape("gram", gram, (None, None))
    p = gram.shape[0]
    _checks.shape("gram", gram, (p, p))
    _checks.shape("v", v, (p,))
    _checks.shape("gram_val", gram_val, (p, p))
    _checks.shape("v_val", v_val, (p,))
    _checks.shape("q_val", q_val, ())
    rel, lams = _grid(rel_lams, jnp.trace(gram), p, gram.dtype)
    s, V = _eig(gram)
    C = _path(s, V, v, lams)
    return _select(C, rel, lams, _statistics_mse(C, gram_val, v_val, q_val), _residual(gram, C, v, lams))


def kernel_ridge(K: Array, y: Array, K_val: Array | None = None, y_val: Array | None = None, *,
                 rel_lams: Array | Sequence[float] | None = None, solver: str = "eigh", rank: int = 512,
                 tol: float = 1e-4, maxiter: int = 500, max_residual: float = 1e-2) -> RidgeFit:
    r"""Kernel ridge regression (the dual of :func:`ridge`): dual weights :math:`\alpha_\lambda = (K/n+\lambda
    I)^{-1}y/n`, predictions :math:`\hat f(x) = K(x,X)\,\alpha`, with :math:`\lambda` from the grid ``rel_lams``
    (default :data:`RIDGE_LAMBDAS`, relative to the mean eigenvalue :math:`\mathrm{tr}K/n^2` of :math:`K/n`) chosen
    on the validation set ``K_val`` :math:`=K(X_{\rm val},X)`, ``y_val``, or, when none is given, by exact
    leave-one-out error (:math:`K/n = Q\,\mathrm{diag}(s)\,Q^\top`, hat matrix :math:`H_\lambda = Q\,\mathrm{diag}
    (s/(s+\lambda))\,Q^\top`, residuals :math:`(y-H_\lambda y)_i/(1-(H_\lambda)_{ii})`). Never on test data.

    ``solver="eigh"``: one eigendecomposition serves every :math:`\lambda` (:math:`9n^3` flops). ``solver="cg"``
    (for large ``n``; a validation set is then required, since exact leave-one-out needs the eigendecomposition):
    preconditioned conjugate gradients for every :math:`\lambda` at once, with a Nyström preconditioner of
    ``rank`` landmarks, to relative residual ``tol`` or ``maxiter`` iterations per pass (see :func:`_cg_path`); a
    :math:`\lambda` whose final relative residual exceeds ``max_residual`` is not a ridge solution and is not
    selected (its ``val_mse`` is ``inf``). The benchmarks find CG faster from :math:`n\approx1100`. Both are safe
    under ``vmap``. Shapes: ``K`` ``(n, n)``, ``y`` ``(n,)``, ``K_val`` ``(n_val, n)``; ``coef`` ``(n,)``."""
    _checks.shape("K", K, (None, None))
    n = K.shape[0]
    _checks.shape("K", K, (n, n))
    _checks.shape("y", y, (n,))
    _checks.one_of("solver", solver, SOLVERS)
    validated = _validation_pair("K_val", K_val, y_val, n)
    rel, lams = _grid(rel_lams, jnp.trace(K) / n, n, K.dtype)
    Kn, b = K / n, y / n
    if solver == "eigh":
        s, Q = _eig(Kn)
        A = _path(s, Q, b, lams)  # (L, n)
        score = (_validation_mse(K_val @ A.T, y_val) if validated
                 else _loo_mse(Q, s[None, :] / (s[None, :] + lams[:, None]), y))
        return _select(A, rel, lams, score, _residual(Kn, A, b, lams))
    if not validated:
        raise ValueError("solver='cg' needs a validation set (K_val, y_val): exact leave-one-out needs the "
                         "eigendecomposition (solver='eigh')")
    rank = _checks.positive_int("rank", rank)
    maxiter = _checks.positive_int("maxiter", maxiter)
    _checks.real_in("tol", tol, 0.0, low_open=True)
    _checks.real_in("max_residual", max_residual, 0.0, low_open=True)
    A, iterations = _cg_path(K, lams, b, rank=rank, tol=tol, maxiter=maxiter)
    residual = _residual(Kn, A, b, lams)
    return _select(A, rel, lams, _validation_mse(K_val @ A.T, y_val), residual, iterations,
                   usable=residual <= max_residual)


def _cg_path(K: Array, lams: Array, b: Array, *, rank: int, tol: float, maxiter: int) -> tuple[Array, Array]:
    r"""The solution path :math:`(K/n+\lambda I)^{-1}b` ``(L, n)`` for every :math:`\lambda` at once by
    preconditioned conjugate gradients (instead of an eigendecomposition of :math:`K`), and the number of
    iterations run.

    Preconditioner: the Nyström approximation of :math:`K/n` on its first :math:`r=\min(\text{rank}, n/2)` rows
    (the rows are exchangeable, so this is a uniform sample of landmarks), :math:`BB^\top`, plus the mean of the
    rest of the spectrum, :math:`\mu = \mathrm{tr}(K/n - BB^\top)/(n-r)`: :math:`M_\lambda = BB^\top +
    (\mu+\lambda)I`, inverted for all :math:`\lambda` from two ``r × r`` eigendecompositions. For
    rotation-invariant kernels on :math:`n\ll d^3` Gaussian inputs the part of :math:`K` beyond low degrees is
    close to a multiple of the identity, so :math:`M_\lambda^{-1}(K/n+\lambda I)` is well conditioned for every
    :math:`\lambda` (a few dozen iterations to ``tol``). Stops when every :math:`\lambda`'s relative residual is
    below ``tol`` or after ``maxiter`` iterations, then restarts once from the true residual (``maxiter`` again;
    in float32 the recursively updated residual drifts from the true one). For a nearly singular :math:`K` the
    smallest penalties converge slowly; they are the ones validation rejects anyway."""
    n = K.shape[0]
    r = max(min(rank, n // 2), 1)
    Kn = K / n
    trace = jnp.trace(Kn)

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

    def safe_div(a, c):
        return jnp.where(c > 0, a / jnp.where(c > 0, c, 1.0), 0.0)

    rhs = jnp.broadcast_to(b[:, None], (n, lams.shape[0]))
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
    return A.T, iterations


def kernel_ridge_cholesky(K: np.ndarray, y: np.ndarray, K_val: np.ndarray, y_val: np.ndarray, *,
                          rel_lams: Sequence[float] | None = None) -> RidgeFit:
    r"""Kernel ridge in float64 by Cholesky solves, for noiseless targets whose best penalties lie below float32's
    resolution: the dual weights :math:`\alpha = (K/n+\lambda I)^{-1}y/n` of :func:`kernel_ridge`, with the same
    relative grid and normalisation (:math:`\lambda = \rho\,\bar s`, :math:`\bar s = \mathrm{tr}K/n^2`), the
    penalty chosen on the validation set ``K_val``, ``y_val`` among the grid's values and the **null predictor**
    (:math:`\alpha = 0`). The grid is searched from the smallest penalty up, one factorisation each, and the search
    stops once the validation MSE has risen at two successive penalties past the best so far (an eigendecomposition
    for the whole grid costs several times more at :math:`n` in the thousands); a penalty at which
    :math:`K/n+\lambda I` is not positive definite in float64 is not a candidate. NumPy and SciPy on the host: not
    traceable (run it per seed, e.g. with :func:`featlearn.sweeps.host_sweep`).

    Shapes: ``K`` ``(n, n)``, ``y`` ``(n,)``, ``K_val`` ``(n_val, n)``, ``y_val`` ``(n_val,)``. Returns a
    :class:`RidgeFit` (NumPy, float64): ``coef`` ``(n,)`` (zeros for the null predictor), ``lam`` and ``rel_lam``
    (``inf`` for the null predictor), ``val_mse`` ``(L,)`` (``inf`` where a penalty was not tried or not
    positive definite), ``best`` (the grid index, ``-1`` for the null predictor), ``iterations`` 0 and
    ``residual`` ``(L,)`` (``nan`` where not solved)."""
    import scipy.linalg

    K, y, K_val, y_val = (np.asarray(a, np.float64) for a in (K, y, K_val, y_val))
    if K.ndim != 2 or K.shape[0] != K.shape[1]:
        raise ValueError(f"K must be a square (n, n) matrix, got shape {K.shape}")
    n = K.shape[0]
    if y.shape != (n,) or y_val.ndim != 1 or K_val.shape != (y_val.size, n):
        raise ValueError(f"y must be ({n},), y_val (n_val,) and K_val (n_val, {n}); got {y.shape}, {y_val.shape} "
                         f"and {K_val.shape}")
    rel = np.array(sorted(_checked_grid(RIDGE_LAMBDAS if rel_lams is None else rel_lams)))
    sbar = max(np.trace(K) / n / n, np.finfo(np.float64).tiny)
    lams = rel * sbar
    val = np.full(rel.size, np.inf)
    residual = np.full(rel.size, np.nan)
    best, best_v, best_alpha = -1, float(np.mean(y_val ** 2)), np.zeros(n)  # the null predictor
    best_ridge, prev, rises = math.inf, math.inf, 0
    for i, r in enumerate(rel):
        system = K + n * r * sbar * np.eye(n)  # n (K/n + λI): the same weights, one division fewer
        try:
            factor = scipy.linalg.cho_factor(system, lower=True, check_finite=False)
        except np.linalg.LinAlgError:
            continue
        alpha = scipy.linalg.cho_solve(factor, y, check_finite=False)
        residual[i] = np.linalg.norm(y - system @ alpha) / max(np.linalg.norm(y), np.finfo(np.float64).tiny)
        val[i] = v = float(np.mean((K_val @ alpha - y_val) ** 2))
        if v < best_v:
            best, best_v, best_alpha = i, v, alpha
        if v < best_ridge:
            best_ridge, rises = v, 0
        elif v > prev:
            rises += 1
            if rises >= 2:
                break
        prev = v
    chosen = (np.inf, np.inf) if best < 0 else (float(lams[best]), float(rel[best]))
    return RidgeFit(best_alpha, np.float64(chosen[0]), np.float64(chosen[1]), val, np.int64(best), np.int64(0),
                    residual)

