"""Run profiles: ``quick`` (default, CPU, what CI runs), ``paper`` (the papers' scale, for a GPU), and any
named profiles a chapter defines between them (e.g. ``cpu_large``: bigger than quick, still a CPU's afternoon).

Only sizes differ between profiles, never the algorithm. A chapter states its sizes once::

    S = profiles.sizes(quick=dict(d=[16, 32], n_max=4096), cpu_large=dict(d=[32, 128], n_max=65536),
                       paper=dict(d=[64, 512], n_max=10**7))

and reads ``S.d``, ``S.n_max``. The active profile comes from the ``profile`` argument, else the environment
variable ``FEATLEARN_PROFILE``, else ``quick``; it must be one the chapter defines. Profile names are lower-case
identifiers (a ``-`` is read as ``_``, so ``cpu-large`` names ``cpu_large``). Profiles are ordered by size: quick
first, then the intermediate ones in the order the chapter lists them, paper last (:func:`ordered`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from types import SimpleNamespace
from typing import Any

#: The profiles every chapter defines: its smallest (the default, what CI runs) and the papers' scale. A chapter
#: may define more (:func:`sizes`); they sit between these two.
PROFILES = ("quick", "paper")
#: The profile every chapter defines for the tests: the smallest sizes that run each section, in seconds. Its numbers
#: are not results (no check is meant to pass at it); the unit tests and ``featlearn reproduce --profile toy`` use it.
TOY = "toy"
ENV_VAR = "FEATLEARN_PROFILE"
_NAME = re.compile(r"[a-z][a-z0-9_]*")


def canonical(name: str, *, source: str = "profile") -> str:
    """A profile name as chapters spell it (``-`` read as ``_``); ``ValueError`` naming ``source`` unless it is a
    lower-case identifier."""
    if not isinstance(name, str) or not _NAME.fullmatch(name.replace("-", "_")):
        raise ValueError(f"{source} must be a lower-case name of letters, digits, '_' or '-' that starts with a "
                         f"letter, got {name!r}")
    return name.replace("-", "_")


def active(profile: str | None = None, allowed: Sequence[str] | None = None) -> str:
    """The profile in force: the argument if given, else ``$FEATLEARN_PROFILE``, else ``"quick"``.

    With ``allowed`` (the profiles a chapter defines) it must be one of them; without, any well-formed name
    passes here and :func:`sizes` checks it against the chapter's profiles."""
    if profile is None:
        raw = os.environ.get(ENV_VAR, "quick") or "quick"
        source = f"environment variable {ENV_VAR}"
    else:
        raw, source = profile, "profile"
    name = canonical(raw, source=source)
    if allowed is not None and name not in allowed:
        raise ValueError(f"{source} must be one of {tuple(allowed)}, got {raw!r}")
    return name


def ordered(names: Iterable[str], declared: Sequence[str] = ()) -> list[str]:
    """``names`` from smallest to largest: ``toy`` (:data:`TOY`), ``quick``, then the intermediate profiles in the
    order ``declared`` lists them (those it does not list after, by name), then ``paper``."""
    declared = list(declared)

    def rank(n: str) -> tuple[int, int, str]:
        if n == TOY:
            return (-1, 0, "")
        if n in PROFILES:
            return (0 if n == PROFILES[0] else 2, 0, "")
        return (1, declared.index(n) if n in declared else len(declared), n)

    return sorted(set(names), key=rank)


class Sizes(SimpleNamespace):
    """A chapter's sizes at one profile, as :func:`sizes` picks them: every size as an attribute (``S.d``,
    ``S.seeds``, ...) and the profile's name as ``S.profile``. The chapters call it ``S``."""


