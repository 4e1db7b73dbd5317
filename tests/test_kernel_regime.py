"""The kernel-regime chapter's library: lazy training, the NTK at finite width, kernel ridge baselines."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import normal

from featlearn import kernel_regime as kr
from featlearn import kernels, profiles, targets, train


def test_paper_profile_shapes():
    """The paper sizes build and every sweep function of the chapter traces at them (no compute)."""
    S = profiles.sizes(**kr.SIZES, profile="paper")
    key = jax.random.key(0)
    tgt = targets.single_index(jax.random.key(1), S.d_lazy, {1: 0.8, 2: 0.6})
    out = jax.eval_shape(lambda k: kr.lazy_training_run(k, tgt, S.d_lazy, S.widths[-1], n=S.n_lazy, steps=S.steps),
                         key)
    assert set(out) == {"move", "gap", "train_loss", "train_loss_lin"}
    X = jnp.zeros((S.ntk_points, S.d_lazy))
    for sb in S.bias_stds:
        e = jax.eval_shape(lambda k, sb=sb: kr.ntk_relative_error(k, X, S.ntk_widths[-1], bias_var=sb**2), key)
        assert e.shape == ()
    d = S.stair_d[-1]
    stair = targets.hermite_sum(jax.random.key(1), d, {1: 1 / 3, 2: 1 / 3, 3: 1 / 3})
    e = jax.eval_shape(lambda k: kernels.kernel_ridge_error(k, stair, d, S.stair_n_max, n_test=S.n_test), key)
    assert e.shape == ()


def test_kernel_ridge_loo_matches_brute_force_leave_one_out():
    n = 40
    X = normal(0, (n, 3))
    y = jnp.sin(X[:, 0]) + 0.1 * normal(1, (n,))
    K = jnp.exp(-jnp.sum((X[:, None] - X[None]) ** 2, -1) / 4)
    lams = jnp.array([1e-3, 1e-2, 1e-1])
    fit = train.kernel_ridge_loo(K, y, lams)
    s = jnp.linalg.eigvalsh(K / n)
    scale = float(jnp.mean(jnp.clip(s, 0.0)))
    brute = []
    for lam in np.asarray(lams) * scale:
        res = []
        for i in range(n):
            keep = np.arange(n) != i
            Kk = K[np.ix_(keep, keep)]
            # The same penalty per sample as the full fit: (K + n λ I) on the full set.
            alpha = jnp.linalg.solve(Kk + n * lam * jnp.eye(n - 1), y[keep])
            res.append(float(y[i] - K[i, keep] @ alpha))
        brute.append(np.mean(np.square(res)))
    np.testing.assert_allclose(fit.val_mse, brute, rtol=2e-3)
    assert int(fit.best) == int(np.argmin(brute))
    direct = jnp.linalg.solve(K / n + fit.lam * jnp.eye(n), y / n)
    np.testing.assert_allclose(fit.coef, direct, rtol=1e-3, atol=1e-5)


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
