import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from featlearn import models, rng, targets, train


def test_symmetric_init_is_zero(key):
    p = models.init_params(key, 9, 64)
    x = jax.random.normal(jax.random.key(3), (50, 9))
    # zero up to float32 rounding of the sum over neurons (the unpaired network is of order 1)
    assert float(jnp.max(jnp.abs(models.apply(p, x)))) < 1e-5
    net = models.TwoLayer(jax.random.key(0), 9, 64)
    assert float(jnp.max(jnp.abs(net(x)))) < 1e-5
    p["a"] = jnp.abs(p["a"])
    assert float(jnp.max(jnp.abs(models.apply(p, x)))) > 1.0


def test_the_split_view_is_the_module():
    """init_params is the state of the module drawn from the same key; apply merges it back and calls the module,
    under jit and grad too; state and merge are inverse."""
    key, x = jax.random.key(1), jax.random.normal(jax.random.key(0), (4, 5))
    net = models.TwoLayer(key, 5, 16, symmetric=False, scale=models.output_scale(16, "mean_field"), bias_std=0.5)
    p = models.init_params(key, 5, 16, symmetric=False, bias_std=0.5)
    assert isinstance(net, nnx.Module) and set(p) == {"W", "b", "a"}
    for k in p:
        np.testing.assert_array_equal(p[k], models.state(net)[k])
    scale = models.output_scale(16, "mean_field")
    np.testing.assert_array_equal(models.apply(p, x, scale=scale), net(x))
    np.testing.assert_allclose(jax.jit(models.make_apply("relu", scale))(p, x), net(x), rtol=1e-6)
    np.testing.assert_array_equal(models.features(p, x), net.features(x))
    back = models.merge(models.state(net), scale=scale)
    np.testing.assert_array_equal(back(x), net(x))
    g = jax.grad(lambda q: models.apply(q, x, scale=scale).sum())(p)  # the hand-computed gradient of a
    np.testing.assert_allclose(g["a"], scale * net.features(x).sum(0), rtol=1e-6)
    with pytest.raises(ValueError, match="params must hold W, b and a"):
        models.merge({"W": p["W"], "a": p["a"]})


def test_the_module_can_be_drawn_under_vmap():
    keys = jax.random.split(jax.random.key(3), 4)
    batch = jax.vmap(lambda k: models.init_params(k, 6, 8))(keys)
    one = models.init_params(keys[2], 6, 8)
    assert batch["W"].shape == (4, 8, 6)
    np.testing.assert_allclose(batch["W"][2], one["W"], rtol=1e-6)


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


@pytest.mark.parametrize("name", sorted(models.ACTIVATIONS))
def test_activation_derivatives_match_autodiff(name):
    act = models.activation(name)
    assert models.activation_fn(name) is act.fn
    z = jnp.array([-2.3, -0.7, -0.1, 0.2, 0.9, 1.0, 2.6])  # no kink at 0
    d1 = jax.vmap(jax.grad(act.fn))(z)
    np.testing.assert_allclose(act.prime(z), d1, rtol=1e-5, atol=1e-6)
    if act.second is None:  # ReLU, |z|: sigma'' is a Dirac mass at 0, zero elsewhere
        np.testing.assert_allclose(jax.vmap(jax.grad(act.prime))(z), 0.0)
    else:
        np.testing.assert_allclose(act.second(z), jax.vmap(jax.grad(jax.grad(act.fn)))(z), rtol=1e-5, atol=1e-6)


