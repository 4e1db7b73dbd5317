"""Run the mutants in ``tests/mutants/``: wrong versions of the library that some check must catch.

Each ``tests/mutants/<name>.toml`` names a patch (exact ``find`` → ``replace`` in one or more files), the unit
tests and the chapters that should catch it. For each mutant this script copies the checkout (tracked files and
untracked files git does not ignore) to a temporary folder, applies the patch there, and runs the named unit
tests, then, if none went red, the named chapters under nbval, both against the copy's library. The mutant is
*killed* when a test fails; it *survives* when all pass; a patch whose ``find`` text is not in the tree exactly
once, or a run that errors before testing anything, is an *error*.

    python tools/mutants.py               # every mutant; writes tests/mutants/RESULTS.md
    python tools/mutants.py NAME [NAME]   # some of them; prints the table only
    python tools/mutants.py --check       # only validate the mutant files against the tree (fast)

Before the mutants, the union of their unit tests runs once on the unchanged tree: a test that is already red
would "kill" every mutant that names it, so a red baseline stops the run.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MUTANTS = ROOT / "tests" / "mutants"
RESULTS = MUTANTS / "RESULTS.md"
TIMEOUT_S = 1200


@dataclass
class Patch:
    file: str
    find: str
    replace: str


@dataclass
class Mutant:
    name: str
    description: str
    tests: list[str]
    notebooks: list[str]
    patches: list[Patch] = field(default_factory=list)


def load(path: Path) -> Mutant:
    """Parse one mutant file; raise ValueError naming the file and the field that is wrong."""
    data = tomllib.loads(path.read_text())
    where = f"{path.relative_to(ROOT)}"
    unknown = set(data) - {"description", "tests", "notebooks", "patch"}
    if unknown:
        raise ValueError(f"{where}: unknown fields {sorted(unknown)}; allowed: description, tests, notebooks, patch")
    if not isinstance(data.get("description"), str) or not data["description"].strip():
        raise ValueError(f"{where}: 'description' must be a non-empty string")
    tests = data.get("tests", [])
    notebooks = data.get("notebooks", [])
    if not tests and not notebooks:
        raise ValueError(f"{where}: name at least one entry in 'tests' or 'notebooks'")
    patches = data.get("patch", [])
    if not patches:
        raise ValueError(f"{where}: needs at least one [[patch]]")
    out = []
    for i, p in enumerate(patches):
        if set(p) != {"file", "find", "replace"}:
            raise ValueError(f"{where}: patch {i} must have exactly 'file', 'find' and 'replace'")
        if p["find"] == p["replace"]:
            raise ValueError(f"{where}: patch {i} changes nothing ('replace' equals 'find')")
        out.append(Patch(p["file"], p["find"], p["replace"]))
    return Mutant(path.stem, data["description"].strip(), list(tests), list(notebooks), out)


def check(m: Mutant, root: Path = ROOT) -> list[str]:
    """Problems with a mutant against the tree at ``root`` (empty when it applies cleanly)."""
    problems = []
    for i, p in enumerate(m.patches):
        f = root / p.file
        if not f.is_file():
            problems.append(f"{m.name}: patch {i}: no file {p.file}")
            continue
        count = f.read_text().count(p.find)
        if count != 1:
            problems.append(f"{m.name}: patch {i}: 'find' occurs {count} times in {p.file} (must be exactly once)")
    for t in m.tests:
        if not (root / t.split("::")[0]).is_file():
            problems.append(f"{m.name}: no test file {t.split('::')[0]}")
    for nb in m.notebooks:
        if not (root / nb).is_file():
            problems.append(f"{m.name}: no notebook {nb}")
    return problems


def all_mutants() -> list[Mutant]:
    return [load(p) for p in sorted(MUTANTS.glob("*.toml"))]


def tree_files() -> list[str]:
    """The working tree as a clean clone would see it, plus uncommitted and untracked (not ignored) files."""
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT,
                         check=True, capture_output=True).stdout.decode()
    return [f for f in out.split("\0") if f and (ROOT / f).is_file()]


def copy_tree(dest: Path, files: list[str]) -> None:
    for f in files:
        target = dest / f
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / f, target)


def _env(tree: Path) -> dict[str, str]:
    env = dict(os.environ)
    # The copy's library comes first on the path (the checkout's editable install is a plain .pth entry,
    # which PYTHONPATH precedes).
    env["PYTHONPATH"] = os.pathsep.join([str(tree / "lib"), str(tree / "tests")])
    env["FEATLEARN_CACHE"] = str(tree / ".featlearn_cache")
    env["FEATLEARN_FIGURES"] = str(tree / "figures")
    env["FEATLEARN_PROGRESS"] = "0"
    env.setdefault("JAX_PLATFORMS", "cpu")
    return env


def _pytest(tree: Path, args: list[str]) -> tuple[int, str]:
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-rfE", *args]
    try:
        r = subprocess.run(cmd, cwd=tree, env=_env(tree), capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return -1, f"timed out after {TIMEOUT_S} s"
    return r.returncode, r.stdout + r.stderr


def _first_failure(output: str) -> str:
    """The first red test's id and how it went red (a failed assertion, or which exception)."""
    m = re.search(r"^(?:FAILED|ERROR) (.+?)(?: - |$)", output, re.M)
    where = m.group(1).strip() if m else "?"
    exc = re.findall(r"\b([A-Z]\w*(?:Error|Exception))\b", re.sub(r"\x1b\[[0-9;]*m", "", output))
    how = "assertion" if (not exc or "AssertionError" in exc) else exc[0]
    return f"{where} ({how})"


