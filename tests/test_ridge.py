"""The one ridge solver (featlearn.ridge): every form and every way to choose λ against direct float64 solves."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import normal

from featlearn import kernels, ridge, targets

GRID = np.asarray(ridge.RIDGE_LAMBDAS, np.float64)


def _problem(seed, n, p, n_val=25):
    """A noisy linear problem on Gaussian features with a few strong directions (float64 NumPy arrays)."""
    rs = np.random.default_rng(seed)
    F = rs.standard_normal((n + n_val, p)) * np.linspace(2.0, 0.2, p)
    y = F @ rs.standard_normal(p) / np.sqrt(p) + 0.5 * rs.standard_normal(n + n_val)
    return F[:n], y[:n], F[n:], y[n:]


def _stats(F, y, F_val, y_val):
    """The statistics ridge_from_stats takes: FᵀF/n, Fᵀy/n, the same on the validation rows, mean y_val²."""
    n, nv = F.shape[0], F_val.shape[0]
    return F.T @ F / n, F.T @ y / n, F_val.T @ F_val / nv, F_val.T @ y_val / nv, jnp.mean(y_val ** 2)


def _primal_direct(F, y, lam):
    """(FᵀF/n + λI)⁻¹Fᵀy/n by a dense solve."""
    n, p = F.shape
    return np.linalg.solve(F.T @ F / n + lam * np.eye(p), F.T @ y / n)


def _primal_loo(F, y, lam):
    """Leave-one-out MSE by refitting n times, each with the full problem's penalty nλ on ‖θ‖² (the exact
    leave-one-out of the objective Σᵢ(fᵢθ-yᵢ)² + nλ‖θ‖²)."""
    n, p = F.shape
    res = []
    for i in range(n):
        keep = np.arange(n) != i
        theta = np.linalg.solve(F[keep].T @ F[keep] + n * lam * np.eye(p), F[keep].T @ y[keep])
        res.append(y[i] - F[i] @ theta)
    return np.mean(np.square(res))


def _kernel(X, Y):
    return np.exp(-np.sqrt(np.maximum(((X[:, None] - Y[None]) ** 2).sum(-1), 0.0)) / 3.0)


def _dual_loo(K, y, lam):
    """Leave-one-out MSE of kernel ridge, α = (K + nλI)⁻¹y, by refitting n times with the same nλ."""
    n = K.shape[0]
    res = []
    for i in range(n):
        keep = np.arange(n) != i
        alpha = np.linalg.solve(K[np.ix_(keep, keep)] + n * lam * np.eye(n - 1), y[keep])
        res.append(y[i] - K[i, keep] @ alpha)
    return np.mean(np.square(res))


def _check_fit(fit, lams, scores, coef_at, *, rtol=1e-7):
    """The fit's held-out errors equal ``scores`` for every λ, it selects their argmin, and its coefficients are
    the direct solution at that λ."""
    np.testing.assert_allclose(np.asarray(fit.val_mse), scores, rtol=rtol)
    best = int(np.argmin(scores))
    assert int(fit.best) == best
    assert float(fit.lam) == pytest.approx(lams[best], rel=1e-12)
    assert float(fit.rel_lam) == pytest.approx(GRID[best], rel=1e-12)
    direct = coef_at(lams[best])
    np.testing.assert_allclose(np.asarray(fit.coef), direct, rtol=1e-6, atol=1e-9 * np.abs(direct).max())
    assert float(np.max(fit.residual)) < 1e-8


@pytest.mark.parametrize("n, p", [(60, 12), (15, 40)])  # FᵀF/n (p ≤ n) and FFᵀ/n (p > n) are decomposed
def test_primal_ridge_matches_direct_solves_per_lambda(x64, n, p):
    F, y, Fv, yv = _problem(1, n, p)
    lams = GRID * np.trace(F.T @ F / n) / p  # relative to the mean eigenvalue of FᵀF/n
    solves = [_primal_direct(F, y, lam) for lam in lams]
    # validation set
    fit = ridge.ridge(jnp.asarray(F), jnp.asarray(y), jnp.asarray(Fv), jnp.asarray(yv))
    scores = [np.mean((Fv @ c - yv) ** 2) for c in solves]
    _check_fit(fit, lams, scores, lambda lam: _primal_direct(F, y, lam))
    # exact leave-one-out (no validation set)
    fit = ridge.ridge(jnp.asarray(F), jnp.asarray(y))
    _check_fit(fit, lams, [_primal_loo(F, y, lam) for lam in lams], lambda lam: _primal_direct(F, y, lam))
    assert fit.coef.shape == (p,) and fit.val_mse.shape == (len(GRID),)


@pytest.mark.parametrize("n, p", [(60, 12), (15, 40)])
def test_statistics_form_matches_direct_solves_and_the_data_form(x64, n, p):
    F, y, Fv, yv = _problem(2, n, p)
    G, v, Gv, vv, q = F.T @ F / n, F.T @ y / n, Fv.T @ Fv / len(yv), Fv.T @ yv / len(yv), np.mean(yv**2)
    lams = GRID * np.trace(G) / p
    fit = ridge.ridge_from_stats(*(jnp.asarray(a) for a in (G, v, Gv, vv, q)))
    solves = [np.linalg.solve(G + lam * np.eye(p), v) for lam in lams]
    _check_fit(fit, lams, [np.mean((Fv @ c - yv) ** 2) for c in solves], lambda lam: _primal_direct(F, y, lam),
               rtol=1e-6)
    # the data form makes the same fit
    data = ridge.ridge(*(jnp.asarray(a) for a in (F, y, Fv, yv)))
    np.testing.assert_allclose(np.asarray(data.val_mse), np.asarray(fit.val_mse), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(data.coef), np.asarray(fit.coef), rtol=1e-6, atol=1e-10)
    assert int(data.best) == int(fit.best) and float(data.lam) == pytest.approx(float(fit.lam), rel=1e-12)


def test_kernel_ridge_matches_direct_solves_per_lambda(x64):
    rs = np.random.default_rng(3)
    n = 40
    X, Xv = rs.standard_normal((n, 3)), rs.standard_normal((25, 3))
    y, yv = np.sin(X[:, 0]) + 0.2 * rs.standard_normal(n), np.sin(Xv[:, 0])
    K, Kv = _kernel(X, X), _kernel(Xv, X)
    lams = GRID * np.trace(K) / n**2  # relative to the mean eigenvalue of K/n

    def alpha(lam):
        return np.linalg.solve(K / n + lam * np.eye(n), y / n)

    fit = ridge.kernel_ridge(jnp.asarray(K), jnp.asarray(y), jnp.asarray(Kv), jnp.asarray(yv))
    _check_fit(fit, lams, [np.mean((Kv @ alpha(lam) - yv) ** 2) for lam in lams], alpha)
    fit = ridge.kernel_ridge(jnp.asarray(K), jnp.asarray(y))  # exact leave-one-out
    _check_fit(fit, lams, [_dual_loo(K, y, lam) for lam in lams], alpha)
    # kernel ridge with K = FFᵀ is ridge on the features F: θ = Fᵀα at the same (absolute) λ
    F, lam = rs.standard_normal((n, 7)), 0.3
    kf = ridge.kernel_ridge(jnp.asarray(F @ F.T), jnp.asarray(y), rel_lams=[lam / (np.trace(F @ F.T) / n**2)])
    pf = ridge.ridge(jnp.asarray(F), jnp.asarray(y), rel_lams=[lam / (np.trace(F.T @ F) / n / 7)])
    np.testing.assert_allclose(F.T @ np.asarray(kf.coef), np.asarray(pf.coef), rtol=1e-9)


def test_float32_fits_match_float64_solves(key):
    """In float32, as the chapters run, every form's solution at its selected λ is the float64 solution there."""
    k1, k2, k3 = jax.random.split(key, 3)
    lams = jnp.array([1e-2, 1e-1, 1.0])
    for n, p in [(80, 30), (30, 80)]:
        F = jax.random.normal(k1, (n, p), jnp.float32)
        y = F @ jax.random.normal(k2, (p,)) + 0.3 * jax.random.normal(k3, (n,))
        F64, y64 = np.asarray(F, np.float64), np.asarray(y, np.float64)
        for fit in (ridge.ridge(F, y, F[:10], y[:10], rel_lams=lams), ridge.ridge(F, y, rel_lams=lams),
                    ridge.ridge_from_stats(*_stats(F, y, F[:10], y[:10]), rel_lams=lams)):
            np.testing.assert_allclose(fit.coef, _primal_direct(F64, y64, float(fit.lam)), rtol=2e-3, atol=2e-3)
            assert fit.val_mse.shape == (3,)
    X = jax.random.normal(key, (60, 4))
    y = jnp.sin(X[:, 0])
    K = jnp.exp(-jnp.sum((X[:, None] - X[None]) ** 2, -1) / 4)
    for fit in (ridge.kernel_ridge(K, y, K[:20], y[:20], rel_lams=lams), ridge.kernel_ridge(K, y, rel_lams=lams)):
        direct = np.linalg.solve(np.asarray(K, float) / 60 + float(fit.lam) * np.eye(60), np.asarray(y, float) / 60)
        np.testing.assert_allclose(fit.coef, direct, rtol=5e-3, atol=5e-3)


