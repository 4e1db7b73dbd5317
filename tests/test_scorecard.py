"""The reproduction scorecard: checks record their rows and still fail like `assert`; the page renders them."""

import json

import numpy as np
import pytest

from featlearn import book, scorecard


def card(tmp_path, chapter="one-step"):
    return scorecard.Card(chapter, paper="A (2022)", scale="quick", folder=tmp_path)


def test_a_passing_check_records_its_row(tmp_path):
    c = card(tmp_path)
    c.check(np.float32(0.3) < 0.5, "below", claim="below-plateau", measured="error", value=np.float32(0.3),
            threshold="< 0.5", theorem="thm-x")
    rec = json.loads((tmp_path / "one-step.json").read_text())
    assert rec["paper"] == "A (2022)"
    (row,) = rec["rows"]
    assert row["status"] == "reproduced" and row["theorem"] == "thm-x" and row["scale"] == "quick"
    assert abs(row["value"] - 0.3) < 1e-6


def test_a_failing_check_raises_and_records_failed(tmp_path):
    c = card(tmp_path)
    with pytest.raises(AssertionError, match="the error should be small"):
        c.check(np.bool_(False), "the error should be small", claim="small", measured="e", value=1.0,
                threshold="< 0.1")
    assert json.loads(c.path.read_text())["rows"][0]["status"] == "failed"


def test_notes_partial_checks_and_a_fresh_card(tmp_path):
    c = card(tmp_path)
    c.check(True, "m", claim="a", measured="e", value=[1.0, 2.0], threshold="< 3", status="partly")
    c.note(claim="b", measured="gain", value=0.1, threshold="several-fold")
    statuses = [r["status"] for r in json.loads(c.path.read_text())["rows"]]
    assert statuses == ["partly", "not reproduced"]
    card(tmp_path)  # a re-run starts the chapter's rows afresh
    assert json.loads(c.path.read_text())["rows"] == []


def test_an_outcome_takes_its_status_from_the_predicate_and_raises_nothing(tmp_path):
    c = card(tmp_path).at_scale("cpu_large (stored)")
    row = dict(measured="slope", value=0.4, threshold="lower end above 0")
    assert c.outcome(np.bool_(True), claim="grows", **row) is True
    assert c.outcome(False, claim="grows-too", **row) is False
    assert c.outcome(False, claim="partly-grows", otherwise="partly", **row) is False
    rows = json.loads(c.card.path.read_text())["rows"]
    assert [r["status"] for r in rows] == ["reproduced", "not reproduced", "partly"]
    assert {r["scale"] for r in rows} == {"cpu_large (stored)"}
    with pytest.raises(ValueError, match="otherwise must be"):
        c.outcome(False, claim="x", otherwise="reproduced", **row)
    with pytest.raises(ValueError, match="status of an outcome"):
        c.outcome(True, claim="y", status="library identity", **row)


@pytest.mark.parametrize("kw, msg", [(dict(claim="Bad Id"), "claim"), (dict(status="failed"), "status"),
                                     (dict(threshold=""), "threshold")])
def test_bad_input_is_refused(tmp_path, kw, msg):
    c = card(tmp_path)
    args = dict(claim="ok", measured="e", value=1.0, threshold="< 2") | kw
    with pytest.raises(ValueError, match=msg):
        c.check(True, "m", **args)


def test_a_claim_id_is_used_once(tmp_path):
    c = card(tmp_path)
    c.check(True, "m", claim="a", measured="e", value=1, threshold="< 2")
    with pytest.raises(ValueError, match="already"):
        c.check(True, "m", claim="a", measured="e", value=1, threshold="< 2")


def test_the_page_lists_every_row_in_book_order(tmp_path, monkeypatch):
    monkeypatch.setenv("FEATLEARN_FIGURES", str(tmp_path))
    a, b = card(tmp_path / "scorecard", "one-step"), card(tmp_path / "scorecard", "kernel-regime")
    a.check(True, "m", claim="x", measured="network error", value=0.3, threshold="< 0.5", theorem="thm-a")
    b.note(claim="y", measured="kernel gain", value=0.1, threshold="> 2")
    page = book.scorecard_html()
    assert page.index("kernel-regime.html") < page.index("one-step.html"), "rows follow the book's order"
    assert "network error" in page and "kernel gain" in page and 'href="one-step.html#thm-a"' in page
    assert "2 claims: 1 reproduced, 1 not reproduced." in page
    assert "<details" in book.scorecard_html(collapsed=True)


