import jax
import jax.numpy as jnp
import numpy as np
import pytest

from featlearn import kernels, metrics, models, ridge


@pytest.mark.parametrize("bias_var", [0.0, 1.0])
def test_closed_form_kernels_match_monte_carlo(key, bias_var):
    d, M = 6, 400_000
    X = jax.random.normal(jax.random.key(5), (5, d))
    p = models.init_params(key, d, M, symmetric=False, bias_std=bias_var ** 0.5)
    u = X @ p["W"].T + p["b"]
    mc1 = jax.nn.relu(u) @ jax.nn.relu(u).T / M
    mc0 = (u > 0).astype(jnp.float32) @ (u > 0).astype(jnp.float32).T / M
    _, k0, k1 = kernels.arccos_kernels(X, X, bias_var=bias_var)
    np.testing.assert_allclose(k1, mc1, rtol=0.02, atol=0.01)
    np.testing.assert_allclose(k0, mc0, atol=0.01)


@pytest.mark.parametrize("bias_std", [0.5, 1.0, 2.0])
def test_closed_form_ntk_matches_wide_empirical_ntk(key, bias_std):
    # At bias_std = 1 the bias term's weight (1) and the bias variance (s_b^2) coincide; the other two scales
    # tell them apart (weighting the term by s_b^2 is off by 11% at s_b = 0.5 and 35% at s_b = 2).
    d, m = 8, 40_000
    X = jax.random.normal(jax.random.key(7), (12, d))
    p = models.init_params(key, d, m, symmetric=True, bias_std=bias_std)
    apply_fn = models.make_apply(scale=m ** -0.5)
    emp = kernels.empirical_ntk(apply_fn, p, X, X)
    feat = kernels.relu_ntk_features(p, X, scale=m ** -0.5)
    np.testing.assert_allclose(feat @ feat.T, emp, rtol=1e-4, atol=1e-4)
    ana = kernels.ntk_relu(X, X, bias_var=bias_std**2)
    assert float(jnp.linalg.norm(emp - ana) / jnp.linalg.norm(ana)) < 0.02
    no_b = kernels.empirical_ntk(apply_fn, p, X, X, trainable=("W", "a"))
    ana_nb = kernels.ntk_relu(X, X, bias_var=bias_std**2, train_bias=False)
    assert float(jnp.linalg.norm(no_b - ana_nb) / jnp.linalg.norm(ana_nb)) < 0.02


def test_arccos_gradient_finite_on_diagonal():
    X = jnp.array([[1.0, 2.0, -0.5]])
    g = jax.grad(lambda x: jnp.sum(kernels.ntk_relu(x, X)))(X)
    assert bool(jnp.all(jnp.isfinite(g)))


def _ntk_numpy(X, Y, bias_var):
    # Independent float64 closed form: kappa_1 + (x.y + 1) kappa_0, covariance x.y/d + s_b^2.
    d = X.shape[1]
    sxy = X @ Y.T / d + bias_var
    nx = np.sqrt(np.sum(X * X, 1) / d + bias_var)
    ny = np.sqrt(np.sum(Y * Y, 1) / d + bias_var)
    cos = np.clip(sxy / np.outer(nx, ny), -1.0, 1.0)
    th = np.arccos(cos)
    k0 = (np.pi - th) / (2 * np.pi)
    k1 = np.outer(nx, ny) * (np.sin(th) + (np.pi - th) * cos) / (2 * np.pi)
    return k1 + (X @ Y.T + 1.0) * k0


