"""ScoringSession: one study's scoring work, saved in one SQLite file.

The file holds the study's identity, the model runs (probabilities streamed in as the
batches come), the channel-map override, small UI state, and the technician's scoring
as an append-only edit log, and the scored events (apneas, arousals, ...) as a second
append-only log (:mod:`app.core.scoring.session_events`). Undo and redo are new log
entries, so the logs are a full audit trail; triggers in the file refuse any UPDATE or
DELETE of them. Stages and events share one undo history, in the order they were done.

Durability: WAL journal with ``synchronous=FULL``. Every change is its own committed
transaction before the call returns, and FULL fsyncs the WAL at each commit, so an edit
survives a process crash *and* a power cut the moment ``set_stage`` returns. (NORMAL
with WAL survives a process crash but may drop the last commits on power loss; a
technician makes a few edits a second and model runs commit once per batch, so the
fsync costs nothing anyone notices.)

One writer: an OS lock on ``<session>.lock`` names its holder (see
:class:`app.core.scoring.study_identity.SessionFileLock`); the OS releases it when the holder
dies, so a crash never leaves a stale lock.

Examples
--------
>>> import tempfile, pathlib
>>> study = pathlib.Path(tempfile.mkdtemp()) / "night.edf"
>>> _ = study.write_bytes(b"x" * 1000)
>>> with ScoringSession.open(study, n_epochs=10, who="tech-01") as s:
...     s.set_stage(3, Stage.N2)
...     s.set_stage(3, Stage.N3)
...     _ = s.undo()
...     s.technician_hypnogram().labels()[3]
'N2'
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.core.scoring.events import Event
from app.core.scoring.hypnogram import Hypnogram, Source
from app.core.scoring.session_events import EventEdit, SessionEventLog, changed_event
from app.core.scoring.stages import SCORED_STAGES, Stage
from app.core.scoring.study_identity import (
    SCHEMA_VERSION,
    SessionFileLock,
    SessionLockedError,
    SessionReadOnlyError,
    StudyChangedError,
    StudyIdentity,
    current_user,
    identify,
    open_session_db,
    open_session_db_read_only,
    read_only_reason,
    session_path_for,
    transaction,
    utc_now,
)
from app.errors import SessionError

__all__ = ["SCHEMA_VERSION", "Edit", "EventEdit", "ModelRun", "ScoringSession",
           "SessionLockedError", "StudyChangedError"]

log = logging.getLogger(__name__)

_N = len(SCORED_STAGES)


@dataclass(frozen=True)
class Edit:
    """One row of the edit log.

    ``kind`` is "edit", "accept", "import", "undo" or "redo"; ``batch`` groups the rows
    one undo step reverts; ``ref`` is the batch an undo/redo row reverts or re-applies.
    """

    id: int
    batch: int
    who: str
    when: str
    epoch: int
    old: Stage
    new: Stage
    reason: str
    kind: str
    ref: int | None = None


@dataclass(frozen=True)
class ModelRun:
    """A model run's record; ``n_done`` counts the epochs written so far."""

    run_id: int
    bundle_id: str
    render_spec_json: str
    started_at: str
    meta: dict
    n_done: int


