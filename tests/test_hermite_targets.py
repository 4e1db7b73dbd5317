import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import gauss_hermite

from featlearn import hermite, targets


def test_hermite_orthonormal_by_quadrature():
    z, w = gauss_hermite(40)
    H = np.stack([np.asarray(hermite.hermite(k, jnp.asarray(z, jnp.float32)), float) for k in range(8)])
    gram = (H * w) @ H.T
    np.testing.assert_allclose(gram, np.eye(8), atol=2e-4)


def test_hermite_he_small_degrees():
    z = jnp.linspace(-2, 2, 7)
    np.testing.assert_allclose(hermite.hermite_he(3, z), z**3 - 3 * z, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(hermite.hermite(2, z), (z**2 - 1) / math.sqrt(2), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("bias", [0.0, 0.7, -1.3])
def test_relu_hermite_coefficients_match_quadrature(bias):
    z, w = gauss_hermite(200)
    relu = np.maximum(z + bias, 0)
    quad = [float(np.sum(w * relu * np.asarray(hermite.hermite(k, jnp.asarray(z, jnp.float64 if False else
                                                                              jnp.float32)), float)))
            for k in range(6)]
    np.testing.assert_allclose(hermite.relu_hermite_coefficients(5, bias), quad, atol=5e-3)


def test_relu_odd_coefficients_vanish_without_bias():
    c = hermite.relu_hermite_coefficients(7)
    assert np.allclose(c[[3, 5, 7]], 0) and abs(c[2]) > 0.1


def test_random_orthonormal(key):
    U = targets.random_orthonormal(key, 3, 20)
    np.testing.assert_allclose(U @ U.T, np.eye(3), atol=1e-5)
    with pytest.raises(ValueError, match="r must be at most d"):
        targets.random_orthonormal(key, 5, 3)


def test_multi_index_variance_and_degrees_exact_vs_monte_carlo(key):
    f = targets.multi_index(key, 12, {(2, 0): .5, (0, 2): .5, (4, 0): .5, (2, 2): .5})
    assert f.variance == pytest.approx(1.0)
    np.testing.assert_allclose(f.degree_variances(), [0, 0, .5, 0, .5])
    assert f.plateau(2) == pytest.approx(0.5) and f.plateau(4) == 0
    x, y = targets.sample(jax.random.key(1), f, 400_000)
    assert float(jnp.var(y)) == pytest.approx(1.0, rel=0.03)
    assert abs(float(jnp.mean(y))) < 0.01


def test_expected_hessian_matches_monte_carlo(key):
    f = targets.multi_index(key, 6, {(2, 0): .6, (1, 1): .8})
    H = np.asarray(f.expected_hessian())
    x, y = targets.sample(jax.random.key(2), f, 100_000)
    # Stein: E[f(x)(x x^T - I)] = E[Hessian]
    n = x.shape[0]
    prod = np.asarray(y[:, None, None] * (x[:, :, None] * x[:, None, :] - jnp.eye(6)))
    mc, se = prod.mean(0), prod.std(0) / np.sqrt(n)
    assert np.all(np.abs(H - mc) < 5 * se + 1e-3), "E[Hessian] disagrees with Stein's Monte Carlo beyond 5 s.e."
    assert np.linalg.matrix_rank(H, tol=1e-3) == 2


def test_degenerate_hessian_for_he3(key):
    f = targets.single_index(key, 8, {3: 1.0})
    assert np.allclose(f.expected_hessian(), 0)


def test_linear_coefficients(key):
    f = targets.multi_index(key, 5, {(1, 0): .3, (0, 1): -.4, (2, 0): 1.0})
    x, y = targets.sample(jax.random.key(3), f, 200_000)
    np.testing.assert_allclose(f.linear_coefficients(), x.T @ y / x.shape[0], atol=0.01)


def test_hermite_sum_per_degree(key):
    f = targets.hermite_sum(key, 10, {1: 1 / 3, 2: 1 / 3, 3: 1 / 3})
    np.testing.assert_allclose(f.degree_variances(), [0, 1 / 3, 1 / 3, 1 / 3], atol=1e-12)
    assert f.plateau(1) == pytest.approx(2 / 3)


def test_target_is_a_pytree_under_jit(key):
    f = targets.single_index(key, 4, {2: 1.0})
    x = jnp.ones((3, 4))
    np.testing.assert_allclose(jax.jit(lambda t, x: t(x))(f, x), f(x), rtol=1e-6)


def test_teacher_network_and_sampler_dtype(key):
    t = targets.teacher_network(key, 7, 3)
    np.testing.assert_allclose(jnp.linalg.norm(t.W, axis=1), 1, atol=1e-5)
    x, y = targets.sample(key, t, 10, dtype=jnp.float32)
    assert x.shape == (10, 7) and y.shape == (10,) and y.dtype == jnp.float32
    np.testing.assert_allclose(t.W @ t.W.T, np.eye(3), atol=1e-5)  # orthonormal directions
    np.testing.assert_allclose(y, jax.nn.relu(x @ t.W.T) @ np.array([1.0, -1.0, 1.0]), rtol=1e-5, atol=1e-6)
    ta = targets.teacher_network(key, 7, 2, a=[0.5, 2.0], activation="abs", orthogonal=False)
    np.testing.assert_allclose(jnp.linalg.norm(ta.W, axis=1), 1, atol=1e-5)
    np.testing.assert_allclose(ta(x), jnp.abs(x @ ta.W.T) @ jnp.array([0.5, 2.0]), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="activation must be one of"):
        targets.teacher_network(key, 7, 3, activation="gelu")


@pytest.mark.parametrize("kw, msg", [
    (dict(n=0), "n must be an integer >= 1"),
    (dict(n=-3), "n must be an integer >= 1"),
    (dict(noise_std=-1.0), r"noise_std must lie in \[0.0"),
])
def test_sample_bad_input(key, kw, msg):
    f = targets.single_index(key, 4, {2: 1.0})
    args = dict(n=10, noise_std=0.0) | kw
    with pytest.raises(ValueError, match=msg):
        targets.sample(key, f, args["n"], noise_std=args["noise_std"])


def test_bad_terms(key):
    with pytest.raises(ValueError, match="terms"):
        targets.multi_index(key, 5, {(2, 0): 1.0, (1,): 1.0})
