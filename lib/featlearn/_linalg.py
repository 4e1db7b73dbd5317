"""Linear algebra that stays safe under ``vmap`` on the CPU.

With jaxlib 0.10.2 on a CPU, a *batched* LAPACK call (an eigendecomposition under ``vmap``) spreads its batch over
XLA's intra-op thread pool and then waits, on a thread of that same pool, for its parts. When as many such calls
run at once as the pool has threads (two, on a 2-core machine), every thread waits and nothing runs: the program
hangs at 0% CPU (seen here in sweeps that ridge-regress at several sample sizes). Unbatched calls inside a loop
do not wait on the pool, so :func:`eigh` runs one matrix at a time when it is vmapped. On a GPU the cost is a
loop over the batch; the decompositions in this library are a small part of any sweep's time.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import Array, lax

__all__ = ["eigh", "eigvalsh"]


@jax.custom_batching.custom_vmap
def _eigh_one(a: Array) -> tuple[Array, Array]:
    w, v = jnp.linalg.eigh(a)
    return w, v


@_eigh_one.def_vmap
def _eigh_one_vmap(axis_size, in_batched, a):
    del axis_size, in_batched
    return lax.map(_eigh_one, a), (True, True)


@jax.custom_jvp
def eigh(a: Array) -> tuple[Array, Array]:
    """``jnp.linalg.eigh`` of a symmetric ``(k, k)`` matrix: eigenvalues ``(k,)`` ascending and eigenvectors
    ``(k, k)`` as columns. Under ``vmap`` it runs one matrix at a time (``lax.map``); it differentiates like
    ``jnp.linalg.eigh`` (distinct eigenvalues assumed)."""
    return _eigh_one(a)


@eigh.defjvp
def _eigh_jvp(primals, tangents):
    # The same rule as jnp.linalg.eigh's (which symmetrises its input), built on the loop-safe decomposition.
    (a,), (da,) = primals, tangents
    w, v = eigh(a)
    da = (da + da.T) / 2
    vdav = v.T @ da @ v
    eye = jnp.eye(a.shape[-1], dtype=a.dtype)
    f = 1.0 / (eye + w[None, :] - w[:, None]) - eye
    return (w, v), (jnp.diagonal(vdav), v @ (f * vdav))


def eigvalsh(a: Array) -> Array:
    """Eigenvalues ``(k,)``, ascending, of a symmetric ``(k, k)`` matrix, vmap-safe like :func:`eigh`."""
    return eigh(a)[0]
