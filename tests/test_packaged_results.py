"""The stored results ship with the package (pyproject.toml maps results/ to the data package featlearn._stored), so
a chapter opened on Colab, where featlearn is installed from a wheel with no checkout, reads the same stored
results: `featlearn.results.results_dir` falls back to the package's copy."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from featlearn import registry, results

ROOT = Path(__file__).resolve().parents[1]


def test_without_a_checkout_the_packaged_results_are_read(tmp_path, monkeypatch):
    packaged = tmp_path / "site" / "featlearn" / results.PACKAGED
    (packaged / "one-step").mkdir(parents=True)
    monkeypatch.delenv(results.RESULTS_ENV, raising=False)
    monkeypatch.chdir(tmp_path)  # no _config.yml above: no checkout
    monkeypatch.setattr(results, "__file__", str(packaged.parent / "results.py"))
    assert results.packaged_results() == packaged
    assert results.results_dir() == packaged
    assert results.results_dir(write=True) == tmp_path / "results", "reproduce must never write into the package"
    monkeypatch.setenv(results.RESULTS_ENV, str(tmp_path / "elsewhere"))
    assert results.results_dir() == tmp_path / "elsewhere"


def test_in_a_checkout_the_checkouts_results_are_read(monkeypatch):
    monkeypatch.delenv(results.RESULTS_ENV, raising=False)
    monkeypatch.chdir(ROOT / "book")
    assert results.results_dir() == ROOT / "results"


@pytest.mark.slow
def test_the_wheel_holds_every_stored_result_and_a_chapter_reads_them_from_it(tmp_path):
    """Build the wheel as Colab's set-up cell installs it, unpack it with no checkout around, and load a chapter's
    stored results from it."""
    tracked = subprocess.run(["git", "ls-files", "results"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    assert tracked, "no stored results are committed"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path / "wheel"), str(ROOT)],
                   check=True, capture_output=True, timeout=600)
    (wheel,) = (tmp_path / "wheel").glob("featlearn-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        z.extractall(tmp_path / "site")
    missing = [p for p in tracked if "featlearn/" + results.PACKAGED + p.removeprefix("results") not in names]
    assert not missing, f"stored results missing from the wheel: {missing[:5]}"
    chapter = next(c for c in registry.CHAPTERS if results.load(c) is not None)
    probe = ("from featlearn import results; import featlearn, sys; s = results.load(sys.argv[1]); "
             "print(featlearn.__file__); print(results.results_dir()); print(s.profile if s else None)")
    env = {k: v for k, v in os.environ.items() if k != results.RESULTS_ENV} | {"PYTHONPATH": str(tmp_path / "site")}
    out = subprocess.run([sys.executable, "-c", probe, chapter], cwd=tmp_path, env=env, capture_output=True,
                         text=True, check=True, timeout=300).stdout.split("\n")
    assert out[0].startswith(str(tmp_path / "site")), f"imported featlearn from {out[0]}, not the wheel"
    assert out[1] == str(tmp_path / "site" / "featlearn" / results.PACKAGED)
    assert out[2] == results.load(chapter).profile
