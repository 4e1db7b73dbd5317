"""The library states each piece of logic once: no run of six non-trivial lines stands twice in ``lib/``."""

from collections import defaultdict
from pathlib import Path

LIB = Path(__file__).resolve().parents[1] / "lib" / "featlearn"
RUN = 6


def _lines(path: Path) -> list[tuple[int, str]]:
    """Stripped code lines with their numbers: blank lines, comments, imports and lone brackets left out."""
    out = []
    for i, line in enumerate(path.read_text().splitlines(), 1):
        s = line.strip()
        if s.startswith(("#", "import ", "from ")) or not s.strip("()[]{},:") or s in ('"""', 'r"""'):
            continue
        out.append((i, s))
    return out


def duplicated_runs(paths, run: int = RUN) -> list[str]:
    """Every run of ``run`` consecutive code lines that occurs in two places, as ``file:line ~ file:line``."""
    seen: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for p in paths:
        lines = _lines(p)
        for k in range(len(lines) - run + 1):
            window = tuple(s for _, s in lines[k:k + run])
            seen[window].append(f"{p.name}:{lines[k][0]}")
    return [" ~ ".join(places) for places in seen.values() if len(places) > 1]


def test_no_run_of_six_lines_stands_twice_in_the_library():
    dups = duplicated_runs(sorted(LIB.glob("*.py")))
    assert not dups, "the same six lines stand in two places; make one serve both:\n" + "\n".join(dups)


def test_the_detector_finds_a_copy(tmp_path):
    body = "\n".join(f"x{i} = f(x{i - 1}, {i})" for i in range(1, 8))
    (tmp_path / "a.py").write_text(f"def a():\n{body}\n")
    (tmp_path / "b.py").write_text(f"def b():\n    y = 0\n{body}\n")
    assert duplicated_runs([tmp_path / "a.py", tmp_path / "b.py"])
    assert not duplicated_runs([tmp_path / "a.py"])
