import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from featlearn import models, targets, train


def test_symmetric_init_is_zero(key):
    p = models.init_params(key, 9, 64)
    x = jax.random.normal(jax.random.key(3), (50, 9))
    # zero up to float32 rounding of the sum over neurons (the unpaired network is of order 1)
    assert float(jnp.max(jnp.abs(models.apply(p, x)))) < 1e-5
    net = models.TwoLayer(9, 64, rngs=nnx.Rngs(0))
    assert float(jnp.max(jnp.abs(net(x)))) < 1e-5
    p["a"] = jnp.abs(p["a"])
    assert float(jnp.max(jnp.abs(models.apply(p, x)))) > 1.0


def test_functional_view_matches_module():
    net = models.TwoLayer(5, 16, rngs=nnx.Rngs(1), symmetric=False, scaling="mean_field")
    f, p = models.functional(net)
    x = jax.random.normal(jax.random.key(0), (4, 5))
    np.testing.assert_allclose(f(p, x), net(x), rtol=1e-6)
    net2 = models.TwoLayer.from_params(p, scaling="mean_field")
    np.testing.assert_allclose(net2(x), net(x), rtol=1e-6)


def test_init_statistics(key):
    p = models.init_params(key, 50, 4000, symmetric=False, bias_std=2.0)
    assert float(jnp.mean(jnp.sum(p["W"] ** 2, axis=1))) == pytest.approx(1.0, rel=0.03)
    assert float(jnp.std(p["b"])) == pytest.approx(2.0, rel=0.05)
    assert set(np.unique(np.asarray(p["a"]))) == {-1.0, 1.0}


@pytest.mark.parametrize("kw, msg", [
    (dict(m=7), "m must be even"),
    (dict(m=0), "m must be an integer >= 1"),
    (dict(bias_std=-1.0), "bias_std must lie in"),
    (dict(second_layer="uniform"), "second_layer must be one of"),
])
def test_init_bad_input(key, kw, msg):
    args = dict(d=3, m=8) | kw
    with pytest.raises(ValueError, match=msg):
        models.init_params(key, args.pop("d"), args.pop("m"), **args)


def test_unknown_activation_and_scaling():
    with pytest.raises(ValueError, match="activation must be one of"):
        models.activation_fn("gelu")
    with pytest.raises(ValueError, match="scaling must be one of"):
        models.output_scale(10, "lazy")


def _problem(key, n=200, d=5):
    f = targets.single_index(key, d, {1: .8, 2: .6})
    x, y = targets.sample(jax.random.key(1), f, n)
    return x, y


def test_fit_reduces_loss_and_traces(key):
    x, y = _problem(key)
    p = models.init_params(jax.random.key(2), 5, 64)
    apply_fn = models.make_apply("relu", models.output_scale(64, "ntk"))
    p2, tr = train.fit(p, apply_fn, x, y, steps=400, lr=0.5, n_evals=8, x_test=x[:50], y_test=y[:50])
    assert tr.train_loss.shape == (9,) and int(tr.step[-1]) == 400
    assert float(tr.train_loss[-1]) < 0.2 * float(tr.train_loss[0])
    assert not np.allclose(p2["W"], p["W"])


def test_fit_frozen_parameters_do_not_move(key):
    x, y = _problem(key)
    p = models.init_params(jax.random.key(2), 5, 32)
    apply_fn = models.make_apply()
    p2, _ = train.fit(p, apply_fn, x, y, steps=10, lr=0.1, n_evals=1, trainable=("a",))
    np.testing.assert_array_equal(p2["W"], p["W"])
    np.testing.assert_array_equal(p2["b"], p["b"])


def test_fit_is_vmappable_over_lr_and_deterministic(key):
    x, y = _problem(key)
    p = models.init_params(jax.random.key(2), 5, 32)
    apply_fn = models.make_apply(scale=32 ** -0.5)
    run = jax.jit(jax.vmap(lambda lr: train.fit(p, apply_fn, x, y, steps=50, lr=lr, n_evals=5)[1].train_loss[-1]))
    a = run(jnp.array([0.01, 0.1, 0.5]))
    b = run(jnp.array([0.01, 0.1, 0.5]))
    np.testing.assert_array_equal(a, b)
    assert float(a[2]) < float(a[0])


def test_sgd_needs_key_and_runs(key):
    x, y = _problem(key)
    p = models.init_params(jax.random.key(2), 5, 32)
    with pytest.raises(ValueError, match="key must be given"):
        train.fit(p, models.make_apply(), x, y, steps=10, lr=0.1, n_evals=1, batch_size=16)
    _, tr = train.fit(p, models.make_apply(scale=32 ** -0.5), x, y, steps=200, lr=0.2, n_evals=2, batch_size=32,
                      key=key, optimizer="momentum")
    assert float(tr.train_loss[-1]) < float(tr.train_loss[0])


@pytest.mark.parametrize("kw, msg", [
    (dict(steps=0), "steps must be an integer >= 1"),
    (dict(n_evals=3), "n_evals must divide steps"),
    (dict(lr=-0.1), "lr must lie in"),
    (dict(loss="l1"), "loss must be one of"),
    (dict(trainable=("v",)), "trainable names unknown parameter"),
    (dict(optimizer="lbfgs"), "optimizer must be one of"),
])
def test_fit_bad_input(key, kw, msg):
    x, y = _problem(key, n=20)
    p = models.init_params(key, 5, 8)
    args = dict(steps=10, lr=0.1, n_evals=5) | kw
    with pytest.raises(ValueError, match=msg):
        train.fit(p, models.make_apply(), x, y, **args)


def test_ridge_matches_direct_solve(key):
    k1, k2, k3 = jax.random.split(key, 3)
    for n, p in [(80, 30), (30, 80)]:
        F = jax.random.normal(k1, (n, p), jnp.float32)
        y = F @ jax.random.normal(k2, (p,)) + 0.3 * jax.random.normal(k3, (n,))
        lams = jnp.array([1e-2, 1e-1, 1.0])
        fit = train.ridge(F, y, F[:10], y[:10], lambdas=lams)
        lam = float(fit.lam)
        direct = np.linalg.solve(np.asarray(F.T @ F, float) / n + lam * np.eye(p), np.asarray(F.T @ y, float) / n)
        np.testing.assert_allclose(fit.coef, direct, rtol=2e-3, atol=2e-3)
        assert fit.val_mse.shape == (3,)


def test_kernel_ridge_matches_direct_solve(key):
    X = jax.random.normal(key, (60, 4))
    y = jnp.sin(X[:, 0])
    K = jnp.exp(-jnp.sum((X[:, None] - X[None]) ** 2, -1) / 4)
    fit = train.kernel_ridge(K, y, K[:20], y[:20], lambdas=jnp.array([1e-2]))
    lam = float(fit.lam)
    direct = np.linalg.solve(np.asarray(K, float) / 60 + lam * np.eye(60), np.asarray(y, float) / 60)
    np.testing.assert_allclose(fit.coef, direct, rtol=5e-3, atol=5e-3)


def test_ridge_shape_errors(key):
    F = jnp.ones((10, 3))
    with pytest.raises(ValueError, match="y must have shape"):
        train.ridge(F, jnp.ones(9), F, jnp.ones(10))
    with pytest.raises(ValueError, match="F_val must have shape"):
        train.ridge(F, jnp.ones(10), jnp.ones((4, 2)), jnp.ones(4))
