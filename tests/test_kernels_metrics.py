import jax
import jax.numpy as jnp
import numpy as np
import pytest

from featlearn import kernels, metrics, models


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


def test_neuron_teacher_angles():
    Ws = jnp.eye(2, 3)
    W = jnp.array([[2.0, 0, 0], [0, -1.0, 0], [1.0, 1.0, 0]])
    ang, idx = metrics.neuron_teacher_angles(W, Ws)
    np.testing.assert_allclose(ang, [0, np.pi / 2, np.pi / 4], atol=1e-3)
    ang2, _ = metrics.neuron_teacher_angles(W, Ws, up_to_sign=True)
    assert float(ang2[1]) < 1e-3 and int(idx[0]) == 0


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


def test_crossing_point():
    assert metrics.crossing_point([1, 10, 100], [0.1, 0.3, 0.9], 0.5) == pytest.approx(10 ** (4 / 3), rel=1e-9)
    assert np.isnan(metrics.crossing_point([1, 2], [0.1, 0.2], 0.5))
