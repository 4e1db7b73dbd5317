import json
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest

from featlearn import results

ROOT = Path(__file__).resolve().parents[1]


def _manifest(profile="quick", sizes=None, **extra):
    return {"sizes": sizes or {"d": [8, 16], "n": 100}, "featlearn_version": "0.1.0", "git_commit": "a" * 40,
            "git_dirty": False, "jax_version": "0.10.2", "device": "cpu (2 cores)",
            "started": "2026-12-01T09:30:00+00:00", "wall_s": 5400.0, **extra}


def _output():
    rng = np.random.default_rng(0)
    return {
        "move": rng.normal(size=(3, 4)).astype(np.float32),
        "widths": np.array([64, 256, 1024, 4096]),
        "curve": jnp.linspace(0.0, 1.0, 7),  # a JAX array is stored as NumPy
        "slope": np.float32(-0.4871234),
        "slope64": -0.48712345678901234,
        "count": 7,
        "fits": True,
        "label": "NTK with biases",
        "glue": {"move-slope": np.float32(-0.5123), "ntk-width": 65536, "stds": "0.5, 1, 2", "ok": np.bool_(True),
                 "err": np.asarray(0.25)},
        "rows": {"d": np.array([8, 8, 16]), "nmse": np.array([0.1, np.nan, 1 / 3]),
                 "err32": np.array([1e-7, 3.3, -2.5e12], dtype=np.float32),
                 "kernel": ["ntk-bias", "ntk, no bias", 'say "hi"'], "ok": np.array([True, False, True])},
    }


def test_round_trip_is_exact(tmp_path):
    out = _output()
    folder = results.write("kernel-regime", "quick", {"lazy": out, "empty": {}}, _manifest(), root=tmp_path)
    assert folder == tmp_path / "kernel-regime" / "quick"
    assert sorted(p.name for p in folder.iterdir()) == ["lazy.npz", "lazy.rows.csv", "manifest.json"]
    got = results.load("kernel-regime", root=tmp_path)
    assert got.profile == "quick" and list(got.sections) == ["lazy", "empty"] and got["empty"] == {}
    lazy = got["lazy"]
    assert list(lazy) == list(out)
    for k in ("move", "widths", "curve"):
        np.testing.assert_array_equal(lazy[k], np.asarray(out[k]))
        assert lazy[k].dtype == np.asarray(out[k]).dtype
    assert lazy["slope"] == out["slope"] and isinstance(lazy["slope"], np.float32)
    assert lazy["slope64"] == out["slope64"] and lazy["count"] == 7 and lazy["fits"] is True
    assert lazy["label"] == "NTK with biases"
    assert lazy["glue"] == out["glue"] and isinstance(lazy["glue"]["move-slope"], np.float32)
    assert isinstance(lazy["glue"]["ok"], np.bool_) and lazy["glue"]["err"].dtype == np.float64
    for c, col in out["rows"].items():
        np.testing.assert_array_equal(lazy["rows"][c], np.asarray(col))
        assert lazy["rows"][c].dtype == np.asarray(col).dtype
    man = json.loads((folder / "manifest.json").read_text())
    assert man["chapter"] == "kernel-regime" and man["profile"] == "quick" and man["sizes"] == {"d": [8, 16], "n": 100}
    assert man["sections"]["lazy"]["entries"]["slope"] == {"kind": "scalar", "value": float(np.float32(-0.4871234)),
                                                           "dtype": "<f4"}
    with pytest.raises(KeyError, match="no section 'staircase' stored for kernel-regime at profile quick"):
        got["staircase"]


