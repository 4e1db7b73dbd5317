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
    assert ch.sections and ch.seed is not None and ch.sizes and "quick" in ch.sizes and ch.cut_short is not None


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


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module, names) for every ``from X import names`` in ``path``, X resolved within the package."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = "featlearn" if node.level == 1 and not node.module else (
                f"featlearn.{node.module}" if node.level == 1 else node.module or "")
            out.append((base, [a.name for a in node.names]))
    return out


def test_no_import_runs_back_up_and_no_module_calls_another_modules_private_names():
    """``__version__`` comes from ``featlearn._version``, never from the package's face; the closed-form kernels
    do not import the training loop; no module reaches into another module's private (underscored) names."""
    for path in LIB.glob("*.py"):
        for module, names in _imports(path):
            assert not (module == "featlearn" and "__version__" in names), f"{path.name} imports the package face"
            if path.name == "kernels.py":
                assert module != "featlearn.train" and "train" not in names, "kernels imports train"
        text = path.read_text()
        private = re.findall(r"\b([a-z]\w*)\._[a-z]\w*", text)
        modules = {p.stem for p in LIB.glob("*.py")} | {"gd", "gf"}
        reached = sorted({m for m in private if m in modules and m != path.stem})
        assert not reached, f"{path.name} calls private names of {reached}"
