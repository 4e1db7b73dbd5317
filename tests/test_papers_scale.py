"""Each chapter's "At a larger scale" section, without a real run: the chapter's sections are run at toy sizes
(or on synthetic sweep outputs), stored with `featlearn.results` in a temporary `FEATLEARN_RESULTS`, and the
notebook's own stored cells (ids `papers-scale...`) are executed against them. Every stored check must be reached
and record its row at the stored profile, the stored figure must be saved under its own name with the provenance
printed under it; with nothing stored, the same cells say so and check nothing. The intermediate profiles are
traced for shape alongside `paper` in each module's own test; here, that each is declared between quick and paper
and is larger than quick."""

import ast
import functools
import importlib
import re
from pathlib import Path

import jax
import matplotlib
import nbformat
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import featlearn as fl  # noqa: E402
from featlearn import profiles, registry, results, sweeps  # noqa: E402
from featlearn.chapters import good_directions as gd_chapter  # noqa: E402
from featlearn.chapters import gradient_features as gf_chapter  # noqa: E402
from featlearn.chapters import kernel_regime as kr_chapter  # noqa: E402
from featlearn.chapters import local_convergence as lc_chapter  # noqa: E402
from featlearn.chapters import one_step as one_step_chapter  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TOY: dict[str, object] = {}  # chapter -> the builder of its toy results, filled by @toy below


def toy(chapter: str):
    """Register a builder of ``chapter``'s toy results for the stored-section test."""
    def register(fn):
        TOY[chapter] = fn
        return fn
    return register


def stored_cells(chapter: str) -> list[str]:
    """The code of the chapter's "At a larger scale" section, in order."""
    nb = nbformat.read(ROOT / "book" / f"{chapter}.ipynb", as_version=4)
    return [c.source for c in nb.cells if c.cell_type == "code" and c.get("id", "").startswith("papers-scale")]


def stored_claims(chapter: str) -> list[str]:
    """The literal `claim=` ids of the section's checks (an f-string id: its literal prefix and `*`)."""
    out = []
    for src in stored_cells(chapter):
        for n in ast.walk(ast.parse(src)):
            for kw in getattr(n, "keywords", []) if isinstance(n, ast.Call) else []:
                if kw.arg == "claim" and isinstance(kw.value, ast.Constant):
                    out.append(kw.value.value)
                elif kw.arg == "claim" and isinstance(kw.value, ast.JoinedStr):
                    out.append(kw.value.values[0].value + "*")
    return out


class RecordingCard:
    """Stands in for the chapter's card: `at_scale(...).check/note/outcome/claim` record each call instead of
    asserting, so the stored cells run to the end on toy data, whose numbers are not the chapter's claims."""

    def __init__(self):
        self.rows = []

    def at_scale(self, scale):
        card = self

        class View:
            def check(self, ok, message, **kw):
                assert isinstance(message, str) and kw["claim"].startswith("stored-")
                card.rows.append(dict(kw, ok=bool(ok), scale=scale, message=message))

            def note(self, **kw):
                card.rows.append(dict(kw, ok=None, scale=scale))

            def outcome(self, ok, **kw):
                assert kw["claim"].startswith("stored-")
                card.rows.append(dict(kw, ok=bool(ok), scale=scale))
                return bool(ok)

            def claim(self, claim, value, *, interval=None, **fields):
                measured, threshold = claim.text(**fields)  # a missing field is an error here too
                card.rows.append(dict(claim=f"stored-{claim.row_id(**fields)}", measured=measured, threshold=threshold,
                                      value=value, ok=claim.evaluate(value, **fields), scale=scale))

        return View()


# --- the chapters' sections at toy sizes ----------------------------------------------------------------------

@functools.cache
@toy("kernel-regime")
def _kernel_regime():
    S = profiles.sizes(**kr_chapter.SIZES, profile="toy")
    out = {name: fn(S, jax.random.key(0)) for name, fn in kr_chapter.SECTIONS.items()}
    return S, out, {"lazy": out["lazy_training"]}


@toy("one-step")
def _one_step(monkeypatch):
    from test_chapter_sections import FakeSweep, one_step_sizes

    monkeypatch.setattr(sweeps, "sweep", FakeSweep())
    S = one_step_sizes()
    out = {name: fn(S, jax.random.key(0)) for name, fn in one_step_chapter.SECTIONS.items()}
    return S, out, {"sc": out["sample_complexity"], "nk": out["network_vs_kernels"]}