@pytest.mark.parametrize(("value", "message"), [
    ({"a": [1, 2], "b": [1]}, r"output\['t'\]: a table's columns must have equal lengths"),
    ({"a": np.zeros((2, 2))}, r"a table's columns must be 1-d, column 'a' has shape \(2, 2\)"),
    (object(), r"output\['t'\] must hold numbers, booleans or strings, got dtype object"),
    ([[1, 2], [3]], r"output\['t'\] must be an array, a scalar or a table"),
    (np.array([1 + 2j]), "must hold numbers, booleans or strings, got dtype complex128"),
])
def test_bad_outputs_are_refused_before_writing(tmp_path, value, message):
    with pytest.raises(ValueError, match=message):
        results.write("c", "quick", {"good": {"x": np.ones(3)}, "sec": {"t": value}}, _manifest(), root=tmp_path)
    assert not (tmp_path / "c").exists()
    with pytest.raises(ValueError, match="output keys must be names"):
        results.write("c", "quick", {"sec": {"a b": 1}}, _manifest(), root=tmp_path)
    with pytest.raises(ValueError, match="section 'sec' must return a dict, got list"):
        results.write("c", "quick", {"sec": [1, 2]}, _manifest(), root=tmp_path)
    assert not (tmp_path / "c").exists()


def test_load_picks_the_largest_profile_and_says_when_nothing_is_stored(tmp_path, monkeypatch):
    assert results.load("kernel-regime", root=tmp_path) is None
    monkeypatch.setenv("FEATLEARN_RESULTS", str(tmp_path))
    assert results.load("kernel-regime") is None
    for prof in ("quick", "zeta_run", "cpu_large"):
        results.write("kernel-regime", prof, {"s": {"x": np.arange(3)}}, _manifest(prof))
    # The kernel-regime chapter is registered: a profile it does not define sorts after the ones it defines.
    monkeypatch.setattr(results, "chapter_profiles", lambda ch: ["quick", "cpu_large", "paper"])
    assert results.stored_profiles("kernel-regime") == ["quick", "cpu_large", "zeta_run"]
    assert results.load("kernel-regime").profile == "zeta_run"
    results.write("kernel-regime", "paper", {"s": {"x": np.arange(5)}}, _manifest("paper"))
    got = results.load("kernel-regime")
    assert got.profile == "paper" and got["s"]["x"].shape == (5,)
    assert results.load("kernel-regime", "cpu-large").profile == "cpu_large"  # the CLI spelling
    assert results.load("kernel-regime", "gpu_small") is None
    assert results.load("no-such-chapter") is None  # an unregistered chapter: ordered by name between the two


def test_merge_keeps_other_sections_only_at_the_same_sizes(tmp_path):
    results.write("c", "quick", {"a": {"x": np.arange(2)}, "b": {"t": {"y": [1.5, 2.5]}}}, _manifest(),
                  order=["a", "b"], root=tmp_path)
    results.write("c", "quick", {"a": {"x": np.arange(4)}}, _manifest(), order=["a", "b"], merge=True, root=tmp_path)
    got = results.load("c", root=tmp_path)
    assert list(got.sections) == ["a", "b"] and got["a"]["x"].shape == (4,)
    np.testing.assert_array_equal(got["b"]["t"]["y"], [1.5, 2.5])
    results.write("c", "quick", {"b": {"z": 1}}, _manifest(sizes={"d": [99], "n": 1}), merge=True, root=tmp_path)
    got = results.load("c", root=tmp_path)
    assert list(got.sections) == ["b"] and got["b"] == {"z": 1}  # section a ran at other sizes: dropped
    results.write("c", "quick", {"a": {"x": np.arange(1)}}, _manifest(sizes={"d": [99], "n": 1}), root=tmp_path)
    assert list(results.load("c", root=tmp_path).sections) == ["a"]  # without merge the store is replaced
    assert [p.name for p in (tmp_path / "c").iterdir()] == ["quick"]  # no temporary folders left behind


def test_a_failed_write_leaves_the_previous_store(tmp_path, monkeypatch):
    results.write("c", "quick", {"a": {"x": np.arange(2)}}, _manifest(), root=tmp_path)

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(results.np, "savez_compressed", broken)
    with pytest.raises(OSError, match="disk full"):
        results.write("c", "quick", {"a": {"x": np.arange(9)}}, _manifest(), root=tmp_path)
    monkeypatch.undo()
    np.testing.assert_array_equal(results.load("c", root=tmp_path)["a"]["x"], np.arange(2))
    assert [p.name for p in (tmp_path / "c").iterdir()] == ["quick"]


