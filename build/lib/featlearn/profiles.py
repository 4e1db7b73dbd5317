"""Run profiles: ``quick`` (default, CPU, what CI runs) and ``paper`` (the papers' scale, for a GPU).

Only sizes differ between profiles, never the algorithm. A chapter states its sizes once::

    S = profiles.sizes(quick=dict(d=[16, 32], n_max=4096), paper=dict(d=[64, 512], n_max=10**7))

and reads ``S.d``, ``S.n_max``. The active profile comes from the ``profile`` argument, else the environment
variable ``FEATLEARN_PROFILE``, else ``quick``.
"""

from __future__ import annotations

import os
from types import SimpleNamespace
from typing import Any

PROFILES = ("quick", "paper")
ENV_VAR = "FEATLEARN_PROFILE"


def active(profile: str | None = None) -> str:
    """The profile in force: the argument if given, else ``$FEATLEARN_PROFILE``, else ``"quick"``."""
    if profile is None:
        profile = os.environ.get(ENV_VAR, "quick") or "quick"
        source = f"environment variable {ENV_VAR}"
    else:
        source = "profile"
    if profile not in PROFILES:
        raise ValueError(f"{source} must be one of {PROFILES}, got {profile!r}")
    return profile


def sizes(*, quick: dict[str, Any], paper: dict[str, Any], profile: str | None = None) -> SimpleNamespace:
    """Pick one chapter's sizes for the active profile.

    Both dictionaries must name the same keys, so that the two profiles run the same code with other sizes.
    The result is a namespace with an extra attribute ``profile``.
    """
    name = active(profile)
    if set(quick) != set(paper):
        only_q = sorted(set(quick) - set(paper))
        only_p = sorted(set(paper) - set(quick))
        raise ValueError(f"quick and paper must name the same sizes; only in quick: {only_q}, only in paper: {only_p}")
    chosen = dict(quick if name == "quick" else paper)
    if "profile" in chosen:
        raise ValueError("sizes may not define a key named 'profile'")
    return SimpleNamespace(profile=name, **chosen)
