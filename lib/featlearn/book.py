"""The book's own pages that are generated from what the chapters wrote: the figure gallery, the citation page
and the status page. They read ``_config.yml`` and ``_toc.yml`` at the repository root and the figure records
written by :func:`featlearn.figures.save_figure`, so they cannot drift from the chapters."""

from __future__ import annotations

import html
from pathlib import Path

import yaml

from ._paths import figure_dir, project_root
from .figures import book_bibtex, figure_bibtex, figure_records

CHAPTERS_CAPTION = "Chapters"


def config(root: Path | None = None) -> dict:
    return yaml.safe_load(((root or project_root()) / "_config.yml").read_text())


def site_url(root: Path | None = None) -> str:
    """The published book's base URL (``html.baseurl`` in ``_config.yml``)."""
    return config(root)["html"]["baseurl"].rstrip("/")


def chapters(root: Path | None = None) -> list[str]:
    """Chapter names (notebook stems) in reading order: the entries of the ``Chapters`` part of ``_toc.yml``."""
    toc = yaml.safe_load(((root or project_root()) / "_toc.yml").read_text())
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