def test_provenance_line(tmp_path):
    man = _manifest("cpu_large", sizes={"widths": [64, 256, 1024, 4096, 16384], "steps": 1000, "lr": 0.5},
                    git_dirty=True)
    results.write("c", "cpu_large", {"a": {"x": 1}}, man, root=tmp_path)
    line = results.load("c", root=tmp_path).provenance
    assert line == ("Stored results: profile cpu_large (widths = [64, 256, …, 16384], steps = 1000, lr = 0.5); "
                    "run on cpu (2 cores) on 2026-12-01 in 90 min; featlearn 0.1.0 at commit aaaaaaaaaa with local "
                    "changes, JAX 0.10.2.")


def test_environment_records_versions_commit_and_device():
    import jax

    env = results.environment()
    assert env["jax_version"] == jax.__version__ and env["featlearn_version"] == "0.1.0"
    assert len(env["git_commit"]) == 40 or env["git_commit"] == "unknown"
    assert env["device"].startswith(jax.devices()[0].platform)
    assert len(env["library_fingerprint"]) == 64
    assert results.now()[:2] == "20" and results.now()[10] == "T"


@pytest.mark.parametrize("damage", ["truncate", "delete", "alter"])
@pytest.mark.parametrize("kind", ["npz", "csv", "manifest"])
def test_a_damaged_store_raises_an_error_naming_the_file_and_the_way_back(tmp_path, damage, kind, capsys):
    """Every kind of stored file (arrays, tables, the manifest), truncated, deleted or altered, gives a StoreError
    that names the file, the chapter and profile and how to restore it; the book's loader says so and shows
    nothing instead of failing."""
    import shutil

    source = ROOT / "results" / "kernel-regime" / "cpu_large"
    folder = tmp_path / "kernel-regime" / "cpu_large"
    shutil.copytree(source, folder)
    assert results.load("kernel-regime", root=tmp_path) is not None  # the copy reads as it is
    target = {"npz": "staircase.npz", "csv": "staircase.table.csv", "manifest": "manifest.json"}[kind]
    path = folder / target
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    elif damage == "delete":
        path.unlink()
    elif kind == "manifest":  # a value changed, the file still valid JSON: the manifest's own checksum sees it
        man = json.loads(path.read_text())
        man["sizes"]["seeds"] = man["sizes"]["seeds"] + 1
        path.write_text(json.dumps(man, indent=1))
    else:
        data = bytearray(path.read_bytes())
        data[len(data) // 3] ^= 0x01  # one bit
        path.write_bytes(bytes(data))
    if kind == "manifest" and damage == "delete":  # no manifest: nothing stored at that profile
        assert results.load("kernel-regime", "cpu_large", root=tmp_path) is None
        return
    with pytest.raises(results.StoreError) as err:
        results.load("kernel-regime", "cpu_large", root=tmp_path)
    message = str(err.value)
    assert "kernel-regime at profile cpu_large" in message and "git checkout" in message
    assert (target in message) or (kind == "manifest" and "manifest.json" in message)


def test_the_book_loader_reports_a_damaged_store_and_returns_none(tmp_path, monkeypatch, capsys):
    import shutil

    folder = tmp_path / "kernel-regime" / "cpu_large"
    shutil.copytree(ROOT / "results" / "kernel-regime" / "cpu_large", folder)
    (folder / "staircase.npz").write_bytes(b"not an archive")
    monkeypatch.setenv("FEATLEARN_RESULTS", str(tmp_path))
    assert results.for_book("kernel-regime") is None
    out = capsys.readouterr().out
    assert "cannot be used" in out and "staircase.npz" in out and "featlearn reproduce kernel-regime" in out


def test_every_store_in_the_checkout_is_sealed():
    """Each stored profile records a checksum of every data file it holds (results.seal), so damage is caught."""
    for man in sorted((ROOT / "results").glob("*/*/manifest.json")):
        record = json.loads(man.read_text())
        held = {p.name for p in man.parent.iterdir() if p.is_file() and p.name != "manifest.json"}
        assert set(record.get("files", {})) == held, f"{man.parent}: sealed {sorted(record.get('files', {}))}"
        assert "manifest_sha" in record, f"{man}: the manifest's own checksum is missing"
