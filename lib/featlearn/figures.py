"""One plotting style and fixed-name, byte-stable figure files.

:func:`save_figure` writes ``figures/<chapter>-<name>.{pdf,png,svg}``, the plotted data as
``<chapter>-<name>.csv`` and a small ``.json`` record (caption, chapter, files) that the gallery page reads.
Identical runs give identical bytes: no dates in PDF/SVG metadata, a fixed SVG hash salt, and numbers written
with a fixed format.

The chapters' plumbing: :func:`sweep_table` lays a sweep's output (leading axes: seeds, then the grid) out as
the long-format table ``save_figure`` writes, :func:`concat_tables` stacks such tables, and
:func:`glue_values` glues a dict of values for the prose in one call. matplotlib is imported only when a figure
is styled or drawn (:func:`use_style`, :func:`plain_log_ticks`), so ``import featlearn`` does not load it.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from cycler import cycler  # matplotlib's own colour-cycle type, without importing matplotlib

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
    "axes.prop_cycle": cycler(color=["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9",
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
    """Apply the book's plotting style to matplotlib's global settings (imports matplotlib: ``import featlearn``
    alone does not)."""
    import matplotlib as mpl

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


def _plain(value: Any) -> Any:
    """A NumPy scalar or 0-d array as the Python scalar it holds (its text is then ``0.25``, which myst-nb can
    format, not ``np.float64(0.25)``); anything else unchanged."""
    if isinstance(value, np.generic) or (isinstance(value, np.ndarray) and value.ndim == 0):
        return value.item()
    if hasattr(value, "shape") and hasattr(value, "dtype") and value.shape == ():  # a 0-d jax.Array
        return np.asarray(value).item()
    return value


def glue_values(values: Mapping[str, Any], *, prefix: str = "", fmt: str | None = None) -> dict[str, Any]:
    """:func:`glue` each item of ``values`` as ``prefix + name``, in order: one call in place of a loop of
    ``glue`` calls. NumPy scalars are glued as Python scalars; with ``fmt`` (a format spec such as ``".3f"``),
    every number (not a string or a bool) is glued as ``format(value, fmt)`` instead. Returns what was glued,
    by full name."""
    if not isinstance(prefix, str):
        raise ValueError(f"prefix must be a string, got {prefix!r}")
    glued = {}
    for name, value in values.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"values must be keyed by non-empty strings, got the key {name!r}")
        v = _plain(value)
        if fmt is not None and isinstance(v, int | float) and not isinstance(v, bool):
            v = format(v, fmt)
        glued[prefix + name] = glue(prefix + name, v)
    return glued


def _named_arrays(tree: Any, prefix: str = "") -> dict[str, np.ndarray]:
    """The arrays of a sweep's output by name: mapping keys and NamedTuple fields, nested names joined by ``_``."""
    if hasattr(tree, "_asdict"):
        tree = tree._asdict()
    if isinstance(tree, Mapping):
        out: dict[str, np.ndarray] = {}
        for k, v in tree.items():
            out.update(_named_arrays(v, f"{prefix}_{k}" if prefix else str(k)))
        return out
    return {prefix or "value": np.asarray(tree)}


def sweep_table(out: Any, axes: Mapping[str, Sequence] | None = None, *, seed: str | None = "seed",
                **constants: Any) -> dict[str, np.ndarray]:
    r"""A sweep's output as a long-format table (equal-length 1-d columns) for :func:`save_figure`'s ``data``.

    ``out``: an array, a mapping or a NamedTuple of arrays (nested mappings allowed; names joined by ``_``), each
    of shape ``(S, G_1, …, G_k)`` as :func:`featlearn.sweeps.sweep` returns them: ``S`` seeds, then one axis per
    entry of ``axes``, which maps the axis's column name to its ``G_i`` values, in axis order. With
    ``seed=None`` there is no seed axis (e.g. means over seeds), and ``axes`` names every axis. ``constants``
    become columns holding one value (``d=16``, ``kernel="ntk"``).

    The table has one row per index :math:`(s, i_1, \dots, i_k)`, in C order (the seed slowest); its columns are
    the constants, the seed, the axes and then the arrays. Raises ``ValueError`` if an array's shape is not
    ``(S, G_1, …, G_k)`` with the same ``S`` throughout, or if two columns share a name."""
    axes = {str(k): np.asarray(v) for k, v in (axes or {}).items()}
    arrays = _named_arrays(out)
    for k, v in axes.items():
        if v.ndim != 1 or v.size == 0:
            raise ValueError(f"axes[{k!r}] must be a non-empty 1-d sequence of values, got shape {v.shape}")
    for k, v in constants.items():
        if np.ndim(v) != 0:
            raise ValueError(f"constant column {k!r} must hold one value, got shape {np.shape(v)}")
    names = [*constants, *([seed] if seed else []), *axes, *arrays]
    clash = sorted({k for k in names if names.count(k) > 1})
    if clash:
        raise ValueError(f"column names must be distinct; given twice: {clash}")
    if not arrays:
        raise ValueError("out must hold at least one array")
    first = next(iter(arrays.values()))
    if seed and first.ndim == 0:
        raise ValueError("out's arrays must have a leading seed axis (or pass seed=None)")
    n_seeds = first.shape[0] if seed else None
    shape = ((n_seeds,) if seed else ()) + tuple(v.size for v in axes.values())
    for k, a in arrays.items():
        if a.shape != shape:
            raise ValueError(f"out[{k!r}] must have shape {shape} ((seeds,) + the lengths of axes), got {a.shape}")
    index = np.indices(shape).reshape(len(shape), -1) if shape else np.zeros((0, 1), int)
    rows = index.shape[1]
    table: dict[str, np.ndarray] = {k: np.repeat(np.asarray(v), rows) for k, v in constants.items()}
    names = ([seed] if seed else []) + list(axes)
    values = ([np.arange(n_seeds)] if seed else []) + list(axes.values())
    for i, (name, vals) in enumerate(zip(names, values, strict=True)):
        table[name] = vals[index[i]]
    table.update({k: a.reshape(-1) for k, a in arrays.items()})
    return table


def concat_tables(*tables: Mapping[str, Sequence]) -> dict[str, np.ndarray]:
    """Long-format tables with the same columns, one after the other (e.g. one :func:`sweep_table` per
    dimension)."""
    if not tables:
        raise ValueError("tables must hold at least one table")
    names = list(tables[0])
    for t in tables[1:]:
        if list(t) != names:
            raise ValueError(f"tables must have the same columns in the same order, got {names} and {list(t)}")
    return {k: np.concatenate([np.ravel(np.asarray(t[k])) for t in tables]) for k in names}