def sizes(*, quick: Mapping[str, Any], paper: Mapping[str, Any], profile: str | None = None,
          **others: Mapping[str, Any]) -> Sizes:
    """Pick one chapter's sizes for the active profile.

    ``quick`` and ``paper`` are required; further keyword arguments name intermediate profiles (e.g.
    ``cpu_large=dict(...)``). Every profile must name the same keys, so that all run the same code with other
    sizes. The active profile (:func:`active`) must be one of them. The result is a :class:`Sizes`: the
    profile's sizes as attributes, and its name as ``profile``.
    """
    table = {"quick": quick, **others, "paper": paper}
    for name, chosen in table.items():
        if canonical(name, source="profile name") != name:
            raise ValueError(f"profile name must use '_', not '-', in sizes(); got {name!r}")
        if not isinstance(chosen, Mapping):
            raise ValueError(f"{name} must be a dict of sizes, got {type(chosen).__name__}")
        if set(chosen) != set(quick):
            only_q = sorted(set(quick) - set(chosen))
            only_x = sorted(set(chosen) - set(quick))
            raise ValueError(f"quick and {name} must name the same sizes; only in quick: {only_q}, "
                             f"only in {name}: {only_x}")
        if "profile" in chosen:
            raise ValueError("sizes may not define a key named 'profile'")
    name = active(profile, allowed=tuple(table))
    return Sizes(profile=name, **dict(table[name]))


#: What ``featlearn reproduce --cut-short`` may change: a chapter's step budgets (iterations of an algorithm) and
#: sample budgets (numbers of training, validation, test or evaluation points, or their ratios to d^2).
BUDGET_KINDS = ("steps", "samples")


def _shorter(name: str, value: Any, cut: Any) -> Any:
    """``cut`` where it is no longer than ``value`` (numbers: smaller; sequences: no more and no larger entries),
    else ``value``; ``ValueError`` naming ``name`` if the two are not of one kind."""
    if isinstance(value, bool) or isinstance(cut, bool):
        raise ValueError(f"cut-short budget {name!r} must be a number or a sequence of numbers, not a boolean")
    if isinstance(value, int | float) and isinstance(cut, int | float):
        if cut <= 0:
            raise ValueError(f"cut-short budget {name!r} must be > 0, got {cut!r}")
        return cut if cut < value else value
    if isinstance(value, Sequence) and not isinstance(value, str) and isinstance(cut, Sequence) \
            and not isinstance(cut, str):
        if not cut or any(not isinstance(c, int | float) or isinstance(c, bool) or c <= 0 for c in cut):
            raise ValueError(f"cut-short budget {name!r} must be a non-empty sequence of numbers > 0, got {cut!r}")
        shorter = len(cut) <= len(value) and max(cut) <= max(value)
        return type(value)(cut) if shorter else value
    raise ValueError(f"cut-short budget {name!r}: the profile's {value!r} and the cut {cut!r} are not both numbers "
                     "or both sequences")


def cut_short(S: Sizes, cuts: Mapping[str, tuple[str, Any]]) -> tuple[Sizes, dict[str, Any]]:
    """``S`` (a profile's sizes, from :func:`sizes`) with its step and sample budgets shortened, for a test run of
    a large profile on a small machine (``featlearn reproduce --cut-short``); every other size -- dimensions,
    widths, seeds, grids of hyperparameters -- is kept, so the run traces and executes the profile's programs at
    the profile's shapes except along the shortened axes.

    ``cuts`` maps a size's name to ``(kind, value)``, ``kind`` one of :data:`BUDGET_KINDS`; the budget becomes
    ``value`` where that is shorter than the profile's (a number smaller; a sequence with no more entries and no
    larger one) and stays the profile's otherwise, so a cut never lengthens a run. Returns the new sizes and a
    record ``{name: {"kind", "profile", "run"}}`` of every budget, for the run's manifest. ``ValueError`` naming
    the size for an unknown name or kind or a cut of another type than the size."""
    sizes_now = {k: v for k, v in vars(S).items() if k != "profile"}
    new, record = dict(sizes_now), {}
    for name, spec in cuts.items():
        if name not in sizes_now:
            raise ValueError(f"cut-short budget {name!r} is not a size of this profile; sizes: {', '.join(sizes_now)}")
        if not (isinstance(spec, tuple) and len(spec) == 2 and spec[0] in BUDGET_KINDS):
            raise ValueError(f"cut-short budget {name!r} must be (kind, value) with kind one of {BUDGET_KINDS}, "
                             f"got {spec!r}")
        new[name] = _shorter(name, sizes_now[name], spec[1])
        record[name] = {"kind": spec[0], "profile": sizes_now[name], "run": new[name]}
    return Sizes(profile=S.profile, **new), record
