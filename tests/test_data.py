import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from featlearn import data, rng, targets


def test_sparse_parity_labels_and_structure(key):
    x, y, uniform, u = data.sparse_parity(key, 4000, 20, 3)
    np.testing.assert_array_equal(y, jnp.prod(x[:, :3], axis=1))
    s = ~uniform
    assert bool(jnp.all(jnp.abs(jnp.sum(x[s, :3], axis=1)) == 3))
    assert 0.45 < float(uniform.mean()) < 0.55
    np.testing.assert_allclose(jnp.linalg.norm(u), 1, atol=1e-6)


def test_sparse_parity_bad_k(key):
    with pytest.raises(ValueError, match="k must be at most d"):
        data.sparse_parity(key, 10, 4, 5)


def test_xor_mixture_means(key):
    x, y, mus = data.xor_mixture(key, 20000, 10, mu_norm=3.0)
    assert set(np.unique(np.asarray(y))) == {-1.0, 1.0}
    # class +1 lies along mu_1 (either sign), class -1 along mu_2
    assert float(jnp.mean(jnp.abs(x[y > 0, 0]))) > 2.5 > float(jnp.mean(jnp.abs(x[y < 0, 0])))
    assert float(jnp.abs(jnp.mean(x[:, :2]))) < 0.1


def test_first_n_weights_select_and_rescale():
    np.testing.assert_array_equal(data.first_n_weights(3, 8), [1.0] * 3 + [0.0] * 5)
    np.testing.assert_allclose(data.first_n_weights(3, 8, rescale=True), [8 / 3] * 3 + [0.0] * 5)
    # rows start .. start + size - 1 of a longer data set (a batch of a stream): rows 10, 11 of the first 12
    np.testing.assert_array_equal(data.first_n_weights(12, 4, start=10), [1.0, 1.0, 0.0, 0.0])
    # a traced n: the same weights, so a grid of sample sizes is one program
    np.testing.assert_array_equal(jax.jit(lambda n: data.first_n_weights(n, 8))(3), data.first_n_weights(3, 8))
    # the plain mean of w * l over all rows is the mean over the first n rows (rescale), as is the weighted mean
    loss = np.arange(8.0) ** 2
    assert float(jnp.mean(data.first_n_weights(3, 8, rescale=True) * loss)) == pytest.approx(loss[:3].mean())
    w = data.first_n_weights(5, 8)
    assert float(jnp.sum(w * loss) / jnp.sum(w)) == pytest.approx(loss[:5].mean())
    with pytest.raises(ValueError, match="n must lie in"):
        data.first_n_weights(9, 8)
    with pytest.raises(ValueError, match="n must lie in"):
        data.first_n_weights(0, 8)


def test_ghost_rows_do_not_depend_on_batching(key):
    tgt = targets.multi_index(key, 5, {(2, 0): 0.5, (1, 1): 0.7, (0, 2): 0.5})
    x, y = data.ghost_rows(key, 0, 100, 5, tgt, 0.3)
    x2, y2 = data.ghost_rows(key, 37, 63, 5, tgt, 0.3)
    # Same rows up to float rounding (XLA may fuse the transcendental functions differently per shape).
    np.testing.assert_allclose(np.asarray(x[37:]), np.asarray(x2), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(y[37:]), np.asarray(y2), rtol=1e-5, atol=1e-6)
    # the labels are the target plus noise_std times the last column of the same counter-based draw
    z = rng.counter_normals(key, jnp.arange(100), 6)
    np.testing.assert_allclose(np.asarray(y), np.asarray(tgt(z[:, :5]) + 0.3 * z[:, 5]), rtol=1e-5, atol=1e-6)


def test_counter_normals_are_standard_normal_and_independent(key):
    z = np.asarray(rng.counter_normals(key, jnp.arange(40_000), 6))
    se = 1 / math.sqrt(z.size)
    assert abs(z.mean()) < 5 * se and abs(z.var() - 1) < 5 * math.sqrt(2) * se
    assert np.abs(np.corrcoef(z.T)[np.triu_indices(6, 1)]).max() < 5 / math.sqrt(z.shape[0])
    # fourth moment 3 (Gaussian tails, not uniform or clipped): its standard error is sqrt(96 / N)
    assert abs(np.mean(z**4) - 3.0) < 5 * math.sqrt(96 / z.size)
    # another key gives unrelated draws
    z2 = np.asarray(rng.counter_normals(jax.random.key(1), jnp.arange(40_000), 6))
    assert abs(np.corrcoef(z.ravel(), z2.ravel())[0, 1]) < 5 * se


def test_stream_folds_over_the_first_n_rows(key):
    """stream's fold equals the sum over the materialised first n rows, whatever the batch (37 does not divide n:
    the last batch is padded and masked), with a traced n too."""
    d, n = 3, 200
    tgt = targets.multi_index(key, d, {(1, 0, 0): 1.0, (0, 2, 0): 0.5})
    x, y = data.ghost_rows(key, 0, n, d, tgt, 0.2)
    want = np.asarray(y @ x)

    def body(acc, xb, yb, mask):
        return acc + (mask * yb) @ xb

    for batch in (37, 64, 4096):
        got = data.stream(body, jnp.zeros(d), key, n, batch=batch, d=d, target=tgt, noise_std=0.2)
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-4, atol=1e-4)
    traced = jax.jit(lambda m: data.stream(body, jnp.zeros(d), key, m, batch=37, d=d, target=tgt, noise_std=0.2))
    np.testing.assert_allclose(np.asarray(traced(n)), want, rtol=1e-4, atol=1e-4)
    # fewer rows: a prefix of the same stream
    np.testing.assert_allclose(np.asarray(traced(50)), np.asarray(y[:50] @ x[:50]), rtol=1e-4, atol=1e-4)
