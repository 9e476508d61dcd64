"""The one long-lived model worker: a QThread that owns the engines.

The GUI thread never touches a model. It submits a :class:`RunJob`; the worker loads
the engine (kept for the next run), drives ``engine.predict`` and emits every batch as
a queued signal. Cancelling sets a flag that ``predict`` checks between batches, so
what was scored before the cancel is kept. Errors come back as one sentence.

Signals (all received in the GUI thread):
``started(job_id, info)``, ``batch(job_id, epochs, probabilities, done, total, rate,
answers)`` (answers: what a chat model wrote per epoch, or None), ``finished(job_id,
info)``, ``failed(job_id, message)``, ``status(text)``; and for a rationale written on
demand, ``worded(job_id, epoch, answer, probabilities)`` / ``words_failed(job_id, text)``.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from app.errors import PSGLensError
from app.gui.actions import BINDINGS

log = logging.getLogger(__name__)

def _menu_words(name: str) -> str:
    """A key-map action as the window names it: "Model > Second opinion from YASA, Ctrl+Shift+Y"."""
    b = BINDINGS[name]
    return f"{b.group} > {b.text}" + (f", {b.keys[0]}" if b.keys else "")


# the notices' CLI commands, said as the window's menu items
WINDOW_COMMANDS = {"psg-lens score --engine yasa": _menu_words("yasa")}

OUT_OF_MEMORY = ("The model ran out of memory; choose a smaller batch size or the CPU "
                 "in Settings and run it again (what was scored is kept).")


@dataclass(frozen=True)
class EngineRequest:
    """Which engine: ``kind`` "vlm" (a bundle folder) or "yasa"."""

    kind: str = "vlm"
    bundle: str = ""
    device: str = "auto"
    batch_size: int = 16
    mode: str | None = None       # chat models: rationale | fast (None: the card's)
    fuse: bool = True             # fused with YASA where the card says (auto.fusion_reason)

    @property
    def key(self) -> tuple:
        return (self.kind, self.bundle, self.device, self.batch_size, self.mode)


@dataclass
class RunJob:
    job_id: int
    request: EngineRequest
    study: str
    epochs: list[int] | None = None
    channel_map: dict | None = None
    stop: threading.Event = field(default_factory=threading.Event)


@dataclass
class ExplainJob:
    """A saliency map for one epoch, computed by the same engine as the run."""

    job_id: int
    request: EngineRequest
    study: str
    epoch: int
    method: str = "ablation"
    stage: str | None = None
    channel_map: dict | None = None
    stop: threading.Event = field(default_factory=threading.Event)


@dataclass
class WordsJob:
    """A chat model's written answer for one epoch, asked on demand (cancellable)."""

    job_id: int
    request: EngineRequest
    study: str
    epoch: int
    channel_map: dict | None = None
    stop: threading.Event = field(default_factory=threading.Event)


@dataclass
class DetectJob:
    """The event detectors over a whole study (seconds, not minutes: no cancel)."""

    job_id: int
    study: str
    hypnogram: object | None = None   # the stages arousals are scored against
    hypopnea_rule: str = "1A"


@dataclass
class NightJob:
    """Whole-night features of a study, computed once and cached: the spectrogram and
    the chin EMG level of every epoch (the evidence panel compares the epoch with it)."""

    job_id: int
    study: str
    channel_map: dict | None = None


_TORCH_LIMITED = False
_FAILED = object()  # what _Worker._attempt returns when the job did not get through


def _leave_a_core_for_the_gui() -> None:
    """Torch uses every core by default; one stays free so the window keeps up."""
    global _TORCH_LIMITED
    if _TORCH_LIMITED:
        return
    import torch

    torch.set_num_threads(max(1, (os.cpu_count() or 2) - 1))
    _TORCH_LIMITED = True


