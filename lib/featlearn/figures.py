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
    # 9 pt: a 6.4-inch figure shown at the column width (about 690 px at 1280 px) keeps its legend no smaller than
    # a footnote (tests/site: figure text test); 8 pt came out at 11.9 px.
    "legend.fontsize": 9,
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
#: The width, in inches, of a figure shown across the book's text column (about 690 px at a 1280-px window):
#: drawn at this width, 9-pt text stays at a footnote's size on the page (``tests/site``: the figure-text test).
COLUMN_WIDTH = 7.0
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
    record.update(text_metrics(fig, paths.get("png")))
    p = out / f"{stem}.json"
    p.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    paths["json"] = p
    return paths


def text_metrics(fig, png: Path | None = None) -> dict[str, Any]:
    """How large a figure's text is, for the book's legibility test: ``min_font_pt``, the smallest font size (in
    points) of any visible, non-empty text (tick labels, legends, titles; as drawn by the last save) and, given the
    PNG written, its size in pixels ``png_px`` and ``png_dpi``. On a page that shows the PNG ``w`` pixels wide the
    smallest text is ``min_font_pt · png_dpi / 72 · w / png_px[0]`` pixels tall."""
    from matplotlib.text import Text

    sizes = [float(t.get_fontsize()) for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    out: dict[str, Any] = {"min_font_pt": round(min(sizes), 2) if sizes else None}
    if png is not None and Path(png).is_file():
        import struct

        head = Path(png).read_bytes()[:24]
        out["png_px"] = list(struct.unpack(">II", head[16:24]))
        out["png_dpi"] = _savefig_dpi(fig)
    return out


def _savefig_dpi(fig) -> float:
    import matplotlib as mpl

    dpi = mpl.rcParams["savefig.dpi"]
    return float(fig.get_dpi() if dpi == "figure" else dpi)


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

# Unicode in captions, as TeX that pdflatex reads in text and in math (\ensuremath) without extra packages.
_TEX_MATH = {
    "α": r"\alpha", "β": r"\beta", "γ": r"\gamma", "δ": r"\delta", "ε": r"\varepsilon", "ζ": r"\zeta",
    "η": r"\eta", "θ": r"\theta", "ι": r"\iota", "κ": r"\kappa", "λ": r"\lambda", "μ": r"\mu", "ν": r"\nu",
    "ξ": r"\xi", "π": r"\pi", "ρ": r"\rho", "σ": r"\sigma", "τ": r"\tau", "υ": r"\upsilon", "φ": r"\varphi",
    "ϕ": r"\phi", "χ": r"\chi", "ψ": r"\psi", "ω": r"\omega", "Γ": r"\Gamma", "Δ": r"\Delta",
    "Θ": r"\Theta", "Λ": r"\Lambda", "Ξ": r"\Xi", "Π": r"\Pi", "Σ": r"\Sigma", "Φ": r"\Phi", "Ψ": r"\Psi",
    "Ω": r"\Omega", "±": r"\pm", "∓": r"\mp", "×": r"\times", "·": r"\cdot", "⋅": r"\cdot", "∝": r"\propto",
    "≈": r"\approx", "≃": r"\simeq", "≍": r"\asymp", "∼": r"\sim", "≤": r"\leq", "≥": r"\geq", "≠": r"\neq",
    "≪": r"\ll", "≫": r"\gg", "→": r"\to", "←": r"\leftarrow", "↦": r"\mapsto", "⇒": r"\Rightarrow",
    "∈": r"\in", "∉": r"\notin", "⊂": r"\subset", "∪": r"\cup", "∩": r"\cap", "∞": r"\infty",
    "∂": r"\partial", "∇": r"\nabla", "√": r"\surd", "∑": r"\sum", "∏": r"\prod", "∫": r"\int",
    "‖": r"\|", "⟨": r"\langle", "⟩": r"\rangle", "⊤": r"\top", "⊥": r"\perp", "∘": r"\circ", "°": r"^{\circ}",
    "ℝ": r"\mathbf{R}", "ℕ": r"\mathbf{N}", "−": "-", "ℓ": r"\ell", "∅": r"\emptyset", "∀": r"\forall",
    "∃": r"\exists", "⊆": r"\subseteq", "⊗": r"\otimes", "∥": r"\parallel", "≡": r"\equiv", "↑": r"\uparrow",
    "↓": r"\downarrow", "⟂": r"\perp", "≲": r"\stackrel{<}{\sim}", "≳": r"\stackrel{>}{\sim}", "÷": r"\div",
    "′": r"\prime", "⁺": r"^{+}", "⁻": r"^{-}",
    "⁰": "^{0}", "¹": "^{1}", "²": "^{2}", "³": "^{3}", "⁴": "^{4}", "⁵": "^{5}", "⁶": "^{6}", "⁷": "^{7}",
    "⁸": "^{8}", "⁹": "^{9}", "ⁿ": "^{n}", "ᵀ": r"^{\top}", "₀": "_{0}", "₁": "_{1}", "₂": "_{2}", "₃": "_{3}",
    "₄": "_{4}", "₅": "_{5}", "₆": "_{6}", "₇": "_{7}", "₈": "_{8}", "₉": "_{9}", "ₖ": "_{k}", "ᵢ": "_{i}",
}
_TEX_TEXT = {"–": "--", "—": "---", "‘": "`", "’": "'", "“": "``", "”": "''", "…": r"\ldots{}", "\u00a0": "~",
             "\u2009": r"\,", "\u202f": r"\,", "é": r"\'{e}", "è": r"\`{e}", "ü": r'\"{u}', "ö": r'\"{o}',
             "ä": r'\"{a}', "ç": r"\c{c}", "✔": "yes", "✘": "no", "§": r"\S{}"}
_TEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}"}


