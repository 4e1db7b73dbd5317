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
    assert "2 claims: 1 reproduced, 0 partly reproduced, 1 not reproduced." in page
    assert "<details" in book.scorecard_html(collapsed=True)


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
