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
    return [html_dir / "book" / f"{p.stem}.html" for p in nbsetup.toc_notebooks(ROOT)]


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
    assert "quick" in text or "paper" in text
    assert "jax" in text.lower()
    for page in _chapter_pages(html_dir):
        assert page.stem in text, f"the status page has no execution row for {page.stem}"
