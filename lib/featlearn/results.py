"""The stored results of ``featlearn reproduce``: ``results/<chapter>/<profile>/``, for the book to show.

A chapter's experiments are functions ``section(S, key) -> dict`` (its module's ``SECTIONS``). Each returns plain
results, which the store writes as

* arrays (``ndim >= 1``) → ``<section>.npz`` (compressed; one file per section);
* tables, i.e. dicts of equal-length 1-d columns → ``<section>.<name>.csv`` (numbers written to round-trip);
* scalars (numbers, booleans, strings, 0-d arrays), and records (dicts of scalars, such as the values a chapter
  glues into its prose) → ``manifest.json``,

and ``manifest.json`` records where they came from: ``chapter, profile, sizes, featlearn_version, git_commit,
jax_version, device, started, wall_s`` and the library's fingerprint, for the run and for each section, with one
record per sweep (:func:`featlearn.sweeps.recording`). :func:`load` reads the largest profile present back (quick <
the chapter's intermediate profiles < paper), exactly as written; :func:`provenance` is the line a figure drawn
from it carries. The store's root is ``$FEATLEARN_RESULTS`` or ``<repository>/results``.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from . import profiles, registry
from ._paths import project_root

RESULTS_ENV = "FEATLEARN_RESULTS"
MANIFEST = "manifest.json"
#: The folder inside the installed package that holds a copy of ``results/`` (the data package ``featlearn._stored``).
PACKAGED = "_stored"

_ENTRY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


def packaged_results() -> Path | None:
    """The stored results shipped inside the installed package (``featlearn/_stored``, a copy of ``results/``
    made when the wheel is built; see ``pyproject.toml``), or None when the package holds none (an editable
    install from a checkout, which reads ``results/`` itself)."""
    folder = Path(__file__).resolve().parent / PACKAGED
    return folder if folder.is_dir() and any(folder.iterdir()) else None


def results_dir(*, write: bool = False) -> Path:
    """``$FEATLEARN_RESULTS``, else ``<root>/results`` of the checkout (committed, unlike the cache), else, with no
    checkout (featlearn installed from a wheel, as on Colab), the results shipped in the package
    (:func:`packaged_results`), so a chapter's stored section shows the same figures there. ``write``: where to
    write (never into the installed package: ``<root>/results``)."""
    env = os.environ.get(RESULTS_ENV)
    if env:
        return Path(env)
    local = project_root() / "results"
    if write or local.is_dir():
        return local
    return packaged_results() or local


def chapter_module(chapter: str) -> ModuleType:
    """The module behind a chapter of :data:`featlearn.registry.CHAPTERS`; ``ValueError`` naming the known
    chapters otherwise."""
    return registry.chapter(chapter).load()


def chapter_profiles(chapter: str) -> list[str]:
    """The profiles a chapter defines (its ``SIZES``), smallest first."""
    sizes = getattr(chapter_module(chapter), "SIZES", {})
    return profiles.ordered(sizes, declared=list(sizes))


# --- writing -------------------------------------------------------------------------------------------------

def _scalar(v: Any) -> tuple[Any, str | None] | None:
    """``(JSON value, NumPy dtype or None)`` for a scalar, or None if ``v`` is not one."""
    if isinstance(v, bool | int | float | str) or v is None:
        return v, None
    if isinstance(v, np.generic) or (hasattr(v, "shape") and np.shape(v) == ()):
        a = np.asarray(v)
        if a.dtype.kind in "biuf":
            return a.item(), a.dtype.str
        if a.dtype.kind == "U":
            return str(a.item()), None
    return None


def _array(name: str, v: Any) -> np.ndarray:
    try:
        a = np.asarray(v)
    except (ValueError, TypeError) as err:  # ragged lists and the like
        raise ValueError(f"{name} must be an array, a scalar or a table (a dict of equal-length 1-d columns); "
                         f"NumPy says: {err}") from None
    if a.dtype.kind not in "biufU":
        raise ValueError(f"{name} must hold numbers, booleans or strings, got dtype {a.dtype}")
    return a


def _cell(x: Any) -> str:
    if isinstance(x, np.bool_):
        return "True" if x else "False"
    return str(x)  # NumPy prints the shortest string that reads back as the same float32/float64


def encode(section: str, output: Mapping[str, Any]) -> tuple[dict[str, np.ndarray], dict[str, dict[str, np.ndarray]],
                                                             dict[str, dict[str, Any]]]:
    """Sort a section's output into arrays, tables and the manifest's entries (scalars and records inline);
    ``ValueError`` naming ``section`` and the key for anything that is not an array, a scalar, a record (a dict
    of scalars) or a table (a dict of equal-length 1-d columns)."""
    if not isinstance(output, Mapping):
        raise ValueError(f"section {section!r} must return a dict, got {type(output).__name__}")
    arrays: dict[str, np.ndarray] = {}
    tables: dict[str, dict[str, np.ndarray]] = {}
    entries: dict[str, dict[str, Any]] = {}
    for k, v in output.items():
        where = f"section {section!r}: output[{k!r}]"
        if not isinstance(k, str) or not _ENTRY.match(k):
            raise ValueError(f"section {section!r}: output keys must be names of letters, digits, '_' and '-', "
                             f"got {k!r}")
        if (s := _scalar(v)) is not None:
            entries[k] = {"kind": "scalar", "value": s[0], "dtype": s[1]}
        elif isinstance(v, Mapping) and all(isinstance(c, str) and _scalar(x) is not None for c, x in v.items()):
            # A record: named scalars (e.g. the values a chapter glues into its prose), kept in the manifest.
            entries[k] = {"kind": "record", "values": {c: dict(zip(("value", "dtype"), _scalar(x), strict=True))
                                                       for c, x in v.items()}}
        elif isinstance(v, Mapping):
            cols = {}
            for c, col in v.items():
                if not isinstance(c, str) or not c:
                    raise ValueError(f"{where}: a table's column names must be non-empty strings, got {c!r}")
                a = _array(f"{where}[{c!r}]", col)
                if a.ndim != 1:
                    raise ValueError(f"{where}: a table's columns must be 1-d, column {c!r} has shape {a.shape}")
                cols[c] = a
            lengths = {c: len(a) for c, a in cols.items()}
            if len(set(lengths.values())) > 1:
                raise ValueError(f"{where}: a table's columns must have equal lengths, got {lengths}")
            tables[k] = cols
            entries[k] = {"kind": "table", "file": f"{section}.{k}.csv", "rows": next(iter(lengths.values()), 0),
                          "columns": {c: a.dtype.str for c, a in cols.items()}}
        else:
            a = _array(where, v)
            if a.ndim == 0:
                raise ValueError(f"{where} must be an array, a scalar or a table (a dict of equal-length 1-d "
                                 f"columns), got {type(v).__name__}")
            arrays[k] = a
            entries[k] = {"kind": "array", "file": f"{section}.npz", "dtype": a.dtype.str, "shape": list(a.shape)}
    return arrays, tables, entries


def plain_json(v: Any) -> Any:
    """``v`` with NumPy scalars and arrays, tuples and non-string keys turned into plain JSON values (for a
    manifest)."""
    if isinstance(v, Mapping):
        return {str(k): plain_json(x) for k, x in v.items()}
    if isinstance(v, list | tuple | np.ndarray):
        return [plain_json(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    return v


def write(chapter: str, profile: str, outputs: Mapping[str, Mapping[str, Any]], manifest: Mapping[str, Any], *,
          order: Sequence[str] = (), merge: bool = False, root: Path | None = None) -> Path:
    """Store the ``outputs`` of some sections (name → the dict the section returned) with ``manifest`` (the run's
    provenance, with ``sizes`` and a ``sections`` record per section) in ``<root>/<chapter>/<profile>/``.

    Everything is checked before anything is written. The new folder is built beside the old one and swapped in,
    so a run killed while writing leaves the previous store whole. With ``merge`` (a run of some sections only),
    the sections stored before are kept if they were run at the same sizes, and dropped otherwise. ``order``
    lists the chapter's sections in order (the manifest follows it). Returns the folder."""
    profile = profiles.canonical(profile)
    if not _ENTRY.match(chapter):
        raise ValueError(f"chapter must be a name of letters, digits, '_' and '-', got {chapter!r}")
    encoded = {}
    for name, out in outputs.items():
        if not isinstance(name, str) or not _ENTRY.match(name):
            raise ValueError(f"section names must be names of letters, digits, '_' and '-', got {name!r}")
        encoded[name] = encode(name, out)
    sections_meta = dict(manifest.get("sections", {}))
    man = plain_json({**manifest, "chapter": chapter, "profile": profile})
    json.dumps(man, allow_nan=True)  # fails here, before writing, if something is not JSON

    final = (root or results_dir(write=True)) / chapter / profile
    kept: dict[str, dict] = {}
    if merge and (final / MANIFEST).is_file():
        old = json.loads((final / MANIFEST).read_text())
        if old.get("sizes") == man.get("sizes"):
            kept = {k: v for k, v in old.get("sections", {}).items() if k not in encoded}

    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".{profile}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        for rec in kept.values():
            for f in {e["file"] for e in rec.get("entries", {}).values() if "file" in e}:
                shutil.copy2(final / f, tmp / f)
        sections: dict[str, dict] = dict(kept)
        for name, (arrays, tables, entries) in encoded.items():
            if arrays:
                np.savez_compressed(tmp / f"{name}.npz", **arrays)
            for t, cols in tables.items():
                with open(tmp / f"{name}.{t}.csv", "w", newline="") as fh:
                    w = csv.writer(fh)
                    w.writerow(list(cols))
                    for row in zip(*cols.values(), strict=True):
                        w.writerow([_cell(x) for x in row])
            sections[name] = {**plain_json(sections_meta.get(name, {})), "entries": entries}
        rank = {n: i for i, n in enumerate(order)}
        at = {n: i for i, n in enumerate(sections)}  # sections ``order`` does not list: as given
        man["sections"] = dict(sorted(sections.items(), key=lambda kv: (rank.get(kv[0], len(rank)), at[kv[0]])))
        (tmp / MANIFEST).write_text(json.dumps(man, indent=1, allow_nan=True) + "\n")
        seal(tmp)
        old_dir = final.parent / f".{profile}.old-{os.getpid()}"
        if final.exists():
            os.replace(final, old_dir)
        os.replace(tmp, final)
        shutil.rmtree(old_dir, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


# --- integrity -----------------------------------------------------------------------------------------------

class StoreError(ValueError):
    """A stored result that cannot be trusted: a file missing, truncated or altered since it was written, or a
    manifest that does not parse. The message names the file, the chapter and profile, and how to restore it."""


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _manifest_sha(man: Mapping[str, Any]) -> str:
    """The SHA-256 of a manifest's content, its own ``manifest_sha`` left out (keys sorted: layout-independent)."""
    body = {k: v for k, v in man.items() if k != "manifest_sha"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, allow_nan=True).encode()).hexdigest()


