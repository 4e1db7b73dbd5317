import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from featlearn import cli, registry, results, sweeps


def test_info_prints_versions_and_profile(capsys):
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert "featlearn 0.1.0" in out and "jax" in out and "profile: quick" in out


def test_cache_list_and_clear(capsys, tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    folder.mkdir()
    (folder / "x.npz").write_bytes(b"123")
    monkeypatch.setenv("FEATLEARN_CACHE", str(folder))
    assert cli.main(["cache", "list"]) == 0
    assert "1 entries" in capsys.readouterr().out
    assert cli.main(["cache", "clear"]) == 0
    assert not folder.exists()


def test_unknown_command_is_an_error():
    with pytest.raises(SystemExit):
        cli.main(["frobnicate"])


# --- featlearn reproduce, on a tiny chapter registered by the test ------------------------------------------

def _noisy_square(key, x, *, scale):
    """y = scale·x² + ε, ε ~ N(0, 1) drawn from the configuration's key: a closed form to check the store."""
    return {"y": scale * x**2 + jax.random.normal(key)}


def _expected(seed, seeds, xs, scale):
    eps = np.array([float(jax.random.normal(k)) for k in jax.random.split(jax.random.key(seed), seeds)])
    return scale * np.asarray(xs, dtype=np.float32)[None, :] ** 2 + eps[:, None]


def _first(S, key):
    out = sweeps.sweep(_noisy_square, key=key, seeds=S.seeds, vary={"x": S.xs}, fixed={"scale": 2.0})
    return {"y": out["y"], "mean": float(out["y"].mean()), "by_x": {"x": np.asarray(S.xs), "y": out["y"].mean(0)}}


def _second(S, key):
    out = sweeps.sweep(_noisy_square, key=jax.random.fold_in(key, 1), seeds=S.seeds, vary={"x": S.xs},
                       fixed={"scale": -1.0})
    return {"y": out["y"], "fits": bool(np.all(np.isfinite(out["y"])))}


FAKE_SIZES = dict(quick=dict(xs=[1.0, 2.0], seeds=2), cpu_large=dict(xs=[1.0, 2.0, 3.0], seeds=3),
                  paper=dict(xs=[1.0, 2.0, 3.0, 4.0], seeds=8))
FAKE_CUT = dict(xs=("samples", [1.0, 2.0]))


@pytest.fixture
def fake_chapter(monkeypatch, tmp_path):
    """A chapter 'fake-chapter' with sections, and 'bare-chapter' without; results under tmp_path/results."""
    mod = types.ModuleType("featlearn_test_fake_chapter")
    mod.SIZES, mod.SEED, mod.SECTIONS = FAKE_SIZES, 7, {"first": _first, "second": _second}
    mod.CUT_SHORT = FAKE_CUT
    bare = types.ModuleType("featlearn_test_bare_chapter")
    bare.SIZES = dict(quick=dict(n=1), paper=dict(n=2))
    monkeypatch.setitem(sys.modules, mod.__name__, mod)
    monkeypatch.setitem(sys.modules, bare.__name__, bare)
    monkeypatch.setitem(registry.CHAPTERS, "fake-chapter", registry.Chapter("fake-chapter", mod.__name__, "A (2026)"))
    monkeypatch.setitem(registry.CHAPTERS, "bare-chapter", registry.Chapter("bare-chapter", bare.__name__, "B (2026)"))
    monkeypatch.setenv("FEATLEARN_RESULTS", str(tmp_path / "results"))
    monkeypatch.delenv("FEATLEARN_PROFILE", raising=False)
    return tmp_path / "results"


def test_reproduce_help_lists_chapters_profiles_and_sections(fake_chapter, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["reproduce", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for chapter in registry.CHAPTERS:
        assert f"\n  {chapter} " in out
    assert "fake-chapter        profiles: quick, cpu_large, paper; sections: first, second" in out
    assert "bare-chapter        profiles: quick, paper; not yet reproducible: featlearn_test_bare_chapter has no " \
           "SECTIONS yet" in out
    assert "--profile NAME" in out and "--only SECTION" in out and "--device {cpu,gpu}" in out


def test_reproduce_stores_every_section_with_its_provenance(fake_chapter, capsys):
    assert cli.main(["reproduce", "fake-chapter", "--profile", "cpu-large", "--device", "cpu"]) == 0
    printed = capsys.readouterr().out
    assert "  first: " in printed and "  second: " in printed and "  total: " in printed
    folder = fake_chapter / "fake-chapter" / "cpu_large"
    man = json.loads((folder / "manifest.json").read_text())
    for field in ("chapter", "profile", "sizes", "featlearn_version", "git_commit", "jax_version", "device", "started",
                  "wall_s", "library_fingerprint"):
        assert field in man, field
    assert (man["chapter"], man["profile"], man["sizes"]) == ("fake-chapter", "cpu_large", FAKE_SIZES["cpu_large"])
    assert man["device"].startswith("cpu") and man["seed"] == 7 and man["wall_s"] > 0
    assert list(man["sections"]) == ["first", "second"]
    for sec in man["sections"].values():
        assert sec["wall_s"] > 0 and sec["started"] and sec["git_commit"] == man["git_commit"]
        (sw,) = sec["sweeps"]  # one sweep each, 9 configurations, chunked ("auto": at most 8 chunks, of 2 here)
        assert sw["fn"].endswith("_noisy_square") and sw["configs"] == 9 and sw["chunks"] == 5
        assert sw["source"] == "computed" and sw["wall_s"] >= 0
    # The stored numbers are the closed form, key by key.
    stored = results.load("fake-chapter")
    assert stored.profile == "cpu_large" and "profile cpu_large (xs = [1, 2, 3], seeds = 3)" in stored.provenance
    want = _expected(7, 3, [1.0, 2.0, 3.0], 2.0)
    np.testing.assert_allclose(stored["first"]["y"], want, rtol=1e-6)
    np.testing.assert_allclose(stored["first"]["by_x"]["y"], want.mean(0), rtol=1e-6)
    assert stored["first"]["mean"] == pytest.approx(want.mean(), rel=1e-6) and stored["second"]["fits"] is True
    eps = np.asarray(stored["second"]["y"]) + np.asarray([1.0, 4.0, 9.0])
    assert np.all(eps != np.asarray(stored["first"]["y"]) - 2 * np.asarray([1.0, 4.0, 9.0]))  # its own key

    # --only reruns one section (from the cache) and keeps the other; a full rerun is all cache hits.
    first_before = stored["first"]["y"]
    assert cli.main(["reproduce", "fake-chapter", "--profile", "cpu_large", "--only", "second"]) == 0
    man2 = json.loads((folder / "manifest.json").read_text())
    assert man2["sections_run"] == ["second"] and list(man2["sections"]) == ["first", "second"]
    assert man2["sections"]["second"]["sweeps"][0]["source"] == "cache"
    np.testing.assert_array_equal(results.load("fake-chapter")["first"]["y"], first_before)
    # FEATLEARN_PROFILE picks the profile when --profile is not given.
    os.environ["FEATLEARN_PROFILE"] = "quick"
    try:
        assert cli.main(["reproduce", "fake-chapter"]) == 0
    finally:
        del os.environ["FEATLEARN_PROFILE"]
    assert results.stored_profiles("fake-chapter") == ["quick", "cpu_large"]
    assert results.load("fake-chapter", "quick")["first"]["y"].shape == (2, 2)


@pytest.mark.parametrize(("argv", "message"), [
    (["nope"], "argument CHAPTER: unknown chapter 'nope'; choose from kernel-regime, one-step"),
    (["bare-chapter"], "argument CHAPTER: bare-chapter is not yet reproducible: featlearn_test_bare_chapter has no "
                       "SECTIONS yet"),
    (["fake-chapter", "--profile", "huge"],
     "argument --profile: profile must be one of ('quick', 'cpu_large', 'paper'), got 'huge'"),
    (["fake-chapter", "--profile", "Huge Run"], "argument --profile: profile must be a lower-case name"),
    (["fake-chapter", "--only", "first,third"],
     "argument --only: unknown section 'third' of fake-chapter; choose from first, second"),
    (["fake-chapter", "--device", "tpu"], "argument --device: must be cpu or gpu, got 'tpu'"),
    (["fake-chapter", "--chunk", "many"], "argument --chunk must be 'auto' or an integer >= 0, got 'many'"),
])
def test_reproduce_bad_input_names_the_argument_and_writes_nothing(fake_chapter, capsys, argv, message):
    assert cli.main(["reproduce", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("featlearn reproduce: error: ") and message in err
    assert not fake_chapter.exists()


def test_reproduce_cut_short_runs_the_profile_with_its_budgets_cut_and_stores_only_a_record(fake_chapter, capsys):
    assert cli.main(["reproduce", "fake-chapter", "--profile", "paper", "--cut-short", "--device", "cpu"]) == 0
    printed = capsys.readouterr().out
    assert "--profile paper --cut-short: first, second" in printed and "cut short: nothing stored" in printed
    assert not (fake_chapter / "fake-chapter").exists()  # the book's store is untouched
    rec = json.loads((fake_chapter / "cut-short" / "fake-chapter-paper.json").read_text())
    assert rec["chapter"] == "fake-chapter" and rec["profile"] == "paper"
    assert rec["cut_short"] == {"xs": {"kind": "samples", "profile": [1.0, 2.0, 3.0, 4.0], "run": [1.0, 2.0]}}
    assert rec["sizes"] == {"xs": [1.0, 2.0], "seeds": 8}  # the seeds (not a budget) stay the profile's
    assert rec["command"].endswith("--cut-short") and set(rec["sections"]) == {"first", "second"}


def test_reproduce_cut_short_without_budgets_is_an_error(fake_chapter, capsys, monkeypatch):
    monkeypatch.delattr(sys.modules["featlearn_test_fake_chapter"], "CUT_SHORT")
    assert cli.main(["reproduce", "fake-chapter", "--profile", "paper", "--cut-short"]) == 2
    assert "argument --cut-short: featlearn_test_fake_chapter defines no CUT_SHORT budgets" in capsys.readouterr().err
    assert not fake_chapter.exists()


def test_reproduce_profile_from_the_environment_is_checked(fake_chapter, capsys, monkeypatch):
    monkeypatch.setenv("FEATLEARN_PROFILE", "huge")
    assert cli.main(["reproduce", "fake-chapter"]) == 2
    assert "argument --profile: environment variable FEATLEARN_PROFILE must be one of" in capsys.readouterr().err
    assert not fake_chapter.exists()


@pytest.mark.skipif(any(d.platform == "gpu" for d in jax.devices()), reason="a GPU is attached")
def test_reproduce_on_a_gpu_that_is_not_there(fake_chapter, capsys):
    assert cli.main(["reproduce", "fake-chapter", "--device", "gpu"]) == 2
    assert "argument --device: gpu requested, but no GPU is attached (JAX sees: cpu)" in capsys.readouterr().err
    assert not fake_chapter.exists()


def test_reproduce_a_failing_section_writes_nothing_and_the_rerun_resumes(fake_chapter, monkeypatch):
    mod = sys.modules["featlearn_test_fake_chapter"]

    def broken(S, key):
        raise RuntimeError("out of memory, say")

    monkeypatch.setitem(mod.SECTIONS, "second", broken)
    with pytest.raises(RuntimeError, match="out of memory"):
        cli.main(["reproduce", "fake-chapter"])
    assert not fake_chapter.exists()
    monkeypatch.setitem(mod.SECTIONS, "second", _second)
    assert cli.main(["reproduce", "fake-chapter"]) == 0
    man = results.load("fake-chapter").manifest
    assert man["sections"]["first"]["sweeps"][0]["source"] == "cache"  # done before the failure: not recomputed
    assert man["sections"]["second"]["sweeps"][0]["source"] == "computed"


SLOW_CHAPTER = '''
import time

import jax
import jax.numpy as jnp
import numpy as np

from featlearn import sweeps

SIZES = dict(quick=dict(xs=[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]), paper=dict(xs=[1.0]))
SEED = 11


def _slow(x):
    time.sleep(0.4)  # a configuration that takes a while: the run is killed between two chunks
    return np.asarray(x, dtype=np.float32)


def slow_square(key, x):
    waited = jax.pure_callback(_slow, jax.ShapeDtypeStruct((), jnp.float32), x, vmap_method="sequential")
    return {"y": waited**2 + jax.random.normal(key)}


def only(S, key):
    return {"y": sweeps.sweep(slow_square, key=key, seeds=1, vary={"x": S.xs})["y"]}


SECTIONS = {"only": only}
'''


@pytest.mark.slow
def test_reproduce_killed_half_way_resumes_from_the_finished_chunks(tmp_path, monkeypatch):
    (tmp_path / "featlearn_test_slow_chapter.py").write_text(textwrap.dedent(SLOW_CHAPTER))
    cache, store = tmp_path / "cache", tmp_path / "results"
    env = {**os.environ, "FEATLEARN_CACHE": str(cache), "FEATLEARN_RESULTS": str(store), "FEATLEARN_PROGRESS": "0",
           "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    script = ("import sys; from featlearn import cli, registry; "
              "registry.CHAPTERS['slow-chapter'] = registry.Chapter('slow-chapter', 'featlearn_test_slow_chapter', "
              "'S (2026)'); "
              "sys.exit(cli.main(['reproduce', 'slow-chapter', '--chunk', '1']))")
    proc = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 300
        while not list(cache.glob("*of00006.json")):  # the first chunk's entry is complete once its .json is there
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no chunk finished within 5 minutes"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    finished = len(list(cache.glob("*of00006.json")))
    # The precondition of the test, not a tolerance: the kill landed between two chunks, so some chunks (not all)
    # are cached and nothing was stored; the rerun below must resume from exactly those.
    assert 1 <= finished < 6 and not store.exists()

    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(registry.CHAPTERS, "slow-chapter",
                        registry.Chapter("slow-chapter", "featlearn_test_slow_chapter", "S (2026)"))
    monkeypatch.setenv("FEATLEARN_CACHE", str(cache))
    monkeypatch.setenv("FEATLEARN_RESULTS", str(store))
    monkeypatch.delenv("FEATLEARN_PROFILE", raising=False)
    assert cli.main(["reproduce", "slow-chapter", "--chunk", "1"]) == 0
    stored = results.load("slow-chapter")
    (sw,) = stored.manifest["sections"]["only"]["sweeps"]
    assert (sw["chunks"], sw["chunks_cached"], sw["source"]) == (6, finished, "resumed")
    np.testing.assert_allclose(stored["only"]["y"], _expected(11, 1, [1, 2, 3, 4, 5, 6], 1.0), rtol=1e-6)
    # The resumed result is the one an uninterrupted chunked run gives, bit for bit.
    whole = sweeps.sweep(sys.modules["featlearn_test_slow_chapter"].slow_square, key=jax.random.key(11), seeds=1,
                         vary={"x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]}, chunk=1, cache=tmp_path / "fresh")
    np.testing.assert_array_equal(stored["only"]["y"], whole["y"])
    assert jnp.asarray(stored["only"]["y"]).dtype == jnp.float32


X64_CHAPTER = '''
import jax.numpy as jnp

SIZES = dict(quick=dict(n=2), paper=dict(n=3))
SEED = 3
X64 = True


def section(S, key):
    return {"dtype": str(jnp.zeros(S.n).dtype)}


SECTIONS = {"only": section}
'''


@pytest.mark.parametrize("x64", [True, False])
def test_reproduce_runs_a_float64_chapter_in_float64(tmp_path, x64):
    """A chapter whose module sets ``X64 = True`` (local convergence) computes in float64 under the command, as
    its notebook does; one without it stays in float32. In a subprocess: the setting is process-wide."""
    (tmp_path / "featlearn_test_x64_chapter.py").write_text(
        textwrap.dedent(X64_CHAPTER).replace("X64 = True", f"X64 = {x64}"))
    store = tmp_path / "results"
    env = {**os.environ, "FEATLEARN_CACHE": str(tmp_path / "cache"), "FEATLEARN_RESULTS": str(store),
           "FEATLEARN_PROGRESS": "0", "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    env.pop("JAX_ENABLE_X64", None)
    script = ("import sys; from featlearn import cli, registry; "
              "registry.CHAPTERS['x64-chapter'] = registry.Chapter('x64-chapter', 'featlearn_test_x64_chapter', "
              "'S (2026)'); "
              "sys.exit(cli.main(['reproduce', 'x64-chapter']))")
    subprocess.run([sys.executable, "-c", script], env=env, check=True, capture_output=True, timeout=300)
    man = json.loads((store / "x64-chapter" / "quick" / "manifest.json").read_text())
    assert man["x64"] is x64
    assert (store / "x64-chapter" / "quick").exists()
    stored = json.dumps(man) + "".join(p.read_text() for p in (store / "x64-chapter" / "quick").glob("*.json"))
    assert ("float64" if x64 else "float32") in stored


@pytest.mark.slow
def test_reproduce_the_kernel_regime_end_to_end_at_toy_sizes(monkeypatch, tmp_path, capsys):
    """The real chapter, through the command, at a toy profile: every section is stored exactly as the section
    function returns it (the notebook's call, same key and chunking, answered from the cache the run filled)."""
    from featlearn import profiles
    from featlearn.chapters import kernel_regime as kr_chapter

    toy = kr_chapter.SIZES["toy"]  # the chapter's own toy profile
    monkeypatch.setenv("FEATLEARN_RESULTS", str(tmp_path / "results"))
    assert cli.main(["reproduce", "kernel-regime", "--profile", "toy", "--device", "cpu"]) == 0
    printed = capsys.readouterr().out
    for name in kr_chapter.SECTIONS:
        assert f"  {name}: " in printed
    stored = results.load("kernel-regime")
    assert stored.profile == "toy" and list(stored.sections) == list(kr_chapter.SECTIONS)
    assert stored.manifest["seed"] == kr_chapter.SEED == 2022 and stored.manifest["sizes"] == toy
    S = profiles.sizes(**kr_chapter.SIZES, profile="toy")
    with sweeps.chunking("auto"), sweeps.recording() as rec:
        direct = {name: fn(S, jax.random.key(kr_chapter.SEED)) for name, fn in kr_chapter.SECTIONS.items()}
    assert {r["source"] for r in rec} == {"cache"}
    n_sweeps = sum(len(s["sweeps"]) for s in stored.manifest["sections"].values())
    # lazy widths; NTK widths at each bias scale; the staircase's n at each d and its bias-free control (2 n)
    staircase = sum(len(kr_chapter.staircase_sizes(d, S.stair_n_max)) for d in S.stair_d)
    assert n_sweeps == len(rec) == len(S.widths) + len(S.bias_stds) * len(S.ntk_widths) + staircase + 2
    for name, want in direct.items():
        got = stored[name]
        assert list(got) == list(want), name
        for k, v in want.items():
            if isinstance(v, dict):
                assert list(got[k]) == list(v)
                for c in v:
                    np.testing.assert_array_equal(got[k][c], np.asarray(v[c]), err_msg=f"{name}.{k}.{c}")
            else:
                np.testing.assert_array_equal(got[k], np.asarray(v), err_msg=f"{name}.{k}")
