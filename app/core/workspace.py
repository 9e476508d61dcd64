"""Workspace: the open study as the scoring GUI sees it, without Qt.

It holds the recording, its scoring session, the current epoch and view, the model runs,
imported scorers' hypnograms, the scored events (apneas, arousals, ...; see
:mod:`app.core.scoring.event_review`), lights off and on (:mod:`app.core.scoring.lights`),
the montage shown (:mod:`app.core.signals.montage_view`), every scoring side by side
(:mod:`app.core.scoring.consensus`) and the current explanation, and emits plain callback
events (``ws.events.epoch.connect(callback)``; the callback gets an :class:`Event`).
Widgets receive a Workspace and subscribe; nothing here knows a widget exists.

Every scoring call writes through :class:`~app.core.scoring.session.ScoringSession` before it
returns, so an edit is on disk the moment the key press has been handled. View state
(position, window) is written by :meth:`Workspace.save_state`, which the GUI calls on a
timer and on close: losing a position in a crash is harmless, losing an edit is not.

Examples
--------
>>> ws = Workspace.open("night.edf", who="tech-01")        # doctest: +SKIP
>>> ws.events.epoch.connect(lambda ev: print(ev.epoch))     # doctest: +SKIP
>>> ws.score(Stage.N2)                                      # doctest: +SKIP
1
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.core.scoring.agreement import Agreement, agreement
from app.core.scoring.consensus import SideBySide
from app.core.scoring.cross_check import CrossCheck, cross_check
from app.core.scoring.event_review import EventReview
from app.core.scoring.hypnogram import Hypnogram, Source
from app.core.scoring.lights import LightsReview
from app.core.scoring.model_run import RunInfo
from app.core.scoring.session import ScoringSession
from app.core.scoring.stages import Stage
from app.core.signals.montage_view import MontageView
from app.core.signals.recording import Recording
from app.core.signals.render_spec import RenderSpec
from app.errors import FormatError, PSGLensError, SpecError

log = logging.getLogger(__name__)

__all__ = ["AASM_SLOTS", "Event", "Explanation", "RunInfo", "Workspace"]

#: The slots the trace view shows first, top to bottom (AASM montage order).
AASM_SLOTS = ("frontal", "central", "occipital", "e1", "e2", "chin", "ecg")


# -- events ---------------------------------------------------------------------------
class Event:
    """What a callback receives: ``type`` plus the emitter's keyword payload."""

    def __init__(self, type: str, **payload: object) -> None:
        self.type = type
        self.__dict__.update(payload)

    def __repr__(self) -> str:
        return f"Event({', '.join(f'{k}={v!r}' for k, v in self.__dict__.items())})"


class Emitter:
    def __init__(self, name: str) -> None:
        self.name = name
        self._callbacks: list[Callable[[Event], None]] = []

    def connect(self, callback: Callable[[Event], None]) -> Callable[[Event], None]:
        if callback not in self._callbacks:
            self._callbacks.append(callback)
        return callback

    def disconnect(self, callback: Callable[[Event], None] | None = None) -> None:
        if callback is None:
            self._callbacks.clear()
        elif callback in self._callbacks:
            self._callbacks.remove(callback)

    def __call__(self, **payload: object) -> None:
        event = Event(self.name, **payload)
        for cb in list(self._callbacks):
            try:
                cb(event)
            except Exception:  # one broken subscriber must not stop the others
                log.exception("subscriber of %s failed", self.name)


class Events:
    """The workspace's emitters (napari-style ``events.<name>.connect``)."""

    NAMES = ("epoch", "stages", "model", "answers", "runs", "imported", "view",
             "channel_map", "explanation", "message", "saved", "scorer", "closed",
             "scored_events",  # scored_events: ids, kind ("edit", "undo", ...), who
             "lights", "montage")  # lights: lights (Lights); montage: montage (Montage)

    def __init__(self) -> None:
        for name in self.NAMES:
            setattr(self, name, Emitter(name))

    def disconnect_all(self) -> None:
        for name in self.NAMES:
            getattr(self, name).disconnect()


