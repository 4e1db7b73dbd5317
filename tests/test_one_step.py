"""Algorithm 1 of Damian, Lee & Soltanolkotabi (2022): ghost batches, linear-part removal, the key lemma."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from featlearn import data, kernels, models, one_step, profiles, ridge, sweeps, targets, train
from featlearn.chapters import one_step as one_step_chapter


def _quadratic_target(key, d):
    """f*(x) = h2(u1.x)/2 + h1(u1.x) h1(u2.x)/sqrt2 + h2(u2.x)/2 (unit variance, exact H, no linear part)."""
    return targets.multi_index(key, d, {(2, 0): 0.5, (1, 1): 1 / math.sqrt(2), (0, 2): 0.5})


def _first_gradient(params, x, y, scale=1.0):
    """The first gradient by autodiff of the square loss on materialised data (the reference for the stream)."""
    return models.first_layer_gradient(lambda p: 0.5 * jnp.mean((models.apply(p, x, scale=scale) - y) ** 2), params)


def test_ghost_gradient_equals_full_batch_gradient(key):
    d, m, n = 6, 10, 1000
    tgt = _quadratic_target(jax.random.key(1), d)
    params = models.init_params(jax.random.key(2), d, m)
    params = {**params, "a": params["a"].at[0].set(0.7)}  # f != 0: the residual term must be streamed too
    x, y = data.ghost_rows(key, 0, n, d, tgt, 0.5)
    yc, lin = one_step.remove_linear_part(x, y)
    full = _first_gradient(params, x, yc, scale=0.3)
    for batch in (37, 4096):  # 37 does not divide n: the last batch is padded and masked
        ghost = one_step.ghost_gradient(key, params, tgt, n, noise_std=0.5, batch=batch, scale=0.3)
        np.testing.assert_allclose(np.asarray(ghost), np.asarray(full), rtol=2e-4, atol=2e-6)
    lin_s = one_step.streamed_linear_part(key, n, tgt, noise_std=0.5, batch=37)
    np.testing.assert_allclose(np.asarray(lin_s.beta), np.asarray(lin.beta), rtol=1e-4, atol=1e-6)
    # A traced n (prefix of the stream, as in the sweeps) gives the same gradient as a static n.
    traced = jax.jit(lambda k: one_step.ghost_gradient(k, params, tgt, jnp.asarray(n), noise_std=0.5,
                                                      batch=256, scale=0.3))(key)
    np.testing.assert_allclose(np.asarray(traced), np.asarray(full), rtol=2e-4, atol=2e-6)


def test_linear_part_removal(key):
    d, n = 8, 4000
    tgt = targets.multi_index(jax.random.key(3), d, {(0, 0): 0.7, (1, 0): 0.8, (0, 1): -0.5, (2, 0): 0.6})
    x, y = data.ghost_rows(key, 0, n, d, tgt, 0.1)
    Z = np.concatenate([np.ones((n, 1)), np.asarray(x)], axis=1)
    y_st, lin = one_step.remove_linear_part(x, y)
    corr_before = np.abs(Z.T @ np.asarray(y) / n).max()
    corr_after = np.abs(Z.T @ np.asarray(y_st) / n).max()
    assert corr_before > 0.5 and corr_after < 0.1 * corr_before, (corr_before, corr_after)
    # Stein's estimate recovers E[y] and E[y x] = U^T c_lin within a few standard errors.
    assert abs(float(lin.alpha) - 0.7) < 5 * np.std(np.asarray(y)) / math.sqrt(n)
    np.testing.assert_allclose(np.asarray(lin.beta), np.asarray(tgt.linear_coefficients()), atol=0.1)


def test_expected_hessian_closed_form_and_monte_carlo(key):
    d = 7
    tgt = _quadratic_target(jax.random.key(4), d)
    u1, u2 = np.asarray(tgt.U)
    H_exact = (math.sqrt(2) * 0.5 * (np.outer(u1, u1) + np.outer(u2, u2))
               + (np.outer(u1, u2) + np.outer(u2, u1)) / math.sqrt(2))
    np.testing.assert_allclose(np.asarray(one_step.expected_hessian(tgt)), H_exact, atol=1e-5)
    # f* = (x^T H x - tr H)/2 for a quadratic target: the identity behind population_gradient_quadratic.
    x = targets.gaussian_inputs(key, 50, d)
    quad = 0.5 * (np.einsum("ni,ij,nj->n", x, H_exact, x) - np.trace(H_exact))
    np.testing.assert_allclose(np.asarray(tgt(x)), quad, atol=1e-4)
    # A plain callable goes through Stein's Monte Carlo estimate; agreement within 5 standard errors.
    n = 100_000
    H_mc = np.asarray(one_step.expected_hessian(lambda z: tgt(z), key=key, d=d, n=n))
    xs = np.asarray(targets.gaussian_inputs(key, n, d))
    ys = np.asarray(tgt(jnp.asarray(xs)))
    se = np.sqrt(np.mean((ys[:, None, None] * (xs[:, :, None] * xs[:, None, :])) ** 2, axis=0) / n)
    assert np.all(np.abs(H_mc - H_exact) < 5 * se + 1e-6)


def test_predicted_gradient_matches_empirical_at_large_n(key):
    d, m, n = 8, 8, 2**18
    tgt = _quadratic_target(jax.random.key(5), d)
    params = models.init_params(jax.random.key(6), d, m)
    H = one_step.expected_hessian(tgt)
    G = np.asarray(one_step.ghost_gradient(key, params, tgt, n, batch=8192))
    exact = np.asarray(one_step.population_gradient_quadratic(params, H))
    pred = np.asarray(one_step.predicted_gradient(params, H))
    # Standard error of the empirical gradient from the per-row contributions on a materialised sub-sample.
    x, y = data.ghost_rows(key, 0, 2**15, d, tgt)
    g_rows = np.asarray(one_step._relu_grad_rows(params, x, y, 1.0))  # (n', m)
    per_row = (g_rows**2).sum(1) * (np.asarray(x) ** 2).sum(1)  # ||contribution of row i||_F^2
    noise = per_row.mean() / n  # E||G - E G||_F^2
    err = ((G - exact) ** 2).sum()
    assert err < 2.0 * noise, f"||G - population||^2 = {err:.3g} vs noise {noise:.3g}"
    assert (exact**2).sum() > 20 * noise  # the test has power: the signal is well above the noise
    # The key lemma's leading term is the population gradient up to the O(tr H / d) term along w_j.
    cos = float(one_step.gradient_cosine(jnp.asarray(G), jnp.asarray(pred)))
    assert cos > 0.9, cos


def test_single_index_example_beats_random_features(key):
    """f* = He2(w.x)/sqrt2, d = 100, n = 1e4, m = 1000, noise variance 1: Algorithm 1's excess test error is far
    below that of random features on the same features at initialisation."""
    d, m, n = 100, 1000, 10_000
    tgt = targets.single_index(jax.random.key(7), d, {2: 1.0})
    run = jax.jit(lambda k, step: one_step.normalized_test_error(
        jax.random.fold_in(k, 7), one_step.one_step_fit(k, tgt, m, n, noise_std=1.0, step=step, n_val=2000),
        tgt, 20_000), static_argnums=1)
    net = float(run(key, True))
    rf = float(run(key, False))
    assert rf > 0.8, f"random features should stay near the null error, got {rf:.3f}"
    assert net < 0.5 * rf, f"one step should learn the direction: excess error {net:.3f} vs RF {rf:.3f}"


def test_errors_name_the_parameter(key):
    tgt = _quadratic_target(key, 4)
    params = models.init_params(key, 4, 6)
    with pytest.raises(ValueError, match="batch"):
        one_step.ghost_gradient(key, params, tgt, 10, batch=0)
    with pytest.raises(ValueError, match="noise_std"):
        one_step.ghost_gradient(key, params, tgt, 10, noise_std=-1.0)
    with pytest.raises(ValueError, match="y must"):
        one_step.remove_linear_part(jnp.ones((5, 4)), jnp.ones(4))
    with pytest.raises(ValueError, match="H"):
        one_step.predicted_gradient(params, jnp.eye(3))
    with pytest.raises(ValueError, match="eta"):
        one_step.first_step(key, params, jnp.ones((6, 4)), eta=0.0)
    with pytest.raises(ValueError, match="G must have shape"):
        one_step.first_step(key, params, jnp.ones((6, 3)))
    with pytest.raises(ValueError, match="m must be"):
        one_step.one_step_fit(key, tgt, 1, 10)
    with pytest.raises(ValueError, match="key must be given"):
        one_step.expected_hessian(lambda z: z[:, 0] ** 2, d=4)
    with pytest.raises(ValueError, match="share U"):
        one_step.transfer_run(key, tgt, targets.single_index(key, 4, {3: 1.0}), 6, 10, 10)
    with pytest.raises(ValueError, match="checkpoints"):
        one_step.gradient_path_run(key, tgt, 6, ())
    with pytest.raises(ValueError, match="kernel_names"):
        one_step.kernel_baselines_run(key, tgt, 6, (10,), kernel_names=("rbf",))
    with pytest.raises(ValueError, match="ns must"):
        one_step.kernel_baselines_run(key, tgt, 6, ())


def test_doubling_checkpoints_and_excess_alignment():
    assert one_step.doubling_checkpoints(16, 2) == (8, 16, 32, 64, 128, 256, 512)
    assert one_step.doubling_checkpoints(6, 3) == (3, 6, 12, 24, 48, 96, 108)
    with pytest.raises(ValueError, match="top"):
        one_step.doubling_checkpoints(16, 0)
    v = np.array([2 / 16, 1.0, 0.5])
    np.testing.assert_allclose(one_step.excess_alignment(v, 2, 16), [0.0, 1.0, (0.5 - 0.125) / 0.875])
    with pytest.raises(ValueError, match="r must be smaller than d"):
        one_step.excess_alignment(v, 16, 16)


SOURCE = {(2, 0): 0.5, (0, 2): 0.5, (4, 0): 0.5, (2, 2): 0.5}  # the chapter's two-index target


def test_first_step_is_one_gradient_step_with_weight_decay(key):
    """Step 2 of Algorithm 1 is one step of gradient descent with weight decay 1/eta on W alone (so W^0 is
    forgotten): the same W as one step of train.fit (optax SGD on the autodiff gradient)."""
    d, m, n, eta = 5, 8, 300, 0.3
    tgt = _quadratic_target(jax.random.key(11), d)
    params = models.init_params(jax.random.key(12), d, m)
    x, y = data.ghost_rows(key, 0, n, d, tgt, 0.2)
    yc, _ = one_step.remove_linear_part(x, y)
    W1, _ = one_step.first_step(jax.random.key(13), params, _first_gradient(params, x, yc), eta=eta)
    fitted, _ = train.fit(params, train.supervised_loss(models.make_apply(), x, yc), steps=1, lr=eta, lam=1 / eta,
                          trainable=("W",))
    np.testing.assert_allclose(np.asarray(W1), np.asarray(fitted["W"]), rtol=1e-4, atol=1e-6)
    assert float(jnp.abs(W1 - params["W"]).max()) > 1e-2  # the step moved W: the comparison has power
    # The default step size normalises the rows of W^1 to RMS norm 1, along -grad.
    G = _first_gradient(params, x, yc)
    W1n, _ = one_step.first_step(jax.random.key(13), params, G)
    np.testing.assert_allclose(float(jnp.sqrt(jnp.mean(jnp.sum(W1n**2, axis=1)))), 1.0, rtol=1e-5)
    assert float(one_step.gradient_cosine(W1n, -G)) > 1 - 1e-5


def test_first_step_redraws_biases(key):
    """Step 3: the biases after the step are fresh N(0, s_b^2) draws, independent of the initial ones."""
    d, m, n = 4, 4000, 64
    tgt = _quadratic_target(jax.random.key(14), d)
    p0 = models.init_params(jax.random.key(15), d, m, bias_std=1.0)
    G = one_step.ghost_gradient(key, p0, tgt, n)
    W1, b1 = one_step.first_step(jax.random.key(16), p0, G, bias_std=0.5)
    assert W1.shape == (m, d) and b1.shape == (m,)
    b0, b1 = np.asarray(p0["b"]), np.asarray(b1)
    assert abs(np.corrcoef(b0, b1)[0, 1]) < 4 / math.sqrt(m), "re-drawn biases must not depend on the initial ones"
    assert abs(b1.std() - 0.5) < 4 * 0.5 / math.sqrt(2 * m), b1.std()
    # End to end: one_step_fit's model carries the re-drawn biases.
    model = one_step.one_step_fit(key, tgt, m, n, params=p0, bias_std=0.5, n_val=64)
    assert abs(np.corrcoef(b0, np.asarray(model.b))[0, 1]) < 4 / math.sqrt(m)


def test_random_features_have_m_distinct_neurons(key):
    """The random-features baseline has m distinct features (the symmetric initialisation would give m/2)."""
    d, m = 6, 16
    p = one_step.rf_params(key, d, m)
    rows = np.concatenate([np.asarray(p["W"]), np.asarray(p["b"])[:, None]], axis=1)  # neuron j: (w_j, b_j)
    gaps = np.linalg.norm(rows[:, None] - rows[None], axis=-1) + np.eye(m)
    assert gaps.min() > 1e-3, "two random-features neurons coincide"
    # Hence m linearly independent features (enough rows that every ReLU is active on some of them).
    x = targets.gaussian_inputs(jax.random.key(17), 2000, d)
    F = np.asarray(jax.nn.relu(x @ p["W"].T + p["b"]), dtype=np.float64)
    assert np.linalg.matrix_rank(F) == m
    sym = models.init_params(key, d, m, symmetric=True)
    assert np.linalg.matrix_rank(np.asarray(jax.nn.relu(x @ sym["W"].T + sym["b"]), np.float64)) == m // 2


def test_learning_curve_matches_direct_fits(key):
    """learning_curve_run's network and random-features errors equal a direct materialised fit (ridge.ridge on the
    features, validated on the same rows) scored by normalized_test_error, with random features on rf_params' m
    distinct neurons."""
    d, m, n, n_val, n_test = 6, 16, 200, 300, 3000
    tgt = _quadratic_target(jax.random.key(18), d)
    out = one_step.learning_curve_run(key, tgt, m, (n,), n_val=n_val, n_test=n_test, batch=128)
    k_data, k_val, k_init, k_bias = jax.random.split(key, 4)
    k_test = jax.random.fold_in(key, 7)
    x, y = data.ghost_rows(k_data, 0, n, d, tgt)
    xv, yv = data.ghost_rows(k_val, 0, n_val, d, tgt)
    lin = one_step.linear_part(x, y)
    p0 = models.init_params(k_init, d, m, symmetric=True)
    W1, b1 = one_step.first_step(k_bias, p0, _first_gradient(p0, x, y - lin(x)))
    prf = one_step.rf_params(k_init, d, m)
    for name, (W, b) in (("network", (W1, b1)), ("rf", (prf["W"], prf["b"]))):
        head = ridge.ridge(jax.nn.relu(x @ W.T + b), y - lin(x), jax.nn.relu(xv @ W.T + b), yv - lin(xv))
        err = one_step.normalized_test_error(k_test, one_step.OneStepModel(W, b, head.coef, lin, head.lam), tgt,
                                             n_test)
        np.testing.assert_allclose(float(out[name][0]), float(err), rtol=2e-3, err_msg=name)
    assert float(out["rf"][0]) > float(out["network"][0])


def test_normalized_test_error_standard_error(key):
    """The delta-method standard error matches the spread of the estimate over independent test sets."""
    d, n_test = 5, 2000
    tgt = _quadratic_target(jax.random.key(19), d)
    pred = lambda z: 0.5 * tgt(z) + 0.3 * z[:, 0]  # noqa: E731 - an imperfect predictor
    run = jax.jit(jax.vmap(lambda k: one_step.normalized_test_error(k, None, tgt, n_test, predictor=pred,
                                                                   with_se=True)))
    err, se = (np.asarray(a) for a in run(jax.random.split(key, 200)))
    # The sd of 200 draws is known to within about 5%: the formula must agree within 20%.
    assert abs(np.median(se) / err.std() - 1) < 0.2, (np.median(se), err.std())


def test_entk_relu_matches_autodiff():
    """The closed-form empirical NTK equals <grad f(x), grad f(y)> by autodiff (every parameter, a_j^2 != 1)."""
    d, m = 5, 24
    p = models.init_params(jax.random.key(20), d, m, symmetric=False, bias_std=0.5, second_layer="gaussian")
    X, Y = targets.gaussian_inputs(jax.random.key(21), 7, d), targets.gaussian_inputs(jax.random.key(22), 9, d)
    ref = kernels.empirical_ntk(models.make_apply(scale=1 / math.sqrt(m)), p, X, Y)
    np.testing.assert_allclose(np.asarray(one_step.entk_relu(p, X, Y)), np.asarray(ref), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("n", [200, 10])  # m < n, and m > n (a singular Gram matrix)
def test_streamed_head_matches_direct_float64_solves(key, n):
    """Step 4 from streamed statistics (the second layer's ridge): for every λ of the shared grid, the validation
    error of a direct float64 solve on the materialised features; the λ that minimises it; the solution there."""
    d, m, n_val = 6, 16, 300
    tgt = _quadratic_target(jax.random.key(18), d)
    k_data, k_val = jax.random.split(key)
    p = one_step.rf_params(jax.random.key(3), d, m)
    lin = one_step.streamed_linear_part(k_data, n, tgt, batch=64)
    head = one_step.streamed_head(k_data, k_val, p["W"], p["b"], lin, tgt, n, n_val, batch=64)  # padded batches
    x, y = data.ghost_rows(k_data, 0, n, d, tgt)
    xv, yv = data.ghost_rows(k_val, 0, n_val, d, tgt)
    feats = (jax.nn.relu(x @ p["W"].T + p["b"]), jax.nn.relu(xv @ p["W"].T + p["b"]), y - lin(x), yv - lin(xv))
    F, Fv, yc, yvc = (np.asarray(a, np.float64) for a in feats)
    G = F.T @ F / n
    lams = np.asarray(ridge.RIDGE_LAMBDAS) * np.trace(G) / m
    thetas = [np.linalg.solve(G + lam * np.eye(m), F.T @ yc / n) for lam in lams]
    val = np.array([np.mean((Fv @ t - yvc) ** 2) for t in thetas])
    # The float32 statistics fix the solution only where (Σ + λI) is conditioned well enough for float32: with a
    # singular Σ (n < m) the smallest penalties are rounding-limited, so the per-λ comparison skips them.
    s = np.clip(np.linalg.eigvalsh(G), 0.0, None)
    sound = (s[-1] + lams) / (s[0] + lams) * np.finfo(np.float32).eps <= 0.1
    assert sound.sum() >= 10, sound
    np.testing.assert_allclose(np.asarray(head.val_mse)[sound], val[sound], rtol=2e-3)
    k = int(head.best)
    assert val[k] <= val.min() * (1 + 1e-3), (k, int(np.argmin(val)))
    assert float(head.lam) == pytest.approx(lams[k], rel=1e-5)
    np.testing.assert_allclose(np.asarray(head.coef), thetas[k], rtol=0, atol=5e-3 * np.abs(thetas[k]).max())


@pytest.mark.slow
def test_kernel_baselines_match_direct_solves(key):
    """Every kernel baseline (conjugate gradients, float32) agrees with direct float64 solves of the same kernel
    ridge per λ of the shared grid, with the library's closed-form kernels and the autodiff empirical NTK of m
    distinct neurons: the λ chosen is one the direct solves rate as good as their own choice on the validation
    rows, and the test error at that λ is the direct solution's (so the empirical NTK's primal predictor equals
    the dual one, K(x, X)α); seed i of a sweep of kernel_baselines_run is the run with the sweep's key i."""
    d, m, ns, n_val, n_test = 6, 12, (150, 300), 200, 3000
    tgt = _quadratic_target(jax.random.key(25), d)
    kw = dict(n_val=n_val, n_test=n_test, rank=16, tol=1e-5, maxiter=300)
    out = sweeps.sweep(one_step.kernel_baselines_run, key=key, seeds=2, fixed=dict(target=tgt, m=m, ns=ns, **kw))
    k1 = sweeps.seed_keys(key, 2)[1]
    k_data, k_val, k_init, _ = jax.random.split(k1, 4)
    k_test = jax.random.fold_in(k1, 7)
    p = one_step.rf_params(k_init, d, m)
    apply = models.make_apply(scale=1 / math.sqrt(m))
    kfns = {"ntk": kernels.ntk_relu, "nngp": kernels.nngp_relu,
            "entk": lambda a, b: kernels.empirical_ntk(apply, p, a, b)}
    xv, yv = data.ghost_rows(k_val, 0, n_val, d, tgt)
    grid = np.asarray(ridge.RIDGE_LAMBDAS)
    for i, n in enumerate(ns):
        x, y = data.ghost_rows(k_data, 0, n, d, tgt)
        lin = one_step.linear_part(x, y)
        yc, yvc = (np.asarray(v, np.float64) for v in (y - lin(x), yv - lin(xv)))
        for name, kf in kfns.items():
            K, Kv = (np.asarray(kf(a, x), np.float64) for a in (x, xv))
            alphas = [np.linalg.solve(K / n + lam * np.eye(n), yc / n) for lam in grid * np.trace(K) / n**2]
            val = np.array([np.mean((Kv @ a - yvc) ** 2) for a in alphas])
            k = int(np.argmin(np.abs(np.log(grid / float(out[f"{name}_lambda"][1, i])))))  # the library's choice
            assert float(out[f"{name}_lambda"][1, i]) == pytest.approx(grid[k], rel=1e-6)
            assert val[k] <= val.min() * (1 + 1e-4), (name, n, grid[k], grid[np.argmin(val)])
            alpha = jnp.asarray(alphas[k], jnp.float32)
            err = one_step.normalized_test_error(k_test, None, tgt, n_test,
                                                predictor=lambda z, kf=kf, x=x, a=alpha, lin=lin: lin(z) + kf(z, x) @ a)
            np.testing.assert_allclose(float(out[name][1, i]), float(err), rtol=2e-3, err_msg=f"{name}, n={n}")
    assert float(out["cg_residual"].max()) < 1e-2
    assert np.all(np.asarray(out["ntk_se"]) > 0)


