"""A dependency-free progress bar: a line redrawn in a terminal, an updated text line in a notebook, and
nothing at all in CI (``$CI`` set), in the book build (``FEATLEARN_PROGRESS=0``) or when output is not
interactive. It never writes carriage-return sequences into captured output."""

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
    try:
        from IPython import get_ipython

        ip = get_ipython()
        if ip is not None and type(ip).__name__ == "ZMQInteractiveShell":
            return "notebook"
    except ImportError:
        pass
    return "terminal" if sys.stderr.isatty() else "off"


def progress(items: Iterable[T], *, total: int | None = None, desc: str = "") -> Iterator[T]:
    """Yield from ``items`` while showing ``desc i/total [elapsed]``."""
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
        msg = f"{desc} {i}/{total if total is not None else '?'} [{time.perf_counter() - t0:.1f}s]"
        if mode == "terminal":
            sys.stderr.write("\r" + msg)
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
