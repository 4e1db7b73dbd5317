"""The book's own pages that are generated from what the chapters wrote: the figure gallery, the citation page
and the status page. They read ``_config.yml`` and ``_toc.yml`` at the repository root and the figure records
written by :func:`featlearn.figures.save_figure`, so they cannot drift from the chapters."""

from __future__ import annotations

import html
import re
from pathlib import Path

from ._paths import figure_dir, project_root
from .figures import BOOK_BIBTEX_KEY, book_bibtex, figure_bibtex, figure_records, figure_url

CHAPTERS_CAPTION = "Chapters"


def _yaml(path: Path) -> dict:
    import yaml  # on use: ``import featlearn`` does not need it (the chapters never call this module)

    return yaml.safe_load(path.read_text())


def config(root: Path | None = None) -> dict:
    """The book's ``_config.yml``."""
    return _yaml((root or project_root()) / "_config.yml")


def site_url(root: Path | None = None) -> str:
    """The published book's base URL (``html.baseurl`` in ``_config.yml``)."""
    return config(root)["html"]["baseurl"].rstrip("/")


def chapters(root: Path | None = None) -> list[str]:
    """Chapter names (notebook stems) in reading order: :data:`featlearn.registry.CHAPTERS`. (``root`` is
    accepted for the callers that pass a checkout; the list does not depend on it.)"""
    from .registry import CHAPTERS

    return list(CHAPTERS)


def toc_chapters(root: Path | None = None) -> list[str]:
    """The notebook stems of the ``Chapters`` part of ``_toc.yml``, in order (for the test that it lists the
    registry's chapters)."""
    toc = _yaml((root or project_root()) / "_toc.yml")
    for part in toc.get("parts", []):
        if part.get("caption") == CHAPTERS_CAPTION:
            return [Path(c["file"]).name for c in part.get("chapters", [])]
    return []


def edition(root: Path | None = None) -> dict[str, str]:
    """What a citation of this build names: the library's ``version``, the git ``commit`` the book was built from
    (``"unknown"`` outside a checkout) and its ``date``
    (the commit's date, so the same commit cites the same date; ``$SOURCE_DATE_EPOCH`` or today outside git)."""
    import datetime
    import os
    import subprocess

    from ._version import __version__
    from .results import git_commit

    where = root or project_root()
    commit, _ = git_commit(where)
    date = ""
    if commit != "unknown":
        try:
            date = subprocess.run(["git", "-C", str(where), "log", "-1", "--format=%cs", commit], capture_output=True,
                                  text=True, check=True, timeout=20).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            date = ""
    if not date:
        epoch = os.environ.get("SOURCE_DATE_EPOCH")
        now = datetime.datetime.now(datetime.UTC)
        date = (datetime.datetime.fromtimestamp(int(epoch), datetime.UTC) if epoch else now).date().isoformat()
    return {"version": __version__, "commit": commit, "date": date}


def _bibtex_block(key: str, entry: str) -> str:
    """A BibTeX entry in a ``<pre>`` with a copy button (book/_static/featlearn.js)."""
    return (f'<div class="featlearn-bibtex"><button type="button" class="featlearn-copy" data-copy="bib-{key}" '
            f'title="Copy this BibTeX entry">Copy BibTeX</button><pre id="bib-{key}">{html.escape(entry)}</pre></div>')


