import json
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from featlearn import figures, profiles, sweeps


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
    with pytest.raises(ValueError, match="FEATLEARN_PROFILE must be one of"):
        profiles.active()
    with pytest.raises(ValueError, match="profile must be one of"):
        profiles.active("fast")
    with pytest.raises(ValueError, match="same sizes"):
        profiles.sizes(quick=dict(d=1), paper=dict(n=2), profile="quick")


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
