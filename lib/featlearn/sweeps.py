r"""Sweeps: evaluate ``fn(key, **hparams)`` over seeds × a hyperparameter grid as one compiled program.

``sweep(fn, key=key, seeds=8, vary=dict(lr=[.1, .3, 1.]), fixed=dict(d=32))`` builds the Cartesian grid of
``vary`` (traced scalars), calls ``jit(vmap_seeds(vmap_grid(fn)))`` once, and returns the output pytree with
leading axes ``(seeds, *grid_shape)``. ``fixed`` holds static arguments (shapes, names): a new ``fixed`` is a
new compilation. The seed axis is sharded across all local devices (``jax.sharding``), and the result is cached
on disk, keyed by the function's name and source, the arguments, the seeds' key and the library version. A
corrupt or stale entry is recomputed with a :class:`CacheWarning`.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import io
import itertools
import json
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from . import __version__, _checks
from ._paths import cache_dir
from .progress import progress


class CacheWarning(UserWarning):
    """A cache entry could not be trusted and was recomputed."""


def grid(vary: Mapping[str, Sequence[Any]]) -> tuple[dict[str, np.ndarray], tuple[int, ...]]:
    """Cartesian product of ``vary``: flat arrays (one entry per configuration) and the grid's shape."""
    names = list(vary)
    for k in names:
        if len(vary[k]) == 0:
            raise ValueError(f"vary[{k!r}] must hold at least one value")
    shape = tuple(len(vary[k]) for k in names)
    combos = list(itertools.product(*(vary[k] for k in names)))
    flat = {k: np.asarray([c[i] for c in combos]) for i, k in enumerate(names)}
    return flat, shape


def _fn_identity(fn: Callable) -> dict[str, str]:
    base = fn.func if isinstance(fn, functools.partial) else fn
    try:
        src = inspect.getsource(base)
    except (OSError, TypeError):
        src = repr(base)
    return {"name": f"{getattr(base, '__module__', '?')}.{getattr(base, '__qualname__', repr(base))}",
            "source_sha": hashlib.sha256(src.encode()).hexdigest()}


def _jsonable(v: Any) -> Any:
    if isinstance(v, Mapping):
        return {str(k): _jsonable(x) for k, x in sorted(v.items(), key=lambda kv: str(kv[0]))}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.ndarray | jax.Array):
        a = np.asarray(v)
        return {"dtype": str(a.dtype), "shape": list(a.shape), "sha": hashlib.sha256(a.tobytes()).hexdigest()}
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, int | float | str | bool) or v is None:
        return v
    leaves, tdef = jax.tree_util.tree_flatten(v)
    if not (len(leaves) == 1 and leaves[0] is v):  # a pytree such as a target: hash its structure and arrays
        return {"tree": str(tdef), "leaves": [_jsonable(x) for x in leaves]}
    return repr(v)


def cache_key(fn: Callable, key: jax.Array, seeds: int, vary: Mapping, fixed: Mapping) -> tuple[str, dict]:
    """The hash that names a sweep's cache entry, and the record it is computed from."""
    record = {
        "fn": _fn_identity(fn),
        "key": np.asarray(jax.random.key_data(key)).tolist(),
        "seeds": seeds,
        "vary": _jsonable({k: list(np.asarray(v).tolist()) for k, v in vary.items()}),
        "fixed": _jsonable(dict(fixed)),
        "featlearn": __version__,
        "jax": jax.__version__,
        "x64": bool(jax.config.jax_enable_x64),
    }
    blob = json.dumps(record, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:32], record


def _resolve_cache(cache: bool | str | Path | None) -> Path | None:
    if cache is False or os.environ.get("FEATLEARN_CACHE") == "0":
        return None
    if cache is None or cache is True:
        return cache_dir()
    return Path(cache)


def _save(path: Path, leaves: list[np.ndarray], record: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    np.savez(buf, *leaves)
    data = buf.getvalue()
    meta = {**record, "sha256": hashlib.sha256(data).hexdigest()}
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path.with_suffix(".npz"))
    path.with_suffix(".json").write_text(json.dumps(meta, sort_keys=True, indent=1))


