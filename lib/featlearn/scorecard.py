"""The reproduction scorecard: every check a chapter makes, recorded by the check itself.

A chapter opens one card and makes each check through it::

    card = fl.scorecard.Card("one-step", paper="Damian, Lee & Soltanolkotabi (2022)", scale=S.profile)
    card.check(err < plateau, f"the network goes below the plateau ({err:.3f})", claim="network-below-plateau",
               theorem="one-step-thm-kernel", measured="network's test error at 8d²", value=err,
               threshold=f"< {plateau:.2f}")

``check`` records a row (paper, theorem, what is measured, the value, the threshold, the scale, the status) in
``figures/scorecard/<chapter>.json`` and then, like ``assert``, raises :class:`AssertionError` with the message
when the condition is false; the row of a failed check says ``failed``. A claim that the chapter checks only in
part says ``status="partly"``; a claim that does not reproduce at the sizes run is recorded with :meth:`Card.note`
(``status="not reproduced"``), which asserts nothing. Checks made on stored results (:mod:`featlearn.results`)
go through :meth:`Card.at_scale`, so that their rows name the stored profile. The book's scorecard page and
landing page render the rows (:func:`featlearn.book.scorecard_html`, :func:`featlearn.book.verdict_html`), so the
scorecard cannot drift from the chapters.

In a notebook, every check and note also shows its verdict as one line under the cell (:class:`Verdict`):
``✔ reproduced · <what is measured>: <value> (threshold <threshold>)``, ``✘ failed · …`` before the
:class:`AssertionError`, and the note's status for a note. A value that is an estimate with an interval is given as
``value=est, interval=(lo, hi)`` (or, as older chapters do, ``value=[est, lo, hi]`` with "interval" in ``measured``)
and shows as ``est [lo, hi]``.
"""

from __future__ import annotations

import inspect
import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._paths import figure_dir

#: What a row may say about its claim.
#: "not measured": the book runs the claim but its sizes cannot settle it (censored, or beyond the CPU); "not
#: claimed": the book tests something the paper does not state; "library identity": a check that holds by the
#: library's construction (a sanity check of the code, not a reproduction of the paper).
STATUSES = ("reproduced", "partly", "not reproduced", "not measured", "not claimed", "library identity", "failed")
#: The statuses a note may record (a note asserts nothing).
NOTE_STATUSES = ("partly", "not reproduced", "not measured", "not claimed", "library identity")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
#: The sign a verdict line starts with, by status.
SIGNS = {"reproduced": "✔", "partly": "◐", "not reproduced": "✘", "not measured": "○", "not claimed": "–",
         "library identity": "≡", "failed": "✘"}
#: The words the book uses for each status (the scorecard pages and the verdict lines).
STATUS_WORDS = {"reproduced": "reproduced", "partly": "partly reproduced", "not reproduced": "not reproduced",
                "not measured": "not measured", "not claimed": "not claimed by the paper",
                "library identity": "library identity", "failed": "failed"}


def _plain(value: Any) -> Any:
    """A JSON-friendly version of a number, array scalar or string."""
    if isinstance(value, str):
        return value
    try:
        import numpy as np

        arr = np.asarray(value)
        if arr.ndim == 0:
            v = arr.item()
            if isinstance(v, float) and not math.isfinite(v):
                return str(v)
            return v
        return [_plain(x) for x in arr.tolist()]
    except (TypeError, ValueError):
        return str(value)


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def format_number(v: Any, digits: int = 3) -> str:
    """A number as a reader reads it: ``0.503``, ``12.4``, ``8192``, ``3.1×10⁻⁹`` (``digits`` significant digits;
    integers in full; booleans as yes/no)."""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            return str(v)
        if v == 0:
            return "0"
        if v == int(v) and abs(v) < 1e6:
            return str(int(v))
        text = f"{v:.{digits}g}"
        return scientific(v, digits) if "e" in text else text
    return str(v)


