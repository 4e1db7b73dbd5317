import jax
import jax.numpy as jnp
import numpy as np
import pytest

from featlearn import data, models, targets
from featlearn import gradfeatures as gf


def _xor(key, n=400, d=12):
    return data.xor_mixture(key, n, d)


def test_simplified_gradient_matches_its_definition(key):
    x, y, _ = _xor(key, n=300, d=7)
    p = models.init_params(jax.random.key(1), 7, 10, symmetric=False)
    G = np.asarray(gf.simplified_gradient(p["W"], p["b"], x, y))
    X, Y, W, b = (np.asarray(v, np.float64) for v in (x, y, p["W"], p["b"]))
    for i in range(W.shape[0]):
        fire = (X @ W[i] + b[i]) > 0
        expected = np.mean((Y * fire)[:, None] * X, axis=0)
        np.testing.assert_allclose(G[i], expected, rtol=1e-4, atol=1e-6)
    # weights: zero weight on the second half equals using the first half only
    w = (jnp.arange(300) < 150).astype(jnp.float32)
    np.testing.assert_allclose(gf.simplified_gradient(p["W"], p["b"], x, y, w),
                               gf.simplified_gradient(p["W"], p["b"], x[:150], y[:150]), rtol=1e-5, atol=1e-7)


def test_simplified_gradient_population_value_for_linear_labels():
    # y = sign(u·x), x ~ N(0, I), a neuron that always fires (b huge): G = E[y x] = sqrt(2/pi) u.
    d, n = 5, 200_000
    x = targets.gaussian_inputs(jax.random.key(3), n, d)
    u = jnp.eye(1, d)[0]
    y = jnp.sign(x @ u)
    G = gf.simplified_gradient(jnp.ones((1, d)) * 0.01, jnp.array([100.0]), x, y)[0]
    se = 1.0 / np.sqrt(n)
    np.testing.assert_allclose(np.asarray(G), np.sqrt(2 / np.pi) * np.asarray(u), atol=5 * se)


def test_first_step_at_symmetric_init_is_minus_a_times_G(key):
    x, y, _ = _xor(key)
    p0 = models.init_params(jax.random.key(2), x.shape[1], 16, symmetric=True)
    assert float(jnp.max(jnp.abs(models.apply(p0, x)))) < 1e-5
    gW = jax.grad(lambda W: gf.hinge_loss({**p0, "W": W}, x, y))(p0["W"])
    G = gf.simplified_gradient(p0["W"], p0["b"], x, y)
    np.testing.assert_allclose(gW, -p0["a"][:, None] * G, rtol=1e-5, atol=1e-7)
    eta1 = 3.0
    p1 = gf.first_step(p0, x, y, eta1)
    np.testing.assert_allclose(p1["W"], eta1 * p0["a"][:, None] * G, rtol=1e-5, atol=1e-6)
    assert p1["b"] is p0["b"] and p1["a"] is p0["a"]
    # the explicit weight decay 1/eta1 gives the same step up to rounding; lambda1 = 0 keeps W0
    np.testing.assert_allclose(gf.first_step(p0, x, y, eta1, lambda1=1 / eta1)["W"], p1["W"], atol=1e-5)
    np.testing.assert_allclose(gf.first_step(p0, x, y, eta1, lambda1=0.0)["W"], p0["W"] + p1["W"], atol=1e-5)


def test_second_layer_fits_separable_data_and_is_scale_free(key):
    x, y, _ = _xor(key, n=200, d=6)
    p0 = models.init_params(jax.random.key(5), 6, 200, symmetric=True)
    Phi = models.features(gf.first_step(p0, x, y, 10.0), x)
    fit = jax.jit(lambda F: gf.train_second_layer(F, y, steps=400, weight_decay=0.0))
    a = fit(Phi)
    assert float(jnp.mean(jax.nn.relu(1 - y * (Phi @ a)))) < 0.05
    a10 = fit(10 * Phi)
    np.testing.assert_allclose(10 * a10, a, rtol=1e-3, atol=1e-6)


def test_two_stage_random_features_keeps_W(key):
    x, y, _ = _xor(key, n=100, d=6)
    p0 = models.init_params(jax.random.key(5), 6, 20, symmetric=True)
    rf = gf.two_stage(p0, x, y, learn_features=False, steps=5)
    np.testing.assert_array_equal(rf.final["W"], p0["W"])
    net = gf.two_stage(p0, x, y, eta1=2.0, steps=5)
    np.testing.assert_allclose(net.step1["W"], gf.first_step(p0, x, y, 2.0)["W"])


