r"""The two-layer network :math:`f(x) = s_m \sum_{j=1}^m a_j\,\sigma(w_j\cdot x + b_j)`.

One model for every paper; the papers differ in the initialisation and the output scale :math:`s_m`:

* ``scaling="ntk"``: :math:`s_m = 1/\sqrt m` (the kernel regime as :math:`m\to\infty`);
* ``scaling="mean_field"``: :math:`s_m = 1/m`;
* ``scaling="standard"``: :math:`s_m = 1` (with :math:`a_j` of order :math:`1/m` or :math:`1/\sqrt m` set by
  the caller, as in the papers' statements).

Initialisation (:func:`init_params`): rows :math:`w_j\sim N(0, \tfrac{s_w^2}{d}I_d)`, biases
:math:`b_j\sim N(0, s_b^2)` (``bias_std=0`` gives a bias-free net), :math:`a_j=\pm1` (``"sign"``) or
:math:`N(0,1)`. ``symmetric=True`` duplicates the first half with opposite :math:`a`, so :math:`f\equiv0` at init.

The network is one Flax NNX module, :class:`TwoLayer`: it draws its parameters and computes :math:`f`. Every
chapter trains it through its split view, because ``jit``, ``vmap``, ``grad`` and ``lax.scan`` carry plain pytrees:
:func:`init_params` builds a :class:`TwoLayer` and returns its state as a dict ``{"W", "b", "a"}``
(:func:`state`), and :func:`apply` merges such a dict back into the module and calls it (:func:`merge`; the merge
happens while tracing, so a jitted step compiles to the same program as a hand-written forward pass,
``benchmarks/``).

The activations (:data:`ACTIVATIONS`) carry their first two derivatives, for the Taylor terms and closed-form
gradients of the papers. :func:`first_layer_step` is the papers' first gradient step on :math:`W` alone, with
the weight decay :math:`\lambda = 1/\eta` that forgets the initialisation (:func:`first_layer_gradient`
computes :math:`\nabla_W\hat L` of any loss of the parameters).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
from flax import nnx
from jax import Array

from . import _checks, rng

Params = dict[str, Array]

class Activation(NamedTuple):
    r"""An activation :math:`\sigma` (``fn``) with its derivatives :math:`\sigma'` (``prime``) and
    :math:`\sigma''` (``second``), each elementwise. ``second`` is ``None`` where :math:`\sigma''` is not a
    function: ReLU and :math:`|z|` have a Dirac mass at the kink (its Gaussian expectation is a density, as in
    :func:`featlearn.one_step.predicted_gradient`); ``prime`` is their derivative away from 0."""

    fn: Callable[[Array], Array]
    prime: Callable[[Array], Array]
    second: Callable[[Array], Array] | None


def _step(z: Array) -> Array:
    return (z > 0).astype(z.dtype)


def _tanh_prime(z: Array) -> Array:
    t = jnp.tanh(z)
    return 1.0 - t * t


def _tanh_second(z: Array) -> Array:
    t = jnp.tanh(z)
    return -2.0 * t * (1.0 - t * t)


def _sigmoid_shift(z: Array) -> Array:
    r""":math:`\sigma(z) = \mathrm{sigmoid}(z-1)`: smooth, with non-zero Hermite coefficients at every degree."""
    return jax.nn.sigmoid(z - 1.0)


def _sigmoid_shift_prime(z: Array) -> Array:
    r""":math:`\sigma'(z) = s(1-s)`, :math:`s=\sigma(z)`."""
    s = _sigmoid_shift(z)
    return s * (1.0 - s)


def _sigmoid_shift_second(z: Array) -> Array:
    r""":math:`\sigma''(z) = s(1-s)(1-2s)`, :math:`s=\sigma(z)`."""
    s = _sigmoid_shift(z)
    return s * (1.0 - s) * (1.0 - 2.0 * s)


#: Every activation of the papers, by name: ``relu`` (one step, gradient features, the kernel regime), ``abs``
#: (:math:`|z|`, local convergence), ``sigmoid_shift`` (:math:`\mathrm{sigmoid}(z-1)`, good directions),
#: ``tanh``, ``quadratic`` (:math:`z^2`) and ``linear``.
ACTIVATIONS: dict[str, Activation] = {
    "relu": Activation(jax.nn.relu, _step, None),
    "abs": Activation(jnp.abs, jnp.sign, None),
    "tanh": Activation(jnp.tanh, _tanh_prime, _tanh_second),
    "sigmoid_shift": Activation(_sigmoid_shift, _sigmoid_shift_prime, _sigmoid_shift_second),
    "quadratic": Activation(lambda z: z * z, lambda z: 2.0 * z, lambda z: jnp.full_like(z, 2.0)),
    "linear": Activation(lambda z: z, jnp.ones_like, jnp.zeros_like),
}
SCALINGS = ("ntk", "mean_field", "standard")


def activation(name: str) -> Activation:
    """The activation called ``name`` (one of :data:`ACTIVATIONS`) with its derivatives."""
    _checks.one_of("activation", name, ACTIVATIONS)
    return ACTIVATIONS[name]


def activation_fn(name: str) -> Callable[[Array], Array]:
    r""":math:`\sigma` itself for the activation called ``name`` (one of :data:`ACTIVATIONS`)."""
    return activation(name).fn


def output_scale(m: int, scaling: str) -> float:
    """:math:`s_m` for the scaling name."""
    _checks.one_of("scaling", scaling, SCALINGS)
    return {"ntk": 1.0 / math.sqrt(m), "mean_field": 1.0 / m, "standard": 1.0}[scaling]


class TwoLayer(nnx.Module):
    r"""The two-layer network :math:`f(x) = s\,\sigma(xW^\top + b)\,a` as a Flax NNX module, drawn from ``key``.

    Parameters (``nnx.Param``): ``W`` ``(m, d)``, rows :math:`w_j\sim N(0, \tfrac{s_w^2}{d}I_d)`
    (``w_std``); ``b`` ``(m,)``, :math:`b_j\sim N(0, s_b^2)` (``bias_std``; 0 for a bias-free net); ``a`` ``(m,)``,
    ``a_scale`` times :math:`\pm1` (``second_layer="sign"``) or :math:`N(0,1)` (``"gaussian"``).
    ``symmetric``: neurons ``j`` and ``j + m/2`` share ``w, b`` and have opposite ``a`` (``m`` even), so
    :math:`f\equiv0` at initialisation. ``activation``: a name of :data:`ACTIVATIONS`; ``scale``: :math:`s`
    (:func:`output_scale`). A pure function of ``key``: it may be built under ``jit`` or ``vmap``.

    >>> net = TwoLayer(jax.random.key(0), 10, 64, scale=output_scale(64, "ntk"))
    >>> y = net(jnp.ones((3, 10)))            # (3,)
    >>> params = state(net)                  # the split view jit/vmap/scan carry: init_params, apply
    """

    def __init__(self, key: Array, d: int, m: int, *, activation: str = "relu", scale: float = 1.0,
                 symmetric: bool = True, bias_std: float = 1.0, w_std: float = 1.0, second_layer: str = "sign",
                 a_scale: float = 1.0, dtype=jnp.float32):
        d = _checks.positive_int("d", d)
        m = _checks.positive_int("m", m)
        activation_fn(activation)
        _checks.real_in("bias_std", bias_std, 0.0)
        _checks.real_in("w_std", w_std, 0.0)
        _checks.one_of("second_layer", second_layer, ("sign", "gaussian"))
        if symmetric and m % 2:
            raise ValueError(f"m must be even for a symmetric initialisation, got {m}")
        half = m // 2 if symmetric else m
        kw, kb, ka = jax.random.split(key, 3)
        W = w_std * rng.normal(kw, (half, d), dtype) / math.sqrt(d)
        b = bias_std * rng.normal(kb, (half,), dtype)
        a = a_scale * (rng.rademacher(ka, (half,), dtype=dtype) if second_layer == "sign"
                       else rng.normal(ka, (half,), dtype))
        if symmetric:
            W, b, a = jnp.concatenate([W, W]), jnp.concatenate([b, b]), jnp.concatenate([a, -a])
        self.activation = activation
        self.scale = scale
        self.W, self.b, self.a = nnx.Param(W), nnx.Param(b), nnx.Param(a)

    def features(self, x: Array) -> Array:
        r"""Hidden features :math:`\sigma(xW^\top + b)`: ``x`` ``(n, d)`` → ``(n, m)``."""
        return activation_fn(self.activation)(x @ self.W[...].T + self.b[...])

    def __call__(self, x: Array) -> Array:
        r""":math:`f(x)`: ``x`` ``(n, d)`` → ``(n,)``."""
        return self.scale * (self.features(x) @ self.a[...])


def state(model: TwoLayer) -> Params:
    """The module's parameters as a plain dict ``{"W": (m, d), "b": (m,), "a": (m,)}`` (its ``nnx.split`` state):
    the pytree that ``jit``, ``vmap``, ``grad`` and ``lax.scan`` carry."""
    _, params = nnx.split(model)
    return dict(nnx.to_pure_dict(params))


@functools.cache
def _graph(activation: str) -> nnx.GraphDef:
    """The static structure of a :class:`TwoLayer` with this activation (shapes are the state's)."""
    return nnx.graphdef(nnx.eval_shape(lambda: TwoLayer(jax.random.key(0), 1, 2, activation=activation)))


def merge(params: Params, *, activation: str = "relu", scale: float | Array = 1.0) -> TwoLayer:
    """The :class:`TwoLayer` holding ``params`` (a dict from :func:`init_params` or :func:`state`, possibly traced
    or trained), with this activation and output scale; the inverse of :func:`state`."""
    activation_fn(activation)
    missing = {"W", "b", "a"} - set(params)
    if missing:
        raise ValueError(f"params must hold W, b and a, missing {sorted(missing)}")
    model = nnx.merge(_graph(activation), nnx.State({k: params[k] for k in ("W", "b", "a")}))
    model.scale = scale
    return model


def init_params(key: Array, d: int, m: int, *, symmetric: bool = True, bias_std: float = 1.0,
                w_std: float = 1.0, second_layer: str = "sign", a_scale: float = 1.0,
                dtype=jnp.float32) -> Params:
    """The parameters of a freshly drawn :class:`TwoLayer` (same arguments), as :func:`state` returns them:
    ``{"W": (m, d), "b": (m,), "a": (m,)}``; a pure function of ``key`` (vmap-able)."""
    return state(TwoLayer(key, d, m, symmetric=symmetric, bias_std=bias_std, w_std=w_std,
                          second_layer=second_layer, a_scale=a_scale, dtype=dtype))


def apply(params: Params, x: Array, *, activation: str = "relu", scale: float | Array = 1.0) -> Array:
    r""":class:`TwoLayer`'s :math:`f(x) = s\,\sigma(xW^\top + b)\,a` at ``params``: ``x`` ``(n, d)`` → ``(n,)``."""
    return merge(params, activation=activation, scale=scale)(x)


def features(params: Params, x: Array, *, activation: str = "relu") -> Array:
    r""":class:`TwoLayer`'s hidden features :math:`\sigma(xW^\top + b)` at ``params``, shape ``(n, m)``."""
    return merge(params, activation=activation).features(x)


def make_apply(activation: str = "relu", scale: float = 1.0) -> Callable[[Params, Array], Array]:
    """``apply`` with the static settings bound: ``apply_fn(params, x) -> (n,)``."""
    activation_fn(activation)

    def apply_fn(params: Params, x: Array) -> Array:
        return apply(params, x, activation=activation, scale=scale)

    return apply_fn


def first_layer_gradient(loss_fn: Callable[[Params], Array], params: Params) -> Array:
    r""":math:`\nabla_W\hat L(\theta)`: the gradient of a scalar loss of the parameters (any dict with a ``"W"``
    entry, e.g. :func:`featlearn.train.supervised_loss` of a model) with respect to the first layer alone, by
    automatic differentiation. Shape ``(m, d)``, like ``params["W"]``."""
    return jax.grad(lambda W: loss_fn({**params, "W": W}))(params["W"])


def first_layer_step(params: Params, G: Array, eta: float | Array, *, weight_decay: float | Array | None = None
                     ) -> Params:
    r"""One gradient step on the first layer alone, every other parameter unchanged:

    .. math:: W^1 = W^0 - \eta\,(G + \lambda W^0),\qquad G = \nabla_W\hat L(\theta^0).

    ``weight_decay=None`` is :math:`\lambda = 1/\eta`, for which the initialisation is forgotten exactly:
    :math:`W^1 = -\eta G` (Algorithm 1 of Damian, Lee & Soltanolkotabi; step 1 of Shi, Wei & Liang; the early
    stage of Zhou & Ge). ``G`` ``(m, d)`` is the gradient, from :func:`first_layer_gradient` or a closed form
    (e.g. the streamed one of :func:`featlearn.one_step.ghost_gradient`). ``eta`` and ``weight_decay`` may be
    traced. Returns ``params`` with ``"W"`` replaced."""
    _checks.shape("G", G, params["W"].shape)
    _checks.real_in("eta", eta, 0.0, low_open=True)
    if weight_decay is None:
        return {**params, "W": -eta * G}
    _checks.real_in("weight_decay", weight_decay, 0.0)
    return {**params, "W": (1.0 - eta * weight_decay) * params["W"] - eta * G}