@pytest.mark.slow
@pytest.mark.parametrize("profile", ["cpu_large", "paper"])
def test_paper_profile_shapes(profile):
    """The chapter's sweeps at the paper profile's sizes (and the intermediate cpu_large ones) trace without a
    shape error (abstract evaluation: shapes only, nothing computed)."""
    S = profiles.sizes(**one_step_chapter.SIZES, profile=profile)
    assert set(one_step_chapter.SIZES["quick"]) == set(one_step_chapter.SIZES[profile])
    key = jax.random.key(0)

    def over_seeds(f):  # what sweeps.sweep runs: f vmapped over the seed keys
        return jax.eval_shape(lambda k: jax.vmap(f)(sweeps.seed_keys(k, S.seeds)), key)

    for d in S.path_d:
        tgt = targets.multi_index(jax.random.key(1), d, SOURCE)
        ns = one_step.doubling_checkpoints(d, S.path_max)
        out = over_seeds(lambda k, tgt=tgt, ns=ns, d=d: one_step.gradient_path_run(
            k, tgt, S.path_m_per_d * d, ns, batch=S.batch))
        assert out["alignment"].shape == (S.seeds, len(ns))
    for d in (S.curve_d[0], S.curve_d[-1]):
        tgt = targets.multi_index(jax.random.key(1), d, SOURCE)
        ns = tuple(int(r * d * d) for r in S.curve_ratios)
        out = over_seeds(lambda k, tgt=tgt, ns=ns: one_step.learning_curve_run(k, tgt, S.m, ns, n_test=S.n_test,
                                                                          batch=S.batch))
        assert out["network"].shape == (S.seeds, len(ns))
    for d in S.kernel_d:
        tgt = targets.multi_index(jax.random.key(1), d, SOURCE)
        kn = tuple(int(r * d * d) for r in S.kernel_ratios if r * d * d <= S.kernel_n_max)
        out = jax.eval_shape(lambda k, tgt=tgt, kn=kn: one_step.kernel_baselines_run(
            k, tgt, S.m, kn, n_test=S.kernel_n_test, batch=S.batch, kernel_names=("ntk", "entk")), key)
        assert kn and out["ntk"].shape == (len(kn),)
    for d, kn in one_step_chapter.capable_baselines(S).items():  # the NTK where random features lack the capacity
        tgt = targets.multi_index(jax.random.key(1), d, SOURCE)
        out = jax.eval_shape(lambda k, tgt=tgt, kn=kn: one_step.kernel_baselines_run(
            k, tgt, S.m, kn, n_test=S.kernel_n_test, batch=S.batch, kernel_names=("ntk",)), key)
        assert d * d in kn and out["ntk"].shape == (len(kn),)
    src = targets.multi_index(jax.random.key(1), S.transfer_d[-1], SOURCE)
    head = targets.MultiIndexTarget(src.U, (((3, 0), 2**-0.5), ((1, 2), 2**-0.5)))
    out = over_seeds(lambda k: one_step.transfer_run(k, src, head, S.m, S.source_ratio * S.transfer_d[-1] ** 2,
                                                S.n_target, n_test=S.n_test, batch=S.batch))
    assert out["transfer"].shape == (S.seeds,)