def test_first_layer_step_forgets_the_initialisation_and_keeps_the_rest(key):
    p = models.init_params(key, 4, 6)
    G = rng.normal(jax.random.key(1), (6, 4))
    eta = 0.7
    p1 = models.first_layer_step(p, G, eta)
    np.testing.assert_allclose(p1["W"], -eta * G, rtol=1e-6)  # lambda = 1/eta: W0 forgotten exactly
    assert p1["b"] is p["b"] and p1["a"] is p["a"]
    # an explicit weight decay: W1 = W0 - eta (G + lambda W0); 1/eta gives the same step up to rounding
    np.testing.assert_allclose(models.first_layer_step(p, G, eta, weight_decay=0.3)["W"],
                               p["W"] - eta * (G + 0.3 * p["W"]), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(models.first_layer_step(p, G, eta, weight_decay=1 / eta)["W"], p1["W"], atol=1e-6)
    np.testing.assert_allclose(models.first_layer_step(p, G, eta, weight_decay=0.0)["W"], p["W"] - eta * G,
                               rtol=1e-6)
    for kw, msg in ((dict(eta=0.0), "eta must lie in"), (dict(eta=1.0, weight_decay=-1.0), "weight_decay"),
                    (dict(eta=1.0, G=G[:, :3]), "G must have shape")):
        with pytest.raises(ValueError, match=msg):
            models.first_layer_step(p, kw.pop("G", G), **kw)


def test_first_layer_gradient_of_the_square_loss_in_closed_form(key):
    """grad_W of (1/2n) sum (f(x_i) - y_i)^2 with f = s sum_j a_j relu(w_j.x + b_j): row j is
    (1/n) sum_i (f(x_i) - y_i) s a_j 1[w_j.x_i + b_j > 0] x_i."""
    d, m, n, s = 5, 7, 50, 0.4
    p = models.init_params(key, d, m, symmetric=False)
    x = rng.normal(jax.random.key(2), (n, d))
    y = jnp.sin(x[:, 0])
    G = models.first_layer_gradient(lambda q: 0.5 * jnp.mean((models.apply(q, x, scale=s) - y) ** 2), p)
    X, Y, W, b, a = (np.asarray(v, np.float64) for v in (x, y, p["W"], p["b"], p["a"]))
    u = X @ W.T + b
    r = s * np.maximum(u, 0) @ a - Y
    want = ((r[:, None] * s * a[None, :] * (u > 0)).T @ X) / n
    np.testing.assert_allclose(G, want, rtol=1e-4, atol=1e-6)


def _problem(key, n=200, d=5):
    f = targets.single_index(key, d, {1: .8, 2: .6})
    x, y = targets.sample(jax.random.key(1), f, n)
    return x, y


def _quadratic(p=4, seed=0):
    """L(theta) = 1/2 theta^T A theta - b^T theta on params {"u": (p,)}, with A symmetric positive definite."""
    r = np.random.default_rng(seed)
    G = r.standard_normal((p, p))
    A = G @ G.T / p + 0.5 * np.eye(p)
    b = r.standard_normal(p)
    A_, b_ = jnp.asarray(A), jnp.asarray(b)

    def loss(params):
        u = params["u"]
        return 0.5 * u @ (A_ @ u) - b_ @ u

    return A, b, loss, {"u": jnp.asarray(r.standard_normal(p))}


def test_fit_matches_gradient_descent_on_a_quadratic_in_closed_form(x64):
    """GD on L + lam/2 ||theta||^2 from theta_0: theta_t = theta* + (I - eta (A + lam I))^t (theta_0 - theta*), with
    theta* = (A + lam I)^{-1} b; the trace records L, L + lam R and the gradient norm at those points."""
    A, b, loss, p0 = _quadratic()
    eta, lam, steps, n_evals = 0.3, 0.2, 40, 4
    p, tr = train.fit(p0, loss, steps=steps, lr=eta, lam=lam, n_evals=n_evals)
    H = A + lam * np.eye(4)
    star = np.linalg.solve(H, b)
    u0 = np.asarray(p0["u"])
    for i, t in enumerate(range(0, steps + 1, steps // n_evals)):
        u = star + np.linalg.matrix_power(np.eye(4) - eta * H, t) @ (u0 - star)
        L = 0.5 * u @ A @ u - b @ u
        np.testing.assert_allclose(tr.loss[i], L, rtol=1e-12)
        np.testing.assert_allclose(tr.objective[i], L + 0.5 * lam * u @ u, rtol=1e-12)
        np.testing.assert_allclose(tr.grad_norm[i], np.linalg.norm(H @ u - b), rtol=1e-10)
    np.testing.assert_allclose(p["u"], u, rtol=1e-12)
    np.testing.assert_array_equal(tr.step, [0, 10, 20, 30, 40])
    np.testing.assert_array_equal(tr.lam, [lam] * 5)
    np.testing.assert_allclose(tr.snapshots["u"], u[None], rtol=1e-12)
    assert tr.metrics is None
    assert float(np.linalg.norm(u - u0)) > 0.1  # it moved: the comparison has power


def test_fit_trains_a_network_and_freezes_what_is_not_trainable(key):
    x, y = _problem(key)
    p = models.init_params(jax.random.key(2), 5, 64)
    apply_fn = models.make_apply("relu", models.output_scale(64, "ntk"))
    p2, tr = train.fit(p, train.supervised_loss(apply_fn, x, y), steps=400, lr=0.5, n_evals=8)
    assert tr.loss.shape == (9,) and int(tr.step[-1]) == 400
    assert float(tr.loss[-1]) < 0.2 * float(tr.loss[0])
    assert not np.allclose(p2["W"], p["W"])
    # frozen: W and b do not move, and the default penalty 1/2 ||theta||^2 counts only the trainable a
    p3, tr3 = train.fit(p, train.supervised_loss(apply_fn, x, y), steps=10, lr=0.1, lam=0.3, trainable=("a",))
    np.testing.assert_array_equal(p3["W"], p["W"])
    np.testing.assert_array_equal(p3["b"], p["b"])
    assert not np.allclose(p3["a"], p["a"])
    np.testing.assert_allclose(tr3.objective - tr3.loss, [0.15 * jnp.sum(p["a"] ** 2), 0.15 * jnp.sum(p3["a"] ** 2)],
                               rtol=1e-5)


def test_weights_equal_duplicating_rows(key):
    """Integer weights omega_i: the weighted risk is the plain risk of the data with row i repeated omega_i times,
    for every loss, and training on it gives the same network."""
    x, y = _problem(key, n=12)
    w = jnp.array([2, 0, 1, 3, 1, 1, 0, 2, 1, 1, 4, 1], jnp.float32)
    rows = np.repeat(np.arange(12), np.asarray(w, int))
    pred = jnp.sin(3 * x[:, 0])
    for name in train.LOSSES:
        np.testing.assert_allclose(train.loss_value(pred, y, name, w), train.loss_value(pred[rows], y[rows], name),
                                   rtol=1e-6)
    p = models.init_params(jax.random.key(3), 5, 16)
    f = models.make_apply("relu", 0.25)
    pw, trw = train.fit(p, train.supervised_loss(f, x, y, weights=w), steps=30, lr=0.5, n_evals=3)
    pd, trd = train.fit(p, train.supervised_loss(f, x[rows], y[rows]), steps=30, lr=0.5, n_evals=3)
    for k in p:
        np.testing.assert_allclose(pw[k], pd[k], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(trw.loss, trd.loss, rtol=1e-5)
    pu, _ = train.fit(p, train.supervised_loss(f, x, y), steps=30, lr=0.5)
    assert float(jnp.abs(pu["W"] - pw["W"]).max()) > 1e-3  # the weights matter: the comparison has power


def test_lambda_schedule_equals_running_the_stages_by_hand(x64):
    """A schedule of S strengths is S runs of steps/S steps at a constant strength, each from where the last
    stopped; the snapshots are the ends of those runs and the trace says which strength each block used."""
    _, _, loss, p0 = _quadratic(seed=1)
    lams = jnp.array([1.0, 0.3, 0.0, 2.0])
    p, tr = train.fit(p0, loss, steps=24, lr=0.2, lam=lams, n_evals=8)
    q, ends = p0, []
    for lam in lams:
        q, _ = train.fit(q, loss, steps=6, lr=0.2, lam=lam)
        ends.append(q["u"])
    np.testing.assert_allclose(p["u"], q["u"], rtol=1e-12)
    np.testing.assert_allclose(tr.snapshots["u"], np.stack(ends), rtol=1e-12)
    np.testing.assert_array_equal(tr.lam, [1.0, 1.0, 1.0, 0.3, 0.3, 0.0, 0.0, 2.0, 2.0])
    _, trm = train.fit(p0, loss, steps=24, lr=0.2, lam=lams, n_evals=8, metrics=lambda q: q["u"])
    np.testing.assert_allclose(trm.objective - trm.loss, trm.lam * 0.5 * np.sum(trm.metrics ** 2, axis=1),
                               rtol=1e-9, atol=1e-14)
    # one strength per evaluation block (S = n_evals)
    p8, tr8 = train.fit(p0, loss, steps=24, lr=0.2, lam=jnp.repeat(lams, 2), n_evals=8)
    np.testing.assert_allclose(p8["u"], p["u"], rtol=1e-12)
    assert tr8.snapshots["u"].shape == (8, 4)
    assert not np.allclose(train.fit(p0, loss, steps=24, lr=0.2, lam=1.0)[0]["u"], p["u"])


def test_metrics_callback_values_and_schedule(x64):
    """The callback runs at the start and after every steps/n_evals steps, on the parameters of that moment,
    and may return any pytree (stacked along a leading axis)."""
    A, b, loss, p0 = _quadratic(seed=2)
    steps, n_evals, eta = 12, 3, 0.25
    p, tr = train.fit(p0, loss, steps=steps, lr=eta, n_evals=n_evals,
                      metrics=lambda q: {"u": q["u"], "pair": (jnp.sum(q["u"]), q["u"][0] * 2)})
    u, seen = np.asarray(p0["u"]), []
    for t in range(steps + 1):
        if t % (steps // n_evals) == 0:
            seen.append(u)
        u = u - eta * (A @ u - b)
    seen = np.stack(seen)
    np.testing.assert_array_equal(tr.step, [0, 4, 8, 12])
    np.testing.assert_allclose(tr.metrics["u"], seen, rtol=1e-12)
    np.testing.assert_allclose(tr.metrics["pair"][0], seen.sum(1), rtol=1e-12)
    np.testing.assert_allclose(tr.metrics["pair"][1], 2 * seen[:, 0], rtol=1e-12)
    np.testing.assert_allclose(tr.metrics["u"][-1], p["u"], rtol=1e-12)


@pytest.mark.parametrize("name", ["nesterov", "momentum"])
def test_momentum_methods_match_hand_written_recursions(x64, name):
    """Heavy ball: m <- mu m + g(theta), theta <- theta - eta m. Nesterov, textbook form: v <- mu v - eta g(a + mu v),
    a <- a + v; train.fit's iterates (optax's form) are the look-ahead points a + mu v."""
    A, b, loss, p0 = _quadratic(seed=3)
    eta, mu, steps = 0.1, 0.9, 30
    p, tr = train.fit(p0, loss, steps=steps, lr=eta, optimizer=name, momentum=mu, n_evals=steps,
                      metrics=lambda q: q["u"])
    grad = lambda u: A @ u - b  # noqa: E731
    a, v, want = np.asarray(p0["u"]), np.zeros(4), []
    for _ in range(steps + 1):
        if name == "nesterov":
            want.append(a + mu * v)
            v = mu * v - eta * grad(a + mu * v)
            a = a + v
        else:
            want.append(a)
            v = mu * v + grad(a)
            a = a - eta * v
    np.testing.assert_allclose(tr.metrics, np.stack(want), rtol=1e-11, atol=1e-13)
    # the two forms differ: the look-ahead point is not the textbook iterate a_T
    if name == "nesterov":
        assert float(np.linalg.norm(np.asarray(p["u"]) - a)) > 1e-3


def test_optax_transformation_and_vmap_over_lr_and_lam(key):
    x, y = _problem(key)
    p = models.init_params(jax.random.key(2), 5, 32)
    loss = train.supervised_loss(models.make_apply(scale=32 ** -0.5), x, y)
    by_name, _ = train.fit(p, loss, steps=20, lr=0.1, optimizer="momentum", momentum=0.5)
    given, _ = train.fit(p, loss, steps=20, optimizer=optax.sgd(0.1, momentum=0.5))
    np.testing.assert_allclose(given["W"], by_name["W"], rtol=1e-5, atol=1e-7)
    assert not np.allclose(train.fit(p, loss, steps=20, lr=0.1)[0]["W"], given["W"])
    run = jax.jit(jax.vmap(lambda lr, lam: train.fit(p, loss, steps=50, lr=lr, lam=lam, n_evals=5)[1].loss[-1]))
    lrs, lams = jnp.array([0.01, 0.1, 0.5]), jnp.array([0.0, 0.01, 0.1])
    a = run(lrs, lams)
    np.testing.assert_array_equal(a, run(lrs, lams))
    one = [float(train.fit(p, loss, steps=50, lr=float(r), lam=float(m), n_evals=5)[1].loss[-1])
           for r, m in zip(lrs, lams, strict=True)]
    np.testing.assert_allclose(a, one, rtol=1e-4)


def test_minibatch_sgd_draws_its_batches_from_the_key(key):
    """Mini-batch SGD: step t uses the indices rng.randint(k_t, (batch,), 0, n) with k_t = split(key, steps)[t];
    the trace records the full loss."""
    x, y = _problem(key, n=64)
    p = models.init_params(jax.random.key(2), 5, 8)
    f = models.make_apply(scale=8 ** -0.5)
    loss = train.supervised_loss(f, x, y, batch_size=16)
    with pytest.raises(ValueError, match="key must be given"):
        train.fit(p, loss, steps=2, lr=0.1)
    k = jax.random.key(5)
    got, tr = train.fit(p, loss, steps=2, lr=0.1, key=k)
    q = p
    for kt in jax.random.split(k, 2):
        idx = rng.randint(kt, (16,), 0, 64)
        g = jax.grad(lambda r, idx=idx: train.loss_value(f(r, x[idx]), y[idx]))(q)
        q = jax.tree_util.tree_map(lambda v, gv: v - 0.1 * gv, q, g)
    for name in p:
        np.testing.assert_allclose(got[name], q[name], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(tr.loss[-1], train.loss_value(f(got, x), y), rtol=1e-6)
    full, _ = train.fit(p, train.supervised_loss(f, x, y), steps=2, lr=0.1)
    assert float(jnp.abs(full["W"] - got["W"]).max()) > 1e-6  # batches differ from the full data


@pytest.mark.parametrize("kw, msg", [
    (dict(steps=0), "steps must be an integer >= 1"),
    (dict(n_evals=3), "n_evals must divide steps"),
    (dict(lr=-0.1), "lr must lie in"),
    (dict(lr=None), "lr must be given"),
    (dict(optimizer="lbfgs"), "optimizer must be one of"),
    (dict(optimizer=optax.sgd(0.1)), "lr must be None"),
    (dict(optimizer="nesterov", momentum=1.0), "momentum must lie in"),
    (dict(trainable=("v",)), "trainable names unknown parameter"),
    (dict(lam=-1.0), "lam must be >= 0"),
    (dict(lam=jnp.ones(3)), "lam must be a scalar or a 1-d schedule"),
    (dict(lam=jnp.ones((5, 1))), "lam must be a scalar or a 1-d schedule"),
])
def test_fit_bad_input(key, kw, msg):
    x, y = _problem(key, n=20)
    p = models.init_params(key, 5, 8)
    args = dict(steps=10, lr=0.1, n_evals=5) | kw
    with pytest.raises(ValueError, match=msg):
        train.fit(p, train.supervised_loss(models.make_apply(), x, y), **args)


@pytest.mark.parametrize("kw, msg", [
    (dict(loss="l1"), "loss must be one of"),
    (dict(y=jnp.ones(3)), "y must have shape"),
    (dict(weights=jnp.ones(3)), "weights must have shape"),
    (dict(weights=-jnp.ones(20)), "weights must be >= 0"),
    (dict(batch_size=0), "batch_size must be an integer >= 1"),
])
def test_supervised_loss_bad_input(key, kw, msg):
    x, y = _problem(key, n=20)
    args = dict(y=y) | kw
    with pytest.raises(ValueError, match=msg):
        train.supervised_loss(models.make_apply(), x, args.pop("y"), **args)

