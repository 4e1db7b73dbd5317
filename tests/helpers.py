"""Shared test helpers (an ordinary module: ``from helpers import normal``; never import from ``conftest``)."""

import jax.numpy as jnp
import numpy as np


def normal(seed, shape):
    """Gaussian test data drawn with NumPy (no JAX compilation per shape)."""
    return jnp.asarray(np.random.default_rng(seed).standard_normal(shape))
