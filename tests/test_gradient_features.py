import jax
import jax.numpy as jnp
import numpy as np
import pytest

import featlearn as fl
from featlearn import data, models, targets
from featlearn import gradient_features as gf
from featlearn.chapters import gradient_features as gf_chapter


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
    # the explicit weight decay 1/eta1 gives the same step up to rounding; weight_decay = 0 keeps W0
    np.testing.assert_allclose(gf.first_step(p0, x, y, eta1, weight_decay=1 / eta1)["W"], p1["W"], atol=1e-5)
    np.testing.assert_allclose(gf.first_step(p0, x, y, eta1, weight_decay=0.0)["W"], p0["W"] + p1["W"], atol=1e-5)


def test_first_step_with_weights_uses_only_the_weighted_samples(key):
    # the chapter's sample-size grid weights the first n of n_max samples by 1 and the rest by 0
    x, y, _ = _xor(key, n=200, d=5)
    p0 = models.init_params(jax.random.key(4), 5, 12, symmetric=True)
    w = (jnp.arange(200) < 70).astype(jnp.float32)
    np.testing.assert_allclose(gf.first_step(p0, x, y, 2.0, w)["W"], gf.first_step(p0, x[:70], y[:70], 2.0)["W"],
                               rtol=1e-5, atol=1e-6)
    a = gf.train_second_layer(models.features(p0, x), y, steps=20, weights=w)
    np.testing.assert_allclose(a, gf.train_second_layer(models.features(p0, x[:70]), y[:70], steps=20),
                               rtol=1e-4, atol=1e-6)


def test_second_layer_is_nesterov_on_the_stated_objective(x64):
    """Stage 2 is Nesterov momentum from a = 0 on J(a) = sum_j w_j max(0, 1 - y_j Phi_j.a)/sum_j w_j
    + (lambda_2/2) s ||a||^2 with step eta_2/s, s the weighted mean of ||Phi_j||^2. Written by hand in the textbook
    form v <- mu v - (eta_2/s) grad J(a + mu v), a <- a + v, the returned coefficients are its look-ahead point
    a_T + mu v_T (optax's Nesterov iterate)."""
    r = np.random.default_rng(0)
    n, m, steps, eta, lam, mu = 40, 6, 25, 0.7, 0.05, 0.8
    Phi = np.abs(r.standard_normal((n, m)))
    y = np.where(r.standard_normal(n) > 0, 1.0, -1.0)
    w = r.integers(0, 3, n).astype(float)
    s = np.sum(w * np.sum(Phi**2, axis=1)) / w.sum()

    def grad(a):
        active = (y * (Phi @ a) < 1).astype(float)
        return -Phi.T @ (active * w * y) / w.sum() + lam * s * a

    a, v = np.zeros(m), np.zeros(m)
    for _ in range(steps):
        v = mu * v - eta / s * grad(a + mu * v)
        a = a + v
    got = gf.train_second_layer(jnp.asarray(Phi), jnp.asarray(y), steps=steps, lr=eta, weight_decay=lam,
                                weights=jnp.asarray(w), momentum=mu)
    np.testing.assert_allclose(got, a + mu * v, rtol=1e-10, atol=1e-12)
    assert float(np.linalg.norm(mu * v)) > 1e-3 * float(np.linalg.norm(a))  # the two iterates differ


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


def test_random_features_init_has_m_distinct_neurons(key):
    # the symmetric initialisation would give m/2 distinct features (mirrored pairs): the baseline must not
    p = gf.random_features_init(key, 6, 40)
    assert p["W"].shape == (40, 6) and p["b"].shape == (40,)
    assert np.unique(np.asarray(p["W"]), axis=0).shape[0] == 40
    assert np.unique(np.asarray(p["b"])).size == 40