def test_kernel_floor_finds_the_kernel_run_nearest_below_the_plateau():
    """Over kernel rows only (never the network), optionally n <= max_ratio d^2: the smallest (error - plateau)/SE."""
    mean = {"d": np.array([4, 4, 4, 8, 8]), "method": np.array(["network", "ntk", "ntk", "rf", "ntk"]),
            "n": np.array([16, 16, 128, 64, 512]), "nmse": np.array([0.1, 0.6, 0.4, 0.55, 0.52]),
            "se": np.array([0.01, 0.01, 0.01, 0.05, 0.01])}
    z, where = one_step_chapter.kernel_floor(mean, 0.5)
    assert z == pytest.approx(-10) and where.startswith("ntk at d = 4, n = 128: 0.4000")  # not the network's 0.1
    z, where = one_step_chapter.kernel_floor(mean, 0.5, max_ratio=2)  # n <= 2 d^2: (4, 16) and (8, 64)
    assert z == pytest.approx(1.0) and where.startswith("rf at d = 8, n = 64")
    with pytest.raises(ValueError, match="max_ratio"):
        one_step_chapter.kernel_floor(mean, 0.5, max_ratio=0.1)


def test_kernel_floor_window_counts_degree_4_monomials():
    """window: only kernel runs with n <= window N_4(d) (N_4(4) = 35, N_4(8) = 330): the degree a kernel must learn
    next on a target without a degree-3 part."""
    mean = {"d": np.array([4, 4, 8, 8]), "method": np.array(["ntk", "ntk", "ntk", "ntk"]),
            "n": np.array([16, 64, 160, 200]), "nmse": np.array([0.6, 0.3, 0.55, 0.4]),
            "se": np.array([0.01, 0.01, 0.05, 0.01])}
    z, where = one_step_chapter.kernel_floor(mean, 0.5, window=0.5)  # n <= 17.5 at d = 4, n <= 165 at d = 8
    assert z == pytest.approx(1.0) and where.startswith("ntk at d = 8, n = 160")
    z, _ = one_step_chapter.kernel_floor(mean, 0.5, window=1.0)  # now (8, 200) is in: (0.4 - 0.5)/0.01
    assert z == pytest.approx(-10.0)
    with pytest.raises(ValueError, match="window"):
        one_step_chapter.kernel_floor(mean, 0.5, window=0.1)


