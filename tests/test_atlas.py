"""The atlas: every method through the one interface against a direct computation, the measurement of exponents on
synthetic curves with known exponents (censoring included), theory and verdicts, the paper profile's shapes, and the
small generalisations the atlas needed in the paper modules (a first-n mask, a validation set, the square loss)."""

from types import SimpleNamespace

import jax
import jax.numpy as jnp
import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from featlearn import (
    agop,
    atlas,
    data,
    kernels,
    metrics,
    models,
    one_step,
    profiles,
    results,
    ridge,
    sweeps,
    targets,
    train,
)
from featlearn import good_directions as gd
from featlearn import gradient_features as gf
from featlearn.chapters import atlas as atlas_chapter
from featlearn.hermite import count_slope, monomial_count

D, N_MAX, N_VAL, N_TEST = 5, 40, 30, 50


def problem(target=0, seed=0, d=D, n_max=N_MAX):
    """One drawn problem of the atlas's target number ``target``."""
    return atlas.draw(jax.random.key(seed), target, d=d, n_max=n_max, n_val=N_VAL, n_test=N_TEST,
                      functions=atlas.gaussian_targets(d))


def grid_ridge(G, b, lams, pred_val, y_val):
    """Brute force in float64: the solution of (G + λI) c = b for every λ, the one of smallest validation MSE."""
    sols = [np.linalg.solve(G + lam * np.eye(G.shape[0]), b) for lam in lams]
    val = [np.mean((pred_val(c) - y_val) ** 2) for c in sols]
    return sols[int(np.argmin(val))]


def f64(*arrays):
    return [np.asarray(a, np.float64) for a in arrays]


# ------------------------------------------------------------------------------------------------ the problems
@pytest.mark.slow
def test_draw_splits_independent_rows_of_each_target():
    for t, spec in enumerate(atlas.TARGETS):
        p = problem(t)
        assert p.x.shape == (N_MAX, D) and p.x_val.shape == (N_VAL, D) and p.x_test.shape == (N_TEST, D)
        assert not np.allclose(p.x[:5], p.x_val[:5]) and not np.allclose(p.x_val[:5], p.x_test[:5])
        if spec.kind == "classification":
            assert set(np.unique(np.asarray(p.y))) <= {-1.0, 1.0}
    f = atlas.gaussian_targets(D)
    for t in range(4):  # the labels are the target function of the inputs
        p = problem(t)
        np.testing.assert_allclose(p.y_test, f[t](p.x_test), rtol=1e-5, atol=1e-5)
    par = problem(4)  # uniform hypercube: y is the product of the first 3 coordinates
    assert set(np.unique(np.asarray(par.x))) == {-1.0, 1.0}
    np.testing.assert_array_equal(par.y, jnp.prod(par.x[:, :atlas.PARITY_K], axis=1))
    # a traced target index (the switch) gives the same rows as a concrete one
    traced = jax.jit(lambda t: atlas.draw(jax.random.key(0), t, d=D, n_max=N_MAX, n_val=N_VAL, n_test=N_TEST,
                                          functions=f))(jnp.int32(2))
    np.testing.assert_allclose(traced.y, problem(2).y, rtol=1e-6)


def test_gaussian_targets_have_unit_variance_and_the_stated_levels():
    he2, he3, mi, ds = atlas.gaussian_targets(6)
    assert he2.variance == he3.variance == mi.variance == pytest.approx(1.0)  # exact sums of squared coefficients
    assert he3.expected_hessian() == pytest.approx(0.0) and float(jnp.linalg.norm(he2.expected_hessian())) > 1
    big = atlas.draw(jax.random.key(3), 3, d=6, n_max=10, n_val=10, n_test=200_000,
                     functions=atlas.gaussian_targets(6))
    y = np.asarray(big.y_test, np.float64)  # the dense-sparse target, by Monte Carlo within 4 standard errors
    se = np.std((y - y.mean()) ** 2) / np.sqrt(y.size)
    assert abs(y.var() - 1.0) < 4 * se
    # the levels are below the part a degree-(k-1) predictor explains: kernel_degree is the degree the level needs
    mi = targets.multi_index(jax.random.key(1), 6, one_step.SOURCE)
    assert mi.plateau(3) > atlas.TARGETS[2].level >= 0.0 and mi.plateau(4) == 0.0
    assert atlas.TARGETS[2].kernel_degree == 4 and atlas.TARGETS[3].kernel_degree == 3


# ------------------------------------------------------------------------------- each method against a direct fit
@pytest.mark.slow
def test_ntk_ridge_is_kernel_ridge_on_the_first_n_rows():
    p, n = problem(0), 25
    out = atlas.run("ntk", jax.random.key(9), p, n)
    x, y, xv, yv, xt, yt = f64(p.x[:n], p.y[:n], p.x_val, p.y_val, p.x_test, p.y_test)
    K, Kv, Kt = (np.asarray(kernels.ntk_relu(jnp.asarray(a), jnp.asarray(x)), np.float64) for a in (x, xv, xt))
    lams = np.asarray(ridge.RIDGE_LAMBDAS) * np.trace(K / n) / n
    alpha = grid_ridge(K / n, y / n, lams, lambda c: Kv @ c, yv)
    want = np.mean((Kt @ alpha - yt) ** 2) / np.var(yt)
    assert float(out["error"]) == pytest.approx(want, rel=2e-3)
    assert int(out["choice"]) == 1  # one candidate, after the null predictor (candidate 0)
    # the key plays no part; another n gives another fit
    assert float(atlas.run("ntk", jax.random.key(1), p, n)["error"]) == float(out["error"])
    assert float(atlas.run("ntk", jax.random.key(9), p, 12)["error"]) != float(out["error"])


def test_random_features_ridge_is_ridge_on_distinct_features():
    p, n, N = problem(0), 30, 120  # h2, which 30 samples in d = 5 learn better than the null predictor
    out = atlas.run("random-features", jax.random.key(4), p, n, features=N)
    assert int(out["choice"]) == 1
    F, Fv, Ft = f64(*(kernels.random_features(jax.random.key(4), z, N) for z in (p.x[:n], p.x_val, p.x_test)))
    assert np.linalg.matrix_rank(F.T @ F + 0 * np.eye(N)) == n  # N > n distinct features: rank n
    y, yv, yt = f64(p.y[:n], p.y_val, p.y_test)
    G = F @ F.T / n  # the dual form (N > n); the grid is relative to tr(FᵀF/n)/N
    lams = np.asarray(ridge.RIDGE_LAMBDAS) * np.trace(F.T @ F / n) / N
    c = grid_ridge(G, y / n, lams, lambda c: Fv @ (F.T @ c), yv)
    want = np.mean((Ft @ (F.T @ c) - yt) ** 2) / np.var(yt)
    assert float(out["error"]) == pytest.approx(want, rel=2e-3)


