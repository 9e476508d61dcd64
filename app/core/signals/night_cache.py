"""Arrays computed once per night (a spectrogram, the chin's rms per epoch), kept on disk.

A whole-night computation reads every sample of a channel; doing it again each time a
study is opened would cost seconds for nothing. The result is kept as an ``.npz`` file
(plain arrays, never pickles: loaded with ``allow_pickle=False``) in the user cache
folder, named by a SHA-256 of what it depends on: the study file's identity (absolute
path, size, modification time and header hash, :func:`app.core.scoring.study_identity.identify`),
what was computed, with which channel and parameters, and this module's format. A study
that is re-exported, edited or replaced gets a new key; an unreadable or foreign cache
file is recomputed, never trusted. A recording held in memory (synthetic studies) has no
file: its arrays are kept on the recording object only. The same object also keeps
what it read from disk, so a second call in one session does not touch the disk.

The cache folder is ``$PSG_LENS_CACHE_DIR``, else ``$PSG_LENS_DATA_DIR/cache`` (so tests
and portable installs that move the data folder move the cache with it), else the user
cache folder (``~/.cache/psg-lens`` on Linux). Writing is an optimisation: a folder that
cannot be written leaves the result uncached, never an error. The folder is kept under
``$PSG_LENS_CACHE_MAX_MB`` (default 1024 MB): after each write the files least recently
used (read or written) are removed until it fits.

Examples
--------
>>> import numpy as np
>>> from app.core.signals.recording import Recording
>>> rec = Recording.from_arrays(np.zeros((1, 3000)), ["C4-M1"], 100.0)
>>> arrays, hit = night_arrays(rec, "demo", {"n": 1}, lambda: {"x": np.arange(3)})
>>> hit, arrays["x"].tolist()
(False, [0, 1, 2])
>>> night_arrays(rec, "demo", {"n": 1}, lambda: {"x": np.zeros(3)})[1]
True
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

CACHE_ENV = "PSG_LENS_CACHE_DIR"
CACHE_MAX_ENV = "PSG_LENS_CACHE_MAX_MB"
CACHE_MAX_MB = 1024  # ~350 8-h nights' spectrograms; the least recently used go first
CACHE_FORMAT = 1
_KEY_FIELD = "_psg_lens_cache_key"

Arrays = dict[str, np.ndarray]


def cache_dir() -> Path:
    """The folder night arrays are kept in (see the module's notes; may not exist yet)."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override)
    data = os.environ.get("PSG_LENS_DATA_DIR")
    if data:
        return Path(data) / "cache"
    import platformdirs

    return Path(platformdirs.user_cache_dir("psg-lens", appauthor=False))


def study_key(recording) -> dict | None:
    """What identifies the study file on disk; None for a recording held in memory."""
    path = Path(recording.path)
    try:
        st = path.stat()
    except OSError:
        return None
    if not path.is_file():
        return None
    from app.core.scoring.study_identity import identify  # late: scoring builds on signals

    ident = identify(path)
    return {"path": ident.path, "size": ident.size, "header_sha256": ident.header_sha256,
            "mtime_ns": st.st_mtime_ns}


def cache_path(recording, kind: str, params: dict) -> tuple[Path, str] | None:
    """(file, key) where ``kind`` computed with ``params`` is kept for this study."""
    ident = study_key(recording)
    if ident is None:
        return None
    text = json.dumps({"format": CACHE_FORMAT, "study": ident, "kind": kind,
                       "params": params}, sort_keys=True, default=str)
    key = hashlib.sha256(text.encode()).hexdigest()
    stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in Path(ident["path"]).stem)
    return cache_dir() / kind / f"{stem[:40]}-{key[:24]}.npz", key


def _load(path: Path, key: str) -> Arrays | None:
    try:
        with np.load(path, allow_pickle=False) as f:
            if _KEY_FIELD not in f.files or str(f[_KEY_FIELD]) != key:
                return None  # a hash-prefix collision or another program's file
            found = {k: f[k] for k in f.files if k != _KEY_FIELD}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None  # missing, truncated or damaged: recompute
    try:
        os.utime(path)  # used now: the last to be pruned
    except OSError:
        pass
    return found


def _max_bytes() -> int:
    try:
        mb = float(os.environ.get(CACHE_MAX_ENV, CACHE_MAX_MB))
    except ValueError:
        mb = CACHE_MAX_MB
    return int(max(mb, 0.0) * 1024 * 1024)


def prune(folder: Path | None = None, max_bytes: int | None = None,
          keep: Path | None = None) -> int:
    """Remove the least recently used cache files until the folder holds at most
    ``max_bytes`` (never ``keep``); the number removed. Errors leave files in place."""
    folder = cache_dir() if folder is None else Path(folder)
    limit = _max_bytes() if max_bytes is None else int(max_bytes)
    files = []
    for path in folder.glob("*/*.npz"):
        if path.name.startswith("."):
            continue  # another process's file being written
        try:
            st = path.stat()
        except OSError:
            continue
        files.append((st.st_mtime, st.st_size, path))
    total = sum(size for _, size, _ in files)
    removed = 0
    for _, size, path in sorted(files, key=lambda f: f[0]):
        if total <= limit:
            break
        if keep is not None and path == keep:
            continue
        try:
            path.unlink()
        except OSError:
            continue
        total -= size
        removed += 1
    return removed


def _save(path: Path, key: str, arrays: Arrays) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".part-", suffix=".npz", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, **arrays, **{_KEY_FIELD: np.array(key)})
            os.replace(tmp, path)  # readers never see half a file
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError:
        return  # a read-only or full cache folder: the result is simply not kept
    prune(path.parent.parent, keep=path)


def night_arrays(recording, kind: str, params: dict, compute: Callable[[], Arrays]
                 ) -> tuple[Arrays, bool]:
    """``compute()``'s arrays for this study, ``kind`` and ``params``; (arrays, cache hit).

    ``params`` must be JSON-serialisable and name everything the result depends on
    besides the study itself (channel, band, window, taper settings...).
    """
    memory = recording.__dict__.setdefault("_night_arrays", {})
    mkey = json.dumps([kind, params], sort_keys=True, default=str)
    if mkey in memory:
        return memory[mkey], True
    place = cache_path(recording, kind, params)
    if place is not None:
        found = _load(*place)
        if found is not None:
            memory[mkey] = found
            return found, True
    arrays = {k: np.asarray(v) for k, v in compute().items()}
    if place is not None:
        _save(place[0], place[1], arrays)
    memory[mkey] = arrays
    return arrays, False