def scientific(v: float, digits: int = 2) -> str:
    """``v`` in powers of ten as a reader reads it, with ``digits`` significant digits: ``1.8×10⁵``, ``3×10⁻⁹``."""
    mant, exp = f"{float(v):.{digits - 1}e}".split("e")
    mant = mant.rstrip("0").rstrip(".") if "." in mant else mant
    return f"{mant}×10{str(int(exp)).translate(_SUPERSCRIPT)}"


def interval_of(row: dict) -> tuple[Any, Any, Any] | None:
    """``(estimate, low, high)`` when the row's value is an estimate with an interval: its ``interval`` field, or
    (older chapters) a value ``[est, lo, hi]`` with ``lo ≤ est ≤ hi`` whose ``measured`` says "interval"."""
    v = row.get("value")
    if row.get("interval") is not None:
        lo, hi = row["interval"]
        return v, lo, hi
    if (isinstance(v, list) and len(v) == 3 and all(isinstance(x, int | float) for x in v)
            and "interval" in str(row.get("measured", "")) and v[1] <= v[0] <= v[2]):
        return v[0], v[1], v[2]
    return None


def format_value(row: dict, limit: int | None = 6) -> str:
    """A row's value for a reader: a number (:func:`format_number`), ``est [lo, hi]`` for an estimate with its
    interval (:func:`interval_of`), a list as ``[a, b, …]`` (its first ``limit`` items; ``None``: all)."""
    iv = interval_of(row)
    if iv is not None:
        est, lo, hi = iv
        if isinstance(est, list):
            return f"{format_value({'value': est}, limit)} [{format_value({'value': lo}, limit)}, " \
                   f"{format_value({'value': hi}, limit)}]"
        return f"{format_number(est)} [{format_number(lo)}, {format_number(hi)}]"
    v = row.get("value")
    if isinstance(v, list):
        items = v if limit is None else v[:limit]
        more = ", …" if limit is not None and len(v) > limit else ""
        return "[" + ", ".join(format_value({"value": x}, limit) for x in items) + more + "]"
    return format_number(v)


def check_anchor(chapter: str, claim: str) -> str:
    """The HTML id of a check's verdict line in its chapter (the scorecard pages link to it)."""
    return f"check-{chapter}-{claim}"


class Verdict:
    """One row as one line: ``✔ reproduced · what is measured: value (threshold …)``. A notebook shows it (HTML,
    with a plain-text fallback) under the cell that made the check; its id is :func:`check_anchor`."""

    def __init__(self, row: dict, message: str = "", chapter: str = ""):
        self.row, self.message, self.chapter = row, message, chapter

    def text(self) -> str:
        r = self.row
        line = (f"{SIGNS[r['status']]} {STATUS_WORDS[r['status']]} · {r['measured']}: {format_value(r)} "
                f"(threshold {r['threshold']})")
        if r["status"] == "failed" and self.message:
            line += f" — {self.message}"
        return line

    def __repr__(self) -> str:
        return self.text()

    def _repr_html_(self) -> str:
        import html

        r = self.row
        status = r["status"].replace(" ", "-")
        anchor = f' id="{check_anchor(self.chapter, r["claim"])}"' if self.chapter else ""
        return (f'<p class="featlearn-verdict featlearn-verdict-{status}"{anchor}><span class="featlearn-sign">'
                f"{SIGNS[r['status']]}</span> <b>{html.escape(STATUS_WORDS[r['status']])}</b> · "
                f"{html.escape(r['measured'])}: <span class=\"featlearn-value\">{html.escape(format_value(r))}</span>"
                f" <span class=\"featlearn-threshold\">(threshold {html.escape(r['threshold'])})</span>"
                + (f" — {html.escape(self.message)}" if r["status"] == "failed" and self.message else "") + "</p>")


def _in_notebook() -> bool:
    """True inside a Jupyter kernel (a chapter being run or built), False in scripts and tests."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def show(row: dict, message: str = "", chapter: str = "") -> None:
    """Show a row's :class:`Verdict` under the current notebook cell (nothing outside a notebook)."""
    if _in_notebook():
        from IPython.display import display

        display(Verdict(row, message, chapter))


