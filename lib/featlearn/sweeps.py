r"""Sweeps: evaluate ``fn(key, **hparams)`` over seeds × a hyperparameter grid as one compiled program.

``sweep(fn, key=key, seeds=8, vary=dict(lr=[.1, .3, 1.]), fixed=dict(d=32))`` builds the Cartesian grid of
``vary`` (traced scalars), flattens seeds × grid into one configuration axis, calls ``jit(vmap(fn))`` over it
once, and returns the output pytree with leading axes ``(seeds, *grid_shape)``. ``fixed`` holds static arguments
(shapes, names): a new ``fixed`` is a new compilation. The configuration axis is sharded across all local
devices (``jax.sharding``; under ``jax.distributed``, across every process's devices), and the result is cached
on disk, keyed by the function's name and source, the arguments, the seeds' key, the library version and a hash
of the library's source. A corrupt or stale entry is recomputed with a :class:`CacheWarning`.

A long sweep can run in **chunks** (``chunk=<configurations per program>``, or for every sweep inside
``with chunking(...)`` or under ``$FEATLEARN_CHUNK``): the configuration axis is cut into programs of that many
configurations, each cached as soon as it finishes, so an interrupted sweep resumes from its finished chunks.
The chunks are reassembled into the same arrays as one run. Every chunk runs at the same batch size, so a
configuration's numbers do not depend on where it falls or on an interruption; they can differ from the
unchunked sweep's in the last bits, because XLA may compile a different batch size differently, so chunked and
unchunked results are cached under different keys and never mixed (``reproduce`` chunks, the notebooks do not).
:func:`recording` collects one record per sweep (function, sizes, cache hits, wall time) for a run's manifest.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import hashlib
import inspect
import io
import itertools
import json
import os
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from . import _checks
from ._paths import cache_dir
from ._version import __version__
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


@functools.cache
def library_fingerprint() -> str:
    """A hash of every source file of the installed featlearn package: a sweep's function usually calls into
    the library, so an edit anywhere in it makes earlier cache entries stale (the version alone would not)."""
    here = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for p in sorted(here.rglob("*.py")):
        h.update(p.relative_to(here).as_posix().encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def _hashable(v: Any) -> Any:
    if isinstance(v, Mapping):
        return {str(k): _hashable(x) for k, x in sorted(v.items(), key=lambda kv: str(kv[0]))}
    if isinstance(v, list | tuple):
        return [_hashable(x) for x in v]
    if isinstance(v, np.ndarray | jax.Array):
        a = np.asarray(v)
        return {"dtype": str(a.dtype), "shape": list(a.shape), "sha": hashlib.sha256(a.tobytes()).hexdigest()}
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, int | float | str | bool) or v is None:
        return v
    leaves, tdef = jax.tree_util.tree_flatten(v)
    if not (len(leaves) == 1 and leaves[0] is v):  # a pytree such as a target: hash its structure and arrays
        return {"tree": str(tdef), "leaves": [_hashable(x) for x in leaves]}
    return repr(v)


def cache_key(fn: Callable, key: jax.Array, seeds: int, vary: Mapping, fixed: Mapping,
              chunk: int | None = None) -> tuple[str, dict]:
    """The hash that names a sweep's cache entry, and the record it is computed from. ``chunk`` (configurations
    per program) names a chunked run's entries: they can differ from the unchunked run's in the last bits. The
    devices are part of the key (a GPU's numbers are not a CPU's, and the batch per device depends on how many)."""
    devs = devices()
    record = {
        **({"chunk": int(chunk)} if chunk is not None else {}),
        "devices": f"{devs[0].platform}x{len(devs)}",
        "fn": _fn_identity(fn),
        "key": np.asarray(jax.random.key_data(key)).tolist(),
        "seeds": seeds,
        "vary": _hashable({k: list(np.asarray(v).tolist()) for k, v in vary.items()}),
        "fixed": _hashable(dict(fixed)),
        "featlearn": __version__,
        "library_sha": library_fingerprint(),
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


def _load(path: Path, expected: list[jax.ShapeDtypeStruct] | None) -> list[np.ndarray] | None:
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
        if expected is not None and (len(leaves) != len(expected) or any(
                tuple(a.shape) != tuple(e.shape) or a.dtype != e.dtype for a, e in zip(leaves, expected, strict=True))):
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


class Program(NamedTuple):
    """A sweep as one compiled program over the flat configuration axis ``C = seeds × prod(grid_shape)``.

    ``fn`` maps ``(key_data (C, *k), {name: (C,)})`` to the output pytree with leading axis ``C``; ``args`` are
    those inputs, padded to a multiple of the device count and sharded over the mesh axis ``"config"``."""

    fn: Callable[..., Any]
    args: tuple[Any, ...]
    configs: int  # C, the whole sweep's (a program built with ``select`` runs those configurations only)
    grid_shape: tuple[int, ...]


def devices() -> list[jax.Device]:
    """The devices a sweep spreads over: every local device, or under ``jax.distributed`` (several processes)
    every device of every process."""
    return list(jax.devices()) if jax.process_count() > 1 else list(jax.local_devices())


def _put(a: np.ndarray, sharding: NamedSharding | None) -> jax.Array:
    if sharding is None:
        return jnp.asarray(a)
    if jax.process_count() == 1:
        return jax.device_put(a, sharding)
    # Every process holds the same (deterministic) host array and hands over the slices its devices own.
    return jax.make_array_from_callback(a.shape, sharding, lambda idx: a[idx])


def program(fn: Callable[..., Any], *, key: jax.Array, seeds: int = 1, vary: Mapping[str, Sequence] | None = None,
            fixed: Mapping[str, Any] | None = None, select: np.ndarray | None = None) -> Program:
    r"""Build (without running) the program :func:`sweep` runs: ``jit(vmap(fn))`` over the flat configuration
    axis, seed-major (configuration ``c`` is seed ``c // G`` at grid point ``c % G``). ``select`` (indices into
    that axis) builds the program over those configurations only, in that order (one chunk of a chunked sweep).

    The axis is padded to a multiple of the number of :func:`devices` (by repeating configurations) and sharded
    across them with a one-axis :class:`~jax.sharding.Mesh`; every configuration is an independent run, so the
    program needs no communication between devices and gives the same numbers on one device or many."""
    vary = dict(vary or {})
    fixed = dict(fixed or {})
    clash = set(vary) & set(fixed)
    if clash:
        raise ValueError(f"vary and fixed both name {sorted(clash)}")
    flat, gshape = grid(vary) if vary else ({}, ())
    keys = seed_keys(key, seeds)
    typed = jax.dtypes.issubdtype(keys.dtype, jax.dtypes.prng_key)
    impl = jax.random.key_impl(keys) if typed else None
    kdata = np.asarray(jax.random.key_data(keys) if typed else keys)  # (seeds, *k) uint32
    g = int(np.prod(gshape)) if vary else 1
    c = seeds * g
    cols = {"key": kdata[np.repeat(np.arange(seeds), g)]}
    cols.update({n: np.tile(np.asarray(jnp.asarray(v)), seeds) for n, v in flat.items()})  # (C,) each

    if select is not None:
        select = np.asarray(select)
        if select.ndim != 1 or select.size == 0 or select.min() < 0 or select.max() >= c:
            raise ValueError(f"select must be a non-empty 1-d array of indices in [0, {c}), got {select!r}")
        cols = {n: a[select] for n, a in cols.items()}
    rows = len(cols["key"])

    devs = devices()
    padded = -(-rows // len(devs)) * len(devs)
    sharding = None
    if len(devs) > 1:
        cols = {n: a[np.arange(padded) % rows] for n, a in cols.items()}
        sharding = NamedSharding(Mesh(np.asarray(devs), ("config",)), PartitionSpec("config"))

    def one(kd, hp):
        k = jax.random.wrap_key_data(kd, impl=impl) if typed else kd
        return fn(k, **hp, **fixed)

    kd = _put(cols.pop("key"), sharding)
    hp = {n: _put(a, sharding) for n, a in cols.items()}
    return Program(jax.jit(jax.vmap(one)), (kd, hp), c, gshape)


def lower(fn: Callable[..., Any], *, key: jax.Array, seeds: int = 1, vary: Mapping[str, Sequence] | None = None,
          fixed: Mapping[str, Any] | None = None) -> jax.stages.Lowered:
    """The sweep's program traced and lowered (``.compile()`` it to time compilation, ``.cost_analysis()`` for
    its flop count); nothing is run and nothing is cached."""
    prog = program(fn, key=key, seeds=seeds, vary=vary, fixed=fixed)
    return prog.fn.lower(*prog.args)


def _gather(out: Any) -> list[np.ndarray]:
    leaves = jax.tree_util.tree_leaves(out)
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        leaves = multihost_utils.process_allgather(leaves, tiled=True)
    return [np.asarray(x) for x in leaves]


CHUNK_ENV = "FEATLEARN_CHUNK"
#: With ``chunk="auto"`` a sweep is cut into at most this many programs.
AUTO_CHUNKS = 8
_CHUNK: contextvars.ContextVar[int | str | None] = contextvars.ContextVar("featlearn_chunk", default=None)
_RECORDS: contextvars.ContextVar[list[dict[str, Any]] | None] = contextvars.ContextVar("featlearn_sweep_records",
                                                                                       default=None)


def chunk_setting(chunk: int | str | None, source: str = "chunk") -> int | str | None:
    """Validate a chunk setting: ``None`` (not set), ``"auto"``, or an integer >= 0 (0: unchunked)."""
    if chunk is None or chunk == "auto":
        return chunk
    if isinstance(chunk, str):
        try:
            chunk = int(chunk)
        except ValueError:
            raise ValueError(f"{source} must be 'auto' or an integer >= 0, got {chunk!r}") from None
    if isinstance(chunk, bool) or not isinstance(chunk, int | np.integer) or chunk < 0:
        raise ValueError(f"{source} must be 'auto' or an integer >= 0, got {chunk!r}")
    return int(chunk)


def chunk_size(chunk: int | str | None, configs: int) -> int | None:
    """Configurations per program for a sweep of ``configs`` configurations, or ``None`` to run it whole.

    ``chunk=None`` takes the setting of the innermost :func:`chunking` block, else ``$FEATLEARN_CHUNK``, else runs
    whole; ``0`` runs whole; ``"auto"`` cuts the sweep into at most :data:`AUTO_CHUNKS` programs; an integer is
    rounded up to a multiple of the device count. A chunk that would hold every configuration means: whole."""
    setting = chunk_setting(chunk)
    if setting is None:
        setting = _CHUNK.get()
    if setting is None:
        setting = chunk_setting(os.environ.get(CHUNK_ENV) or None, source=f"environment variable {CHUNK_ENV}")
    if setting is None or setting == 0:
        return None
    per = -(-configs // AUTO_CHUNKS) if setting == "auto" else int(setting)
    ndev = len(devices())
    per = -(-per // ndev) * ndev
    return None if per >= configs else per


@contextlib.contextmanager
def chunking(chunk: int | str | None) -> Iterator[None]:
    """Run every :func:`sweep` inside the block in chunks of ``chunk`` configurations (``"auto"``: at most
    :data:`AUTO_CHUNKS` chunks per sweep; ``0``: unchunked; ``None``: back to ``$FEATLEARN_CHUNK``), unless a
    sweep passes its own ``chunk``. This is how ``featlearn reproduce`` makes a chapter's sweeps resumable
    without an extra argument to its section functions."""
    token = _CHUNK.set(chunk_setting(chunk))
    try:
        yield
    finally:
        _CHUNK.reset(token)


@contextlib.contextmanager
def recording() -> Iterator[list[dict[str, Any]]]:
    """Collect one record per :func:`sweep` run inside the block, in order: ``fn`` (module.name), ``seeds``,
    ``grid`` (the ``vary`` names and lengths), ``fixed`` (its scalar entries), ``configs``, ``chunks`` (1 when
    unchunked), ``chunks_cached`` (found in the cache), ``source`` (``"cache"``, ``"computed"`` or
    ``"resumed"``) and ``wall_s``."""
    records: list[dict[str, Any]] = []
    token = _RECORDS.set(records)
    try:
        yield records
    finally:
        _RECORDS.reset(token)


def sweep(fn: Callable[..., Any], *, key: jax.Array, seeds: int = 1, vary: Mapping[str, Sequence] | None = None,
          fixed: Mapping[str, Any] | None = None, cache: bool | str | Path | None = None,
          chunk: int | str | None = None) -> Any:
    """Run ``fn(key, **vary_values, **fixed)`` for every seed and every point of the ``vary`` grid.

    Returns the output pytree (NumPy arrays) with leading axes ``(seeds, *grid_shape)``, where ``grid_shape``
    lists the lengths of ``vary``'s values in order. ``cache=None`` uses the default folder
    (``$FEATLEARN_CACHE``, off with ``FEATLEARN_CACHE=0``), ``False`` disables it, a path selects a folder.
    The configurations run as one program sharded over :func:`devices` (see :func:`program`); under
    ``jax.distributed`` every process gets the whole result and only process 0 writes the cache.
    ``chunk`` (configurations per program, ``"auto"``, or ``0``; default: :func:`chunking`'s setting, else
    ``$FEATLEARN_CHUNK``) runs the configurations in chunks, each cached as it finishes, with a progress bar and
    an ETA (see :func:`chunk_size` and the module's notes).
    """
    t0 = time.perf_counter()
    vary = dict(vary or {})
    fixed = dict(fixed or {})
    seeds = _checks.positive_int("seeds", seeds)
    gshape = grid(vary)[1] if vary else ()
    c = seeds * int(np.prod(gshape, dtype=int))
    per = chunk_size(chunk, c)
    if per is None:
        out, info = _sweep_whole(fn, key, seeds, vary, fixed, cache)
    else:
        out, info = _sweep_chunked(fn, key, seeds, vary, fixed, cache, per)
    records = _RECORDS.get()
    if records is not None:
        records.append({"fn": _fn_identity(fn)["name"], "seeds": seeds,
                        "grid": {k: len(v) for k, v in vary.items()},
                        "fixed": {k: (v.item() if isinstance(v, np.generic) else v) for k, v in fixed.items()
                                  if isinstance(v, int | float | str | bool | np.generic)},
                        "configs": c, **info, "wall_s": round(time.perf_counter() - t0, 3)})
    return out


def host_sweep(fn: Callable[..., Any], *, key: jax.Array, returns: type, seeds: int = 1,
               fixed: Mapping[str, Any] | None = None, cache: bool | str | Path | None = None) -> Any:
    """Run ``fn(key_i, **fixed)`` for each of ``seeds`` keys (:func:`seed_keys`) on the host, one seed after the
    other: for a function that neither jits nor vmaps (a float64 SciPy solve, say), with :func:`sweep`'s cache
    and records. Each seed's result is cached as it finishes (so an interrupted run resumes at the next seed),
    keyed like a sweep's entry plus the seed's index.

    ``fn`` returns an instance of ``returns``, a ``NamedTuple`` of arrays (the cache rebuilds it from the stored
    arrays). Returns that ``NamedTuple`` with every field stacked over seeds: ``(seeds, ...)``."""
    t0 = time.perf_counter()
    fixed = dict(fixed or {})
    seeds = _checks.positive_int("seeds", seeds)
    kind = returns
    if not (isinstance(kind, type) and issubclass(kind, tuple) and hasattr(kind, "_fields")):
        raise TypeError(f"returns must be a NamedTuple class (the type fn returns), got {kind!r}")
    folder = _resolve_cache(cache)
    h, record = cache_key(fn, key, seeds, {}, fixed) if folder is not None else ("", {})
    rows, cached = [], 0
    name = _fn_identity(fn)["name"].rsplit(".", 1)[-1]
    for i, k in enumerate(progress(list(seed_keys(key, seeds)), desc=f"{name}: seeds")):
        path = folder / f"{h}-host{i:05d}of{seeds:05d}" if folder is not None else None
        leaves = _load(path, None) if path is not None else None
        if leaves is not None and len(leaves) != len(kind._fields):
            warnings.warn(f"featlearn cache entry {path.name} holds {len(leaves)} arrays, not the "
                          f"{len(kind._fields)} fields of {kind.__name__}; recomputing", CacheWarning, stacklevel=2)
            leaves = None
        if leaves is not None:
            cached += 1
        else:
            result = fn(k, **fixed)
            if not isinstance(result, kind):
                raise TypeError(f"fn returned {type(result).__name__}, not returns = {kind.__name__}")
            leaves = [np.asarray(a) for a in result]
            if path is not None and jax.process_index() == 0:
                _save(path, leaves, {**record, "host_seed": i})
        rows.append(kind(*leaves))
    out = kind(*(np.stack(col) for col in zip(*rows, strict=True)))
    records = _RECORDS.get()
    if records is not None:
        records.append({"fn": _fn_identity(fn)["name"], "seeds": seeds, "grid": {}, "configs": seeds,
                        "fixed": {k: (v.item() if isinstance(v, np.generic) else v) for k, v in fixed.items()
                                  if isinstance(v, int | float | str | bool | np.generic)},
                        "chunks": seeds, "chunks_cached": cached,
                        "source": "cache" if cached == seeds else "resumed" if cached else "computed",
                        "wall_s": round(time.perf_counter() - t0, 3)})
    return out


def _sweep_whole(fn: Callable[..., Any], key: jax.Array, seeds: int, vary: dict, fixed: dict,
                 cache: bool | str | Path | None) -> tuple[Any, dict[str, Any]]:
    prog = program(fn, key=key, seeds=seeds, vary=vary, fixed=fixed)
    gshape, c = prog.grid_shape, prog.configs
    g = c // seeds
    lead = (seeds, g) if vary else (seeds,)
    # Trace once: the traced program gives the output shapes (to validate a cache entry) and is what runs.
    traced = prog.fn.trace(*prog.args)
    leaves_c, treedef = jax.tree_util.tree_flatten(traced.out_info)
    leaves_shape = [jax.ShapeDtypeStruct((*lead, *a.shape[1:]), a.dtype) for a in leaves_c]

    folder = _resolve_cache(cache)
    path = None
    if folder is not None:
        h, record = cache_key(fn, key, seeds, vary, fixed)
        path = folder / h
        cached = _load(path, leaves_shape)
        if cached is not None:
            return (_reshape(jax.tree_util.tree_unflatten(treedef, cached), seeds, gshape, bool(vary)),
                    {"chunks": 1, "chunks_cached": 1, "source": "cache"})

    out = traced.lower().compile()(*prog.args)
    leaves = [a[:c].reshape((*lead, *a.shape[1:])) for a in _gather(out)]
    if path is not None and jax.process_index() == 0:
        _save(path, leaves, record)
    return (_reshape(jax.tree_util.tree_unflatten(treedef, leaves), seeds, gshape, bool(vary)),
            {"chunks": 1, "chunks_cached": 0, "source": "computed"})


def _sweep_chunked(fn: Callable[..., Any], key: jax.Array, seeds: int, vary: dict, fixed: dict,
                   cache: bool | str | Path | None, per: int) -> tuple[Any, dict[str, Any]]:
    """The sweep in ``ceil(C / per)`` programs of ``per`` configurations each (the last one padded by repeating
    configurations, so that every chunk has one batch size and one compilation), each cached as it finishes
    under the sweep's chunked key plus its index; once all are done the assembled result is cached under the
    chunked key and the chunk entries are removed."""
    gshape = grid(vary)[1] if vary else ()
    c = seeds * int(np.prod(gshape, dtype=int))
    n = -(-c // per)
    lead = (seeds, c // seeds) if vary else (seeds,)

    def chunk_program(i: int) -> Program:
        return program(fn, key=key, seeds=seeds, vary=vary, fixed=fixed, select=np.arange(i * per, (i + 1) * per) % c)

    def rows(i: int) -> int:
        return min(per, c - i * per)

    first = chunk_program(0)
    traced = first.fn.trace(*first.args)
    leaves_k, treedef = jax.tree_util.tree_flatten(traced.out_info)

    def shapes(lead_shape: tuple[int, ...]) -> list[jax.ShapeDtypeStruct]:
        return [jax.ShapeDtypeStruct((*lead_shape, *a.shape[1:]), a.dtype) for a in leaves_k]

    def done(leaves: list[np.ndarray], info: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        tree = jax.tree_util.tree_unflatten(treedef, leaves)
        return _reshape(tree, seeds, gshape, bool(vary)), {"chunks": n, **info}

    folder = _resolve_cache(cache)
    parts: list[list[np.ndarray] | None] = [None] * n
    if folder is not None:
        h, record = cache_key(fn, key, seeds, vary, fixed, chunk=per)
        whole = _load(folder / h, shapes(lead))
        if whole is not None:
            return done(whole, {"chunks_cached": n, "source": "cache"})
        for i in range(n):
            parts[i] = _load(folder / f"{h}-{i:05d}of{n:05d}", shapes((rows(i),)))
    todo = [i for i in range(n) if parts[i] is None]
    compiled = traced.lower().compile() if todo else None
    name = _fn_identity(fn)["name"].rsplit(".", 1)[-1]
    cached = n - len(todo)
    desc = f"{name}: chunks" + (f" ({cached} of {n} from the cache)" if cached else "")
    writer = folder is not None and jax.process_index() == 0
    for i in progress(todo, desc=desc):
        prog = first if i == 0 else chunk_program(i)
        parts[i] = [a[:rows(i)] for a in _gather(compiled(*prog.args))]  # type: ignore[misc]
        if writer:
            _save(folder / f"{h}-{i:05d}of{n:05d}", parts[i], {**record, "chunk_index": i, "chunks": n})
    leaves = [np.concatenate([p[j] for p in parts]).reshape((*lead, *a.shape[1:]))  # type: ignore[index]
              for j, a in enumerate(leaves_k)]
    if writer:
        _save(folder / h, leaves, record)
        for i in range(n):
            for suffix in (".npz", ".json"):
                (folder / f"{h}-{i:05d}of{n:05d}").with_suffix(suffix).unlink(missing_ok=True)
    return done(leaves, {"chunks_cached": cached, "source": "resumed" if cached else "computed"})


def _reshape(tree: Any, seeds: int, gshape: tuple[int, ...], has_grid: bool) -> Any:
    if not has_grid:
        return tree
    return jax.tree_util.tree_map(lambda a: np.asarray(a).reshape((seeds, *gshape, *a.shape[2:])), tree)
