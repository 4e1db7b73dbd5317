"""The chapters' experiment sections (``SECTIONS`` of one_step and gradient_features): the bookkeeping that turns
sweep outputs into the tables, glued values and margins the chapters check, against brute-force computations.

The sweeps are replaced by synthetic outputs of the right shapes (the experiments themselves are tested in
test_one_step.py and test_gradient_features.py), so these tests are fast and test only the assembly."""

import inspect
import math
from types import SimpleNamespace

import jax
import numpy as np
import pytest

from featlearn import gradient_features as gf
from featlearn import one_step, profiles, sweeps
from featlearn.chapters import gradient_features as gf_chapter
from featlearn.chapters import one_step as one_step_chapter

SEEDS = 3


def one_step_sizes(**kw):
    """The chapter's toy profile (``SEEDS`` seeds), with ``kw`` replacing some of its sizes."""
    S = profiles.sizes(**one_step_chapter.SIZES, profile="toy")
    assert S.seeds == SEEDS
    return SimpleNamespace(**(vars(S) | kw))


class FakeSweep:
    """Stands in for :func:`featlearn.sweeps.sweep`: records each call and returns arrays of the real outputs'
    shapes, ``(seeds, *grid, K)``, drawn from a fixed generator (or from ``values(fn_name, fixed, seed)``)."""

    def __init__(self, values=None):
        self.calls, self.values, self.rng = [], values, np.random.default_rng(0)

    def __call__(self, fn, *, key, seeds=1, vary=None, fixed=None, cache=None, chunk=None):
        fixed = dict(fixed or {})
        out = self.draw(fn.__name__, seeds, fixed)
        self.calls.append((fn.__name__, seeds, dict(vary or {}), fixed, chunk, out))
        return out

    def draw(self, name, seeds, fixed):
        if self.values is not None:
            vals = self.values(name, fixed, seeds)
            return {q: np.stack([vals[s][q] for s in range(seeds)]) for q in vals[0]}
        if name == "gradient_path_run":
            k = len(fixed["checkpoints"])
            return {q: self.rng.uniform(0.1, 1.0, (seeds, k)).astype(np.float32)
                    for q in ("cosine", "alignment", "top_overlap")}
        if name == "learning_curve_run":  # the network worse than random features only at the smallest n (< d²)
            k = len(fixed["ns"])
            net = 0.9 / np.arange(1, k + 1) + self.rng.uniform(0, 0.05, (seeds, k))
            return {"network": net.astype(np.float32), "alignment": np.ones((seeds, k), np.float32),
                    "rf": self.rng.uniform(0.6, 0.7, (seeds, k)).astype(np.float32),
                    **{q: self.rng.uniform(1e-3, 5e-2, (seeds, k)).astype(np.float32) for q in ("network_se", "rf_se")}}
        if name == "kernel_baselines_run":
            k, names = len(fixed["ns"]), fixed["kernel_names"]
            out = {q: self.rng.uniform(0.3, 1.0, (seeds, k)).astype(np.float32) for q in names}
            out |= {f"{q}_se": self.rng.uniform(1e-3, 5e-2, (seeds, k)).astype(np.float32) for q in names}
            out |= {f"{q}_lambda": np.full((seeds, k), 1e-3, np.float32) for q in names}
            return out | {"cg_residual": self.rng.uniform(0, 1e-3, (seeds, k)).astype(np.float32),
                          "cg_iterations": np.full((seeds, k), 7, np.int32)}
        if name == "transfer_run":
            return {q: self.rng.uniform(0.1, 1.1, (seeds,)).astype(np.float32)
                    for q in ("transfer", "scratch", "rf", "alignment")}
        raise AssertionError(f"unexpected sweep of {name}")


def test_sections_follow_the_protocol():
    """Each chapter lists its sections in order; each is ``section(S, key)`` and is a function of the module."""
    assert list(one_step_chapter.SECTIONS) == [
        "key_lemma", "sample_complexity", "network_vs_kernels", "transfer_learning"]
    assert list(gf_chapter.SECTIONS) == ["mixture_of_gaussians", "sparse_parity", "multi_index", "linear_data",
                                         "theorem_in_numbers", "lottery_tickets", "simplicity_bias",
                                         "neural_feature_ansatz"]
    for module in (one_step_chapter, gf_chapter):
        for name, fn in module.SECTIONS.items():
            assert getattr(module, name) is fn
            assert list(inspect.signature(fn).parameters) == ["S", "key"]


