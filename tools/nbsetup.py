"""Keep every chapter's Colab set-up cell in step with ``_config.yml``.

The install source (repository URL and branch) is named once, in ``_config.yml`` (``repository.url`` and
``repository.branch``); this script writes the set-up cell from it into each chapter notebook (the ``Chapters``
part of ``_toc.yml``) as the first code cell, tagged ``featlearn-setup`` and ``hide-input``: on Colab it runs, in
the HTML book its input is folded. Any other notebook in ``_toc.yml`` (a reference page) loses the cell. Outputs
are stripped everywhere.

    python tools/nbsetup.py          # rewrite the cells
    python tools/nbsetup.py --check  # exit 1 if any notebook is out of step (used by the tests)
    python tools/nbsetup.py --list   # print the notebooks named in _toc.yml (what nbval runs)
    python tools/nbsetup.py book/new-chapter.ipynb  # also sync a notebook not yet in _toc.yml
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
TAG = "featlearn-setup"
# The HTML book folds the set-up cell's input (it does nothing outside Colab); Colab ignores the tag and runs it.
FOLD = "hide-input"
CHAPTERS_CAPTION = "Chapters"


def install_source(config: dict) -> str:
    repo = config["repository"]
    return f"git+{repo['url'].rstrip('/')}.git@{repo.get('branch', 'main')}"


def setup_cell_source(config: dict) -> str:
    return f'''# Set-up, on Colab only: install featlearn over Colab's own JAX, Flax and optax; show the device.
import os
import subprocess
import sys

if "google.colab" in sys.modules or os.environ.get("FEATLEARN_COLAB") == "1":
    source = os.environ.get("FEATLEARN_SOURCE", "{install_source(config)}")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", source], check=True)
    import jax

    print(f"GPU attached: {{jax.devices()}}" if jax.default_backend() == "gpu" else
          "No GPU attached; the quick profile runs on the CPU. For a GPU: Runtime > Change runtime type.")'''


def toc_notebooks(root: Path = ROOT) -> list[Path]:
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    files = []

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(toc.get("parts", toc.get("chapters", [])))
    return [root / f"{f}.ipynb" for f in files if (root / f"{f}.ipynb").exists()]


def chapter_notebooks(root: Path = ROOT) -> list[Path]:
    """The notebooks of the ``Chapters`` part of ``_toc.yml``: the pages that carry the set-up cell."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    files = [c["file"] for part in toc.get("parts", []) if part.get("caption") == CHAPTERS_CAPTION
             for c in part.get("chapters", [])]
    return [root / f"{f}.ipynb" for f in files if (root / f"{f}.ipynb").exists()]


def synced(nb: nbformat.NotebookNode, source: str | None) -> nbformat.NotebookNode:
    """``nb`` with its set-up cell set to ``source`` (first code cell), or removed when ``source`` is None."""
    cells = [c for c in nb.cells if TAG not in c.get("metadata", {}).get("tags", [])]
    if source is not None:
        cell = nbformat.v4.new_code_cell(source, metadata={"tags": [TAG, FOLD]})
        cell["id"] = TAG
        first_code = next((i for i, c in enumerate(cells) if c.cell_type == "code"), len(cells))
        cells.insert(first_code, cell)
    for c in cells:
        if c.cell_type == "code":
            c.outputs, c.execution_count = [], None
    nb.cells = cells
    return nb


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("files", nargs="*", type=Path)
    args = ap.parse_args(argv)
    if args.list:
        print(" ".join(str(p.relative_to(ROOT)) for p in toc_notebooks()))
        return 0
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    source = setup_cell_source(config)
    stale = []
    extra = [p.resolve() for p in args.files]
    chapters = {*chapter_notebooks(), *extra}
    for path in dict.fromkeys([*toc_notebooks(), *extra]):
        text = path.read_text()
        nb = nbformat.reads(text, as_version=4)
        new = nbformat.writes(synced(nb, source if path in chapters else None)) + "\n"
        if new != text:
            stale.append(path.relative_to(ROOT))
            if not args.check:
                path.write_text(new)
    if args.check and stale:
        print("set-up cell or outputs out of step in: " + ", ".join(map(str, stale)), file=sys.stderr)
        print("run: python tools/nbsetup.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
