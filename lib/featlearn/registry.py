"""The book's chapters, listed once: a :class:`Chapter` record per chapter, in reading order.

Everything that needs the chapter list reads :data:`CHAPTERS`: ``featlearn reproduce`` and its help, the results
store, the book helpers (scorecard and gallery order), ``tools/nbsetup.py`` (the notebooks that carry the Colab
set-up cell) and the tests. ``_toc.yml`` lists the same notebooks for Jupyter Book, and a test checks that the two
agree. Adding a chapter: its chapter module (``featlearn/chapters/<name>.py``: sizes, seed, sections, claims,
figures), its notebook, and one entry here.

A chapter module states its contract in module-level names, read through the record's properties: ``SIZES``
(profile name → sizes), ``SEED`` (the key the notebook and ``reproduce`` pass every section), ``SECTIONS`` (name →
``section(S, key) -> dict``), optionally ``CUT_SHORT`` (the budgets ``reproduce --cut-short`` shortens) and ``X64``
(the chapter computes in float64).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any


@dataclass(frozen=True)
class Chapter:
    """One chapter: ``name``, its notebook's stem (``book/<name>.ipynb``, also its results folder and its
    scorecard's id); ``module``, the dotted name of its chapter module (``featlearn.chapters.<name>``), which holds
    its sizes, seed and sections; ``papers``, the works whose claims it checks, as its scorecard names them."""

    name: str
    module: str
    papers: str

    def load(self) -> ModuleType:
        """The chapter's module (imported on first use)."""
        return importlib.import_module(self.module)

    @property
    def notebook(self) -> str:
        """The notebook's path from the repository root."""
        return f"book/{self.name}.ipynb"

    @property
    def sizes(self) -> Mapping[str, Mapping[str, Any]] | None:
        """The module's ``SIZES`` (profile name → sizes), or None if it defines none."""
        value = getattr(self.load(), "SIZES", None)
        return value if isinstance(value, Mapping) else None

    @property
    def sections(self) -> Mapping[str, Callable[..., dict]] | None:
        """The module's ``SECTIONS`` (name → ``section(S, key) -> dict``), or None if it defines none."""
        value = getattr(self.load(), "SECTIONS", None)
        return value if isinstance(value, Mapping) and value else None

    @property
    def seed(self) -> int | None:
        """The module's ``SEED``, or None unless it is an integer."""
        value = getattr(self.load(), "SEED", None)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @property
    def cut_short(self) -> Mapping[str, Any] | None:
        """The module's ``CUT_SHORT`` budgets, or None if it defines none."""
        value = getattr(self.load(), "CUT_SHORT", None)
        return value if isinstance(value, Mapping) else None

    @property
    def x64(self) -> bool:
        """Whether the chapter computes in float64 (its module's ``X64``)."""
        return bool(getattr(self.load(), "X64", False))


#: The chapters in reading order, by name.
CHAPTERS: dict[str, Chapter] = {c.name: c for c in (
    Chapter("kernel-regime", "featlearn.chapters.kernel_regime",
            "Jacot et al. (2018); Ghorbani et al. (2021); Mei et al. (2022)"),
    Chapter("one-step", "featlearn.chapters.one_step", "Damian, Lee & Soltanolkotabi (2022)"),
    Chapter("good-directions", "featlearn.chapters.good_directions", "Nichani, Bai & Lee (2022)"),
    Chapter("gradient-features", "featlearn.chapters.gradient_features", "Shi, Wei & Liang (2023)"),
    Chapter("local-convergence", "featlearn.chapters.local_convergence", "Zhou & Ge (2024)"),
    Chapter("atlas", "featlearn.chapters.atlas",
            "Ghorbani et al. (2021); Mei et al. (2022); Damian et al. (2022); Nichani et al. (2022)"),
)}


def chapter(name: str) -> Chapter:
    """The chapter called ``name``; ``ValueError`` naming the known chapters otherwise."""
    if name not in CHAPTERS:
        raise ValueError(f"chapter must be one of {tuple(CHAPTERS)}, got {name!r}")
    return CHAPTERS[name]