def test_ntk_classifier_matches_a_direct_solve_with_brute_force_leave_one_out(x64):
    # The kernel baseline: the NTK with trained biases (weight 1, not s_b^2), lambda by leave-one-out over the
    # default grid, predictions K(x_test, X) (K + n lam I)^-1 y. Leave-one-out is done by refitting n times.
    rs = np.random.default_rng(0)
    n, d, bias_var = 40, 4, 0.25
    X = rs.standard_normal((n, d))
    Xt = rs.standard_normal((30, d))
    y = np.sign(X[:, 0] * X[:, 1] + 0.3 * X[:, 2] ** 3)
    pred, fit = kernels.ntk_classifier(jnp.asarray(X), jnp.asarray(y), jnp.asarray(Xt), bias_var=bias_var)
    K = _ntk_numpy(X, X, bias_var)
    scale = np.trace(K) / n / n  # mean eigenvalue of K/n
    lams = np.asarray(ridge.log_grid(), np.float64) * scale
    loo = []
    for lam in lams:
        res = []
        for i in range(n):
            keep = np.arange(n) != i
            alpha = np.linalg.solve(K[np.ix_(keep, keep)] + n * lam * np.eye(n - 1), y[keep])
            res.append(y[i] - K[i, keep] @ alpha)
        loo.append(np.mean(np.square(res)))
    # (each refit keeps the penalty n*lam on the RKHS norm: the exact leave-one-out of the full objective)
    best = int(np.argmin(loo))
    assert int(fit.best) == best
    alpha = np.linalg.solve(K + n * lams[best] * np.eye(n), y)
    np.testing.assert_allclose(np.asarray(pred), _ntk_numpy(Xt, X, bias_var) @ alpha, rtol=1e-6, atol=1e-8)


def test_ntk_classifier_bad_input():
    x, y = jnp.ones((5, 3)), jnp.ones(5)
    with pytest.raises(ValueError, match="x_test must have shape"):
        kernels.ntk_classifier(x, y, x[:, :2])
    with pytest.raises(ValueError, match="bias_var must lie in"):
        kernels.ntk_classifier(x, y, x, bias_var=-1.0)


def test_random_features_deterministic(key):
    X = jnp.ones((3, 4))
    np.testing.assert_array_equal(kernels.random_features(key, X, 16), kernels.random_features(key, X, 16))


def test_alignment_random_baseline_and_perfect(key):
    d, r = 40, 2
    U = jnp.eye(r, d)
    W = jax.random.normal(key, (5000, d))
    assert float(metrics.subspace_alignment(W, U)) == pytest.approx(r / d, rel=0.1)
    assert float(metrics.subspace_alignment(W @ U.T @ U, U)) == pytest.approx(1.0, rel=1e-5)
    assert float(metrics.top_subspace_overlap(W @ U.T @ U, U)) == pytest.approx(1.0, rel=1e-4)


def test_principal_angles_known():
    A = jnp.array([[1.0, 0, 0]])
    B = jnp.array([[1.0, 1.0, 0]])
    np.testing.assert_allclose(metrics.principal_angles(A, B), [2 ** -0.5], rtol=1e-5)


def test_neuron_alignment_counts_every_neuron_equally():
    U = jnp.eye(1, 3)
    W = jnp.array([[2.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 5.0]])
    np.testing.assert_allclose(metrics.neuron_alignment(W, U, squared=True), [1.0, 0.5, 0.0, 0.0])
    np.testing.assert_allclose(metrics.neuron_alignment(W, U), [1.0, 0.5**0.5, 0.0, 0.0], rtol=1e-6)
    # the energy fraction weights neurons by their norm: here 5 / 31, the per-neuron mean is 1.5 / 4
    np.testing.assert_allclose(metrics.subspace_alignment(W, U), 5.0 / 31.0, rtol=1e-6)
    with pytest.raises(ValueError, match="U must have shape"):
        metrics.neuron_alignment(W, jnp.eye(1, 4))


def test_nearest_teacher_angle_index_and_sign():
    Ws = jnp.eye(2, 3)
    W = jnp.array([[2.0, 0, 0], [0, -1.0, 0], [1.0, 1.0, 0], [-2.0, 0.1, 0.0], [0.0, 3.0, 0.0]])
    ang, idx = metrics.nearest_teacher(W, Ws)
    # neuron 1 (-e2) is at pi/2 from both teachers (a tie); neuron 3 is nearest e2, at pi/2 - arctan(0.05)
    np.testing.assert_allclose(ang, [0, np.pi / 2, np.pi / 4, np.pi / 2 - np.arctan(0.05), 0], atol=1e-6)
    np.testing.assert_array_equal(np.asarray(idx)[[0, 2, 3, 4]], [0, 0, 1, 1])
    # up to sign (an even activation): -e2 is e2, and (-2, 0.1, 0) is within arctan(0.05) of -e1
    ang2, idx2 = metrics.nearest_teacher(W, Ws, up_to_sign=True)
    np.testing.assert_allclose(ang2, [0, 0, np.pi / 4, np.arctan(0.05), 0], atol=1e-6)
    np.testing.assert_array_equal(np.asarray(idx2)[[0, 1, 3, 4]], [0, 1, 0, 1])
    # unnormalised rows and teachers: only directions count
    np.testing.assert_allclose(metrics.nearest_teacher(3.0 * W, 0.5 * Ws, up_to_sign=True)[0], ang2, atol=1e-6)
    with pytest.raises(ValueError, match="W_star must have shape"):
        metrics.nearest_teacher(W, jnp.eye(2, 4))


