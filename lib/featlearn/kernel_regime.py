r"""Lazy training: how far a wide network moves, and how close it stays to its linearisation.

Under the NTK scaling :math:`f = m^{-1/2}\sum_j a_j\sigma(w_j\cdot x + b_j)`, gradient descent that fits the data
moves each first-layer weight by :math:`O(m^{-1/2})` relative to its size, and the
trained network stays within :math:`O(m^{-1/2})` of the linearised model trained the same way.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax import Array

from . import _checks, kernels, models, targets, taylor, train

#: The kernel-regime chapter's sizes, for :func:`featlearn.profiles.sizes` (``fl.profiles.sizes(**SIZES)``).
SIZES = dict(
    quick=dict(d_lazy=10, n_lazy=64, widths=[64, 256, 1024, 4096], steps=200, seeds=3,
               ntk_widths=[256, 1024, 4096, 16384, 65536], ntk_points=40, bias_stds=[0.5, 1.0, 2.0],
               stair_d=[8, 16, 32], stair_n_max=2048, n_test=4000),
    paper=dict(d_lazy=20, n_lazy=256, widths=[64, 256, 1024, 4096, 16384, 65536], steps=1000, seeds=8,
               ntk_widths=[256, 1024, 4096, 16384, 65536, 262144], ntk_points=100, bias_stds=[0.5, 1.0, 2.0],
               stair_d=[8, 16, 32, 64], stair_n_max=32768, n_test=50000),
)


def lazy_training_run(key: Array, target: Callable[[Array], Array], d: int, m: int, *, n: int = 100,
                      steps: int = 300, lr: float = 1.0, n_test: int = 1000, bias_std: float = 1.0) -> dict:
    r"""Train a width-``m`` NTK-scaled ReLU net (symmetric init) and its linearisation with the same full-batch
    GD on ``n`` samples, and measure

    * ``move``: :math:`\|W_T-W_0\|_F/\|W_0\|_F`;
    * ``gap``: :math:`\|f_T - f^{\rm lin}_T\|/\|f^{\rm lin}_T\|` on fresh test inputs;
    * ``train_loss`` and ``train_loss_lin``: the final training losses (both should fit the data).

    Returns a dict of scalars; a pure function of ``key``."""
    m = _checks.positive_int("m", m)
    steps = _checks.positive_int("steps", steps)
    kx, kp, kt = jax.random.split(key, 3)
    x, y = targets.sample(kx, target, n, d)
    xt = targets.gaussian_inputs(kt, n_test, d)
    p0 = models.init_params(kp, d, m, symmetric=True, bias_std=bias_std)
    apply_fn = models.make_apply("relu", models.output_scale(m, "ntk"))
    lin = taylor.linearize(apply_fn, p0)
    p, tr = train.fit(p0, apply_fn, x, y, steps=steps, lr=lr, n_evals=1)
    pl, trl = train.fit(p0, lin, x, y, steps=steps, lr=lr, n_evals=1)
    ft, fl = apply_fn(p, xt), lin(pl, xt)
    return {"move": taylor.relative_change(p, p0, "W"),
            "gap": jnp.linalg.norm(ft - fl) / jnp.linalg.norm(fl),
            "train_loss": tr.train_loss[-1], "train_loss_lin": trl.train_loss[-1]}


def ntk_relative_error(key: Array, X: Array, m: int, *, bias_var: float = 1.0) -> Array:
    r""":math:`\|\hat\Theta_m - \Theta\|_F/\|\Theta\|_F` between the empirical NTK of a width-``m`` network at a
    random (symmetric) initialisation and the closed-form NTK, on the inputs ``X`` ``(n, d)``."""
    m = _checks.positive_int("m", m)
    p = models.init_params(key, X.shape[1], m, symmetric=True, bias_std=bias_var ** 0.5)
    F = kernels.relu_ntk_features(p, X, scale=models.output_scale(m, "ntk"))
    ana = kernels.ntk_relu(X, X, bias_var=bias_var)
    return jnp.linalg.norm(F @ F.T - ana) / jnp.linalg.norm(ana)
