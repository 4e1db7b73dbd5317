"""The chapters' plumbing in `featlearn.figures`: sweep output as a long-format table, glue from a dict; and
`import featlearn` without matplotlib or yaml."""

import itertools
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest

from featlearn import figures

ROOT = Path(__file__).resolve().parents[1]


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


def test_glued_text_reads_as_itself_never_as_a_tuple():
    """myst-nb reads a glued value's text with `ast.literal_eval`: "8,192" would show as "(8, 192)" and
    "0.5, 1, 2" as "(0.5, 1, 2)"; `figures.glue` gives such text quoted, and thousands commas as narrow spaces."""
    from myst_nb.core.variables import format_plain_text

    def shown(value: str, spec: str = "") -> str:
        return format_plain_text(repr(figures._Text(figures.glue_text(value))), spec)

    assert shown("8,192") == "8\u202f192" and shown("50,000") == "50\u202f000" and shown("1,234,567.5") == \
        "1\u202f234\u202f567.5"
    assert shown("0.5, 1, 2") == "0.5, 1, 2" and shown("{0.5, 1}") == "{0.5, 1}" and shown("1e-3") == "1e-3"
    assert shown("quick") == "quick" and shown("cpu_large (stored)") == "cpu_large (stored)"
    assert shown("0.25") == "0.25" and shown("0.25", ".1f") == "0.2" and shown("8192") == "8192"
    assert format_plain_text(repr(8192), "") == "8192"


def test_glue_values_shows_a_folded_summary_not_a_dict(monkeypatch):
    monkeypatch.setattr(figures, "glue", lambda name, value: value)
    got = figures.glue_values({f"v{i}": i * 0.5 for i in range(6)}, prefix="ch-")
    assert isinstance(got, dict) and got["ch-v1"] == 0.5
    assert repr(got) == "6 values glued for the text: ch-v0 = 0, ch-v1 = 0.5, ch-v2 = 1, ch-v3 = 1.5, …"
    assert got._repr_html_().startswith('<details class="featlearn-glued"><summary>6 values glued')


# Captions as the chapters write them: math, Unicode symbols, TeX specials, code.
HARD_CAPTIONS = [
    "Test error against n/d², mean ± sd over seeds; n*(d) ∝ d^p, 95% bootstrap interval, 2·10^4 steps",
    "R1 of f_L + f_Q for several λ (s_b ∈ {0.5, 1, 2}); |a_i| ||w_i|| & W^T W; $\\kappa_0$ and $\\lambda_{\\max}$",
    "Cosine with -a phi(b/|w|)/|w| H w — κ₀, κ₁ ≤ 10⁻³ … `one_step.entk_relu` #1 ~ 100% <x> \\ end",
    "x ∈ ℝ^d, ℓ ≲ n ≡ ∅ ∀ k; w ⟂ U, error ↓ as n ↑ (⊗, ∥, ÷)",
]


def _braces_balance(text: str) -> bool:
    depth = 0
    for i, c in enumerate(text):
        if c in "{}" and i and text[i - 1] == "\\":
            continue
        depth += {"{": 1, "}": -1}.get(c, 0)
        if depth < 0:
            return False
    return depth == 0


def unescaped_tex(entry: str) -> list[str]:
    """What pdflatex or BibTeX would reject in a BibTeX entry: non-ASCII characters, TeX specials (# $ % & ^ _ ~)
    outside math and unescaped, unbalanced braces or dollars."""
    problems = [f"non-ASCII {c!r}" for c in sorted(set(entry)) if ord(c) > 127]
    for line in entry.splitlines()[1:-1]:
        field, _, value = line.partition("=")
        if field.strip() in ("url", "howpublished"):
            continue
        text = re.sub(r"\\ensuremath\{(?:[^{}]|\{(?:[^{}]|\{[^{}]*\})*\})*\}", "", value)  # math in \ensuremath
        text = re.sub(r"(?<!\\)\$(?:[^$\\]|\\.)+(?<!\\)\$", "", text)  # math in $…$
        for c in "#$%&^_~":
            if re.search(r"(?<!\\)" + re.escape(c), text):
                problems.append(f"unescaped {c!r} in {field.strip()}: {value.strip()}")
        if not _braces_balance(value):
            problems.append(f"unbalanced braces in {field.strip()}")
    return problems


@pytest.mark.parametrize("caption", HARD_CAPTIONS)
def test_figure_bibtex_is_ascii_tex_that_pdflatex_reads(caption):
    rec = {"chapter": "one-step", "name": "alignment", "caption": caption, "number": "2.3"}
    entry = figures.figure_bibtex(rec, "https://example.org/featlearn/", version="0.1.0", commit="a" * 40,
                                  date="2026-12-06", strict=True)
    assert unescaped_tex(entry) == [], entry
    assert "version      = {0.1.0}" in entry and "commit aaaaaaaaaaaa" in entry
    assert "date         = {2026-12-06}" in entry
    assert "https://example.org/featlearn/figures/0.1.0/one-step-alignment.pdf" in entry, "the URL names the version"
    assert entry.startswith("@misc{featlearn-one-step-alignment,") and entry.count("@") == 1
    assert unescaped_tex(figures.book_bibtex("https://example.org/", version="0.1.0", commit="b" * 40,
                                             date="2026-12-06")) == []