def test_leave_one_out_is_not_the_training_error(x64):
    """The leverage correction matters: the training error always prefers the smallest λ, leave-one-out does not
    (here the best λ is inside the grid)."""
    F, y, _, _ = _problem(4, 30, 20)
    fit = ridge.ridge(jnp.asarray(F), jnp.asarray(y))
    assert 0 < int(fit.best) < len(GRID) - 1


@pytest.mark.slow
def test_conjugate_gradients_match_the_eigen_form():
    """Conjugate gradients with a small Nyström preconditioner (float32, as the chapters run) reproduce the
    eigendecomposition's validation errors for every λ of the shared grid they solve to ``max_residual``, choose a
    λ the eigen form rates as good as its own choice (the errors of the smallest penalties tie to within float32
    rounding), and give the same solution at the same λ."""
    d, n = 10, 600
    X = targets.gaussian_inputs(jax.random.key(23), n + 200, d)
    y = jnp.sin(X[:, 0]) + X[:, 1] * X[:, 2] + 0.3 * targets.gaussian_inputs(jax.random.key(24), n + 200, 1)[:, 0]
    K, Kv = kernels.ntk_relu(X[:n], X[:n]), kernels.ntk_relu(X[n:], X[:n])
    dense = ridge.kernel_ridge(K, y[:n], Kv, y[n:])
    cg = ridge.kernel_ridge(K, y[:n], Kv, y[n:], solver="cg", rank=32, tol=1e-5)
    assert int(cg.iterations) > 3  # the preconditioner is not exact: CG really iterates
    solved = np.asarray(cg.residual) <= 1e-2
    assert solved[GRID >= 1e-4].all(), np.asarray(cg.residual)  # all but (at most) the smallest penalties
    assert np.isinf(np.asarray(cg.val_mse)[~solved]).all()  # an unsolved λ is never selected
    np.testing.assert_allclose(np.asarray(cg.val_mse)[solved], np.asarray(dense.val_mse)[solved], rtol=2e-4)
    assert float(dense.val_mse[cg.best]) <= float(dense.val_mse.min()) * (1 + 1e-4)
    assert float(cg.lam) == pytest.approx(float(GRID[int(cg.best)] * jnp.trace(K) / n**2), rel=1e-5)
    for k in (0, 7, 14):  # the same λ: the same dual weights
        one = dict(rel_lams=GRID[k:k + 1])
        a, b = ridge.kernel_ridge(K, y[:n], Kv, y[n:], **one), ridge.kernel_ridge(K, y[:n], Kv, y[n:], solver="cg",
                                                                                    rank=32, tol=1e-5, **one)
        np.testing.assert_allclose(np.asarray(b.coef), np.asarray(a.coef), rtol=0,
                                   atol=2e-3 * float(jnp.abs(a.coef).max()), err_msg=f"relative λ {GRID[k]:g}")