def _tex_char(c: str, *, math: bool, strict: bool) -> str:
    if c in _TEX_MATH:
        return _TEX_MATH[c] + (" " if _TEX_MATH[c][-1].isalpha() else "") if math else \
            r"\ensuremath{" + _TEX_MATH[c] + "}"
    if c in _TEX_TEXT and not math:
        return _TEX_TEXT[c]
    if ord(c) < 128:
        return c if math else _TEX_SPECIAL.get(c, c)
    import unicodedata

    plain = "".join(x for x in unicodedata.normalize("NFKD", c) if ord(x) < 128)
    if plain:
        return plain if math else "".join(_TEX_SPECIAL.get(x, x) for x in plain)
    if strict:
        raise ValueError(f"tex: no TeX for the character {c!r} (U+{ord(c):04X}); add it to figures._TEX_MATH")
    return f"[U+{ord(c):04X}]"


def tex_escape(text: str, *, strict: bool = False) -> str:
    """``text`` (a caption: plain words, Unicode symbols, ``$…$`` math, ``x^2``, ``s_b``, ```code```) as ASCII
    that pdflatex reads in a BibTeX field: TeX specials escaped, Unicode symbols as TeX commands, ``x^2`` and
    ``s_b`` as math, ``$…$`` kept as math (its Unicode converted), ```code``` as ``\texttt``. A character with no
    TeX form raises ``ValueError`` with ``strict`` (the tests), else is written as ``[U+XXXX]``."""
    out = []
    for i, part in enumerate(re.split(r"(\$[^$]+\$|`[^`]+`)", text)):
        if i % 2 and part.startswith("$"):
            math = "".join(_tex_char(c, math=True, strict=strict) for c in part[1:-1])
            out.append("$" + re.sub(r"(\\[A-Za-z]+) (?=[ ,.;:)}\]^_])", r"\1", math) + "$")
        elif i % 2:
            out.append(r"\texttt{" + "".join(_tex_char(c, math=False, strict=strict) for c in part[1:-1]) + "}")
        else:
            # x^2, x^{-1}, d^(1/2), s_b: a superscript or subscript outside $…$ is math.
            pieces = re.split(r"([\^_](?:\{[^{}]*\}|\([^()]*\)|[-+]?[A-Za-z0-9.]*[A-Za-z0-9]))", part)
            for j, piece in enumerate(pieces):
                if j % 2:
                    op, arg = piece[0], piece[1:]
                    arg = arg[1:-1] if arg.startswith("{") else arg
                    inner = "".join(_tex_char(c, math=True, strict=strict) for c in arg)
                    out.append(r"\ensuremath{" + op + "{" + inner + "}}")
                else:
                    out.append("".join(_tex_char(c, math=False, strict=strict) for c in piece))
    return "".join(out)