def test_the_checker_rejects_raw_specials_and_unicode():
    raw = "@misc{k,\n  title = {n/d^2 for λ ± sd, 50% of s_b & more},\n  year = {2026}\n}"
    found = " ".join(unescaped_tex(raw))
    for what in ("'λ'", "'±'", "'^'", "'_'", "'%'", "'&'"):
        assert what in found, what
    assert unescaped_tex("@misc{k,\n  title = {a {b},\n}") == ["unbalanced braces in title"]


def test_tex_escape_converts_math_and_unicode():
    t = figures.tex_escape
    assert t("n/d²") == r"n/d\ensuremath{^{2}}" and t("λ ± sd") == r"\ensuremath{\lambda} \ensuremath{\pm} sd"
    assert t("d^p and s_b") == r"d\ensuremath{^{p}} and s\ensuremath{_{b}}"
    assert t("$\\kappa_0 ≤ 1$") == "$\\kappa_0 \\leq 1$" and t("50% & #1") == r"50\% \& \#1"
    assert t("`one_step.f`") == r"\texttt{one\_step.f}"
    with pytest.raises(ValueError, match="U\\+1F600"):
        t("\U0001f600", strict=True)
    assert t("\U0001f600") == "[U+1F600]"


def test_every_caption_in_the_chapters_converts_to_tex():
    """Every `save_figure(..., caption=...)` in the chapters' sources converts without a character TeX lacks."""
    import json

    sys.path.insert(0, str(ROOT / "book" / "_ext"))
    from featlearn_book import figure_caption

    captions = [c for nb in sorted((ROOT / "book").glob("*.ipynb"))
                for cell in json.loads(nb.read_text())["cells"] if cell["cell_type"] == "code"
                for c in [figure_caption("".join(cell["source"]))] if c]
    assert captions, "no captions found in the chapters"
    for c in captions:
        rec = {"chapter": "ch", "name": "n", "caption": c, "number": "1.1"}
        entry = figures.figure_bibtex(rec, "https://example.org/", version="0.1.0", commit="c" * 40,
                                      date="2026-12-06", strict=True)
        assert unescaped_tex(entry) == [], entry


def test_a_figure_record_says_how_small_its_text_is(tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.setenv("FEATLEARN_FIGURES", str(tmp_path))
    figures.use_style()
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([1, 2], [3, 4], label="a")
    ax.legend(fontsize=5.5)
    ax.set_xlabel("x", fontsize=12)
    figures.save_figure(fig, "c", "n", caption="x")
    plt.close(fig)
    rec = figures.figure_records(tmp_path)[0]
    assert rec["min_font_pt"] == 5.5 and rec["png_dpi"] == 150.0
    w, h = rec["png_px"]
    assert 400 < w <= 4 * 150 and 300 < h <= 3 * 150, "the PNG's pixels, cropped to the drawn area"


def test_a_document_citing_every_entry_compiles_with_pdflatex_and_bibtex(tmp_path):
    """Where TeX is installed (Debian's texlive-latex-base): every figure entry the chapters' captions give, and the
    book's, cited in one document that pdflatex and BibTeX compile without an error."""
    import json
    import shutil

    if not (shutil.which("pdflatex") and shutil.which("bibtex")):
        pytest.skip("pdflatex/bibtex not installed (apt-get install texlive-latex-base); unescaped_tex checks instead")
    sys.path.insert(0, str(ROOT / "book" / "_ext"))
    from featlearn_book import figure_caption

    captions = HARD_CAPTIONS + [c for nb in sorted((ROOT / "book").glob("*.ipynb"))
                                for cell in json.loads(nb.read_text())["cells"] if cell["cell_type"] == "code"
                                for c in [figure_caption("".join(cell["source"]))] if c]
    entries = [figures.book_bibtex("https://example.org/", version="0.1.0", commit="d" * 40, date="2026-12-06")]
    entries += [figures.figure_bibtex({"chapter": "ch", "name": f"f{i}", "caption": c, "number": f"1.{i}"},
                                      "https://example.org/", version="0.1.0", commit="d" * 40, date="2026-12-06")
                for i, c in enumerate(captions)]
    (tmp_path / "refs.bib").write_text("\n\n".join(entries) + "\n")
    (tmp_path / "doc.tex").write_text("\\documentclass{article}\n\\usepackage{url}\n\\begin{document}\n"
                                      "\\nocite{*}\n\\bibliographystyle{plain}\n\\bibliography{refs}\n\\end{document}\n")
    for cmd in (["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc"], ["bibtex", "doc"],
                ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc"]):
        r = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, f"{cmd[0]} failed:\n{r.stdout[-3000:]}"
    log = (tmp_path / "doc.blg").read_text()
    assert "error" not in log.lower(), log
    assert (tmp_path / "doc.pdf").stat().st_size > 0
