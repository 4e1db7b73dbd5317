"""The mutant runner (tools/mutants.py): its files parse, apply to the tree, and bad files are refused clearly."""

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("mutants_runner", ROOT / "tools" / "mutants.py")
runner = importlib.util.module_from_spec(_spec)
sys.modules["mutants_runner"] = runner
_spec.loader.exec_module(runner)


def test_every_mutant_applies_to_the_tree():
    mutants = runner.all_mutants()
    assert mutants, "tests/mutants/ holds no mutant"
    problems = [p for m in mutants for p in runner.check(m)]
    assert not problems, problems


def test_a_mutant_without_a_killer_is_refused(tmp_path, monkeypatch):
    bad = runner.MUTANTS / "_tmp_bad.toml"
    monkeypatch.setattr(runner, "MUTANTS", tmp_path)
    f = tmp_path / bad.name
    f.write_text('description = "x"\n[[patch]]\nfile = "a"\nfind = "b"\nreplace = "c"\n')
    monkeypatch.setattr(runner, "ROOT", tmp_path)
    with pytest.raises(ValueError, match="tests"):
        runner.load(f)


def test_a_find_text_that_is_not_unique_is_reported(tmp_path):
    (tmp_path / "lib.py").write_text("x = 1\nx = 1\n")
    m = runner.Mutant("m", "d", ["lib.py"], [], [runner.Patch("lib.py", "x = 1", "x = 2")])
    assert any("2 times" in p for p in runner.check(m, tmp_path))


def test_the_table_ends_with_the_count():
    m = runner.Mutant("m", "d", ["t"], [], [])
    text = runner.table([m], [dict(name="m", status="killed", by="t::x", seconds=1.0)])
    assert text.strip().endswith("1 killed, 0 survived")
