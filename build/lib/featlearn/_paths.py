"""Where the book's outputs go: the repository root is the nearest folder above the working directory that
holds ``_config.yml`` (notebooks run from ``book/``); outside a checkout, the working directory."""

from __future__ import annotations

import os
from pathlib import Path


def project_root(start: Path | None = None) -> Path:
    here = (start or Path.cwd()).resolve()
    for p in (here, *here.parents):
        if (p / "_config.yml").is_file() and (p / "lib" / "featlearn").is_dir():
            return p
    return here


def figure_dir() -> Path:
    """``$FEATLEARN_FIGURES`` or ``<root>/figures``."""
    env = os.environ.get("FEATLEARN_FIGURES")
    return Path(env) if env else project_root() / "figures"


def cache_dir() -> Path:
    """``$FEATLEARN_CACHE`` or ``<root>/.featlearn_cache``."""
    env = os.environ.get("FEATLEARN_CACHE")
    return Path(env) if env else project_root() / ".featlearn_cache"
