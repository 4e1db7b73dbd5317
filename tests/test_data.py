import jax.numpy as jnp
import numpy as np
import pytest

from featlearn import data


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