def gallery_html(root: Path | None = None, link_prefix: str = "../figures/") -> str:
    """HTML for the gallery: each figure with its number, caption, chapter, file links (this version's folder,
    :func:`featlearn.figures.figure_url`) and its BibTeX with a copy button."""
    recs = figure_records(figure_dir(), chapters(root))
    url, ed = site_url(root), edition(root)
    out = []
    for r in recs:
        stem = f"{r['chapter']}-{r['name']}"
        links = " · ".join(f'<a href="{link_prefix}{html.escape(f)}">{html.escape(f.rsplit(".", 1)[1].upper())}</a>'
                           for f in r["files"])
        stable = figure_url(r, url, ed["version"])
        bib = figure_bibtex(r, url, version=ed["version"], commit=ed["commit"], date=ed["date"])
        out.append(
            f'<figure class="featlearn-gallery" id="fig-{stem}">'
            f'<img src="{link_prefix}{stem}.png" alt="{html.escape(r["caption"])}" style="max-width:100%">'
            f'<figcaption><b>Figure {r["number"]}</b> (<a href="{r["chapter"]}.html">{html.escape(r["chapter"])}</a>). '
            f'{html.escape(r["caption"])}<br>Files: {links}. Cite: <a href="{html.escape(stable)}">'
            f"{html.escape(stable)}</a></figcaption>"
            f"<details><summary>BibTeX</summary>{_bibtex_block('featlearn-' + stem, bib)}</details>"
            "</figure>")
    if not out:
        return "<p>No figures have been written yet: build the chapters first.</p>"
    return "\n".join(out)


def citation_html(root: Path | None = None) -> str:
    """HTML for the citation page: BibTeX for the book and for every figure (each with a copy button), naming
    this build's version, commit and date (:func:`edition`)."""
    url, ed = site_url(root), edition(root)
    parts = [f'<p class="featlearn-edition">This build: featlearn {html.escape(ed["version"])}, commit '
             f'<code>{html.escape(ed["commit"][:12])}</code>, {html.escape(ed["date"])}.</p>',
             "<h2>The book</h2>", _bibtex_block(BOOK_BIBTEX_KEY, book_bibtex(url, **ed)), "<h2>Each figure</h2>"]
    for r in figure_records(figure_dir(), chapters(root)):
        stem = f"{r['chapter']}-{r['name']}"
        parts += [f'<p id="cite-{stem}"><a href="gallery.html#fig-{stem}"><b>Figure {r["number"]}</b></a> — '
                  f"{html.escape(r['caption'])}</p>",
                  _bibtex_block(f"featlearn-{stem}", figure_bibtex(r, url, **ed))]
    return "\n".join(parts)


def citation_markdown(root: Path | None = None) -> str:
    """Markdown for the citation page: BibTeX for the book and for every figure."""
    url, ed = site_url(root), edition(root)
    parts = ["## The book", "", "```bibtex", book_bibtex(url, **ed), "```", "", "## Each figure", ""]
    for r in figure_records(figure_dir(), chapters(root)):
        parts += [f"**Figure {r['number']}** — {r['caption']}", "", "```bibtex", figure_bibtex(r, url, **ed), "```",
                  ""]
    return "\n".join(parts)


def status_table() -> dict[str, str]:
    """Facts about the run that built the book: profile, library versions and devices."""
    import flax
    import jax

    from . import profiles
    from ._version import __version__

    return {"profile": profiles.active(), "featlearn": __version__, "jax": jax.__version__, "flax": flax.__version__,
            "devices": ", ".join(f"{d.platform}:{d.device_kind}" for d in jax.devices())}


def status_html() -> str:
    """HTML for the status page's table of :func:`status_table` (HTML, so no Markdown flavour can leave it as
    text)."""
    rows = "".join(f'<tr><th scope="row">{html.escape(k)}</th><td>{html.escape(v)}</td></tr>'
                   for k, v in status_table().items())
    return ('<table class="table featlearn-status"><thead><tr><th>Built with</th><th>Value</th></tr></thead>'
            f"<tbody>{rows}</tbody></table>")


_STATUS_ORDER = ("reproduced", "partly", "not reproduced", "not measured", "not claimed", "library identity",
                 "failed")
#: Column heads of the verdict tables (``library identity`` rows are listed but not counted as reproductions).
_STATUS_HEADS = {"reproduced": "Reproduced", "partly": "Partly", "not reproduced": "Not reproduced",
                 "not measured": "Not measured", "not claimed": "Not claimed", "library identity": "Library identity",
                 "failed": "Failed"}