@pytest.mark.slow
def test_one_step_on_data_is_algorithm_1_on_the_ghost_rows():
    """fit_on_data on the materialised rows of one_step_fit's ghost data sets gives its model, up to rounding."""
    d, m, n, n_val = 6, 32, 300, 200
    tgt = targets.multi_index(jax.random.key(1), d, one_step.SOURCE)
    key = jax.random.key(5)
    k_data, k_val, _, _ = jax.random.split(key, 4)
    x, y = data.ghost_rows(k_data, 0, n, d, tgt)
    xv, yv = data.ghost_rows(k_val, 0, n_val, d, tgt)
    streamed = one_step.one_step_fit(key, tgt, m, n, n_val=n_val, batch=64)
    direct = one_step.fit_on_data(key, x, y, xv, yv, m)
    np.testing.assert_allclose(direct.W, streamed.W, rtol=2e-3, atol=2e-4)
    np.testing.assert_allclose(direct.b, streamed.b)
    assert float(direct.lam) == pytest.approx(float(streamed.lam), rel=1e-4)  # the same validated penalty
    # the same predictor (its weights are ill-conditioned in float32; its predictions are not)
    np.testing.assert_allclose(one_step.predict(direct, xv), one_step.predict(streamed, xv), rtol=1e-2, atol=2e-3)
    # a first-n mask over a larger pool is the fit on the first n rows
    xx, yy = data.ghost_rows(k_data, 0, 2 * n, d, tgt)
    masked = one_step.fit_on_data(key, xx, yy, xv, yv, m, weights=data.first_n_weights(n, 2 * n))
    for a, b in ((masked.W, direct.W), (masked.linear.beta, direct.linear.beta),
                 (one_step.predict(masked, xv), one_step.predict(direct, xv))):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-3)
    # through the interface: the score of this model
    p = atlas.Problem(xx, yy, xv, yv, xv, yv)
    out = atlas.run("one-step", key, p, n, width=m)
    want = metrics.normalized_mse(one_step.predict(direct, xv), yv)
    assert float(out["error"]) == pytest.approx(float(want), rel=1e-3)


@pytest.mark.slow
def test_two_stage_uses_the_hinge_loss_on_classification_and_picks_by_validation():
    key, n = jax.random.key(2), 30
    hp = dict(width=16, steps=20, eta1s=(1.0, 4.0), decays=(1e-4,))
    chosen = []
    for t, loss in ((5, "hinge"), (0, "mse")):  # the XOR mixture, h2
        p = problem(t)
        cls = atlas.CLASSIFICATION[t]
        out = atlas.run("two-stage", key, p, n, cls, **hp)
        p0 = models.init_params(key, D, 16, symmetric=True)
        preds = [gf.two_stage(p0, p.x[:n], p.y[:n], eta1=e, steps=20, weight_decay=1e-4, loss=loss).final
                 for e in hp["eta1s"]]
        null = float(jnp.mean(p.y[:n]))  # candidate 0: the null predictor
        val = [float(jnp.mean((null - p.y_val) ** 2))]
        val += [float(jnp.mean((models.apply(q, p.x_val) - p.y_val) ** 2)) for q in preds]
        best = int(np.argmin(val))
        pt = jnp.full_like(p.y_test, null) if best == 0 else models.apply(preds[best - 1], p.x_test)
        want = metrics.classification_error(pt, p.y_test) if cls else metrics.normalized_mse(pt, p.y_test)
        assert int(out["choice"]) == best
        chosen.append(best)
        assert float(out["error"]) == pytest.approx(float(want), rel=1e-3, abs=1e-6)
    assert max(chosen) > 0  # the method's own candidates, not only the null predictor


def test_square_loss_second_layer_converges_to_its_ridge_solution(x64):
    """Stage 2 with the square loss minimises ½·mean((Φa − y)²)/s̄ + (λ₂/2)‖a‖², whose minimiser is the ridge
    solution (ΦᵀΦ/n + λ₂ s̄ I)⁻¹ Φᵀy/n (s̄: the features' mean squared norm)."""
    rng = np.random.default_rng(0)
    Phi, y, lam = rng.standard_normal((50, 8)), rng.standard_normal(50), 1e-2
    s_bar = np.mean(np.sum(Phi**2, axis=1))
    want = np.linalg.solve(Phi.T @ Phi / 50 + lam * s_bar * np.eye(8), Phi.T @ y / 50)
    got = gf.train_second_layer(jnp.asarray(Phi), jnp.asarray(y), steps=3000, lr=1.0, weight_decay=lam, loss="mse")
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)


def test_mse_first_step_equals_the_hinge_step_at_the_symmetric_init(key):
    """At a symmetric initialisation f ≡ 0, so the square loss and the hinge loss have the same first gradient."""
    x, y, _ = data.xor_mixture(key, 60, 4)
    p0 = models.init_params(jax.random.key(1), 4, 12, symmetric=True)
    np.testing.assert_allclose(gf.first_step(p0, x, y, 2.0, loss="mse")["W"], gf.first_step(p0, x, y, 2.0)["W"],
                               rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="loss must be one of"):
        gf.two_stage(p0, x, y, loss="l1")