def test_selection_never_uses_test_data(x64):
    """λ is the validation (or leave-one-out) choice even where the test set would choose another, and the NTK
    baseline's fit does not depend on the test inputs it predicts."""
    F, y, Fv, yv = _problem(5, 50, 10)
    rs = np.random.default_rng(6)
    Ft = rs.standard_normal((200, 10))
    yt = -Ft @ np.linalg.lstsq(F, y, rcond=None)[0]  # a test set on which shrinking to 0 is best
    fit = ridge.ridge(jnp.asarray(F), jnp.asarray(y), jnp.asarray(Fv), jnp.asarray(yv))
    lams = GRID * np.trace(F.T @ F / 50) / 10
    test_mse = [np.mean((Ft @ _primal_direct(F, y, lam) - yt) ** 2) for lam in lams]
    assert int(np.argmin(test_mse)) == len(GRID) - 1 != int(fit.best)
    X, Xt = rs.standard_normal((30, 4)), rs.standard_normal((20, 4))
    ylab = np.sign(X[:, 0] * X[:, 1])
    pred, f1 = kernels.ntk_classifier(jnp.asarray(X), jnp.asarray(ylab), jnp.asarray(Xt))
    _, f2 = kernels.ntk_classifier(jnp.asarray(X), jnp.asarray(ylab), jnp.asarray(-3 * Xt))
    np.testing.assert_array_equal(np.asarray(f1.coef), np.asarray(f2.coef))
    assert int(f1.best) == int(f2.best)