def test_paired_margins_by_hand():
    """network − method, worst n >= d² where both ran, per d and method; another method can play the network."""
    mean = {"d": np.array([4, 4, 4, 4, 4, 8, 8]), "method": np.array(["network", "network", "rf", "rf", "ntk",
                                                                       "network", "ntk"]),
            "n": np.array([8, 16, 8, 16, 32, 64, 64]), "nmse": np.array([0.9, 0.3, 0.5, 0.6, 0.2, 0.2, 0.5])}
    m = one_step_chapter.paired_margins(mean)
    got = {(int(d), str(k)): float(g) for d, k, g in zip(m["d"], m["method"], m["gap"], strict=True)}
    assert got == pytest.approx({(4, "rf"): 0.3 - 0.6, (8, "ntk"): 0.2 - 0.5})  # n = 8 < 16 = d² is not compared
    swapped = one_step_chapter.paired_margins(mean, network="ntk")
    assert swapped["method"].tolist() == ["network"] and swapped["gap"][0] == pytest.approx(0.3)


def test_capable_baselines_follow_the_counts():
    """The NTK runs where m < CAPACITY N_2(d) and no kernel runs, from n = d² up to the kernel budget."""
    from types import SimpleNamespace

    assert one_step_chapter.CAPACITY == 8  # the count the positive control supports (tests/test_separations.py)
    S = SimpleNamespace(curve_d=[4, 16, 64, 128], kernel_d=[16], m=80, kernel_ratios=[1, 2, 4], kernel_n_max=8192)
    # N_2 = 10, 136, 2080, 8256: random features suffice at d = 4 (80 >= 8 x 10); d = 16 has its kernel.
    assert one_step_chapter.capable_baselines(S) == {64: (4096, 8192), 128: (16384,)}
    S.kernel_n_max = 4096  # d = 128: d² = 16384 > 2 x 4096, no run
    assert one_step_chapter.capable_baselines(S) == {64: (4096,)}
    assert one_step_chapter.network_beats_kernels([0.3, 0.4], [-0.1, -0.2], 0.5)
    assert not one_step_chapter.network_beats_kernels([0.3, 0.6], [-0.1], 0.5)
    assert not one_step_chapter.network_beats_kernels([0.3], [-0.1, 0.0], 0.5)
