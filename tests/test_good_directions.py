import jax
import jax.numpy as jnp
import numpy as np
import pytest

from featlearn import data, models, profiles, rng, sweeps, taylor, train
from featlearn import good_directions as gd
from featlearn.chapters import good_directions as gd_chapter


@pytest.fixture(scope="module")
def setup():
    kn, kx, kw = jax.random.split(jax.random.key(0), 3)
    net = gd.initial_network(kn, 6, 40)
    x = rng.normal(kx, (30, 6))
    W = rng.normal(kw, (40, 6))
    return net, x, W


def _ntk_jacobian(net, x):
    """The full J (n, m d), J[i, (r, k)] = a_r σ'(w_r · x_i) x_ik, formed explicitly (the oracle at small sizes)."""
    s = gd.SIGMA.prime(x @ net["W0"].T) * net["a"]
    return (s[:, :, None] * x[:, None, :]).reshape(x.shape[0], -1)

def test_symmetric_init_is_zero(setup):
    net, x, _ = setup
    assert float(jnp.max(jnp.abs(gd.network(net, jnp.zeros_like(net["W0"]), x)))) < 1e-6


def test_terms_match_generic_taylor(setup):
    net, x, W = setup
    p0 = {"W": net["W0"], "b": jnp.zeros(40), "a": net["a"]}
    apply_fn = models.make_apply("sigmoid_shift")
    dlt = {"W": W, "b": jnp.zeros(40), "a": jnp.zeros(40)}
    f_lin = jax.jvp(lambda p: apply_fn(p, x), (p0,), (dlt,))[1]  # <∇f(θ0), Δ>, the linear Taylor term
    np.testing.assert_allclose(gd.f_L(net, W, x), f_lin, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(gd.f_Q(net, W, x), taylor.quadratic_term(apply_fn, p0, dlt, x), rtol=1e-4,
                               atol=1e-5)


def test_taylor_remainder_is_cubic(setup):
    net, x, W = setup
    W = W / jnp.linalg.norm(W)
    ts = np.array([0.4, 0.2, 0.1, 0.05])
    rem = []
    for t in ts:
        r = gd.network(net, t * W, x) - gd.f_L(net, t * W, x) - gd.f_Q(net, t * W, x)
        rem.append(float(jnp.linalg.norm(r)))
    slope = np.polyfit(np.log(ts), np.log(rem), 1)[0]
    assert 2.7 < slope < 3.3, slope


def test_gram_and_jacobian(setup):
    net, x, W = setup
    J = _ntk_jacobian(net, x)
    np.testing.assert_allclose(gd.ntk_gram(net, x), J @ J.T, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(J @ W.reshape(-1), gd.f_L(net, W, x), rtol=1e-4, atol=1e-5)
    s = np.linalg.svd(np.asarray(J), compute_uv=False)
    np.testing.assert_allclose(gd.singular_values(net, x), s, rtol=1e-3, atol=1e-4)


def test_r1_and_projection(setup):
    net, x, W = setup
    k = 5
    J = np.asarray(_ntk_jacobian(net, x), np.float64)
    U, s, Vt = np.linalg.svd(J, full_matrices=False)
    J_large = J - (U[:, :k] * s[:k]) @ Vt[:k]
    want = np.sum((J_large @ np.asarray(W).reshape(-1)) ** 2) / x.shape[0]
    np.testing.assert_allclose(gd.regularizer_r1(net, x, k)({"W": W}), want, rtol=1e-3)
    Wp = gd.project_off_top(net, x, W, k)
    np.testing.assert_allclose(Vt[:k] @ np.asarray(Wp).reshape(-1), 0.0, atol=1e-3 * np.linalg.norm(W))


def test_fit_reaches_low_train_loss(setup):
    net, x, _ = setup
    beta = jnp.zeros(6).at[0].set(1.0)
    y = gd.target(x, beta)
    W, tr = gd.fit(net, x, y, model="LQ", lam=0.0, k=3, steps=400, lr=1.0, x_test=x, y_test=y, n_evals=4)
    assert W.shape == (40, 6) and all(a.shape == (5,) for a in tr)
    assert float(tr.train_loss[-1]) < 0.5 * float(tr.train_loss[0])
    # the test set here is the training set; no validation set was given
    np.testing.assert_allclose(tr.test_loss, tr.train_loss, rtol=1e-6)
    assert np.all(np.isnan(np.asarray(tr.val_loss)))


def test_bad_input():
    with pytest.raises(ValueError, match="m"):
        gd.initial_network(jax.random.key(0), 3, 5)
    with pytest.raises(ValueError, match="model"):
        gd.model_fn({}, "X")


# --- the chapter's experiments as library functions ------------------------------------------------------------

SMALL = dict(d=4, m=16, n=12, n_val=15, n_test=20, steps=20, n_evals=4)


@pytest.mark.slow
def test_regularized_run_shapes_determinism_and_r1_at_start():
    key = jax.random.key(3)
    c = gd.regularized_run(key, 0.0, **SMALL)
    assert all(a.shape == (5,) for a in c)
    np.testing.assert_array_equal(c.step, [0, 5, 10, 15, 20])
    # W starts at 0, so f_L = 0 and R1 = 0 there; training moves it off the top block
    assert float(c.r1[0]) == 0.0 and float(c.r1[-1]) > 0.0
    c2 = gd.regularized_run(key, 0.0, **SMALL)
    np.testing.assert_allclose(np.asarray(c.test_loss), np.asarray(c2.test_loss), rtol=1e-5)
    # the QuadNTK model starts from a small random W, so R1 > 0 at the start
    assert float(gd.regularized_run(key, 0.0, model="Q", **SMALL).r1[0]) > 0.0


def test_regularized_run_lambda_shrinks_r1():
    key = jax.random.key(4)
    sizes = dict(SMALL, steps=200, n_evals=2)
    free = gd.regularized_run(key, 0.0, **sizes)
    reg = gd.regularized_run(key, 10.0, **sizes)
    assert float(reg.r1[-1]) < 0.5 * float(free.r1[-1]), (reg.r1, free.r1)


def test_regularized_run_matches_fit():
    # default k is d (the authors' n_k = d); validation and test inputs are separate fresh draws
    key = jax.random.key(5)
    c = gd.regularized_run(key, 0.5, **SMALL)
    kn, kx, kt, kb, _, kv = jax.random.split(key, 6)
    net = gd.initial_network(kn, 4, 16)
    beta = rng.normal(kb, (4, 1))[:, 0]
    beta = beta / jnp.linalg.norm(beta)
    x, xv, xt = rng.normal(kx, (12, 4)), rng.normal(kv, (15, 4)), rng.normal(kt, (20, 4))
    W, tr = gd.fit(net, x, gd.target(x, beta), lam=0.5, k=4, steps=20, x_val=xv,
                        y_val=gd.target(xv, beta), x_test=xt, y_test=gd.target(xt, beta), n_evals=4)
    for got, want in zip(c, tr, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-8)
    # the final losses are those of the returned W on each set
    f = gd.model_fn(net, "LQ")
    for xs, loss in ((x, c.train_loss), (xv, c.val_loss), (xt, c.test_loss)):
        np.testing.assert_allclose(loss[-1], train.loss_value(f({"W": W}, xs), gd.target(xs, beta)),
                                   rtol=1e-4)
    # the validation set is not the test set (nor the training set)
    assert not np.allclose(c.val_loss[1:], c.test_loss[1:], rtol=1e-3)
    assert not np.allclose(c.val_loss[1:], c.train_loss[1:], rtol=1e-3)


def test_validated_lambda():
    val = np.array([[0.30, 0.20, 0.25], [0.28, 0.26, 0.22]])  # mean 0.29, 0.23, 0.235
    assert gd.validated_lambda(val) == 1
    assert gd.validated_lambda(val[1]) == 2
    with pytest.raises(ValueError, match="val_loss"):
        gd.validated_lambda(np.full((2, 3), np.nan))
    with pytest.raises(ValueError, match="val_loss"):
        gd.validated_lambda(np.zeros((2, 3, 4)))


def test_validated_choice_picks_lambda_and_step_on_the_mean_validation_loss():
    """Section 3's one rule for every model: the (λ, step) of smallest validation loss averaged over seeds; a seed
    alone would choose otherwise, and the test loss plays no part."""
    val = np.array([[[0.5, 0.3, 0.4], [0.5, 0.2, 0.35]],
                    [[0.5, 0.1, 0.4], [0.5, 0.3, 0.30]]])  # means: [0.5, 0.2, 0.4], [0.5, 0.25, 0.325]
    assert gd_chapter.validated_choice(val) == (0, 1)
    assert gd_chapter.validated_choice(val[:1]) == (1, 1)
    with pytest.raises(ValueError, match="val_loss"):
        gd_chapter.validated_choice(val[0])
    with pytest.raises(ValueError, match="val_loss"):
        gd_chapter.validated_choice(np.full((1, 2, 3), np.nan))


def test_good_directions():
    s = gd.spectrum(jax.random.key(0), d=5, m=40, n=30, n_test=50)
    assert s.singular_values.shape == (30,) and s.off_top_ratio.shape == ()
    assert np.all(np.diff(np.asarray(s.singular_values)) <= 1e-5)
    assert 0.0 < float(s.off_top_ratio) < 1.0
    with pytest.raises(ValueError, match="k"):
        gd.spectrum(jax.random.key(0), d=5, m=40, n=4, n_test=5)


def test_outlier_count():
    s = np.array([[10.0, 9.0, 8.0, 1.0, 0.9, 0.8], [5.0, 1.0, 0.9, 0.8, 0.7, 0.6]])
    np.testing.assert_array_equal(gd.outlier_count(s, 4), [3, 1])
    # the search window limits where the gap may fall
    assert int(gd.outlier_count(s[0], 2)) in (1, 2)
    with pytest.raises(ValueError, match="search"):
        gd.outlier_count(s, 0)


def test_dense_sparse_target_moments():
    d, n = 5, 200_000
    f = gd.dense_sparse_target(jax.random.key(1), d)
    np.testing.assert_allclose(f.A, f.A.T)
    np.testing.assert_allclose(2 * float(jnp.sum(f.A * f.A)), 1.0, rtol=1e-5)
    x = rng.normal(jax.random.key(2), (n, d))
    y = np.asarray(f(x), np.float64)
    z = np.asarray(x @ f.beta, np.float64)
    h3 = (z**3 - 3 * z) / np.sqrt(6)
    se = lambda v: 5 * np.std(v) / np.sqrt(n)  # noqa: E731
    assert abs(y.mean()) < se(y)
    assert abs(np.mean(y * y) - 1.0) < se(y * y)
    # the cubic part carries variance 1/2: E[f* h3(beta.x)] = 1/sqrt(2)
    assert abs(np.mean(y * h3) - 1 / np.sqrt(2)) < se(y * h3)


def test_first_n_weights_train_on_the_first_n_samples():
    """Section 4's traced sample size: the weighted risk with data.first_n_weights(n, n_max) trains exactly as the
    plain risk of the first n samples."""
    w = data.first_n_weights(3, 8, rescale=True)
    np.testing.assert_allclose(w, [8 / 3] * 3 + [0.0] * 5)
    with pytest.raises(ValueError, match="n"):
        data.first_n_weights(9, 8, rescale=True)
    kx, kp = jax.random.split(jax.random.key(7))
    x = rng.normal(kx, (8, 3))
    y = jnp.sin(x[:, 0])
    p = models.init_params(kp, 3, 10)
    f = models.make_apply("relu", 1 / np.sqrt(10))
    pw, trw = train.fit(p, train.supervised_loss(f, x, y, weights=w), steps=30, lr=0.5, n_evals=3)
    pp, trp = train.fit(p, train.supervised_loss(f, x[:3], y[:3]), steps=30, lr=0.5, n_evals=3)
    for k in pp:
        np.testing.assert_allclose(pw[k], pp[k], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(trw.loss, trp.loss, rtol=1e-4, atol=1e-7)
    assert float(jnp.abs(pp["W"] - p["W"]).max()) > 1e-2  # training moved: the comparison has power


def test_ordinary_network_run():
    kw = dict(d=4, n_max=32, m=16, steps=20, lr=1.0, n_test=200, n_val=100, n_evals=2)
    out = gd.ordinary_network_run(jax.random.key(0), 16, **kw)
    assert out.test_error.shape == out.val_error.shape == out.train_loss.shape == (3,)
    assert abs(float(out.val_error[0]) - 1.0) < 0.2  # the zero predictor on the validation rows
    # f = 0 at the symmetric initialisation: normalised error = E[y^2]/Var(y), about 1
    assert abs(float(out.test_error[0]) - 1.0) < 0.1
    # n as a traced value (a sweep axis) gives the same numbers as a static one
    traced = jax.jit(lambda n: gd.ordinary_network_run(jax.random.key(0), n, **kw))(16)
    np.testing.assert_allclose(traced.test_error, out.test_error, rtol=1e-4)
    with pytest.raises(ValueError, match="n_max"):
        gd.ordinary_network_run(jax.random.key(0), 4, **dict(kw, n_max=0))


def test_experiment_bad_input():
    with pytest.raises(ValueError, match="lam"):
        gd.regularized_run(jax.random.key(0), -1.0, **SMALL)
    with pytest.raises(ValueError, match="model"):
        gd.regularized_run(jax.random.key(0), 0.0, model="X", **SMALL)
    with pytest.raises(ValueError, match="d"):
        gd.regularized_run(jax.random.key(0), 0.0, **dict(SMALL, d=0))
    with pytest.raises(ValueError, match="n_val"):
        gd.regularized_run(jax.random.key(0), 0.0, **dict(SMALL, n_val=0))
    with pytest.raises(ValueError, match="k must be at most n"):
        gd.regularized_run(jax.random.key(0), 0.0, **dict(SMALL, k=13))


def test_sample_grid():
    np.testing.assert_array_equal(gd.sample_grid(10, (1.0, 1.004, 2.0)), [100, 200])
    with pytest.raises(ValueError, match="n_over_d2"):
        gd.sample_grid(10, (0.0, 1.0))


@pytest.mark.parametrize("profile", ["cpu_large", "paper"])
def test_paper_profile_shapes(profile):
    """The chapter's sweeps at the ``paper`` sizes (and the intermediate ``cpu_large`` ones), built as the chapter
    builds them and evaluated abstractly (``jax.eval_shape``: tracing only, no compute), so a shape bug in a large
    profile fails here."""
    S = profiles.sizes(**gd_chapter.SIZES, profile=profile)
    assert S.n == int(S.d**1.5) and (profile != "paper" or (S.n, S.d) == (1000, 100))  # the authors' n = d^1.5
    key = jax.random.key(0)

    def shapes(fn, vary=None, seeds=S.seeds, **fixed):
        prog = sweeps.program(fn, key=key, seeds=seeds, vary=vary, fixed=fixed)
        return jax.eval_shape(prog.fn, *prog.args)

    spec = shapes(gd.spectrum, d=S.d, m=S.m, n=S.n, n_test=S.n_test)
    assert spec.singular_values.shape == (S.seeds, S.n) and spec.off_top_ratio.shape == (S.seeds,)
    sizes = dict(d=S.d, m=S.m, n=S.n, n_val=S.n_val, n_test=S.n_test, steps=S.steps, q_init=S.q_init, k=S.d)
    curves = shapes(gd.regularized_run, vary=dict(lam=S.lams), **sizes)
    assert all(a.shape == (S.seeds * len(S.lams), 51) for a in curves)
    for model in ("L", "Q"):
        assert shapes(gd.regularized_run, **sizes, lam=0.0, model=model).test_loss.shape == (S.seeds, 51)
    for d in S.plain_d:
        grid = gd.sample_grid(d, S.plain_n_over_d2)
        out = shapes(gd.ordinary_network_run, vary=dict(n=grid), seeds=S.plain_seeds, d=d,
                     n_max=int(grid[-1]), m=S.plain_m, steps=S.plain_steps, lr=2.0, n_test=S.n_test,
                     n_val=S.plain_n_val)
        assert out.test_error.shape == out.val_error.shape == (S.plain_seeds * grid.size, 11)


def test_authors_lambda_is_the_sum_convention():
    """Ours: GD at rate 2 on ½MSE + λ R1, R1 a mean over the n training points; the figure's: GD at rate 1 on the
    MSE + λ' Σ R1, the sum over them. The two steps agree when λ = n λ' / 2 (checked on the whole step, loss
    included: without the loss the factor 2 would go unseen), and figure_lambda inverts it."""
    net = gd.initial_network(jax.random.key(0), 4, 20)
    x = rng.normal(jax.random.key(1), (12, 4))
    y = gd.target(x, jnp.eye(4)[0])
    r1, apply_fn = gd.regularizer_r1(net, x, 4), gd.model_fn(net, "LQ")
    W = {"W": 0.1 * rng.normal(jax.random.key(2), (20, 4))}
    lam_theirs = 1e-3

    def ours(p):
        return 0.5 * jnp.mean((apply_fn(p, x) - y) ** 2) + gd.authors_lambda(lam_theirs, 12) * r1(p)

    def theirs(p):
        return jnp.mean((apply_fn(p, x) - y) ** 2) + lam_theirs * 12 * r1(p)  # λ' times the sum n R1

    step_ours = 2.0 * jax.grad(ours)(W)["W"]
    step_theirs = 1.0 * jax.grad(theirs)(W)["W"]
    np.testing.assert_allclose(step_ours, step_theirs, rtol=1e-5, atol=1e-7)
    assert gd.figure_lambda(gd.authors_lambda(0.02, 1000), 1000) == pytest.approx(0.02)
    assert gd.figure_lambda(10.0, 1000) == pytest.approx(0.02)  # the stored d = 100 run's λ, on the figure's scale
    with pytest.raises(ValueError, match="n"):
        gd.authors_lambda(1e-3, 0)


def test_authors_size_output_sorts_lambdas_and_validates_on_validation():
    """The stored d = 100 runs take the shape of section 2's output: λ sorted with its curves, the validated λ the
    validation argmin (not the test one), the gain against λ = 0; and the paper profile is the authors' grid."""
    E = 5

    def curves(val, test):
        return gd.Curves(np.arange(E) * 10, np.linspace(1, 0, E), np.full(E, val), np.full(E, test), np.zeros(E))

    out = gd_chapter.authors_size_output([10.0, 0.0, 1.0], [curves(0.2, 0.3), curves(0.4, 0.45), curves(0.1, 0.35)])
    assert out["lams"].tolist() == [0.0, 1.0, 10.0] and out["test"].shape == (1, 3, E)
    assert out["seeds"].tolist() == [gd_chapter.AUTHORS_SIZE["seed"]]
    assert out["best"] == 1 and out["final_test"].tolist() == [0.45, 0.35, 0.3]  # validation picks 1, not 10
    assert out["gain_seed"][0] == pytest.approx(1 - 0.35 / 0.45)
    with pytest.raises(ValueError, match="0"):
        gd_chapter.authors_size_output([1.0], [curves(0.1, 0.1)])
    S = profiles.sizes(**gd_chapter.SIZES, profile="paper")
    assert S.lams == tuple(gd.authors_lambda(v, S.n) for v in (0.0, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1)) and S.lr == 2.0


def test_authors_size_output_and_summary_over_seeds():
    """Several seeds: runs given in any order land at (seed, λ); λ is validated on the mean over seeds; the
    summary gives the MSE per seed, the ratio of the means and the ratio within each seed; a seed missing a λ, or
    a run given twice, is an error naming it."""
    E = 3

    def curves(val, test, r1=0.0):
        return gd.Curves(np.arange(E) * 10, np.zeros(E), np.full(E, val), np.full(E, test), np.full(E, r1))

    runs = {(101, 10.0): curves(0.1, 0.10), (100, 0.0): curves(0.3, 0.25, 0.4), (100, 10.0): curves(0.2, 0.05),
            (101, 0.0): curves(0.1, 0.20, 0.2)}
    seeds, lams = zip(*runs, strict=True)
    out = gd_chapter.authors_size_output(list(lams), list(runs.values()), list(seeds))
    assert out["seeds"].tolist() == [100, 101] and out["lams"].tolist() == [0.0, 10.0]
    assert out["test"][:, :, -1].tolist() == [[0.25, 0.05], [0.20, 0.10]]
    assert out["best"] == 1  # mean validation 0.15 < 0.2 (seed 101 alone would tie)
    at = gd_chapter.authors_size_summary(out)
    np.testing.assert_allclose(at["mse_seed"], [[0.5, 0.1], [0.4, 0.2]])
    np.testing.assert_allclose(at["mse"], [0.45, 0.15])
    assert at["ratio"] == pytest.approx(0.15 / 0.45)
    np.testing.assert_allclose(at["ratio_seed"], [0.2, 0.5])
    assert at["r1_sum"][0] == pytest.approx(gd_chapter.AUTHORS_SIZE["n"] * 0.3)
    assert at["glue"]["seeds"] == 2 and at["glue"]["ratio-max"] == pytest.approx(0.5)
    assert sorted(set(at["table"]["seed"].tolist())) == [100, 101]
    with pytest.raises(ValueError, match=r"missing \(seed, λ\): \(101, 10\)"):
        gd_chapter.authors_size_output([0.0, 10.0, 0.0], [curves(0, 0)] * 3, [100, 100, 101])
    with pytest.raises(ValueError, match="seed 100 and λ = 0 is given twice"):
        gd_chapter.authors_size_output([0.0, 0.0], [curves(0, 0)] * 2, [100, 100])


@pytest.mark.slow
def test_sections_run_at_toy_sizes_and_can_be_stored():
    """The chapter's experiments (gd_chapter.SECTIONS) end to end at toy sizes: what each returns is what `featlearn
    reproduce` can store, and the pieces agree (the validated λ is the validation argmin, the combination is
    section 2's run at that λ, the sample-complexity table covers every d's grid)."""
    from featlearn import results

    S = profiles.sizes(**gd_chapter.SIZES, profile="toy")
    key = jax.random.key(gd_chapter.SEED)
    assert list(gd_chapter.SECTIONS) == ["spectrum_outliers", "regularisation_strength", "models_compared",
                                 "sample_complexity"]
    reg = gd_chapter.regularisation_strength(S, key, k=4)
    out = {"spectrum_outliers": gd_chapter.spectrum_outliers(S, key), "regularisation_strength": reg,
           "models_compared": gd_chapter.models_compared(S, key, reg),
           "sample_complexity": gd_chapter.sample_complexity(S, key)}
    for name, o in out.items():
        results.encode(name, o)  # raises if an entry is not an array, a scalar, a record or a table
    assert reg["best"] == int(np.argmin(reg["val"][:, :, -1].mean(0))) and reg["sizes"]["k"] == 4
    mc = out["models_compared"]
    li, ei = gd_chapter.validated_choice(reg["val"])  # the combination at section 2's run, at its validated λ and step
    np.testing.assert_array_equal(mc["LQ"], reg["test"][:, li, ei])
    assert mc["lam"]["LQ"] == S.lams[li] and mc["step"]["LQ"] == int(reg["step"][0, 0, ei])
    sc = out["sample_complexity"]
    assert sc["curves"]["n"].tolist() == [*gd.sample_grid(3, S.plain_n_over_d2), *gd.sample_grid(4, S.plain_n_over_d2)]
    assert sc["n_star"].shape == sc["error_smallest_n"].shape == (2, 2)


def test_settling_sizes_count_where_four_n3_passes_the_grid():
    """4 N_3(d) first exceeds 8 d² at d = 9 (4·165 = 660 > 648; at d = 8, 480 < 512), and 4 N_3(64) = 183,040."""

    assert gd_chapter.settling_sizes(8, 64) == {"settle-from-d": 9, "settle-dmax": 64, "settle-n": "1.8×10⁵"}
    with pytest.raises(ValueError, match="n_over_d2_max"):
        gd_chapter.settling_sizes(0, 64)