def _yasa_child(conn, study: str, override: dict | None, epochs: list[int] | None,
                truncated: bool = False) -> None:
    """In the child process: score with YASA, send ("ok", result) or ("error", text)."""
    try:
        from app.core.inference.yasa_engine import YasaEngine
        from app.core.signals.recording import Recording

        engine = YasaEngine()
        hyp = engine.score(Recording.open(study, allow_truncated=truncated), epochs=epochs,
                           sources=override or None)
        conn.send(("ok", (hyp.probabilities, engine.name, list(engine.notices))))
    except PSGLensError as err:
        conn.send(("error", str(err)))
    except Exception as err:  # anything else, as one sentence
        conn.send(("error", f"YASA could not stage this study: {err}"))
    finally:
        conn.close()


class SubprocessYasa:
    """The YASA second opinion, run in a child process.

    Measured in a thread: importing yasa (mne, lightgbm) and its numba-compiled features
    hold the GIL for up to 560 ms at a time, freezing the window. A child process has
    its own GIL. YASA scores the whole night at once, so there is one batch to send back.
    """

    def __init__(self) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            self.name = f"yasa/{version('yasa')}"
        except PackageNotFoundError:
            if getattr(sys, "frozen", False):  # a standalone build made with --no-yasa
                raise PSGLensError("This PSG Lens build was made without YASA, so it has "
                                   "no second opinion; use a build made with it.") from None
            raise PSGLensError("The YASA second opinion needs the yasa package, which is "
                               "not installed; install it with 'pip install yasa'.") from None
        self.notices: list[str] = []
        self.spec = None

    def predict(self, recording, *, epochs=None, progress=None, should_stop=None,
                sources=None):
        import multiprocessing

        from app.core.inference.engine import EpochBatchResult

        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_yasa_child, daemon=True, name="psg-lens-yasa",
                           args=(child, str(recording.path), dict(sources or {}),
                                 None if epochs is None else [int(e) for e in epochs],
                                 bool(getattr(recording, "truncated", False))))
        proc.start()
        child.close()
        try:
            while not parent.poll(0.2):
                if should_stop is not None and should_stop():
                    return None
                if not proc.is_alive() and not parent.poll(0):
                    raise PSGLensError(f"YASA stopped unexpectedly (its process exited "
                                       f"with code {proc.exitcode}); what was scored is kept.")
            status, payload = parent.recv()
        finally:
            if proc.is_alive():
                proc.terminate()
            proc.join(5)
            parent.close()
        if status == "error":
            raise PSGLensError(payload)
        probs, self.name, self.notices = payload
        idx = np.arange(recording.n_epochs) if epochs is None else np.asarray(epochs)
        yield EpochBatchResult(idx, probs[idx], done=len(idx), total=len(idx))
        return None

    def channels(self, recording, override=None) -> dict:
        """The leads YASA would read (a ModelError when it has no EEG), without yasa."""
        from app.core.inference.yasa_engine import read_channels

        return read_channels(recording, override)

    def score(self, recording, *, epochs=None, sources=None, should_stop=None):
        """The whole run as a Hypnogram (the fusion's peer, :mod:`app.core.inference.fusion`);
        ``should_stop`` ends the child at once (``meta["stopped"]``, nothing staged)."""
        from app.core.inference.engine import ScoreAccumulator

        acc, got = ScoreAccumulator(recording.n_epochs), False
        for result in self.predict(recording, epochs=epochs, sources=sources,
                                   should_stop=should_stop):
            acc.add(result)
            got = True
        return acc.hypnogram(recording, scorer=self.name,
                             meta={"engine": "yasa", "notices": list(self.notices),
                                   "stopped": not got})


def default_engine_factory(request: EngineRequest):
    """StageEngine for a bundle, YASA (in a child process) for the second opinion."""
    if request.kind == "yasa":
        return SubprocessYasa()
    if request.kind != "vlm":
        raise PSGLensError(f"Unknown engine kind {request.kind!r}.")
    from app.core.inference.engine import StageEngine

    _leave_a_core_for_the_gui()
    return StageEngine(request.bundle, device=request.device, batch_size=request.batch_size,
                       mode=request.mode)


