r"""Fitting: the one training loop (:func:`fit`: a loss of the parameters, a λ schedule, an optax optimiser, metrics
on a schedule, all in one ``lax.scan``) and the supervised risk it is usually given (:func:`supervised_loss`).
Ridge regression, the closed-form fit, is :mod:`featlearn.ridge`.

Every function here is pure and traceable: ``jax.vmap`` it over seeds (the ``key`` / initial ``params``) and
over hyperparameters (``lr``, ``lam``, ``rel_lams``) to run a whole sweep as one compiled program.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import Array

from . import _checks, rng

LOSSES = ("mse", "hinge", "logistic")
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam")

Loss = Callable[..., Array]
"""A loss of the parameters: ``loss(params) -> ()``, or ``loss(params, key) -> ()`` for a stochastic one."""


def loss_value(pred: Array, y: Array, loss: str = "mse", weights: Array | None = None) -> Array:
    r"""Mean loss of predictions ``pred`` ``(n,)`` against labels ``y`` ``(n,)``: ``"mse"``
    :math:`\tfrac12(f-y)^2`, ``"hinge"`` :math:`\max(0,1-yf)`, ``"logistic"`` :math:`\log(1+e^{-yf})`.

    With per-sample ``weights`` :math:`\omega\ge0` ``(n,)`` it is the weighted mean
    :math:`\sum_i\omega_i\ell_i/\sum_i\omega_i`, so integer weights equal duplicating rows and a 0/1 mask keeps
    a subset (a zero total weight gives 0)."""
    _checks.one_of("loss", loss, LOSSES)
    if loss == "mse":
        per, half = (pred - y) ** 2, 0.5
    elif loss == "hinge":
        per, half = jax.nn.relu(1.0 - y * pred), 1.0
    else:
        per, half = jax.nn.softplus(-y * pred), 1.0
    if weights is None:
        return half * jnp.mean(per)
    w = jnp.asarray(weights, per.dtype)
    return half * jnp.sum(w * per) / jnp.maximum(jnp.sum(w), jnp.finfo(per.dtype).tiny)


def _min_below_zero(value: Any) -> bool:
    """Whether a concrete array has a negative entry (a traced one is not checked)."""
    return not _checks.is_tracer(value) and bool(np.any(np.asarray(jax.device_get(value)) < 0))


def supervised_loss(apply_fn: Callable[[Any, Array], Array], x: Array, y: Array, *, loss: str = "mse",
                    weights: Array | None = None, batch_size: int | None = None) -> Loss:
    r"""The empirical risk :math:`\hat L(\theta)=\sum_i\omega_i\,\ell(f_\theta(x_i),y_i)/\sum_i\omega_i` of a
    model ``apply_fn(params, x) -> (n,)`` as a loss of the parameters, for :func:`fit`.

    Shapes: ``x`` ``(n, d)`` (or any ``(n, ...)`` the model reads), ``y`` ``(n,)``, ``weights`` :math:`\omega\ge0`
    ``(n,)`` (default all 1; may be traced, e.g. a mask of the first ``n`` of ``n_max`` samples, so that a grid
    of sample sizes is one compiled program). ``loss`` is a name of :data:`LOSSES` (:func:`loss_value`).

    Returns ``loss_fn(params, key=None)``. With ``batch_size`` set it is stochastic: called with a key it is the
    same weighted mean over ``batch_size`` indices drawn uniformly with replacement from the key (mini-batch SGD:
    pass ``key`` to :func:`fit`); called without one it is the full :math:`\hat L`, which :func:`fit` records."""
    _checks.one_of("loss", loss, LOSSES)
    n = x.shape[0]
    _checks.shape("y", y, (n,))
    if weights is not None:
        _checks.shape("weights", weights, (n,))
        if _min_below_zero(weights):
            raise ValueError(f"weights must be >= 0, got a minimum of {float(np.min(jax.device_get(weights)))}")
    if batch_size is not None:
        batch_size = _checks.positive_int("batch_size", batch_size)

    def loss_fn(params: Any, key: Array | None = None) -> Array:
        if key is None or batch_size is None:
            return loss_value(apply_fn(params, x), y, loss, weights)
        idx = rng.randint(key, (batch_size,), 0, n)
        return loss_value(apply_fn(params, x[idx]), y[idx], loss, None if weights is None else weights[idx])

    loss_fn.stochastic = batch_size is not None  # fit refuses to run it without a key
    return loss_fn


class Trace(NamedTuple):
    r"""Record of :func:`fit`, at the start and after each of the ``n_evals`` blocks (``k = n_evals + 1``):

    ``step`` ``(k,)`` steps done; ``lam`` ``(k,)`` the :math:`\lambda` of the block just ended (entry 0: of the
    first block); ``loss`` ``(k,)`` :math:`L(\theta)` (a stochastic loss called without a key: the full loss);
    ``objective`` ``(k,)`` :math:`L+\lambda R`; ``grad_norm`` ``(k,)`` :math:`\|\nabla_{\theta_{\rm train}}
    (L+\lambda R)\|`; ``metrics``: what the callback returned, each leaf with a leading ``(k,)`` axis (``None``
    without a callback); ``snapshots``: the parameters at the end of each stage of the :math:`\lambda` schedule,
    each leaf with a leading ``(S,)`` axis (``S = 1`` for a constant :math:`\lambda`: the final parameters)."""

    step: Array
    lam: Array
    loss: Array
    objective: Array
    grad_norm: Array
    metrics: Any
    snapshots: Any


def make_optimizer(name: str, lr: Array | float, momentum: Array | float = 0.9) -> optax.GradientTransformation:
    r"""The optax optimiser called ``name`` (:data:`OPTIMIZERS`) with the learning rate :math:`\eta` (and the
    momentum :math:`\mu`) as hyperparameters in its state, so that both may be traced (``vmap`` over them):

    * ``"sgd"``: :math:`\theta\leftarrow\theta-\eta g`;
    * ``"momentum"`` (heavy ball): :math:`m\leftarrow\mu m+g,\ \theta\leftarrow\theta-\eta m`;
    * ``"nesterov"``: :math:`m\leftarrow\mu m+g,\ \theta\leftarrow\theta-\eta(g+\mu m)`, the gradient taken at the
      iterate (optax's form). Its iterates are the look-ahead points :math:`a_t+\mu v_t` of the textbook form
      :math:`v\leftarrow\mu v-\eta\nabla L(a+\mu v),\ a\leftarrow a+v` (same start, :math:`v_0=0`);
    * ``"adam"``: optax's Adam (``momentum`` unused)."""
    _checks.one_of("optimizer", name, OPTIMIZERS)
    _checks.real_in("momentum", momentum, 0.0, 1.0, high_open=True)
    if name == "sgd":
        return optax.inject_hyperparams(optax.sgd)(learning_rate=lr)
    if name in ("momentum", "nesterov"):
        return optax.inject_hyperparams(optax.sgd)(learning_rate=lr, momentum=momentum, nesterov=name == "nesterov")
    return optax.inject_hyperparams(optax.adam)(learning_rate=lr)


def _half_square_norm(tree: Any) -> Array:
    return 0.5 * sum(jnp.sum(v * v) for v in jax.tree_util.tree_leaves(tree))


def fit(params: Any, loss: Loss, *, steps: int, lr: Array | float | None = None,
        optimizer: str | optax.GradientTransformation = "sgd", momentum: Array | float = 0.9,
        lam: Array | float = 0.0, penalty: Callable[[Any], Array] | None = None,
        trainable: Sequence[str] | None = None, n_evals: int = 1, metrics: Callable[[Any], Any] | None = None,
        key: Array | None = None) -> tuple[Any, Trace]:
    r"""Minimise :math:`L(\theta)+\lambda_s R(\theta)` with an optax optimiser, :math:`\lambda_s` following a
    schedule: the one training loop of the library.

    * ``loss``: :math:`L`, a function of the parameters (a network's risk from :func:`supervised_loss`, a
      Taylor model's, a closed-form population loss, ...). With ``key`` given, every step calls
      ``loss(params, k_t)`` with its own key :math:`k_t` (mini-batches, or any stochastic estimate) and the
      records call ``loss(params)``.
    * ``lam``: the :math:`\lambda` schedule, a scalar or ``(S,)`` with ``S`` dividing ``n_evals``: stage
      :math:`s` runs ``steps / S`` steps at :math:`\lambda_s` (``S = n_evals``: one value per evaluation block).
      May be traced. ``penalty``: :math:`R(\theta)` of the full parameters (default
      :math:`\tfrac12\|\theta_{\rm train}\|^2`, weight decay on the trainable parameters).
    * ``optimizer``: a name of :data:`OPTIMIZERS` with learning rate ``lr`` (and ``momentum``; both may be
      traced, :func:`make_optimizer`), or an ``optax.GradientTransformation`` (then ``lr`` must be ``None``).
      The state carries over from stage to stage.
    * ``trainable``: names of the entries of the ``params`` dict that move (default: the whole pytree); the
      others are frozen but still seen by ``loss``, ``penalty`` and ``metrics``.
    * ``metrics(params) -> pytree``: evaluated at the start and after every ``steps / n_evals`` steps, stacked
      into ``Trace.metrics`` (``n_evals`` must divide ``steps``).

    One compiled program: a ``lax.scan`` over the stages of the schedule, of ``lax.scan``\ s over evaluation
    blocks, of ``lax.scan``\ s over steps; no Python loop under ``jit`` and no host synchronisation per step.
    ``vmap`` it over ``params``, ``lr``, ``lam`` or ``key``. Returns the final parameters and a :class:`Trace`."""
    steps = _checks.positive_int("steps", steps)
    n_evals = _checks.positive_int("n_evals", n_evals)
    if steps % n_evals:
        raise ValueError(f"n_evals must divide steps = {steps}, got {n_evals}")
    if isinstance(optimizer, optax.GradientTransformation):
        if lr is not None:
            raise ValueError("lr must be None when optimizer is an optax.GradientTransformation (it carries its own)")
        tx = optimizer
    else:
        _checks.one_of("optimizer", optimizer, OPTIMIZERS)
        if lr is None:
            raise ValueError(f"lr must be given (a real > 0) for the optimizer {optimizer!r}")
        _checks.real_in("lr", lr, 0.0, low_open=True)
        tx = make_optimizer(optimizer, lr, momentum)
    if getattr(loss, "stochastic", False) and key is None:
        raise ValueError("key must be given: the loss is stochastic (it draws mini-batches from a key per step)")

    if trainable is None:
        train_p, frozen = params, None
    else:
        if not isinstance(params, dict):
            raise ValueError(f"params must be a dict when trainable is given, got {type(params).__name__}")
        names = tuple(trainable)
        for nm in names:
            if nm not in params:
                raise ValueError(f"trainable names unknown parameter {nm!r}; parameters are {tuple(params)}")
        train_p = {k: params[k] for k in names}
        frozen = {k: v for k, v in params.items() if k not in names}

    def merge(tp):
        return tp if frozen is None else {**frozen, **tp}

    leaves = jax.tree_util.tree_leaves(train_p)
    dtype = jnp.result_type(*leaves) if leaves else jnp.float32
    lam = jnp.asarray(lam, dtype)
    if lam.ndim > 1 or (lam.ndim == 1 and (lam.shape[0] < 1 or n_evals % lam.shape[0])):
        raise ValueError(f"lam must be a scalar or a 1-d schedule whose length divides n_evals = {n_evals}, "
                         f"got shape {lam.shape}")
    if _min_below_zero(lam):
        raise ValueError(f"lam must be >= 0, got {jax.device_get(lam)}")
    lams = jnp.atleast_1d(lam)
    n_stages = lams.shape[0]
    per_stage, every = n_evals // n_stages, steps // n_evals

    def reg(tp):
        return _half_square_norm(tp) if penalty is None else penalty(merge(tp))

    def objective(tp, lam_s, k=None):
        val = loss(merge(tp)) if k is None else loss(merge(tp), k)
        return val + lam_s * reg(tp)

    grad_fn = jax.grad(objective)

    def record(tp, lam_s):
        full = merge(tp)
        val = loss(full)
        g = grad_fn(tp, lam_s)
        gn = jnp.sqrt(sum(jnp.sum(v * v) for v in jax.tree_util.tree_leaves(g)))
        extra = None if metrics is None else jax.tree_util.tree_map(jnp.asarray, metrics(full))
        return val, val + lam_s * reg(tp), gn, extra

    def stage(carry, xs):
        lam_s, keys = xs

        def one(c, k):
            tp, st = c
            upd, st = tx.update(grad_fn(tp, lam_s, k), st, tp)
            return (optax.apply_updates(tp, upd), st), None

        def block(c, ks):
            c, _ = jax.lax.scan(one, c, ks, length=every)
            return c, record(c[0], lam_s)

        carry, rec = jax.lax.scan(block, carry, keys, length=per_stage)
        return carry, (rec, merge(carry[0]))

    keys = None if key is None else jax.random.split(key, steps).reshape(n_stages, per_stage, every)
    first = record(train_p, lams[0])
    (train_p, _), (rec, snapshots) = jax.lax.scan(stage, (train_p, tx.init(train_p)), (lams, keys))

    def with_first(a0, a):  # (S, per_stage, ...) after the blocks -> (n_evals + 1, ...) with the start first
        a = a.reshape((n_evals,) + a.shape[2:])
        return jnp.concatenate([jnp.asarray(a0, a.dtype)[None], a])

    val, obj, gn, extra = jax.tree_util.tree_map(with_first, first, rec)
    trace = Trace(jnp.arange(n_evals + 1) * every, jnp.concatenate([lams[:1], jnp.repeat(lams, per_stage)]),
                  val, obj, gn, extra, snapshots)
    return merge(train_p), trace
