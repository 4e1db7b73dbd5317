import jax
import jax.numpy as jnp
import numpy as np

from featlearn import _linalg, ridge


def _sym(key, shape):
    a = jax.random.normal(key, shape)
    return a + jnp.swapaxes(a, -1, -2)


def test_eigh_matches_jax_batched_and_runs_one_matrix_at_a_time(x64):
    a = _sym(jax.random.key(0), (4, 6, 6))
    w, v = jax.vmap(_linalg.eigh)(a)
    w_ref, v_ref = jnp.linalg.eigh(a)
    np.testing.assert_allclose(w, w_ref, atol=1e-12)
    np.testing.assert_allclose(jnp.abs(jnp.einsum("bij,bij->bj", v, v_ref)), 1.0, atol=1e-10)
    # the batched form is a loop over the batch, not one batched LAPACK call
    jaxpr = str(jax.make_jaxpr(jax.vmap(_linalg.eigh))(a))
    assert "scan" in jaxpr or "while" in jaxpr
    np.testing.assert_allclose(jax.vmap(_linalg.eigvalsh)(a), w_ref, atol=1e-12)


def test_eigh_gradient_matches_jax(x64):
    a = _sym(jax.random.key(1), (3, 5, 5))
    weights = jnp.arange(1.0, 6.0)

    def objective(eigh):
        def f(x):
            w, v = eigh(x)
            return jnp.sum(w**3) + jnp.sum(v[:, 0] * weights) ** 2

        return f

    g = jax.vmap(jax.grad(objective(_linalg.eigh)))(a)
    g_ref = jax.vmap(jax.grad(objective(jnp.linalg.eigh)))(a)
    np.testing.assert_allclose(g, g_ref, rtol=1e-8, atol=1e-10)


def test_vmapped_ridge_agrees_with_one_at_a_time():
    keys = jax.random.split(jax.random.key(2), 3)
    F = jax.vmap(lambda k: jax.random.normal(k, (40, 8)))(keys)
    y = F @ jnp.arange(8.0) + 0.1
    fits = jax.jit(jax.vmap(lambda F, y: ridge.ridge(F, y, F, y).coef))(F, y)
    for i in range(3):
        np.testing.assert_allclose(fits[i], ridge.ridge(F[i], y[i], F[i], y[i]).coef, rtol=1e-4, atol=1e-5)