def test_predicted_alignment_matches_monte_carlo_over_data_sets():
    # Step 1 on n samples, repeated on R independent data sets: the mean of ||P G_hat_i||^2 and ||G_hat_i||^2
    # must match the lemma (population gradient plus the 1/n sampling noise) within the Monte Carlo error.
    d, m, n, R = 6, 8, 40, 600
    p0 = models.init_params(jax.random.key(1), d, m, symmetric=True)
    xg, yg, mus = data.xor_mixture(jax.random.key(2), 400_000, d)
    U = mus / 3.0
    pr = gf.predicted_alignment(p0, xg, yg, U, n)

    def one(k):
        x, y, _ = data.xor_mixture(k, n, d)
        G = gf.simplified_gradient(p0["W"], p0["b"], x, y)
        return jnp.sum((G @ U.T) ** 2, 1), jnp.sum(G * G, 1)

    span, total = jax.jit(jax.vmap(one))(jax.random.split(jax.random.key(3), R))
    for mc, want in ((span, pr.in_span), (total, pr.total)):
        mc = np.asarray(mc, np.float64)
        se = mc.std(0, ddof=1) / np.sqrt(R)
        assert np.all(np.abs(mc.mean(0) - np.asarray(want)) < 4 * se + 1e-7), (mc.mean(0), np.asarray(want), se)
    # the noise term matters at this n: without it the prediction would be far off
    assert float(jnp.min(pr.total - jnp.sum(gf.simplified_gradient(p0["W"], p0["b"], xg, yg) ** 2, 1))) > 0.05
    # mass and per-neuron predictions are the ratios they name
    np.testing.assert_allclose(pr.mass, jnp.sum(pr.a2 * pr.in_span) / jnp.sum(pr.a2 * pr.total), rtol=1e-6)
    np.testing.assert_allclose(pr.neuron, pr.in_span / pr.total, rtol=1e-6)


def test_linear_margin_data_has_its_margin(key):
    x, y, w = gf.linear_margin_data(key, 5000, 5, margin=0.7)
    assert w.shape == (1, 5) and float(jnp.linalg.norm(w)) == pytest.approx(1.0)
    assert float(jnp.min(y * (x @ w[0]))) >= 0.7 - 1e-6
    np.testing.assert_array_equal(y, jnp.sign(x[:, 0]))
    assert float(jnp.std(x[:, 1:])) == pytest.approx(1.0, abs=0.03)


def _chapter_sweeps(S):
    """Every sweep of the chapter (book/gradient-features.ipynb) with its arguments, in the chapter's order."""
    biases = jnp.array([-3.0, -2.0, -1.0, 0.0, 1.0])
    return [
        (gf.xor_run, dict(n=S.ns), dict(d=S.d, m=S.m, n_max=max(S.ns), eta1=S.eta1, steps=S.steps,
                                               n_test=S.n_test, n_pop=S.n_pop)),
        (gf.xor_kernel_run, None, dict(ns=tuple(S.ns), d=S.d, n_max=max(S.ns), n_test=S.n_test,
                                              n_pop=S.n_pop)),
        *[(gf.parity_run, None, dict(d=S.parity_d, k=k, n=S.parity_n, m=S.m, eta1=S.parity_eta1,
                                            steps=S.parity_steps, n_test=S.n_test, n_pop=S.n_pop)) for k in (3, 4)],
        (gf.multi_index_run, None, dict(d=S.mi_d, n=S.mi_n, m=S.m, eta1=S.eta1, steps=S.steps,
                                               n_test=S.n_test, n_pop=S.n_pop)),
        (gf.linear_run, None, dict(d=S.d, n=S.lin_n, m=S.m, margin=S.lin_margin, eta1=S.eta1,
                                          steps=S.steps, n_test=S.n_test, n_pop=S.n_pop)),
        (gf.xor_opt_run, None, dict(d=S.d, n=S.opt_n, mu_norm=2.0, biases=biases, steps=S.steps,
                                           n_test=S.n_test)),
        (gf.xor_run, dict(n=S.opt_ns), dict(d=S.d, m=S.m, n_max=max(S.opt_ns), mu_norm=2.0, eta1=S.eta1,
                                                   steps=S.steps, n_test=S.n_test, n_pop=S.n_test)),
        (gf.lottery_run, dict(r=S.ranks), dict(d=S.d, m=S.m, n=max(S.ns), eta1=S.eta1, steps=S.steps,
                                                      n_test=S.n_test)),
        (gf.simplicity_run, dict(linear_margin=[1.5, 0.0]), dict(d=S.d, m=S.m, n=max(S.ns), eta1=S.eta1,
                                                                        steps=S.steps, n_test=S.n_test)),
        (gf.nfa_run, None, dict(d=S.nfa_d, n=S.nfa_n, m=S.m, eta1=S.eta1, steps=S.steps,
                                       full_steps=S.full_steps, full_lr=0.5, n_agop=S.n_test)),
        (gf.rfm_run, None, dict(d=S.rfm_d, n=S.rfm_n, iterations=S.rfm_iterations, n_test=S.n_test)),
    ]


