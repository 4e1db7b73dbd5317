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
    """``names`` from smallest to largest: ``quick``, then the intermediate profiles in the order ``declared``
    lists them (those it does not list after, by name), then ``paper``."""
    declared = list(declared)

    def rank(n: str) -> tuple[int, int, str]:
        if n in PROFILES:
            return (0 if n == PROFILES[0] else 2, 0, "")
        return (1, declared.index(n) if n in declared else len(declared), n)

    return sorted(set(names), key=rank)


def sizes(*, quick: Mapping[str, Any], paper: Mapping[str, Any], profile: str | None = None,
          **others: Mapping[str, Any]) -> SimpleNamespace:
    """Pick one chapter's sizes for the active profile.

    ``quick`` and ``paper`` are required; further keyword arguments name intermediate profiles (e.g.
    ``cpu_large=dict(...)``). Every profile must name the same keys, so that all run the same code with other
    sizes. The active profile (:func:`active`) must be one of them. The result is a namespace with an extra
    attribute ``profile``.
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
    return SimpleNamespace(profile=name, **dict(table[name]))
