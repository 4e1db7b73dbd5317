"""The chapters' plumbing in `featlearn.figures`: sweep output as a long-format table, glue from a dict; and
`import featlearn` without matplotlib or yaml."""

import itertools
import os
import subprocess
import sys
from typing import NamedTuple

import numpy as np
import pytest

from featlearn import figures


class _Out(NamedTuple):
    loss: np.ndarray
    extra: dict


def test_sweep_table_matches_a_loop_over_every_index():
    rng = np.random.default_rng(0)
    seeds, lams, ns = 3, [0.0, 0.1], [10, 20, 40, 80]
    out = _Out(rng.standard_normal((seeds, 2, 4)), {"r1": rng.standard_normal((seeds, 2, 4))})
    t = figures.sweep_table(out, dict(lam=lams, n=ns), d=16, kernel="ntk")
    assert list(t) == ["d", "kernel", "seed", "lam", "n", "loss", "extra_r1"]
    rows = [(16, "ntk", s, lams[i], ns[j], out.loss[s, i, j], out.extra["r1"][s, i, j])
            for s, i, j in itertools.product(range(seeds), range(2), range(4))]
    assert len({c.size for c in t.values()}) == 1 and t["loss"].size == len(rows)
    for r, row in enumerate(rows):
        assert tuple(t[k][r] for k in t) == row


def test_sweep_table_without_a_seed_axis_and_for_a_bare_array():
    means = np.arange(6.0).reshape(2, 3)
    t = figures.sweep_table({"mean": means}, dict(a=[1, 2], b=["x", "y", "z"]), seed=None)
    assert list(t) == ["a", "b", "mean"]
    assert t["a"].tolist() == [1, 1, 1, 2, 2, 2] and t["b"].tolist() == ["x", "y", "z"] * 2
    assert t["mean"].tolist() == means.ravel().tolist()
    bare = figures.sweep_table(np.array([0.5, 0.25]))  # seeds only
    assert bare["seed"].tolist() == [0, 1] and bare["value"].tolist() == [0.5, 0.25]


def test_sweep_table_rejects_shapes_and_names_it_cannot_lay_out():
    a = np.zeros((3, 4))
    with pytest.raises(ValueError, match=r"out\['x'\] must have shape \(3, 2\)"):
        figures.sweep_table({"x": a}, dict(n=[1, 2]))
    with pytest.raises(ValueError, match="given twice: \\['n'\\]"):
        figures.sweep_table({"n": a}, dict(n=[1, 2, 3, 4]))
    with pytest.raises(ValueError, match="given twice: \\['seed'\\]"):
        figures.sweep_table({"x": a}, dict(seed=[1, 2, 3, 4]))
    with pytest.raises(ValueError, match="constant column 'd' must hold one value"):
        figures.sweep_table({"x": a}, dict(n=[1, 2, 3, 4]), d=[1, 2])
    with pytest.raises(ValueError, match="out must hold at least one array"):
        figures.sweep_table({}, dict(n=[1]))


def test_concat_tables_stacks_rows_and_checks_columns():
    t1 = figures.sweep_table({"e": np.ones((2, 2))}, dict(n=[1, 2]), d=8)
    t2 = figures.sweep_table({"e": np.zeros((2, 3))}, dict(n=[1, 2, 3]), d=16)
    t = figures.concat_tables(t1, t2)
    assert t["d"].tolist() == [8] * 4 + [16] * 6 and t["e"].tolist() == [1.0] * 4 + [0.0] * 6
    with pytest.raises(ValueError, match="same columns"):
        figures.concat_tables(t1, {"e": [1]})
    with pytest.raises(ValueError, match="at least one table"):
        figures.concat_tables()


def test_glue_values_glues_each_item_under_its_prefixed_name(monkeypatch):
    calls = []
    monkeypatch.setattr(figures, "glue", lambda name, value: calls.append((name, value)) or value)
    got = figures.glue_values({"a": np.float64(0.25), "b": np.int64(3), "c": "x", "d": np.array(1.5)}, prefix="ch-")
    assert calls == [("ch-a", 0.25), ("ch-b", 3), ("ch-c", "x"), ("ch-d", 1.5)]
    assert [type(v) for _, v in calls] == [float, int, str, float]  # text "0.25", not "np.float64(0.25)"
    assert got == dict(calls)
    calls.clear()
    figures.glue_values({"x": 0.123456, "flag": True, "s": "y"}, fmt=".2f")
    assert calls == [("x", "0.12"), ("flag", True), ("s", "y")]
    with pytest.raises(ValueError, match="keyed by non-empty strings"):
        figures.glue_values({"": 1})


def test_import_featlearn_loads_neither_matplotlib_nor_yaml():
    """In a fresh interpreter: `import featlearn` leaves matplotlib out of `sys.modules`, and no featlearn module
    imports yaml or matplotlib while loading (yaml itself does get loaded, by flax: `flax.linen.summary`)."""
    script = (
        "import builtins, sys\n"
        "seen = []\n"
        "real = builtins.__import__\n"
        "def spy(name, globals=None, locals=None, fromlist=(), level=0):\n"
        "    who = (globals or {}).get('__name__', '')\n"
        "    if who.split('.')[0] == 'featlearn' and name.split('.')[0] in ('yaml', 'matplotlib'):\n"
        "        seen.append((who, name))\n"
        "    return real(name, globals, locals, fromlist, level)\n"
        "builtins.__import__ = spy\n"
        "import featlearn\n"
        "print('MPL', sorted(m for m in sys.modules if m.split('.')[0] == 'matplotlib'))\n"
        "print('SEEN', seen)\n"
    )
    env = {**os.environ, "MPLBACKEND": "Agg"}
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    assert "MPL []" in r.stdout, r.stdout
    assert "SEEN []" in r.stdout, r.stdout