@pytest.mark.slow
def test_good_directions_mask_is_training_on_the_first_n_rows():
    p, n, key = problem(3), 25, jax.random.key(6)
    net = gd.initial_network(key, D, 16)
    keep = data.first_n_weights(n, N_MAX)
    # R1 on the kept rows is R1 of the first n rows
    W = jax.random.normal(jax.random.key(1), (16, D))
    r_mask = gd.regularizer_r1(net, p.x, D, keep)({"W": W})
    r_cut = gd.regularizer_r1(net, p.x[:n], D)({"W": W})
    assert float(r_mask) == pytest.approx(float(r_cut), rel=1e-3)
    # the trained W, and the interface's score
    kw = dict(model="LQ", lam=1.0, k=D, steps=30, lr=2.0, n_evals=1)
    Wm, _ = gd.fit(net, p.x, p.y, weights=keep, **kw)
    Wc, _ = gd.fit(net, p.x[:n], p.y[:n], **kw)
    np.testing.assert_allclose(Wm, Wc, rtol=2e-3, atol=2e-5)
    out = atlas.run("good-directions", key, p, n, width=16, steps=30, time=60.0, lams=(0.0, 1.0))
    apply_fn = gd.model_fn(net, "LQ")
    cands = [gd.fit(net, p.x[:n], p.y[:n], **(kw | dict(lam=lam)))[0] for lam in (0.0, 1.0)]
    null = float(jnp.mean(p.y[:n]))  # candidate 0: the null predictor
    val = [float(jnp.mean((null - p.y_val) ** 2))]
    val += [float(jnp.mean((apply_fn({"W": W}, p.x_val) - p.y_val) ** 2)) for W in cands]
    assert int(out["choice"]) == int(np.argmin(val))
    c = int(out["choice"])
    pt = jnp.full_like(p.y_test, null) if c == 0 else apply_fn({"W": cands[c - 1]}, p.x_test)
    want = metrics.normalized_mse(pt, p.y_test)
    assert float(out["error"]) == pytest.approx(float(want), rel=2e-3)


@pytest.mark.slow
def test_full_gd_checkpoints_are_gradient_descent_on_the_first_n_rows():
    p, n, key = problem(0), 20, jax.random.key(7)
    out = atlas.run("full-gd", key, p, n, width=8, steps=40, lrs=(0.5,), evals=4)
    params = models.init_params(key, D, 8, symmetric=True)
    apply_fn = models.make_apply("relu", models.output_scale(8, "ntk"))
    fits = []
    for k in range(5):  # checkpoints 0, 10, ..., 40 steps (0: f ≡ 0)
        q = params if k == 0 else train.fit(params, train.supervised_loss(apply_fn, p.x[:n], p.y[:n]), steps=10 * k,
                                            lr=0.5)[0]
        fits.append(q)
    val = [float(jnp.mean((apply_fn(q, p.x_val) - p.y_val) ** 2)) for q in fits]
    assert val[0] == pytest.approx(float(jnp.mean(p.y_val ** 2)), rel=1e-6)  # the start is the zero function
    best = int(np.argmin(val))
    assert int(out["choice"]) == best + 1  # candidate 0 is the null predictor
    want = metrics.normalized_mse(apply_fn(fits[best], p.x_test), p.y_test)
    assert float(out["error"]) == pytest.approx(float(want), rel=2e-3)


def test_rfm_with_a_validation_set_chooses_the_penalty_there():
    p, n = problem(5), 30
    res = agop.rfm(p.x[:n], p.y[:n], p.x_test, p.y_test, iterations=0, bandwidth=3.0, x_val=p.x_val, y_val=p.y_val)
    x, y, xv, yv, xt = f64(p.x[:n], p.y[:n], p.x_val, p.y_val, p.x_test)
    lap = lambda a: np.exp(-np.sqrt(np.maximum(((a[:, None, :] - x[None]) ** 2).sum(-1), 0)) / 3.0)  # noqa: E731
    K, Kv, Kt = lap(x), lap(xv), lap(xt)
    lams = np.asarray(ridge.RIDGE_LAMBDAS) * np.trace(K / n) / n
    alpha = grid_ridge(K / n, y / n, lams, lambda c: Kv @ c, yv)
    np.testing.assert_allclose(res.val_pred[0], Kv @ alpha, rtol=2e-3, atol=1e-3)
    np.testing.assert_allclose(res.test_pred[0], Kt @ alpha, rtol=2e-3, atol=1e-3)
    assert res.val_pred.shape == (1, N_VAL)
    # validation labels that disagree with the training labels: the validation set, not leave-one-out, decides
    flipped = agop.rfm(p.x[:n], p.y[:n], p.x_test, p.y_test, iterations=0, bandwidth=3.0, x_val=p.x_val,
                       y_val=-p.y_val)
    alpha = grid_ridge(K / n, y / n, lams, lambda c: Kv @ c, -yv)  # the largest penalty: predictions near 0
    np.testing.assert_allclose(flipped.test_pred[0], Kt @ alpha, rtol=2e-3, atol=1e-3)
    assert float(jnp.abs(flipped.test_pred[0]).max()) < 0.5 * float(jnp.abs(res.test_pred[0]).max())
    # through the interface: iterations + 1 candidates, chosen by the validation loss
    out = atlas.run("rfm", jax.random.key(0), p, n, 1.0, iterations=2, bandwidths=(3.0,))
    full = agop.rfm(p.x[:n], p.y[:n], p.x_test, p.y_test, iterations=2, bandwidth=3.0, x_val=p.x_val, y_val=p.y_val)
    best = int(np.argmin(np.mean((np.asarray(full.val_pred) - np.asarray(p.y_val)) ** 2, axis=1)))
    assert int(out["choice"]) == best + 1  # candidate 0 is the null predictor
    assert float(out["error"]) == pytest.approx(float(full.test_error[best]), abs=1e-6)
    with pytest.raises(ValueError, match="x_val and y_val"):
        agop.rfm(p.x, p.y, p.x_test, p.y_test, x_val=p.x_val)


def test_rfm_chooses_its_bandwidth_on_validation():
    """Several bandwidths: the plain Laplace kernel at each, the iterations at the one of smallest validation loss;
    the middle one here (0.01: K ≈ I, predictions ≈ 0 off the training rows) is the worst, so a fixed bandwidth
    shows."""
    p, n, widths = problem(0), 30, (3.0, 0.01, 0.3)
    kw = dict(x_val=p.x_val, y_val=p.y_val)
    res = agop.rfm(p.x[:n], p.y[:n], p.x_test, p.y_test, iterations=1, bandwidth=widths, **kw)
    plain = [agop.rfm(p.x[:n], p.y[:n], p.x_test, p.y_test, iterations=0, bandwidth=L, **kw) for L in widths]
    val = [float(jnp.mean((r.val_pred[0] - p.y_val) ** 2)) for r in plain]
    best = int(np.argmin(val))
    assert int(res.choice) == best != 1 and float(res.bandwidth) == widths[best]
    for b in range(3):  # the plain kernels first, then the iteration at the chosen bandwidth
        np.testing.assert_allclose(res.val_pred[b], plain[b].val_pred[0], rtol=1e-5, atol=1e-6)
    once = agop.rfm(p.x[:n], p.y[:n], p.x_test, p.y_test, iterations=1, bandwidth=widths[best], **kw)
    np.testing.assert_allclose(res.test_pred[3], once.test_pred[1], rtol=1e-4, atol=1e-5)
    # through the interface: bandwidth-major candidates, the iterations only at the chosen bandwidth
    out = atlas.run("rfm", jax.random.key(0), p, n, iterations=1, bandwidths=widths)
    c = int(out["choice"]) - 1
    assert c // 2 == best or int(out["choice"]) == 0
    with pytest.raises(ValueError, match="several bandwidths"):
        agop.rfm(p.x[:n], p.y[:n], p.x_test, p.y_test, bandwidth=widths)