def _excess_path(ns, d, n_half, r=2):
    """An alignment whose excess over r/d is linear in log n and crosses 1/2 exactly at ``n_half`` (clipped to
    [0, 1]; log-linear interpolation between checkpoints a factor 2 apart is then exact)."""
    e = np.clip(0.5 + 0.25 * np.log2(np.asarray(ns, float) / n_half), 0.0, 1.0)
    return (r / d + e * (1 - r / d)).astype(np.float32)


def test_sample_complexity_recovers_the_exponents_of_synthetic_crossings(monkeypatch):
    """Synthetic paths whose per-neuron excess alignment crosses 1/2 at n = c_s d²/2 and whose top-r overlap crosses
    at n = 2 c_s d: the section finds the crossings and the exponents 2 and 1; the control's value is its mean
    over seeds at the largest n."""
    S = one_step_sizes()
    scale = [1.0, 1.3, 0.8]  # one factor per seed: balanced over d, so the pooled slope is exact

    def values(name, fixed, seeds):
        assert name == "gradient_path_run"
        ns, d = fixed["checkpoints"], fixed["target"].d
        return {s: {"cosine": np.linspace(0.2, 0.9, len(ns), dtype=np.float32),
                    "alignment": _excess_path(ns, d, scale[s] * d * d / 2),
                    "top_overlap": _excess_path(ns, d, scale[s] * 2 * d)} for s in range(seeds)}

    monkeypatch.setattr(sweeps, "sweep", FakeSweep(values))
    out = one_step_chapter.sample_complexity(S, jax.random.key(0))
    cross = out["crossing"]
    want = {(d, s): scale[s] * d * d / 2 for d in S.path_d for s in range(SEEDS)}
    got = {(int(d), int(s)): n for d, s, n in zip(cross["d"], cross["seed"], cross["neuron"], strict=True)}
    assert got.keys() == want.keys()
    assert np.allclose([got[k] for k in want], list(want.values()), rtol=1e-5)
    assert out["neuron_slope"] == pytest.approx(2.0, abs=1e-4)
    assert out["top_slope"] == pytest.approx(1.0, abs=1e-4)
    assert out["neuron_ci_low"] <= 2.0 + 1e-4 and out["neuron_ci_high"] >= 2.0 - 1e-4
    # The control: every seed's alignment at its largest n, averaged.
    for i, d in enumerate(S.control_d):
        top = S.control_max * d * d
        expect = np.mean([_excess_path([top], d, scale[s] * d * d / 2)[0] for s in range(SEEDS)])
        assert out["control_alignment"][i] == pytest.approx(expect, rel=1e-6)
    assert out["glue"]["ctrl-first"] == out["control_alignment"][0]
    assert out["glue"]["ctrl-last"] == out["control_alignment"][-1]
    assert out["glue"]["neuron-slope"] == out["neuron_slope"] and out["glue"]["top-ci-high"] == out["top_ci_high"]
    # The figure's table: every path value once, then the crossings at the level.
    t = out["table"]
    n_path = sum(len(one_step.doubling_checkpoints(d, S.path_max)) for d in S.path_d) * SEEDS
    n_ctrl = sum(len(one_step.doubling_checkpoints(d, S.control_max)) for d in S.control_d) * SEEDS
    assert len(t["quantity"]) == 2 * n_path + n_ctrl + 2 * len(S.path_d) * SEEDS
    assert np.all(t["value"][t["quantity"] == "n_half_neuron"] == one_step_chapter.LEVEL)


