"""Algorithm 1 of Damian, Lee & Soltanolkotabi (2022): ghost batches, linear-part removal, the key lemma."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from featlearn import models, onestep, targets


def _quadratic_target(key, d):
    """f*(x) = h2(u1.x)/2 + h1(u1.x) h1(u2.x)/sqrt2 + h2(u2.x)/2 (unit variance, exact H, no linear part)."""
    return targets.multi_index(key, d, {(2, 0): 0.5, (1, 1): 1 / math.sqrt(2), (0, 2): 0.5})


def test_ghost_rows_do_not_depend_on_batching(key):
    tgt = _quadratic_target(key, 5)
    x, y = onestep.ghost_rows(key, 0, 100, 5, tgt, 0.3)
    x2, y2 = onestep.ghost_rows(key, 37, 63, 5, tgt, 0.3)
    # Same rows up to float rounding (XLA may fuse the transcendental functions differently per shape).
    np.testing.assert_allclose(np.asarray(x[37:]), np.asarray(x2), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(y[37:]), np.asarray(y2), rtol=1e-5, atol=1e-6)
    z = np.asarray(onestep.counter_normals(key, jnp.arange(40_000), 6))
    se = 1 / math.sqrt(z.size)
    assert abs(z.mean()) < 5 * se and abs(z.var() - 1) < 5 * math.sqrt(2) * se
    assert np.abs(np.corrcoef(z.T)[np.triu_indices(6, 1)]).max() < 5 / math.sqrt(z.shape[0])


def test_ghost_gradient_equals_full_batch_gradient(key):
    d, m, n = 6, 10, 1000
    tgt = _quadratic_target(jax.random.key(1), d)
    params = models.init_params(jax.random.key(2), d, m)
    params = {**params, "a": params["a"].at[0].set(0.7)}  # f != 0: the residual term must be streamed too
    x, y = onestep.ghost_rows(key, 0, n, d, tgt, 0.5)
    yc, lin = onestep.remove_linear_part(x, y)
    full = onestep.first_gradient(params, x, yc, scale=0.3)
    for batch in (37, 4096):  # 37 does not divide n: the last batch is padded and masked
        ghost = onestep.ghost_gradient(key, params, tgt, n, noise_std=0.5, batch=batch, scale=0.3)
        np.testing.assert_allclose(np.asarray(ghost), np.asarray(full), rtol=2e-4, atol=2e-6)
    lin_s = onestep.streamed_linear_part(key, n, tgt, noise_std=0.5, batch=37)
    np.testing.assert_allclose(np.asarray(lin_s.beta), np.asarray(lin.beta), rtol=1e-4, atol=1e-6)
    # A traced n (prefix of the stream, as in the sweeps) gives the same gradient as a static n.
    traced = jax.jit(lambda k: onestep.ghost_gradient(k, params, tgt, jnp.asarray(n), noise_std=0.5,
                                                      batch=256, scale=0.3))(key)
    np.testing.assert_allclose(np.asarray(traced), np.asarray(full), rtol=2e-4, atol=2e-6)


def test_linear_part_removal(key):
    d, n = 8, 4000
    tgt = targets.multi_index(jax.random.key(3), d, {(0, 0): 0.7, (1, 0): 0.8, (0, 1): -0.5, (2, 0): 0.6})
    x, y = onestep.ghost_rows(key, 0, n, d, tgt, 0.1)
    Z = np.concatenate([np.ones((n, 1)), np.asarray(x)], axis=1)
    y_ls, _ = onestep.remove_linear_part(x, y, method="least_squares")
    np.testing.assert_allclose(Z.T @ np.asarray(y_ls) / n, 0.0, atol=1e-4)  # exactly orthogonal to 1 and x
    y_st, lin = onestep.remove_linear_part(x, y, method="stein")
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
    np.testing.assert_allclose(np.asarray(onestep.expected_hessian(tgt)), H_exact, atol=1e-5)
    # f* = (x^T H x - tr H)/2 for a quadratic target: the identity behind population_gradient_quadratic.
    x = targets.gaussian_inputs(key, 50, d)
    quad = 0.5 * (np.einsum("ni,ij,nj->n", x, H_exact, x) - np.trace(H_exact))
    np.testing.assert_allclose(np.asarray(tgt(x)), quad, atol=1e-4)
    # A plain callable goes through Stein's Monte Carlo estimate; agreement within 5 standard errors.
    n = 100_000
    H_mc = np.asarray(onestep.expected_hessian(lambda z: tgt(z), key=key, d=d, n=n))
    xs = np.asarray(targets.gaussian_inputs(key, n, d))
    ys = np.asarray(tgt(jnp.asarray(xs)))
    se = np.sqrt(np.mean((ys[:, None, None] * (xs[:, :, None] * xs[:, None, :])) ** 2, axis=0) / n)
    assert np.all(np.abs(H_mc - H_exact) < 5 * se + 1e-6)


def test_predicted_gradient_matches_empirical_at_large_n(key):
    d, m, n = 8, 8, 2**18
    tgt = _quadratic_target(jax.random.key(5), d)
    params = models.init_params(jax.random.key(6), d, m)
    H = onestep.expected_hessian(tgt)
    G = np.asarray(onestep.ghost_gradient(key, params, tgt, n, batch=8192))
    exact = np.asarray(onestep.population_gradient_quadratic(params, H))
    pred = np.asarray(onestep.predicted_gradient(params, H))
    # Standard error of the empirical gradient from the per-row contributions on a materialised sub-sample.
    x, y = onestep.ghost_rows(key, 0, 2**15, d, tgt)
    g_rows = np.asarray(onestep._relu_grad_rows(params, x, y, 1.0))  # (n', m)
    per_row = (g_rows**2).sum(1) * (np.asarray(x) ** 2).sum(1)  # ||contribution of row i||_F^2
    noise = per_row.mean() / n  # E||G - E G||_F^2
    err = ((G - exact) ** 2).sum()
    assert err < 2.0 * noise, f"||G - population||^2 = {err:.3g} vs noise {noise:.3g}"
    assert (exact**2).sum() > 20 * noise  # the test has power: the signal is well above the noise
    # The key lemma's leading term is the population gradient up to the O(tr H / d) term along w_j.
    cos = float(onestep.gradient_cosine(jnp.asarray(G), jnp.asarray(pred)))
    assert cos > 0.9, cos


def test_single_index_example_beats_random_features(key):
    """f* = He2(w.x)/sqrt2, d = 100, n = 1e4, m = 1000, noise variance 1: Algorithm 1's excess test error is far
    below that of random features on the same features at initialisation."""
    d, m, n = 100, 1000, 10_000
    tgt = targets.single_index(jax.random.key(7), d, {2: 1.0})
    run = jax.jit(lambda k, step: onestep.normalized_test_error(
        jax.random.fold_in(k, 7), onestep.one_step_fit(k, tgt, m, n, noise_std=1.0, step=step, n_val=2000),
        tgt, 20_000), static_argnums=1)
    net = float(run(key, True))
    rf = float(run(key, False))
    assert rf > 0.8, f"random features should stay near the null error, got {rf:.3f}"
    assert net < 0.5 * rf, f"one step should learn the direction: excess error {net:.3f} vs RF {rf:.3f}"


def test_errors_name_the_parameter(key):
    tgt = _quadratic_target(key, 4)
    params = models.init_params(key, 4, 6)
    with pytest.raises(ValueError, match="batch"):
        onestep.ghost_gradient(key, params, tgt, 10, batch=0)
    with pytest.raises(ValueError, match="noise_std"):
        onestep.ghost_gradient(key, params, tgt, 10, noise_std=-1.0)
    with pytest.raises(ValueError, match="method"):
        onestep.remove_linear_part(jnp.ones((5, 4)), jnp.ones(5), method="ols")
    with pytest.raises(ValueError, match="H"):
        onestep.predicted_gradient(params, jnp.eye(3))
    with pytest.raises(ValueError, match="eta"):
        onestep.one_step_features(key, jnp.ones((6, 4)), eta=0.0)
    with pytest.raises(ValueError, match="m must be"):
        onestep.one_step_fit(key, tgt, 1, 10)
    with pytest.raises(ValueError, match="key must be given"):
        onestep.expected_hessian(lambda z: z[:, 0] ** 2, d=4)
    with pytest.raises(ValueError, match="share U"):
        onestep.transfer(key, tgt, targets.single_index(key, 4, {3: 1.0}), 6, 10, 10)
    with pytest.raises(ValueError, match="checkpoints"):
        onestep.gradient_path(key, tgt, 6, ())


def test_doubling_checkpoints_and_excess_alignment():
    assert onestep.doubling_checkpoints(16, 2) == (8, 16, 32, 64, 128, 256, 512)
    assert onestep.doubling_checkpoints(6, 3) == (3, 6, 12, 24, 48, 96, 108)
    with pytest.raises(ValueError, match="top"):
        onestep.doubling_checkpoints(16, 0)
    v = np.array([2 / 16, 1.0, 0.5])
    np.testing.assert_allclose(onestep.excess_alignment(v, 2, 16), [0.0, 1.0, (0.5 - 0.125) / 0.875])
    with pytest.raises(ValueError, match="r must be smaller than d"):
        onestep.excess_alignment(v, 16, 16)