@pytest.mark.slow
def test_null_predictor_is_a_candidate_of_every_method():
    """Candidate 0 of every method is the constant mean of the first n training labels: with validation labels
    equal to that constant, every method's own candidates lose to it, and it is what is scored."""
    p, n = problem(0), 30
    mean = float(jnp.mean(p.y[:n]))
    flipped = p._replace(y_val=jnp.full_like(p.y_val, mean))  # validation labels only the null predictor fits
    hp = {"ntk": {}, "random-features": dict(features=64), "one-step": dict(width=8),
          "two-stage": dict(width=8, steps=5, eta1s=(1.0,), decays=(1e-4,)),
          "good-directions": dict(width=8, steps=5, time=10.0, lams=(0.0,)),
          "rfm": dict(iterations=1, bandwidths=(3.0,))}
    want = float(metrics.normalized_mse(jnp.full_like(p.y_test, mean), p.y_test))
    for method, h in hp.items():
        out = atlas.run(method, jax.random.key(0), flipped, n, **h)
        assert int(out["choice"]) == 0, method
        assert float(out["error"]) == pytest.approx(want, rel=1e-5), method
    c = atlas.with_null(atlas.Candidates(jnp.ones((2, 3)), jnp.zeros((2, 4))), 0.5)
    np.testing.assert_array_equal(c.pred_val, [[0.5] * 3, [1.0] * 3, [1.0] * 3])
    np.testing.assert_array_equal(c.pred_test[0], [0.5] * 4)


def test_score_is_the_validation_choice_scored_on_the_test_set():
    """The candidate of smallest validation loss, never the best on test; a non-finite candidate is never chosen."""
    p = problem(0)
    good_val = p.y_val + 0.1
    cands = atlas.Candidates(jnp.stack([good_val, jnp.full_like(p.y_val, jnp.nan), p.y_val + 0.3]),
                             jnp.stack([p.y_test + 0.5, p.y_test, p.y_test]))
    out = atlas.score(p, cands, 0.0)
    assert int(out["choice"]) == 0  # the test set would have preferred candidate 1 or 2
    assert float(out["nmse"]) == pytest.approx(float(0.25 / jnp.var(p.y_test)), rel=1e-5)
    assert float(out["val_loss"]) == pytest.approx(0.01, rel=1e-4)
    cls = atlas.score(problem(5), atlas.Candidates(jnp.ones((1, N_VAL)), jnp.ones((1, N_TEST))), 1.0)
    assert float(cls["error"]) == float(cls["error01"]) == pytest.approx(float(jnp.mean(problem(5).y_test < 0)))


@pytest.mark.slow
def test_learning_curve_runs_every_n_on_nested_rows():
    """One program per (method, d): the sweep's (seed, target) grid and every n; the values are the interface's."""
    ns = (10, 20, 40)
    probs = sweeps.sweep(atlas.draw, key=jax.random.key(0), seeds=2, vary=dict(target=range(6)), cache=False,
                         fixed=dict(d=D, n_max=N_MAX, n_val=N_VAL, n_test=N_TEST, functions=atlas.gaussian_targets(D)))
    probs = atlas.Problem(*(jnp.asarray(a) for a in probs))
    k = jax.random.fold_in(jax.random.split(jax.random.key(1), 1)[0], 1)  # seed 1's key: its own, not seed 0's
    for method, hp, t in (("random-features", dict(features=64), 5), ("one-step", dict(width=8), 0)):
        out = sweeps.sweep(atlas.learning_curve_run, key=jax.random.key(1), seeds=1, cache=False,
                           vary=dict(seed=range(2), target=range(6)),
                           fixed=dict(method=method, problems=probs, ns=ns, **hp))
        assert out["error"].shape == (1, 2, 6, 3)
        p = jax.tree_util.tree_map(lambda a, t=t: a[1, t], probs)  # seed 1, the XOR mixture or h2
        want = atlas.run(method, k, p, 20, atlas.CLASSIFICATION[t], **hp)["error"]
        assert float(out["error"][0, 1, t, 1]) == pytest.approx(float(want), rel=1e-4, abs=1e-6)
        other = atlas.run(method, jax.random.key(1), p, 20, atlas.CLASSIFICATION[t], **hp)["error"]
        assert float(other) != float(want)  # the key matters: a seed sharing another's key would show


# ------------------------------------------------------------------------------------------------ measurement
def curve(ns, n_star, level, slope=0.25):
    """An error curve linear in log2 n that crosses ``level`` exactly at ``n_star`` (the interpolation is exact)."""
    return level - slope * np.log2(np.asarray(ns, float) / n_star)


