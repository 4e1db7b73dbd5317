"""Sphinx extension for the featlearn book: publish the fixed-name figure files, and read the generated pages
(gallery, citations, status) after every chapter, so they see the figures the chapters have just written.

Chapters write ``figures/<chapter>-<name>.{pdf,png,svg,csv,json}`` at the repository root. After the build, this
copies them to ``<html>/figures/`` and to ``<html>/figures/<version>/`` (the library's version), so that each figure
has a stable URL that can be cited and names the version cited (the images Sphinx embeds are named by a hash of
their bytes and must not be cited).
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

from docutils import nodes


def _copy_mathjax(app, exception) -> None:
    # Copied after the build, not placed in _static: Jupyter Book adds every .js file found in _static to every
    # page, which would load all of MathJax's components at once.
    if exception is not None or app.builder.format != "html":
        return
    src = Path(app.srcdir) / "_vendor" / "mathjax"
    if not (src / "tex-mml-chtml.js").is_file():
        raise RuntimeError("MathJax is not vendored: run `make book` (it fetches mathjax from the npm registry)")
    dst = Path(app.outdir) / "_static" / "mathjax"
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst)


def _copy_figures(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    src = Path(app.srcdir) / "figures"
    if not src.is_dir():
        return
    from featlearn import __version__

    dst = Path(app.outdir) / "figures"
    versioned = dst / __version__
    versioned.mkdir(parents=True, exist_ok=True)
    for p in sorted(src.iterdir()):
        if p.is_file():
            shutil.copyfile(p, dst / p.name)
            shutil.copyfile(p, versioned / p.name)
    # The chapters' scorecards (featlearn.scorecard), published beside the figures.
    if (src / "scorecard").is_dir():
        shutil.copytree(src / "scorecard", dst / "scorecard", dirs_exist_ok=True)


# The landing page shows a chapter's figure and the reference pages list every figure: read them after the
# chapters have written their figures.
GENERATED_LAST = ("book/intro", "book/scorecard", "book/gallery", "book/how-to-cite", "book/status")


def _read_generated_last(app, env, docnames: list[str]) -> None:
    # Sphinx reads documents in sorted order; myst-nb executes each notebook as it is read.
    late = [d for d in GENERATED_LAST if d in docnames]
    for d in late:
        docnames.remove(d)
    docnames.extend(late)


def _dedupe_scripts(app, pagename, templatename, context, doctree) -> None:
    # Jupyter Book 1 and the book theme both register sphinx-thebe and sphinx-togglebutton's inline set-up
    # scripts, so each page declared `const THEBE_JS_URL` twice (a console SyntaxError). Keep the first of each.
    files = context.get("script_files")
    if not files:
        return
    seen, kept = set(), []
    for js in files:
        attrs = getattr(js, "attributes", {}) or {}
        ident = (getattr(js, "filename", str(js)) or "", tuple(sorted((k, str(v)) for k, v in attrs.items())))
        if ident in seen:
            continue
        seen.add(ident)
        kept.append(js)
    context["script_files"] = kept


def _launch_only_ipynb(app, pagename, templatename, context, doctree) -> None:
    # The reference pages are MyST Markdown notebooks (executed in the build, nothing for a reader to run), and
    # Colab opens only .ipynb files: the book theme would still give them a launch button pointing at the .md.
    if Path(app.env.doc2path(pagename)).suffix == ".ipynb":
        return
    buttons = context.get("header_buttons")
    if buttons:
        context["header_buttons"] = [b for b in buttons if b.get("label") != "launch-buttons"]


def _save_figure_calls(source: str) -> list[ast.Call]:
    """The ``save_figure(...)`` calls in a code cell's source (none if it does not parse)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "save_figure"]


def figure_caption(source: str) -> str | None:
    """The ``caption=`` of the ``save_figure`` call in a code cell's source, or None. Implicitly concatenated
    literals are one string; the formatted parts of an f-string become "…"."""
    for node in _save_figure_calls(source):
        for kw in node.keywords:
            if kw.arg != "caption":
                continue
            if isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str):
                return kw.value.value
            if isinstance(kw.value, ast.JoinedStr):
                return "".join(v.value if isinstance(v, ast.Constant) else "…" for v in kw.value.values)
    return None