#: The statuses a claim's check records when its predicate holds.
CLAIM_STATUSES = ("reproduced", "partly", "library identity")


@dataclass(frozen=True)
class Claim:
    """A chapter's claim, stated once (in its chapter module) and evaluated wherever it is measured: on the live
    run (``card.claim(CLAIM, value)``) and on stored results (``card.at_scale(...).claim(CLAIM, value)``, recorded
    as ``stored-<id>``), each on its own data, so that the threshold is written in one place.

    ``id``: the scorecard row's id; ``theorem``: the label of the chapter's ``prf`` block; ``measured`` and
    ``threshold``: the row's text, in which ``{name}`` fields are filled from the call's keyword arguments (the
    dimensions, sizes or level of that run); ``holds``: the predicate that decides the check, called with the
    measured value and those of the fields it names as parameters (``lambda ctrl, level: ...``); ``status``: the
    row's status when it holds (:data:`CLAIM_STATUSES`); ``paper``: the work it comes from, when not the chapter's.
    An ``id`` may hold fields too (``"staircase-monotone-d{d}"``): one claim checked at each dimension."""

    id: str
    theorem: str
    measured: str
    threshold: str
    holds: Callable[[Any], Any]
    status: str = "reproduced"
    paper: str | None = None

    def __post_init__(self) -> None:
        if not _ID.match(re.sub(r"\{\w+\}", "x", self.id)):
            raise ValueError(f"id must be lower-case letters, digits and hyphens (and {{field}}s), got {self.id!r}")
        if self.status not in CLAIM_STATUSES:
            raise ValueError(f"status must be one of {CLAIM_STATUSES}, got {self.status!r}")
        if not callable(self.holds):
            raise ValueError(f"holds must be a predicate of the measured value, got {self.holds!r}")

    def evaluate(self, value: Any, **fields: Any) -> bool:
        """Whether the claim holds of ``value``, its predicate given the fields it names."""
        params = list(inspect.signature(self.holds).parameters.values())
        wanted = {p.name for p in params[1:] if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        missing = wanted - set(fields)
        if missing:
            raise ValueError(f"claim {self.id!r} needs the fields {sorted(missing)} (its predicate names them), "
                             f"got {sorted(fields)}")
        return bool(self.holds(value, **{k: fields[k] for k in wanted}))

    def text(self, **fields: Any) -> tuple[str, str]:
        """``(measured, threshold)`` with the ``{name}`` fields filled; ``ValueError`` naming a missing field."""
        return self._fill(self.measured, fields), self._fill(self.threshold, fields)

    def row_id(self, **fields: Any) -> str:
        """The row's id with its fields filled."""
        return self._fill(self.id, fields)

    def _fill(self, text: str, fields: dict[str, Any]) -> str:
        try:
            return text.format(**fields)
        except KeyError as err:
            raise ValueError(f"claim {self.id!r} needs the field {err.args[0]!r} (its id, measured or threshold text "
                             f"names it), got {sorted(fields)}") from None



class Card:
    """The scorecard of one chapter; rows are written to ``<folder>/<chapter>.json`` (default folder:
    :func:`scorecard_dir`).

    Opening a card starts the chapter's rows afresh (a re-run replaces them, it does not append)."""

    def __init__(self, chapter: str, *, scale: str, paper: str | None = None, folder: Path | None = None):
        if not isinstance(chapter, str) or not _ID.match(chapter):
            raise ValueError(f"chapter must be lower-case letters, digits and hyphens, got {chapter!r}")
        if paper is None:  # the chapter's papers as the registry names them
            from .registry import chapter as registered

            paper = registered(chapter).papers
        if not isinstance(paper, str) or not paper.strip():
            raise ValueError("paper must be a non-empty string (the work whose claims the chapter checks)")
        if not isinstance(scale, str) or not scale.strip():
            raise ValueError("scale must be a non-empty string (the profile, or the stored results' scale)")
        self.chapter, self.paper, self.scale = chapter, paper, scale
        self.path = (folder or scorecard_dir()) / f"{chapter}.json"
        self.rows: list[dict] = []
        self._write()

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        record = {"chapter": self.chapter, "paper": self.paper, "rows": self.rows}
        self.path.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")

    def _row(self, *, claim: str, theorem: str, measured: str, value: Any, threshold: str, status: str,
             scale: str | None, paper: str | None, interval: Sequence[Any] | None = None) -> dict:
        if not isinstance(claim, str) or not _ID.match(claim):
            raise ValueError(f"claim must be an id of lower-case letters, digits and hyphens, got {claim!r}")
        if any(r["claim"] == claim for r in self.rows):
            raise ValueError(f"claim {claim!r} is already on the {self.chapter} scorecard; give each check its own id")
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
        for name, v in (("measured", measured), ("threshold", threshold)):
            if not isinstance(v, str) or not v.strip():
                raise ValueError(f"{name} must be a non-empty string")
        row = {"claim": claim, "paper": paper or self.paper, "theorem": theorem, "measured": measured,
               "value": _plain(value), "threshold": threshold, "scale": scale or self.scale, "status": status}
        if interval is not None:
            iv = _plain(interval)
            if not isinstance(iv, list) or len(iv) != 2:
                raise ValueError(f"interval must be a pair (low, high), got {interval!r}")
            row["interval"] = iv
        return row

    def check(self, ok: Any, message: str, *, claim: str, measured: str, value: Any, threshold: str,
              theorem: str = "", status: str = "reproduced", scale: str | None = None,
              paper: str | None = None, interval: Sequence[Any] | None = None) -> None:
        """Record the check ``claim``, show its verdict line (in a notebook) and raise :class:`AssertionError`
        (``message``) when ``ok`` is false.

        ``status``: ``"reproduced"`` (the claim holds as stated), ``"partly"`` (the check asserts what does hold
        of a claim that reproduces only in part) or ``"library identity"`` (the check holds by the library's
        construction: a test of the code that the scorecard does not count as a reproduction). ``theorem``: the
        label of the chapter's ``prf`` block. ``interval``: ``(low, high)`` of an estimate ``value``."""
        if status not in ("reproduced", "partly", "library identity"):
            raise ValueError(f"status of a check must be 'reproduced', 'partly' or 'library identity', got {status!r}")
        passed = bool(ok)
        row = self._row(claim=claim, theorem=theorem, measured=measured, value=value, threshold=threshold,
                        status=status if passed else "failed", scale=scale, paper=paper, interval=interval)
        self.rows.append(row)
        self._write()
        show(row, message, self.chapter)
        if not passed:
            raise AssertionError(message)

    def outcome(self, ok: Any, *, claim: str, measured: str, value: Any, threshold: str, theorem: str = "",
                status: str = "reproduced", otherwise: str = "not reproduced", scale: str | None = None,
                paper: str | None = None, interval: Sequence[Any] | None = None) -> bool:
        """Record a measured claim whose failure is a finding rather than a bug (a separation that may not show at
        the sizes run, on stored results): the row's status is ``status`` when ``ok`` holds and ``otherwise``
        (``"not reproduced"`` or ``"partly"``) when it does not, decided by ``ok`` and never by the caller; shows
        the verdict line and raises nothing. Returns ``bool(ok)``. A claim a wrong library must turn red is a
        :meth:`check`, not an outcome."""
        if status not in ("reproduced", "partly"):
            raise ValueError(f"status of an outcome must be 'reproduced' or 'partly', got {status!r}")
        if otherwise not in ("not reproduced", "partly"):
            raise ValueError(f"otherwise must be 'not reproduced' or 'partly', got {otherwise!r}")
        passed = bool(ok)
        row = self._row(claim=claim, theorem=theorem, measured=measured, value=value, threshold=threshold,
                        status=status if passed else otherwise, scale=scale, paper=paper, interval=interval)
        self.rows.append(row)
        self._write()
        show(row, chapter=self.chapter)
        return passed

    def note(self, *, claim: str, measured: str, value: Any, threshold: str, theorem: str = "",
             status: str = "not reproduced", scale: str | None = None, paper: str | None = None,
             interval: Sequence[Any] | None = None) -> None:
        """Record a claim the chapter reports as not (or only partly) reproduced, not measured at these sizes, not
        claimed by the paper, or holding by the library's construction (:data:`NOTE_STATUSES`); asserts nothing."""
        if status not in NOTE_STATUSES:
            raise ValueError(f"status of a note must be one of {NOTE_STATUSES}, got {status!r}")
        row = self._row(claim=claim, theorem=theorem, measured=measured, value=value, threshold=threshold,
                        status=status, scale=scale, paper=paper, interval=interval)
        self.rows.append(row)
        self._write()
        show(row, chapter=self.chapter)

    def claim(self, claim: Claim, value: Any, *, interval: Sequence[Any] | None = None, scale: str | None = None,
              prefix: str = "", **fields: Any) -> None:
        """Check ``claim`` on the measured ``value`` (its predicate decides), recording the row with the claim's own
        id, theorem, text and status (``{name}`` fields from ``fields``); like :meth:`check`, raise
        :class:`AssertionError` when it does not hold. ``prefix`` goes before the id (``"stored-"`` on stored
        results, through :meth:`ScaledCard.claim`)."""
        measured, threshold = claim.text(**fields)
        row_id = claim.row_id(**fields)
        self.check(claim.evaluate(value, **fields), f"{row_id}: {measured}: {format_value({'value': _plain(value)})} "
                   f"(threshold {threshold})", claim=prefix + row_id, measured=measured, value=value,
                   threshold=threshold, theorem=claim.theorem, status=claim.status, scale=scale, interval=interval,
                   paper=claim.paper)

    def at_scale(self, scale: str) -> ScaledCard:
        """The same card, recording its rows at another ``scale``: for checks made on stored results (a chapter's
        "At a larger scale" section, e.g. ``card.at_scale(f"{stored.profile} (stored)")``), whose rows must not
        say the profile the notebook runs live. Rows go to this card (one card per chapter), ids shared with it."""
        if not isinstance(scale, str) or not scale.strip():
            raise ValueError("scale must be a non-empty string (the profile, or the stored results' scale)")
        return ScaledCard(self, scale)


class ScaledCard:
    """A view of a :class:`Card` whose :meth:`check` and :meth:`note` record ``scale`` (see :meth:`Card.at_scale`)."""

    def __init__(self, card: Card, scale: str):
        self.card, self.scale = card, scale

    def check(self, ok: Any, message: str, **kwargs: Any) -> None:
        """:meth:`Card.check` at this view's scale."""
        self.card.check(ok, message, **kwargs, scale=self.scale)

    def note(self, **kwargs: Any) -> None:
        """:meth:`Card.note` at this view's scale."""
        self.card.note(**kwargs, scale=self.scale)

    def outcome(self, ok: Any, **kwargs: Any) -> bool:
        """:meth:`Card.outcome` at this view's scale."""
        return self.card.outcome(ok, **kwargs, scale=self.scale)

    def claim(self, claim: Claim, value: Any, **kwargs: Any) -> None:
        """:meth:`Card.claim` at this view's scale, recorded as ``stored-<id>``: the same claim on stored data."""
        self.card.claim(claim, value, **kwargs, scale=self.scale, prefix="stored-")



def scorecard_dir() -> Path:
    """``<figure_dir>/scorecard``: beside the figures (and published with them), apart from their records."""
    return figure_dir() / "scorecard"


def records(folder: Path | None = None, chapters: Sequence[str] | None = None) -> list[dict]:
    """Every chapter's scorecard record, in the order of ``chapters`` (default: by file name)."""
    folder = folder or scorecard_dir()
    found = {p.stem: p for p in sorted(folder.glob("*.json"))}
    order = list(chapters) if chapters is not None else list(found)
    out = []
    for ch in order:
        if ch in found:
            out.append(json.loads(found[ch].read_text()))
    return out