@pytest.mark.parametrize("t", [1e-6, 1e-4, 1e-2, 1.0, 3.1])
def test_nearest_teacher_is_accurate_at_small_angles(t):
    # In float32 the cosine of an angle below ~3e-4 rounds to 1, so arccos(cos) (or arctan2 of sqrt(1 - cos^2))
    # returns 0 or a few 1e-4; the angle must come out to float32 rounding, at 1e-6 as at 1.
    W = jnp.array([[np.cos(t), np.sin(t), 0.0]], jnp.float32)
    ang, _ = metrics.nearest_teacher(W, jnp.eye(1, 3))
    np.testing.assert_allclose(float(ang[0]), t, rtol=1e-5)


def test_errors():
    y = jnp.array([1.0, -1.0, 1.0, -1.0])
    assert float(metrics.classification_error(jnp.array([1.0, 1.0, 1.0, -2.0]), y)) == 0.25
    assert float(metrics.normalized_mse(jnp.zeros(4), y)) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="pred must have shape"):
        metrics.normalized_mse(jnp.zeros(3), y)


def test_loglog_fit_recovers_exponent_and_ci_covers():
    x = np.repeat([8, 16, 32, 64], 4)
    rng = np.random.default_rng(0)
    covered, slopes = 0, []
    for rep in range(100):
        y = 3 * x ** 2.0 * np.exp(0.05 * rng.standard_normal(x.size))
        fit = metrics.fit_loglog(x, y, groups=np.tile(np.arange(4), 4), n_boot=200, seed=rep)
        covered += fit.ci_low < 2.0 < fit.ci_high
        slopes.append(fit.slope)
    assert abs(np.mean(slopes) - 2.0) < 0.01
    assert covered >= 75, f"a 95% bootstrap interval covered the true exponent only {covered}/100 times"
    with pytest.raises(ValueError, match="positive"):
        metrics.fit_loglog([1, 2], [1, -1])


def test_median_loglog_fit_is_exact_under_minority_censoring():
    """Censored seeds (nan) count as beyond every finite threshold: with fewer than half censored the median, and
    so the fit, is the one of the uncensored truth; the interval covers the exponent; half censored is an error."""
    x = np.array([8.0, 16.0, 32.0, 64.0])
    rng = np.random.default_rng(1)
    covered = 0
    for rep in range(50):
        y = 3 * x[:, None] ** 2.0 * np.exp(0.05 * rng.standard_normal((4, 9)))
        cut = y.copy()
        top = np.argsort(y, axis=1)[:, -3:]  # the three slowest seeds of each x never crossed
        np.put_along_axis(cut, top, np.nan, axis=1)
        fit = metrics.fit_loglog_median(x, cut, n_boot=200, seed=rep)
        exact = np.polyfit(np.log(x), np.log(np.median(y, axis=1)), 1)[0]
        assert fit.slope == pytest.approx(exact, rel=1e-12)
        covered += fit.ci_low < 2.0 < fit.ci_high
    assert covered >= 40, f"the interval covered the exponent {covered}/50 times"
    half = np.where(np.arange(4)[None, :] < 2, np.nan, 1.0) * np.ones((4, 4))
    with pytest.raises(ValueError, match="half"):
        metrics.fit_loglog_median(x, half)
    assert np.isnan(metrics.fit_loglog_median(x, half, unknown="nan").ci_high)  # a check "< 3" on it fails
    with pytest.raises(ValueError, match="positive"):
        metrics.fit_loglog_median(x, -np.ones((4, 3)))


def test_crossing_point():
    assert metrics.crossing_point([1, 10, 100], [0.1, 0.3, 0.9], 0.5) == pytest.approx(10 ** (4 / 3), rel=1e-9)
    assert np.isnan(metrics.crossing_point([1, 2], [0.1, 0.2], 0.5))