@toy("good-directions")
def _good_directions():
    S = profiles.sizes(**gd_chapter.SIZES, profile="toy")
    key = jax.random.key(gd_chapter.SEED)
    reg = gd_chapter.regularisation_strength(S, key, k=4)
    out = {"spectrum_outliers": gd_chapter.spectrum_outliers(S, key), "regularisation_strength": reg,
           "models_compared": gd_chapter.models_compared(S, key, reg),
           "sample_complexity": gd_chapter.sample_complexity(S, key)}
    return S, out, {"final_test": reg["final_test"], "best": reg["best"]}


@toy("gradient-features")
def _gradient_features(monkeypatch):
    from test_chapter_sections import fake_gradient_features_sweep

    S = profiles.sizes(**gf_chapter.SIZES, profile="toy")
    monkeypatch.setattr(sweeps, "sweep", fake_gradient_features_sweep(S, np.random.default_rng(3), low=0.1))
    out = {name: fn(S, jax.random.key(0)) for name, fn in gf_chapter.SECTIONS.items()}
    return S, out, {"xor": out["mixture_of_gaussians"]}


@toy("local-convergence")
def _local_convergence():
    S = profiles.sizes(**lc_chapter.SIZES, profile="toy")
    key = jax.random.key(lc_chapter.SEED)
    old = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)  # as the chapter runs
    try:
        st = lc_chapter.staged_convergence(S, key)
        out = {"staged_convergence": st, "teacher_concentration": lc_chapter.teacher_concentration(S, key, st),
               "certificate": lc_chapter.certificate(S, key), "pipeline": lc_chapter.pipeline(S, key)}
    finally:
        jax.config.update("jax_enable_x64", old)
    return S, out, {"drops": st["staged"]["drops"]}


def _run_stored_cells(chapter, namespace, capsys):
    for src in stored_cells(chapter):
        exec(compile(src, f"<{chapter}: papers-scale>", "exec"), namespace)  # noqa: S102 - the notebook's own cells
    plt.close("all")
    return capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.parametrize("chapter", list(TOY))
