"""Separations a kernel cannot pass (``../shared/SEPARATIONS.md`` in the book's protocol).

Two kinds of test for every claim that the network does what kernels cannot:

- **kernel substitution**: the chapter's check, handed the kernel's numbers in the network's place (from a small
  run, or the same run with the methods swapped), must fail;
- **positive control**: every baseline a separation leans on reaches the error theory gives it where it should,
  so a baseline that quietly loses capacity or tuning turns a test red.
"""

from __future__ import annotations

import pytest

# --- good directions (paired n* ratio) -------------------------------------------------------------------------


def _synthetic_errors(ns, n0, rng, seeds, spread=0.1):
    """Error curves 1 - log(n / n0_s) / 2 (clipped) that cross 0.3 at n = n0_s e^{1.4}, one n0_s per seed."""
    import numpy as np

    n0s = n0 * np.exp(rng.normal(0.0, spread, (seeds, 1)))
    return np.clip(1.0 - 0.5 * np.log(np.asarray(ns, float)[None] / n0s), 0.02, 1.5)


def test_paired_separation_passes_a_growing_gap_and_fails_when_the_kernel_takes_the_networks_place():
    """A network at n* ∝ d² against a kernel at n* ∝ d³: the ratio grows like d, both paired claims hold. The same
    check handed the kernel's numbers twice (R ≡ 1) or the methods swapped (R < 1, shrinking) fails."""
    import numpy as np

    from featlearn import separations as sp

    rng = np.random.default_rng(0)
    d, ns = [8, 16, 32], np.geomspace(20, 60_000, 16)
    net = [_synthetic_errors(ns, 2.0 * v**2, rng, 6) for v in d]
    ker = [_synthetic_errors(ns, 0.3 * v**3, rng, 6) for v in d]
    good = sp.paired_separation(d, [ns] * 3, net, ker, 0.3)
    assert np.all(good.ratio_kind == sp.EXACT) and good.slope_kind == sp.EXACT
    np.testing.assert_allclose(good.median, 0.15 * np.asarray(d), rtol=0.25)
    assert 0.7 < good.slope < 1.3 and sp.fewer_samples(good) and sp.ratio_grows(good)
    same = sp.paired_separation(d, [ns] * 3, ker, ker, 0.3)
    np.testing.assert_allclose(same.ratio, 1.0)
    assert not sp.fewer_samples(same) and not sp.ratio_grows(same)
    swapped = sp.paired_separation(d, [ns] * 3, ker, net, 0.3)
    assert not sp.fewer_samples(swapped) and not sp.ratio_grows(swapped)


def test_n_star_is_a_bound_where_a_run_never_crosses():
    """n* interpolates in log n at the first crossing; a curve never below the level gives n_max as a lower
    bound, one already below at the smallest n gives n_min as an upper bound; bad grids are named."""
    import numpy as np
    import pytest

    from featlearn import separations as sp

    ns = np.array([100.0, 200.0, 400.0, 800.0])
    errs = np.array([[0.9, 0.5, 0.1, 0.05], [0.9, 0.8, 0.7, 0.6], [0.2, 0.1, 0.1, 0.1]])
    v, k = sp.n_star(ns, errs, 0.3)
    assert v[0] == pytest.approx(200 * 2 ** 0.5) and k.tolist() == [sp.EXACT, sp.LOWER, sp.UPPER]
    assert v[1] == 800 and v[2] == 100
    with pytest.raises(ValueError, match="ns"):
        sp.n_star(ns[::-1], errs, 0.3)
    with pytest.raises(ValueError, match="level"):
        sp.n_star(ns, errs, 0.0)


