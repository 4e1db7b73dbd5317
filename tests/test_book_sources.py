"""The book's sources: Colab set-up cells, launch configuration, citations. No build needed."""

import ast
import os
import shutil
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


def _toc_files() -> list[Path]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    names = [toc["root"], *(c["file"] for part in toc["parts"] for c in part["chapters"])]
    return [p for f in names for p in (ROOT / f"{f}.ipynb", ROOT / f"{f}.md") if p.exists()]


def test_every_chapter_has_the_folded_setup_cell_first_and_no_outputs():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    expected = nbsetup.setup_cell_source(config)
    chapters = nbsetup.chapter_notebooks(ROOT)
    assert chapters, "the Chapters part of the table of contents lists no notebooks"
    for path in chapters:
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        tags = code[0].metadata.get("tags", []) if code else []
        assert nbsetup.TAG in tags, f"{path.name}: first code cell is not set-up"
        assert nbsetup.FOLD in tags, f"{path.name}: the set-up cell's input is not folded in the HTML book"
        assert code[0].source == expected, f"{path.name}: set-up cell out of step with _config.yml"
        assert not any(c.get("outputs") for c in code), f"{path.name} is committed with outputs"
    assert nbsetup.main(["--check"]) == 0


def test_no_reference_page_carries_the_setup_cell():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    first_line = nbsetup.setup_cell_source(config).splitlines()[0]
    chapters = set(nbsetup.chapter_notebooks(ROOT))
    others = [p for p in _toc_files() if p not in chapters]
    assert len(others) >= 3, "the reference pages are missing from the table of contents"
    for path in others:
        text = path.read_text()
        assert nbsetup.TAG not in text and first_line not in text, f"{path.name} carries the Colab set-up cell"


def test_nbsetup_adds_the_folded_cell_to_chapters_and_removes_it_elsewhere(tmp_path):
    """On a copy of the tool in a scratch book: a chapter without the cell and a reference notebook with one are
    both reported by --check and put right by a rewrite."""
    (tmp_path / "tools").mkdir()
    shutil.copy(ROOT / "tools" / "nbsetup.py", tmp_path / "tools")
    shutil.copy(ROOT / "_config.yml", tmp_path)
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: book/intro\nparts:\n"
                                       "  - caption: Chapters\n    chapters:\n      - file: book/chapter\n"
                                       "  - caption: Reference\n    chapters:\n      - file: book/reference\n")
    (tmp_path / "book").mkdir()
    source = nbsetup.setup_cell_source(yaml.safe_load((ROOT / "_config.yml").read_text()))
    stale_setup = nbformat.v4.new_code_cell(source, metadata={"tags": [nbsetup.TAG]})
    for name, cells in {"chapter": [nbformat.v4.new_markdown_cell("# A"), nbformat.v4.new_code_cell("x = 1")],
                        "reference": [nbformat.v4.new_markdown_cell("# B"), stale_setup,
                                      nbformat.v4.new_code_cell("y = 2")]}.items():
        nbformat.write(nbformat.v4.new_notebook(cells=cells), tmp_path / "book" / f"{name}.ipynb")
    tool = [sys.executable, str(tmp_path / "tools" / "nbsetup.py")]
    check = subprocess.run([*tool, "--check"], capture_output=True, text=True)
    assert check.returncode == 1 and "chapter.ipynb" in check.stderr and "reference.ipynb" in check.stderr
    subprocess.run(tool, check=True)
    assert subprocess.run([*tool, "--check"]).returncode == 0
    chapter = nbformat.read(tmp_path / "book" / "chapter.ipynb", as_version=4)
    assert [c.source for c in chapter.cells] == ["# A", source, "x = 1"]
    assert chapter.cells[1].metadata["tags"] == [nbsetup.TAG, nbsetup.FOLD]
    reference = nbformat.read(tmp_path / "book" / "reference.ipynb", as_version=4)
    assert [c.source for c in reference.cells] == ["# B", "y = 2"]


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
    first = nbsetup.chapter_notebooks(ROOT)[0]
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