def test_the_stored_section_draws_and_checks_the_stored_results(chapter, tmp_path, monkeypatch, capsys):
    import inspect

    module = registry.chapter(chapter).load()
    make = TOY[chapter]
    S, out, live = make(monkeypatch) if inspect.signature(make).parameters else make()
    monkeypatch.setenv("FEATLEARN_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("FEATLEARN_FIGURES", str(tmp_path / "figures"))
    source = nbformat.read(ROOT / registry.chapter(chapter).notebook, as_version=4)
    imported = {alias or name: importlib.import_module(f"featlearn{package}.{name}") for package, name, alias in
                re.findall(r"^from featlearn(\.chapters)? import (\w+)(?: as (\w+))?$",
                           "\n".join(c.source for c in source.cells), re.M)}
    assert module in imported.values(), f"{chapter}: its module is not imported"

    def namespace():
        card = RecordingCard()
        ns = {"fl": fl, "plt": plt, "np": np, "jax": jax, "CHAPTER": chapter, "card": card, "S": S, **live,
              **imported}
        return ns, card

    # Nothing stored: the section says so, draws and checks nothing.
    ns, card = namespace()
    printed = _run_stored_cells(chapter, ns, capsys)
    assert ns["stored"] is None and not card.rows
    assert f"Nothing is stored yet for this chapter: `featlearn reproduce {chapter} --profile cpu-large`" in printed
    assert not (tmp_path / "figures").exists() or not list((tmp_path / "figures").glob("*-stored.*"))

    # Stored (through the store, as `featlearn reproduce` writes it): the figure, the provenance, every check.
    sizes = {k: v for k, v in vars(S).items() if k != "profile"}
    manifest = {"sizes": sizes, "featlearn_version": fl.__version__, "git_commit": "c" * 40, "git_dirty": False,
                "jax_version": jax.__version__, "device": "cpu (2 cores)", "started": "2026-12-02T10:00:00+00:00",
                "wall_s": 1234.0}
    results.write(chapter, "toy_large", out, manifest, order=list(module.SECTIONS))
    ns, card = namespace()
    printed = _run_stored_cells(chapter, ns, capsys)
    assert ns["stored"].profile == "toy_large"
    assert "Stored results: profile toy_large (" in printed
    assert "run on cpu (2 cores) on 2026-12-02 in 21 min" in printed
    saved = sorted(p.name for p in (tmp_path / "figures").glob(f"{chapter}-*-stored.svg"))
    assert saved, f"{chapter}: no figure saved under a '-stored' name"
    for name in saved:  # the same drawing as the live cell: the module's plot_<section>
        assert re.fullmatch(rf"{chapter}-[a-z0-9-]+-stored\.svg", name)
    claims = stored_claims(chapter)
    assert claims and len(set(claims)) == len(claims)
    got = [r["claim"] for r in card.rows]
    assert len(set(got)) == len(got), f"{chapter}: a stored claim id is used twice: {got}"
    missing = [c for c in claims if not (any(g.startswith(c[:-1]) for g in got) if c.endswith("*") else c in got)]
    assert not missing, f"{chapter}: stored checks that were never reached: {missing}"
    assert {r["scale"] for r in card.rows} == {"toy_large (stored)"}
    for r in card.rows:  # a row the scorecard can record: its value is a number, a string or a list of those
        real = fl.scorecard.Card(chapter, paper="p", scale="s", folder=tmp_path / "card")
        kw = {k: v for k, v in r.items() if k not in ("ok", "scale", "message")}
        real.check(True, "m", **kw) if r["ok"] is not None else real.note(**kw)


def _lines(ax) -> dict[str, np.ndarray]:
    """The labelled lines of an axis: label → y data."""
    return {ln.get_label(): np.asarray(ln.get_ydata(), float) for ln in ax.get_lines()
            if not ln.get_label().startswith("_")}


@pytest.mark.slow
def test_the_stored_figures_draw_every_curve_of_the_section(monkeypatch):
    """Each chapter's plot function (used for the live and the stored figure) draws what the section returned:
    one curve per dimension, method or λ the section ran, with the section's numbers as its data."""
    _, st, _ = _kernel_regime()
    fig = kr_chapter.plot_staircase(st["staircase"])
    lines, c = _lines(fig.axes[0]), st["staircase"]["curves"]
    assert list(lines) == [f"NTK with biases, d = {d}" for d in (3, 4)] + ["bias-free NTK, d = 3"]
    for d in (3, 4):
        np.testing.assert_allclose(lines[f"NTK with biases, d = {d}"], c["mean"][c["d"] == d], rtol=1e-6)
    np.testing.assert_allclose(lines["bias-free NTK, d = 3"], st["staircase"]["nobias_mean"], rtol=1e-6)

    _, os_out, _ = _one_step(monkeypatch)
    nk = os_out["network_vs_kernels"]
    fig = one_step_chapter.plot_network_vs_kernels(nk)
    left, mean = _lines(fig.axes[0]), nk["mean"]
    dims = list(dict.fromkeys(mean["d"][mean["method"] == "network"].tolist()))
    assert list(left) == [f"network, d = {d}" for d in dims] == ["network, d = 8", "network, d = 12", "network, d = 16"]
    for d in dims:
        at = (mean["d"] == d) & (mean["method"] == "network")
        np.testing.assert_allclose(left[f"network, d = {d}"], mean["nmse"][at], rtol=1e-6)
    drawn = [c.get_label() for c in fig.axes[1].containers]  # the kernels, drawn with their error bars
    kernels = ["empirical NTK, d = 8", "closed-form NTK, d = 8", "closed-form NTK, d = 12",
               "closed-form NTK, d = 16"]  # d = 16: the NTK as the baseline with the capacity for degree 2
    assert [t for t in drawn if "NTK" in t] == kernels
    legend = [t.get_text() for t in fig.axes[1].get_legend().get_texts()]  # one entry per method, not per d
    assert legend == ["random features", "empirical NTK", "closed-form NTK"]
    sc = os_out["sample_complexity"]
    fig = one_step_chapter.plot_sample_complexity(sc)
    assert list(_lines(fig.axes[0])) == ["d = 8", "d = 16", "d = 32", "$h_3$ control, d = 8", "$h_3$ control, d = 16"]

    _, gf_out, _ = _gradient_features(monkeypatch)
    xor = gf_out["mixture_of_gaussians"]
    fig = gf_chapter.plot_mixture_of_gaussians(xor)
    errors = _lines(fig.axes[1])
    for k, label in (("err_net", "two-stage network"), ("err_ntk", "NTK (kernel ridge)"), ("err_rf", "random features"),
                     ("err_linear", "linear")):
        np.testing.assert_allclose(errors[label], xor[k], rtol=1e-6)

    rng = np.random.default_rng(0)
    reg = {k: rng.uniform(0.1, 1, (2, 3, 5)) for k in ("r1", "train", "test")} | {
        "lams": np.array([0.0, 0.5, 2.0]), "best": 1, "log_d_t": np.linspace(0, 2, 5)}
    fig = gd_chapter.plot_regularisation_strength(reg)
    test = _lines(fig.axes[2])
    assert list(test) == ["λ = 0", "λ = 0.5 (validated)", "λ = 2"]
    np.testing.assert_allclose(test["λ = 2"], reg["test"][:, 2].mean(0)[1:])
    # MSE; R1 a sum, λ' = 2λ/n
    fig = gd_chapter.plot_regularisation_strength(reg | {"sizes": {"n": 100}}, convention="authors")
    r1, test = _lines(fig.axes[0]), _lines(fig.axes[2])
    assert list(test) == ["λ = 0 (ours 0)", "λ = 0.01 (ours 0.5) (validated)", "λ = 0.04 (ours 2)"]
    np.testing.assert_allclose(test["λ = 0.04 (ours 2)"], 2 * reg["test"][:, 2].mean(0)[1:], rtol=1e-6)
    np.testing.assert_allclose(r1["λ = 0.04 (ours 2)"], 100 * reg["r1"][:, 2].mean(0)[1:], rtol=1e-6)

    ns = np.array([64.0, 128.0, 256.0, 512.0])  # section 4: both methods' curves and the paired ratio per seed
    net = [np.array([[0.6, 0.2, 0.1, 0.05]] * 2), np.array([[0.9, 0.6, 0.2, 0.1]] * 2)]
    ker = [np.array([[0.8, 0.5, 0.2, 0.1]] * 2), np.array([[0.9, 0.8, 0.6, 0.4]] * 2)]
    sep = fl.separations.paired_separation([8, 16], [ns, ns], net, ker, 0.25)
    plain = {"d": np.array([8, 16]), "level": 0.25, **fl.separations.as_dict(sep, "pair_"),
             "curves": {"d": np.repeat([8, 16], 4), "n": np.tile(ns, 2),
                        "error_mean": np.concatenate([e[0] for e in net]),
                        "kernel_mean": np.concatenate([e[0] for e in ker])}}
    fig = gd_chapter.plot_sample_complexity(plain)
    curves = [np.asarray(ln.get_ydata(), float) for ln in fig.axes[0].get_lines()][:4]  # network, NTK per d
    for got, want in zip(curves, [net[0][0], ker[0][0], net[1][0], ker[1][0]], strict=True):
        np.testing.assert_allclose(got, want)
    medians = fig.axes[1].containers[0].lines[0].get_ydata()  # the errorbar of the median ratio per d
    np.testing.assert_allclose(medians, sep.median)
    assert sep.ratio_kind[1].tolist() == [fl.separations.LOWER] * 2  # the NTK never reached 0.25 at d = 16

    conc = {"neurons": {"panel": np.repeat(np.arange(6), 4), "x": rng.normal(size=24), "y": rng.normal(size=24),
                        "mass": rng.uniform(0.1, 1, 24)}, "positive": rng.uniform(size=24) > 0.5,
            "corners": np.array([[1.0, 0.0], [-0.5, 0.8], [-0.5, -0.8]])}
    fig = lc_chapter.plot_teacher_concentration(conc)
    assert [ax.get_title() for ax in fig.axes] == list(lc_chapter.NEURON_PANELS)
    for i, ax in enumerate(fig.axes):  # teachers, then that panel's neurons
        np.testing.assert_allclose(ax.collections[1].get_offsets(), np.c_[conc["neurons"]["x"], conc["neurons"]["y"]][
            conc["neurons"]["panel"] == i])
    plt.close("all")


@pytest.mark.parametrize("chapter", list(registry.CHAPTERS))
def test_each_chapter_defines_an_intermediate_cpu_profile(chapter):
    """`cpu_large` (the profile the stored section tells the reader to run) is declared between quick and paper,
    with the same keys, and is larger than quick: no count (an integer, or the largest of a list of integers) below
    quick's, and not quick's sizes again. (It need not lie below paper in every count: the paper profile of good
    directions runs 3 seeds, and the one-step kernels go further in n/d² at a small d than the paper's at its d.)"""
    sizes = registry.chapter(chapter).sizes
    assert list(sizes) == ["toy", "quick", "cpu_large", "paper"]
    assert results.chapter_profiles(chapter) == ["toy", "quick", "cpu_large", "paper"]
    assert profiles.sizes(**sizes, profile="cpu-large").profile == "cpu_large"  # same keys as quick and paper
    q, c = sizes["quick"], sizes["cpu_large"]
    assert c != q and c != sizes["paper"]
    for k in q:
        lo, big = q[k], c[k]
        if all(isinstance(x, list | tuple) and x and all(type(v) is int for v in x) for x in (lo, big)):
            lo, big = max(lo), max(big)
        if type(lo) is int and type(big) is int:
            assert big >= lo, f"{chapter}.{k}: cpu_large has {big}, below quick's {lo}"