def test_ratio_and_median_carry_the_direction_of_every_bound():
    """A censored kernel over a measured network bounds R from below, a censored network under a measured kernel
    from above, both censored leaves it unknown; a
    median is exact when its bounded values cannot move it, a bound when they can, unknown when bounds disagree."""
    import numpy as np

    from featlearn import separations as sp

    E, L, U, Q = sp.EXACT, sp.LOWER, sp.UPPER, sp.UNKNOWN
    r, k = sp.ratio((np.array([400.0, 800.0, 300.0]), np.array([E, L, E])),
                    (np.array([100.0, 200.0, 800.0]), np.array([E, E, L])))
    assert r.tolist() == [4.0, 4.0, 0.375] and k.tolist() == [E, L, U]
    _, k = sp.ratio((np.array([800.0]), np.array([L])), (np.array([800.0]), np.array([L])))
    assert k.tolist() == [Q]  # both censored: nothing known
    assert sp.median(np.array([1.0, 2.0, 9.0]), np.array([E, E, L])) == (2.0, E)  # the bound lies above the median
    assert sp.median(np.array([1.0, 2.0, 3.0]), np.array([E, L, L])) == (2.0, L)
    assert sp.median(np.array([1.0, 2.0, 3.0]), np.array([U, E, E]))[1] == E
    assert sp.median(np.array([1.0, 2.0, 3.0]), np.array([E, U, E]))[1] == U
    assert sp.median(np.array([1.0, 2.0, 3.0]), np.array([L, U, E]))[1] == Q
    assert sp.median(np.array([1.0, 2.0, 3.0]), np.array([E, Q, E]))[1] == Q


def test_slope_is_a_lower_bound_only_when_the_kernel_is_censored_at_the_large_dimensions():
    """Raising a value above the mean log d raises a least-squares slope: a censored (lower-bound) ratio at the
    largest d makes the fitted slope a lower bound on the true one; at the smallest d it makes it unknown."""
    import numpy as np

    from featlearn import separations as sp

    rng = np.random.default_rng(1)
    d, ns = [8, 16, 32], np.geomspace(20, 20_000, 14)
    net = [_synthetic_errors(ns, 2.0 * v**2, rng, 5) for v in d]
    ker = [_synthetic_errors(ns, 0.3 * v**3, rng, 5) for v in d]  # at d = 32 the kernel never crosses below 20 000
    sep = sp.paired_separation(d, [ns] * 3, net, ker, 0.3)
    assert sep.median_kind.tolist() == [sp.EXACT, sp.EXACT, sp.LOWER] and sep.slope_kind == sp.LOWER
    assert sp.ratio_grows(sep)
    # censored at the smallest d instead: a grid there that stops just short of the kernel's n*, so R(8) is a lower
    # bound barely below its true value; the fitted slope looks fine but is not a bound on the true one
    grids = [np.geomspace(20, 400, 10), np.geomspace(20, 100_000, 16), np.geomspace(20, 100_000, 16)]
    net2 = [_synthetic_errors(g, (1.0 if v == 8 else 2.0) * v**2, rng, 5) for g, v in zip(grids, d, strict=True)]
    ker2 = [_synthetic_errors(g, 0.3 * v**3, rng, 5) for g, v in zip(grids, d, strict=True)]
    flipped = sp.paired_separation(d, grids, net2, ker2, 0.3)
    assert flipped.median_kind.tolist() == [sp.LOWER, sp.EXACT, sp.EXACT] and flipped.slope_low > 0
    assert flipped.slope_kind == sp.UNKNOWN and not sp.ratio_grows(flipped)


@pytest.mark.slow
def test_good_directions_separation_fails_on_the_ntks_own_numbers():
    """Kernel substitution with real numbers: the NTK's test errors from a small run of section 4's kernel
    (`ntk_ridge_run` at d = 4, 6), handed to the chapter's paired checks in the network's place, fail both."""
    import jax
    import numpy as np

    from featlearn import good_directions as gd
    from featlearn import separations as sp
    from featlearn.chapters import good_directions as gd_chapter

    d, errs, grids = [4, 6], [], []
    for v in d:
        grid = gd.sample_grid(v, (1, 2, 4, 8, 16))
        keys = jax.random.split(jax.random.key(v), 3)
        errs.append(np.stack([gd.ntk_ridge_run(k, grid, d=v, n_max=int(grid[-1]), n_val=200, n_test=500).test_error
                              for k in keys]))
        grids.append(grid)
    sep = sp.paired_separation(d, grids, errs, errs, sp.level(gd_chapter.DENSE_SPARSE_VARIANCES, 2, 0.6))
    assert not sp.fewer_samples(sep) and not sp.ratio_grows(sep)