#: The same, in two lines for the narrow count columns of the verdict table.
_STATUS_HEADS_SHORT = {"reproduced": "Repro&shy;duced", "partly": "Partly", "not reproduced": "Not<br>reproduced",
                       "not measured": "Not<br>measured", "not claimed": "Not<br>claimed",
                       "library identity": "Library<br>identity (not<br>counted)", "failed": "Failed"}
_PRF = re.compile(r"```\{prf:(\w+)\}[ \t]*(.*)\n(?:(?!```).*\n)*?:label:\s*(\S+)")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


_TEX_WORDS = {"alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "varepsilon": "ε",
              "eta": "η", "theta": "θ", "kappa": "κ", "lambda": "λ", "mu": "μ", "nu": "ν", "pi": "π", "rho": "ρ",
              "sigma": "σ", "tau": "τ", "phi": "φ", "varphi": "φ", "chi": "χ", "psi": "ψ", "omega": "ω",
              "Sigma": "Σ", "Omega": "Ω", "Theta": "Θ", "top": "ᵀ", "star": "*", "ast": "*", "infty": "∞",
              "leq": "≤", "geq": "≥", "le": "≤", "ge": "≥", "to": "→", "in": "∈", "cdot": "·", "times": "×",
              "asymp": "≍", "propto": "∝", "sim": "∼", "approx": "≈", "mathbb": "", "mathrm": "", "mathcal": "",
              "operatorname": "", "boldsymbol": "", "mathbf": "", "R": "ℝ"}


def _math_html(text: str) -> str:
    """Escaped text whose ``$…$`` parts are written as plain symbols (``$f^*$`` → ``f*``, ``$\\kappa_0$`` → ``κ0``):
    a table cell outside MathJax's reach must not show raw TeX."""
    def plain(tex: str) -> str:
        tex = re.sub(r"\\([A-Za-z]+)", lambda m: _TEX_WORDS.get(m.group(1), m.group(1)), tex)
        return re.sub(r"[{}^_\\]|\s+(?=\W)", "", tex)

    parts = re.split(r"\$([^$]+)\$", text)
    return "".join(html.escape(t) if i % 2 == 0 else f"<i>{html.escape(plain(t))}</i>" for i, t in enumerate(parts))


def theorem_titles(root: Path | None = None) -> dict[str, str]:
    """``{label: "Theorem: its title"}`` for every ``prf`` block of every chapter (read from the notebooks' Markdown),
    so a scorecard row can say which result it checks."""
    import json

    out = {}
    for ch in chapters(root):
        path = (root or project_root()) / "book" / f"{ch}.ipynb"
        if not path.is_file():
            continue
        cells = json.loads(path.read_text()).get("cells", [])
        for c in cells:
            if c.get("cell_type") != "markdown":
                continue
            src = "".join(c.get("source", []))
            for kind, title, label in _PRF.findall(src + "\n"):
                out[label] = f"{kind.capitalize()}: {title.strip()}" if title.strip() else kind.capitalize()
    return out


def _rows(root: Path | None = None) -> list[tuple[str, dict]]:
    """Every scorecard row with its chapter, in book order."""
    from .scorecard import records

    return [(rec["chapter"], r) for rec in records(chapters=chapters(root)) for r in rec["rows"]]


def papers(root: Path | None = None) -> dict[str, dict]:
    """The rows by paper, papers in the order the book first checks them: ``{paper: {"slug", "chapters",
    "counts" (by status), "rows" [(chapter, row)]}}``."""
    out: dict[str, dict] = {}
    for ch, r in _rows(root):
        p = out.setdefault(r["paper"], {"slug": "paper-" + _slug(r["paper"]), "chapters": [],
                                        "counts": dict.fromkeys(_STATUS_ORDER, 0), "rows": []})
        if ch not in p["chapters"]:
            p["chapters"].append(ch)
        p["counts"][r["status"]] += 1
        p["rows"].append((ch, r))
    return out


def scorecard_counts(root: Path | None = None) -> dict[str, int]:
    """How many rows of the scorecard say each status (see :mod:`featlearn.scorecard`)."""
    from .scorecard import STATUSES

    counts = dict.fromkeys(STATUSES, 0)
    for _, r in _rows(root):
        counts[r["status"]] += 1
    return counts


