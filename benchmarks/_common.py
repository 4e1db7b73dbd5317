"""What every benchmark shares: wall and CPU timing, the machine's description, tables and JSON files."""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp

HERE = Path(__file__).resolve().parent


class Timing(dict):
    """``{"wall_s": ..., "cpu_s": ...}``: wall-clock seconds and the process's user + system CPU seconds."""


def timed(fn: Callable[[], Any]) -> tuple[Any, Timing]:
    """Run ``fn()`` once, waiting for every JAX result it returns; its value and its :class:`Timing`."""
    c0, t0 = os.times(), time.perf_counter()
    out = jax.block_until_ready(fn())
    t1, c1 = time.perf_counter(), os.times()
    cpu = (c1.user - c0.user) + (c1.system - c0.system)
    return out, Timing(wall_s=t1 - t0, cpu_s=cpu)


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[Any, Timing]:
    """The fastest of ``repeat`` runs of ``fn`` (the least disturbed by other load on the machine)."""
    best = None
    for _ in range(max(1, repeat)):
        out, t = timed(fn)
        if best is None or t["wall_s"] < best[1]["wall_s"]:
            best = (out, t)
    return best


def repeat_count(default: int) -> int:
    """Repetitions per measurement: ``$BENCH_REPEAT`` if set, else ``default``."""
    return int(os.environ.get("BENCH_REPEAT", default))


def matmul_rate(n: int = 4096, dtype=jnp.float32, repeat: int = 5) -> dict:
    r"""The machine's matrix-product rate: the best of ``repeat`` ``jnp.dot`` of two ``(n, n)`` matrices,
    :math:`2n^3` floating-point operations each. Returns ``{"n", "dtype", "seconds", "flops_per_s"}``."""
    from featlearn import rng

    a = rng.normal(jax.random.key(0), (n, n)).astype(dtype)
    b = rng.normal(jax.random.key(1), (n, n)).astype(dtype)
    dot = jax.jit(jnp.dot)
    jax.block_until_ready(dot(a, b))
    _, t = best_of(lambda: dot(a, b), repeat)
    return {"n": n, "dtype": jnp.dtype(dtype).name, "seconds": t["wall_s"], "flops_per_s": 2 * n**3 / t["wall_s"]}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(pkg: str) -> str | None:
    try:
        return metadata.version(pkg)
    except metadata.PackageNotFoundError:
        return None


def machine() -> dict:
    """Where and with what the numbers were taken."""
    import featlearn

    devs = jax.devices()
    mem = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return {
        "date_utc": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M:%S"),
        "nproc": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_gib": mem,
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "backend": jax.default_backend(),
        "devices": [str(d) for d in devs],
        "device_kind": devs[0].device_kind if devs else None,
        "gpu": any(d.platform == "gpu" for d in devs),
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "profile": os.environ.get("FEATLEARN_PROFILE", "quick") or "quick",
        "versions": {"featlearn": featlearn.__version__, "jax": jax.__version__, "jaxlib": _version("jaxlib"),
                     "flax": _version("flax"), "optax": _version("optax"), "numpy": _version("numpy"),
                     "torch": _version("torch")},
    }


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        if v != v:
            return "nan"
        if v == 0:
            return "0"
        if abs(v) >= 1e4 or abs(v) < 1e-3:
            return f"{v:.3g}"
        return f"{v:.3f}" if abs(v) < 10 else f"{v:.1f}"
    return "-" if v is None else str(v)


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table (also valid Markdown), printed and returned."""
    cells = [[_fmt(v) for v in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(header)]
    line = lambda r: "| " + " | ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) + " |"
    out = [f"\n### {title}\n", line(list(header)), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in cells]
    text = "\n".join(out)
    print(text, flush=True)
    return text


def write_json(name: str, payload: dict) -> Path:
    """Write ``benchmarks/<name>.json`` (``$BENCH_OUT`` selects another folder) with the machine's description."""
    folder = Path(os.environ.get("BENCH_OUT", HERE))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(json.dumps({"benchmark": name, "machine": machine(), **payload}, indent=1, default=_default))
    print(f"wrote {path}", flush=True)
    return path


def _default(o: Any) -> Any:
    try:
        import numpy as np

        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
    except ImportError:
        pass
    return str(o)


def verdict(met: bool) -> str:
    return "met" if met else "missed"