def book_bibtex(url: str, year: str = "2026", *, version: str = "", commit: str = "", date: str = "") -> str:
    """BibTeX entry for the book as a whole (with its ``version``, ``commit`` and ``date`` when given)."""
    note = _edition(version, commit, date)
    return (f"@book{{{BOOK_BIBTEX_KEY},\n  title   = {{featlearn: Feature Learning beyond the Kernel Regime}},\n"
            f"  author  = {{{{The featlearn authors}}}},\n  year    = {{{year}}},\n"
            + (f"  version = {{{version}}},\n" if version else "")
            + (f"  date    = {{{date}}},\n" if date else "")
            + (f"  note    = {{{note}}},\n" if note else "")
            + f"  url     = {{{url}}}\n}}")


def _edition(version: str, commit: str, date: str) -> str:
    parts = ([f"version {version}"] if version else []) + ([f"commit {commit[:12]}"] if commit else []) \
        + ([f"built {date}"] if date else [])
    return ", ".join(parts)


def figure_url(record: dict, url: str, version: str = "", ext: str = "pdf") -> str:
    """The stable URL of a figure's file: ``<url>/figures/<version>/<chapter>-<name>.<ext>`` (the version's own
    folder, so a citation keeps pointing at what was cited), or ``<url>/figures/…`` without a version."""
    stem = f"{record['chapter']}-{record['name']}"
    return f"{url.rstrip('/')}/figures/" + (f"{version}/" if version else "") + f"{stem}.{ext}"


def figure_bibtex(record: dict, url: str, year: str = "2026", *, version: str = "", commit: str = "",
                  date: str = "", strict: bool = False) -> str:
    """BibTeX entry for one figure: its number and caption (as TeX that pdflatex reads, :func:`tex_escape`), the
    book's version, commit and build date, and the versioned URL of its PDF file (:func:`figure_url`). The entry
    is ASCII; its fields work with BibTeX (``howpublished``, ``note``) and biblatex (``url``, ``version``,
    ``date``)."""
    stem = f"{record['chapter']}-{record['name']}"
    num = record.get("number", "")
    caption = str(record.get("caption", "")).strip()
    title = (f"Figure {num}: " if num else "Figure: ") + tex_escape(caption, strict=strict)
    link = figure_url(record, url, version)
    note = "In: featlearn: Feature Learning beyond the Kernel Regime"
    edition = _edition(version, commit, date)
    return (f"@misc{{featlearn-{stem},\n  title        = {{{{{title.rstrip(': ')}}}}},\n"
            f"  author       = {{{{The featlearn authors}}}},\n  year         = {{{year}}},\n"
            + (f"  version      = {{{version}}},\n" if version else "")
            + (f"  date         = {{{date}}},\n" if date else "")
            + f"  howpublished = {{\\url{{{link}}}}},\n  url          = {{{link}}},\n"
            f"  note         = {{{note}" + (f" ({edition})" if edition else "") + "}\n}")


_THOUSANDS = re.compile(r"^[-+]?\d{1,3}(,\d{3})+(\.\d+)?$")


class _Text(str):
    """A string whose ``repr`` is its text, so that ``{glue:text}`` shows ``quick`` rather than ``'quick'``.

    myst-nb reads a glued value's text with :func:`ast.literal_eval`, which turns ``8,192`` into the tuple
    ``(8, 192)`` and ``0.5, 1, 2`` into ``(0.5, 1, 2)``: such a text is given quoted, which ``literal_eval`` reads
    back as the string itself."""

    def __repr__(self) -> str:
        import ast

        text = str(self)
        try:
            read = ast.literal_eval(text)
        except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
            return text
        return text if str(read) == text else repr(text)


def glue_text(value: str) -> str:
    """The text :func:`glue` publishes for a string: a number with thousands commas (``8,192``) in SI style with
    a narrow no-break space (``8 192``), anything else unchanged."""
    return value.replace(",", "\u202f") if _THOUSANDS.match(value.strip()) else value


def listed(items: Sequence) -> str:
    """Items for a sentence: ``"a"``, ``"a and b"``, ``"a, b and c"`` (a glued list in a chapter's prose)."""
    words = [str(v) for v in items]
    if not words:
        raise ValueError("items must hold at least one item")
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def glue(name: str, value, *, display: bool = False):
    """Make ``value`` available to the chapter's text as ``{glue:text}`name``` (myst-nb), so numbers in the
    prose come from the run. Strings appear without quotes and read as themselves (``"8,192"`` shows ``8 192``,
    never the tuple ``(8, 192)``: :class:`_Text`, :func:`glue_text`). Outside a myst-nb build (e.g. on Colab without
    myst-nb) it only returns ``value``."""
    try:
        from myst_nb import glue as _glue
    except ImportError:
        return value
    _glue(name, _Text(glue_text(value)) if isinstance(value, str) else value, display=display)
    return value