def check_anchor(chapter: str, claim: str) -> str:
    """The id of a check's verdict line in its chapter (:class:`featlearn.scorecard.Verdict`)."""
    from .scorecard import check_anchor as anchor

    return anchor(chapter, claim)


def _summary_line(counts: dict[str, int]) -> str:
    counted = sum(n for s, n in counts.items() if s != "library identity")
    words = [f"{counts[s]} {w}" for s, w in (("reproduced", "reproduced"), ("partly", "partly reproduced"),
                                             ("not reproduced", "not reproduced"), ("not measured", "not measured"),
                                             ("not claimed", "not claimed by the paper"), ("failed", "failed"))
             if counts.get(s)]
    n_id = counts.get("library identity", 0)
    extra = f" (and {n_id} {'identity' if n_id == 1 else 'identities'} of the library, not counted)" if n_id else ""
    return f"{counted} claims: " + ", ".join(words) + extra + "."


def verdict_html(root: Path | None = None, scorecard_page: str = "scorecard.html") -> str:
    """The per-paper verdict table (the landing page's first result, and the scorecard page's summary): one row per
    paper, the number of its claims in each status; each count links to those rows of the scorecard, and the
    claims not reproduced or only partly so are listed under the table, each linked to its check."""
    ps = papers(root)
    if not ps:
        return "<p>No chapter has recorded a check yet: build the chapters first.</p>"
    shown = [s for s in _STATUS_ORDER if s != "failed" or any(p["counts"]["failed"] for p in ps.values())]
    head = "".join(f'<th class="featlearn-count featlearn-{s.replace(" ", "-")}">{_STATUS_HEADS_SHORT[s]}</th>'
                   for s in shown)
    body = []
    for paper, p in ps.items():
        cells = []
        for s in shown:
            n = p["counts"][s]
            cls = f'featlearn-count featlearn-{s.replace(" ", "-")}'
            cells.append(f'<td class="{cls}"><a href="{scorecard_page}?status={s.replace(" ", "-")}#{p["slug"]}">{n}'
                         "</a></td>" if n else f'<td class="{cls} featlearn-zero">0</td>')
        chs = ", ".join(f'<a href="{c}.html">{html.escape(c)}</a>' for c in p["chapters"])
        body.append(f'<tr><th scope="row"><a href="{scorecard_page}#{p["slug"]}">{html.escape(paper)}</a>'
                    f'<span class="featlearn-chapters">{chs}</span></th>' + "".join(cells) + "</tr>")
    counts = scorecard_counts(root)
    table = ('<div class="featlearn-verdict-wrap"><table class="table featlearn-verdicts"><thead><tr>'
             f"<th>Paper (chapter)</th>{head}</tr></thead><tbody>" + "".join(body) + "</tbody></table></div>")
    shortfalls = []
    for paper, p in ps.items():
        items = [f'<a href="{ch}.html#{check_anchor(ch, r["claim"])}">{html.escape(r["measured"])}</a> '
                 f'<span class="featlearn-tag featlearn-{r["status"].replace(" ", "-")}">{r["status"]}</span>'
                 for ch, r in p["rows"] if r["status"] in ("not reproduced", "partly", "failed")]
        if items:
            shortfalls.append(f"<li><b>{html.escape(paper)}</b>: " + "; ".join(items) + "</li>")
    notes = ('<details class="featlearn-shortfalls"><summary>Which claims do not reproduce, or only in part</summary>'
             "<ul>" + "".join(shortfalls) + "</ul></details>") if shortfalls else ""
    return (f'<p class="featlearn-scorecard-summary">{html.escape(_summary_line(counts))}</p>' + table + notes)


def _value_cell(r: dict) -> str:
    from .scorecard import format_value

    short, full = format_value(r), format_value(r, limit=None)
    if len(full) <= 60:
        return html.escape(full)
    return f"<details><summary>{html.escape(short if len(short) <= 60 else short[:57] + '…')}</summary>" \
           f'<span class="featlearn-long">{html.escape(full)}</span></details>'