def _library_is_the_copy(tree: Path) -> bool:
    r = subprocess.run([sys.executable, "-c", "import featlearn; print(featlearn.__file__)"], cwd=tree,
                       env=_env(tree), capture_output=True, text=True)
    return r.returncode == 0 and Path(r.stdout.strip()).resolve().is_relative_to(tree.resolve())


def run_one(m: Mutant, files: list[str]) -> dict:
    start = time.time()
    with tempfile.TemporaryDirectory(prefix=f"mutant-{m.name}-") as tmp:
        tree = Path(tmp)
        copy_tree(tree, files)
        problems = check(m, tree)
        if problems:
            return dict(name=m.name, status="error", by="; ".join(problems), seconds=time.time() - start)
        for p in m.patches:
            f = tree / p.file
            f.write_text(f.read_text().replace(p.find, p.replace))
        if not _library_is_the_copy(tree):
            return dict(name=m.name, status="error", by="the copy's library was not the one imported",
                        seconds=time.time() - start)
        stages = []
        if m.tests:
            stages.append(m.tests)
        if m.notebooks:
            stages.append(["--nbval-lax", "--nbval-current-env", *m.notebooks])
        for args in stages:
            rc, out = _pytest(tree, args)
            if rc == 1:
                return dict(name=m.name, status="killed", by=_first_failure(out), seconds=time.time() - start)
            if rc != 0:
                tail = " ".join(out.strip().splitlines()[-3:])[:300]
                return dict(name=m.name, status="error", by=f"pytest exit {rc}: {tail}", seconds=time.time() - start)
        return dict(name=m.name, status="survived", by="", seconds=time.time() - start)


def baseline(mutants: list[Mutant], files: list[str]) -> tuple[bool, str]:
    tests = sorted({t for m in mutants for t in m.tests})
    if not tests:
        return True, ""
    with tempfile.TemporaryDirectory(prefix="mutant-baseline-") as tmp:
        tree = Path(tmp)
        copy_tree(tree, files)
        rc, out = _pytest(tree, tests)
    return rc == 0, out


def table(mutants: list[Mutant], results: list[dict]) -> str:
    desc = {m.name: m for m in mutants}
    lines = ["| mutant | what is wrong | killed by | seconds |", "|---|---|---|---|"]
    for r in results:
        by = f"`{r['by']}`" if r["status"] == "killed" else f"**{r['status'].upper()}** {r['by']}"
        lines.append(f"| `{r['name']}` | {desc[r['name']].description} | {by} | {r['seconds']:.0f} |")
    killed = sum(r["status"] == "killed" for r in results)
    survived = sum(r["status"] == "survived" for r in results)
    errors = sum(r["status"] == "error" for r in results)
    tail = f"{killed} killed, {survived} survived" + (f", {errors} errors" if errors else "")
    return "\n".join(lines) + "\n\n" + tail + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", help="mutant names (file stems in tests/mutants/); default: all")
    ap.add_argument("--check", action="store_true", help="only check that every mutant applies to the tree")
    args = ap.parse_args(argv)
    mutants = all_mutants()
    known = {m.name for m in mutants}
    unknown = [n for n in args.names if n not in known]
    if unknown:
        ap.error(f"unknown mutant(s) {unknown}; known: {sorted(known)}")
    chosen = [m for m in mutants if not args.names or m.name in args.names]
    problems = [p for m in chosen for p in check(m)]
    if problems or args.check:
        print("\n".join(problems) or f"{len(chosen)} mutants apply cleanly")
        return 1 if problems else 0
    files = tree_files()
    ok, out = baseline(chosen, files)
    if not ok:
        print(out)
        print("the unmutated tree already fails a named test: fix that first")
        return 1
    results = []
    for m in chosen:
        r = run_one(m, files)
        print(f"{r['status']:>8}  {m.name}  ({r['seconds']:.0f} s)  {r['by']}", flush=True)
        results.append(r)
    text = table(chosen, results)
    if not args.names:
        header = ("# Mutant kill table\n\nWritten by `make mutants` (`tools/mutants.py`): each mutant is a wrong "
                  "version of the library (`tests/mutants/<name>.toml`); it is killed when one of the unit tests or "
                  "chapters it names goes red.\n\n")
        RESULTS.write_text(header + text)
    print(text)
    return 0 if all(r["status"] == "killed" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