def figure_name(source: str) -> str | None:
    """The figure name (third argument, a string literal) of the ``save_figure`` call in a code cell, or None."""
    for node in _save_figure_calls(source):
        name = node.args[2] if len(node.args) > 2 else next((k.value for k in node.keywords if k.arg == "name"),
                                                               None)
        if isinstance(name, ast.Constant) and isinstance(name.value, str):
            return name.value
    return None


def _chapter_number(app, chapter: str) -> int | None:
    import yaml

    toc = yaml.safe_load((Path(app.srcdir) / "_toc.yml").read_text())
    for part in toc.get("parts", []):
        if part.get("caption") == "Chapters":
            names = [Path(c["file"]).name for c in part.get("chapters", [])]
            return names.index(chapter) + 1 if chapter in names else None
    return None


def _figure_captions(app, doctree) -> None:
    # Under each chapter figure, its number and caption as the gallery gives them, linked to its gallery entry. A
    # cell that calls `fl.figures.save_figure` shows the figures it saved, in the order it saved them, and the
    # figures' records (written as the notebook ran, just before this) number them in that order: the k-th image of
    # such cells is the figure with index k. A literal name in the call is checked against that.
    import html
    import json
    import os

    docname = app.env.docname
    if not docname.startswith("book/") or Path(app.env.doc2path(docname)).suffix != ".ipynb":
        return
    chapter = Path(docname).name
    number = _chapter_number(app, chapter)
    folder = Path(os.environ.get("FEATLEARN_FIGURES") or Path(app.srcdir) / "figures")
    if number is None or not folder.is_dir():
        return
    records = sorted((json.loads(p.read_text()) for p in folder.glob(f"{chapter}-*.json")),
                     key=lambda r: r.get("index", 0))
    records = [r for r in records if r.get("chapter") == chapter]
    position = 0
    for cell in doctree.findall(nodes.container):
        if cell.get("nb_element") != "cell_code":
            continue
        source = "\n".join(b.astext() for b in cell.findall(nodes.literal_block)
                           if b.parent is not None and b.parent.get("nb_element") == "cell_code_source")
        if "save_figure" not in source:
            continue
        images = list(cell.findall(nodes.image))
        literal = figure_name(source)
        for image in images:
            if position >= len(records):
                return
            rec = records[position]
            if literal is not None and len(images) == 1 and rec["name"] != literal:
                match = [r for r in records if r["name"] == literal]
                rec = match[0] if match else rec
            position = records.index(rec) + 1
            stem = f"{chapter}-{rec['name']}"
            caption = nodes.raw(
                "", f'<p class="featlearn-figure-caption" id="figure-{stem}"><b>Figure {number}.{rec.get("index", 0)}.'
                    f'</b> {html.escape(rec.get("caption", ""))} <a class="featlearn-gallery-link" '
                    f'href="gallery.html#fig-{stem}">Files, data and citation</a></p>', format="html")
            image.parent.insert(image.parent.index(image) + 1, caption)


def _alt_text_from_captions(app, doctree) -> None:
    # A figure in a chapter is the image output of the cell that saves it with `fl.figures.save_figure(...,
    # caption=...)`; that caption becomes the image's alt text (myst-nb would otherwise use the file name).
    for cell in doctree.findall(nodes.container):
        if cell.get("nb_element") != "cell_code":
            continue
        source = "\n".join(b.astext() for b in cell.findall(nodes.literal_block)
                           if b.parent is not None and b.parent.get("nb_element") == "cell_code_source")
        caption = figure_caption(source)
        if caption is None:
            continue
        for image in cell.findall(nodes.image):
            if not image.get("alt") or image.get("alt") == image.get("uri"):
                image["alt"] = caption


def setup(app):
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    # After the book theme's own handlers (priority 501), which add the launch buttons.
    app.connect("html-page-context", _launch_only_ipynb, priority=502)
    app.connect("env-before-read-docs", _read_generated_last)
    app.connect("doctree-read", _alt_text_from_captions)
    app.connect("doctree-read", _figure_captions)
    app.connect("build-finished", _copy_figures)
    app.connect("build-finished", _copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "0.1"}
