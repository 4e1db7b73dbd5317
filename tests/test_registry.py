"""The chapter registry is the one chapter list, and the library's imports run one way."""

import ast
import re
from pathlib import Path

import pytest

from featlearn import book, registry

ROOT = Path(__file__).resolve().parents[1]
LIB = ROOT / "lib" / "featlearn"


def test_the_table_of_contents_lists_the_registered_chapters_in_order():
    assert book.toc_chapters(ROOT) == list(registry.CHAPTERS)


@pytest.mark.parametrize("name", list(registry.CHAPTERS))
def test_every_chapter_states_its_contract(name):
    ch = registry.chapter(name)
    assert (ROOT / ch.notebook).exists() and ch.papers.strip()
    assert ch.sections and ch.seed is not None and ch.sizes and ch.cut_short is not None
    assert {"toy", "quick", "paper"} <= set(ch.sizes), "every chapter has the toy profile the tests share"


def test_an_unknown_chapter_is_refused_with_the_known_ones():
    with pytest.raises(ValueError, match="chapter must be one of .*one-step"):
        registry.chapter("no-such-chapter")


def test_the_chapter_list_is_written_once():
    """No Python file in lib/, tools/ or tests/ but the registry names three or more chapters within three lines
    (allow-lists of known failures, ``KNOWN_*``, aside): a second list of chapters would drift from the first."""
    names = [re.escape(f'"{c}"') for c in registry.CHAPTERS]
    offenders = []
    for path in [*LIB.rglob("*.py"), *(ROOT / "tools").rglob("*.py"), *(ROOT / "tests").rglob("*.py")]:
        if path == LIB / "registry.py":
            continue
        text = path.read_text()
        lines = text.splitlines()
        for node in ast.walk(ast.parse(text)):  # allow-lists of known failures (KNOWN_*) name pages, not chapters
            if isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if any(isinstance(t, ast.Name) and t.id.startswith("KNOWN_") for t in targets):
                    for j in range(node.lineno - 1, node.end_lineno):
                        lines[j] = ""
        for i in range(len(lines)):
            window = "\n".join(lines[i:i + 3])
            if sum(bool(re.search(n, window)) for n in names) >= 3:
                offenders.append(f"{path.relative_to(ROOT)}:{i + 1}")
                break
    assert not offenders, f"a list of chapters outside featlearn/registry.py: {offenders}"


def _package(path: Path) -> str:
    """The dotted package a library file lives in (``featlearn`` or ``featlearn.chapters``)."""
    return ".".join(path.relative_to(LIB.parent).parent.parts)


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module, names) for every ``from X import names`` in ``path``, relative imports resolved."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = _package(path).split(".")
                parts = parts[:len(parts) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            out.append((base, [a.name for a in node.names]))
    return out


#: The library's floors, bottom up: the core and the papers' mathematics (``featlearn/*.py``), then the chapters
#: (``featlearn/chapters/``), which only the registry names (by module path, loaded on use).
CHAPTER_PACKAGE = "featlearn.chapters"


def test_no_import_runs_back_up_and_no_module_calls_another_modules_private_names():
    """``__version__`` comes from ``featlearn._version``, never from the package's face; the closed-form kernels
    do not import the training loop; nothing below the chapters imports a chapter; no module reaches into another
    module's private (underscored) names, by attribute or by import."""
    modules = {p.stem for p in LIB.rglob("*.py")} | {"gd", "gf"}
    for path in LIB.rglob("*.py"):
        below = _package(path) != CHAPTER_PACKAGE
        for module, names in _imports(path):
            assert not (module == "featlearn" and "__version__" in names), f"{path.name} imports the package face"
            if path.name == "kernels.py":
                assert module != "featlearn.train" and "train" not in names, "kernels imports train"
            if below:
                assert not (module.startswith(CHAPTER_PACKAGE) or (module == "featlearn" and "chapters" in names)), (
                    f"{path.relative_to(LIB)} imports a chapter module ({module})")
            private = [n for n in names if n.startswith("_") and not n.startswith("__")]
            if module.startswith("featlearn.") and module.rsplit(".", 1)[-1] != path.stem:
                assert not private, f"{path.relative_to(LIB)} imports private names {private} from {module}"
        text = path.read_text()
        private = re.findall(r"\b([a-z]\w*)\._[a-z]\w*", text)
        reached = sorted({m for m in private if m in modules and m != path.stem})
        assert not reached, f"{path.relative_to(LIB)} calls private names of {reached}"


#: What only a chapter module may hold: its sizes, cut-short budgets, seed and sections.
CHAPTER_NAMES = ("SIZES", "CUT_SHORT", "SEED", "SECTIONS")
#: The most lines a module of the papers' mathematics may have.
MAX_PAPER_LINES = 700


def test_the_papers_mathematics_holds_no_sizes_sections_or_plots():
    """A module the chapters import their algorithms from is the paper's mathematics and one-seed experiments:
    no sizes, seed or sections, no figure code (``plot_*``, matplotlib), and at most MAX_PAPER_LINES lines."""
    papers = {module.rsplit(".", 1)[-1] for path in (LIB / "chapters").glob("*.py")
              for module, _ in _imports(path)
              if module.startswith("featlearn.") and not module.startswith(CHAPTER_PACKAGE)}
    papers &= {c.module.rsplit(".", 1)[-1] for c in registry.CHAPTERS.values()}
    assert len(papers) == len(registry.CHAPTERS), f"one paper module per chapter, got {sorted(papers)}"
    for name in sorted(papers):
        path = LIB / f"{name}.py"
        tree = ast.parse(path.read_text())
        top = {t.id for node in tree.body if isinstance(node, ast.Assign | ast.AnnAssign)
               for t in (node.targets if isinstance(node, ast.Assign) else [node.target]) if isinstance(t, ast.Name)}
        assert not top & set(CHAPTER_NAMES), f"{name}.py holds {sorted(top & set(CHAPTER_NAMES))}"
        plots = [n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("plot")]
        assert not plots and "import matplotlib" not in path.read_text(), f"{name}.py draws figures: {plots}"
        lines = len(path.read_text().splitlines())
        assert lines <= MAX_PAPER_LINES, f"{name}.py has {lines} lines (at most {MAX_PAPER_LINES})"


@pytest.mark.parametrize("name", list(registry.CHAPTERS))
def test_every_chapter_module_lives_in_the_chapters_package(name):
    assert registry.chapter(name).module == f"{CHAPTER_PACKAGE}.{name.replace('-', '_')}"