def test_crossings_interpolate_and_label_censoring():
    ns = np.array([4, 8, 16, 32, 64])
    errs = np.stack([curve(ns, 11.0, 0.3), curve(ns, 2000.0, 0.3), curve(ns, 2.0, 0.3),
                     np.array([1.0, np.nan, 0.9, 0.8, 0.7])])
    n_star, status = atlas.crossings(ns, errs, 0.3)
    assert n_star[0] == pytest.approx(11.0, rel=1e-9) and status[0] == atlas.CROSSED
    assert np.isnan(n_star[1]) and status[1] == atlas.NEVER
    assert np.isnan(n_star[2]) and status[2] == atlas.AT_START
    assert status[3] == atlas.NEVER  # a non-finite error is not a crossing
    # the first n at or below the level, even if the curve rises again later
    n2, s2 = atlas.crossings(ns, np.array([0.9, 0.5, 0.2, 0.6, 0.1]), 0.3)
    assert s2 == atlas.CROSSED and 8 < n2 < 16


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0])
def test_exponent_of_synthetic_crossings(p):
    ds = np.array([8, 12, 16, 24])
    scale = np.array([0.7, 1.0, 1.4])  # one factor per seed, the same at every d: the slope is exact
    n_star = scale[None, :] * ds[:, None] ** p
    status = np.full(n_star.shape, atlas.CROSSED)
    exp = atlas.exponent(ds, n_star, status, n_boot=300)
    assert exp.exponent == pytest.approx(p, abs=1e-9)
    assert exp.ci_low <= p <= exp.ci_high and exp.censored == "" and exp.crossed == exp.runs == 12
    # and from curves through crossings: n* = 0.7 d^p, inside a grid of ns per d from d/2 to above n*
    budget = 2.0 * ds.max() ** max(p - 2, 0)
    found = [atlas.crossings(ns := atlas.sample_sizes(d, budget, 9), curve(ns, 0.7 * d ** p, 0.3), 0.3) for d in ds]
    exp2 = atlas.exponent(ds, np.stack([f[0] for f in found])[:, None], np.stack([f[1] for f in found])[:, None],
                          n_boot=100)
    assert exp2.exponent == pytest.approx(p, abs=1e-6)


def test_exponent_against_the_count():
    """n* = c_s N_3(d): the slope against log N_3(d) is exactly 1, and the slope against log d is the count's local
    slope over the same d (below 3 at these d)."""
    ds = np.array([16, 24, 32])
    counts = np.array([monomial_count(int(d), 3) for d in ds], float)
    n_star = np.array([0.7, 1.0, 1.4])[None, :] * 4 * counts[:, None]
    status = np.full(n_star.shape, atlas.CROSSED)
    exp = atlas.exponent(ds, n_star, status, counts=counts, n_boot=200)
    assert exp.vs_count == pytest.approx(1.0, abs=1e-9) and exp.count_low <= 1.0 <= exp.count_high
    assert exp.exponent == pytest.approx(count_slope(ds, 3), abs=1e-9) and exp.exponent < 2.9
    assert np.isnan(atlas.exponent(ds, n_star, status, n_boot=50).vs_count)  # no counts, no slope against them
    with pytest.raises(ValueError, match="counts must hold one count per dimension"):
        atlas.exponent(ds, n_star, status, counts=counts[:2])


def test_censored_cells_are_never_numbers():
    ds = np.array([8, 16])
    n_star = np.array([[100.0, 120.0], [400.0, np.nan]])
    status = np.array([[atlas.CROSSED, atlas.AT_START], [atlas.CROSSED, atlas.NEVER]])
    exp = atlas.exponent(ds, n_star, status, counts=[10.0, 40.0])
    assert exp.censored == atlas.ABOVE_BUDGET and np.isnan(exp.exponent) and np.isnan(exp.ci_low)
    assert exp.crossed == 2 and exp.runs == 4 and exp.never == 1 and np.isnan(exp.vs_count)
    status[1, 1] = atlas.CROSSED
    n_star[1, 1] = 500.0
    exp = atlas.exponent(ds, n_star, status)
    assert exp.censored == atlas.BELOW_GRID and np.isnan(exp.exponent)


def fake_table(S, truth):
    """A long table like curves(): for every (method, target), per-seed curves that cross the target's level at
    n* = c_s d^p (truth[(method, target)] = p), or never (p = None). Their slope in log n changes with d, so a
    crossing taken at another level would change the exponent."""
    rows = []
    for method in atlas.METHODS:
        for spec in atlas.TARGETS:
            p = truth.get((method, spec.name))
            for d in S.d:
                ns = atlas.sample_sizes(d, S.budget, S.points)
                for s, c in enumerate((0.9, 1.0, 1.1)):
                    n_star = (None if p is None else 4 * c * monomial_count(d, p[1]) if isinstance(p, tuple)
                              else c * d ** p)
                    err = (curve(ns, n_star, spec.level, slope=0.02 * d) if p is not None
                           else np.full(ns.size, 2.0))
                    rows.append({"method": np.full(ns.size, method), "target": np.full(ns.size, spec.name),
                                 "d": np.full(ns.size, d), "seed": np.full(ns.size, s), "n": ns, "error": err,
                                 "choice": np.zeros(ns.size, int)})
    return {k: np.concatenate([r[k] for r in rows]) for k in rows[0]}


def sizes(**kw):
    base = dict(profiles.sizes(**atlas_chapter.SIZES, profile="quick").__dict__) | dict(
        d=[8, 12, 16], seeds=3, n_boot=200, methods=tuple(atlas.METHODS), targets=atlas.TARGET_NAMES)
    return SimpleNamespace(**(base | kw))