class _Signals(QObject):
    """What the worker reports; the GUI-side handle relays the same signals."""

    warmed = Signal()
    started = Signal(int, object)
    batch = Signal(int, object, object, int, int, float, object)
    finished = Signal(int, object)
    failed = Signal(int, str)
    status = Signal(str)
    explained = Signal(int, int, object, str, object)  # job, epoch, heat, spec json, info
    explain_failed = Signal(int, str)
    worded = Signal(int, int, object, object)   # job, epoch, answer dict, probabilities
    words_failed = Signal(int, str)
    detected = Signal(int, object)               # job, DetectionResult
    detect_failed = Signal(int, str)
    night_ready = Signal(int, object)            # job, Spectrogram
    night_failed = Signal(int, str)


class _Worker(_Signals):

    def __init__(self, factory: Callable[[EngineRequest], object]) -> None:
        super().__init__()
        self._factory = factory
        self._engines: dict[tuple, object] = {}
        self._recording: tuple[str, object] | None = None
        # studies the technician chose to open although cut short (their complete part);
        # added from the GUI thread before any job for them is queued
        self.truncated_ok: set[str] = set()

    def _open(self, study: str):
        from app.core.signals.recording import Recording

        if self._recording is None or self._recording[0] != study:
            self._recording = (study, Recording.open(
                study, allow_truncated=study in self.truncated_ok))
        return self._recording[1]

    def _attempt(self, work: Callable[[], object], failed, job_id: int, stopped: str, *,
                 quiet: tuple[type[BaseException], ...] = ()) -> object:
        """``work()``, or :data:`_FAILED` with ``failed`` told why: a PSGLensError's
        sentence, anything else logged and said as "<stopped> with an unexpected error";
        ``quiet`` exceptions (a cancel) end the job without a word. The worker survives
        whatever a job does."""
        try:
            return work()
        except quiet:
            return _FAILED
        except PSGLensError as err:
            failed.emit(job_id, str(err))
        except Exception as err:  # noqa: BLE001 (the worker must outlive any job)
            log.exception("%s (job %s)", stopped, job_id)
            failed.emit(job_id, f"{stopped} with an unexpected error: {err}")
        return _FAILED

    @Slot(object)
    def explain(self, job: ExplainJob) -> None:
        """Explain one epoch; a newer request (or a closed study) cancels it quietly."""
        from app.core.explain import ExplainCancelled, explain_epoch

        if job.stop.is_set():
            return

        def work():
            engine = self._engine(job.request)
            if getattr(engine, "spec", None) is None:
                raise PSGLensError("This model draws no picture, so it has no heatmap.")
            self.status.emit(f"Explaining epoch {job.epoch + 1} ({job.method})…")
            return engine.spec, explain_epoch(
                engine, self._open(job.study), job.epoch, method=job.method,
                stage=job.stage, sources=job.channel_map or None,
                should_stop=job.stop.is_set)

        done = self._attempt(work, self.explain_failed, job.job_id,
                             "The explanation stopped", quiet=(ExplainCancelled,))
        if done is _FAILED:
            return
        spec, ex = done
        info = {"method": ex.method, "stage": ex.stage_label, "seconds": ex.seconds,
                "top": ex.top_regions}
        self.explained.emit(job.job_id, job.epoch, np.asarray(ex.heatmap, np.float32),
                            spec.to_json(), info)

    @Slot(object)
    def words(self, job: WordsJob) -> None:
        """Ask the run's chat model to write its answer for one epoch."""
        from app.core.inference.chat_readout import GenerationStopped

        if job.stop.is_set():
            return

        def work():
            engine = self._engine(job.request)
            if getattr(engine, "chat", None) is None:
                raise PSGLensError("This model answers with a label only; it writes no "
                                   "rationale.")
            self.status.emit(f"The model is writing about epoch {job.epoch + 1}…")
            return engine.answer_epoch(self._open(job.study), job.epoch,
                                       sources=job.channel_map or None,
                                       should_stop=job.stop.is_set)

        done = self._attempt(work, self.words_failed, job.job_id,
                             "The model stopped writing", quiet=(GenerationStopped,))
        if done is not _FAILED:
            probs, answer = done
            self.worded.emit(job.job_id, job.epoch, answer.to_dict(),
                             np.asarray(probs, np.float32))

    @Slot(object)
    def detect(self, job: DetectJob) -> None:
        """Run the event detectors; what they find goes back for review, never scored."""
        from app.core.detectors import detect_events

        def work():
            self.status.emit("Detecting events…")
            return detect_events(self._open(job.study), job.hypnogram,
                                 hypopnea_rule=job.hypopnea_rule)

        result = self._attempt(work, self.detect_failed, job.job_id,
                               "Event detection stopped")
        if result is not _FAILED:
            self.detected.emit(job.job_id, result)

    @Slot(object)
    def night(self, job: NightJob) -> None:
        """The spectrogram (cached per study) and the night's chin levels."""
        from app.core.scoring.evidence import evidence_sources, night_chin_rms
        from app.core.signals.spectrogram import night_spectrogram

        def work():
            rec = self._open(job.study)
            sources = evidence_sources(rec, job.channel_map or None)
            spec = night_spectrogram(rec, sources.get("spindles"))  # central first
            if sources.get("chin") is not None:
                night_chin_rms(rec, sources["chin"])  # cached: the evidence tab reads it
            return spec

        spec = self._attempt(work, self.night_failed, job.job_id,
                             "The spectrogram stopped")
        if spec is not _FAILED:
            self.night_ready.emit(job.job_id, spec)

    def _engine(self, request: EngineRequest):
        if request.key not in self._engines:
            self.status.emit("Loading the model…" if request.kind == "vlm"
                             else "Preparing YASA…")
            engine = self._factory(request)
            while len(self._engines) >= 2:  # keep memory bounded: two engines at most
                self._engines.pop(next(iter(self._engines)))
            self._engines[request.key] = engine
        return self._engines[request.key]

    @Slot(str)
    def warm_up(self, architecture: str) -> None:
        """Import torch, transformers and the model's classes here, before the first run.

        Measured: a first run spends 4 s importing (transformers loads its submodules
        lazily), and some imports hold the GIL for 200-300 ms at a stretch (extension
        modules initialising). Done at start-up the window is not yet in use; done at
        the first Run it would stutter while the user watches."""
        try:
            import torch  # noqa: F401
            import transformers

            import app.core.inference.engine  # noqa: F401
            import app.core.inference.readout  # noqa: F401

            for name in ("AutoConfig", "AutoProcessor", "AutoModelForImageTextToText",
                         architecture):
                if name:
                    getattr(transformers, name, None)  # resolves the lazy module
        except Exception:  # a missing or broken install is reported when a run starts
            log.exception("warm-up import failed")
        self.warmed.emit()

    @Slot(object)
    def run(self, job: RunJob) -> None:
        try:
            self._run(job)
        except PSGLensError as err:
            self.failed.emit(job.job_id, str(err))
        except MemoryError:
            self.failed.emit(job.job_id, OUT_OF_MEMORY)
        except Exception as err:  # the worker must survive any engine failure
            log.exception("model run %s failed", job.job_id)
            text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            if "out of memory" in text.lower():
                self.failed.emit(job.job_id, OUT_OF_MEMORY)
            else:
                self.failed.emit(job.job_id, f"The model run stopped with an unexpected "
                                             f"error: {text}")

    def _run(self, job: RunJob) -> None:
        from app.core.signals.recording import Recording

        if job.stop.is_set():
            self.finished.emit(job.job_id, {"stopped": True, "notices": []})
            return
        engine = self._engine(job.request)
        rec = Recording.open(job.study, allow_truncated=job.study in self.truncated_ok)
        sources = job.channel_map or None
        runner, peer, why = engine, None, ""
        if job.request.kind == "vlm" and job.request.fuse and hasattr(engine, "bundle"):
            # as `psg-lens score` does: fused with YASA where the card says so for these leads
            from app.core.inference.auto import AutoEngine

            auto = AutoEngine(engine, peer_factory=SubprocessYasa)
            kind, comparison = auto.choice(rec, sources)
            peer = auto.peer_for(rec, sources) if kind == "fused" else None
            if peer is not None:
                runner, why = auto, auto.why(rec, sources, comparison, alone="")
            elif kind == "fused":  # the card advises YASA, which cannot read this study
                from app.core.inference.auto import unfused

                runner, why = auto, unfused(comparison)
        spec = getattr(engine, "spec", None)
        bundle = getattr(engine, "bundle", None)
        info = {"name": engine.name if peer is None else f"{engine.name}+{peer.name}",
                "kind": job.request.kind if peer is None else "fused",
                "bundle": job.request.bundle,
                "spec_json": spec.to_json() if spec is not None else None,
                "synthetic_only": bool(getattr(bundle, "card", {}).get("synthetic_only"))
                if bundle is not None else False}
        smoothing = getattr(engine, "smoothing", None)
        if smoothing is not None and peer is None:  # stages use the whole night, as `score`'s
            info["smoothing"] = smoothing.to_dict()
        chat = getattr(engine, "chat", None)
        if chat is not None:  # a chat model: how it was asked goes with the run
            info["mode"] = engine.mode
            info["layout_context"] = list(chat.layout.context)
        kw = {}
        if hasattr(engine, "check_input"):  # the input check first: its verdicts go with the run
            self.status.emit("Checking the channels…")
            report = engine.check_input(rec, sources)
            info["input_check"] = report.to_dict()
            # the advice is shown on its own, as a warning, in the window's words
            info["missing"] = engine.missing_notice(rec, sources, advice=False)
            info["advice"] = why or engine.peer_advice(rec, sources, commands=WINDOW_COMMANDS)
            kw["check"] = report
        self.started.emit(job.job_id, info)
        self.status.emit(f"Scoring with {engine.name}…")
        gen = runner.predict(rec, epochs=job.epochs, should_stop=job.stop.is_set,
                             sources=sources, **kw)
        t0, done, rate, hyp = time.perf_counter(), 0, 0.0, None
        total = len(job.epochs) if job.epochs is not None else rec.n_epochs
        while True:
            try:
                res = next(gen)
            except StopIteration as end:
                hyp = end.value
                break
            done += len(res.epochs)
            rate = done / max(1e-9, time.perf_counter() - t0)
            total = int(getattr(res, "total", 0) or total)
            answers = (None if getattr(res, "answers", None) is None
                       else [a.to_dict() for a in res.answers])
            self.batch.emit(job.job_id, np.array(res.epochs, dtype=np.int64),
                            np.array(res.probabilities, dtype=np.float32), done, total, rate,
                            answers)
            if peer is not None and done >= total:
                self.status.emit(f"Fusing with {peer.name}…")
        if hyp is not None and "fusion" in hyp.meta:  # the fused stages replace the model's
            idx = np.arange(rec.n_epochs) if job.epochs is None else np.asarray(job.epochs)
            idx = idx[hyp.stages[idx] >= 0]
            self.batch.emit(job.job_id, idx.astype(np.int64),
                            hyp.probabilities[idx].astype(np.float32), done, total, rate, None)
        elapsed = time.perf_counter() - t0
        notices = list(getattr(runner, "notices", []))
        # the per-epoch readings of a fused run go into the CSV that score writes; the
        # window does not keep them, so its sentence pointing at them is left out
        readings = (hyp.meta.get("cross_check") or {}).get("notice") if hyp is not None else None
        notices = [n for n in notices if n != readings]
        self.finished.emit(job.job_id, {"stopped": job.stop.is_set(), "done": done,
                                        "rate": done / elapsed if elapsed > 0 else 0.0,
                                        "notices": notices})