def test_good_directions_section_pairs_the_validated_network_with_the_ntk(monkeypatch):
    """Section 4's wiring, on synthetic curves: the network's error is read at its validated step (never at the
    step the test set would pick), the NTK's from `ntk_ridge_run` on the same seed keys, and the stored ratio is
    n*_NTK / n*_network per seed; with the kernel's curves in the network's place the ratio would be 1."""
    from types import SimpleNamespace

    import jax
    import numpy as np

    from featlearn import good_directions as gd
    from featlearn import separations as sp
    from featlearn import sweeps
    from featlearn.chapters import good_directions as gd_chapter

    S = SimpleNamespace(plain_d=(8, 16), plain_n_over_d2=(1, 2, 4, 8, 16, 32, 64), plain_m=8, plain_steps=10,
                        plain_seeds=3, plain_n_val=8, n_test=8)
    curve = lambda n, n0: np.clip(1.0 - 0.5 * np.log(np.asarray(n, float) / n0), 0.02, 1.5)  # noqa: E731
    seen = {}

    def fake_sweep(fn, *, key, seeds, vary, fixed):
        assert fn is gd.ordinary_network_run and seeds == S.plain_seeds
        d, grid = fixed["d"], np.asarray(vary["n"])
        seen[d] = key
        good = np.broadcast_to(curve(grid, 2.0 * d * d), (seeds, grid.size))
        test = np.stack([np.full_like(good, 0.01), good, np.full_like(good, 0.9)], -1)  # step 0 would win on test
        val = np.stack([np.full_like(good, 2.0), good, good + 0.05], -1)  # validation picks step 1
        return gd.SampleCurve(test, np.zeros_like(test), val)

    def fake_ntk(key, ns, *, d, **_):
        assert any(np.array_equal(jax.random.key_data(key), jax.random.key_data(k))
                   for k in sweeps.seed_keys(seen[d], S.plain_seeds))  # the network's seed keys, in order
        return gd.KernelCurve(curve(ns, 0.5 * d**3), np.zeros(len(ns)))

    monkeypatch.setattr(sweeps, "sweep", fake_sweep)
    monkeypatch.setattr(gd_chapter, "ntk_ridge_run", fake_ntk)
    out = gd_chapter.sample_complexity(S, jax.random.key(0))
    sep = sp.from_dict(out, "pair_")
    np.testing.assert_allclose(sep.ratio, np.array([[2.0], [4.0]]) * np.ones((1, 3)), rtol=1e-6)  # d / 4
    assert sp.fewer_samples(sep) and sep.slope == np.float64(sep.slope) and abs(sep.slope - 1.0) < 1e-6
    np.testing.assert_allclose(out["curves"]["error_mean"], np.concatenate(
        [curve(gd.sample_grid(v, S.plain_n_over_d2), 2.0 * v * v) for v in S.plain_d]), rtol=1e-6)


@pytest.mark.slow
def test_good_directions_ntk_learns_the_quadratic_from_a_few_n2_and_part_of_the_cubic_from_a_few_n3():
    """Positive control of the baseline section 4 leans on: the NTK by kernel ridge (penalty on validation) learns
    the dense quadratic once n passes N_2(d) (error at n = 4 N_2 within P_2 + v_2/4) and, having degree 3 in its
    spectrum thanks to the biases, part of the cubic from n = 3 N_3 (error below P_2 - 0.05). An NTK that lost its
    tuning (penalties of at least the mean eigenvalue) or its odd degrees (no biases at all) fails (mutants
    `gooddirections_ntk_untuned`, `gooddirections_ntk_without_biases`)."""
    import jax

    from featlearn import good_directions as gd
    from featlearn import hermite, separations
    from featlearn.chapters import good_directions as gd_chapter

    d = 8
    P2, v2 = separations.plateau(gd_chapter.DENSE_SPARSE_VARIANCES, 2), gd_chapter.DENSE_SPARSE_VARIANCES[2]
    n2, n3 = 4 * hermite.monomial_count(d, 2), 3 * hermite.monomial_count(d, 3)

    def err(n, **kw):
        return float(gd.ntk_ridge_run(jax.random.key(5), [n], d=d, n_max=n, n_val=1000, n_test=2000, **kw)
                     .test_error[0])

    assert err(n2) <= P2 + v2 / 4
    assert err(n3) < P2 - 0.05


