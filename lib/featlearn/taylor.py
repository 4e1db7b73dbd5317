r"""The Taylor view of a network around its initialisation :math:`\theta_0`.

For a displacement :math:`\Delta`,

.. math::
   f(x;\theta_0+\Delta) = f(x;\theta_0) + \underbrace{\langle\nabla_\theta f(x;\theta_0),\Delta\rangle}_{f_L}
   + \underbrace{\tfrac12\,\Delta^\top\nabla^2_\theta f(x;\theta_0)\,\Delta}_{f_Q} + O(\|\Delta\|^3).

:func:`linearize` gives the NTK model :math:`f(\theta_0)+f_L` (lazy training trains this), :func:`quadratic_term`
the QuadNTK term :math:`f_Q`. Both use forward-mode products (``jax.jvp``), never the full Jacobian.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
from jax import Array

Apply = Callable[[dict, Array], Array]


def _sub(a: dict, b: dict) -> dict:
    return jax.tree_util.tree_map(lambda u, v: u - v, a, b)


def quadratic_term(apply_fn: Apply, params0: dict, delta: dict, x: Array) -> Array:
    r""":math:`f_Q(x;\Delta) = \tfrac12\Delta^\top\nabla^2_\theta f(x;\theta_0)\Delta`, shape ``(n,)``."""
    def dir_deriv(p):
        return jax.jvp(lambda q: apply_fn(q, x), (p,), (delta,))[1]

    return 0.5 * jax.jvp(dir_deriv, (params0,), (delta,))[1]


def linearize(apply_fn: Apply, params0: dict) -> Apply:
    r"""The linearised (NTK) model :math:`f_{\rm lin}(\theta, x) = f(x;\theta_0) + f_L(x;\theta-\theta_0)`,
    with the same signature as ``apply_fn`` so the same training kernel trains both."""
    def apply_lin(params: dict, x: Array) -> Array:
        f0, df = jax.jvp(lambda p: apply_fn(p, x), (params0,), (_sub(params, params0),))
        return f0 + df

    return apply_lin


def relative_change(params: dict, params0: dict, name: str = "W") -> Array:
    r""":math:`\|\theta_{\rm name}-\theta_{0,\rm name}\|_F/\|\theta_{0,\rm name}\|_F`."""
    import jax.numpy as jnp

    return jnp.linalg.norm(params[name] - params0[name]) / jnp.linalg.norm(params0[name])
