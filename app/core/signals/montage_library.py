"""Named montages kept per user: ``montages.json`` in the user config folder.

The file sits beside ``settings.json`` (``~/.config/psg-lens/montages.json`` on Linux;
``PSG_LENS_CONFIG_DIR`` moves both) and holds ``{"version": 1, "montages": {name:
montage}}``, each montage as :meth:`Montage.to_dict` writes it. It is apart from the
settings so saving a montage writes at once (temp file and rename, never half a file)
without rewriting the user's other settings. A montage names channels as the study it
was made on spells them; applied to another study, :meth:`Montage.for_study` finds each
channel by its canonical name or says which one is missing.

Reading never stops the app: a damaged file or entry costs only itself, and the notes
say which (as :mod:`app.config` does for settings). Saving keeps every other entry as
stored, those this version cannot read included, and moves a file it cannot read at all
aside (``montages.json.damaged``) before writing a new one.

Examples
--------
>>> import tempfile, pathlib
>>> from app.core.signals.montage import Montage, MontageRow
>>> path = pathlib.Path(tempfile.mkdtemp()) / "montages.json"
>>> _ = save_named_montage("Sleep lab", Montage((MontageRow("C3", ("M2",)),)), path)
>>> found, notes = load_named_montages(path)
>>> list(found), found["Sleep lab"].labels(), notes
(['Sleep lab'], ['C3-M2'], [])
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from app.core.files.limits import CARD_MAX_BYTES, load_json_file
from app.core.formats._common import atomic_paths
from app.core.signals.montage import Montage, MontageError

LIBRARY_VERSION = 1
_MAX_NAME = 80


def montages_path() -> Path:
    """``montages.json`` in the user config folder (where ``settings.json`` is)."""
    from app.config import config_dir

    return config_dir() / "montages.json"


def load_named_montages(path: Path | None = None) -> tuple[dict[str, Montage], list[str]]:
    """The user's named montages (name -> Montage, in the file's order) and notes on
    anything that could not be read. No file: none, and no note."""
    path = path or montages_path()
    if not path.exists():
        return {}, []
    try:
        data = load_json_file(path, limit=CARD_MAX_BYTES, error=MontageError,
                              where=str(path), kind="a montage file")
    except MontageError as err:
        return {}, [f"The saved montages were not read: {err}"]
    stored = data.get("montages") if isinstance(data, dict) else None
    if not isinstance(stored, dict):
        return {}, [f"{path} holds no montages (no \"montages\" object); none were read."]
    out, notes = {}, []
    for name, d in stored.items():
        try:
            out[str(name)] = dataclasses.replace(Montage.from_dict(d), name=str(name))
        except MontageError as err:
            notes.append(f"The saved montage {name!r} was not read: {err}")
    return out, notes


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise MontageError("A saved montage needs a name; type one.")
    name = name.strip()
    if len(name) > _MAX_NAME:
        raise MontageError(f"A montage name is at most {_MAX_NAME} characters; "
                           f"{name[:20]!r}... has {len(name)}.")
    return name


def _stored(path: Path) -> dict:
    """The file's montages as stored, entries this version cannot read included (a
    newer PSG Lens's montage survives an older one saving another). A file that cannot
    be read at all is moved aside to ``montages.json.damaged``, never overwritten."""
    if not path.exists():
        return {}
    try:
        data = load_json_file(path, limit=CARD_MAX_BYTES, error=MontageError,
                              where=str(path), kind="a montage file")
    except MontageError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("montages"), dict):
        return dict(data["montages"])
    path.replace(path.with_name(path.name + ".damaged"))
    return {}


def _write(stored: dict, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"version": LIBRARY_VERSION, "montages": stored}, indent=2)
    with atomic_paths(path) as (tmp,):
        tmp.write_text(text, encoding="utf-8")
    return path


def save_named_montage(name: str, montage: Montage, path: Path | None = None) -> Path:
    """Keep ``montage`` under ``name`` (replacing one of that name); on disk when this
    returns. The other entries stay as they are, unreadable ones too."""
    path = path or montages_path()
    name = _check_name(name)
    if not isinstance(montage, Montage):
        raise MontageError(f"Only a montage can be saved as {name!r}, not a "
                           f"{type(montage).__name__}.")
    stored = _stored(path)
    stored[name] = dataclasses.replace(montage, name=name).to_dict()
    return _write(stored, path)


def delete_named_montage(name: str, path: Path | None = None) -> bool:
    """Forget the montage ``name``; False when there was none of that name."""
    path = path or montages_path()
    stored = _stored(path)
    if name not in stored:
        return False
    del stored[name]
    _write(stored, path)
    return True
