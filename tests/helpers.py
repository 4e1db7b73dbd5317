"""Shared test helpers (an ordinary module: ``from helpers import normal``; never import from ``conftest``)."""

import jax.numpy as jnp
import numpy as np


def normal(seed, shape):
    """Gaussian test data drawn with NumPy (no JAX compilation per shape)."""
    return jnp.asarray(np.random.default_rng(seed).standard_normal(shape))


def gauss_hermite(num):
    """Nodes and weights of Gauss–Hermite quadrature for the standard normal (weights sum to 1): an oracle for the
    Hermite tests."""
    x, w = np.polynomial.hermite_e.hermegauss(num)
    return x, w / np.sqrt(2 * np.pi)
