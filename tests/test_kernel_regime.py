"""The kernel-regime chapter's library: lazy training, the NTK at finite width, kernel ridge baselines."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from featlearn import hermite, kernels, profiles, ridge, targets
from featlearn import kernel_regime as kr
from featlearn.chapters import kernel_regime as kr_chapter


@pytest.mark.parametrize("profile", ["cpu_large", "paper"])
def test_paper_profile_shapes(profile):
    """The paper sizes (and the intermediate cpu_large ones) build and every sweep function of the chapter traces
    at them (no compute)."""
    S = profiles.sizes(**kr_chapter.SIZES, profile=profile)
    key = jax.random.key(0)
    tgt = targets.single_index(jax.random.key(1), S.d_lazy, {1: 0.8, 2: 0.6})
    out = jax.eval_shape(lambda k: kr.lazy_training_run(k, tgt, S.d_lazy, S.widths[-1], n=S.n_lazy, steps=S.steps),
                         key)
    assert set(out) == {"move", "gap", "train_loss", "train_loss_lin"}
    X = jnp.zeros((S.ntk_points, S.d_lazy))
    for sb in S.bias_stds:
        e = jax.eval_shape(lambda k, sb=sb: kr.ntk_error_run(k, X, S.ntk_widths[-1], bias_var=sb**2), key)
        assert e.shape == ()
    d = S.stair_d[-1]
    stair = targets.hermite_sum(jax.random.key(1), d, {1: 1 / 3, 2: 1 / 3, 3: 1 / 3})
    e = jax.eval_shape(lambda k: kernels.kernel_ridge_error(k, stair, d, S.stair_n_max, n_test=S.n_test), key)
    assert e.shape == ()


def test_kernel_baseline_learns_a_linear_target_and_not_a_cubic_one():
    """Positive and negative controls of the staircase at d = 8: with n = 256 the NTK learns a degree-1 target
    almost fully, and a pure degree-3 target (N_3 = 120 polynomials, n far below d^3) hardly at all."""
    d, n = 8, 256
    lin = targets.hermite_sum(jax.random.key(1), d, {1: 1.0})
    cub = targets.hermite_sum(jax.random.key(1), d, {3: 1.0})
    e_lin = float(kernels.kernel_ridge_error(jax.random.key(2), lin, d, n, n_test=2000))
    e_cub = float(kernels.kernel_ridge_error(jax.random.key(2), cub, d, n, n_test=2000))
    assert e_lin < 0.05, f"the NTK should learn a linear target from {n} samples; error {e_lin:.3f}"
    assert e_cub > 0.6, f"the NTK should not learn a degree-3 target from {n} samples at d = {d}; error {e_cub:.3f}"


@pytest.mark.parametrize("kw, msg", [(dict(kernel="rbf"), "kernel"), (dict(n=0), "n")])
def test_kernel_ridge_error_bad_input(kw, msg):
    tgt = targets.hermite_sum(jax.random.key(1), 4, {1: 1.0})
    args = dict(d=4, n=16, n_test=16) | kw
    with pytest.raises(ValueError, match=msg):
        kernels.kernel_ridge_error(jax.random.key(0), tgt, **args)


# --- the chapter's experiments (kr_chapter.SECTIONS)


def test_monomial_count_counts_the_monomials():
    import itertools

    for d, k in [(1, 3), (3, 0), (4, 2), (5, 3), (8, 1)]:
        brute = sum(1 for _ in itertools.combinations_with_replacement(range(d), k))
        assert hermite.monomial_count(d, k) == brute
    with pytest.raises(ValueError, match="d must be an integer >= 1"):
        hermite.monomial_count(0, 1)


def test_staircase_margins_by_hand():
    """d = 2 (N_1, N_2, N_3 = 2, 3, 4), plateaus 1, 2/3, 1/3, 0: the worked example of the docstring."""
    v = [0.0, 1 / 3, 1 / 3, 1 / 3]
    mg = kr_chapter.staircase_margins(dict(d=[2] * 4, n=[1, 2, 8, 16], mean=[1.0, 0.7, 0.5, 0.2]), v)
    early, late, mono = mg["early"], mg["late"], mg["monotone"]
    # early: n <= N_1/2 = 1 at l = 0 gives 1.0 - 1 = 0, the smallest over (l=0, n=1), (l=1, n=1), (l=2, n=1 or 2).
    assert early["degree"].tolist() == [0] and early["n"].tolist() == [1]
    assert early["margin"][0] == pytest.approx(0.0) and early["bound"][0] == pytest.approx(1.0)
    # late: n >= 4 N_1 = 8 at l = 1 (0.5 - 5/6, 0.2 - 5/6) and n >= 4 N_2 = 12 at l = 2 (0.2 - 1/2): the largest.
    assert late["degree"].tolist() == [2] and late["n"].tolist() == [16]
    assert late["excess"][0] == pytest.approx(-0.3) and late["error"][0] == pytest.approx(0.2)
    assert mono["max_increase"][0] == pytest.approx(-0.2)


def test_staircase_margins_match_a_brute_force_search():
    import itertools

    rng = np.random.default_rng(1)
    v = np.array([0.0, 0.5, 0.3, 0.2])
    curves = {"d": [], "n": [], "mean": []}
    for d in (3, 5):
        ns = np.unique(np.r_[1, 2, rng.integers(1, 400, 10)])  # some n below N_1/2 and some above 4 N_2
        curves["d"] += [d] * ns.size
        curves["n"] += ns.tolist()
        curves["mean"] += rng.uniform(0, 1, ns.size).tolist()
    mg = kr_chapter.staircase_margins(curves, v)
    # the floor less the fraction n/N_(l+1) of v_(l+1)
    spanned = kr_chapter.staircase_margins(curves, v, sample_span=True)
    for j, d in enumerate((3, 5)):
        sel = np.array(curves["d"]) == d
        ns, mean = np.array(curves["n"])[sel], np.array(curves["mean"])[sel]

        def count(k, d=d):
            return sum(1 for _ in itertools.combinations_with_replacement(range(d), k))

        early = [mean[i] - v[l + 1:].sum() for l in range(3) for i in range(ns.size) if ns[i] <= count(l + 1) / 2]
        span = [mean[i] - v[l + 1:].sum() + ns[i] / count(l + 1) * v[l + 1] for l in range(3) for i in range(ns.size)
                if ns[i] <= count(l + 1) / 2]
        late = [mean[i] - v[l + 1:].sum() - v[l] / 2 for l in (1, 2) for i in range(ns.size) if ns[i] >= 4 * count(l)]
        assert mg["early"]["margin"][j] == pytest.approx(min(early))
        assert spanned["early"]["margin"][j] == pytest.approx(min(span))
        assert mg["late"]["excess"][j] == pytest.approx(max(late))
        assert mg["monotone"]["max_increase"][j] == pytest.approx(max(np.diff(mean)))


def test_staircase_margins_bad_input():
    with pytest.raises(ValueError, match="degree_variances"):
        kr_chapter.staircase_margins(dict(d=[2], n=[1], mean=[1.0]), [1.0])
    with pytest.raises(ValueError, match="late"):
        kr_chapter.staircase_margins(dict(d=[2], n=[1], mean=[1.0]), [0.0, 1.0], late=0.0)


@pytest.mark.slow
def test_sections_run_at_tiny_sizes():
    """Every section runs end to end at toy sizes and returns what the chapter reads, consistently: the figure
    table holds every run, the curves are its means, the control is the bias-free rows."""
    S = profiles.sizes(**kr_chapter.SIZES, profile="toy")
    S.bias_stds, S.stair_d, S.stair_n_max = [1.0], [3], 6  # one bias scale and one d: the shapes below by hand
    key = jax.random.key(0)
    assert list(kr_chapter.SECTIONS) == ["lazy_training", "ntk_closed_form", "staircase", "degree_fractions"]
    lazy = kr_chapter.SECTIONS["lazy_training"](S, key)
    assert lazy["move"].shape == lazy["gap"].shape == (2, 2) and np.isfinite(lazy["move_slope"])
    ntk = kr_chapter.SECTIONS["ntk_closed_form"](S, key)
    assert ntk["relative_error"].shape == (1, 2, 2) and ntk["slope"].shape == (1,)
    assert ntk["error_widest"][0] == pytest.approx(ntk["relative_error"][0, :, -1].mean())
    st = kr_chapter.SECTIONS["staircase"](S, key)
    assert st["curves"]["n"].tolist() == kr_chapter.staircase_sizes(3, 6).tolist() == [2, 3, 4, 5]  # round(3^(k/4))
    t = st["table"]
    bias = t["kernel"] == "ntk-bias"
    assert bias.sum() == 2 * 4 and (~bias).sum() == 2 * 2
    np.testing.assert_allclose(t["nmse"][bias].reshape(2, 4).mean(0), st["curves"]["mean"], rtol=1e-6)
    np.testing.assert_allclose(t["nmse"][~bias].reshape(2, 2).mean(0), st["nobias_mean"], rtol=1e-6)
    assert st["nobias_n"].tolist() == [4, 5] and st["bias_error"] == pytest.approx(st["curves"]["mean"][-1])
    assert st["plateaus"] == pytest.approx([2 / 3 + 1 / 3, 2 / 3, 1 / 3, 0.0], abs=1e-6)
    S.stair_n_max = 60  # n = 8 N_1(3) = 24 and 8 N_2(3) = 48: both degrees
    fr = kr_chapter.SECTIONS["degree_fractions"](S, key)
    sm = fr["summary"]
    assert sm["degree"].tolist() == [1, 2] and sm["n"].tolist() == [24, 48] and sm["d"].tolist() == [3, 3]
    assert sm["span"] == pytest.approx([24 / 6, 48 / 10])  # n / N_(l+1)(3): N_2 = 6, N_3 = 10
    t = fr["table"]
    np.testing.assert_allclose(t["fraction"].reshape(2, 2).mean(1), sm["fraction"], rtol=1e-6)
    np.testing.assert_allclose(t["fraction"].reshape(2, 2).std(1, ddof=1) / np.sqrt(2), sm["se"], rtol=1e-5)


def test_component_fractions_are_the_kernel_ridge_fit_projected_on_each_term():
    """The same draws and fit as kernels.kernel_ridge_error (the same error), and the fraction of each term is the
    test-set projection E[f̂ f_k]/c_k², recomputed directly, with its Monte Carlo standard error over the test rows;
    near 1 for a degree the kernel has far more samples than directions for (degree 1 at d = 4, n = 400)."""
    d, n, n_test = 4, 400, 3000
    tgt = targets.hermite_sum(jax.random.key(1), d, {1: 0.5, 3: 0.5})
    key = jax.random.key(2)
    out = kr.component_fractions_run(key, tgt, d, n, n_test=n_test)
    assert float(out["nmse"]) == pytest.approx(float(kernels.kernel_ridge_error(key, tgt, d, n, n_test=n_test)),
                                               rel=1e-4)
    kx, kt = jax.random.split(key)
    x, y = targets.sample(kx, tgt, n, d)
    xt, _ = targets.sample(kt, tgt, n_test, d)
    u1, u3 = np.asarray(tgt.U, np.float64) @ np.asarray(xt, np.float64).T
    parts = [np.sqrt(0.5) * u1, np.sqrt(0.5) * (u3**3 - 3 * u3) / np.sqrt(6)]  # c_k h_k(u_k . x)
    fit = ridge.kernel_ridge(kernels.ntk_relu(x, x), y)  # λ by leave-one-out, as the library fits it
    pred = np.asarray(kernels.ntk_relu(xt, x) @ fit.coef, np.float64)
    for k, f in enumerate(parts):
        prod = pred * f / 0.5
        assert float(out["fraction"][k]) == pytest.approx(prod.mean(), abs=2e-3)
        assert float(out["fraction_se"][k]) == pytest.approx(prod.std() / np.sqrt(n_test), rel=1e-2)
    assert float(out["fraction"][0]) > 0.9


def test_fraction_shrinks_by_hand():
    """Falls by more than 3 combined SE from the smallest to the largest d, never rises by more than 2; the rows
    may come in any order of d; a single dimension does not pass."""
    sm = {"degree": np.array([2, 1, 1, 1]), "d": np.array([8, 32, 8, 16]), "fraction": np.array([0.9, 0.1, 0.5, 0.25]),
          "se": np.array([0.1, 0.03, 0.04, 0.02])}
    ok, words = kr_chapter.fraction_shrinks(sm, 1)
    assert ok and words.startswith("d = 8: 0.500 ± 0.040, d = 16: 0.250")
    sm["fraction"] = np.array([0.9, 0.35, 0.5, 0.25])  # (0.5 - 0.35)/0.05 = 3: not more than 3
    assert not kr_chapter.fraction_shrinks(sm, 1)[0]
    sm["fraction"] = np.array([0.9, 0.1, 0.5, 0.05])  # 0.05 -> 0.1: a rise of 0.05/0.036 = 1.4 SE, allowed
    assert kr_chapter.fraction_shrinks(sm, 1)[0]
    assert not kr_chapter.fraction_shrinks(sm, 1, rise_z=1.0)[0]
    ok, words = kr_chapter.fraction_shrinks(sm, 2)
    assert not ok and "at least two are needed" in words
