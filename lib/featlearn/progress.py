"""A dependency-free progress bar with an ETA: a line redrawn in a terminal, an updated text line in a notebook,
and nothing at all in CI (``$CI`` set), in the book build (``FEATLEARN_PROGRESS=0``) or when output is not
interactive. ``FEATLEARN_PROGRESS=lines`` writes one plain line per step to stderr instead (for a long run whose
output goes to a log file). It never writes carriage-return sequences into captured output."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def _mode() -> str:
    if os.environ.get("CI") or os.environ.get("FEATLEARN_PROGRESS", "1") == "0":
        return "off"
    if os.environ.get("FEATLEARN_PROGRESS") == "lines":
        return "lines"
    try:
        from IPython import get_ipython

        ip = get_ipython()
        if ip is not None and type(ip).__name__ == "ZMQInteractiveShell":
            return "notebook"
    except ImportError:
        pass
    return "terminal" if sys.stderr.isatty() else "off"


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    if s < 120:
        return f"{seconds:.1f}s" if seconds < 10 else f"{s}s"
    h, rest = divmod(s, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"


def status_line(desc: str, i: int, total: int | None, elapsed: float) -> str:
    """``desc i/total [elapsed, ETA remaining]``; the ETA assumes the remaining steps take as long as the done
    ones on average, and is left out before the first step or without a total."""
    msg = f"{desc} {i}/{total if total is not None else '?'} [{_clock(elapsed)}"
    if total is not None and 0 < i < total:
        msg += f", ETA {_clock(elapsed / i * (total - i))}"
    return msg + "]"


def progress(items: Iterable[T], *, total: int | None = None, desc: str = "") -> Iterator[T]:
    """Yield from ``items`` while showing ``desc i/total [elapsed, ETA]``."""
    mode = _mode()
    if mode == "off":
        yield from items
        return
    if total is None:
        try:
            total = len(items)  # type: ignore[arg-type]
        except TypeError:
            total = None
    t0 = time.perf_counter()
    handle = None

    def show(i: int) -> None:
        nonlocal handle
        msg = status_line(desc, i, total, time.perf_counter() - t0)
        if mode == "terminal":
            sys.stderr.write("\r" + msg + "\x1b[K")
            sys.stderr.flush()
        elif mode == "lines":
            sys.stderr.write(msg + "\n")
            sys.stderr.flush()
        else:
            from IPython.display import display

            if handle is None:
                handle = display({"text/plain": msg}, raw=True, display_id=True)
            else:
                handle.update({"text/plain": msg}, raw=True)

    show(0)
    for i, item in enumerate(items, 1):
        yield item
        show(i)
    if mode == "terminal":
        sys.stderr.write("\n")