def test_cone_and_gradient_feature_fraction():
    D = jnp.eye(2, 3)
    W = jnp.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.1], [1.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(gf.cone_fraction(W, D, 0.1), [0.25, 0.25])
    np.testing.assert_allclose(gf.cone_fraction(W, D, 0.5), [0.5, 0.5])
    # with a neuron that always fires, G = E[yx]; the fraction is 1 for the direction E[yx] points to
    x = targets.gaussian_inputs(jax.random.key(0), 20_000, 3)
    y = jnp.sign(x[:, 0])
    p = {"W": jnp.zeros((2, 3)), "b": jnp.ones(2), "a": jnp.array([1.0, -1.0])}
    frac = gf.gradient_feature_fraction(p, x, y, jnp.stack([D[0], -D[0]]), 0.05)
    np.testing.assert_allclose(frac, [0.5, 0.5])
    assert float(jnp.sum(gf.gradient_feature_fraction(p, x, y, D, 0.05, B_G=10.0))) == 0.0


def test_masks_and_pruning(key):
    s = jnp.array([0.3, 2.0, -1.0, 0.5, 0.5])
    np.testing.assert_array_equal(gf.top_mask(s, 2), [False, True, False, True, False])
    assert int(jnp.sum(gf.random_mask(key, 50, 7))) == 7
    p = {"W": jnp.array([[3.0, 4.0], [1.0, 0.0]]), "a": jnp.array([-2.0, 0.5]), "b": jnp.zeros(2)}
    np.testing.assert_allclose(gf.prune_scores(p), [10.0, 0.5])
    # the retrained subset uses only the kept neurons
    x, y, _ = _xor(key, n=100, d=2)
    q = gf.retrain_subset({**p, "a": jnp.zeros(2)}, jnp.array([True, False]), x, y, steps=10)
    assert float(q["a"][1]) == 0.0


def test_linear_plus_xor_and_shuffle(key):
    x, y, u, U = gf.linear_plus_xor(key, 4000, 8, linear_margin=2.0)
    assert float(jnp.mean(x[:, 0] * y)) == pytest.approx(2.0, abs=0.1)
    np.testing.assert_allclose(u @ U.T, 0.0)
    x0, _, _, _ = gf.linear_plus_xor(key, 4000, 8, linear_margin=0.0)
    assert abs(float(jnp.mean(x0[:, 0] * y))) < 0.1
    cols = jnp.arange(8) == 0
    xs = gf.shuffle_columns(jax.random.key(9), x, cols)
    np.testing.assert_array_equal(xs[:, 1:], x[:, 1:])
    np.testing.assert_allclose(np.sort(xs[:, 0]), np.sort(x[:, 0]))
    assert abs(float(jnp.mean(xs[:, 0] * y))) < 0.15


def test_xor_experiment_runs_and_learns_features(key):
    run = jax.jit(lambda k: gf.xor_experiment(k, 600, d=16, m=40, n_max=600, eta1=10.0, steps=60, n_test=400,
                                              n_pop=1000))
    out = run(key)
    assert float(out["mass_step1"]) > 5 * float(out["mass_init"])
    assert float(out["err_net"]) < float(out["err_rf"]) - 0.1


@pytest.mark.parametrize("call, msg", [
    (lambda x, y, p: gf.first_step(p, x, y, 0.0), "eta1 must lie in"),
    (lambda x, y, p: gf.first_step(p, x, y, 1.0, lambda1=-1.0), "lambda1 must lie in"),
    (lambda x, y, p: gf.train_second_layer(x, y, steps=0), "steps must be an integer"),
    (lambda x, y, p: gf.train_second_layer(x, y, momentum=1.0), "momentum must lie in"),
    (lambda x, y, p: gf.train_second_layer(x, y, weight_decay=-1.0), "weight_decay must lie in"),
    (lambda x, y, p: gf.train_second_layer(x, y[:3]), "y must have shape"),
    (lambda x, y, p: gf.cone_fraction(p["W"], jnp.eye(2, 3), 0.1), "D must have shape"),
    (lambda x, y, p: gf.cone_fraction(p["W"], jnp.eye(2, 4), 0.0), "gamma must lie in"),
    (lambda x, y, p: gf.gradient_feature_fraction(p, x, y, jnp.eye(2, 4), 0.1, B_G=-1.0), "B_G must lie in"),
    (lambda x, y, p: gf.simplified_gradient(p["W"][:, :2], p["b"], x, y), "W must have shape"),
    (lambda x, y, p: gf.linear_plus_xor(jax.random.key(0), 10, 2), "d must be an integer >= 3"),
    (lambda x, y, p: gf.linear_plus_xor(jax.random.key(0), 10, 5, linear_margin=-1.0), "linear_margin must lie in"),
])
def test_errors(key, call, msg):
    x, y, _ = _xor(key, n=20, d=4)
    p = models.init_params(key, 4, 6)
    with pytest.raises(ValueError, match=msg):
        call(x, y, p)