# --- one step ----------------------------------------------------------------------------------------------------


def _one_step_learned_degree_2(err, target):
    """The error theory gives a baseline that has learned the degree-<= 2 part of the one-step source: at most the
    plateau P_2 (the variance above degree 2) plus a quarter of the degree-2 variance v_2."""
    return float(err) <= target.plateau(2) + target.degree_variances()[2] / 4


def test_one_step_random_features_learn_degree_2_once_features_and_samples_pass_n2():
    """Positive control of the random-features baseline and of the count that makes a finite-width baseline
    capable (one_step_chapter.CAPACITY): at d = 16 (N_2 = 136, N_4 = 3876), N = CAPACITY N_2 distinct features and
    n = 16 N_2 < N_4 samples, λ chosen on validation, learn the degree-2 part of the chapter's source; N = 16 < N_2/8
    features, or a penalty fixed far above the grid's choice, do not."""
    import jax

    from featlearn import hermite, one_step, targets
    from featlearn.chapters import one_step as one_step_chapter

    d = 16
    n2 = hermite.monomial_count(d, 2)
    tgt = targets.multi_index(jax.random.key(1), d, one_step.SOURCE)

    def rf_error(m, rel_lams=None):
        key = jax.random.key(3)
        model = one_step.one_step_fit(key, tgt, m, 16 * n2, n_val=4096, step=False, rel_lams=rel_lams)
        return float(one_step.normalized_test_error(jax.random.fold_in(key, 7), model, tgt, 20_000))

    cap = one_step_chapter.CAPACITY * n2
    good, few, untuned = rf_error(cap), rf_error(16), rf_error(cap, rel_lams=(100.0,))
    assert _one_step_learned_degree_2(good, tgt), f"random features with N = 8 N_2 should learn degree 2: {good:.3f}"
    assert not _one_step_learned_degree_2(few, tgt), f"N = 16 < N_2 features cannot learn degree 2: {few:.3f}"
    assert not _one_step_learned_degree_2(untuned, tgt), f"an untuned (large) penalty learns little: {untuned:.3f}"


@pytest.mark.slow
def test_one_step_kernels_learn_degree_2_once_samples_pass_n2():
    """Positive control of the kernel baselines, each as the chapter runs it (kernel ridge by conjugate gradients):
    the closed-form NTK, the NNGP kernel (random features' infinite-width limit) and the empirical NTK of
    m = CAPACITY N_2 distinct neurons (the count from which the chapter counts it as capable), at d = 16,
    n = 16 N_2 < N_4 samples and λ on validation, each learn the degree-2 part; with the penalty fixed far above the
    grid's choice none does."""
    import jax

    from featlearn import hermite, one_step, targets
    from featlearn.chapters import one_step as one_step_chapter

    d = 16
    n2 = hermite.monomial_count(d, 2)
    tgt = targets.multi_index(jax.random.key(1), d, one_step.SOURCE)
    kw = dict(n_val=4096, n_test=8000, kernel_names=one_step.KERNELS, rank=128)
    m = one_step_chapter.CAPACITY * n2
    tuned = one_step.kernel_baselines_run(jax.random.key(3), tgt, m, (16 * n2,), **kw)
    untuned = one_step.kernel_baselines_run(jax.random.key(3), tgt, m, (16 * n2,), rel_lams=(100.0,), **kw)
    for name in one_step.KERNELS:
        good, bad = float(tuned[name][0]), float(untuned[name][0])
        assert _one_step_learned_degree_2(good, tgt), f"{name} should learn degree 2 from n = 16 N_2: {good:.3f}"
        assert not _one_step_learned_degree_2(bad, tgt), f"{name} with a large fixed penalty learned: {bad:.3f}"


