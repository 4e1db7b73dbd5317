"""The book's sources: Colab set-up cells, launch configuration, citations. No build needed."""

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import nbsetup  # noqa: E402


def test_every_toc_notebook_has_the_setup_cell_first_and_no_outputs():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    expected = nbsetup.setup_cell_source(config)
    notebooks = nbsetup.toc_notebooks(ROOT)
    assert notebooks, "the table of contents lists no notebooks"
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert code and nbsetup.TAG in code[0].metadata.get("tags", []), f"{path.name}: first code cell is not set-up"
        assert code[0].source == expected, f"{path.name}: set-up cell out of step with _config.yml"
        assert not any(c.get("outputs") for c in code), f"{path.name} is committed with outputs"
    assert nbsetup.main(["--check"]) == 0


def test_install_source_and_launch_branch_come_from_config():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["repository"]["branch"] == "main", "launch links must point at the main branch"
    assert config["launch_buttons"]["colab_url"].startswith("https://colab.research.google.com")
    src = nbsetup.install_source(config)
    assert src == f"git+{config['repository']['url']}.git@main"
    assert src in nbsetup.setup_cell_source(config)


def test_every_toc_file_exists():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc["parts"]:
        files += [c["file"] for c in part["chapters"]]
    for f in files:
        assert (ROOT / f"{f}.ipynb").exists() or (ROOT / f"{f}.md").exists(), f"_toc.yml names a missing file {f}"


def _first_experiment_cells(nb) -> list[str]:
    """The notebook's code up to and including its first cell that runs an experiment (calls the library's
    sweep, fit or save_figure)."""
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    out = []
    for src in code[1:]:
        out.append(src)
        if any(k in src for k in ("sweeps.sweep", "train.fit", "save_figure")):
            return out
    raise AssertionError("no experiment cell found")


@pytest.mark.slow
def test_colab_setup_cell_installs_featlearn_in_a_fresh_environment(tmp_path):
    """Colab stand-in: a fresh virtual environment that has the scientific stack (as Colab does) but not
    featlearn. The set-up cell, forced onto its Colab path and pointed at this checkout, must install featlearn;
    then the first chapter's first experiment cell must run."""
    venv = tmp_path / "colab"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    vsite = subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                           capture_output=True, text=True, check=True).stdout.strip()
    # The stack Colab provides (jax, flax, optax, numpy, ...): this environment's packages, as a plain path.
    # A plain path in a .pth file does not run the editable-install hook, so featlearn itself is not visible.
    Path(vsite, "colab-stack.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {**os.environ, "FEATLEARN_COLAB": "1", "FEATLEARN_SOURCE": str(ROOT), "MPLBACKEND": "Agg",
           "FEATLEARN_CACHE": "0", "FEATLEARN_FIGURES": str(tmp_path / "figures"), "PYTHONNOUSERSITE": "1"}
    assert subprocess.run([py, "-c", "import featlearn"], env=env, capture_output=True, cwd=tmp_path).returncode != 0
    first = nbsetup.toc_notebooks(ROOT)[0]
    nb = nbformat.read(first, as_version=4)
    setup = next(c.source for c in nb.cells if c.cell_type == "code")
    script = "\n\n".join([setup, "import featlearn\nassert 'site-packages' in featlearn.__file__, featlearn.__file__",
                          *_first_experiment_cells(nb), "print('FIRST-EXPERIMENT-OK')"])
    (tmp_path / "run.py").write_text(script)
    r = subprocess.run([py, "run.py"], env=env, capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "FIRST-EXPERIMENT-OK" in r.stdout
    assert "No GPU attached" in r.stdout or "GPU attached" in r.stdout


@pytest.mark.slow
def test_unknown_citation_key_fails_the_build(tmp_path):
    """The book is built with -W: a citation to a key missing from references.bib must fail the build."""
    (tmp_path / "_config.yml").write_text(
        "title: t\nexecute:\n  execute_notebooks: 'off'\nbibtex_bibfiles: [references.bib]\n"
        "sphinx:\n  extra_extensions: [sphinx_proof]\n")
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: index\n")
    (tmp_path / "references.bib").write_text((ROOT / "book" / "references.bib").read_text())
    jb = Path(sys.executable).with_name("jupyter-book")

    def build(text):
        (tmp_path / "index.md").write_text(f"# T\n\n{text}\n\n```{{bibliography}}\n```\n")
        return subprocess.run([jb, "build", str(tmp_path), "-W", "-n", "--quiet"], capture_output=True, text=True)

    assert build("Known {cite}`damian2022`.").returncode == 0
    bad = build("Unknown {cite}`no-such-paper-1999`.")
    assert bad.returncode != 0
    assert "no-such-paper-1999" in bad.stdout + bad.stderr


def test_citation_file_matches_the_book():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert cff["url"].rstrip("/") == config["html"]["baseurl"].rstrip("/")
    assert cff["repository-code"] == config["repository"]["url"]
    from featlearn import figures

    assert cff["title"] in figures.book_bibtex(cff["url"])