class ModelWorker(_Signals):
    """GUI-side handle of the worker thread: submit, cancel, shut down."""

    _submit = Signal(object)
    _explain = Signal(object)
    _words = Signal(object)
    _detect = Signal(object)
    _night = Signal(object)
    _warm_up = Signal(str)

    def __init__(self, engine_factory: Callable[[EngineRequest], object] | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread = QThread()
        self._thread.setObjectName("psg-lens-model-worker")
        self._worker = _Worker(engine_factory or default_engine_factory)
        self._worker.moveToThread(self._thread)
        self._submit.connect(self._worker.run)
        self._explain.connect(self._worker.explain)
        self._words.connect(self._worker.words)
        self._detect.connect(self._worker.detect)
        self._night.connect(self._worker.night)
        self._warm_up.connect(self._worker.warm_up)
        for name in ("warmed", "started", "batch", "finished", "failed", "status",
                     "explained", "explain_failed", "worded", "words_failed", "detected",
                     "detect_failed", "night_ready", "night_failed"):
            getattr(self._worker, name).connect(getattr(self, name))
        self._pending_explain: ExplainJob | None = None
        self._pending_words: WordsJob | None = None
        self.finished.connect(self._done)
        self.failed.connect(self._done)
        self._jobs: dict[int, RunJob] = {}
        self._next_id = 1
        self._thread.start()
        _LIVE.add(self)

    @property
    def busy(self) -> bool:
        return bool(self._jobs)

    def allow_truncated(self, study: str) -> None:
        """Let every later job read ``study``'s complete part (the technician chose to
        open the file although it is cut short)."""
        self._worker.truncated_ok.add(str(study))

    def warm_up(self, architecture: str = "") -> None:
        """Ask the worker to import the model libraries now (queued before any run)."""
        self._warm_up.emit(architecture)

    def submit(self, request: EngineRequest, study: str, *, epochs: list[int] | None = None,
               channel_map: dict | None = None) -> int:
        job = RunJob(self._next_id, request, str(study), epochs, channel_map)
        self._next_id += 1
        self._jobs[job.job_id] = job
        self._submit.emit(job)
        return job.job_id

    def submit_explain(self, request: EngineRequest, study: str, epoch: int, *,
                       method: str = "ablation", stage: str | None = None,
                       channel_map: dict | None = None) -> int:
        """Queue an explanation; it replaces (cancels) the previous one still waiting.

        Explanations do not make the worker ``busy``: a model run may be started while
        one is queued (it runs after the explanation in the same thread)."""
        self.cancel_explain()
        job = ExplainJob(self._next_id, request, str(study), int(epoch), method, stage,
                         channel_map)
        self._next_id += 1
        self._pending_explain = job
        self._explain.emit(job)
        return job.job_id

    def submit_words(self, request: EngineRequest, study: str, epoch: int, *,
                     channel_map: dict | None = None) -> int:
        """Queue "write the rationale" for one epoch; replaces (cancels) the previous."""
        self.cancel_words()
        job = WordsJob(self._next_id, request, str(study), int(epoch), channel_map)
        self._next_id += 1
        self._pending_words = job
        self._words.emit(job)
        return job.job_id

    def submit_detect(self, study: str, hypnogram=None, *, hypopnea_rule: str = "1A") -> int:
        """Queue the event detectors for ``study`` (after whatever the worker is doing)."""
        job = DetectJob(self._next_id, str(study), hypnogram, hypopnea_rule)
        self._next_id += 1
        self._detect.emit(job)
        return job.job_id

    def submit_night(self, study: str, channel_map: dict | None = None) -> int:
        """Queue the whole-night features of ``study`` (spectrogram, chin levels)."""
        job = NightJob(self._next_id, str(study), channel_map)
        self._next_id += 1
        self._night.emit(job)
        return job.job_id

    def cancel_words(self) -> None:
        if self._pending_words is not None:
            self._pending_words.stop.set()
            self._pending_words = None

    def cancel_explain(self) -> None:
        if self._pending_explain is not None:
            self._pending_explain.stop.set()
            self._pending_explain = None

    def cancel(self, job_id: int | None = None) -> None:
        for jid, job in self._jobs.items():
            if job_id is None or jid == job_id:
                job.stop.set()

    def _done(self, job_id: int, *_: object) -> None:
        self._jobs.pop(job_id, None)

    def shutdown(self, timeout_ms: int = 15000) -> bool:
        """Cancel, let the current batch finish, stop the thread. True if it stopped."""
        self.cancel()
        self.cancel_explain()
        self.cancel_words()
        self._thread.quit()
        ok = self._thread.wait(timeout_ms)
        self._jobs.clear()
        _LIVE.discard(self)
        return bool(ok)


# A QThread still running when Python tears down aborts the process ("QThread: Destroyed
# while thread is still running"); whatever path left a worker running, stop it first.
_LIVE: weakref.WeakSet = weakref.WeakSet()


@atexit.register
def _stop_live_workers() -> None:
    for worker in list(_LIVE):
        try:
            worker.shutdown(5000)
        except RuntimeError:  # its C++ side is already gone
            pass
