"""One plotting style and fixed-name, byte-stable figure files.

:func:`save_figure` writes ``figures/<chapter>-<name>.{pdf,png,svg}``, the plotted data as
``<chapter>-<name>.csv`` and a small ``.json`` record (caption, chapter, files) that the gallery page reads.
Identical runs give identical bytes: no dates in PDF/SVG metadata, a fixed SVG hash salt, and numbers written
with a fixed format.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib as mpl
import numpy as np

from . import _checks
from ._paths import figure_dir

STYLE = {
    "figure.figsize": (6.4, 3.6),
    "figure.dpi": 110,
    "savefig.dpi": 150,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "font.size": 10,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "lines.linewidth": 1.6,
    "lines.markersize": 4,
    "svg.hashsalt": "featlearn",
    "svg.fonttype": "path",
    "pdf.fonttype": 42,
    "axes.prop_cycle": mpl.cycler(color=["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9",
                                         "#000000", "#F0E442"]),
}
FORMATS = ("pdf", "png", "svg")
# Embedding a TrueType font in a PDF makes fontTools warn that the font's own 'created' date "seems very low";
# the warning is about the font file, not the figure, and would otherwise land in the rendered chapter.
logging.getLogger("fontTools").setLevel(logging.ERROR)
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
# Figure numbers within a chapter, in the order a (fresh) notebook run saves them; re-saving keeps the number.
_ORDER: dict[str, list[str]] = {}


def use_style() -> None:
    """Apply the book's plotting style to matplotlib's global settings."""
    mpl.rcParams.update(STYLE)


def plain_log_ticks(ax, values: Sequence[float], axis: str = "x") -> None:
    """On a log-scaled axis, put the major ticks at ``values`` with plain labels (``0.5``, ``16``) and drop the
    minor tick labels, which otherwise overlap (``2×10⁰ 3×10⁰ …``) when the axis spans less than a decade or two."""
    if axis not in ("x", "y"):
        raise ValueError(f"axis must be 'x' or 'y', got {axis!r}")
    from matplotlib.ticker import FixedFormatter, FixedLocator, NullFormatter

    vals = [float(v) for v in values]
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(FixedLocator(vals))
    target.set_major_formatter(FixedFormatter([f"{v:g}" for v in vals]))
    target.set_minor_formatter(NullFormatter())


def _columns(data: Mapping[str, Sequence] | None) -> tuple[list[str], list[np.ndarray]]:
    if data is None:
        return [], []
    names = list(data)
    cols = [np.ravel(np.asarray(data[k])) for k in names]
    lengths = {c.size for c in cols}
    if len(lengths) > 1:
        sizes = {k: c.size for k, c in zip(names, cols, strict=True)}
        raise ValueError(f"data columns must have equal lengths, got {sizes}")
    return names, cols


def _fmt(v) -> str:
    if isinstance(v, float | np.floating):
        return "nan" if np.isnan(v) else format(float(v), ".10g")
    return str(v)


def save_figure(fig, chapter: str, name: str, *, data: Mapping[str, Sequence] | None = None,
                caption: str = "", formats: Sequence[str] = FORMATS) -> dict[str, Path]:
    """Save ``fig`` as ``<figure_dir>/<chapter>-<name>.<ext>`` for each format, the data as CSV (long format:
    equal-length columns) and a JSON record. Returns the written paths by extension.

    ``chapter`` and ``name``: lower-case letters, digits and hyphens."""
    for label, v in (("chapter", chapter), ("name", name)):
        if not isinstance(v, str) or not _NAME.match(v):
            raise ValueError(f"{label} must be lower-case letters, digits and hyphens, got {v!r}")
    for f in formats:
        _checks.one_of("formats", f, FORMATS)
    out = figure_dir()
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{chapter}-{name}"
    paths: dict[str, Path] = {}
    meta = {"pdf": {"CreationDate": None, "ModDate": None, "Producer": None},
            "svg": {"Date": None, "Creator": None}, "png": {"Software": None}}
    for ext in formats:
        p = out / f"{stem}.{ext}"
        fig.savefig(p, format=ext, metadata=meta[ext], bbox_inches="tight")
        paths[ext] = p
    names, cols = _columns(data)
    if names:
        p = out / f"{stem}.csv"
        lines = [",".join(names)] + [",".join(_fmt(c[i]) for c in cols) for i in range(cols[0].size)]
        p.write_text("\n".join(lines) + "\n")
        paths["csv"] = p
    order = _ORDER.setdefault(chapter, [])
    if name not in order:
        order.append(name)
    record = {"chapter": chapter, "name": name, "caption": caption, "index": order.index(name) + 1,
              "files": sorted(Path(p).name for p in paths.values()) + [f"{stem}.json"]}
    p = out / f"{stem}.json"
    p.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    paths["json"] = p
    return paths


def figure_records(folder: Path | None = None, chapters: Sequence[str] | None = None) -> list[dict]:
    """The JSON records of every saved figure. With ``chapters`` (the book's chapter names in reading order),
    only those chapters' figures, in book order, each with its ``number`` ``"<chapter>.<index>"``; otherwise
    all records sorted by chapter and name."""
    folder = figure_dir() if folder is None else Path(folder)
    recs = [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]
    if chapters is None:
        return sorted(recs, key=lambda r: (r["chapter"], r["name"]))
    pos = {c: i for i, c in enumerate(chapters)}
    recs = sorted((r for r in recs if r["chapter"] in pos), key=lambda r: (pos[r["chapter"]], r.get("index", 0)))
    for r in recs:
        r["number"] = f"{pos[r['chapter']] + 1}.{r.get('index', 0)}"
    return recs


BOOK_BIBTEX_KEY = "featlearn2026"


def book_bibtex(url: str, year: str = "2026") -> str:
    """BibTeX entry for the book as a whole."""
    return (f"@book{{{BOOK_BIBTEX_KEY},\n  title  = {{featlearn: Feature Learning beyond the Kernel Regime}},\n"
            f"  author = {{{{The featlearn authors}}}},\n  year   = {{{year}}},\n  url    = {{{url}}}\n}}")


def figure_bibtex(record: dict, url: str, year: str = "2026") -> str:
    """BibTeX entry for one figure: its number, caption and the stable URL of its PDF file."""
    stem = f"{record['chapter']}-{record['name']}"
    num = record.get("number", "")
    title = f"Figure {num}: {record.get('caption', '')}".strip().rstrip(":")
    title = title.replace("{", "").replace("}", "")
    return (f"@misc{{featlearn-{stem},\n  title        = {{{title}}},\n"
            f"  author       = {{{{The featlearn authors}}}},\n  year         = {{{year}}},\n"
            f"  howpublished = {{\\url{{{url.rstrip('/')}/figures/{stem}.pdf}}}},\n"
            f"  note         = {{In: featlearn: Feature Learning beyond the Kernel Regime}}\n}}")


class _Text(str):
    """A string whose ``repr`` is itself, so that ``{glue:text}`` shows ``quick`` rather than ``'quick'``."""

    def __repr__(self) -> str:
        return str(self)


def listed(items: Sequence) -> str:
    """Items for a sentence: ``"a"``, ``"a and b"``, ``"a, b and c"`` (a glued list in a chapter's prose)."""
    words = [str(v) for v in items]
    if not words:
        raise ValueError("items must hold at least one item")
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def glue(name: str, value, *, display: bool = False):
    """Make ``value`` available to the chapter's text as ``{glue:text}`name``` (myst-nb), so numbers in the
    prose come from the run. Strings appear without quotes. Outside a myst-nb build (e.g. on Colab without
    myst-nb) it only returns ``value``."""
    try:
        from myst_nb import glue as _glue
    except ImportError:
        return value
    _glue(name, _Text(value) if isinstance(value, str) else value, display=display)
    return value