class ScoringSession(SessionEventLog):
    """A study's scoring session; use :meth:`open`, not the constructor.

    Subscribe to ``on_change`` (``callback(kind, payload)``), called after each commit:
    ``"stage"`` ``{"epoch", "old", "new", "kind", "who"}`` per changed epoch,
    ``"model_run"`` ``{"run_id", "start", "stop"}``, ``"model_answers"`` ``{"run_id",
    "epochs"}``, ``"channel_map"`` ``{"channel_map"}``,
    ``"state"`` ``{"key", "value"}``, ``"events"`` ``{"ids", "kind", "who", "changes"}``
    once per event batch (``changes``: id -> (old, new) event, None where absent).
    """

    def __init__(self, path: Path, db: sqlite3.Connection, lock: SessionFileLock | None,
                 who: str, read_only: str | None = None) -> None:
        self._path = path
        self._db = db
        self._lock = lock
        self.read_only = read_only  # why it cannot be written (review only), or None
        self._mutex = threading.RLock()  # a GUI may write from a worker thread too
        self.who = who
        self.on_change: list[Callable[[str, dict], None]] = []
        meta = dict(db.execute("SELECT key, value FROM meta"))
        self.study = StudyIdentity.from_dict(json.loads(meta["study"]))
        self._schema_version = int(meta.get("schema_version", 1))
        self.n_epochs = int(meta["n_epochs"])
        self.epoch_sec = float(meta["epoch_sec"])
        start = json.loads(meta.get("start_time", "null"))
        self.start_time = None if start is None else dt.datetime.fromisoformat(start)
        self._replay()

    # -- opening and closing ----------------------------------------------------------
    @classmethod
    def open(cls, study_path: str | Path, *, n_epochs: int, epoch_sec: float = 30.0,
             start_time: dt.datetime | None = None, who: str | None = None,
             accept_changed: bool = False, review_if_locked: bool = False
             ) -> ScoringSession:
        """Create the session of a study, or reopen it.

        Parameters
        ----------
        study_path : path
            The PSG file. The session is ``<study>.psglens`` beside it, or in the user
            data folder when the study's folder is read-only.
        n_epochs, epoch_sec, start_time
            The study's epoching; checked against what a reopened session stored.
        who : str, optional
            Default scorer id for edits (the OS user name when omitted).
        accept_changed : bool
            Reopen even when the study file changed (its new identity is stored).
        review_if_locked : bool
            When another program holds the session (a colleague scoring it), open it
            read-only for review instead of raising :class:`SessionLockedError`;
            ``read_only`` then names the holder.

        Raises
        ------
        SessionLockedError, StudyChangedError, SessionError

        An existing session that cannot be written here (a read-only share) is opened
        for review: ``read_only`` says why, and every change raises
        :class:`SessionReadOnlyError`.

        Examples
        --------
        >>> s = ScoringSession.open("night.edf", n_epochs=960)  # doctest: +SKIP
        """
        study = identify(study_path)
        path = session_path_for(study.path)
        reason = read_only_reason(path)
        if reason is not None:  # a study on a read-only share: review what was scored
            db = open_session_db_read_only(path, study, n_epochs, float(epoch_sec))
            try:
                return cls(path, db, None, who or current_user(), read_only=reason)
            except BaseException:
                db.close()
                raise
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = SessionFileLock(path.with_name(path.name + ".lock"))
        try:
            lock.acquire()
        except SessionLockedError as err:
            if not review_if_locked or not path.exists():
                raise
            db = open_session_db_read_only(path, study, n_epochs, float(epoch_sec),
                                           live=True)
            try:
                return cls(path, db, None, who or current_user(),
                           read_only=f"it is open by {err.holder}")
            except BaseException:
                db.close()
                raise
        try:
            db = open_session_db(path, study, n_epochs, float(epoch_sec), start_time,
                                 accept_changed)
            try:
                return cls(path, db, lock, who or current_user())
            except BaseException:
                db.close()
                raise
        except BaseException:
            lock.release()
            raise

    @property
    def path(self) -> Path:
        """The session file."""
        return self._path

    @property
    def closed(self) -> bool:
        return self._db is None

    def close(self) -> None:
        """Close the file (checkpointing the WAL) and release the lock; idempotent."""
        with self._mutex:
            if self._db is not None:
                self._db.close()
                self._db = None
                if self._lock is not None:
                    self._lock.release()

    def __enter__(self) -> ScoringSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        if self.read_only is not None:
            raise SessionReadOnlyError(
                f"This study is open read-only ({self.read_only}): nothing can be changed. "
                "Copy the study and its .psglens file to a folder you can write to, to "
                "score it.")
        with self._mutex, transaction(self._live()) as db:
            yield db

    def _query(self, sql: str, args: Sequence = ()) -> list:
        with self._mutex:
            return self._live().execute(sql, args).fetchall()

    def _live(self) -> sqlite3.Connection:
        if self._db is None:
            raise SessionError("The session is closed; open it again to keep scoring.")
        return self._db

    def _emit(self, kind: str, payload: dict) -> None:
        for callback in list(self.on_change):
            try:
                callback(kind, payload)
            except Exception:  # the change is saved; one bad subscriber must not hide it
                log.exception("on_change subscriber failed for %s", kind)

    # -- technician scoring -----------------------------------------------------------
    def _replay(self) -> None:
        """Rebuild current stages and the undo/redo stacks from the log."""
        self._tech = np.full(self.n_epochs, Stage.UNSCORED, np.int8)
        self._src = np.zeros(self.n_epochs, np.int8)
        for epoch, new, source in self._db.execute(
                "SELECT epoch, new, source FROM edits ORDER BY id"):
            if epoch < self.n_epochs:
                self._tech[epoch], self._src[epoch] = new, source
        self._undo: list[int] = []
        self._redo: list[int] = []
        steps = [(int(b), k, r) for b, k, r in self._db.execute(
            "SELECT batch, kind, ref FROM edits GROUP BY batch ORDER BY batch")]
        steps += self._replay_events()  # one history: stage and event steps in time order
        for batch, kind, ref in sorted(steps):
            self._apply_stack(batch, kind, ref)
        self._next_batch = max((b for b, _, _ in steps), default=0) + 1

    def _apply_stack(self, batch: int, kind: str, ref: int | None) -> None:
        if kind == "undo":
            self._undo.remove(ref)
            self._redo.append(ref)
        elif kind == "redo":
            self._redo.remove(ref)
            self._undo.append(ref)
        else:  # a new change makes the undone future unreachable
            self._undo.append(batch)
            self._redo.clear()

    def _write(self, changes: list[tuple[int, int, int]], who: str, reason: str,
               kind: str, ref: int | None = None) -> list[int]:
        """Log (epoch, new stage, new source) changes as one batch; skip no-ops."""
        with self._mutex:
            cur, src = self._tech.copy(), self._src.copy()
            rows, events, at, batch = [], [], utc_now(), self._next_batch
            for epoch, new, source in changes:
                old, old_src = int(cur[epoch]), int(src[epoch])
                if old == new and old_src == source:
                    continue
                rows.append((batch, who, at, epoch, old, new, old_src, source, reason, kind,
                             ref))
                events.append({"epoch": epoch, "old": Stage(old), "new": Stage(new),
                               "kind": kind, "who": who})
                cur[epoch], src[epoch] = new, source
            if rows:
                with self._tx() as db:
                    db.executemany("INSERT INTO edits (batch, who, at, epoch, old, new, "
                                   "old_source, source, reason, kind, ref) "
                                   "VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)
                self._tech, self._src, self._next_batch = cur, src, batch + 1
            if rows or ref is not None:  # an undo of epochs cut off by a shorter study
                self._apply_stack(batch, kind, ref)
        for event in events:
            self._emit("stage", event)
        return [e["epoch"] for e in events]

    def _check_epoch(self, epoch: int) -> int:
        epoch = int(epoch)
        if not 0 <= epoch < self.n_epochs:
            raise IndexError(f"Epoch {epoch + 1} is outside this night (1-{self.n_epochs}).")
        return epoch

    def set_stage(self, epoch: int, stage: Stage | int, who: str | None = None,
                  reason: str = "", *, kind: str = "edit") -> None:
        """Set one epoch's stage; on disk before this returns. Same stage: no entry.

        Examples
        --------
        >>> session.set_stage(41, Stage.REM, reason="sawtooth waves")  # doctest: +SKIP
        """
        self.set_stages([epoch], [stage], who, reason, kind=kind)

    def set_stages(self, epochs: Sequence[int] | np.ndarray,
                   stages: Stage | int | Sequence[int] | np.ndarray,
                   who: str | None = None, reason: str = "", *, kind: str = "edit"
                   ) -> list[int]:
        """Set many epochs in one transaction and one undo step (e.g. accept a range).

        ``stages`` is one stage for all epochs or one per epoch; ``kind`` is "edit",
        "accept" or "import" (imported stages get source IMPORTED). Returns the
        epochs that changed.

        Examples
        --------
        >>> session.set_stages(range(0, 40), model.stages[:40], kind="accept")  # doctest: +SKIP
        """
        if kind not in ("edit", "accept", "import"):
            raise ValueError(f"kind must be 'edit', 'accept' or 'import', not {kind!r}")
        epochs = [self._check_epoch(e) for e in np.atleast_1d(np.asarray(epochs, int))]
        values = np.atleast_1d(np.asarray(stages, dtype=int))
        if values.size == 1:
            values = np.repeat(values, len(epochs))
        if values.size != len(epochs):
            raise ValueError(f"{values.size} stages for {len(epochs)} epochs.")
        source = int(Source.IMPORTED if kind == "import" else Source.TECHNICIAN)
        changes = []
        for e, s in zip(epochs, values.tolist(), strict=True):
            s = int(Stage(s))
            changes.append((e, s, int(Source.NONE) if s == Stage.UNSCORED else source))
        return self._write(changes, who or self.who, reason, kind)

    def can_undo(self) -> bool:
        return bool(self._undo)

    def can_redo(self) -> bool:
        return bool(self._redo)

    def next_undo(self) -> str | None:
        """What :meth:`undo` would revert: ``"stages"``, ``"events"`` or None.

        Examples
        --------
        >>> session.set_stage(3, Stage.N2); session.next_undo()  # doctest: +SKIP
        'stages'
        """
        return None if not self._undo else self._step_kind(self._undo[-1])

    def next_redo(self) -> str | None:
        """What :meth:`redo` would re-apply: ``"stages"``, ``"events"`` or None."""
        return None if not self._redo else self._step_kind(self._redo[-1])

    def _step_kind(self, batch: int) -> str:
        return "events" if batch in self._event_batches else "stages"

    def _batch_rows(self, batch: int) -> list:
        return self._query("SELECT epoch, old, new, old_source, source FROM edits "
                           "WHERE batch = ? ORDER BY id", (batch,))

    def undo(self, who: str | None = None) -> list[int]:
        """Revert the last change step, a stage or an event one (as new log entries);
        returns the epochs changed ([] for an event step: its ``"events"`` change says
        which events)."""
        if not self._undo:
            return []
        ref = self._undo[-1]
        if ref in self._event_batches:
            self._undo_events(ref, who or self.who)
            return []
        rows = reversed(self._batch_rows(ref))
        return self._write([(e, old, osrc) for e, old, _, osrc, _ in rows
                            if e < self.n_epochs], who or self.who, "", "undo", ref)

    def redo(self, who: str | None = None) -> list[int]:
        """Re-apply the last undone step (as new log entries); returns the epochs changed."""
        if not self._redo:
            return []
        ref = self._redo[-1]
        if ref in self._event_batches:
            self._redo_events(ref, who or self.who)
            return []
        return self._write([(e, new, src) for e, _, new, _, src in self._batch_rows(ref)
                            if e < self.n_epochs], who or self.who, "", "redo", ref)

    def technician_hypnogram(self) -> Hypnogram:
        """The technician's scoring: edited epochs have source TECHNICIAN (IMPORTED
        for imported ones), never-set epochs are Unscored."""
        who = [r[0] for r in self._query(
            "SELECT who FROM edits GROUP BY who ORDER BY MIN(id)")]
        return Hypnogram(self._tech.copy(), epoch_sec=self.epoch_sec,
                         start_time=self.start_time, sources=self._src.copy(),
                         scorer=", ".join(who) or self.who, source=Source.TECHNICIAN)

    def edits(self, since_id: int = 0) -> list[Edit]:
        """The edit log in order (entries with id > ``since_id``)."""
        return [Edit(i, b, w, at, e, Stage(o), Stage(n), r, k, ref) for i, b, w, at, e, o, n,
                r, k, ref in self._query(
                    "SELECT id, batch, who, at, epoch, old, new, reason, kind, ref "
                    "FROM edits WHERE id > ? ORDER BY id", (since_id,))]

    # -- events changed together ------------------------------------------------------
    def edit_events(self, *, add: Sequence[Event] = (),
                    change: Mapping[int, Mapping[str, object]] | None = None,
                    delete: Iterable[int] = (), reason: str = "", who: str | None = None,
                    kind: str = "edit") -> list[int]:
        """Add, change and delete events in one transaction and one undo step (lights
        off moved and lights on added by one command are undone together). Every id must
        exist and every event be valid, else an ``EventError`` and nothing is written.
        Returns the ids touched, the new ones last.

        Examples
        --------
        >>> session.edit_events(add=[Event(EventType.OTHER, 900.0, 0.0, text="Lights on")],
        ...                     change={-1: {"onset": 60.0}})  # doctest: +SKIP
        [-1, 4]
        """
        kind = self._kind(kind)
        with self._mutex:
            rows = [(int(i), self._checked(changed_event(self._existing(int(i)), f)))
                    for i, f in (change or {}).items()]
            for i in dict.fromkeys(int(i) for i in delete):
                self._existing(i)  # an id that is gone is a sentence, before any write
                rows.append((i, None))
            fresh = [self._checked(ev) for ev in add]
            first = self._next_event_id
            rows += list(zip(range(first, first + len(fresh)), fresh, strict=True))
            return self._write_events(rows, who or self.who, reason, kind)

    # -- model runs -------------------------------------------------------------------
    def add_model_run(self, bundle_id: str, render_spec_json: str,
                      probabilities: np.ndarray | None = None,
                      stages: np.ndarray | None = None,
                      started_at: dt.datetime | str | None = None,
                      meta: dict | None = None) -> int:
        """Record a model run; ``probabilities`` (n, 5) are epochs 0..n-1 (n may be 0
        and the rest streamed with :meth:`update_model_run`). Returns the run id.

        Examples
        --------
        >>> run = session.add_model_run("psg-lens-default", spec.to_json(),
        ...                             np.zeros((0, 5), np.float32))  # doctest: +SKIP
        """
        json.loads(render_spec_json)  # a spec that is not JSON is a caller's bug
        if isinstance(started_at, dt.datetime):
            started_at = started_at.astimezone(dt.timezone.utc).isoformat()
        chunk = self._chunk(0, probabilities, stages) if probabilities is not None else None
        with self._tx() as db:
            run_id = db.execute(
                "INSERT INTO model_runs (bundle_id, render_spec, started_at, meta) "
                "VALUES (?,?,?,?)", (bundle_id, render_spec_json, started_at or utc_now(),
                                     json.dumps(meta or {}))).lastrowid
            if chunk is not None and chunk[1]:
                db.execute("INSERT INTO model_chunks (run_id, start, n, probs, stages) "
                           "VALUES (?,?,?,?,?)", (run_id, *chunk))
        if chunk is not None and chunk[1]:
            self._emit("model_run", {"run_id": run_id, "start": 0, "stop": chunk[1]})
        return int(run_id)

    def _chunk(self, start: int, probs: np.ndarray, stages: np.ndarray | None) -> tuple:
        p = np.ascontiguousarray(probs, dtype=np.float32)
        if p.ndim != 2 or p.shape[1] != _N:
            raise ValueError(f"Probabilities must be (n, {_N}), not {p.shape}.")
        if start < 0 or start + len(p) > self.n_epochs:
            raise IndexError(f"Epochs {start}-{start + len(p)} are outside this night "
                             f"(0-{self.n_epochs}).")
        s = None
        if stages is not None:
            s = np.ascontiguousarray(stages, dtype=np.int8)
            if s.shape != (len(p),):
                raise ValueError(f"{s.size} stages for {len(p)} probability rows.")
            if not np.isin(s, [int(x) for x in Stage]).all():
                raise ValueError("Model stages must be Stage codes (W=0 .. REM=4, -1, -2).")
            s = s.tobytes()
        return start, len(p), p.tobytes(), s

    def update_model_run(self, run_id: int, epoch_slice_start: int,
                         probabilities_block: np.ndarray,
                         stages_block: np.ndarray | None = None) -> None:
        """Write a batch of a running model run (committed at once; later writes win)."""
        chunk = self._chunk(int(epoch_slice_start), probabilities_block, stages_block)
        with self._tx() as db:
            if db.execute("SELECT 1 FROM model_runs WHERE id = ?", (run_id,)).fetchone() is None:
                raise SessionError(f"This session has no model run {run_id}.")
            db.execute("INSERT INTO model_chunks (run_id, start, n, probs, stages) "
                       "VALUES (?,?,?,?,?)", (run_id, *chunk))
        self._emit("model_run", {"run_id": run_id, "start": chunk[0],
                                 "stop": chunk[0] + chunk[1]})

    def add_model_answers(self, run_id: int, answers: dict[int, dict]) -> None:
        """What a chat model wrote for these epochs (``{epoch: Answer.to_dict()}``),
        committed at once; a later answer for an epoch replaces the earlier one."""
        rows = []
        for epoch, answer in answers.items():
            self._check_epoch(int(epoch))
            rows.append((run_id, int(epoch), json.dumps(answer, ensure_ascii=False)))
        if not rows:
            return
        with self._tx() as db:
            if db.execute("SELECT 1 FROM model_runs WHERE id = ?", (run_id,)).fetchone() is None:
                raise SessionError(f"This session has no model run {run_id}.")
            db.executemany("INSERT INTO model_answers (run_id, epoch, answer) VALUES (?,?,?)",
                           rows)
        self._emit("model_answers", {"run_id": run_id, "epochs": [r[1] for r in rows]})

    def model_answers(self, run_id: int) -> dict[int, dict]:
        """The run's answers by epoch (the latest per epoch); {} for runs without."""
        out: dict[int, dict] = {}
        for epoch, text in self._query("SELECT epoch, answer FROM model_answers WHERE "
                                       "run_id = ? ORDER BY id", (run_id,)):
            try:
                out[int(epoch)] = json.loads(text)
            except ValueError:  # a damaged row loses that epoch's text, not the run
                log.warning("session %s: unreadable answer for epoch %s", self.path, epoch)
        return out

    def _coverage(self, run_id: int) -> np.ndarray:
        done = np.zeros(self.n_epochs, bool)
        for start, n in self._query("SELECT start, n FROM model_chunks WHERE run_id = ?",
                                    (run_id,)):
            done[start:start + n] = True
        return done

    def model_runs(self) -> list[ModelRun]:
        """All model runs, oldest first."""
        return [ModelRun(i, b, r, at, _json_or(m, {"damaged_meta": True}, self.path),
                         int(self._coverage(i).sum()))
                for i, b, r, at, m in self._query(
                    "SELECT id, bundle_id, render_spec, started_at, meta FROM model_runs "
                    "ORDER BY id")]

    def model_hypnogram(self, run_id: int | None = None) -> Hypnogram:
        """A run's stages and probabilities (the latest run by default).

        Epochs not written yet are Unscored with uniform probabilities (0.2). Stages not
        given by the run are the most probable class.
        """
        rows = self._query("SELECT id, bundle_id FROM model_runs WHERE id = COALESCE(?, "
                           "(SELECT MAX(id) FROM model_runs))", (run_id,))
        if not rows:
            raise SessionError("This session has no model run yet; run the model first."
                               if run_id is None else f"This session has no model run {run_id}.")
        run_id, bundle_id = rows[0]
        probs = np.full((self.n_epochs, _N), 1.0 / _N, np.float32)
        stages = np.full(self.n_epochs, Stage.UNSCORED, np.int8)
        for start, n, pb, sb in self._query("SELECT start, n, probs, stages FROM "
                                            "model_chunks WHERE run_id = ? ORDER BY id",
                                            (run_id,)):
            p = np.frombuffer(pb, np.float32).reshape(n, _N)
            s = np.frombuffer(sb, np.int8) if sb is not None else p.argmax(axis=1)
            k = max(0, min(n, self.n_epochs - start))  # the study may have been shortened
            probs[start:start + k], stages[start:start + k] = p[:k], s[:k]
        return Hypnogram(stages, epoch_sec=self.epoch_sec, start_time=self.start_time,
                         probabilities=probs, scorer=bundle_id, source=Source.MODEL,
                         meta={"run_id": run_id})

    # -- channel map and UI state -----------------------------------------------------
    @property
    def channel_map(self) -> dict | None:
        """The user's channel-mapping override (a JSON dict), or None."""
        rows = self._query("SELECT value FROM meta WHERE key = 'channel_map'")
        found = _json_or(rows[0][0], None, self.path) if rows else None
        return found if isinstance(found, dict) else None

    def set_channel_map(self, mapping: dict | None) -> None:
        """Store (or, with None, clear) the channel-mapping override."""
        text = json.dumps(mapping)  # raises TypeError for what JSON cannot hold
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO meta VALUES ('channel_map', ?)", (text,))
        self._emit("channel_map", {"channel_map": json.loads(text)})

    def get_state(self, key: str, default: Any = None) -> Any:
        """A UI-state value (current epoch, zoom, ...), JSON-decoded."""
        rows = self._query("SELECT value FROM state WHERE key = ?", (key,))
        return _json_or(rows[0][0], default, self.path) if rows else default

    def set_state(self, key: str, value: Any) -> None:
        """Store a JSON-serialisable UI-state value."""
        text = json.dumps(value)
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO state VALUES (?, ?)", (key, text))
        self._emit("state", {"key": key, "value": value})


def _json_or(text: object, default: Any, path: Path) -> Any:
    """A stored JSON value, or ``default`` (logged) when the file holds a broken one:
    a damaged UI state or run description must not keep the technician's edits shut."""
    try:
        return json.loads(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        log.warning("session %s: a stored value is not JSON; using %r", path, default)
        return default