def _two_papers(tmp_path, monkeypatch):
    monkeypatch.setenv("FEATLEARN_FIGURES", str(tmp_path))
    a, b = card(tmp_path / "scorecard", "one-step"), card(tmp_path / "scorecard", "kernel-regime")
    a.check(True, "m", claim="x", measured="network error", value=0.3, threshold="< 0.5", theorem="thm-a")
    a.note(claim="even-k", measured="even-k parity", value=0.5, threshold="< 0.1", status="not claimed")
    a.note(claim="slope", measured="exponent [95% interval]", value=[1.96, 1.45, 2.47], threshold="2",
           status="not measured")
    a.note(claim="gain", measured="several-fold drop", value=1.2, threshold="> 3")
    a.check(True, "m", claim="ident", measured="NTK equals its closed form", value=1e-9, threshold="< 1e-6",
            status="library identity")
    a.check(True, "m", claim="part", measured="collapse", value=[0.01] * 40, threshold="< 0.1", status="partly",
            paper="B (2021)")
    b.check(True, "m", claim="y", measured="kernel plateau", value=0.33, threshold="≈ 1/3")
    return a, b


def test_the_verdict_table_counts_each_status_per_paper_and_links_each_claim(tmp_path, monkeypatch):
    """The landing page's table: one row per paper; "not reproduced" apart from "not measured" and "not claimed";
    a library identity listed but not counted as a reproduction; counts link to the scorecard's rows, and the
    claims that fall short link to their checks."""
    _two_papers(tmp_path, monkeypatch)
    ps = book.papers()
    assert list(ps) == ["A (2022)", "B (2021)"], "papers in the order the book first checks them"
    a = ps["A (2022)"]["counts"]
    assert (a["reproduced"], a["not reproduced"], a["not measured"], a["not claimed"], a["library identity"]) == \
        (2, 1, 1, 1, 1)
    assert ps["B (2021)"]["counts"]["partly"] == 1
    page = book.verdict_html()
    assert page.count('<tr><th scope="row">') == 2
    assert "6 claims: 2 reproduced, 1 partly reproduced, 1 not reproduced, 1 not measured, 1 not claimed" in page
    assert "(and 1 identity of the library, not counted)" in page
    assert 'href="scorecard.html?status=not-reproduced#paper-a-2022"' in page
    assert 'href="one-step.html#check-one-step-gain"' in page, "a claim not reproduced links to its check"
    assert 'href="one-step.html#check-one-step-part"' in page
    assert "check-one-step-slope" not in page, "only the claims that fall short are listed under the table"


def test_the_scorecard_page_groups_by_paper_and_theorem_labels_intervals_and_folds_long_values(tmp_path,
                                                                                                monkeypatch):
    _two_papers(tmp_path, monkeypatch)
    page = book.scorecard_html()
    assert page.index('id="paper-a-2022"') < page.index('id="paper-b-2021"')
    assert page.count('class="featlearn-theorem"') == 4  # (kernel-regime, ""), (one-step, thm-a), (one-step, ""), B
    assert "estimate [interval]: </span>1.96 [1.45, 2.47]" in page
    assert "<details><summary>[0.01, 0.01, 0.01, 0.01, 0.01, 0.01, …]</summary>" in page, "a long value is folded"
    assert 'data-status="not-reproduced"' in page and 'data-status="not-claimed"' in page
    assert '<form class="featlearn-filter"' in page
    assert page.count('<input type="checkbox"') == len(scorecard.STATUSES)


def test_values_read_as_numbers():
    f = scorecard.format_value
    assert f({"value": 0.50321}) == "0.503" and f({"value": 8192}) == "8192" and f({"value": 3.0}) == "3"
    assert f({"value": 3.1e-9}) == "3.1×10⁻⁹" and f({"value": True}) == "yes"
    assert f({"value": 0.5, "interval": [0.35, 0.65]}) == "0.5 [0.35, 0.65]"
    assert f({"value": [1.0, 3.0, 2.0], "measured": "a [95% interval]"}) == "[1, 3, 2]", "lo > est: not an interval"
    assert f({"value": list(range(10))}) == "[0, 1, 2, 3, 4, 5, …]"
    assert f({"value": list(range(10))}, limit=None).endswith("8, 9]")