def scorecard_filter_html() -> str:
    """The status filter above the scorecard (book/_static/featlearn.js wires it; without script, every row)."""
    boxes = "".join(f'<label><input type="checkbox" value="{s.replace(" ", "-")}" checked> {_STATUS_HEADS[s].lower()}'
                    "</label>" for s in _STATUS_ORDER)
    return f'<form class="featlearn-filter" aria-label="Show the rows whose outcome is">Show: {boxes}</form>'


def scorecard_html(root: Path | None = None, link_prefix: str = "", collapsed: bool = False) -> str:
    """HTML for the reproduction scorecard: the per-paper summary (:func:`verdict_html`), a status filter, then
    every check (or noted claim) of every chapter, as the chapters recorded them in this build
    (:class:`featlearn.scorecard.Card`), grouped by paper and, within a paper, by the theorem it checks. Each row
    links to its check in the chapter. ``collapsed``: the rows folded under the summary."""
    from .scorecard import STATUS_WORDS, interval_of

    ps = papers(root)
    if not ps:
        return "<p>No chapter has recorded a check yet: build the chapters first.</p>"
    titles = theorem_titles(root)
    sections = []
    for paper, p in ps.items():
        by_thm: dict[tuple[str, str], list[dict]] = {}
        for ch, r in p["rows"]:
            by_thm.setdefault((ch, r["theorem"]), []).append(r)
        body = []
        for (ch, thm), rows in by_thm.items():
            name = _math_html(titles.get(thm, thm or "Checks without a theorem"))
            where = f"{link_prefix}{ch}.html" + (f"#{html.escape(thm)}" if thm else "")
            body.append(f'<tr class="featlearn-theorem"><th colspan="5"><a href="{where}">{name}</a> '
                        f'<span class="featlearn-where">({html.escape(ch)})</span></th></tr>')
            for r in rows:
                label = "estimate [interval]: " if interval_of(r) is not None else ""
                status = r["status"].replace(" ", "-")
                body.append(
                    f'<tr class="featlearn-row featlearn-{status}" data-status="{status}" '
                    f'id="row-{ch}-{html.escape(r["claim"])}">'
                    f'<td><a href="{link_prefix}{ch}.html#{check_anchor(ch, r["claim"])}">'
                    f'<span class="featlearn-tag featlearn-{status}">{STATUS_WORDS[r["status"]]}</span></a></td>'
                    f'<td>{html.escape(r["measured"])}</td>'
                    f'<td class="featlearn-value"><span class="featlearn-label">{label}</span>{_value_cell(r)}</td>'
                    f'<td>{html.escape(r["threshold"])}</td><td>{html.escape(r["scale"])}</td></tr>')
        counts = ", ".join(f"{n} {STATUS_WORDS[s]}" for s, n in p["counts"].items() if n)
        sections.append(
            f'<section class="featlearn-paper" id="{p["slug"]}"><h3>{html.escape(paper)}</h3>'
            f'<p class="featlearn-paper-summary">{counts}.</p>'
            '<div class="featlearn-scorecard-wrap"><table class="table featlearn-scorecard"><colgroup>'
            '<col class="c-outcome"><col class="c-measured"><col class="c-value"><col class="c-threshold">'
            '<col class="c-scale"></colgroup><thead><tr><th>Outcome</th><th>What is measured</th>'
            "<th>Value</th><th>Threshold</th><th>Scale</th></tr></thead><tbody>" + "".join(body)
            + "</tbody></table></div></section>")
    rows = scorecard_filter_html() + "".join(sections)
    if collapsed:
        return (verdict_html(root, f"{link_prefix}scorecard.html")
                + f'<details class="featlearn-scorecard"><summary>Show every check.</summary>{rows}</details>')
    return verdict_html(root, "") + f'<div class="featlearn-scorecard">{rows}</div>'
