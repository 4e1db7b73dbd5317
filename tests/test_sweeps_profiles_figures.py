import json
import re
import warnings
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from featlearn import figures, profiles, registry, sweeps


def _toy(key, lr, *, n):
    x = jax.random.normal(key, (n,))
    return {"loss": jnp.mean((x * lr) ** 2), "x": x[:3]}


def test_sweep_shapes_and_values(key, tmp_path):
    out = sweeps.sweep(_toy, key=key, seeds=3, vary={"lr": [0.5, 1.0]}, fixed={"n": 10}, cache=tmp_path)
    assert out["loss"].shape == (3, 2) and out["x"].shape == (3, 2, 3)
    keys = jax.random.split(key, 3)
    np.testing.assert_allclose(out["loss"][1, 0], _toy(keys[1], 0.5, n=10)["loss"], rtol=1e-6)


def test_sweep_cache_hit_and_corrupt_entry(key, tmp_path):
    a = sweeps.sweep(_toy, key=key, seeds=2, vary={"lr": [1.0]}, fixed={"n": 5}, cache=tmp_path)
    files = sorted(tmp_path.glob("*.npz"))
    assert len(files) == 1
    b = sweeps.sweep(_toy, key=key, seeds=2, vary={"lr": [1.0]}, fixed={"n": 5}, cache=tmp_path)
    np.testing.assert_array_equal(a["loss"], b["loss"])
    files[0].write_bytes(b"garbage")
    with pytest.warns(sweeps.CacheWarning, match="unusable"):
        c = sweeps.sweep(_toy, key=key, seeds=2, vary={"lr": [1.0]}, fixed={"n": 5}, cache=tmp_path)
    np.testing.assert_array_equal(a["loss"], c["loss"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sweeps.sweep(_toy, key=key, seeds=2, vary={"lr": [1.0]}, fixed={"n": 5}, cache=tmp_path)


class _HostOut(NamedTuple):
    total: np.ndarray
    draws: np.ndarray


def _host_toy(key, *, n: int) -> _HostOut:  # NumPy on the host: not jittable
    x = np.asarray(jax.random.normal(key, (n,)), np.float64)
    return _HostOut(np.float64(x.sum()), x[:2])


def test_host_sweep_stacks_seeds_caches_each_and_recomputes_a_corrupt_one(key, tmp_path):
    a = sweeps.host_sweep(_host_toy, key=key, returns=_HostOut, seeds=3, fixed={"n": 4}, cache=tmp_path)
    assert isinstance(a, _HostOut) and a.total.shape == (3,) and a.draws.shape == (3, 2)
    np.testing.assert_array_equal(a.draws[2], _host_toy(sweeps.seed_keys(key, 3)[2], n=4).draws)
    files = sorted(tmp_path.glob("*-host*.npz"))
    assert len(files) == 3  # one entry per seed: an interrupted run resumes at the next seed
    with sweeps.recording() as rec:
        b = sweeps.host_sweep(_host_toy, key=key, returns=_HostOut, seeds=3, fixed={"n": 4}, cache=tmp_path)
    assert rec[0]["source"] == "cache" and rec[0]["chunks_cached"] == 3
    np.testing.assert_array_equal(a.total, b.total)
    files[1].write_bytes(b"garbage")
    with pytest.warns(sweeps.CacheWarning, match="unusable"):
        c = sweeps.host_sweep(_host_toy, key=key, returns=_HostOut, seeds=3, fixed={"n": 4}, cache=tmp_path)
    np.testing.assert_array_equal(a.total, c.total)
    with pytest.raises(TypeError, match="returns must be a NamedTuple class"):
        sweeps.host_sweep(_host_toy, key=key, returns=tuple, seeds=1, fixed={"n": 1}, cache=False)
    with pytest.raises(TypeError, match="not returns = _HostOut"):
        sweeps.host_sweep(lambda k, n: (n,), key=key, returns=_HostOut, seeds=1, fixed={"n": 1}, cache=False)


def test_sweep_cache_key_depends_on_config_and_version(key, monkeypatch):
    h1, _ = sweeps.cache_key(_toy, key, 2, {"lr": [1.0]}, {"n": 5})
    h2, _ = sweeps.cache_key(_toy, key, 2, {"lr": [1.0]}, {"n": 6})
    h3, _ = sweeps.cache_key(_toy, jax.random.key(1), 2, {"lr": [1.0]}, {"n": 5})
    monkeypatch.setattr(sweeps, "__version__", "999")
    h4, _ = sweeps.cache_key(_toy, key, 2, {"lr": [1.0]}, {"n": 5})
    monkeypatch.setattr(sweeps, "library_fingerprint", lambda: "an edited library")
    h5, _ = sweeps.cache_key(_toy, key, 2, {"lr": [1.0]}, {"n": 5})
    assert len({h1, h2, h3, h4, h5}) == 5


def test_stale_entry_with_other_shapes_is_recomputed(key, tmp_path):
    sweeps.sweep(_toy, key=key, seeds=2, vary={"lr": [1.0]}, fixed={"n": 5}, cache=tmp_path)
    npz = next(tmp_path.glob("*.npz"))
    meta = json.loads(npz.with_suffix(".json").read_text())
    import hashlib
    import io
    buf = io.BytesIO()
    np.savez(buf, np.zeros(7), np.zeros(2))
    npz.write_bytes(buf.getvalue())
    meta["sha256"] = hashlib.sha256(buf.getvalue()).hexdigest()
    npz.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.warns(sweeps.CacheWarning, match="shapes"):
        sweeps.sweep(_toy, key=key, seeds=2, vary={"lr": [1.0]}, fixed={"n": 5}, cache=tmp_path)


def test_sweep_bad_input(key):
    with pytest.raises(ValueError, match="seeds must be an integer >= 1"):
        sweeps.sweep(_toy, key=key, seeds=0, fixed={"n": 3}, cache=False)
    with pytest.raises(ValueError, match="vary and fixed both name"):
        sweeps.sweep(_toy, key=key, vary={"n": [1]}, fixed={"n": 3}, cache=False)


def test_profiles(monkeypatch):
    monkeypatch.delenv("FEATLEARN_PROFILE", raising=False)
    assert profiles.active() == "quick"
    s = profiles.sizes(quick=dict(d=4), paper=dict(d=400))
    assert s.d == 4 and s.profile == "quick"
    assert profiles.sizes(quick=dict(d=4), paper=dict(d=400), profile="paper").d == 400
    monkeypatch.setenv("FEATLEARN_PROFILE", "huge")
    with pytest.raises(ValueError, match=r"environment variable FEATLEARN_PROFILE must be one of \('quick', 'paper'\)"):
        profiles.sizes(quick=dict(d=4), paper=dict(d=400))
    with pytest.raises(ValueError, match="FEATLEARN_PROFILE must be one of"):
        profiles.active(allowed=profiles.PROFILES)
    with pytest.raises(ValueError, match="profile must be one of"):
        profiles.active("fast", allowed=profiles.PROFILES)
    with pytest.raises(ValueError, match="profile must be a lower-case name"):
        profiles.active("Big Run")
    with pytest.raises(ValueError, match="same sizes"):
        profiles.sizes(quick=dict(d=1), paper=dict(n=2), profile="quick")


def test_intermediate_profiles(monkeypatch):
    table = dict(quick=dict(d=4, n=10), cpu_large=dict(d=40, n=100), paper=dict(d=400, n=1000))
    monkeypatch.setenv("FEATLEARN_PROFILE", "cpu-large")  # the CLI spelling names the same profile
    s = profiles.sizes(**table)
    assert (s.profile, s.d, s.n) == ("cpu_large", 40, 100)
    assert profiles.sizes(**table, profile="paper").d == 400
    monkeypatch.delenv("FEATLEARN_PROFILE")
    assert profiles.sizes(**table).profile == "quick"
    with pytest.raises(ValueError, match=r"profile must be one of \('quick', 'cpu_large', 'paper'\), got 'huge'"):
        profiles.sizes(**table, profile="huge")
    with pytest.raises(ValueError, match=r"quick and gpu_small must name the same sizes; .*only in gpu_small: \['m'\]"):
        profiles.sizes(**table, gpu_small=dict(d=8, n=20, m=3))
    with pytest.raises(ValueError, match="gpu_small must be a dict of sizes"):
        profiles.sizes(**table, gpu_small=[8, 20])
    # Ordered by size: quick, the intermediate ones as the chapter lists them (unknown ones after), paper.
    assert profiles.ordered(["paper", "b", "quick", "a", "z"], declared=["quick", "b", "a", "paper"]) == [
        "quick", "b", "a", "z", "paper"]
    assert profiles.ordered(["paper", "quick"]) == ["quick", "paper"]


def _ids(key, lr, *, n):
    """Which configuration ran: its key's data and its hyperparameter, exactly (checks the chunks' order)."""
    return {"key": jax.random.key_data(key), "lr": lr * jnp.ones(n)}


def _matmul(key, lr, *, n):
    w = jax.random.normal(key, (n, n))
    return {"y": jnp.tanh(w @ w.T * lr).sum(axis=0), "s": jnp.sum(w * lr)}


def test_cut_short_shortens_only_the_named_budgets_and_never_lengthens():
    S = profiles.sizes(quick=dict(d=8, n=100, steps=50, ns=[10, 20], ratio=2.0),
                       paper=dict(d=512, n=10**6, steps=10**4, ns=[10, 20, 40, 80], ratio=32.0), profile="paper")
    cuts = dict(n=("samples", 1000), steps=("steps", 20), ns=("samples", [10, 20]), ratio=("samples", 0.5))
    cut, record = profiles.cut_short(S, cuts)
    assert (cut.profile, cut.d, cut.n, cut.steps, cut.ns, cut.ratio) == ("paper", 512, 1000, 20, [10, 20], 0.5)
    assert record["n"] == {"kind": "samples", "profile": 10**6, "run": 1000}
    assert set(record) == set(cuts)
    # at a profile already shorter than the cut, the profile's own budgets stay
    small, _ = profiles.cut_short(profiles.sizes(quick=dict(d=8, n=100, steps=10, ns=[10], ratio=0.25),
                                                 paper=dict(d=9, n=1, steps=1, ns=[1], ratio=1.0)), cuts)
    assert (small.n, small.steps, small.ns, small.ratio) == (100, 10, [10], 0.25)


@pytest.mark.parametrize(("cuts", "message"), [
    (dict(width=("samples", 4)), "cut-short budget 'width' is not a size of this profile"),
    (dict(n=("width", 4)), "cut-short budget 'n' must be (kind, value) with kind one of ('steps', 'samples')"),
    (dict(n=("samples", 0)), "cut-short budget 'n' must be > 0, got 0"),
    (dict(n=("samples", [4])), "are not both numbers or both sequences"),
    (dict(ns=("samples", [])), "must be a non-empty sequence of numbers > 0"),
    (dict(n=("samples", True)), "must be a number or a sequence of numbers, not a boolean"),
])
def test_cut_short_bad_budgets_name_the_size(cuts, message):
    S = profiles.sizes(quick=dict(n=10, ns=[1, 2]), paper=dict(n=20, ns=[1, 2, 4]), profile="paper")
    with pytest.raises(ValueError, match=re.escape(message)):
        profiles.cut_short(S, cuts)


@pytest.mark.parametrize("chapter", list(registry.CHAPTERS))
def test_every_chapter_cuts_its_paper_profile_short_in_budgets_only(chapter):
    """Every chapter defines ``CUT_SHORT`` (``featlearn reproduce --cut-short``), valid at every profile; at
    ``paper`` it shortens some budgets and leaves every size it does not name as the profile's."""
    from featlearn import results

    module = results.chapter_module(chapter)
    for profile in results.chapter_profiles(chapter):
        S = profiles.sizes(**module.SIZES, profile=profile)
        cut, record = profiles.cut_short(S, module.CUT_SHORT)
        assert {k: v for k, v in vars(cut).items() if k not in record} == \
            {k: v for k, v in vars(S).items() if k not in record}
    assert any(r["run"] != r["profile"] for r in record.values())


def test_chunked_sweep_reassembles_the_configurations_in_order(key, tmp_path):
    vary = {"lr": [0.5, 1.0, 2.0]}
    whole = sweeps.sweep(_ids, key=key, seeds=3, vary=vary, fixed={"n": 2}, cache=False, chunk=0)
    keys = np.asarray(jax.random.key_data(jax.random.split(key, 3)))
    np.testing.assert_array_equal(whole["key"], np.broadcast_to(keys[:, None], (3, 3, *keys.shape[1:])))
    for per in (1, 2, 4, 5, 8):  # 9 configurations: exact division or a padded last chunk
        with sweeps.recording() as rec:
            part = sweeps.sweep(_ids, key=key, seeds=3, vary=vary, fixed={"n": 2}, cache=tmp_path / str(per),
                                chunk=per)
        assert rec[0]["chunks"] == -(-9 // per) and rec[0]["source"] == "computed"
        for k in whole:
            np.testing.assert_array_equal(part[k], whole[k])


def test_chunked_sweep_resumes_after_an_interruption(key, tmp_path, monkeypatch):
    args = dict(key=key, seeds=4, vary={"lr": [0.5, 1.0, 2.0]}, fixed={"n": 16}, chunk=5)
    # Reference: the same chunked sweep, uninterrupted, and the unchunked one.
    ref = sweeps.sweep(_matmul, cache=tmp_path / "ref", **args)
    whole = sweeps.sweep(_matmul, cache=False, **{**args, "chunk": 0})
    np.testing.assert_allclose(ref["y"], whole["y"], rtol=1e-5)

    saved = []
    real_save = sweeps._save

    def save_then_die(path, leaves, record):
        real_save(path, leaves, record)
        saved.append(path.name)
        if len(saved) == 2:
            raise KeyboardInterrupt("killed after the second chunk")

    monkeypatch.setattr(sweeps, "_save", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        sweeps.sweep(_matmul, cache=tmp_path / "run", **args)
    monkeypatch.setattr(sweeps, "_save", real_save)
    assert len(list((tmp_path / "run").glob("*of00003.npz"))) == 2
    with sweeps.recording() as rec:
        out = sweeps.sweep(_matmul, cache=tmp_path / "run", **args)
    assert (rec[0]["chunks"], rec[0]["chunks_cached"], rec[0]["source"]) == (3, 2, "resumed")
    for k in ref:
        np.testing.assert_array_equal(out[k], ref[k])  # bit-identical to the uninterrupted run
    # Done: one entry for the whole sweep, the chunk entries gone; a rerun is a cache hit.
    assert [p.name for p in (tmp_path / "run").glob("*.npz")] == [p.name for p in (tmp_path / "ref").glob("*.npz")]
    assert not list((tmp_path / "run").glob("*of*"))
    with sweeps.recording() as rec:
        sweeps.sweep(_matmul, cache=tmp_path / "run", **args)
    assert rec[0]["source"] == "cache"


def test_chunks_of_another_library_source_are_recomputed(key, tmp_path, monkeypatch):
    args = dict(key=key, seeds=3, vary={"lr": [0.5, 1.0]}, fixed={"n": 8}, chunk=2, cache=tmp_path)
    calls = []
    real_save = sweeps._save

    def save_then_die(path, leaves, record):
        real_save(path, leaves, record)
        calls.append(path.name)
        raise KeyboardInterrupt

    monkeypatch.setattr(sweeps, "_save", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        sweeps.sweep(_matmul, **args)
    monkeypatch.setattr(sweeps, "_save", real_save)
    monkeypatch.setattr(sweeps, "library_fingerprint", lambda: "an edited library")
    with sweeps.recording() as rec:
        sweeps.sweep(_matmul, **args)
    assert (rec[0]["chunks"], rec[0]["chunks_cached"], rec[0]["source"]) == (3, 0, "computed")


def test_chunking_context_environment_and_bad_values(key, tmp_path, monkeypatch):
    args = dict(key=key, seeds=4, vary={"lr": [0.5, 1.0]}, fixed={"n": 2}, cache=False)
    monkeypatch.delenv("FEATLEARN_CHUNK", raising=False)
    with sweeps.recording() as rec:
        sweeps.sweep(_ids, **args)
        with sweeps.chunking(3):
            sweeps.sweep(_ids, **args)
            sweeps.sweep(_ids, **args, chunk=0)  # the sweep's own setting wins
            with sweeps.chunking("auto"):
                sweeps.sweep(_ids, **args)
        monkeypatch.setenv("FEATLEARN_CHUNK", "4")
        sweeps.sweep(_ids, **args)
        sweeps.sweep(_ids, **args, chunk=100)  # a chunk that holds everything: the unchunked sweep
    assert [r["chunks"] for r in rec] == [1, 3, 1, 8, 2, 1]
    assert rec[0]["fn"].endswith("_ids") and rec[0]["grid"] == {"lr": 2} and rec[0]["fixed"] == {"n": 2}
    assert rec[0]["configs"] == 8 and rec[0]["wall_s"] >= 0
    monkeypatch.setenv("FEATLEARN_CHUNK", "many")
    with pytest.raises(ValueError, match="environment variable FEATLEARN_CHUNK must be 'auto' or an integer >= 0"):
        sweeps.sweep(_ids, **args)
    with pytest.raises(ValueError, match="chunk must be 'auto' or an integer >= 0, got -1"):
        sweeps.sweep(_ids, **args, chunk=-1)
    with pytest.raises(ValueError, match="chunk must be"):
        sweeps.chunking(1.5).__enter__()
    with pytest.raises(ValueError, match=r"select must be a non-empty 1-d array of indices in \[0, 8\)"):
        sweeps.program(_ids, key=key, seeds=4, vary={"lr": [0.5, 1.0]}, fixed={"n": 2}, select=np.array([8]))


def test_progress_eta_and_plain_lines(monkeypatch, capsys):
    from featlearn import progress

    assert progress.status_line("run", 0, 4, 0.0) == "run 0/4 [0.0s]"
    assert progress.status_line("run", 1, 4, 60.0) == "run 1/4 [60s, ETA 3:00]"
    assert progress.status_line("run", 2, 5, 7200.0) == "run 2/5 [2:00:00, ETA 3:00:00]"
    assert progress.status_line("run", 3, None, 1.0) == "run 3/? [1.0s]"
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("FEATLEARN_PROGRESS", "lines")
    assert list(progress.progress(range(3), desc="chunks")) == [0, 1, 2]
    err = capsys.readouterr().err
    assert "\r" not in err and err.splitlines()[0] == "chunks 0/3 [0.0s]" and err.splitlines()[-1].startswith(
        "chunks 3/3 [")
    monkeypatch.setenv("CI", "true")
    list(progress.progress(range(3), desc="chunks"))
    assert capsys.readouterr().err == ""


def test_save_figure_fixed_names_and_byte_stable(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figures.use_style()

    def draw():
        fig, ax = plt.subplots()
        ax.plot([1, 2, 3], [1, 4, 9], label="y")
        ax.legend()
        paths = figures.save_figure(fig, "test-chapter", "curve", data={"x": [1, 2, 3], "y": [1.0, 4.0, 9.0]},
                                    caption="A curve.")
        plt.close(fig)
        return {k: p.read_bytes() for k, p in paths.items()}

    a, b = draw(), draw()
    assert set(a) == {"pdf", "png", "svg", "csv", "json"}
    assert a == b
    assert a["csv"].decode().splitlines()[0] == "x,y"
    rec = figures.figure_records()
    assert rec[0]["caption"] == "A curve." and "test-chapter-curve.pdf" in rec[0]["files"]
    with pytest.raises(ValueError, match="chapter must be lower-case"):
        figures.save_figure(None, "Bad Name", "x")
    with pytest.raises(ValueError, match="data columns must have equal lengths"):
        figures.save_figure(plt.figure(), "c", "x", data={"a": [1], "b": [1, 2]})


def test_plain_log_ticks():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.semilogx([0.5, 8], [0, 1])
    figures.plain_log_ticks(ax, [0.5, 1, 2, 4, 8])
    fig.canvas.draw()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.5", "1", "2", "4", "8"]
    assert all(t.get_text() == "" for t in ax.get_xticklabels(minor=True))
    with pytest.raises(ValueError, match="axis"):
        figures.plain_log_ticks(ax, [1], axis="z")
    plt.close(fig)


def test_listed_joins_items_for_a_sentence():
    from featlearn import figures

    assert figures.listed([8]) == "8"
    assert figures.listed([8, 11]) == "8 and 11"
    assert figures.listed(["a", "b", "c"]) == "a, b and c"
    with pytest.raises(ValueError, match="items"):
        figures.listed([])


def test_chunked_sweep_on_two_devices(tmp_path):
    """On two (forced host) devices a chunk is rounded up to an even number of configurations and the last one is
    padded; the reassembled result is the one-device unchunked result."""
    import os
    import subprocess
    import sys

    script = (
        "import sys, jax, jax.numpy as jnp, numpy as np\n"
        "from featlearn import sweeps\n"
        "def ids(key, lr, *, n):\n"
        "    return {'key': jax.random.key_data(key), 'lr': lr * jnp.ones(n)}\n"
        "with sweeps.recording() as rec:\n"
        "    out = sweeps.sweep(ids, key=jax.random.key(5), seeds=3, vary={'lr': [0.5, 1.0, 2.0]}, fixed={'n': 2},\n"
        "                       chunk=1, cache=sys.argv[1])\n"
        "assert len(sweeps.devices()) == 2 and rec[0]['chunks'] == 5, rec\n"  # chunks of 2 (the last padded)
        "np.savez(sys.argv[2], **out)\n")
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "JAX_PLATFORMS")}
    env.update(JAX_PLATFORMS="cpu", XLA_FLAGS="--xla_force_host_platform_device_count=2")
    proc = subprocess.run([sys.executable, "-c", script, str(tmp_path / "cache"), str(tmp_path / "out.npz")], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    two = dict(np.load(tmp_path / "out.npz"))
    one = sweeps.sweep(_ids, key=jax.random.key(5), seeds=3, vary={"lr": [0.5, 1.0, 2.0]}, fixed={"n": 2},
                       cache=False, chunk=0)
    for k in one:
        np.testing.assert_array_equal(two[k], one[k])


def test_a_table_shows_numbers_not_reprs():
    t = figures.table({"err": np.array([0.11349, 0.0695], np.float32), "n": np.int64(3)}, header=["a", "b"],
                      note="means")
    html, text = t._repr_html_(), repr(t)
    for shown in (html, text):
        assert "0.113" in shown and "0.0695" in shown and "array(" not in shown and "float32" not in shown
    assert "<th>a</th>" in html and "<caption>means</caption>" in html