def test_a_check_shows_its_verdict_line_in_a_notebook(tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr(scorecard, "_in_notebook", lambda: True)
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    c = card(tmp_path)
    c.check(True, "m", claim="ok", measured="slope", value=-0.5, interval=(-0.65, -0.35), threshold="in [-1, 0]")
    c.note(claim="nr", measured="gain", value=1.2, threshold="> 3")
    with pytest.raises(AssertionError):
        c.check(False, "too small", claim="bad", measured="drop", value=1.0, threshold="> 2")
    lines = [v.text() for v in shown]
    assert lines == ["✔ reproduced · slope: -0.5 [-0.65, -0.35] (threshold in [-1, 0])",
                     "✘ not reproduced · gain: 1.2 (threshold > 3)",
                     "✘ failed · drop: 1 (threshold > 2) — too small"]
    assert 'id="check-one-step-ok"' in shown[0]._repr_html_() and repr(shown[1]) == lines[1]
    assert json.loads(c.path.read_text())["rows"][0]["interval"] == [-0.65, -0.35]
    with pytest.raises(ValueError, match="interval"):
        c.check(True, "m", claim="iv", measured="e", value=1.0, threshold="< 2", interval=(1.0,))


def test_outside_a_notebook_a_check_shows_nothing(tmp_path, capsys):
    card(tmp_path).check(True, "m", claim="ok", measured="e", value=1.0, threshold="< 2")
    assert scorecard._in_notebook() is False and capsys.readouterr().out == ""


def test_checks_on_stored_results_record_the_stored_scale(tmp_path):
    """A chapter's one card records the live checks at its profile and, through `at_scale` (or `scale=`), the
    checks on stored results at the stored profile; ids stay unique across both, and a failed stored check fails
    like `assert` with its row saying so."""
    c = card(tmp_path)
    c.check(True, "m", claim="live", measured="e", value=1.0, threshold="< 2")
    big = c.at_scale("cpu_large (stored)")
    big.check(True, "m", claim="stored-live", measured="e", value=0.5, threshold="< 2", theorem="thm-x")
    big.note(claim="stored-note", measured="gain", value=0.1, threshold="> 2", status="partly")
    c.check(True, "m", claim="explicit", measured="e", value=1.0, threshold="< 2", scale="paper (stored)")
    with pytest.raises(AssertionError, match="too large"):
        big.check(False, "too large", claim="stored-fails", measured="e", value=3.0, threshold="< 2")
    with pytest.raises(ValueError, match="already"):
        big.check(True, "m", claim="live", measured="e", value=1.0, threshold="< 2")
    rows = json.loads(c.path.read_text())["rows"]
    assert [(r["claim"], r["scale"], r["status"]) for r in rows] == [
        ("live", "quick", "reproduced"), ("stored-live", "cpu_large (stored)", "reproduced"),
        ("stored-note", "cpu_large (stored)", "partly"), ("explicit", "paper (stored)", "reproduced"),
        ("stored-fails", "cpu_large (stored)", "failed")]
    assert rows[1]["theorem"] == "thm-x" and c.rows is big.card.rows
    with pytest.raises(ValueError, match="scale"):
        c.at_scale(" ")


def test_scientific_numbers_read_in_powers_of_ten():
    assert scorecard.scientific(183040, 2) == "1.8×10⁵" and scorecard.scientific(3e-9) == "3×10⁻⁹"
    assert scorecard.format_number(1.234e-7) == "1.23×10⁻⁷" and scorecard.format_number(999960.5) == "1×10⁶"


def test_a_claim_is_decided_by_its_own_predicate_live_and_stored(tmp_path):
    """A claim stated once: its predicate decides (given the fields it names), its text is filled from the call, and
    on stored results the same claim records `stored-<id>` at the stored scale; a missing field is named."""
    claim = scorecard.Claim("control-d{d}", "thm-x", measured="alignment at d = {d}", threshold="each < {level}",
                            holds=lambda ctrl, level: bool(np.all(np.asarray(ctrl) < level)), status="partly")
    c = card(tmp_path)
    c.claim(claim, [0.1, 0.2], d=8, level=0.5)
    c.at_scale("cpu_large (stored)").claim(claim, np.array([0.3]), d=8, level=0.5)
    with pytest.raises(AssertionError, match="control-d16"):
        c.claim(claim, [0.1, 0.7], d=16, level=0.5)
    with pytest.raises(ValueError, match="needs the field 'level'"):
        c.claim(claim, [0.1], d=32)
    rows = json.loads((tmp_path / "one-step.json").read_text())["rows"]
    assert [(r["claim"], r["status"], r["scale"]) for r in rows] == [
        ("control-d8", "partly", "quick"), ("stored-control-d8", "partly", "cpu_large (stored)"),
        ("control-d16", "failed", "quick")]
    assert rows[0]["measured"] == "alignment at d = 8" and rows[0]["threshold"] == "each < 0.5"


def test_a_claim_must_be_well_formed():
    with pytest.raises(ValueError, match="id must be lower-case"):
        scorecard.Claim("Bad Id", "t", "m", "t", holds=bool)
    with pytest.raises(ValueError, match="status must be one of"):
        scorecard.Claim("ok", "t", "m", "t", holds=bool, status="failed")
