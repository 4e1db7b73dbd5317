"""Validation at the library's boundary: every bad argument raises ``ValueError`` naming the parameter."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np


def positive_int(name: str, value: Any, *, minimum: int = 1) -> int:
    """Return ``value`` as an int, or raise if it is not an integer ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return int(value)


def nonneg_int(name: str, value: Any) -> int:
    return positive_int(name, value, minimum=0)


def real_in(name: str, value: Any, low: float = -math.inf, high: float = math.inf, *,
            low_open: bool = False, high_open: bool = False) -> float:
    """Check a Python/NumPy real scalar lies in the interval; JAX tracers pass through unchecked."""
    if is_tracer(value):
        return value
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number, got {value!r}") from None
    lo_ok = v > low if low_open else v >= low
    hi_ok = v < high if high_open else v <= high
    if not (lo_ok and hi_ok) or math.isnan(v):
        lb = "(" if low_open else "["
        rb = ")" if high_open else "]"
        raise ValueError(f"{name} must lie in {lb}{low}, {high}{rb}, got {value!r}")
    return v


def one_of(name: str, value: Any, allowed: Iterable[Any]) -> Any:
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
    return value


def shape(name: str, array: Any, expected: tuple[int | None, ...]) -> None:
    """Check ``array.shape`` against ``expected`` (``None`` matches any size)."""
    got = tuple(np.shape(array))
    ok = len(got) == len(expected) and all(e is None or e == g for e, g in zip(expected, got, strict=True))
    if not ok:
        exp = "(" + ", ".join("*" if e is None else str(e) for e in expected) + ")"
        raise ValueError(f"{name} must have shape {exp}, got {got}")


def is_tracer(value: Any) -> bool:
    """Whether ``value`` is a JAX tracer (a value inside ``jit`` or ``vmap``, which cannot be checked)."""
    import jax

    return isinstance(value, jax.core.Tracer)