def test_measure_recovers_each_cells_exponent_and_the_verdicts():
    S = sizes(budget=128.0, points=12)  # a grid from d/2 to 128 d², wide enough for every n* below
    truth = {(m, t.name): 1.5 for m in atlas.METHODS for t in atlas.TARGETS}
    truth[("ntk", "he2")] = ("count", 2)  # n* = 4 c N_2(d): agrees with the kernel theory (slope 1 against N_2)
    truth[("random-features", "he2")] = 2.6  # n* ∝ d^2.6: steeper than N_2(d), disagrees
    truth[("one-step", "he2")] = 1.0  # below the sufficient d²: consistent with Damian et al.
    truth[("one-step", "multi-index")] = 2.6  # above it: disagrees
    for t in ("he3", "multi-index", "dense-sparse", "parity"):
        truth[("ntk", t)] = None  # censored above the budget: not measured, whatever the theory
    truth[("full-gd", "xor")] = None  # censored, no prediction: not measured
    truth[("good-directions", "dense-sparse")] = 3.6  # above the bound < 3: disagrees
    truth[("rfm", "parity")] = 2.2  # no prediction
    out = atlas_chapter.exponents(S, jax.random.key(0), fake_table(S, truth))
    t = out["table"]
    cell = {(m, g): i for i, (m, g) in enumerate(zip(t["method"], t["target"], strict=True))}
    for (m, g), p in truth.items():
        i = cell[(m, g)]
        if p is None:
            assert t["censored"][i] == atlas.ABOVE_BUDGET and np.isnan(t["exponent"][i]), (m, g)
            assert t["verdict"][i] == atlas.NOT_MEASURED and t["never"][i] == t["runs"][i] == 9, (m, g)
        elif not isinstance(p, tuple):
            assert t["exponent"][i] == pytest.approx(p, abs=1e-6) and t["censored"][i] == "", (m, g)
    # the censored cells carry no verdict but "not measured"
    assert set(t["verdict"][t["censored"] != ""]) == {atlas.NOT_MEASURED}
    v = lambda m, g: t["verdict"][cell[(m, g)]]  # noqa: E731
    he2, xor = cell[("ntk", "he2")], cell[("ntk", "xor")]
    assert t["slope_vs_count"][he2] == pytest.approx(1.0, abs=1e-6)
    assert t["exponent"][he2] == pytest.approx(count_slope(S.d, 2), abs=1e-6)
    assert t["theory_local"][he2] == pytest.approx(count_slope(S.d, 2))
    assert t["theory_local"][cell[("one-step", "multi-index")]] == pytest.approx(count_slope(S.d, 4))
    assert np.isnan(t["theory_local"][xor]) and np.isnan(t["slope_vs_count"][xor])
    assert v("ntk", "he2") == atlas.AGREES and v("ntk", "he3") == atlas.NOT_MEASURED
    assert v("random-features", "he2") == atlas.DISAGREES
    assert v("one-step", "he2") == atlas.CONSISTENT and v("one-step", "multi-index") == atlas.DISAGREES
    assert v("good-directions", "dense-sparse") == atlas.DISAGREES and v("rfm", "parity") == atlas.SILENT
    assert out["glue"]["disagrees"] == len(out["disagreements"]) == sum(t["verdict"] == atlas.DISAGREES)
    assert out["glue"]["not-measured"] == 5 and out["glue"]["consistent"] == 1 and out["glue"]["agrees"] == 1
    assert out["glue"]["ntk-he3"] == "not measured (> budget)"
    assert out["glue"]["ntk-he2"].startswith(f"{count_slope(S.d, 2):.2f} [")
    assert out["glue"]["ntk-he2-count"].startswith("1.00 [")
    assert out["grid"].shape == (7, 6) and np.isnan(out["grid"][0, 1]) and out["censored"][0, 1] == "> budget"
    assert out["verdicts"][0, 1] == atlas.NOT_MEASURED
    assert list(out["csv"]) == list(atlas_chapter.CSV_COLUMNS) and {"slope_vs_count", "theory_local", "verdict"} <= set(
        atlas_chapter.CSV_COLUMNS)
    kb = out["kernels_beyond"]
    assert set(kb["target"]) == {"he3", "multi-index", "dense-sparse", "parity"} and set(kb["method"]) == {
        "ntk", "random-features"}
    assert np.all(kb["never"][kb["method"] == "ntk"] == 9) and not np.all(kb["never"] == kb["runs"])
    assert out["html"].count("<tr>") == 1 + 42 and "&gt; budget" in out["html"] and "$" not in out["html"]
    assert "he2" not in out["html"] and "h₂(u·x)" in out["html"]  # names, not ids
    # at d = 8-16 and a budget of 128 d², degree 3 is within reach, degree 4 is not: the paper profile's sizes
    assert t["needs"][cell[("ntk", "multi-index")]].startswith("needs the paper profile (GPU): n up to 4·N_4(d)")
    assert t["needs"][cell[("ntk", "he3")]].startswith("needs a larger budget: n up to 4·N_3(d) = 480,")


def test_a_subset_of_cells_is_measured_alone():
    """A profile that runs some methods on some targets (quick) gets a table, grid and checks over those cells."""
    S = sizes(budget=128.0, points=12, methods=("one-step", "ntk"), targets=("he3", "he2"))
    assert atlas_chapter.cells(S) == (("ntk", "one-step"), ("he2", "he3"))
    full = fake_table(S, {("ntk", "he2"): ("count", 2), ("one-step", "he2"): 2.0, ("one-step", "he3"): None})
    keep = np.isin(full["method"], S.methods) & np.isin(full["target"], S.targets)
    out = atlas_chapter.exponents(S, jax.random.key(0), {k: v[keep] for k, v in full.items()})
    assert out["grid"].shape == (2, 2) and list(out["methods"]) == ["ntk", "one-step"]
    assert list(out["targets"]) == ["he2", "he3"] and out["censored"][1, 1] == atlas.ABOVE_BUDGET
    assert list(out["kernels_beyond"]["target"]) == ["he3"]
    with pytest.raises(ValueError, match="methods must be one of"):
        atlas_chapter.cells(sizes(methods=("svm",)))


def test_theory_states_only_what_the_cited_results_say():
    assert atlas.theory("ntk", "he3").text == "3 ± δ" and atlas.theory("random-features", "multi-index").text == "4 ± δ"
    assert atlas.theory("ntk", "he3").degree == 3 and atlas.theory("ntk", "xor").exponent is None
    assert atlas.theory("one-step", "he2").text == "≤ 2" and atlas.theory("one-step", "he3").exponent is None
    assert atlas.theory("one-step", "parity").exponent is None
    assert atlas.theory("good-directions", "dense-sparse").text == "< 3"
    for m in ("two-stage", "full-gd", "rfm"):
        assert all(atlas.theory(m, t).exponent is None for t in atlas.TARGET_NAMES)
    bib = (__import__("pathlib").Path(__file__).resolve().parents[1] / "book" / "references.bib").read_text()
    for m in atlas.METHODS:
        for t in atlas.TARGET_NAMES:
            for key in filter(None, atlas.theory(m, t).source.split("; ")):
                assert f"{{{key}," in bib, key