def test_one_step_every_dimension_of_the_curve_has_a_baseline_with_the_capacity_for_degree_2():
    """At the quick and cpu_large sizes, every d of the network's curve has a baseline that can learn the degree-2
    part from n = d²: random features with m >= CAPACITY N_2(d), a kernel of the d <= 32 kind, or the closed-form
    NTK of capable_baselines (at d = 64 and 128 the chapter's random features have m = 256 < N_2(d))."""
    from featlearn import hermite, profiles
    from featlearn.chapters import one_step as one_step_chapter

    for profile in ("quick", "cpu_large"):
        S = profiles.sizes(**one_step_chapter.SIZES, profile=profile)
        cap = one_step_chapter.capable_baselines(S)
        for d in S.curve_d:
            rf_ok = S.m >= one_step_chapter.CAPACITY * hermite.monomial_count(d, 2)
            kernel_ok = d in S.kernel_d and S.kernel_ratios[0] * d * d <= S.kernel_n_max
            assert rf_ok or kernel_ok or (d in cap and d * d in cap[d]), (profile, d, cap)
        assert 64 in cap and (profile == "quick" or 128 in cap)


@pytest.mark.slow
def test_one_step_separation_check_fails_with_a_kernel_in_the_networks_place():
    """Kernel substitution: the chapter's paired check (the chapter module's network_beats_kernels on the network's
    error + 3 SE and its margins over the baselines, paired_margins), handed the closed-form NTK's numbers from a small
    run (d = 10, n = d² and 2d², inside the window n <= N_4(d)/2) in the network's place, fails."""
    import jax
    import numpy as np

    from featlearn import figures, one_step, targets
    from featlearn.chapters import one_step as one_step_chapter

    d, ns = 10, (100, 200)
    tgt = targets.multi_index(jax.random.key(1), d, one_step.SOURCE)
    out = one_step.kernel_baselines_run(jax.random.key(4), tgt, 32, ns, n_val=2048, n_test=8000,
                                    kernel_names=("ntk", "nngp", "entk"), rank=64)
    mean = figures.concat_tables(*(figures.sweep_table({"nmse": np.asarray(out[k]), "se": np.asarray(out[f"{k}_se"])},
                                                       {"n": np.array(ns)}, seed=None, d=d, method=k)
                                   for k in ("ntk", "nngp", "entk")))
    upper = [float(out["ntk"][-1] + 3 * out["ntk_se"][-1])]
    gaps = one_step_chapter.paired_margins(mean, network="ntk")["gap"]
    assert len(gaps) == 2
    assert upper[0] >= tgt.plateau(2), f"the NTK inside its window should stay above the plateau: {upper[0]:.3f}"
    assert not one_step_chapter.network_beats_kernels(upper, gaps, tgt.plateau(2))


def test_one_step_section_pairs_the_network_with_every_baseline(monkeypatch):
    """The section's margins are the network's error minus each baseline's, from the network's own curve, at every d
    (the NTK as the baseline at the d where random features lack the capacity), recomputed from fake sweeps."""
    from types import SimpleNamespace

    import jax
    import numpy as np
    import pytest

    from featlearn import sweeps
    from featlearn.chapters import one_step as one_step_chapter

    S = SimpleNamespace(profile="quick", seeds=2, curve_d=[8, 16], curve_ratios=[0.5, 1, 2], m=16, kernel_d=[8],
                        kernel_ratios=[1, 2], kernel_n_max=300, kernel_n_test=50, entk_d=[8], n_test=50, batch=64)
    values = {"network": 0.2, "rf": 0.9, "ntk": 0.7, "entk": 0.8}

    def fake(fn, *, key, seeds=1, vary=None, fixed=None, cache=None, chunk=None):
        k = len(fixed["ns"])
        names = ("network", "rf") if fn.__name__ == "learning_curve_run" else fixed["kernel_names"]
        out = {q: np.full((seeds, k), values[q] + 0.01 * fixed["target"].d / 8, np.float32) for q in names}
        out |= {f"{q}_se": np.full((seeds, k), 1e-3, np.float32) for q in names}
        if fn.__name__ == "kernel_baselines_run":
            out |= {"cg_residual": np.zeros((seeds, k), np.float32)}
        return out

    monkeypatch.setattr(sweeps, "sweep", fake)
    out = one_step_chapter.network_vs_kernels(S, jax.random.key(0))
    m = out["margins"]
    got = {(int(d), str(k)): float(g) for d, k, g in zip(m["d"], m["method"], m["gap"], strict=True)}
    assert got == pytest.approx({(8, "rf"): -0.7, (8, "entk"): -0.6, (8, "ntk"): -0.5, (16, "rf"): -0.7,
                                 (16, "ntk"): -0.5})
    assert out["capable_dims"].tolist() == [16]
    cap = m["capable"]  # m = 16 neurons: below CAPACITY N_2 at every d, so only the closed-form NTK is capable
    assert {(int(d), str(k)) for d, k in zip(m["d"][cap], m["method"][cap], strict=True)} == {(8, "ntk"), (16, "ntk")}
    assert one_step_chapter.network_beats_kernels(out["network_upper"], m["gap"][cap], out["plateau"])


