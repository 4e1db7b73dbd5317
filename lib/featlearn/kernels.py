r"""Kernel baselines of the two-layer ReLU network, in closed form and at finite width.

With :math:`w\sim N(0,I_d/d)`, :math:`b\sim N(0,s_b^2)`, the pre-activations of two inputs have covariance
:math:`\Sigma(x,x') = x\cdot x'/d + s_b^2`. With :math:`\theta` the angle of that covariance, the arc-cosine
kernels (Cho & Saul 2009) are

.. math::
   \kappa_0 = \mathbb E[\sigma'(u)\sigma'(u')] = \frac{\pi-\theta}{2\pi},\qquad
   \kappa_1 = \mathbb E[\sigma(u)\sigma(u')] = \frac{\sqrt{\Sigma(x,x)\Sigma(x',x')}}{2\pi}
   \bigl(\sin\theta + (\pi-\theta)\cos\theta\bigr).

The NNGP kernel of :math:`f = m^{-1/2}\sum_j a_j\sigma(w_j\cdot x+b_j)` with :math:`\mathbb E a_j^2 = 1` is
:math:`\kappa_1`, and its NTK (all layers trained) is :math:`\kappa_1 + (x\cdot x' + 1)\,\kappa_0`: the
gradient in :math:`w_j` is :math:`a_j\sigma'(u_j)x/\sqrt m`, whose inner products carry :math:`x\cdot x'` (not
:math:`x\cdot x'/d`) in this standard parameterisation, and the network stores :math:`b_j` itself (drawn with
variance :math:`s_b^2`), so its gradient :math:`a_j\sigma'(u_j)/\sqrt m` enters with weight 1, not :math:`s_b^2`;
:math:`s_b^2` enters only through :math:`\Sigma`. Without trained biases the :math:`1\cdot\kappa_0` part drops;
without a trained second layer, the :math:`\kappa_1` part. The angle is computed as
:math:`\theta=\operatorname{arctan2}(\sqrt{\max(\Sigma_{xx}\Sigma_{x'x'}-\Sigma_{xx'}^2,0)},\Sigma_{xx'})`,
whose gradient stays finite at :math:`\cos\theta=\pm1` (``arccos`` does not).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
from jax import Array

from . import _checks, metrics, ridge, targets
from .models import Params, features, init_params


def _covariances(X: Array, Y: Array, bias_var: float) -> tuple[Array, Array, Array]:
    d = X.shape[1]
    _checks.shape("Y", Y, (None, d))
    sxy = X @ Y.T / d + bias_var
    sxx = jnp.sum(X * X, axis=1) / d + bias_var
    syy = jnp.sum(Y * Y, axis=1) / d + bias_var
    return sxy, sxx, syy


def arccos_kernels(X: Array, Y: Array, *, bias_var: float = 1.0) -> tuple[Array, Array, Array]:
    r"""``(Σ, κ₀, κ₁)``, each ``(n_x, n_y)``, for ``X`` ``(n_x, d)`` and ``Y`` ``(n_y, d)``."""
    _checks.real_in("bias_var", bias_var, 0.0)
    sxy, sxx, syy = _covariances(X, Y, bias_var)
    norms = jnp.sqrt(sxx[:, None] * syy[None, :])
    q = norms**2 - sxy**2
    pos = q > 0
    # sqrt has an infinite derivative at 0 (x = y); the double `where` keeps the gradient finite there.
    sin_part = jnp.where(pos, jnp.sqrt(jnp.where(pos, q, 1.0)), 0.0)
    theta = jnp.arctan2(sin_part, sxy)
    k0 = (jnp.pi - theta) / (2 * jnp.pi)
    k1 = norms * (jnp.sin(theta) + (jnp.pi - theta) * jnp.cos(theta)) / (2 * jnp.pi)
    return sxy, k0, k1


def nngp_relu(X: Array, Y: Array, *, bias_var: float = 1.0) -> Array:
    """NNGP (conjugate) kernel of the two-layer ReLU network: ``(n_x, n_y)``."""
    return arccos_kernels(X, Y, bias_var=bias_var)[2]


def ntk_relu(X: Array, Y: Array, *, bias_var: float = 1.0, train_bias: bool = True,
             train_second: bool = True) -> Array:
    r"""Closed-form NTK of the two-layer ReLU network under NTK scaling: ``(n_x, n_y)``.

    :math:`\Theta = [\text{train\_second}]\,\kappa_1 + (x\cdot x' + [\text{train\_bias}])\,\kappa_0`,
    for ``w ~ N(0, I/d)`` and ``b ~ N(0, bias_var)`` as in :func:`featlearn.models.init_params`. The bias
    gradient is :math:`a\sigma'(u)/\sqrt m` whatever ``bias_var`` is, so trained biases add :math:`1\cdot\kappa_0`;
    ``bias_var`` enters only through the pre-activation covariance :math:`\Sigma`."""
    _, k0, k1 = arccos_kernels(X, Y, bias_var=bias_var)
    lin = X @ Y.T + (1.0 if train_bias else 0.0)
    return (k1 if train_second else 0.0) + lin * k0


def jacobian_features(apply_fn: Callable[[Params, Array], Array], params: Params, X: Array,
                      trainable: Sequence[str] | None = None) -> Array:
    r"""The NTK feature map :math:`\nabla_\theta f(x;\theta)` at ``params``, flattened: ``(n, P)``."""
    names = tuple(params) if trainable is None else tuple(trainable)
    sub = {k: params[k] for k in names}
    rest = {k: v for k, v in params.items() if k not in names}
    jac = jax.jacrev(lambda p: apply_fn({**rest, **p}, X))(sub)
    return jnp.concatenate([j.reshape(X.shape[0], -1) for j in jax.tree_util.tree_leaves(jac)], axis=1)


def empirical_ntk(apply_fn: Callable[[Params, Array], Array], params: Params, X: Array, Y: Array,
                  trainable: Sequence[str] | None = None) -> Array:
    r"""Finite-width NTK :math:`\langle\nabla_\theta f(x),\nabla_\theta f(y)\rangle`: ``(n_x, n_y)``."""
    return jacobian_features(apply_fn, params, X, trainable) @ jacobian_features(apply_fn, params, Y, trainable).T


def relu_ntk_features(params: Params, X: Array, *, scale: float, train_bias: bool = True) -> Array:
    r"""Explicit NTK features of a two-layer ReLU net (cheaper than autodiff for large width):
    ``[s σ(u), s a σ'(u) x, s a σ'(u)]``, shape ``(n, m(d+2))`` (``(n, m(d+1))`` without bias)."""
    u = X @ params["W"].T + params["b"]
    act = scale * jax.nn.relu(u)
    gate = scale * params["a"][None, :] * (u > 0).astype(X.dtype)
    fw = (gate[:, :, None] * X[:, None, :]).reshape(X.shape[0], -1)
    parts = [act, fw] + ([gate] if train_bias else [])
    return jnp.concatenate(parts, axis=1)


def random_features(key: Array, X: Array, m: int, *, bias_std: float = 1.0, activation: str = "relu") -> Array:
    r"""Random-features map :math:`\sigma(Wx+b)/\sqrt m` with the network's initial ``W, b``: ``(n, m)``.
    The same ``key`` gives the same features for train and test inputs."""
    p = init_params(key, X.shape[1], m, symmetric=False, bias_std=bias_std)
    return features(p, X, activation=activation) / jnp.sqrt(m)


def ntk_classifier(x: Array, y: Array, x_test: Array, *, bias_var: float = 1.0,
                   rel_lams: Array | None = None) -> tuple[Array, ridge.RidgeFit]:
    r"""The kernel baseline of a classification task: kernel ridge regression of the labels
    :math:`y\in\{\pm1\}` with the closed-form NTK of the two-layer ReLU network, **biases trained**
    (:func:`ntk_relu`, :math:`\Theta = \kappa_1 + (x\cdot x'+1)\kappa_0` with pre-activation covariance
    :math:`x\cdot x'/d + s_b^2`, ``bias_var`` :math:`=s_b^2`), :math:`\lambda` chosen by exact leave-one-out
    squared error on the training set (:func:`featlearn.ridge.kernel_ridge`; never on test data). The predicted
    class is the sign of the returned prediction. The bias-free NTK would put no weight on odd Hermite degrees
    :math:`\ge3`, which parity needs. Shapes: ``x`` ``(n, d)``, ``y`` ``(n,)``, ``x_test`` ``(n_test, d)`` →
    predictions ``(n_test,)`` and the ridge fit (``coef`` ``(n,)``, the chosen ``lam``)."""
    n, d = x.shape
    _checks.shape("y", y, (n,))
    _checks.shape("x_test", x_test, (None, d))
    _checks.real_in("bias_var", bias_var, 0.0)
    fit = ridge.kernel_ridge(ntk_relu(x, x, bias_var=bias_var), y, rel_lams=rel_lams)
    return ntk_relu(x_test, x, bias_var=bias_var) @ fit.coef, fit


# ------------------------------------------------------------------ kernel ridge regression end to end

def kernel_ridge_error(key: Array, target: Callable[[Array], Array], d: int, n: int, *, kernel: str = "ntk",
                       bias_var: float = 1.0, train_bias: bool = True, noise_std: float = 0.0,
                       n_test: int = 4000, rel_lams: Array | None = None) -> Array:
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
            return ntk_relu(a, b, bias_var=bias_var, train_bias=train_bias)
    else:
        kfn = nngp_relu
    kx, kt = jax.random.split(key)
    x, y = targets.sample(kx, target, n, d, noise_std=noise_std)
    xt, yt = targets.sample(kt, target, n_test, d)
    fit = ridge.kernel_ridge(kfn(x, x, bias_var=bias_var), y, rel_lams=rel_lams)  # λ by leave-one-out
    return metrics.normalized_mse(kfn(xt, x, bias_var=bias_var) @ fit.coef, yt)