class UnknownLabelsRefused(FormatError):
    """An imported hypnogram holds labels PSG Lens does not know; asked, not guessed."""


# -- explanations ---------------------------------------------------------------------
@dataclass
class Explanation:
    """A saliency heatmap over one epoch's model image, and its channel x second map."""

    epoch: int
    heat: np.ndarray             # (H, W) float over the model's image
    spec: RenderSpec
    grid: np.ndarray             # (n_rows, n_bins) importance per spec row and time bin
    bin_starts: np.ndarray       # seconds from the epoch's onset
    bin_sec: float = 1.0
    method: str = ""
    run_id: int | None = None    # the model run whose model it explains

    def channel_importance(self) -> list[tuple[str, float]]:
        """(row label, share of the total) for each spec row, largest first."""
        per_row = np.clip(self.grid, 0, None).sum(axis=1)
        total = float(per_row.sum()) or 1.0
        labels = [r.label or r.slot for r in self.spec.rows]
        return sorted(((lab, float(v) / total) for lab, v in zip(labels, per_row)),
                      key=lambda kv: -kv[1])


# -- the workspace --------------------------------------------------------------------
@dataclass
class _View:
    window_sec: float = 30.0
    context: bool = False
    filters: bool = True
    gains: dict[str, float] = field(default_factory=dict)  # trace row label -> gain


def _stored_gains(value: object) -> dict[str, float]:
    """Row gains from the session; a broken entry costs only itself."""
    if not isinstance(value, dict):
        return {}
    out = {}
    for label, gain in value.items():
        if isinstance(label, str) and isinstance(gain, (int, float)) and \
                np.isfinite(gain) and 0.01 <= gain <= 100:
            out[label] = float(gain)
    return out