def test_verdicts_are_never_earned_by_failing_to_measure():
    kern = lambda p: atlas.Prediction(p, atlas.KERNEL, "", "", int(p))  # noqa: E731
    finite = atlas.Exponent(2.4, 2.1, 2.7, "", 9, 9)
    assert atlas.verdict(kern(2.0), finite) == atlas.DISAGREES  # no count slope: the exponent's interval decides
    assert atlas.verdict(kern(2.0), finite._replace(vs_count=1.1, count_low=0.9, count_high=1.3)) == atlas.AGREES
    assert atlas.verdict(kern(3.0), finite._replace(vs_count=1.2, count_low=1.05, count_high=1.3)) == atlas.DISAGREES
    suff, better = atlas.Prediction(2.0, atlas.SUFFICIENT, "", ""), atlas.Prediction(3.0, atlas.BETTER, "", "")
    assert atlas.verdict(suff, finite) == atlas.DISAGREES  # the whole interval above a sufficient d²
    assert atlas.verdict(suff, finite._replace(ci_low=2.0)) == atlas.CONSISTENT  # at the bound
    assert atlas.verdict(suff, finite._replace(ci_low=1.2, exponent=1.5)) == atlas.CONSISTENT
    assert atlas.verdict(better, finite) == atlas.CONSISTENT
    assert atlas.verdict(better, finite._replace(ci_low=3.0, ci_high=3.4)) == atlas.DISAGREES  # strictly below 3
    assert atlas.verdict(atlas.NO_PREDICTION, finite) == atlas.SILENT
    for censored in (atlas.ABOVE_BUDGET, atlas.BELOW_GRID):  # a censored cell never agrees, whatever the theory
        c = atlas.Exponent(np.nan, np.nan, np.nan, censored, 0, 9, 9)
        for pred in (kern(2.0), kern(3.0), kern(4.0), suff, better, atlas.NO_PREDICTION):
            assert atlas.verdict(pred, c) == atlas.NOT_MEASURED, (censored, pred)


def test_kernel_barrier_needs_every_run_at_every_d():
    """The check that kernels cannot learn degree ≥ 3 within the budget counts the runs that never crossed: one
    run that crossed at one d breaks it, although the cell is still censored."""
    table = {"method": np.array(["ntk", "ntk", "random-features", "one-step"]),
             "target": np.array(["he2", "he3", "parity", "he3"]),
             "theory": np.array(["2 ± δ", "3 ± δ", "3 ± δ", "—"]),
             "degree": np.array([2, 3, 3, 3]), "never": np.array([0, 9, 8, 9]), "crossed": np.array([9, 0, 1, 0]),
             "runs": np.array([9, 9, 9, 9])}
    kb = atlas_chapter.kernel_barrier(table)
    assert list(kb["target"]) == ["he3", "parity"] and list(kb["never"] == kb["runs"]) == [True, False]
    assert list(atlas.settling_sizes(3, [16, 24, 32])) == [3264, 10400, 23936]


# ------------------------------------------------------------------------------------------------ bad input
def test_bad_input_names_the_parameter():
    p = problem(0)
    with pytest.raises(ValueError, match="method must be one of"):
        atlas.run("svm", jax.random.key(0), p, 10)
    with pytest.raises(ValueError, match="n must be a Python integer"):
        jax.jit(lambda n: atlas.run("ntk", jax.random.key(0), p, n)["error"])(10)
    with pytest.raises(ValueError, match="n must be at most"):
        atlas.run("ntk", jax.random.key(0), p, N_MAX + 1)
    with pytest.raises(ValueError, match="n must lie in"):
        atlas.run("full-gd", jax.random.key(0), p, 0, width=8, steps=2, lrs=(0.1,), evals=1)
    probs = jax.tree_util.tree_map(lambda a: a[None, None], p)
    with pytest.raises(ValueError, match="ns must be increasing"):
        atlas.learning_curve_run(jax.random.key(0), 0, 0, method="ntk", problems=probs, ns=(20, 10))
    with pytest.raises(ValueError, match="ns must be increasing"):
        atlas.learning_curve_run(jax.random.key(0), 0, 0, method="ntk", problems=probs, ns=(10, N_MAX + 5))
    with pytest.raises(ValueError, match="budget must"):
        atlas.sample_sizes(8, 0.001, 5)
    with pytest.raises(ValueError, match="points must be"):
        atlas.sample_sizes(8, 2.0, 1)
    with pytest.raises(ValueError, match="errors must have last axis"):
        atlas.crossings([1, 2, 3], np.zeros((2, 4)), 0.5)
    with pytest.raises(ValueError, match="ns must be at least two increasing"):
        atlas.crossings([3, 2], np.zeros(2), 0.5)
    with pytest.raises(ValueError, match="level must lie in"):
        atlas.crossings([1, 2], np.zeros(2), 0.0)
    with pytest.raises(ValueError, match="ds must hold at least two distinct"):
        atlas.exponent([8, 8], np.ones((2, 3)), np.full((2, 3), atlas.CROSSED))
    with pytest.raises(ValueError, match="n_star and status must have shape"):
        atlas.exponent([8, 16], np.ones((3, 3)), np.full((3, 3), atlas.CROSSED))
    with pytest.raises(ValueError, match="target must be one of"):
        atlas.theory("ntk", "sine")
    with pytest.raises(ValueError, match="functions must hold"):
        atlas.draw(jax.random.key(0), 0, d=D, n_max=4, n_val=4, n_test=4, functions=())
    with pytest.raises(ValueError, match="weights must have shape"):
        one_step.fit_on_data(jax.random.key(0), p.x, p.y, p.x_val, p.y_val, 8, weights=jnp.ones(3))


# ------------------------------------------------------------------------------------------------ profiles
def test_grid_edges_count_the_validation_choices_at_each_edge():
    """The candidates' layout of every method: two-stage (η₁ major, weight decay minor), R₁ strengths, GD (rate
    major, checkpoint minor), RFM iterations; each share is the fraction of that method's rows at the edge."""
    S = SimpleNamespace(eta1s=(1.0, 4.0, 16.0), decays=(0.0, 1e-4), quad_lams=(0.0, 1.0, 3.0), net_lrs=(0.5, 2.0),
                        net_evals=4, rfm_iterations=2, rfm_bandwidths=(5.0, 10.0))
    own = {"two-stage": [0, 1, 2, 5], "good-directions": [0, 2, 2, 1], "full-gd": [4, 9, 5, 0], "rfm": [0, 2, 4, 5],
           "ntk": [0, 0, 0, 0]}  # each method's own candidates; every method also chose the null predictor once
    rows = {m: [0] + [v + 1 for v in c] for m, c in own.items()}
    table = {"method": np.array([m for m, c in rows.items() for _ in c]),
             "choice": np.array([v for c in rows.values() for v in c])}
    out = atlas_chapter.grid_edges(S, table)
    e: dict = {}
    for m, k, v in zip(out["method"], out["edge"], out["share"], strict=True):
        e.setdefault(m, {})[k] = v
    assert all(e[m].pop("null predictor") == 0.2 for m in own)
    assert e["two-stage"] == {"smallest η₁": 0.4, "largest η₁": 0.2}
    assert e["good-directions"] == {"λ = 0": 0.2, "largest λ": 0.4}
    assert e["full-gd"] == {"last checkpoint": 0.4, "smallest rate": 0.4, "largest rate": 0.4}
    assert e["rfm"] == {"smallest bandwidth": 0.4, "largest bandwidth": 0.4, "plain Laplace kernel": 0.2,
                        "last iteration": 0.4}
    assert e["ntk"] == {}


