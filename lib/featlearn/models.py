r"""The two-layer network :math:`f(x) = s_m \sum_{j=1}^m a_j\,\sigma(w_j\cdot x + b_j)`.

One model for every paper; the papers differ in the initialisation and the output scale :math:`s_m`:

* ``scaling="ntk"``: :math:`s_m = 1/\sqrt m` (the kernel regime as :math:`m\to\infty`);
* ``scaling="mean_field"``: :math:`s_m = 1/m`;
* ``scaling="standard"``: :math:`s_m = 1` (with :math:`a_j` of order :math:`1/m` or :math:`1/\sqrt m` set by
  the caller, as in the papers' statements).

Initialisation (:func:`init_params`): rows :math:`w_j\sim N(0, \tfrac{s_w^2}{d}I_d)`, biases
:math:`b_j\sim N(0, s_b^2)` (``bias_std=0`` gives a bias-free net), :math:`a_j=\pm1` (``"sign"``) or
:math:`N(0,1)`. ``symmetric=True`` duplicates the first half with opposite :math:`a`, so :math:`f\equiv0` at init.

The NNX class :class:`TwoLayer` holds the parameters; :func:`functional` returns the pure view
``(apply_fn, params)`` used by every training kernel under ``jit``/``vmap``.

The activations (:data:`ACTIVATIONS`) carry their first two derivatives, for the Taylor terms and closed-form
gradients of the papers. :func:`first_layer_step` is the papers' first gradient step on :math:`W` alone, with
the weight decay :math:`\lambda = 1/\eta` that forgets the initialisation (:func:`first_layer_gradient`
computes :math:`\nabla_W\hat L` of any loss of the parameters).
"""

from __future__ import annotations

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


def init_params(key: Array, d: int, m: int, *, symmetric: bool = True, bias_std: float = 1.0,
                w_std: float = 1.0, second_layer: str = "sign", a_scale: float = 1.0,
                dtype=jnp.float32) -> Params:
    """Initial parameters ``{"W": (m, d), "b": (m,), "a": (m,)}``; a pure function of ``key`` (vmap-able).

    ``symmetric``: neurons ``j`` and ``j + m/2`` share ``w, b`` and have opposite ``a`` (``m`` must be even).
    ``second_layer``: ``"sign"`` (±1), ``"gaussian"`` or ``"zero"``, times ``a_scale``.
    """
    d = _checks.positive_int("d", d)
    m = _checks.positive_int("m", m)
    _checks.real_in("bias_std", bias_std, 0.0)
    _checks.real_in("w_std", w_std, 0.0)
    _checks.one_of("second_layer", second_layer, ("sign", "gaussian", "zero"))
    if symmetric and m % 2:
        raise ValueError(f"m must be even for a symmetric initialisation, got {m}")
    half = m // 2 if symmetric else m
    kw, kb, ka = jax.random.split(key, 3)
    W = w_std * rng.normal(kw, (half, d), dtype) / math.sqrt(d)
    b = bias_std * rng.normal(kb, (half,), dtype)
    if second_layer == "sign":
        a = rng.rademacher(ka, (half,), dtype=dtype)
    elif second_layer == "gaussian":
        a = rng.normal(ka, (half,), dtype)
    else:
        a = jnp.zeros((half,), dtype)
    a = a_scale * a
    if symmetric:
        W, b, a = jnp.concatenate([W, W]), jnp.concatenate([b, b]), jnp.concatenate([a, -a])
    return {"W": W, "b": b, "a": a}


def apply(params: Params, x: Array, *, activation: str = "relu", scale: float = 1.0) -> Array:
    r""":math:`f(x) = s\,\sigma(xW^\top + b)\,a`; ``x``: ``(n, d)`` → ``(n,)``."""
    sigma = activation_fn(activation)
    return scale * (sigma(x @ params["W"].T + params["b"]) @ params["a"])


def features(params: Params, x: Array, *, activation: str = "relu") -> Array:
    r"""Hidden features :math:`\sigma(xW^\top + b)`, shape ``(n, m)``."""
    return activation_fn(activation)(x @ params["W"].T + params["b"])


def make_apply(activation: str = "relu", scale: float = 1.0) -> Callable[[Params, Array], Array]:
    """``apply`` with the static settings bound: ``apply_fn(params, x) -> (n,)``."""
    activation_fn(activation)

    def apply_fn(params: Params, x: Array) -> Array:
        return apply(params, x, activation=activation, scale=scale)

    return apply_fn


class TwoLayer(nnx.Module):
    """Flax NNX two-layer network; see the module docstring for the parameterisation.

    >>> net = TwoLayer(d=10, m=64, rngs=nnx.Rngs(0))
    >>> apply_fn, params = functional(net)
    """

    def __init__(self, d: int, m: int, *, rngs: nnx.Rngs, activation: str = "relu", scaling: str = "ntk",
                 symmetric: bool = True, bias_std: float = 1.0, w_std: float = 1.0,
                 second_layer: str = "sign", a_scale: float = 1.0, dtype=jnp.float32):
        activation_fn(activation)
        self.activation = activation
        self.scaling = scaling
        self.scale = output_scale(m, scaling)
        p = init_params(rngs.params(), d, m, symmetric=symmetric, bias_std=bias_std, w_std=w_std,
                        second_layer=second_layer, a_scale=a_scale, dtype=dtype)
        self.W = nnx.Param(p["W"])
        self.b = nnx.Param(p["b"])
        self.a = nnx.Param(p["a"])

    @classmethod
    def from_params(cls, params: Params, *, activation: str = "relu", scaling: str = "ntk") -> TwoLayer:
        """Build a model holding the given parameters."""
        m, d = params["W"].shape
        net = cls(d, m, rngs=nnx.Rngs(0), activation=activation, scaling=scaling, symmetric=False)
        net.W[...], net.b[...], net.a[...] = params["W"], params["b"], params["a"]
        return net

    def __call__(self, x: Array) -> Array:
        return apply(self.params(), x, activation=self.activation, scale=self.scale)

    def params(self) -> Params:
        return {"W": self.W[...], "b": self.b[...], "a": self.a[...]}


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


def functional(model: TwoLayer) -> tuple[Callable[[Params, Array], Array], Params]:
    """The pure view of a model: ``(apply_fn, params)`` with ``apply_fn(params, x) == model(x)``.

    Uses ``nnx.split`` so the parameters are a plain pytree that ``jit``/``vmap``/``grad`` can carry."""
    _, state = nnx.split(model, nnx.Param)
    params = dict(nnx.to_pure_dict(state))
    return make_apply(model.activation, model.scale), params