def _chapter_code(path: Path) -> list[str]:
    return [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


def test_every_check_in_a_chapter_goes_through_its_scorecard():
    """A bare `assert` would be a check the scorecard does not list: every chapter opens one card and checks
    through it (`featlearn.scorecard`), so the scorecard page lists every check of every chapter."""
    import ast

    for path in nbsetup.chapter_notebooks(ROOT):
        cards, bare = 0, []
        for src in _chapter_code(path):
            tree = ast.parse(src)
            bare += [ast.unparse(n)[:60] for n in ast.walk(tree) if isinstance(n, ast.Assert)]
            cards += sum(isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "Card" for n in ast.walk(tree))
        assert not bare, f"{path.name}: checks outside the scorecard (use card.check): {bare}"
        assert cards == 1, f"{path.name}: opens {cards} scorecards (must be exactly one)"


def scorecard_claims(path: Path) -> list[str]:
    """The `claim=` ids of a chapter's `card.check` / `card.note` calls; an f-string id (a check in a loop) gives
    its literal prefix followed by ``*``."""
    import ast

    out = []
    for src in _chapter_code(path):
        for n in ast.walk(ast.parse(src)):
            if isinstance(n, ast.Call) and getattr(n.func, "attr", "") in ("check", "note"):
                for kw in n.keywords:
                    if kw.arg == "claim" and isinstance(kw.value, ast.Constant):
                        out.append(kw.value.value)
                    elif kw.arg == "claim" and isinstance(kw.value, ast.JoinedStr):
                        first = kw.value.values[0] if kw.value.values else None
                        out.append((first.value if isinstance(first, ast.Constant) else "") + "*")
    return out


# --- thin chapters: narrative, library calls and plots (issue 13)
MAX_CELL_LINES = 25  # non-blank lines in any one code cell
MAX_MEAN_CELL_LINES = 10  # mean over a chapter's code cells, the set-up cell included


def _dotted(node) -> str:
    """``jax.lax.scan`` for the expression ``jax.lax.scan``; '' for anything but names and attributes."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    return ".".join([node.id, *reversed(parts)]) if isinstance(node, ast.Name) else ""


def hand_wired(source: str) -> list[str]:
    """What a chapter's code cell must leave to the library: function definitions, and calls that compile or
    batch a program by hand (``jax.jit``, ``jax.vmap``, anything from ``lax``), including through imports such as
    ``from jax import jit``."""
    found = []
    for n in ast.walk(ast.parse(source)):
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef):
            found.append(f"def {n.name}")
        elif isinstance(n, ast.Call):
            name = _dotted(n.func)
            if name in ("jax.jit", "jax.vmap", "jit", "vmap") or "lax" in name.split(".")[:-1]:
                found.append(f"{name}(...)")
        elif isinstance(n, ast.ImportFrom) and n.module and n.module.split(".")[0] == "jax":
            found += [f"from {n.module} import {a.name}" for a in n.names
                      if a.name in ("jit", "vmap", "lax") or n.module.endswith("lax")]
        elif isinstance(n, ast.Import):
            found += [f"import {a.name}" for a in n.names if a.name.startswith("jax.lax")]
    return found


def test_hand_wired_finds_definitions_and_hand_compiled_programs():
    """The detector itself, on code that must be caught and code that must pass."""
    caught = ["def f(x):\n    return x", "f = jax.jit(g)", "y = jax.vmap(g)(x)", "out = jax.lax.scan(f, 0, xs)",
              "from jax import lax\nlax.map(f, xs)", "from jax import jit", "import jax.lax as L"]
    for src in caught:
        assert hand_wired(src), src
    fine = ["out = fl.sweeps.sweep(fl.kernel_regime.lazy_training_run, key=key, seeds=3)",
            "x = jax.random.key(0)\njax.config.update('jax_enable_x64', True)", "lax = 1\nrelax(2)"]
    for src in fine:
        assert not hand_wired(src), src


def code_cell_lengths(path: Path) -> list[int]:
    """Non-blank lines of each code cell of a notebook, in order."""
    return [sum(1 for line in src.splitlines() if line.strip()) for src in _chapter_code(path)]


def test_chapters_define_nothing_and_wire_no_programs():
    """Logic lives in the library: a chapter defines no functions and compiles or batches nothing by hand (its
    sweeps run through the library's `fl.sweeps.sweep`, cached and sharded)."""
    for path in nbsetup.chapter_notebooks(ROOT):
        bad = [(i, what) for i, src in enumerate(_chapter_code(path)) for what in hand_wired(src)]
        assert not bad, f"{path.name}: move into the library (code cell index, what): {bad}"


def test_chapter_code_cells_are_short():
    """Notebooks hold narrative, library calls and plots: no code cell over 25 non-blank lines, and a chapter's
    code cells (the set-up cell included) average at most 10."""
    for path in nbsetup.chapter_notebooks(ROOT):
        lengths = code_cell_lengths(path)
        long = {i: n for i, n in enumerate(lengths) if n > MAX_CELL_LINES}
        assert not long, f"{path.name}: code cells over {MAX_CELL_LINES} non-blank lines (index: lines): {long}"
        mean = sum(lengths) / len(lengths)
        assert mean <= MAX_MEAN_CELL_LINES, (
            f"{path.name}: code cells average {mean:.1f} non-blank lines (at most {MAX_MEAN_CELL_LINES}): {lengths}")


def test_each_chapter_runs_its_modules_sections():
    """The chapter-experiment protocol: a chapter's module (its registry record's, `featlearn.chapters.<name>`)
    lists its experiments in `SECTIONS`, each `section(S, key, ...)`, and the notebook calls every one of them with
    its sizes and key, so that the book and a headless run execute the same code."""
    import inspect

    from featlearn import registry

    for chapter in registry.CHAPTERS.values():
        path, module = ROOT / chapter.notebook, chapter.load()
        sections = getattr(module, "SECTIONS", None)
        assert sections, f"{module.__name__} has no SECTIONS registry"
        code = "\n".join(_chapter_code(path))
        for name, fn in sections.items():
            assert fn.__name__ == name, f"{module.__name__}.SECTIONS[{name!r}] is {fn.__name__}"
            assert list(inspect.signature(fn).parameters)[:2] == ["S", "key"], f"{name} must take (S, key, ...)"
            assert f"{name}(S, key" in code, f"{path.name} does not run {module.__name__}.{name}(S, key, ...)"


def test_a_claim_stated_in_a_chapter_module_is_checked_through_it():
    """A claim the chapter module states (``fl.scorecard.Claim``) is checked in the notebook by naming it
    (``card.claim(chapter.CLAIM, value)``), live and on the stored results: its id and threshold are not written
    again in the notebook, so the two checks cannot drift apart."""
    from featlearn import registry, scorecard

    for chapter in registry.CHAPTERS.values():
        code = "\n".join(_chapter_code(ROOT / chapter.notebook))
        for name, claim in vars(chapter.load()).items():
            if not isinstance(claim, scorecard.Claim):
                continue
            assert f".{name}" in code, f"{chapter.notebook} never checks {name}"
            for restated in (f'"{claim.id}"', f'"stored-{claim.id}"', f'"{claim.threshold}"'):
                assert restated not in code, f"{chapter.notebook} restates {name} ({restated})"