def test_one_grid_relative_to_the_mean_eigenvalue(x64):
    assert len(ridge.RIDGE_LAMBDAS) == 15
    np.testing.assert_allclose(np.log10(GRID), np.arange(-6.0, 1.5, 0.5), atol=1e-12)
    np.testing.assert_array_equal(np.asarray(ridge.log_grid()), GRID)
    # scaling the features by c scales the mean eigenvalue, hence λ, by c²: the same relative choice
    F, y, Fv, yv = (jnp.asarray(a) for a in _problem(7, 40, 8))
    a, b = ridge.ridge(F, y, Fv, yv), ridge.ridge(10 * F, y, 10 * Fv, yv)
    assert int(a.best) == int(b.best) and float(b.lam) == pytest.approx(100 * float(a.lam), rel=1e-9)
    K = jnp.asarray(_kernel(np.asarray(F), np.asarray(F)))
    a, b = ridge.kernel_ridge(K, y), ridge.kernel_ridge(5 * K, y)
    assert int(a.best) == int(b.best) and float(b.lam) == pytest.approx(5 * float(a.lam), rel=1e-9)


def test_vmapped_over_problems_and_jitted():
    F = jnp.stack([normal(i, (40, 8)) for i in range(3)]).astype(jnp.float32)
    y = F @ jnp.arange(8.0, dtype=jnp.float32) + normal(9, (3, 40)).astype(jnp.float32)
    fits = jax.jit(jax.vmap(lambda F, y: ridge.ridge(F, y)))(F, y)
    for i in range(3):
        one = ridge.ridge(F[i], y[i])
        assert int(fits.best[i]) == int(one.best)
        np.testing.assert_allclose(fits.coef[i], one.coef, rtol=1e-4, atol=1e-5)
    K = jnp.einsum("bij,bkj->bik", F, F)
    cg = jax.jit(jax.vmap(lambda K, y: ridge.kernel_ridge(K, y, K[:10], y[:10], solver="cg", rank=8)))(K, y)
    assert cg.coef.shape == (3, 40) and cg.residual.shape == (3, len(GRID))


