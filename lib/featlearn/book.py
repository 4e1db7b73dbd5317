"""The book's own pages that are generated from what the chapters wrote: the figure gallery, the citation page
and the status page. They read ``_config.yml`` and ``_toc.yml`` at the repository root and the figure records
written by :func:`featlearn.figures.save_figure`, so they cannot drift from the chapters."""

from __future__ import annotations

import html
from pathlib import Path

from ._paths import figure_dir, project_root
from .figures import book_bibtex, figure_bibtex, figure_records

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
    """Chapter names (notebook stems) in reading order: the entries of the ``Chapters`` part of ``_toc.yml``."""
    toc = _yaml((root or project_root()) / "_toc.yml")
    for part in toc.get("parts", []):
        if part.get("caption") == CHAPTERS_CAPTION:
            return [Path(c["file"]).name for c in part.get("chapters", [])]
    return []


def gallery_html(root: Path | None = None, link_prefix: str = "../figures/") -> str:
    """HTML for the gallery: each figure with its number, caption, chapter, file links and BibTeX."""
    recs = figure_records(figure_dir(), chapters(root))
    url = site_url(root)
    out = []
    for r in recs:
        stem = f"{r['chapter']}-{r['name']}"
        links = " · ".join(f'<a href="{link_prefix}{html.escape(f)}">{html.escape(f.rsplit(".", 1)[1].upper())}</a>'
                           for f in r["files"])
        out.append(
            f'<figure class="featlearn-gallery" id="fig-{stem}">'
            f'<img src="{link_prefix}{stem}.png" alt="{html.escape(r["caption"])}" style="max-width:100%">'
            f'<figcaption><b>Figure {r["number"]}</b> ({html.escape(r["chapter"])}). {html.escape(r["caption"])}'
            f"<br>Files: {links}</figcaption>"
            f"<details><summary>BibTeX</summary><pre>{html.escape(figure_bibtex(r, url))}</pre></details>"
            "</figure>")
    if not out:
        return "<p>No figures have been written yet: build the chapters first.</p>"
    return "\n".join(out)


def citation_markdown(root: Path | None = None) -> str:
    """Markdown for the citation page: BibTeX for the book and for every figure."""
    url = site_url(root)
    parts = ["## The book", "", "```bibtex", book_bibtex(url), "```", "", "## Each figure", ""]
    for r in figure_records(figure_dir(), chapters(root)):
        parts += [f"**Figure {r['number']}** — {r['caption']}", "", "```bibtex", figure_bibtex(r, url), "```", ""]
    return "\n".join(parts)


def status_table() -> dict[str, str]:
    """Facts about the run that built the book: profile, library versions and devices."""
    import flax
    import jax

    from . import __version__, profiles

    return {"profile": profiles.active(), "featlearn": __version__, "jax": jax.__version__, "flax": flax.__version__,
            "devices": ", ".join(f"{d.platform}:{d.device_kind}" for d in jax.devices())}


def status_html() -> str:
    """HTML for the status page's table of :func:`status_table` (HTML, so no Markdown flavour can leave it as
    text)."""
    rows = "".join(f'<tr><th scope="row">{html.escape(k)}</th><td>{html.escape(v)}</td></tr>'
                   for k, v in status_table().items())
    return ('<table class="table featlearn-status"><thead><tr><th>Built with</th><th>Value</th></tr></thead>'
            f"<tbody>{rows}</tbody></table>")


def _fmt_value(v) -> str:
    if isinstance(v, float):
        return f"{v:.3g}"
    if isinstance(v, list):
        return "[" + ", ".join(_fmt_value(x) for x in v[:6]) + (", …" if len(v) > 6 else "") + "]"
    return str(v)


_STATUS_WORDS = {"reproduced": "reproduced", "partly": "partly reproduced", "not reproduced": "not reproduced",
                 "not measured": "not measured", "not claimed": "not claimed by the paper",
                 "library identity": "library identity (not counted)", "failed": "FAILED"}


def scorecard_counts(root: Path | None = None) -> dict[str, int]:
    """How many rows of the scorecard say each status (see :mod:`featlearn.scorecard`)."""
    from .scorecard import STATUSES, records

    counts = dict.fromkeys(STATUSES, 0)
    for rec in records(chapters=chapters(root)):
        for r in rec["rows"]:
            counts[r["status"]] += 1
    return counts


def scorecard_html(root: Path | None = None, link_prefix: str = "", collapsed: bool = False) -> str:
    """HTML for the reproduction scorecard: one row per check (or noted claim) of every chapter, in book order,
    as the chapters recorded them in this build (:class:`featlearn.scorecard.Card`). ``collapsed``: the table
    folded under its one-line summary (for the landing page)."""
    from .scorecard import records

    recs = records(chapters=chapters(root))
    if not recs:
        return "<p>No chapter has recorded a check yet: build the chapters first.</p>"
    body = []
    for rec in recs:
        ch = rec["chapter"]
        for r in rec["rows"]:
            where = f'{link_prefix}{ch}.html' + (f'#{html.escape(r["theorem"])}' if r["theorem"] else "")
            status = _STATUS_WORDS[r["status"]]
            body.append(
                f'<tr class="featlearn-{r["status"].replace(" ", "-")}">'
                f'<td><a href="{where}">{html.escape(ch)}</a></td><td>{status}</td>'
                f'<td>{html.escape(r["measured"])}</td><td>{html.escape(_fmt_value(r["value"]))}</td>'
                f'<td>{html.escape(r["threshold"])}</td><td>{html.escape(r["scale"])}</td>'
                f'<td>{html.escape(r["paper"])}</td></tr>')
    counts = scorecard_counts(root)
    summary = (f'<p class="featlearn-scorecard-summary">{sum(counts.values())} claims: {counts["reproduced"]} '
               f'reproduced, {counts["partly"]} partly reproduced, {counts["not reproduced"]} not reproduced'
               + (f', <b>{counts["failed"]} failed</b>' if counts["failed"] else "") + ".</p>")
    table = ('<div class="featlearn-scorecard-wrap"><table class="table featlearn-scorecard"><thead><tr>'
             "<th>Chapter</th><th>Outcome</th><th>What is measured</th><th>Value</th><th>Threshold</th><th>Scale</th>"
             "<th>Paper</th></tr></thead><tbody>" + "".join(body) + "</tbody></table></div>")
    if collapsed:
        inner = summary.removeprefix('<p class="featlearn-scorecard-summary">').removesuffix("</p>")
        return f'<details class="featlearn-scorecard"><summary>{inner} Show every check.</summary>{table}</details>'
    return summary + table
