import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.spatial.distance import cdist

from featlearn import agop, data, models, ridge, targets


def test_agop_of_a_linear_model_is_theta_theta_transpose(key):
    theta = jnp.array([1.0, -2.0, 0.5])
    x = targets.gaussian_inputs(key, 50, 3)
    np.testing.assert_allclose(agop.agop(lambda z: z @ theta, x), jnp.outer(theta, theta), rtol=1e-6)


def test_agop_against_finite_differences(key):
    # f(z) = sum(tanh(Az)): central differences in float64 numpy
    A = np.asarray(jax.random.normal(jax.random.key(1), (4, 3)))
    X = np.asarray(targets.gaussian_inputs(key, 20, 3), np.float64)
    f = lambda z: np.sum(np.tanh(A @ z))
    h = 1e-5
    grads = np.array([[(f(z + h * e) - f(z - h * e)) / (2 * h) for e in np.eye(3)] for z in X])
    expected = grads.T @ grads / len(X)
    got = agop.agop(lambda z: jnp.sum(jnp.tanh(jnp.asarray(A, jnp.float32) @ z)), jnp.asarray(X, jnp.float32))
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_two_layer_agop_closed_form_matches_autodiff(key):
    p = models.init_params(key, 6, 30, symmetric=False)
    x = targets.gaussian_inputs(jax.random.key(4), 40, 6)
    auto = agop.agop(lambda z: models.apply(p, z[None, :], scale=0.3)[0], x)
    np.testing.assert_allclose(agop.two_layer_agop(p, x, scale=0.3), auto, rtol=1e-5, atol=1e-6)


def test_nfa_correlation_properties(key):
    A = jax.random.normal(key, (5, 5))
    B = jax.random.normal(jax.random.key(7), (5, 5))
    assert float(agop.nfa_correlation(A, A)) == pytest.approx(1.0, abs=1e-6)
    assert float(agop.nfa_correlation(A, 3.7 * A + 2.0)) == pytest.approx(1.0, abs=1e-6)
    assert float(agop.nfa_correlation(A, -A)) == pytest.approx(-1.0, abs=1e-6)
    c = float(agop.nfa_correlation(A, B))
    assert float(agop.nfa_correlation(10 * A, 0.1 * B)) == pytest.approx(c, abs=1e-6)
    assert abs(c) < 1.0
    with pytest.raises(ValueError, match="same shape"):
        agop.nfa_correlation(A, B[:4])


def test_psd_power_is_the_square_root(key):
    R = jax.random.normal(key, (4, 4))
    A = R @ R.T
    S = agop.psd_power(A, 0.5)
    np.testing.assert_allclose(S @ S, A, rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="power must lie in"):
        agop.psd_power(A, 0.0)


def test_laplace_kernel_and_mahalanobis(key):
    X = np.asarray(targets.gaussian_inputs(key, 7, 3))
    Y = np.asarray(targets.gaussian_inputs(jax.random.key(2), 5, 3))
    np.testing.assert_allclose(agop.laplace_kernel(X, Y, bandwidth=2.0), np.exp(-cdist(X, Y) / 2.0), rtol=1e-5)
    M = np.diag([4.0, 1.0, 0.0])
    np.testing.assert_allclose(agop.mahalanobis_distances(X, Y, M), cdist(X, Y, "mahalanobis", VI=M),
                               rtol=1e-4, atol=1e-5)


def test_kernel_predictor_agop_matches_autodiff(key):
    X = targets.gaussian_inputs(key, 15, 3)
    alpha = jax.random.normal(jax.random.key(1), (15,))
    M = jnp.diag(jnp.array([2.0, 1.0, 0.5]))
    z = targets.gaussian_inputs(jax.random.key(3), 10, 3)  # points away from the centres
    f = lambda u: agop.laplace_kernel(u[None, :], X, M, bandwidth=1.5)[0] @ alpha
    np.testing.assert_allclose(agop.kernel_predictor_agop(X, alpha, M, z, bandwidth=1.5), agop.agop(f, z),
                               rtol=1e-4, atol=1e-6)


def test_rfm_with_identity_is_plain_laplace_kernel_ridge(key):
    x, y, _ = data.xor_mixture(key, 120, 5)
    xt, yt, _ = data.xor_mixture(jax.random.key(8), 200, 5)
    K = jnp.exp(-jnp.asarray(cdist(np.asarray(x), np.asarray(x))) / 3.0)
    Kt = jnp.exp(-jnp.asarray(cdist(np.asarray(xt), np.asarray(x))) / 3.0)
    fit = ridge.kernel_ridge(K.astype(jnp.float32), y)  # λ by leave-one-out
    expected = float(jnp.mean(jnp.sign(Kt.astype(jnp.float32) @ fit.coef) != yt))
    res = jax.jit(lambda *a: agop.rfm(*a, iterations=0, bandwidth=3.0))(x, y, xt, yt)
    assert res.test_error.shape == (1,)
    assert float(res.test_error[0]) == pytest.approx(expected, abs=1 / 200 + 1e-9)
    np.testing.assert_allclose(res.M, jnp.eye(5))
    res2 = jax.jit(lambda *a: agop.rfm(*a, iterations=2, bandwidth=3.0))(x, y, xt, yt)
    assert float(jnp.trace(res2.M)) == pytest.approx(5.0, rel=1e-4)
    with pytest.raises(ValueError, match="bandwidth must lie in"):
        agop.rfm(x, y, xt, yt, bandwidth=0.0)