@pytest.mark.parametrize("call, msg", [
    (lambda F, y: ridge.ridge(F, y[:-1]), "y must have shape"),
    (lambda F, y: ridge.ridge(F, y, F[:, :3], y), "F_val must have shape"),
    (lambda F, y: ridge.ridge(F, y, F), "F_val and y_val must be given together"),
    (lambda F, y: ridge.ridge(F, y, F, y[:4]), "y_val must have shape"),
    (lambda F, y: ridge.ridge(F[0], y), "F must have shape"),
    (lambda F, y: ridge.ridge(F, y, rel_lams=[]), "rel_lams must be"),
    (lambda F, y: ridge.ridge(F, y, rel_lams=[1e-3, -1.0]), "rel_lams must be"),
    (lambda F, y: ridge.ridge(F, y, rel_lams=[[1e-3]]), "rel_lams must be"),
    (lambda F, y: ridge.ridge(F, y, rel_lams=[float("inf")]), "rel_lams must be"),
    (lambda F, y: ridge.ridge_from_stats(F.T @ F, F[0], F.T @ F, F[0, :3], 1.0), "v_val must have shape"),
    (lambda F, y: ridge.ridge_from_stats(F.T @ F, F[0], F.T @ F, F[0], y), "q_val must have shape"),
    (lambda F, y: ridge.kernel_ridge(F, y), "K must have shape"),
    (lambda F, y: ridge.kernel_ridge(F @ F.T, y, solver="qr"), "solver must be one of"),
    (lambda F, y: ridge.kernel_ridge(F @ F.T, y, solver="cg"), "needs a validation set"),
    (lambda F, y: ridge.kernel_ridge(F @ F.T, y, F @ F.T, y, solver="cg", rank=0), "rank must be"),
    (lambda F, y: ridge.kernel_ridge(F @ F.T, y, F @ F.T, y, solver="cg", tol=0.0), "tol must lie in"),
    (lambda F, y: ridge.kernel_ridge(F @ F.T, y, F @ F.T, y, solver="cg", max_residual=0.0), "max_residual must"),
])
def test_bad_input(call, msg):
    F, y = jnp.ones((10, 5)) + jnp.eye(10, 5), jnp.arange(10.0)
    with pytest.raises(ValueError, match=msg):
        call(F, y)


def test_kernel_ridge_cholesky_matches_the_direct_solve_and_keeps_the_null_predictor():
    """The float64 Cholesky path: at the penalty it chooses, its weights are (K/n + λI)⁻¹y/n with λ = ρ·tr K/n²
    (the normalisation of every solver), the choice is the validation minimum among the penalties it tried, and
    where every ridge fit predicts the validation labels backwards the null predictor (α = 0) is chosen."""
    F, y, Fv, yv = _problem(3, 60, 8)
    K, Kv = F @ F.T, Fv @ F.T
    fit = ridge.kernel_ridge_cholesky(K, y, Kv, yv)
    n, b = y.size, int(fit.best)
    assert b >= 0 and fit.rel_lam == GRID[b]
    lam = GRID[b] * np.trace(K) / n / n
    np.testing.assert_allclose(fit.coef, np.linalg.solve(K / n + lam * np.eye(n), y / n), rtol=1e-8)
    tried = np.isfinite(fit.val_mse)
    assert fit.val_mse[b] == fit.val_mse[tried].min() and fit.val_mse[b] < np.mean(yv ** 2)
    null = ridge.kernel_ridge_cholesky(K, y, Kv, -yv)  # validation labels that every ridge fit gets backwards
    assert null.best == -1 and np.isinf(null.rel_lam) and not np.any(null.coef)


@pytest.mark.parametrize("args, message", [
    ((np.eye(3), np.ones(2), np.ones((4, 3)), np.ones(4)), "y must be"),
    ((np.ones((3, 2)), np.ones(3), np.ones((4, 3)), np.ones(4)), "K must be a square"),
    ((np.eye(3), np.ones(3), np.ones((4, 2)), np.ones(4)), "K_val"),
])
def test_kernel_ridge_cholesky_bad_shapes_name_the_argument(args, message):
    with pytest.raises(ValueError, match=message):
        ridge.kernel_ridge_cholesky(*args)
    with pytest.raises(ValueError, match="rel_lams must be"):
        ridge.kernel_ridge_cholesky(np.eye(3), np.ones(3), np.ones((4, 3)), np.ones(4), rel_lams=[0.0, 1.0])
