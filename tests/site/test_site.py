"""The built HTML book: launch and download buttons, offline assets, fixed-name figures and the gallery."""

import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import nbsetup  # noqa: E402


def _pages(html_dir):
    return sorted(html_dir.glob("book/*.html"))


def _chapter_pages(html_dir):
    return [html_dir / "book" / f"{p.stem}.html" for p in nbsetup.chapter_notebooks(ROOT)]


def test_every_launch_url_points_at_a_file_in_the_repository(html_dir):
    tracked = set(subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split())
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    repo = config["repository"]["url"].removeprefix("https://github.com/")
    found = 0
    for page in _pages(html_dir):
        for url in set(re.findall(r'https://colab\.research\.google\.com/github/[^"\'<> ]+', page.read_text())):
            prefix = f"https://colab.research.google.com/github/{repo}/blob/main/"
            assert url.startswith(prefix), f"{page.name}: launch URL {url} is not on {repo}@main"
            path = url.removeprefix(prefix)
            assert path.endswith(".ipynb"), f"{page.name}: launch URL {url} is not a notebook Colab can open"
            assert path in tracked, f"{page.name}: launch URL points at {path}, which is not in the repository"
            found += 1
    assert found >= len(_chapter_pages(html_dir))


def test_every_chapter_has_colab_and_download_buttons(html_dir):
    for page in _chapter_pages(html_dir):
        text = page.read_text()
        assert "colab.research.google.com" in text, f"{page.name}: no Colab launch button"
        assert re.search(r'href="[^"]*_sources/book/[^"]+\.ipynb"', text), f"{page.name}: no .ipynb download"
        assert "pdf-button" in text, f"{page.name}: no PDF download button"


def test_no_page_loads_scripts_or_styles_from_the_internet(html_dir):
    for page in sorted(html_dir.rglob("*.html")):
        text = page.read_text()
        remote = re.findall(r'<(?:script|link)[^>]+(?:src|href)="(https?://[^"]+)"', text)
        remote = [u for u in remote if not re.search(r"\.(ipynb|html)$|github\.com/|colab\.research", u)]
        assert not remote, f"{page.relative_to(html_dir)} loads {remote}"
    assert (html_dir / "_static" / "mathjax" / "tex-mml-chtml.js").exists()
    page = (html_dir / "book" / "intro.html").read_text()
    assert re.search(r'<script[^>]+src="[^"]*_static/mathjax/tex-mml-chtml\.js', page), "MathJax is not local"
    assert page.count("_static/mathjax/") == 1, "only MathJax's entry script may be loaded by the page itself"


def test_fixed_name_figures_are_published_and_the_gallery_lists_exactly_them(html_dir):
    figs = html_dir / "figures"
    records = sorted(figs.glob("*.json"))
    assert records, "no figure records were published"
    gallery = (html_dir / "book" / "gallery.html").read_text()
    cite = (html_dir / "book" / "how-to-cite.html").read_text()
    for rec in records:
        stem = rec.stem
        for ext in ("pdf", "png", "svg", "csv"):
            assert (figs / f"{stem}.{ext}").stat().st_size > 0, f"missing {stem}.{ext}"
        assert f"../figures/{stem}.png" in gallery, f"the gallery does not show {stem}"
        assert f"featlearn-{stem}" in cite, f"the citation page has no BibTeX for {stem}"
    shown = set(re.findall(r'\.\./figures/([a-z0-9-]+)\.png', gallery))
    assert shown == {r.stem for r in records}, "the gallery shows figures that the chapters did not write"


def test_status_page_reports_profile_and_execution(html_dir):
    text = (html_dir / "book" / "status.html").read_text()
    table = re.search(r'<table[^>]*featlearn-status.*?</table>', text, re.S)
    assert table, "the status page has no versions table"
    assert re.search(r"<th[^>]*>profile</th><td>(quick|paper)</td>", table.group(0)), "no profile row"
    assert re.search(r"<th[^>]*>jax</th><td>\d", table.group(0)), "no JAX version row"
    for page in _chapter_pages(html_dir):
        assert page.stem in text, f"the status page has no execution row for {page.stem}"


def test_setup_cell_is_folded_on_chapters_and_absent_from_other_pages(html_dir):
    chapters = set(_chapter_pages(html_dir))
    for page in _pages(html_dir):
        text = page.read_text()
        cells = re.findall(r'<div class="cell([^"]*)"[^>]*>(?:(?!<div class="cell[ "]).)*?FEATLEARN_SOURCE', text, re.S)
        if page in chapters:
            assert cells, f"{page.name}: the Colab set-up cell is missing"
            assert all("tag_hide-input" in c for c in cells), f"{page.name}: the set-up cell's input is not folded"
        else:
            assert "FEATLEARN_SOURCE" not in text, f"{page.name}: a reference page shows the Colab set-up cell"


def test_the_scorecard_lists_every_check_of_every_chapter(html_dir):
    """The rows the chapters recorded in this build against the checks written in their sources: every literal
    claim id of a `card.check`/`card.note` call has a row, no row says failed, and the page shows every row. The
    checks of a chapter's "At the papers' scale" section (ids `stored-...`) run only when the chapter has stored
    results (`featlearn.results.load`), so their rows are required exactly then."""
    import json
    import sys

    from featlearn import results

    sys.path.insert(0, str(ROOT / "tests"))
    import test_book_sources as sources

    page = (html_dir / "book" / "scorecard.html").read_text()
    intro = (html_dir / "book" / "intro.html").read_text()
    for path in sources.nbsetup.chapter_notebooks(ROOT):
        record = html_dir / "figures" / "scorecard" / f"{path.stem}.json"
        assert record.is_file(), f"{path.stem} recorded no scorecard in this build"
        rows = json.loads(record.read_text())["rows"]
        claims = {r["claim"] for r in rows}
        stored = results.load(path.stem) is not None  # where the build read them ($FEATLEARN_RESULTS or results/)
        missing = [c for c in sources.scorecard_claims(path) if stored or not c.startswith("stored-")
                   if not (any(r.startswith(c[:-1]) for r in claims) if c.endswith("*") else c in claims)]
        assert not missing, f"{path.stem}: checks without a scorecard row: {missing}"
        assert rows and all(r["status"] != "failed" for r in rows), f"{path.stem}: a failed or empty scorecard"
        cell = f'<td><a href="{path.stem}.html'
        for name, html in (("the scorecard page", page), ("the landing page", intro)):
            assert html.count(cell) == len(rows), f"{path.stem}: {name} shows {html.count(cell)} of {len(rows)} rows"