@pytest.mark.slow
@pytest.mark.parametrize("profile", ["cpu_large", "paper"])
def test_paper_profile_shapes(profile):
    # Build the paper profile's sizes and trace every sweep of the chapter at those sizes (jax.eval_shape:
    # abstract evaluation, nothing is computed), so a shape bug in the paper profile fails here in seconds (the
    # quick profile runs in the chapter itself).
    S = fl.profiles.sizes(**gf_chapter.SIZES, profile=profile)  # and the intermediate cpu_large sizes
    assert S.profile == profile
    sweeps = _chapter_sweeps(S)
    for fn, vary, fixed in sweeps:
        prog = fl.sweeps.program(fn, key=jax.random.key(0), seeds=S.seeds, vary=vary, fixed=fixed)
        out = jax.eval_shape(prog.fn, *prog.args)
        for leaf in jax.tree_util.tree_leaves(out):
            assert leaf.shape[0] == prog.configs, (fn.__name__, leaf.shape)
    xor = jax.eval_shape(*(lambda p: (p.fn, *p.args))(fl.sweeps.program(
        sweeps[0][0], key=jax.random.key(0), seeds=S.seeds, vary=sweeps[0][1], fixed=sweeps[0][2])))
    assert xor["err_net"].shape == (S.seeds * len(S.ns),)
    mi = jax.eval_shape(*(lambda p: (p.fn, *p.args))(fl.sweeps.program(
        sweeps[4][0], key=jax.random.key(0), seeds=S.seeds, fixed=sweeps[4][2])))
    assert mi["neuron_step1"].shape == (S.seeds, S.m)


def test_xor_experiment_runs_and_learns_features(key):
    run = jax.jit(lambda k: gf.xor_run(k, 600, d=16, m=40, n_max=600, eta1=10.0, steps=60, n_test=400,
                                              n_pop=1000))
    out = run(key)
    assert float(out["mass_step1"]) > 5 * float(out["mass_init"])
    assert float(out["err_net"]) < float(out["err_rf"]) - 0.1


@pytest.mark.parametrize("call, msg", [
    (lambda x, y, p: gf.first_step(p, x, y, 0.0), "eta1 must lie in"),
    (lambda x, y, p: gf.first_step(p, x, y, 1.0, weight_decay=-1.0), "weight_decay must lie in"),
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
    (lambda x, y, p: gf.predicted_alignment(p, x, y, jnp.eye(1, 4), 0), "n must lie in"),
    (lambda x, y, p: gf.predicted_alignment(p, x, y, jnp.eye(1, 3), 10), "U must have shape"),
    (lambda x, y, p: gf.linear_margin_data(jax.random.key(0), 10, 4, margin=-0.1), "margin must lie in"),
    (lambda x, y, p: gf.xor_kernel_run(jax.random.key(0), ns=(10, 30), d=4, n_max=20), "ns must be"),
])
def test_errors(key, call, msg):
    x, y, _ = _xor(key, n=20, d=4)
    p = models.init_params(key, 4, 6)
    with pytest.raises(ValueError, match=msg):
        call(x, y, p)