def test_key_lemma_takes_the_seed_mean_at_the_largest_n_and_the_worst_doubling(monkeypatch):
    S = one_step_sizes()
    fake = FakeSweep()
    monkeypatch.setattr(sweeps, "sweep", fake)
    out = one_step_chapter.key_lemma(S, jax.random.key(0))
    paths = {call[3]["m"] // S.path_m_per_d: call for call in fake.calls}
    assert [c[0] for c in fake.calls] == ["gradient_path_run"] * len(S.path_d)
    t = out["table"]
    for i, d in enumerate(S.path_d):
        ns = one_step.doubling_checkpoints(d, S.path_max)
        assert paths[d][3]["checkpoints"] == ns and paths[d][1] == SEEDS
        rows = t["d"] == d
        cos = t["cosine"][rows].reshape(SEEDS, len(ns))  # rows are seed-major
        assert np.array_equal(t["n"][rows].reshape(SEEDS, -1), np.tile(ns, (SEEDS, 1)))
        mean = [np.mean(cos[:, j]) for j in range(len(ns))]
        assert out["cosine_last"][i] == pytest.approx(mean[-1], rel=1e-6)
        assert out["cosine_rise"][i] == pytest.approx(float(np.min(np.diff(mean))), abs=1e-6)
    assert out["glue"]["cos-min"] == pytest.approx(min(out["cosine_last"]), rel=1e-6)
    assert out["glue"]["cos-dmax"] == pytest.approx(out["cosine_last"][-1], rel=1e-6)


def test_network_vs_kernels_margins_against_a_brute_force_computation(monkeypatch):
    """The margins (network − baseline, worst n ≥ d² where both ran), the distance of every kernel run to the
    plateau in standard errors, the NTK's excess ratio and the CG residual, recomputed from the raw sweep outputs
    one number at a time."""
    S = one_step_sizes()
    fake = FakeSweep()
    monkeypatch.setattr(sweeps, "sweep", fake)
    out = one_step_chapter.network_vs_kernels(S, jax.random.key(0))
    raw = {}
    for name, _, _, fixed, chunk, res in fake.calls:
        raw[(name, fixed["target"].d)] = (list(fixed["ns"]), res)
        assert chunk == (1 if name == "kernel_baselines_run" else None)  # kernels: one seed per program
    plateau = out["plateau"]
    assert plateau == pytest.approx(0.5)  # the source's variance above degree 2: h4 and h2 h2 halves, each 1/4

    def mean_se(se):  # sqrt of the summed squared per-seed SEs over seeds
        return math.sqrt(sum(float(v) ** 2 for v in se)) / len(se)

    zs, gaps = [], {}
    for (name, _), (ns, res) in raw.items():
        methods = ("rf",) if name == "learning_curve_run" else fixed_names(res)
        for k in methods:
            for j in range(len(ns)):
                zs.append((float(np.mean(res[k][:, j])) - plateau) / mean_se(res[f"{k}_se"][:, j]))
    for d in S.curve_d:
        ns, net = raw[("learning_curve_run", d)]
        net_mean = {n: float(np.mean(net["network"][:, j])) for j, n in enumerate(ns)}
        baselines = [("rf", ns, net)]
        if ("kernel_baselines_run", d) in raw:
            kn, ko = raw[("kernel_baselines_run", d)]
            baselines += [(k, kn, ko) for k in ("entk", "ntk") if k in ko]
        for k, bn, res in baselines:
            gaps[(d, k)] = max(net_mean[n] - float(np.mean(res[k][:, j])) for j, n in enumerate(bn)
                               if n >= d * d and n in net_mean)
    m = out["margins"]
    got = {(int(d), str(k)): float(g) for d, k, g in zip(m["d"], m["method"], m["gap"], strict=True)}
    assert got.keys() == gaps.keys()
    assert all(got[k] == pytest.approx(gaps[k], abs=1e-6) for k in gaps)
    assert out["kernel_z"] == pytest.approx(min(zs), rel=1e-4)
    lowest = min(float(np.mean(res[k][:, j])) for (name, _), (ns, res) in raw.items()
                 for k in (("rf",) if name == "learning_curve_run" else fixed_names(res)) for j in range(len(ns)))
    assert out["glue"]["kernel-min"] == pytest.approx(lowest, rel=1e-6)
    for i, d in enumerate(out["kernel_dims"]):
        kn, ko = raw[("kernel_baselines_run", int(d))]
        ntk = [float(np.mean(ko["ntk"][:, j])) for j in range(len(kn))]
        ratio = (ntk[-1] - plateau) / (ntk[kn.index(d * d)] - plateau)
        assert out["excess_ratio"][i] == pytest.approx(ratio, rel=1e-5)
    assert out["glue"]["excess-ratio"] == pytest.approx(max(out["excess_ratio"]))
    assert out["cg_res"] == pytest.approx(max(float(r[1]["cg_residual"].max()) for (name, _), r in raw.items()
                                              if name == "kernel_baselines_run"))
    # The kernels run where asked: both NTKs at entk_d, the closed form elsewhere, up to kernel_n_max samples.
    kernel_calls = {f["target"].d: f for name, _, _, f, _, _ in fake.calls if name == "kernel_baselines_run"}
    assert kernel_calls[8]["kernel_names"] == ("ntk", "entk") and kernel_calls[12]["kernel_names"] == ("ntk",)
    assert max(kernel_calls[12]["ns"]) <= S.kernel_n_max
    # The table lists each method's every seed; the network's upper end adds three standard errors of the mean.
    net16 = raw[("learning_curve_run", 16)][1]
    assert out["network_upper"][-1] == pytest.approx(np.mean(net16["network"][:, -1])
                                                     + 3 * mean_se(net16["network_se"][:, -1]), rel=1e-5)
    t = out["table"]
    rows = sum(len(ns) * (len(fixed_names(res)) if name == "kernel_baselines_run" else 2)
               for (name, _), (ns, res) in raw.items())
    assert len(t["d"]) == SEEDS * rows


def fixed_names(res):
    """The kernels in a fake kernel_baselines_run output."""
    return tuple(k for k in ("entk", "ntk") if k in res)


def test_transfer_learning_averages_each_method_over_seeds(monkeypatch):
    S = one_step_sizes()
    fake = FakeSweep()
    monkeypatch.setattr(sweeps, "sweep", fake)
    out = one_step_chapter.transfer_learning(S, jax.random.key(0))
    raw = [c[-1] for c in fake.calls]
    for k in ("transfer", "scratch", "rf"):
        assert np.allclose(out[k], [np.mean(r[k]) for r in raw], rtol=1e-6)
    assert [c[3]["n_source"] for c in fake.calls] == [S.source_ratio * d * d for d in S.transfer_d]
    assert out["glue"]["tr-first"] == pytest.approx(np.mean(raw[0]["transfer"]), rel=1e-6)
    assert out["glue"]["scratch-last"] == pytest.approx(np.mean(raw[-1]["scratch"]), rel=1e-6)
    assert len(out["table"]["nmse"]) == 3 * SEEDS * len(S.transfer_d)


def test_prose_sizes_quote_the_sizes():
    S = one_step_sizes(n_test=50_000, curve_d=[16, 32, 64], curve_ratios=[0.5, 1, 2, 4, 8])
    p = one_step_chapter.prose_sizes(S)
    assert p["n-test"] == "50,000" and p["d-max"] == 64 and p["lag-lo"] == "256" and p["lag-hi"] == "1,024"


def test_parity_majority_vote_error_is_three_quarters(monkeypatch):
    """The majority vote of three signs disagrees with their product on 6 of the 8 patterns (two of one sign and
    one of the other: the vote follows the pair, the product the single one)."""
    monkeypatch.setattr(sweeps, "sweep", lambda fn, **kw: {c: np.zeros((kw["seeds"],), np.float32) for c in (
        "mass_init", "mass_step1", "mass_pred", "gfs_step1", "err_net_uniform", "err_rf_uniform", "err_ntk_uniform",
        "err_net", "err_ntk")})
    S = SimpleNamespace(**gf_chapter.SIZES["quick"])
    out = gf_chapter.sparse_parity(S, jax.random.key(0))
    assert out["majority_error"] == 0.75 and out["glue"]["parity3-majority-error"] == 0.75
    assert out["cone"] == pytest.approx(1 - gf_chapter.PARITY_GAMMA)


def test_mixture_of_gaussians_means_and_table_are_seed_major(monkeypatch):
    S = SimpleNamespace(**gf_chapter.SIZES["quick"])
    rng = np.random.default_rng(1)
    outs = {}

    def fake(fn, *, key, seeds, vary=None, fixed=None, **kw):
        k = len(S.ns)
        names = (("err_ntk", "lam") if fn is gf.xor_kernel_run else
                 ("err_net", "hinge_net", "err_rf", "err_linear", "mass_init", "mass_step1", "mass_pred", "gfs",
                  "gfs_rows_step1"))
        outs.update({n: rng.uniform(0, 1, (seeds, k)).astype(np.float32) for n in names})
        return {n: outs[n] for n in names}

    monkeypatch.setattr(sweeps, "sweep", fake)
    out = gf_chapter.mixture_of_gaussians(S, jax.random.key(0))
    for c in ("mass_step1", "err_net", "err_ntk"):
        assert np.allclose(out[c], [np.mean(outs[c][:, j]) for j in range(len(S.ns))], rtol=1e-6)
    assert out["gfs"] == pytest.approx(float(np.mean(outs["gfs"])), rel=1e-6)
    assert out["glue"]["xor-net-small"] == pytest.approx(float(np.mean(outs["err_net"][:, 0])), rel=1e-6)
    assert out["glue"]["xor-nmax-over-d2"] == S.ns[-1] / S.d**2
    t = out["table"]
    assert np.array_equal(t["seed"], np.repeat(np.arange(S.seeds), len(S.ns)))
    assert np.array_equal(t["n"], np.tile(S.ns, S.seeds))
    assert t["err_net"][len(S.ns) + 1] == outs["err_net"][1, 1]  # seed 1, second n


# The outputs of each gradient-features experiment, by name (per-neuron outputs have a trailing axis of m).
GF_OUTPUTS = {
    "xor_run": ["err_net", "hinge_net", "err_rf", "err_linear", "mass_init", "mass_step1", "mass_pred", "gfs",
                       "gfs_rows_step1"],
    "xor_kernel_run": ["err_ntk", "lam"],
    "parity_run": ["mass_init", "mass_step1", "mass_pred", "gfs_step1", "err_net_uniform", "err_rf_uniform",
                          "err_ntk_uniform", "err_net", "err_ntk"],
    "multi_index_run": ["neuron_init", "neuron_step1", "neuron_pred", "overlap_init", "overlap_step1",
                               "err_net", "err_rf", "err_ntk"],
    "linear_run": ["neuron_step1", "neuron_pred", "err_net", "err_rf", "err_ntk", "err_linear"],
    "xor_opt_run": ["hinge", "err"],
    "lottery_run": ["err_winners", "err_random", "err_full", "align_winners", "align_all"],
    "simplicity_run": ["mass_linear", "mass_xor", "err_clean", "err_shuffle_linear", "err_shuffle_xor"],
    "nfa_run": [f"corr_{a}{b}" for a in ("", "sqrt_") for b in ("init", "two_stage", "full")]
    + ["err_two_stage", "err_full"],
}


def fake_gradient_features_sweep(S, rng, low=0.0):
    """A stand-in for ``sweeps.sweep`` on the gradient-features experiments: uniform draws in ``[low, 1)`` of the
    shapes each experiment returns (per neuron where it returns per-neuron arrays), at the sizes ``S``."""

    def fake(fn, *, key, seeds, vary=None, fixed=None, **kw):
        grid = tuple(len(v) for v in (vary or {}).values()) or ((len(fixed["ns"]),) if "ns" in fixed else ())
        if fn is gf.rfm_run:
            return rng.uniform(0, 1, (seeds, fixed["iterations"] + 1)).astype(np.float32)
        per_neuron = fn in (gf.multi_index_run, gf.linear_run)
        return {k: rng.uniform(low, 1, (seeds, *grid, *((S.m,) if per_neuron and k.startswith("neuron") else ())))
                .astype(np.float32) for k in GF_OUTPUTS[fn.__name__]}

    return fake


def test_every_section_glues_python_scalars_and_tables_have_equal_columns(monkeypatch):
    """Both chapters, every section, on synthetic sweep outputs: the glued numbers are Python scalars (myst-nb
    formats their text), and every table (a dict of arrays) has equal-length 1-d columns."""
    S = SimpleNamespace(**gf_chapter.SIZES["quick"])
    rng = np.random.default_rng(2)
    fake_gf = fake_gradient_features_sweep(S, rng)

    runs = []
    monkeypatch.setattr(sweeps, "sweep", fake_gf)
    runs += [(f"gf.{n}", f(S, jax.random.key(0))) for n, f in gf_chapter.SECTIONS.items()]
    monkeypatch.setattr(sweeps, "sweep", FakeSweep())
    runs += [(f"one_step.{n}", f(one_step_sizes(), jax.random.key(0))) for n, f in one_step_chapter.SECTIONS.items()]
    for name, out in runs:
        assert out["glue"], name
        bad = {k: type(v).__name__ for k, v in out["glue"].items() if type(v) not in (int, float, str)}
        assert not bad, f"{name}: glued values that are not Python scalars: {bad}"
        for k, v in out.items():
            if isinstance(v, dict) and k != "glue":
                lengths = {c: np.shape(a) for c, a in v.items()}
                assert len({s for s in lengths.values()}) == 1 and len(next(iter(lengths.values()))) == 1, (
                    f"{name}[{k!r}] is not a table of equal-length 1-d columns: {lengths}")


def test_the_xor_claims_read_their_values_from_the_section():
    """The values the XOR claims test, live and stored alike: the last n's step-1 and predicted mass and the
    smallest step-1/init ratio; the network's largest margins over random features, linear and the NTK; the NTK's
    largest change with n."""
    xor = {"mass_init": np.array([0.1, 0.1]), "mass_step1": np.array([0.6, 0.8]), "mass_pred": np.array([0.5, 0.75]),
           "err_net": np.array([0.2, 0.1]), "err_rf": np.array([0.5, 0.45]), "err_linear": np.array([0.45, 0.5]),
           "err_ntk": np.array([0.4, 0.3])}
    v = gf_chapter.xor_claim_values(xor)
    np.testing.assert_allclose(v["step1_mass"], [0.8, 0.75, 6.0])
    np.testing.assert_allclose(v["fixed_features"], [-0.3, -0.25])
    np.testing.assert_allclose(v["ntk"], [-0.2, -0.1])
    assert gf_chapter.XOR_NET_BEATS_FIXED_FEATURES.evaluate(v["fixed_features"])
    assert not gf_chapter.XOR_NET_BEATS_NTK.evaluate([0.01, -0.1])  # the network behind the NTK at some n
