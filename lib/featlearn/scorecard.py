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
landing page render the rows (:func:`featlearn.book.scorecard_html`), so the scorecard cannot drift from the
chapters.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
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


class Card:
    """The scorecard of one chapter; rows are written to ``<folder>/<chapter>.json`` (default folder:
    :func:`scorecard_dir`).

    Opening a card starts the chapter's rows afresh (a re-run replaces them, it does not append)."""

    def __init__(self, chapter: str, *, paper: str, scale: str, folder: Path | None = None):
        if not isinstance(chapter, str) or not _ID.match(chapter):
            raise ValueError(f"chapter must be lower-case letters, digits and hyphens, got {chapter!r}")
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
             scale: str | None, paper: str | None) -> dict:
        if not isinstance(claim, str) or not _ID.match(claim):
            raise ValueError(f"claim must be an id of lower-case letters, digits and hyphens, got {claim!r}")
        if any(r["claim"] == claim for r in self.rows):
            raise ValueError(f"claim {claim!r} is already on the {self.chapter} scorecard; give each check its own id")
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
        for name, v in (("measured", measured), ("threshold", threshold)):
            if not isinstance(v, str) or not v.strip():
                raise ValueError(f"{name} must be a non-empty string")
        return {"claim": claim, "paper": paper or self.paper, "theorem": theorem, "measured": measured,
                "value": _plain(value), "threshold": threshold, "scale": scale or self.scale, "status": status}

    def check(self, ok: Any, message: str, *, claim: str, measured: str, value: Any, threshold: str,
              theorem: str = "", status: str = "reproduced", scale: str | None = None,
              paper: str | None = None) -> None:
        """Record the check ``claim`` and raise :class:`AssertionError` (``message``) when ``ok`` is false.

        ``status``: ``"reproduced"`` (the claim holds as stated), ``"partly"`` (the check asserts what does hold
        of a claim that reproduces only in part) or ``"library identity"`` (the check holds by the library's
        construction: a test of the code that the scorecard does not count as a reproduction). ``theorem``: the
        label of the chapter's ``prf`` block."""
        if status not in ("reproduced", "partly", "library identity"):
            raise ValueError(f"status of a check must be 'reproduced', 'partly' or 'library identity', got {status!r}")
        passed = bool(ok)
        row = self._row(claim=claim, theorem=theorem, measured=measured, value=value, threshold=threshold,
                        status=status if passed else "failed", scale=scale, paper=paper)
        self.rows.append(row)
        self._write()
        if not passed:
            raise AssertionError(message)

    def note(self, *, claim: str, measured: str, value: Any, threshold: str, theorem: str = "",
             status: str = "not reproduced", scale: str | None = None, paper: str | None = None) -> None:
        """Record a claim the chapter reports as not (or only partly) reproduced, not measured at these sizes, not
        claimed by the paper, or holding by the library's construction (:data:`NOTE_STATUSES`); asserts nothing."""
        if status not in NOTE_STATUSES:
            raise ValueError(f"status of a note must be one of {NOTE_STATUSES}, got {status!r}")
        self.rows.append(self._row(claim=claim, theorem=theorem, measured=measured, value=value,
                                   threshold=threshold, status=status, scale=scale, paper=paper))
        self._write()

    def at_scale(self, scale: str) -> ScaledCard:
        """The same card, recording its rows at another ``scale``: for checks made on stored results (a chapter's
        "At the papers' scale" section, e.g. ``card.at_scale(f"{stored.profile} (stored)")``), whose rows must not
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
