r"""Kernel baselines end to end: fit a kernel on samples of a target and report the normalised test error.

These are the "n ≍ d^p for kernels" reference curves every paper chapter compares against. Each function is a
pure function of its ``key`` (vmap it over seeds with :func:`featlearn.sweeps.sweep`); sample sizes are static.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
from jax import Array

from . import _checks, kernels, metrics, targets, train


def kernel_ridge_error(key: Array, target: Callable[[Array], Array], d: int, n: int, *, kernel: str = "ntk",
                       bias_var: float = 1.0, train_bias: bool = True, noise_std: float = 0.0,
                       n_test: int = 4000, lambdas: Array | None = None) -> Array:
    r"""Normalised test MSE of kernel ridge regression on ``n`` samples of ``target`` (Gaussian inputs in
    dimension ``d``), with :math:`\lambda` chosen by exact leave-one-out error.

    ``kernel``: ``"ntk"`` (closed-form NTK of the two-layer ReLU net, all layers trained) or ``"nngp"``.
    ``bias_var`` is the variance the biases are drawn with; ``train_bias=False`` drops their gradient from the
    NTK. A network with no biases at all is ``bias_var=0, train_bias=False``: biases drawn at 0 but trained
    still add :math:`1\cdot\kappa_0`, whose odd Hermite part lets the kernel learn odd degrees.
    Returns a scalar; 1 is the error of predicting the mean."""
    n = _checks.positive_int("n", n)
    n_test = _checks.positive_int("n_test", n_test)
    _checks.one_of("kernel", kernel, ("ntk", "nngp"))
    if kernel == "ntk":
        def kfn(a: Array, b: Array, bias_var: float) -> Array:
            return kernels.ntk_relu(a, b, bias_var=bias_var, train_bias=train_bias)
    else:
        kfn = kernels.nngp_relu
    kx, kt = jax.random.split(key)
    x, y = targets.sample(kx, target, n, d, noise_std=noise_std)
    xt, yt = targets.sample(kt, target, n_test, d)
    fit = train.kernel_ridge_loo(kfn(x, x, bias_var=bias_var), y, lambdas)
    return metrics.normalized_mse(kfn(xt, x, bias_var=bias_var) @ fit.coef, yt)