class Workspace(LightsReview, MontageView, SideBySide, EventReview):
    """One open study. Use :meth:`open`; close with :meth:`close`."""

    def __init__(self, recording: Recording, session: ScoringSession, *,
                 low_confidence: float = 0.6, auto_advance: bool = True) -> None:
        if session.n_epochs != recording.n_epochs:
            raise PSGLensError(f"The session has {session.n_epochs} epochs but the study has "
                               f"{recording.n_epochs}; it belongs to another recording.")
        self.recording = recording
        self.session = session
        self.events = Events()
        self.low_confidence = float(low_confidence)
        self.auto_advance = bool(auto_advance)
        self.notes: list[str] = list(recording.notes)
        state = session.get_state("view", {}) or {}
        self._epoch = int(np.clip(int(state.get("epoch", 0)), 0, self.n_epochs - 1))
        self.view = _View(float(state.get("window_sec", 30.0)), bool(state.get("context", False)),
                          bool(state.get("filters", True)), _stored_gains(state.get("gains")))
        self._tech = session.technician_hypnogram()
        self._runs: dict[int, RunInfo] = {}
        for run in session.model_runs():
            self._runs[run.run_id] = RunInfo(run.run_id, run.bundle_id,
                                             _spec_or_none(run.render_spec_json), run.meta,
                                             session.model_hypnogram(run.run_id),
                                             session.model_answers(run.run_id),
                                             started_at=run.started_at)
        active = state.get("active_run")
        self.active_run_id: int | None = (active if active in self._runs else
                                          max(self._runs, default=None))
        self.imported: list[Hypnogram] = []
        for path in session.get_state("imports", []) or []:
            try:
                self.imported.append(self._read_import(path))
            except PSGLensError as err:
                self.notes.append(f"The imported hypnogram {path} was not reloaded: {err}")
        self.explanation: Explanation | None = None
        self._pending: set[int] = set()
        self._batch_depth = 0
        self._state_dirty = False
        self._load_study_events()
        session.on_change.append(self._on_session_change)

    @classmethod
    def open(cls, path: str | os.PathLike, *, who: str | None = None,
             low_confidence: float = 0.6, auto_advance: bool = True,
             accept_changed: bool = False, review_if_locked: bool = False,
             allow_truncated: bool = False) -> Workspace:
        """Open a study and its session (created beside it on first open); with
        ``review_if_locked``, a session another program holds opens read-only; with
        ``allow_truncated``, a file cut short opens its complete records."""
        rec = Recording.open(path, allow_truncated=allow_truncated)
        session = ScoringSession.open(rec.path, n_epochs=rec.n_epochs, epoch_sec=rec.epoch_sec,
                                      start_time=rec.start_time, who=who or None,
                                      accept_changed=accept_changed,
                                      review_if_locked=review_if_locked)
        try:
            return cls(rec, session, low_confidence=low_confidence, auto_advance=auto_advance)
        except BaseException:
            session.close()
            raise

    def close(self) -> None:
        if self.session.closed:
            return
        try:
            self.save_state()  # a full disk fails here; the session must close all the same
        finally:
            self.session.on_change.remove(self._on_session_change)
            self.session.close()
            self.events.closed()
            self.events.disconnect_all()

    # -- description --------------------------------------------------------------------
    @property
    def read_only(self) -> str | None:
        """Why this study is open for review only (None: it can be scored)."""
        return self.session.read_only

    @property
    def path(self) -> Path:
        return self.recording.path

    @property
    def n_epochs(self) -> int:
        return self.recording.n_epochs

    @property
    def epoch_sec(self) -> float:
        return self.recording.epoch_sec

    @property
    def scorer(self) -> str:
        return self.session.who

    def set_scorer(self, who: str) -> None:
        """Who the edit log names from the next edit on (Settings changed mid-study)."""
        from app.core.scoring.study_identity import current_user

        who = (who or "").strip() or current_user()
        if who != self.session.who:
            self.session.who = who
            self.events.scorer(who=who)

    def clock(self, seconds: float) -> dt.datetime | None:
        """Clock time of ``seconds`` from the recording's start (None if unknown)."""
        start = self.recording.start_time
        return None if start is None else start + dt.timedelta(seconds=float(seconds))

    # -- position and view --------------------------------------------------------------
    @property
    def epoch(self) -> int:
        return self._epoch

    def set_epoch(self, epoch: int) -> int:
        epoch = int(np.clip(int(epoch), 0, self.n_epochs - 1))
        if epoch != self._epoch:
            old, self._epoch = self._epoch, epoch
            self._state_dirty = True
            self.events.epoch(epoch=epoch, old=old)
        return epoch

    def step(self, n: int = 1) -> int:
        return self.set_epoch(self._epoch + n)

    @property
    def page_epochs(self) -> int:
        """Epochs one page flip moves: the visible window's length (at least one)."""
        return max(1, int(round(self.view.window_sec / self.epoch_sec)))

    def page(self, n: int = 1) -> int:
        return self.set_epoch(self._epoch + n * self.page_epochs)

    def set_view(self, *, window_sec: float | None = None, context: bool | None = None,
                 filters: bool | None = None) -> None:
        if window_sec is not None:
            if window_sec < self.epoch_sec:
                raise ValueError(f"The window must show at least one epoch "
                                 f"({self.epoch_sec:g} s), not {window_sec:g} s.")
            self.view.window_sec = float(window_sec)
        if context is not None:
            self.view.context = bool(context)
        if filters is not None:
            self.view.filters = bool(filters)
        self._state_dirty = True
        self.events.view(view=self.view)

    def set_gains(self, gains: dict[str, float]) -> None:
        """The trace rows' gains (label -> factor; 1 is the physical scale), kept with the
        view so a reopened study shows the rows as they were. No redraw event: the trace
        view that changed them has already redrawn."""
        self.view.gains = {k: float(v) for k, v in gains.items() if abs(float(v) - 1) > 1e-6}
        self._state_dirty = True

    def visible_span(self, epoch: int | None = None) -> tuple[float, float]:
        """[t0, t1) seconds shown for ``epoch``: the window centred on it, plus context."""
        epoch = self._epoch if epoch is None else epoch
        onset = epoch * self.epoch_sec
        extra = max(0.0, self.view.window_sec - self.epoch_sec) / 2
        if self.view.context:
            extra = max(extra, self.epoch_sec)
        return onset - extra, onset + self.epoch_sec + extra

    @property
    def state_dirty(self) -> bool:
        return self._state_dirty

    def save_state(self) -> bool:
        """Store position and view in the session (only when they changed; never in a
        session opened read-only, whose view lives only as long as the window)."""
        if not self._state_dirty or self.session.closed or self.read_only:
            return False
        self.session.set_state("view", {"epoch": self._epoch, "window_sec": self.view.window_sec,
                                        "context": self.view.context,
                                        "filters": self.view.filters,
                                        "gains": self.view.gains,
                                        "active_run": self.active_run_id})
        self._state_dirty = False
        self.events.saved(when=dt.datetime.now())
        return True

    # -- technician scoring -------------------------------------------------------------
    @property
    def technician(self) -> Hypnogram:
        return self._tech

    def score(self, stage: Stage | int, epoch: int | None = None, *, kind: str = "edit",
              advance: bool | None = None) -> int:
        """Set the stage of ``epoch`` (default current), then advance if set to."""
        epoch = self._epoch if epoch is None else int(epoch)
        with self._batch():
            self.session.set_stage(epoch, Stage(int(stage)), kind=kind)
        if (self.auto_advance if advance is None else advance) and epoch == self._epoch:
            self.step(1)
        return self._epoch

    def mark_artifact(self) -> int:
        return self.score(Stage.ARTIFACT)

    def accept_model(self) -> bool:
        """Give the current epoch the active model's stage (an 'accept' edit)."""
        run = self.active_run
        stage = -1 if run is None else int(run.hypnogram.stages[self._epoch])
        if stage < 0:
            self.events.message(text="The model has not scored this epoch; "
                                     "score it by hand or run the model first.")
            return False
        self.score(stage, kind="accept")
        return True

    def unscored_the_model_staged(self) -> np.ndarray:
        """Epochs the technician left unscored that the active run staged (what bulk
        accept would fill)."""
        run = self.active_run
        if run is None:
            return np.zeros(0, np.int64)
        return np.flatnonzero((self._tech.stages == Stage.UNSCORED)
                              & (run.hypnogram.stages >= 0))

    def accept_model_unscored(self) -> int:
        """Fill every epoch the technician left unscored with the model's stage (one undo
        step); returns how many epochs changed."""
        run = self.active_run
        if run is None:
            self.events.message(text="There is no model run to accept.")
            return 0
        todo = self.unscored_the_model_staged()
        if todo.size == 0:
            return 0
        with self._batch():
            changed = self.session.set_stages(todo, run.hypnogram.stages[todo], kind="accept")
        return len(changed)

    def undo(self) -> list[int]:
        """Undo the last step, a stage or an event one (one history for both), and go to
        where it happened; returns the epochs whose stage changed."""
        step, self._last_event_change = self.session.next_undo(), {}
        with self._batch():
            epochs = self.session.undo()
        self._after_step(epochs, step, "Nothing to undo.")
        return epochs

    def redo(self) -> list[int]:
        step, self._last_event_change = self.session.next_redo(), {}
        with self._batch():
            epochs = self.session.redo()
        self._after_step(epochs, step, "Nothing to redo.")
        return epochs

    def _after_step(self, epochs: list[int], step: str | None, nothing: str) -> None:
        where = epochs[0] if epochs else self._event_epoch() if step == "events" else None
        if where is not None:
            self.set_epoch(where)
        elif step != "events":
            self.events.message(text=nothing)

    @contextmanager
    def _batch(self) -> Iterator[None]:
        """Collect per-epoch session events into one ``stages`` event."""
        self._batch_depth += 1
        try:
            yield
        finally:
            self._batch_depth -= 1
            if self._batch_depth == 0 and self._pending:
                epochs, self._pending = sorted(self._pending), set()
                self.events.stages(epochs=epochs)

    def _on_session_change(self, kind: str, payload: dict) -> None:
        if kind == "events":
            self._on_events_change(payload)
            return
        if kind != "stage":
            return
        e, new = int(payload["epoch"]), int(payload["new"])
        self._tech.stages[e] = new
        self._tech.sources[e] = (Source.NONE if new == Stage.UNSCORED else
                                 Source.IMPORTED if payload["kind"] == "import"
                                 else Source.TECHNICIAN)
        self._pending.add(e)
        if self._batch_depth == 0:  # a change made outside the workspace's own calls
            epochs, self._pending = sorted(self._pending), set()
            self.events.stages(epochs=epochs)

    # -- model runs ---------------------------------------------------------------------
    @property
    def runs(self) -> list[RunInfo]:
        return [self._runs[k] for k in sorted(self._runs)]

    def run(self, run_id: int) -> RunInfo:
        return self._runs[run_id]

    @property
    def active_run(self) -> RunInfo | None:
        return self._runs.get(self.active_run_id) if self.active_run_id is not None else None

    @property
    def model(self) -> Hypnogram | None:
        run = self.active_run
        return None if run is None else run.hypnogram

    def set_active_run(self, run_id: int | None) -> None:
        if run_id is not None and run_id not in self._runs:
            raise KeyError(f"There is no model run {run_id}.")
        self.active_run_id = run_id
        self._state_dirty = True
        self.events.runs()

    def start_run(self, bundle_id: str, spec: RenderSpec | None = None,
                  meta: dict | None = None) -> int:
        """Record a new (empty) model run, make it active, return its id."""
        from app.core.scoring.study_identity import utc_now

        spec_json = spec.to_json() if spec is not None else "{}"
        started = utc_now()
        run_id = self.session.add_model_run(bundle_id, spec_json, meta=meta or {},
                                            started_at=started)
        hyp = Hypnogram.unscored(self.n_epochs, epoch_sec=self.epoch_sec,
                                 start_time=self.recording.start_time, scorer=bundle_id,
                                 source=Source.MODEL,
                                 probabilities=np.full((self.n_epochs, 5), 0.2, np.float32))
        self._runs[run_id] = RunInfo(run_id, bundle_id, spec, dict(meta or {}), hyp,
                                     started_at=started)
        self.active_run_id = run_id
        self._state_dirty = True
        self.events.runs()
        return run_id

    def add_model_batch(self, run_id: int, epochs: Sequence[int] | np.ndarray,
                        probabilities: np.ndarray, answers: Sequence[dict] | None = None
                        ) -> None:
        """Store a batch of a running model in the session and show it at once.

        ``answers`` (one dict per epoch, from a chat model) are stored with it."""
        run = self._runs[run_id]
        epochs = np.asarray(epochs, dtype=np.int64).reshape(-1)
        probs = np.asarray(probabilities, dtype=np.float32).reshape(len(epochs), 5)
        if epochs.size == 0:
            return
        if answers is not None:
            self.add_answers(run_id, dict(zip((int(e) for e in epochs), answers)), emit=False)
        order = np.argsort(epochs, kind="stable")
        epochs, probs = epochs[order], probs[order]
        breaks = np.flatnonzero(np.diff(epochs) != 1) + 1
        for lo, hi in zip(np.r_[0, breaks], np.r_[breaks, len(epochs)]):
            start, block = int(epochs[lo]), probs[lo:hi].copy()
            # a NaN row: the model looked and did not stage it (the input check refused it)
            refused = np.isnan(block).any(axis=1)
            block[refused] = 0.2
            stages = np.where(refused, int(Stage.UNSCORED), block.argmax(axis=1)).astype(np.int8)
            self.session.update_model_run(run_id, start, block, stages)
            run.own.probabilities[start:start + len(block)] = block
            run.own.stages[start:start + len(block)] = stages
            run.own.sources[start:start + len(block)] = Source.MODEL
        if run.smoothing is not None:  # a new epoch may change its neighbours' stages
            run.restage()
            self.events.model(run_id=run_id, start=0, stop=self.n_epochs)
            return
        self.events.model(run_id=run_id, start=int(epochs[0]), stop=int(epochs[-1]) + 1)

    def add_answers(self, run_id: int, answers: dict[int, dict], *, emit: bool = True) -> None:
        """Keep what the model wrote for these epochs (e.g. a rationale written on demand
        after a fast run); on disk before it returns."""
        run = self._runs[run_id]
        self.session.add_model_answers(run_id, answers)
        run.answers.update({int(e): dict(a) for e, a in answers.items()})
        if emit:
            self.events.answers(run_id=run_id, epochs=sorted(int(e) for e in answers))

    def finish_run(self, run_id: int, *, stopped: bool = False) -> None:
        run = self._runs[run_id]
        run.meta["stopped"] = stopped
        self.events.runs()

    # -- export ---------------------------------------------------------------------------
    def hypnogram_for_export(self, which: str | int = "technician", *,
                             include_probabilities: bool = True,
                             anonymise: bool = False) -> Hypnogram:
        """The hypnogram an export writes: the technician's (``"technician"``, with the
        active run's probabilities beside it when asked), the active run's (``"model"``)
        or run ``which``'s. Probabilities carry ``meta["probabilities_from"]``, the run
        they came from in words, so the file can say so; ``anonymise`` drops the start
        time and the run's date."""
        run = None
        if which == "technician":
            hyp = self._tech.copy(probabilities=None, meta={})
            run = self.active_run if include_probabilities else None
            if run is not None:
                hyp.probabilities = run.hypnogram.probabilities.copy()
        else:
            run = self.active_run if which == "model" else self._runs.get(int(which))
            if run is None:
                raise PSGLensError("There is no model run to export; run the model first."
                                   if which == "model" else f"There is no model run {which}.")
            hyp = run.hypnogram.copy(meta={})
        if not include_probabilities:
            hyp.probabilities = None
        if anonymise:
            hyp.start_time = None
        if hyp.probabilities is not None and run is not None:
            hyp.meta["probabilities_from"] = run.describe(dated=not anonymise)
        return hyp

    # -- navigation helpers ---------------------------------------------------------------
    def confidence(self) -> np.ndarray:
        """Active model's top probability per epoch; NaN where it has not scored."""
        run = self.active_run
        if run is None:
            return np.full(self.n_epochs, np.nan)
        conf = run.hypnogram.probabilities.max(axis=1).astype(float)
        conf = np.where(run.hypnogram.stages >= 0, conf, np.nan)
        refused = run.refused_epochs()
        conf[refused[refused < conf.size]] = 0.0  # not staged: the least confident of all
        return conf

    def low_confidence_epochs(self) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return np.flatnonzero(self.confidence() < self.low_confidence)

    def unsure_epochs(self, check: CrossCheck | None = None) -> np.ndarray:
        """Epochs to review first: the active model's low-confidence epochs and, once a
        finished YASA run is beside it (``check``, default :meth:`cross_check`), those
        YASA stages otherwise (the model is often confidently wrong exactly there)."""
        low = self.low_confidence_epochs()
        check = self.cross_check() if check is None else check
        if check is None:
            return low
        return np.union1d(low, np.flatnonzero(check.disagree)).astype(np.int64)

    def disagreement_epochs(self, other: Hypnogram | None = None) -> np.ndarray:
        """Epochs the technician staged (W..REM) differently from ``other`` (default: the
        active model run)."""
        other = self.model if other is None else other
        if other is None:
            return np.zeros(0, np.int64)
        a, b = self._tech.stages, other.stages
        return np.flatnonzero((a >= 0) & (b >= 0) & (a != b))

    def _jump(self, candidates: np.ndarray, direction: int, what: str) -> int | None:
        if candidates.size == 0:
            self.events.message(text=f"There is no {what} epoch.")
            return None
        e = self._epoch
        after = candidates[candidates > e] if direction > 0 else candidates[candidates < e][::-1]
        if after.size == 0:  # wrap around the night, and say so
            after = candidates if direction > 0 else candidates[::-1]
            self.events.message(text=f"Wrapped around: back to the "
                                     f"{'first' if direction > 0 else 'last'} {what} epoch.")
        return self.set_epoch(int(after[0]))

    def next_low_confidence(self, direction: int = 1) -> int | None:
        """Jump to the next (``direction`` -1: previous) epoch of :meth:`unsure_epochs`."""
        check = self.cross_check()
        what = "low-confidence" if check is None else "low-confidence or YASA-disagreeing"
        return self._jump(self.unsure_epochs(check), direction, what)

    def next_disagreement(self, direction: int = 1, other: Hypnogram | None = None
                          ) -> int | None:
        return self._jump(self.disagreement_epochs(other), direction, "disagreeing")

    # -- agreement and imported scorers ---------------------------------------------------
    def run_agreement(self, a: int, b: int) -> Agreement:
        return agreement(self._runs[a].hypnogram, self._runs[b].hypnogram)

    def cross_check(self) -> CrossCheck | None:
        """The active run against the latest run of the other side that looked at every
        epoch: a model run against YASA's, or (YASA's run active) YASA's against the
        latest model run. None until both exist: what the model view says of the night
        and of each epoch the two stage differently, and what U steps through."""
        def is_yasa(r: RunInfo) -> bool:
            return r.bundle_id.startswith("yasa/")

        run = self.active_run
        if run is None or not run.looked_at_every_epoch:
            return None
        others = [r for r in self.runs
                  if is_yasa(r) != is_yasa(run) and r.looked_at_every_epoch]
        if not others:
            return None
        model, peer = (others[-1], run) if is_yasa(run) else (run, others[-1])
        return cross_check(model.hypnogram, peer.hypnogram, name="YASA")

    def technician_agreement(self, other: Hypnogram) -> Agreement:
        return agreement(self._tech, other)

    def _read_import(self, path: str | os.PathLike, *, unknown: str = "unscored",
                     fit: bool = True) -> Hypnogram:
        from app.core.formats import read_hypnogram
        from app.core.scoring.fitting import FitRefused, plan_fit

        name = Path(path).name
        try:
            hyp = read_hypnogram(path, unknown=unknown)
        except FormatError as err:
            if unknown != "raise":
                raise
            read_hypnogram(path, unknown="unscored")  # fails too: not about labels
            # keep what is wrong and where; the advice is the question's own
            first = re.split(r"; read with unknown=| Use W, ", str(err))[0].rstrip(".")
            raise UnknownLabelsRefused(
                f"{first}. Import every epoch with a label PSG Lens does not know as "
                "Unscored, or cancel and fix the file.") from None
        if abs(hyp.epoch_sec - self.epoch_sec) > 1e-9:  # e.g. 20-s R&K epochs
            hyp = hyp.resample(self.epoch_sec)
        plan = plan_fit(hyp, self.recording.start_time, self.n_epochs, name=name)
        if not plan.exact:
            if not fit:
                raise FitRefused(f"{plan.sentence(name)} Fit it that way, or cancel and "
                                 "give the hypnogram of this study.", plan)
            hyp = hyp.align(self.recording.start_time, self.recording.duration_sec)
        hyp.scorer = hyp.scorer or name
        hyp.meta["path"] = str(path)
        return hyp

    def import_hypnogram(self, path: str | os.PathLike, *, unknown: str = "raise",
                         fit: bool = False) -> Hypnogram:
        """Read another scorer's hypnogram onto this night and keep it (its path too, so
        a reopened session shows it again). Stages are never touched.

        Never silent: a label PSG Lens does not know raises :class:`UnknownLabelsRefused`
        unless ``unknown="unscored"``; a hypnogram of another length or start raises
        :class:`~app.core.scoring.fitting.FitRefused` (with the numbers) unless ``fit``
        (crop what lies outside the study, pad the rest with Unscored). One that shares
        no epoch with the study is always refused."""
        hyp = self._read_import(path, unknown=unknown, fit=fit)
        self.imported.append(hyp)
        self.session.set_state("imports", [h.meta["path"] for h in self.imported])
        self.events.imported()
        return hyp

    def remove_import(self, index: int) -> None:
        del self.imported[index]
        self.session.set_state("imports", [h.meta["path"] for h in self.imported])
        self.events.imported()

    # -- channels -------------------------------------------------------------------------
    @property
    def channel_map(self) -> dict:
        return dict(self.session.channel_map or {})

    def slot_sources(self) -> dict:
        return self.recording.fill_slots(AASM_SLOTS, self.channel_map or None)

    def mapping_questions(self) -> list[str]:
        """Why the channel mapping should be checked (empty once the user confirmed it)."""
        if self.session.channel_map is not None:
            return []
        out = []
        for key, src in self.slot_sources().items():
            if src is not None and src.quality == "guessed":
                out.append(f"{key}: {src.plus!r} was guessed from a generic name")
            elif src is None and key in ("frontal", "central", "occipital"):
                out.append(f"{key}: no EEG channel found")
        return out

    def set_channel_map(self, mapping: dict) -> None:
        clean = {k: v for k, v in mapping.items() if v}
        self.recording.fill_slots(AASM_SLOTS, clean)  # a bad name raises before saving
        self.session.set_channel_map(clean)
        self.events.channel_map(channel_map=clean)

    # -- explanations ---------------------------------------------------------------------
    def set_explanation(self, epoch: int, heat: np.ndarray, spec: RenderSpec, *,
                        method: str = "", bin_sec: float = 1.0) -> Explanation:
        """Keep a heatmap for ``epoch`` (over ``spec``'s image) and map it to channels."""
        from app.core.signals.render import layout

        heat = np.asarray(heat, dtype=float)
        if heat.shape != (spec.height, spec.width):
            raise ValueError(f"The heatmap is {heat.shape}, the model's image is "
                             f"{(spec.height, spec.width)}.")
        grid, starts = layout(spec).channel_time_grid(heat, bin_sec)
        self.explanation = Explanation(int(epoch), heat, spec, grid, starts, bin_sec, method,
                                       self.active_run_id)
        self.events.explanation(epoch=int(epoch))
        return self.explanation

    def explanation_for(self, epoch: int | None = None) -> Explanation | None:
        """The heatmap to show for ``epoch``: only one of the active run's model, on an
        epoch that run staged (never under a YASA verdict or an Unscored epoch)."""
        epoch = self._epoch if epoch is None else epoch
        ex, run = self.explanation, self.active_run
        if ex is None or ex.epoch != epoch or run is None or run.spec is None:
            return None
        if ex.run_id is not None and ex.run_id != run.run_id:
            return None
        return ex if run.hypnogram.stages[epoch] >= 0 else None


def _spec_or_none(text: str) -> RenderSpec | None:
    try:
        return RenderSpec.from_json(text)
    except SpecError:  # a YASA run has no picture
        return None

