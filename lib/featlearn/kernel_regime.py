r"""Lazy training: how far a wide network moves, and how close it stays to its linearisation.

Under the NTK scaling :math:`f = m^{-1/2}\sum_j a_j\sigma(w_j\cdot x + b_j)`, gradient descent that fits the data
moves each first-layer weight by :math:`O(m^{-1/2})` relative to its size, and the
trained network stays within :math:`O(m^{-1/2})` of the linearised model trained the same way.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax import Array

from . import _checks, kernels, metrics, models, ridge, targets, taylor, train


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
    p, tr = train.fit(p0, train.supervised_loss(apply_fn, x, y), steps=steps, lr=lr)
    pl, trl = train.fit(p0, train.supervised_loss(lin, x, y), steps=steps, lr=lr)
    ft, fl = apply_fn(p, xt), lin(pl, xt)
    return {"move": taylor.relative_change(p, p0, "W"),
            "gap": jnp.linalg.norm(ft - fl) / jnp.linalg.norm(fl),
            "train_loss": tr.loss[-1], "train_loss_lin": trl.loss[-1]}


def ntk_error_run(key: Array, X: Array, m: int, *, bias_var: float = 1.0) -> Array:
    r""":math:`\|\hat\Theta_m - \Theta\|_F/\|\Theta\|_F` between the empirical NTK of a width-``m`` network at a
    random (symmetric) initialisation and the closed-form NTK, on the inputs ``X`` ``(n, d)``."""
    m = _checks.positive_int("m", m)
    p = models.init_params(key, X.shape[1], m, symmetric=True, bias_std=bias_var ** 0.5)
    F = kernels.relu_ntk_features(p, X, scale=models.output_scale(m, "ntk"))
    ana = kernels.ntk_relu(X, X, bias_var=bias_var)
    return jnp.linalg.norm(F @ F.T - ana) / jnp.linalg.norm(ana)


def component_fractions_run(key: Array, target: targets.MultiIndexTarget, d: int, n: int, *, n_test: int = 4000,
                            bias_var: float = 1.0) -> dict[str, Array]:
    r"""Kernel ridge regression with the NTK with biases on ``n`` samples of a target whose terms each carry one
    degree (:func:`featlearn.targets.hermite_sum`: :math:`f^* = \sum_k f_k`, :math:`f_k = c_k h_k(u_k\cdot x)`),
    :math:`\lambda` by exact leave-one-out: the same draws and fit as :func:`featlearn.kernels.kernel_ridge_error`
    with the same ``key``. On its ``n_test`` test inputs it measures, besides the normalised test MSE ``nmse``, the
    **fraction of each term learned**, the coefficient of the predictor along it,

    .. math:: \alpha_k = \frac{\mathbb E[\hat f(x) f_k(x)]}{\mathbb E[f_k(x)^2]}
       = \frac{\frac1{n_t}\sum_i \hat f(x_i) f_k(x_i)}{c_k^2},

    (1 for a predictor that has learned :math:`f_k`, 0 for one orthogonal to it; a ridge shrinks it in between),
    and its Monte Carlo standard error over the test inputs. Returns ``nmse`` (scalar), ``fraction`` and
    ``fraction_se`` ``(K,)``, one per term in the order of ``target.terms``."""
    n = _checks.positive_int("n", n)
    n_test = _checks.positive_int("n_test", n_test, minimum=2)
    kx, kt = jax.random.split(key)
    x, y = targets.sample(kx, target, n, d)
    xt, yt = targets.sample(kt, target, n_test, d)
    fit = ridge.kernel_ridge(kernels.ntk_relu(x, x, bias_var=bias_var), y)  # λ by leave-one-out
    pred = kernels.ntk_relu(xt, x, bias_var=bias_var) @ fit.coef
    parts = jnp.stack([targets.MultiIndexTarget(target.U, (term,))(xt) for term in target.terms])  # (K, n_test)
    c2 = jnp.array([c * c for _, c in target.terms], pred.dtype)[:, None]
    prod = pred[None, :] * parts / c2
    return {"nmse": metrics.normalized_mse(pred, yt), "fraction": prod.mean(1),
            "fraction_se": prod.std(1) / math.sqrt(n_test)}
