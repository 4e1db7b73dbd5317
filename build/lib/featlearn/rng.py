"""Random draws that compile fast.

With ``jax_threefry_partitionable`` (JAX's default, which keeps sharded draws identical to single-device ones),
XLA on CPU compiles a multi-dimensional draw such as ``normal(key, (32, 10))`` far more slowly than the same
number of values drawn flat (measured: 2.5 s against 0.5 s under ``vmap``; 4.9 s against 0.7 s for a 3-d shape).
These wrappers draw flat and reshape. Use them instead of ``jax.random.*`` for any array of rank >= 2.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jax import Array


def normal(key: Array, shape: tuple[int, ...], dtype=jnp.float32) -> Array:
    """Standard normal draws of the given shape."""
    return jax.random.normal(key, (math.prod(shape),), dtype).reshape(shape)


def uniform(key: Array, shape: tuple[int, ...], dtype=jnp.float32, minval=0.0, maxval=1.0) -> Array:
    """Uniform draws on ``[minval, maxval)``."""
    return jax.random.uniform(key, (math.prod(shape),), dtype, minval, maxval).reshape(shape)


def rademacher(key: Array, shape: tuple[int, ...], dtype=jnp.float32) -> Array:
    """Independent ±1 signs."""
    return jax.random.rademacher(key, (math.prod(shape),), dtype=dtype).reshape(shape)


def bernoulli(key: Array, p: float | Array, shape: tuple[int, ...]) -> Array:
    """Independent booleans, true with probability ``p``."""
    return jax.random.bernoulli(key, p, (math.prod(shape),)).reshape(shape)


def randint(key: Array, shape: tuple[int, ...], minval: int, maxval: int) -> Array:
    """Integers uniform on ``[minval, maxval)``."""
    return jax.random.randint(key, (math.prod(shape),), minval, maxval).reshape(shape)