# --- kernel regime -----------------------------------------------------------------------------------------------


def _fraction_summary(ds, fractions, se, span):
    """A degree_fractions summary for degree 1 (the fraction of degree 2 at n = c N_1(d))."""
    import numpy as np

    k = len(ds)
    return {"degree": np.ones(k, int), "d": np.array(ds), "n": 8 * np.array(ds), "fraction": np.array(fractions),
            "se": np.array(se), "span": np.array(span), "nmse": np.full(k, 0.5)}


def test_kernel_regime_fraction_check_fails_for_a_learner_of_the_next_degree():
    """Kernel substitution for the kernel regime's "nothing learned early": a method that learns the same fraction of
    degree l+1 at every d (it found the direction from n ∝ N_l samples) fails the check, whether that fraction is
    large or small, even where it meets the old bound (error >= P_l - (n/N_(l+1)) v_(l+1) - 0.05, in fractions: at
    most the span n/N_(l+1) plus 0.15); a fraction that shrinks with d passes."""
    from featlearn.chapters import kernel_regime as kr_chapter

    span = [0.89, 0.47, 0.24]
    for flat in (0.5, 0.05):
        ok, _ = kr_chapter.fraction_shrinks(_fraction_summary([8, 16, 32], [flat] * 3, [0.005] * 3, span), 1)
        assert not ok, f"a fraction of {flat} at every d is not a kernel's"
    ok, _ = kr_chapter.fraction_shrinks(_fraction_summary([8, 16, 32], [0.5, 0.2, 0.1], [0.02] * 3, span), 1)
    assert ok
    ok, _ = kr_chapter.fraction_shrinks(_fraction_summary([8, 16, 32], [0.5, 0.1, 0.3], [0.02] * 3, span), 1)
    assert not ok, "a fraction that rises again from one d to the next does not shrink"


@pytest.mark.slow
def test_kernel_regime_kernel_learns_less_of_the_next_degree_as_d_grows():
    """Positive control of the check on the kernel itself: the NTK with biases, penalty by leave-one-out, at
    n = 8 N_1(d) = 8d for d = 4, 16, 64 (six seeds), learns a fraction of the degree-2 term that shrinks with d."""
    import jax
    import numpy as np

    from featlearn import hermite, targets
    from featlearn import kernel_regime as kr
    from featlearn.chapters import kernel_regime as kr_chapter

    ds, seeds = [4, 16, 64], 6
    frac, se, span = [], [], []
    for d in ds:
        tgt = targets.hermite_sum(jax.random.key(1), d, {1: 1 / 3, 2: 1 / 3, 3: 1 / 3})
        f = np.array([float(kr.component_fractions_run(k, tgt, d, 8 * d, n_test=4000)["fraction"][1])
                      for k in jax.random.split(jax.random.key(5), seeds)])
        frac.append(f.mean())
        se.append(f.std(ddof=1) / np.sqrt(seeds))
        span.append(8 * d / hermite.monomial_count(d, 2))
    ok, words = kr_chapter.fraction_shrinks(_fraction_summary(ds, frac, se, span), 1)
    assert ok, words
