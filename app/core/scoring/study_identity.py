"""The session file: which study it belongs to, where it lives, who holds it, its format.

A study is identified by its absolute path, its size and a SHA-256 of its header: for
EDF/BDF the header length is written in bytes 184-192, and the header holds the
patient, recording and start-time fields and every channel's description, so any
re-export or edit of the recording changes it. Hashing the header (not the whole night,
hundreds of MB) keeps opening instant. Other files hash their first 64 KiB.

The session file sits beside the study (``night.edf`` -> ``night.edf.psglens``); when
that folder is read-only it goes to the user data folder instead
(``PSG_LENS_DATA_DIR`` overrides it, tests use that). One process at a time writes a
session: :class:`SessionFileLock` holds an OS lock on ``<session>.lock`` (flock on Unix,
msvcrt on Windows), which the OS drops when the holder dies, so a crash leaves no
stale lock; the file names the holder for the message others get.
:func:`open_session_db` creates the SQLite file or checks a reopened one (format
version, study identity, epoching); :mod:`app.core.scoring.session` builds on it.

Examples
--------
>>> import tempfile, pathlib
>>> study = pathlib.Path(tempfile.mkdtemp()) / "night.txt"
>>> _ = study.write_bytes(b"not an EDF")
>>> ident = identify(study)
>>> ident.size, len(ident.header_sha256)
(10, 64)
>>> session_path_for(study).name
'night.txt.psglens'
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import json
import os
import socket
import sqlite3
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import platformdirs

from app.errors import SessionError

SESSION_SUFFIX = ".psglens"
DATA_DIR_ENV = "PSG_LENS_DATA_DIR"
_NON_EDF_HASH_BYTES = 64 * 1024
_EDF_FIXED_HEADER = 256


class StudyChangedError(SessionError):
    """The study file is not the one the session was scored on."""


class SessionLockedError(SessionError):
    """Another process has the session open; ``holder`` names it ("tech@host (pid 7)
    since ...")."""

    def __init__(self, message: str, holder: str = "") -> None:
        super().__init__(message)
        self.holder = holder


class SessionReadOnlyError(SessionError):
    """The session was opened read-only (review); it cannot be changed."""


@dataclass(frozen=True)
class StudyIdentity:
    """Absolute path, size in bytes and header SHA-256 of a study file."""

    path: str
    size: int
    header_sha256: str

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> StudyIdentity:
        return cls(path=str(d["path"]), size=int(d["size"]),
                   header_sha256=str(d["header_sha256"]))

    def same_file(self, other: StudyIdentity) -> bool:
        """Same content (size and header); the path may differ after a move."""
        return self.size == other.size and self.header_sha256 == other.header_sha256


def _edf_header_length(head: bytes) -> int | None:
    """Header length from an EDF/BDF fixed header, or None when it is not one."""
    if len(head) < _EDF_FIXED_HEADER:
        return None
    field = head[184:192].strip()
    if not field.isdigit():
        return None
    n = int(field)
    # 256 bytes of fixed header + 256 per signal: anything else is not an EDF header
    if n < _EDF_FIXED_HEADER or n % 256:
        return None
    return n


def identify(study_path: str | os.PathLike) -> StudyIdentity:
    """Compute the identity of a study file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.edf"
    >>> _ = p.write_bytes(b"0".ljust(184) + b"256".ljust(8) + b" " * 64 + b"data")
    >>> identify(p).size
    260
    """
    path = Path(study_path).resolve()
    try:
        with open(path, "rb") as f:
            head = f.read(_EDF_FIXED_HEADER)
            n = _edf_header_length(head) or _NON_EDF_HASH_BYTES
            f.seek(0)
            digest = hashlib.sha256(f.read(n)).hexdigest()
            size = os.fstat(f.fileno()).st_size
    except OSError as exc:
        raise SessionError(f"The study file {path} cannot be read ({exc.strerror or exc}); "
                           "check that it exists and that you may read it.") from exc
    return StudyIdentity(path=str(path), size=size, header_sha256=digest)


def check_unchanged(stored: StudyIdentity, current: StudyIdentity) -> None:
    """Raise :class:`StudyChangedError` when the study's size or header changed."""
    if stored.same_file(current):
        return
    if stored.size != current.size:
        what = f"size {stored.size} -> {current.size} bytes"
    else:
        what = f"same size, {current.size} bytes, but a different header"
    raise StudyChangedError(
        f"The study file {current.path} changed since this session was saved ({what}). "
        "Open it as a new session, or restore the original file.")


def data_dir() -> Path:
    """Folder for sessions of studies in read-only folders."""
    override = os.environ.get(DATA_DIR_ENV)
    base = Path(override) if override else Path(platformdirs.user_data_dir("psg-lens"))
    return base / "sessions"


def _folder_writable(folder: Path) -> bool:
    # os.access is unreliable on Windows and network shares: also try to create a file.
    if not os.access(folder, os.W_OK):
        return False
    try:
        with tempfile.TemporaryFile(dir=folder, prefix=".psglens-probe-"):
            pass
    except OSError:
        return False
    return True


def session_path_for(study_path: str | os.PathLike) -> Path:
    """Where the session of a study lives (existing file first, then a new one).

    Beside the study when that folder is writable, otherwise
    ``<data dir>/sessions/<sha256 of the absolute path>.psglens``.
    """
    study = Path(study_path).resolve()
    beside = study.with_name(study.name + SESSION_SUFFIX)
    key = hashlib.sha256(os.path.normcase(str(study)).encode("utf-8")).hexdigest()[:32]
    in_data = data_dir() / f"{key}{SESSION_SUFFIX}"
    if beside.exists():
        return beside
    if in_data.exists():
        return in_data
    return beside if _folder_writable(study.parent) else in_data


def read_only_reason(session: Path) -> str | None:
    """Why an existing session file cannot be written here (None: it can).

    A study on a read-only share keeps its session beside it; such a session is opened
    for review instead of being refused."""
    if not session.exists():
        return None
    if not _folder_writable(session.parent):
        return f"its folder {session.parent} is read-only"
    if not os.access(session, os.W_OK):
        return f"the session file {session.name} is read-only"
    return None


def utc_now() -> str:
    """Now as a UTC ISO-8601 string (the edit log's clock)."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds")


def current_user() -> str:
    """The OS login name, or "unknown" where there is none (some containers)."""
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


# Windows locks are mandatory: lock one byte past the owner text so others can read it.
_WIN_LOCK_OFFSET = 1 << 20


class SessionFileLock:
    """An exclusive, non-blocking OS lock on a sidecar file that names its holder.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> lock = SessionFileLock(pathlib.Path(tempfile.mkdtemp()) / "s.psglens.lock")
    >>> lock.acquire()
    >>> SessionFileLock(lock.path).acquire()  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ...
    SessionLockedError: This session is already open by ...
    >>> lock.release()
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise :class:`SessionLockedError` naming the holder."""
        while self._fd is None:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            if not _try_lock(fd):
                os.close(fd)
                holder = self.holder()
                raise SessionLockedError(f"This session is already open by {holder}. Close "
                                         "it there first.", holder)
            # a holder that was releasing may have unlinked the file we opened: retry
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if same:
                self._fd = fd
            else:
                os.close(fd)
        owner = {"user": current_user(), "host": socket.gethostname(), "pid": os.getpid(),
                 "since": dt.datetime.now().astimezone().isoformat(timespec="seconds")}
        os.ftruncate(self._fd, 0)
        os.lseek(self._fd, 0, os.SEEK_SET)
        os.write(self._fd, json.dumps(owner).encode("utf-8"))

    def holder(self) -> str:
        """Who holds the lock, in words (as its holder wrote it into the lock file)."""
        try:
            o = json.loads(self.path.read_text(encoding="utf-8"))
            return f"{o['user']}@{o['host']} (pid {o['pid']}) since {o['since']}"
        except (OSError, ValueError, KeyError, TypeError):  # holder still writing it
            return "another PSG Lens window or program"

    def __del__(self) -> None:  # a session dropped without close() must not stay locked
        try:
            self.release()
        except Exception:
            pass

    def release(self) -> None:
        """Drop the lock and remove the file; idempotent."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        if sys.platform == "win32":
            _unlock_windows(fd)
            os.close(fd)
            try:  # fails harmlessly while another process has it open
                os.unlink(self.path)
            except OSError:
                pass
        else:
            # unlink while still holding the lock; openers check they locked the live file
            try:
                os.unlink(self.path)
            except OSError:
                pass
            os.close(fd)


def _try_lock(fd: int) -> bool:
    if sys.platform == "win32":
        import msvcrt

        os.lseek(fd, _WIN_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _unlock_windows(fd: int) -> None:
    import msvcrt

    os.lseek(fd, _WIN_LOCK_OFFSET, os.SEEK_SET)
    try:
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
    except OSError:
        pass


# -- the session file's format ---------------------------------------------------------
#: The newest file format this version reads; newer files are refused, not guessed at.
#: A file states the oldest format a reader must know to lose nothing of it: 1 until it
#: holds a scored event, 2 from the first event on (an older PSG Lens would drop the
#: events from its undo history and could reuse their batch numbers for stage edits).
SCHEMA_VERSION = 2
EVENTS_SCHEMA_VERSION = 2
_NEW_FILE_SCHEMA = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS edits (
    id INTEGER PRIMARY KEY, batch INTEGER NOT NULL, who TEXT NOT NULL, at TEXT NOT NULL,
    epoch INTEGER NOT NULL, old INTEGER NOT NULL, new INTEGER NOT NULL,
    old_source INTEGER NOT NULL, source INTEGER NOT NULL, reason TEXT NOT NULL,
    kind TEXT NOT NULL, ref INTEGER);
CREATE INDEX IF NOT EXISTS edits_batch ON edits (batch);
CREATE TRIGGER IF NOT EXISTS edits_no_update BEFORE UPDATE ON edits
    BEGIN SELECT RAISE(ABORT, 'the edit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS edits_no_delete BEFORE DELETE ON edits
    BEGIN SELECT RAISE(ABORT, 'the edit log is append-only'); END;
CREATE TABLE IF NOT EXISTS model_runs (
    id INTEGER PRIMARY KEY, bundle_id TEXT NOT NULL, render_spec TEXT NOT NULL,
    started_at TEXT NOT NULL, meta TEXT NOT NULL);
-- one row per streamed batch: float32 (k, 5) probabilities, int8 stages or NULL
CREATE TABLE IF NOT EXISTS model_chunks (
    id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES model_runs (id),
    start INTEGER NOT NULL, n INTEGER NOT NULL, probs BLOB NOT NULL, stages BLOB);
CREATE INDEX IF NOT EXISTS model_chunks_run ON model_chunks (run_id);
-- what a chat model wrote per epoch (rationale, cited rules); later rows win
CREATE TABLE IF NOT EXISTS model_answers (
    id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES model_runs (id),
    epoch INTEGER NOT NULL, answer TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS model_answers_run ON model_answers (run_id, epoch);
-- scored events (format 2): one row per add, change or delete; old/new are the event as
-- JSON, NULL where it did not exist before or no longer exists after. Batches share the
-- counter of the edits table: one undo history for stages and events.
CREATE TABLE IF NOT EXISTS event_log (
    id INTEGER PRIMARY KEY, batch INTEGER NOT NULL, who TEXT NOT NULL, at TEXT NOT NULL,
    event INTEGER NOT NULL, op TEXT NOT NULL, old TEXT, new TEXT, reason TEXT NOT NULL,
    kind TEXT NOT NULL, ref INTEGER);
CREATE INDEX IF NOT EXISTS event_log_batch ON event_log (batch);
CREATE TRIGGER IF NOT EXISTS event_log_no_update BEFORE UPDATE ON event_log
    BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS event_log_no_delete BEFORE DELETE ON event_log
    BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
"""


def open_session_db(path: Path, study: StudyIdentity, n_epochs: int, epoch_sec: float,
             start_time: dt.datetime | None, accept_changed: bool) -> sqlite3.Connection:
    """Open or create the file, check what a reopened one stored, record the study."""
    try:
        # autocommit mode: writes use explicit BEGIN IMMEDIATE / COMMIT
        db = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            meta = _check_stored(db, path, study, n_epochs, epoch_sec, accept_changed)
            db.executescript(_SCHEMA)  # idempotent; after the version check on purpose
            rows = [("study", json.dumps(study.to_dict())), ("n_epochs", str(int(n_epochs)))]
            if start_time is not None or not meta:
                rows.append(("start_time", json.dumps(
                    None if start_time is None else start_time.isoformat())))
            if not meta:
                rows += [("schema_version", str(_NEW_FILE_SCHEMA)), ("created_at", utc_now()),
                         ("epoch_sec", repr(epoch_sec))]
            with transaction(db):
                db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", rows)
            return db
        except BaseException:
            db.close()
            raise
    except sqlite3.DatabaseError as exc:
        raise SessionError(f"{path} is not a PSG Lens session file or is damaged ({exc}); "
                           "move it aside to start a new session.") from exc


def open_session_db_read_only(path: Path, study: StudyIdentity, n_epochs: int,
                              epoch_sec: float, *, live: bool = False) -> sqlite3.Connection:
    """Open an existing session for review only: nothing is written, not even the WAL's
    index (``immutable``: the folder may not allow it), and no lock is taken.

    ``live``: another process is writing it (it holds the lock): read through the WAL,
    never ``immutable``, so its commits are seen."""
    from urllib.parse import quote

    # a -wal file holds commits not yet in the main file: immutable would not see them,
    # so read it through the WAL (works where its -shm can be read) or say so
    wal = path.with_name(path.name + "-wal")
    flags = "mode=ro" if live or (wal.exists() and wal.stat().st_size) else \
        "mode=ro&immutable=1"
    try:
        db = sqlite3.connect(f"file:{quote(str(path))}?{flags}", uri=True,
                             check_same_thread=False)
        try:
            if not _check_stored(db, path, study, n_epochs, epoch_sec, False):
                raise SessionError(f"{path} holds no PSG Lens session yet; copy the study to "
                                   "a folder you can write to, to score it.")
            return db
        except BaseException:
            db.close()
            raise
    except sqlite3.DatabaseError as exc:
        raise SessionError(f"{path} is not a PSG Lens session file or is damaged ({exc}); "
                           "it was left as it is.") from exc


def _check_stored(db: sqlite3.Connection, path: Path, study: StudyIdentity, n_epochs: int,
                  epoch_sec: float, accept_changed: bool) -> dict:
    """What a file already holds, checked: ours, complete, of this study. Its meta."""
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if tables and "meta" not in tables:  # never add our tables to someone's database
        raise SessionError(f"{path} is not a PSG Lens session (it is an SQLite database of "
                           "something else); move it aside to start a new session.")
    meta = dict(db.execute("SELECT key, value FROM meta")) if tables else {}
    if tables and (meta or _has_work(db, tables)):  # tables but no meta yet: a fresh file
        _check_complete(meta, tables, path)
    if meta:
        _check_reopen(meta, path, study, n_epochs, epoch_sec, accept_changed)
    return meta


_TABLES = ("meta", "state", "edits", "model_runs", "model_chunks")


def _has_work(db: sqlite3.Connection, tables: set[str]) -> bool:
    # a format-1 file has no event_log table: that is no damage
    work = ("edits", "model_runs", *(("event_log",) if "event_log" in tables else ()))
    try:
        return any(db.execute(f"SELECT 1 FROM {t} LIMIT 1").fetchone() for t in work)
    except sqlite3.DatabaseError:
        return True  # unreadable tables: let the completeness check say what is wrong


def _check_complete(meta: dict, tables: set[str], path: Path) -> None:
    """A session file missing tables or holding unreadable values is damaged."""
    damaged = (f"{path} is a damaged PSG Lens session ({{}}); it was left as it is: move "
               "it aside to start a new session.")
    missing = [t for t in _TABLES if t not in tables]
    version = str(meta.get("schema_version", "")).strip()
    if version.isdigit() and int(version) >= EVENTS_SCHEMA_VERSION and \
            "event_log" not in tables:  # its events were lost: never recreate it empty
        missing.append("event_log")
    if missing:
        raise SessionError(damaged.format(f"table(s) {', '.join(missing)} missing"))
    try:
        int(meta["schema_version"])
        float(meta["epoch_sec"])
        int(meta["n_epochs"])
        if not isinstance(json.loads(meta["study"]), dict):
            raise ValueError("study")
    except KeyError as err:
        raise SessionError(damaged.format(f"the value {err.args[0]!r} is missing")) from None
    except (ValueError, TypeError) as err:
        raise SessionError(damaged.format(f"a stored value cannot be read: {err}")) from None


def _check_reopen(meta: dict, path: Path, study: StudyIdentity, n_epochs: int,
                  epoch_sec: float, accept_changed: bool) -> None:
    version = int(meta.get("schema_version", 0))
    if version > SCHEMA_VERSION:
        raise SessionError(f"{path.name} was saved by a newer PSG Lens (session format "
                           f"{version}; this version reads up to {SCHEMA_VERSION}). "
                           "Update PSG Lens to open it.")
    if not accept_changed:
        check_unchanged(StudyIdentity.from_dict(json.loads(meta["study"])), study)
    if float(meta["epoch_sec"]) != epoch_sec:
        raise SessionError(f"This session was scored in {float(meta['epoch_sec']):g}-s "
                           f"epochs, not {epoch_sec:g}-s; open it with the same epoch length.")
    if int(meta["n_epochs"]) != n_epochs and not accept_changed:
        raise StudyChangedError(
            f"The study now has {n_epochs} epochs but this session has {meta['n_epochs']}. "
            "Open it as a new session, or restore the original file.")


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One committed write transaction (IMMEDIATE: take the write lock up front)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