def seal(folder: Path) -> dict[str, str]:
    """Record the SHA-256 of every data file of a stored profile (``folder``: ``<results>/<chapter>/<profile>``)
    in its manifest under ``files``, and of the manifest's own content under ``manifest_sha``; return the files'.
    :func:`write` seals what it writes; :func:`load` checks."""
    man_path = folder / MANIFEST
    man = json.loads(man_path.read_text())
    files = {p.name: _sha256(p) for p in sorted(folder.iterdir()) if p.is_file() and p.name != MANIFEST}
    man["files"] = files
    man["manifest_sha"] = _manifest_sha(man)
    man_path.write_text(json.dumps(man, indent=1, allow_nan=True) + "\n")
    return files


def _broken(chapter: str, profile: str, what: str) -> StoreError:
    return StoreError(f"stored results of {chapter} at profile {profile}: {what}. Restore them with "
                      f"`git checkout -- results/{chapter}/{profile}`, or regenerate them with "
                      f"`featlearn reproduce {chapter} --profile {profile}`")


def _verified_manifest(folder: Path, chapter: str, profile: str) -> dict[str, Any]:
    """The manifest of ``folder``, with every file it seals present and unchanged; :class:`StoreError` otherwise."""
    try:
        man = json.loads((folder / MANIFEST).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise _broken(chapter, profile, f"{MANIFEST} does not parse ({err})") from None
    if not isinstance(man, dict):
        raise _broken(chapter, profile, f"{MANIFEST} is not a JSON object")
    if "manifest_sha" in man and man["manifest_sha"] != _manifest_sha(man):
        raise _broken(chapter, profile, f"{MANIFEST} differs from the checksum recorded when it was written")
    for name, sha in man.get("files", {}).items():
        path = folder / name
        if not path.is_file():
            raise _broken(chapter, profile, f"{name} is missing")
        if _sha256(path) != sha:
            raise _broken(chapter, profile, f"{name} differs from the checksum recorded when it was written")
    return man


# --- reading -------------------------------------------------------------------------------------------------

def _declared(chapter: str) -> list[str]:
    try:
        return chapter_profiles(chapter)
    except (ValueError, ImportError):
        return []


def stored_profiles(chapter: str, *, root: Path | None = None) -> list[str]:
    """The profiles stored for ``chapter``, smallest first (see :func:`featlearn.profiles.ordered`)."""
    folder = (root or results_dir()) / chapter
    names = [p.name for p in folder.iterdir() if not p.name.startswith(".") and (p / MANIFEST).is_file()] \
        if folder.is_dir() else []
    return profiles.ordered(names, declared=_declared(chapter))


@dataclass(frozen=True)
class Stored:
    """One chapter's stored results at one profile: ``sections[name][key]`` is what the section returned (arrays,
    tables as dicts of columns, scalars), ``manifest`` the provenance."""

    chapter: str
    profile: str
    sections: dict[str, dict[str, Any]]
    manifest: dict[str, Any]

    def __getitem__(self, section: str) -> dict[str, Any]:
        if section not in self.sections:
            raise KeyError(f"no section {section!r} stored for {self.chapter} at profile {self.profile}; "
                           f"stored: {', '.join(self.sections) or 'none'}")
        return self.sections[section]

    @property
    def provenance(self) -> str:
        """The one-line provenance for the book (see :func:`provenance`)."""
        return provenance(self.manifest)


def _read_table(path: Path, columns: Mapping[str, str]) -> dict[str, np.ndarray]:
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    if header != list(columns):
        raise ValueError(f"{path.name}: columns {header} differ from the manifest's {list(columns)}")
    out = {}
    for j, (c, dt) in enumerate(columns.items()):
        cells = [r[j] for r in body]
        dtype = np.dtype(dt)
        if dtype.kind == "b":
            out[c] = np.array([x == "True" for x in cells], dtype=bool)
        else:
            out[c] = np.array(cells, dtype=str).astype(dtype) if cells else np.zeros(0, dtype)
    return out


def _restore(e: Mapping[str, Any]) -> Any:
    return np.dtype(e["dtype"]).type(e["value"]) if e.get("dtype") else e["value"]


def load(chapter: str, profile: str | None = None, *, root: Path | None = None) -> Stored | None:
    """The stored results of ``chapter`` at ``profile`` (default: the largest profile stored), or ``None`` when
    nothing is stored (the book then says so)."""
    if profile is None:
        present = stored_profiles(chapter, root=root)
        if not present:
            return None
        profile = present[-1]
    profile = profiles.canonical(profile)
    folder = (root or results_dir()) / chapter / profile
    if not (folder / MANIFEST).is_file():
        return None
    man = _verified_manifest(folder, chapter, profile)
    sections: dict[str, dict[str, Any]] = {}
    for name, rec in man.get("sections", {}).items():
        entries = rec.get("entries", {})
        npz, current = None, f"{name}.npz"
        try:
            if any(e["kind"] == "array" for e in entries.values()):
                with np.load(folder / current, allow_pickle=False) as z:
                    npz = {k: z[k] for k in z.files}
            data: dict[str, Any] = {}
            for k, e in entries.items():
                current = e.get("file", MANIFEST)
                if e["kind"] == "array":
                    data[k] = npz[k]  # type: ignore[index]
                elif e["kind"] == "table":
                    data[k] = _read_table(folder / e["file"], e["columns"])
                elif e["kind"] == "record":
                    data[k] = {c: _restore(x) for c, x in e["values"].items()}
                else:
                    data[k] = _restore(e)
        except (OSError, ValueError, KeyError, IndexError, zipfile.BadZipFile) as err:
            raise _broken(chapter, profile, f"{current} cannot be read ({type(err).__name__}: {err})") from None
        sections[name] = data
    return Stored(chapter, profile, sections, man)


def for_book(chapter: str) -> Stored | None:
    """The largest profile stored for ``chapter``, for a chapter's "At a larger scale" section: ``None`` when
    nothing is stored or the store is damaged, after printing which and what to run (so the section says so instead
    of failing)."""
    try:
        stored = load(chapter)
    except StoreError as err:
        print(f"The stored results cannot be used: {err}.")
        return None
    if stored is None:
        print(f"Nothing is stored yet for this chapter: `featlearn reproduce {chapter} --profile cpu-large` computes "
              "its results at a larger scale and stores them in results/, and this section then shows them.")
    return stored


# --- provenance ----------------------------------------------------------------------------------------------

def git_commit(root: Path | None = None) -> tuple[str, bool]:
    """``(commit, dirty)`` of the checkout the library runs from: the ``HEAD`` hash (``"unknown"`` outside a git
    checkout) and whether tracked files differ from it."""
    where = str(root or project_root())
    try:
        head = subprocess.run(["git", "-C", where, "rev-parse", "HEAD"], capture_output=True, text=True, check=True,
                              timeout=20).stdout.strip()
        status = subprocess.run(["git", "-C", where, "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, check=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown", False
    return head, bool(status.strip())


def device_description() -> str:
    """What JAX computes on, in words: ``"cpu (16 cores)"`` or ``"gpu: 1 × NVIDIA H200"``."""
    import jax

    devs = jax.devices()
    if devs[0].platform == "cpu":
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        return f"cpu ({cores} cores)"
    kinds: dict[str, int] = {}
    for d in devs:
        kinds[d.device_kind] = kinds.get(d.device_kind, 0) + 1
    return f"{devs[0].platform}: " + ", ".join(f"{n} × {k}" for k, n in kinds.items())


def environment() -> dict[str, Any]:
    """The facts a manifest records about the software and the machine (for the run and for each section)."""
    import jax
    import jaxlib

    from ._version import __version__
    from .sweeps import library_fingerprint

    commit, dirty = git_commit()
    return {"featlearn_version": __version__, "git_commit": commit, "git_dirty": dirty,
            "library_fingerprint": library_fingerprint(), "jax_version": jax.__version__,
            "jaxlib_version": jaxlib.__version__, "x64": bool(jax.config.jax_enable_x64),
            "device": device_description()}


def now() -> str:
    """The current time, ISO 8601 with the UTC offset, to the second."""
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def _short(v: Any) -> str:
    if isinstance(v, list) and len(v) > 4:
        return f"[{_short(v[0])}, {_short(v[1])}, …, {_short(v[-1])}]"
    if isinstance(v, list):
        return "[" + ", ".join(_short(x) for x in v) + "]"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def _rounded_duration(seconds: float) -> str:
    if not math.isfinite(seconds) or seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


def provenance(manifest: Mapping[str, Any]) -> str:
    """One line for the book: profile, sizes, device, date, wall time, commit and versions of a stored run, and
    its ``note`` where the manifest has one (e.g. sections of a store run at different commits)."""
    sizes = ", ".join(f"{k} = {_short(v)}" for k, v in manifest.get("sizes", {}).items())
    commit = str(manifest.get("git_commit", "unknown"))[:10]
    if manifest.get("git_dirty"):
        commit += " with local changes"
    date, wall = str(manifest.get("started", "?"))[:10], float(manifest.get("wall_s", float("nan")))
    return (f"Stored results: profile {manifest.get('profile', '?')} ({sizes}); run on "
            f"{manifest.get('device', '?')} on {date} in {_rounded_duration(wall)}; "
            f"featlearn {manifest.get('featlearn_version', '?')} at commit {commit}, "
            f"JAX {manifest.get('jax_version', '?')}."
            + (f" Note: {manifest['note']}." if manifest.get("note") else ""))

