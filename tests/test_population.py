"""Closed-form population losses against Monte Carlo (with its standard error) and against autodiff."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import normal as _normal

from featlearn import models, population


def _net(seed, m, d, scale=1.0):
    return {"W": scale * _normal(seed, (m, d)), "a": _normal(seed + 100, (m,))}


@pytest.mark.parametrize("activation", population.CLOSED_FORM_ACTIVATIONS)
def test_second_moment_matches_monte_carlo(x64, activation):
    d, n = 5, 100_000
    U = _normal(1, (3, d))
    x = _normal(2, (n, d))
    sig = models.activation_fn(activation)  # the network's own sigma: population names the same functions
    h = sig(x @ U.T)  # (n, 3)
    prod = h[:, :, None] * h[:, None, :]
    mc, se = prod.mean(0), prod.std(0) / np.sqrt(n)
    exact = population.second_moment(U, U, activation)
    assert np.all(np.abs(exact - mc) < 5 * se + 1e-12), (exact, mc, se)


@pytest.mark.parametrize("activation", population.CLOSED_FORM_ACTIVATIONS)
def test_population_loss_matches_monte_carlo(x64, activation):
    d, n = 6, 100_000
    student = _net(3, 7, d)
    W_star = _normal(4, (2, d))
    a_star = jnp.array([1.0, -0.7])
    sig = models.activation_fn(activation)  # the network's own sigma: population names the same functions
    x = _normal(5, (n, d))
    r2 = jax.jit(lambda x: 0.5 * (sig(x @ student["W"].T) @ student["a"] - sig(x @ W_star.T) @ a_star) ** 2)(x)
    exact = jax.jit(population.population_loss, static_argnums=3)(student, W_star, a_star, activation)
    assert abs(exact - r2.mean()) < 5 * r2.std() / np.sqrt(n), (exact, r2.mean())


def test_residual_correlation_is_derivative_in_new_output_weight(x64):
    d = 6
    student = _net(6, 5, d)
    W_star = _normal(7, (3, d))
    a_star = jnp.array([1.0, 0.5, -0.8])
    v = _normal(8, (1, d))

    def loss_with(c):
        p = {"W": jnp.concatenate([student["W"], v]), "a": jnp.concatenate([student["a"], c[None]])}
        return population.population_loss(p, W_star, a_star)

    g = jax.jit(jax.grad(loss_with))(jnp.zeros(()))
    np.testing.assert_allclose(population.residual_correlation(v, student, W_star, a_star)[0], g, rtol=1e-10)


@pytest.mark.parametrize("activation", population.CLOSED_FORM_ACTIVATIONS)
def test_kappa_jvp_finite_and_matches_finite_difference(x64, activation):
    rho = jnp.array([-1.0, -0.5, 0.0, 0.3, 0.999, 1.0])
    g = jax.vmap(jax.grad(lambda r: population.kappa(r, activation)))(rho)
    assert np.all(np.isfinite(g))
    h = 1e-6
    inner = rho[1:-1]
    fd = (population.kappa(inner + h, activation) - population.kappa(inner - h, activation)) / (2 * h)
    np.testing.assert_allclose(g[1:-1], fd, rtol=1e-5, atol=1e-8)
    # kappa(1) = E sigma(z)^2: 1 for |z|, 1/2 for ReLU
    assert float(population.kappa(jnp.array(1.0), activation)) == pytest.approx(1.0 if activation == "abs" else 0.5)


def test_loss_gradient_finite_when_student_equals_teacher(x64):
    W_star = _normal(9, (2, 4))
    a_star = jnp.array([1.0, -0.5])
    p = {"W": W_star, "a": a_star}
    assert float(population.population_loss(p, W_star, a_star)) == pytest.approx(0.0, abs=1e-12)
    g = jax.jit(jax.grad(population.population_loss))(p, W_star, a_star)
    assert all(np.all(np.isfinite(v)) and np.max(np.abs(v)) < 1e-6 for v in g.values())


def test_bad_input():
    with pytest.raises(ValueError, match="activation"):
        population.kappa(jnp.zeros(3), "tanh")
    with pytest.raises(ValueError, match="a_star"):
        population.population_loss({"W": jnp.ones((2, 3)), "a": jnp.ones(2)}, jnp.ones((1, 3)), jnp.ones(2))