def test_sample_sizes_span_d_over_2_to_the_budget():
    ns = atlas.sample_sizes(16, 2.0, 6)
    assert ns[0] == 8 and ns[-1] == 512 and np.all(np.diff(ns) > 0)
    assert list(atlas_chapter.SIZES) == ["toy", "quick", "cpu_large", "paper"]
    for name in atlas_chapter.SIZES:
        S = profiles.sizes(**atlas_chapter.SIZES, profile=name)
        assert len(atlas.sample_sizes(S.d[0], S.budget, S.points)) == S.points


@pytest.mark.slow
@pytest.mark.parametrize("profile", ["cpu_large", "paper"])
def test_paper_profile_shapes(profile):
    """Every (method, d) program at the larger profiles' sizes, traced abstractly (``jax.eval_shape``: no compute,
    no allocation), so a shape bug only a large profile hits fails here."""
    S = profiles.sizes(**atlas_chapter.SIZES, profile=profile)
    key = jax.random.key(0)
    for d in (S.d[0], S.d[-1]):
        ns = tuple(int(v) for v in atlas.sample_sizes(d, S.budget, S.points))
        n_max = ns[-1]
        draw = sweeps.program(atlas.draw, key=key, seeds=S.seeds, vary=dict(target=range(6)),
                              fixed=dict(d=d, n_max=n_max, n_val=S.n_val, n_test=S.n_test,
                                         functions=atlas.gaussian_targets(d)))
        probs = jax.eval_shape(draw.fn, *draw.args)
        assert probs.x.shape == (S.seeds * 6, n_max, d) and probs.y_test.shape == (S.seeds * 6, S.n_test)
        shaped = atlas.Problem(*(jax.ShapeDtypeStruct((S.seeds, 6, *a.shape[1:]), a.dtype) for a in probs))
        for method in atlas.METHODS:
            hp = atlas_chapter.hyperparameters(S, method, n_max)
            out = jax.eval_shape(lambda pr, m=method, hp=hp, ns=ns: atlas.learning_curve_run(
                key, 1, 5, method=m, problems=pr, ns=ns, **hp), shaped)
            assert out["error"].shape == (len(ns),), (profile, d, method)


@pytest.mark.slow
def test_sections_run_at_toy_sizes(tmp_path):
    """The chapter's two sections end to end at toy sizes: the table covers every (method, target), the second
    section reads the first's curves, and censored cells carry no number."""
    S = profiles.sizes(**atlas_chapter.SIZES, profile="toy")
    lc = atlas_chapter.learning_curves(S, jax.random.key(0))
    assert len(lc["table"]["error"]) == 7 * 6 * 2 * 2 * 3
    ex = atlas_chapter.exponents(S, jax.random.key(0), lc["table"])
    t = ex["table"]
    assert len(t["method"]) == 42
    assert np.all(np.isnan(t["exponent"][t["censored"] != ""]))
    assert set(t["verdict"][t["censored"] != ""]) <= {atlas.NOT_MEASURED}
    assert np.all(np.isfinite(t["exponent"][t["censored"] == ""]))
    again = atlas_chapter.exponents(S, jax.random.key(0))  # the same sweeps, from the cache
    np.testing.assert_array_equal(again["table"]["censored"], t["censored"])
    # what `featlearn reproduce` stores, and the chapter's stored-results section draws from it
    results.write("atlas", "cpu_large", {"learning_curves": lc, "exponents": ex}, {"sizes": {"d": S.d}},
                  order=list(atlas_chapter.SECTIONS), root=tmp_path)
    stored = results.load("atlas", root=tmp_path)
    sx = stored["exponents"]
    assert sx["html"] == ex["html"] and list(sx["csv"]) == list(atlas_chapter.CSV_COLUMNS)
    np.testing.assert_array_equal(sx["kernels_beyond"]["never"], ex["kernels_beyond"]["never"])
    np.testing.assert_array_equal(sx["verdicts"], ex["verdicts"])
    np.testing.assert_array_equal(sx["grid"], ex["grid"])
    assert atlas_chapter.table_html(sx["table"]) == ex["html"]
    fig = atlas_chapter.plot_exponents(sx)
    assert len(fig.axes) == 1 and len(fig.axes[0].texts) >= 42  # a label in every (method, target) cell
    plt.close(fig)
    fig = atlas_chapter.plot_curves(stored["learning_curves"]["mean"])
    assert sum(ax.get_visible() for ax in fig.axes) == 6  # one panel per target
    plt.close(fig)


def test_the_prose_helpers_say_contains_only_of_a_measured_interval():
    row = {"censored": "", "ci_low": 1.7, "ci_high": 2.5}
    assert atlas_chapter.contains_text(row, 2) == "contains"
    assert atlas_chapter.contains_text(row, 3) == "does not contain"
    assert atlas_chapter.contains_text({"censored": "> budget", "ci_low": np.nan, "ci_high": np.nan}, 2) == \
        "cannot be compared with"
    glue = atlas_chapter.grid_glue(profiles.sizes(**atlas_chapter.SIZES, profile="cpu_large").__dict__)
    assert glue == {"net-lr-min": 0.03125, "rfm-bandwidth-min": 2.5, "rfm-iterations": 2}


def test_never_crossed_states_each_kernel_cell_in_words():
    kb = {"method": np.array(["ntk", "random-features"]), "target": np.array(["he3", "parity"]),
          "never": np.array([9, 7]), "runs": np.array([9, 9])}
    assert atlas_chapter.never_crossed(kb) == ["NTK ridge on he3: 9/9 runs never crossed",
                                               "random features on parity: 7/9 runs never crossed"]
    assert not atlas_chapter.KERNELS_NEVER_REACH_DEGREE_THREE.evaluate(
        atlas_chapter.never_crossed(kb), never=kb["never"], runs=kb["runs"])
