"""Sphinx extension for the featlearn book: publish the fixed-name figure files.

Chapters write ``figures/<chapter>-<name>.{pdf,png,svg,csv,json}`` at the repository root. After the build, this
copies them to ``<html>/figures/`` so that each figure has a stable URL that can be cited (the images Sphinx
embeds are named by a hash of their bytes and must not be cited).
"""

from __future__ import annotations

import shutil
from pathlib import Path


def _copy_figures(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    src = Path(app.srcdir) / "figures"
    if not src.is_dir():
        return
    dst = Path(app.outdir) / "figures"
    dst.mkdir(parents=True, exist_ok=True)
    for p in sorted(src.iterdir()):
        if p.is_file():
            shutil.copyfile(p, dst / p.name)


def setup(app):
    app.connect("build-finished", _copy_figures)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "0.1"}
