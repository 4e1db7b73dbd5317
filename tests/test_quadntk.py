import jax
import jax.numpy as jnp
import numpy as np
import pytest

from featlearn import models, quadntk, rng, taylor


@pytest.fixture(scope="module")
def setup():
    kn, kx, kw = jax.random.split(jax.random.key(0), 3)
    net = quadntk.initial_network(kn, 6, 40)
    x = rng.normal(kx, (30, 6))
    W = rng.normal(kw, (40, 6))
    return net, x, W


def test_symmetric_init_is_zero(setup):
    net, x, _ = setup
    assert float(jnp.max(jnp.abs(quadntk.network(net, jnp.zeros_like(net["W0"]), x)))) < 1e-6


def test_terms_match_generic_taylor(setup):
    net, x, W = setup
    p0 = {"W": net["W0"], "b": jnp.zeros(40), "a": net["a"]}
    apply_fn = models.make_apply("sigmoid_shift")
    dlt = {"W": W, "b": jnp.zeros(40), "a": jnp.zeros(40)}
    np.testing.assert_allclose(quadntk.f_L(net, W, x), taylor.linear_term(apply_fn, p0, dlt, x), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(quadntk.f_Q(net, W, x), taylor.quadratic_term(apply_fn, p0, dlt, x), rtol=1e-4,
                               atol=1e-5)


def test_taylor_remainder_is_cubic(setup):
    net, x, W = setup
    W = W / jnp.linalg.norm(W)
    ts = np.array([0.4, 0.2, 0.1, 0.05])
    rem = []
    for t in ts:
        r = quadntk.network(net, t * W, x) - quadntk.f_L(net, t * W, x) - quadntk.f_Q(net, t * W, x)
        rem.append(float(jnp.linalg.norm(r)))
    slope = np.polyfit(np.log(ts), np.log(rem), 1)[0]
    assert 2.7 < slope < 3.3, slope


def test_gram_and_jacobian(setup):
    net, x, W = setup
    J = quadntk.ntk_jacobian(net, x)
    np.testing.assert_allclose(quadntk.ntk_gram(net, x), J @ J.T, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(J @ W.reshape(-1), quadntk.f_L(net, W, x), rtol=1e-4, atol=1e-5)
    s = np.linalg.svd(np.asarray(J), compute_uv=False)
    np.testing.assert_allclose(quadntk.singular_values(net, x), s, rtol=1e-3, atol=1e-4)


def test_r1_and_projection(setup):
    net, x, W = setup
    k = 5
    J = np.asarray(quadntk.ntk_jacobian(net, x), np.float64)
    U, s, Vt = np.linalg.svd(J, full_matrices=False)
    J_large = J - (U[:, :k] * s[:k]) @ Vt[:k]
    want = np.sum((J_large @ np.asarray(W).reshape(-1)) ** 2) / x.shape[0]
    np.testing.assert_allclose(quadntk.regularizer_r1(net, x, k)({"W": W}), want, rtol=1e-3)
    Wp = quadntk.project_off_top(net, x, W, k)
    np.testing.assert_allclose(Vt[:k] @ np.asarray(Wp).reshape(-1), 0.0, atol=1e-3 * np.linalg.norm(W))


def test_fit_reaches_low_train_loss(setup):
    net, x, _ = setup
    beta = jnp.zeros(6).at[0].set(1.0)
    y = quadntk.target(x, beta)
    W, tr, r1 = quadntk.fit(net, x, y, model="LQ", lam=0.0, k=3, steps=400, lr=1.0, x_test=x, y_test=y, n_evals=4)
    assert W.shape == (40, 6) and r1.shape == (5,)
    assert float(tr.train_loss[-1]) < 0.5 * float(tr.train_loss[0])


def test_bad_input():
    with pytest.raises(ValueError, match="m"):
        quadntk.initial_network(jax.random.key(0), 3, 5)
    with pytest.raises(ValueError, match="model"):
        quadntk.model_fn({}, "X")
