"""The controller: opens studies, drives the model worker, imports and exports.

It holds no widget. It turns every error a user can cause into one sentence on the
``error`` signal (the main window shows it in a dialog) and leaves the open study and
its session exactly as they were. Model batches arrive from the worker as queued
signals and go into the workspace (and so into the session) on the GUI thread.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from app.config import Settings, load_settings, save_settings
from app.core.scoring.hypnogram import Hypnogram
from app.core.signals.render_spec import RenderSpec
from app.core.workspace import Workspace
from app.errors import ModelError, PSGLensError, TruncatedStudyError
from app.gui.workers import EngineRequest, ModelWorker

log = logging.getLogger(__name__)

AUTOSAVE_MS = 2000
EXPLAIN_DELAY_MS = 400


def embedded_model_path() -> Path:
    from app.resources import resource_path

    return resource_path("models", "default")


def _not_saved(what: str, err: BaseException) -> str:
    why = str(err) if isinstance(err, PSGLensError) else (
        getattr(err, "strerror", None) or str(err) or type(err).__name__)
    return (f"{what} ({why}). Every edit made so far is in the session file; free disk "
            "space to save the rest.")


class Controller(QObject):
    workspace_changed = Signal(object)   # Workspace or None
    error = Signal(str)                  # one sentence for a dialog
    message = Signal(str)                # status-bar text
    progress = Signal(int, int, float)   # done, total (0: idle), epochs/s
    model_changed = Signal()             # the chosen bundle changed
    mapping_needed = Signal(object)      # list of reasons to check the channel map
    night_ready = Signal(object)         # the study's Spectrogram (night features cached)
    night_failed = Signal(str)

    def __init__(self, settings: Settings | None = None, *, engine_factory=None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings if settings is not None else load_settings()
        self.workspace: Workspace | None = None
        # ask(question) -> bool: open the complete part of a file cut short? The window
        # shows a box; without it such a file is refused with the sentence saying why
        self.ask_truncated: Callable[[str], bool] | None = None
        self.worker = ModelWorker(engine_factory, self)
        self.worker.started.connect(self._on_started)
        self.worker.batch.connect(self._on_batch)
        self.worker.finished.connect(self._on_finished)
        self.worker.failed.connect(self._on_failed)
        self.worker.status.connect(self.message)
        self.worker.explained.connect(self._on_explained)
        self.worker.explain_failed.connect(self._on_explain_failed)
        self.worker.worded.connect(self._on_worded)
        self.worker.words_failed.connect(self._on_words_failed)
        self.worker.detected.connect(self._on_detected)
        self.worker.night_ready.connect(self._on_night_ready)
        self.worker.night_failed.connect(self._on_night_failed)
        self._night_job: tuple[int, Workspace] | None = None
        self.worker.detect_failed.connect(self._on_detect_failed)
        self._detect_job: tuple[int, Workspace] | None = None
        self._words_job: tuple[int, int, int] | None = None   # job, run, epoch
        self.explain_enabled = True
        self._explain_job: int | None = None
        # explain the epoch the technician stops on, not every epoch flipped past
        self._explain_timer = QTimer(self, singleShot=True, interval=EXPLAIN_DELAY_MS)
        self._explain_timer.timeout.connect(self.request_explanation)
        self._jobs: dict[int, dict] = {}
        self._bundle_cache: tuple[str, object, str] | None = None
        self._autosave = QTimer(self, interval=AUTOSAVE_MS)
        self._autosave.timeout.connect(self.save_state)
        if engine_factory is None and self.model_status()[0] in ("ok", "synthetic"):
            self.worker.warm_up(str(self.bundle().card.get("architecture", "")))

    # -- studies ------------------------------------------------------------------------
    def open_study(self, path: str | Path) -> bool:
        """Open a study; on failure say why and keep whatever was open."""
        path = Path(path).expanduser()
        ws = self.workspace
        if ws is not None and path.resolve() == ws.path.resolve():
            return True
        s = self.settings
        cut_short = False
        try:
            # a colleague's open study opens for review (read-only), not refused
            try:
                new = Workspace.open(path, who=s.scorer or None,
                                     low_confidence=s.low_confidence,
                                     auto_advance=s.auto_advance, review_if_locked=True)
            except TruncatedStudyError as err:  # a copy cut short, a recorder that stopped
                if self.ask_truncated is None or not self.ask_truncated(
                        f"{err.what} It may be a copy cut short or a recording that stopped. "
                        "Open the part that is there? Only that part can be scored; copy "
                        "the complete file again for the whole night."):
                    raise
                cut_short = True
                new = Workspace.open(path, who=s.scorer or None,
                                     low_confidence=s.low_confidence,
                                     auto_advance=s.auto_advance, review_if_locked=True,
                                     allow_truncated=True)
        except PSGLensError as err:
            self.error.emit(str(err))
            return False
        except OSError as err:
            self.error.emit(f"Cannot open {path.name}: {err.strerror or err}.")
            return False
        self.close_study()
        if cut_short:  # the worker's jobs read the same complete part
            self.worker.allow_truncated(str(new.path))
        self.workspace = new
        new.events.epoch.connect(lambda ev: self._explain_soon())
        new.events.runs.connect(lambda ev: self._explain_soon())
        s.add_recent(path)
        self.save_settings()
        self.workspace_changed.emit(new)
        self._autosave.start()
        # the spectrogram and the night's chin levels: once per study, in the worker
        self._night_job = (self.worker.submit_night(str(new.path), new.channel_map or None),
                           new)
        for note in new.notes:
            self.message.emit(note)
        questions = new.mapping_questions()
        if questions:
            self.mapping_needed.emit(questions)
        return True

    def close_study(self) -> None:
        ws = self.workspace
        if ws is None:
            return
        for job_id, job in self._jobs.items():
            if job["ws"] is ws:
                self.worker.cancel(job_id)
        self.worker.cancel_explain()
        self._explain_job = None
        self._autosave.stop()
        self.workspace = None
        try:
            ws.close()
        except (PSGLensError, sqlite3.Error, OSError) as err:
            self.error.emit(_not_saved("Closing the session could not store your position",
                                       err))
        self.workspace_changed.emit(None)
        self.progress.emit(0, 0, 0.0)

    def save_state(self) -> None:
        ws = self.workspace
        if ws is not None and not ws.session.closed:
            try:
                ws.save_state()
            except (PSGLensError, sqlite3.Error, OSError) as err:
                # a full disk: say so once and keep scoring; edits report their own failure
                self._autosave.stop()
                self.error.emit(_not_saved("Your position and view were not saved", err))

    def save(self) -> str:
        """Ctrl+S: edits are already on disk; store the position too and say so."""
        ws = self.workspace
        if ws is None:
            return ""
        ws._state_dirty = True  # force a write: the user asked for one
        self.save_state()
        text = (f"Saved. Every edit is written to {ws.session.path.name} the moment it is "
                "made; this also stored your position.")
        self.message.emit(text)
        return text

    # -- model bundles ------------------------------------------------------------------
    def bundle_path(self) -> Path:
        return Path(self.settings.default_bundle).expanduser() if self.settings.default_bundle \
            else embedded_model_path()

    def bundle(self):
        """The chosen bundle (validated, weights not loaded), or None; cached."""
        from app.core.inference.bundle import load_bundle

        path = str(self.bundle_path())
        if self._bundle_cache is None or self._bundle_cache[0] != path:
            try:
                self._bundle_cache = (path, load_bundle(path), "")
            except ModelError as err:
                self._bundle_cache = (path, None, str(err))
        return self._bundle_cache[1]

    def model_status(self) -> tuple[str, str]:
        """("none" | "error" | "synthetic" | "ok", one sentence for the banner)."""
        bundle = self.bundle()
        if bundle is None:
            if not self.settings.default_bundle and not self.bundle_path().exists():
                return ("none", "No model is installed: score by hand, or choose a model "
                                "bundle in Model > Model manager.")
            return ("error", self._bundle_cache[2])
        if bundle.card.get("synthetic_only"):
            return ("synthetic", f"Model {bundle.name} was trained on synthetic signals only "
                                 "and is not validated on patients: it shows how PSG Lens "
                                 "works, it must not be used to score patients.")
        return ("ok", f"Model: {bundle.name} {bundle.version}")

    def set_bundle(self, path: str) -> None:
        self.settings.default_bundle = str(path)
        self._bundle_cache = None
        self.save_settings()
        self.model_changed.emit()

    def model_spec(self) -> RenderSpec | None:
        bundle = self.bundle()
        return None if bundle is None else bundle.spec

    # -- model runs -----------------------------------------------------------------------
    def run_model(self, epochs: list[int] | None = None, *, kind: str = "vlm") -> int | None:
        """Start a run (whole night, or ``epochs``) in the worker; returns the job id."""
        ws = self.workspace
        if ws is None:
            self.error.emit("Open a study first.")
            return None
        if ws.read_only:  # its results could not be stored: say so before any work
            self.error.emit(f"This study is open read-only ({ws.read_only}); a model run "
                            "could not be saved. Copy the study and its .psglens file to a "
                            "folder you can write to, to run the model.")
            return None
        if self.worker.busy:
            self.message.emit("A model is already running; cancel it first (Esc).")
            return None
        if kind == "vlm":
            bundle = self.bundle()
            if bundle is None:
                self.error.emit(self.model_status()[1])
                return None
            request = self._vlm_request(str(bundle.path))
        else:
            request = EngineRequest(kind)
        job = self.worker.submit(request, str(ws.path), epochs=epochs,
                                 channel_map=ws.channel_map or None)
        self._jobs[job] = {"ws": ws, "run_id": None, "epochs": epochs}
        self.progress.emit(0, len(epochs) if epochs is not None else ws.n_epochs, 0.0)
        return job

    def _vlm_request(self, bundle: str) -> EngineRequest:
        b = self.bundle()
        mode = None  # one-picture models have one way to be asked
        if b is not None and b.layout is not None:
            mode = self.settings.answer_mode or b.answer.default_mode
        return EngineRequest("vlm", bundle, self.settings.device, self.settings.batch_size,
                             mode, fuse=self.settings.fuse_weak_leads)

    def cancel_run(self) -> None:
        if self.worker.busy:
            self.worker.cancel()
            self.message.emit("Stopping the model after this batch; what it scored is kept.")

    def _job(self, job_id: int) -> dict | None:
        job = self._jobs.get(job_id)
        if job is None or job["ws"] is not self.workspace or self.workspace.session.closed:
            return None  # a run of a study that was closed meanwhile
        return job

    def _on_started(self, job_id: int, info: dict) -> None:
        job = self._job(job_id)
        if job is None:
            return
        spec = RenderSpec.from_json(info["spec_json"]) if info.get("spec_json") else None
        epochs = job["epochs"]
        meta = {"bundle": info.get("bundle", ""), "engine": info.get("kind", "vlm"),
                "synthetic_only": bool(info.get("synthetic_only")),
                "range": None if epochs is None else [min(epochs), max(epochs)]}
        if info.get("input_check"):
            meta["input_check"] = info["input_check"]
        if info.get("missing"):
            meta["missing"] = info["missing"]  # which rows are dashed, and what that costs
        if info.get("advice"):
            meta["advice"] = info["advice"]  # a scorer the card measured better here
        if info.get("smoothing"):
            meta["smoothing"] = info["smoothing"]  # shown stages use the whole night
        if info.get("mode"):  # a chat model: how it was asked, and what it cannot stage
            meta["mode"] = info["mode"]
            meta["layout_context"] = info.get("layout_context")
        try:
            job["run_id"] = job["ws"].start_run(info["name"], spec, meta)
        except PSGLensError as err:
            self.worker.cancel(job_id)
            self.error.emit(str(err))
            return
        summary = job["ws"].run(job["run_id"]).check_summary()
        if summary and "no problems" not in summary:
            self.message.emit(summary + " The model view shows the sentence for each epoch; "
                              "psg-lens check lists them all.")

    def _on_batch(self, job_id: int, epochs, probs, done: int, total: int, rate: float,
                  answers=None) -> None:
        job = self._job(job_id)
        if job is None or job["run_id"] is None:
            return
        try:
            job["ws"].add_model_batch(job["run_id"], epochs, probs, answers)
        except PSGLensError as err:
            self.worker.cancel(job_id)
            self.error.emit(str(err))
            return
        self.progress.emit(done, total, rate)

    def _on_finished(self, job_id: int, info: dict) -> None:
        job = self._jobs.pop(job_id, None)
        self.progress.emit(0, 0, 0.0)
        if job is None or job["ws"] is not self.workspace or job["run_id"] is None:
            return
        stopped = bool(info.get("stopped"))
        job["ws"].finish_run(job["run_id"], stopped=stopped)
        done = int(info.get("done", 0))
        self.message.emit(f"Model run stopped; the {done} epochs it scored are kept."
                          if stopped else
                          f"Model run finished: {done} epochs at {info.get('rate', 0):.1f} "
                          "epochs/s.")
        for note in info.get("notices", []):
            self.message.emit(note)

    def _on_failed(self, job_id: int, text: str) -> None:
        self._jobs.pop(job_id, None)
        self.progress.emit(0, 0, 0.0)
        self.error.emit(text)

    # -- explanations -----------------------------------------------------------------------
    def set_explain_enabled(self, on: bool) -> None:
        """The heatmap toggle (E): off cancels, on explains the current epoch."""
        self.explain_enabled = bool(on)
        if on:
            self._explain_soon()
        else:
            self._explain_timer.stop()
            self.worker.cancel_explain()

    def _explain_soon(self) -> None:
        if self.explain_enabled and self.workspace is not None:
            self.worker.cancel_explain()
            self._explain_timer.start()

    def request_explanation(self, epoch: int | None = None, *, method: str = "",
                            stage: str | None = None) -> int | None:
        """Explain ``epoch`` (default: the current one) with the active run's bundle."""
        ws = self.workspace
        if ws is None or ws.session.closed:
            return None
        run = ws.active_run
        bundle = (run.meta.get("bundle") if run is not None and run.spec is not None
                  else None)
        if not bundle:
            return None  # no picture-reading model run yet (or a YASA run): nothing to show
        epoch = ws.epoch if epoch is None else int(epoch)
        if run.hypnogram.stages[epoch] < 0:
            return None  # the run did not stage it (not yet, or refused): nothing to explain
        if ws.explanation_for(epoch) is not None and not (method or stage):
            return None
        if stage is None and run.meta.get("engine") == "fused":
            from app.core.scoring.stages import STAGE_LABELS

            # the stage shown came from the model and YASA: show what in the model's
            # picture speaks for it, not for the stage the picture alone would give
            stage = STAGE_LABELS[int(run.hypnogram.stages[epoch])]
        request = EngineRequest("vlm", str(bundle), self.settings.device,
                                self.settings.batch_size, run.mode)  # the run's own engine
        self._explain_job = self.worker.submit_explain(
            request, str(ws.path), epoch, method=method or self.settings.explain_method,
            stage=stage, channel_map=ws.channel_map or None)
        return self._explain_job

    def _on_explained(self, job_id: int, epoch: int, heat, spec_json: str, info: dict) -> None:
        ws = self.workspace
        if job_id != self._explain_job or ws is None or ws.session.closed:
            return  # a request that was replaced, or a study closed meanwhile
        ws.set_explanation(epoch, heat, RenderSpec.from_json(spec_json),
                           method=str(info.get("method", "")))
        top = ", ".join(info.get("top", [])[:2])
        self.message.emit(f"Epoch {epoch + 1}: {info.get('stage')} — what mattered most: "
                          f"{top or 'no single region'} ({info.get('method')}, "
                          f"{info.get('seconds', 0):.1f} s).")

    def _on_explain_failed(self, job_id: int, text: str) -> None:
        if job_id == self._explain_job:
            self.message.emit(f"No heatmap: {text}")

    def _on_night_ready(self, job_id: int, spec) -> None:
        job = self._night_job
        if job is not None and job[0] == job_id and job[1] is self.workspace:
            self.night_ready.emit(spec)

    def _on_night_failed(self, job_id: int, text: str) -> None:
        job = self._night_job
        if job is not None and job[0] == job_id and job[1] is self.workspace:
            self.night_failed.emit(text)

    # -- event detectors --------------------------------------------------------------------
    def detect_events(self) -> int | None:
        """Run the event detectors in the worker; their events arrive for review."""
        ws = self.workspace
        if ws is None:
            self.error.emit("Open a study first.")
            return None
        if ws.read_only:
            self.error.emit(f"This study is open read-only ({ws.read_only}); detected "
                            "events could not be saved.")
            return None
        job = self.worker.submit_detect(str(ws.path), ws.staging_for_events(),
                                        hypopnea_rule=self.settings.hypopnea_rule)
        self._detect_job = (job, ws)
        self.message.emit("Detecting events (desaturations, apneas and hypopneas, limb "
                          "movements, arousals)…")
        return job

    def _on_detected(self, job_id: int, result) -> None:
        job, self._detect_job = self._detect_job, None
        ws = self.workspace
        if job is None or job[0] != job_id or job[1] is not ws or ws.session.closed:
            return  # the study was closed or another detection replaced this one
        from app.core.scoring.events import EventSource

        try:
            old = [i for i, e in ws.events_list if e.source == EventSource.DETECTOR]
            if old:  # a new detection replaces the proposals still waiting for review
                ws.delete_events(old, reason="replaced by a new detection")
            if result.events:
                ws.add_events(result.events, reason="detected")
        except (PSGLensError, sqlite3.Error, OSError) as err:
            self.error.emit(_not_saved("The detected events were not saved", err))
            return
        counts: dict[str, int] = {}
        for e in result.events:
            counts[e.type.label.lower()] = counts.get(e.type.label.lower(), 0) + 1
        found = ", ".join(f"{n} {k}" for k, n in counts.items()) or "nothing"
        self.message.emit(f"The detectors proposed {found}; review them in the Events tab "
                          "(decision support: they count in no index until accepted).")
        for text in [*result.skipped, *result.notes]:
            self.message.emit(text)

    def _on_detect_failed(self, job_id: int, text: str) -> None:
        if self._detect_job is not None and self._detect_job[0] == job_id:
            self._detect_job = None
            self.error.emit(text)

    # -- a chat model's words -----------------------------------------------------------------
    def request_words(self, epoch: int | None = None) -> int | None:
        """Ask the active run's chat model to write its rationale for ``epoch`` (default:
        the current one), e.g. after a fast run. Cancel with :meth:`cancel_words`."""
        ws = self.workspace
        run = ws.active_run if ws is not None and not ws.session.closed else None
        if run is None or not run.mode or not run.meta.get("bundle"):
            self.message.emit("Only a model that answers in words (SleepVLM) writes a "
                              "rationale; run one first.")
            return None
        epoch = ws.epoch if epoch is None else int(epoch)
        request = EngineRequest("vlm", run.meta["bundle"], self.settings.device,
                                self.settings.batch_size, run.mode)
        job = self.worker.submit_words(request, str(ws.path), epoch,
                                       channel_map=ws.channel_map or None)
        self._words_job = (job, run.run_id, epoch)
        self.message.emit(f"The model is writing its rationale for epoch {epoch + 1}…")
        return job

    def cancel_words(self) -> None:
        if self._words_job is not None:
            self.worker.cancel_words()
            self._words_job = None
            self.message.emit("Stopped writing the rationale.")

    @property
    def words_pending(self) -> int | None:
        """The epoch a rationale is being written for, or None."""
        return None if self._words_job is None else self._words_job[2]

    def _on_worded(self, job_id: int, epoch: int, answer: dict, probs) -> None:
        ws = self.workspace
        if self._words_job is None or self._words_job[0] != job_id or ws is None \
                or ws.session.closed:
            return
        run_id = self._words_job[1]
        self._words_job = None
        if run_id not in {r.run_id for r in ws.runs}:
            return
        try:
            ws.add_answers(run_id, {epoch: {**answer, "mode": "rationale (on demand)"}})
        except PSGLensError as err:
            self.error.emit(str(err))

    def _on_words_failed(self, job_id: int, text: str) -> None:
        if self._words_job is not None and self._words_job[0] == job_id:
            self._words_job = None
            self.message.emit(f"No rationale: {text}")
            if self.workspace is not None and not self.workspace.session.closed:
                self.workspace.events.answers(run_id=None, epochs=[])

    # -- other scorers ----------------------------------------------------------------------
    def import_hypnogram(self, path: str | Path, ask=None) -> Hypnogram | None:
        """Import another scorer's hypnogram. Unknown labels and a length or start that
        does not match the study are asked about: ``ask(question) -> bool`` (the window
        shows a box); without ``ask`` they are refused with the same sentence."""
        from app.core.scoring.fitting import FitRefused
        from app.core.workspace import UnknownLabelsRefused

        if self.workspace is None:
            self.error.emit("Open a study first.")
            return None
        options: dict = {}
        while True:
            try:
                hyp = self.workspace.import_hypnogram(path, **options)
                break
            except (UnknownLabelsRefused, FitRefused) as question:
                if ask is None:
                    self.error.emit(str(question))
                    return None
                if not ask(str(question)):
                    self.message.emit(f"Import of {Path(path).name} cancelled; nothing "
                                      "changed.")
                    return None
                if isinstance(question, UnknownLabelsRefused):
                    options["unknown"] = "unscored"
                else:
                    options["fit"] = True
            except PSGLensError as err:
                self.error.emit(str(err))
                return None
        fitted = "; fitted onto the study" if options.get("fit") else ""
        self.message.emit(f"Imported {Path(path).name} ({hyp.scorer}){fitted}.")
        return hyp

    # -- export ---------------------------------------------------------------------------
    def hypnogram_for_export(self, which: str | int = "technician", *,
                             include_probabilities: bool = True,
                             anonymise: bool = False) -> Hypnogram:
        """See :meth:`Workspace.hypnogram_for_export` (it names the run behind the
        probabilities)."""
        if self.workspace is None:
            raise PSGLensError("Open a study first.")
        return self.workspace.hypnogram_for_export(
            which, include_probabilities=include_probabilities, anonymise=anonymise)

    def export_hypnogram(self, path: str | Path, fmt: str | None = None, *,
                         which: str | int = "technician", include_probabilities: bool = True,
                         anonymise: bool = False) -> bool:
        from app.core.formats import write_hypnogram

        path = Path(path)
        try:
            hyp = self.hypnogram_for_export(which, include_probabilities=include_probabilities,
                                            anonymise=anonymise)
            write_hypnogram(hyp, path, format=fmt, include_probabilities=include_probabilities)
        except PSGLensError as err:
            self.error.emit(str(err))
            return False
        except OSError as err:
            self.error.emit(f"Cannot write {path.name}: {err.strerror or err}.")
            return False
        what = "technician's" if which == "technician" else f"model run {which}'s"
        self.message.emit(f"Exported the {what} hypnogram to {path}.")
        return True

    def import_events(self, path: str | Path) -> list[int] | None:
        """Add a file's scored events (never its stages); one undo step."""
        ws = self.workspace
        if ws is None:
            self.error.emit("Open a study first.")
            return None
        try:
            ids = ws.import_events(path)
        except (PSGLensError, sqlite3.Error, OSError) as err:
            self.error.emit(str(err) if isinstance(err, PSGLensError) else
                            f"Cannot import {Path(path).name}: {err}.")
            return None
        if ids:
            self.message.emit(f"Imported {len(ids)} events from {Path(path).name}; your "
                              "stages are unchanged (Ctrl+Z takes the import back).")
        return ids

    def export_events(self, path: str | Path, fmt: str | None = None, *,
                      detected: bool = False) -> bool:
        """Write the study's events (the detector's unreviewed ones only if asked)."""
        from app.core.scoring.events import EventSource

        ws = self.workspace
        if ws is None:
            self.error.emit("Open a study first.")
            return False
        sources = [s for s in EventSource if detected or s != EventSource.DETECTOR]
        path = Path(path)
        try:
            n = ws.export_events(path, fmt, sources=sources)
        except PSGLensError as err:
            self.error.emit(str(err))
            return False
        except OSError as err:
            self.error.emit(f"Cannot write {path.name}: {err.strerror or err}.")
            return False
        self.message.emit(f"Exported {n} events to {path}.")
        return True

    def report_inputs(self, anonymise: bool = False) -> dict:
        ws = self.workspace
        if ws is None:
            raise PSGLensError("Open a study first.")
        start = ws.recording.start_time
        study = {"recording": ws.path.name,
                 "study_date": start.strftime("%Y-%m-%d %H:%M") if start else "unknown"}
        run = ws.active_run
        info = None
        if run is not None:
            info = {"name": run.bundle_id, "run": run.describe(),
                    "synthetic_only": bool(run.meta.get("synthetic_only"))}
            # a scorer measured better with these channels, a night unlike any real one
            # and where YASA stages the night otherwise are said on paper too
            cautions = [c for c in (run.meta.get("advice", ""), run.night_warning()) if c]
            check = ws.cross_check()
            if check is not None and check.n_disagree:
                cautions.append(check.sentence(
                    "the window's model view names YASA's stage on each such epoch"))
            if cautions:
                info["caution"] = " ".join(cautions)
        return dict(study=study, anonymise=anonymise, model_hypnogram=ws.model,
                    model_info=info, scorers=[ws.scorer],
                    stage_colors=dict(self.settings.stage_colors),
                    events=[e for _, e in ws.events_list],
                    **ws.lights.statistics_kwargs())  # the recording period the tech set

    def write_report(self, path: str | Path, *, anonymise: bool = False) -> bool:
        from app.core.report import write_report

        path = Path(path)
        try:
            write_report(path, self.workspace.technician, **self.report_inputs(anonymise))
        except PSGLensError as err:
            self.error.emit(str(err))
            return False
        except OSError as err:
            self.error.emit(f"Cannot write the report {path.name}: {err.strerror or err}.")
            return False
        except AttributeError:
            self.error.emit("Open a study first.")
            return False
        self.message.emit(f"Wrote the report {path}.")
        return True

    # -- settings and shutdown ---------------------------------------------------------------
    def save_settings(self) -> None:
        try:
            save_settings(self.settings)
        except OSError as err:
            self.message.emit(f"Settings not saved: {err.strerror or err}.")

    def apply_settings(self) -> None:
        ws = self.workspace
        if ws is not None:
            ws.low_confidence = self.settings.low_confidence
            ws.auto_advance = self.settings.auto_advance
            ws.set_scorer(self.settings.scorer)  # the audit trail names who scores now
            ws.events.model(run_id=ws.active_run_id, start=0, stop=ws.n_epochs)
        self._bundle_cache = None
        self.save_settings()
        self.model_changed.emit()

    def shutdown(self) -> None:
        self.close_study()
        if not self.worker.shutdown():
            log.warning("the model worker did not stop in time")
        self.save_settings()