def _load(path: Path, expected: list[jax.ShapeDtypeStruct]) -> list[np.ndarray] | None:
    npz, meta_p = path.with_suffix(".npz"), path.with_suffix(".json")
    if not npz.exists() and not meta_p.exists():
        return None
    try:
        meta = json.loads(meta_p.read_text())
        data = npz.read_bytes()
        if hashlib.sha256(data).hexdigest() != meta["sha256"]:
            raise ValueError("checksum mismatch")
        with np.load(io.BytesIO(data)) as z:
            leaves = [z[f"arr_{i}"] for i in range(len(z.files))]
        if len(leaves) != len(expected) or any(
                tuple(a.shape) != tuple(e.shape) or a.dtype != e.dtype for a, e in zip(leaves, expected, strict=True)):
            raise ValueError("shapes or dtypes differ from what the function now returns")
        return leaves
    except Exception as err:  # noqa: BLE001 - any failure means: do not trust, recompute
        warnings.warn(f"featlearn cache entry {npz.name} is unusable ({err}); recomputing", CacheWarning,
                      stacklevel=3)
        return None


def seed_keys(key: jax.Array, seeds: int) -> jax.Array:
    """``seeds`` independent keys from ``key`` (the seed axis of every sweep)."""
    seeds = _checks.positive_int("seeds", seeds)
    return jax.random.split(key, seeds)


def _shard_seeds(keys: jax.Array) -> tuple[jax.Array, int]:
    devices = jax.local_devices()
    nd = len(devices)
    s = keys.shape[0]
    if nd == 1:
        return keys, s
    pad = (-s) % nd
    if pad:
        keys = jnp.concatenate([keys, keys[:pad]])
    mesh = Mesh(np.asarray(devices), ("seed",))
    return jax.device_put(keys, NamedSharding(mesh, PartitionSpec("seed"))), s


def sweep(fn: Callable[..., Any], *, key: jax.Array, seeds: int = 1, vary: Mapping[str, Sequence] | None = None,
          fixed: Mapping[str, Any] | None = None, cache: bool | str | Path | None = None) -> Any:
    """Run ``fn(key, **vary_values, **fixed)`` for every seed and every point of the ``vary`` grid.

    Returns the output pytree (NumPy arrays) with leading axes ``(seeds, *grid_shape)``, where ``grid_shape``
    lists the lengths of ``vary``'s values in order. ``cache=None`` uses the default folder
    (``$FEATLEARN_CACHE``, off with ``FEATLEARN_CACHE=0``), ``False`` disables it, a path selects a folder.
    """
    vary = dict(vary or {})
    fixed = dict(fixed or {})
    clash = set(vary) & set(fixed)
    if clash:
        raise ValueError(f"vary and fixed both name {sorted(clash)}")
    flat, gshape = grid(vary) if vary else ({}, ())
    keys = seed_keys(key, seeds)

    def one(k, hp):
        return fn(k, **hp, **fixed)

    def per_seed(k):
        if not vary:
            return one(k, {})
        return jax.vmap(lambda hp: one(k, hp))({n: jnp.asarray(v) for n, v in flat.items()})

    batched = jax.vmap(per_seed)
    out_shape = jax.eval_shape(batched, keys)
    leaves_shape, treedef = jax.tree_util.tree_flatten(out_shape)

    folder = _resolve_cache(cache)
    path = None
    if folder is not None:
        h, record = cache_key(fn, key, seeds, vary, fixed)
        path = folder / h
        cached = _load(path, leaves_shape)
        if cached is not None:
            return _reshape(jax.tree_util.tree_unflatten(treedef, cached), seeds, gshape, bool(vary))

    sharded, s = _shard_seeds(keys)
    out = jax.jit(batched)(sharded)
    leaves = [np.asarray(x)[:s] for x in jax.tree_util.tree_leaves(out)]
    if path is not None:
        _save(path, leaves, record)
    return _reshape(jax.tree_util.tree_unflatten(treedef, leaves), seeds, gshape, bool(vary))


def _reshape(tree: Any, seeds: int, gshape: tuple[int, ...], has_grid: bool) -> Any:
    if not has_grid:
        return tree
    return jax.tree_util.tree_map(lambda a: np.asarray(a).reshape((seeds, *gshape, *a.shape[2:])), tree)


def sweep_many(fn: Callable[..., Any], configs: Sequence[Mapping[str, Any]], *, key: jax.Array, seeds: int = 1,
               vary: Mapping[str, Sequence] | None = None, cache: bool | str | Path | None = None,
               desc: str = "sweep") -> list[Any]:
    """:func:`sweep` for each static configuration in ``configs`` (one compilation each), with a progress
    bar. All configurations share ``key``, so seed ``i`` means the same key in every configuration."""
    return [sweep(fn, key=key, seeds=seeds, vary=vary, fixed=c, cache=cache)
            for c in progress(list(configs), desc=desc)]