def _plain(value: Any) -> Any:
    """A NumPy scalar or 0-d array as the Python scalar it holds (its text is then ``0.25``, which myst-nb can
    format, not ``np.float64(0.25)``); anything else unchanged."""
    if isinstance(value, np.generic) or (isinstance(value, np.ndarray) and value.ndim == 0):
        return value.item()
    if hasattr(value, "shape") and hasattr(value, "dtype") and value.shape == ():  # a 0-d jax.Array
        return np.asarray(value).item()
    return value


def _shown(v: Any) -> str:
    from .scorecard import format_number

    if isinstance(v, float | int) and not isinstance(v, bool):
        return format_number(v, 4)
    text = str(v)
    return text if len(text) <= 60 else text[:57] + "…"


class Glued(dict):
    """What :func:`glue_values` glued, by name (a ``dict``). A notebook shows it folded, as one line ("12 values
    glued for the text") over a two-column table, never as a dict's repr."""

    def __repr__(self) -> str:
        shown = ", ".join(f"{k} = {_shown(v)}" for k, v in list(self.items())[:4])
        return f"{len(self)} values glued for the text: {shown}" + (", …" if len(self) > 4 else "")

    def _repr_html_(self) -> str:
        import html

        rows = "".join(f"<tr><td><code>{html.escape(k)}</code></td><td>{html.escape(_shown(v))}</td></tr>"
                       for k, v in self.items())
        return (f'<details class="featlearn-glued"><summary>{len(self)} values glued for the text</summary>'
                f'<table class="table"><tbody>{rows}</tbody></table></details>')


class Table:
    """Rows of numbers shown as a table (HTML in a notebook, aligned text elsewhere), never as a dict's repr: made
    by :func:`table`."""

    def __init__(self, rows: dict[str, list[str]], header: list[str], note: str):
        self.rows, self.header, self.note = rows, header, note

    def __repr__(self) -> str:
        width = max(len(k) for k in self.rows) if self.rows else 0
        lines = [" " * width + "  " + "  ".join(self.header)] if self.header else []
        lines += [f"{k:<{width}}  " + "  ".join(v) for k, v in self.rows.items()]
        return "\n".join(lines + ([self.note] if self.note else []))

    def _repr_html_(self) -> str:
        import html

        head = ("<thead><tr><th></th>" + "".join(f"<th>{html.escape(h)}</th>" for h in self.header)
                + "</tr></thead>") if self.header else ""
        body = "".join("<tr><th>" + html.escape(k) + "</th>" + "".join(f"<td>{html.escape(c)}</td>" for c in v)
                       + "</tr>" for k, v in self.rows.items())
        note = f"<caption>{html.escape(self.note)}</caption>" if self.note else ""
        return f'<table class="table featlearn-numbers">{note}{head}<tbody>{body}</tbody></table>'


def table(rows: Mapping[str, Any], *, header: Sequence[Any] | None = None, digits: int = 3, note: str = "") -> Table:
    """Numbers for a reader: one row per item of ``rows`` (a scalar, or a 1-d array whose entries are the columns,
    named by ``header``), each number with ``digits`` significant digits. End a notebook cell with it."""
    from .scorecard import format_number

    shown = {str(k): [format_number(_plain(x), digits) for x in np.atleast_1d(np.asarray(v)).ravel()]
             for k, v in rows.items()}
    return Table(shown, [str(h) for h in header] if header is not None else [], note)


def glue_values(values: Mapping[str, Any], *, prefix: str = "", fmt: str | None = None) -> Glued:
    """:func:`glue` each item of ``values`` as ``prefix + name``, in order: one call in place of a loop of
    ``glue`` calls. NumPy scalars are glued as Python scalars; with ``fmt`` (a format spec such as ``".3f"``),
    every number (not a string or a bool) is glued as ``format(value, fmt)`` instead. Returns what was glued,
    by full name (a :class:`Glued`, which a notebook shows folded)."""
    if not isinstance(prefix, str):
        raise ValueError(f"prefix must be a string, got {prefix!r}")
    glued = Glued()
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
