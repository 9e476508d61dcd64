"""StageEngine: score a study with a model bundle, one forward pass per batch of epochs.

Epochs are drawn with the bundle's own RenderSpec through :func:`app.core.signals.render.render_many`
(the code training uses), and read out as stage probabilities from the label logits
(:mod:`app.core.inference.readout`). :meth:`StageEngine.predict` is a generator so the GUI
worker and the CLI can show progress, stop, and keep what was scored.

Examples
--------
>>> from app.core.signals.recording import Recording
>>> engine = StageEngine("resources/models/default", device="cpu")    # doctest: +SKIP
>>> hyp = engine.score(Recording.open("night.edf"))                   # doctest: +SKIP
>>> hyp.probabilities.shape                                           # doctest: +SKIP
(960, 5)
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from app.core.inference.bundle import Bundle, load_bundle
from app.core.scoring.hypnogram import Hypnogram, Source
from app.core.scoring.stages import Stage
from app.core.signals.render import render_many, resolve_sources
from app.errors import ModelError

log = logging.getLogger(__name__)
_STAGE_CODES = "W123R"  # one character per stage in meta["smoothing"]["model_stages"]

ProgressFn = Callable[[int, int], None]
StopFn = Callable[[], bool]


@dataclass
class EpochBatchResult:
    """What one batch produced: its epochs, their probabilities, and where time went.

    A row of NaN probabilities is an epoch the model did not stage (the input check found
    no usable EEG there); consumers store it as Unscored.
    """

    epochs: np.ndarray            # (k,) epoch indices
    probabilities: np.ndarray     # (k, 5) float32 over W, N1, N2, N3, REM
    render_sec: float = 0.0       # drawing the pictures (reading the file included)
    model_sec: float = 0.0        # the forward pass
    preprocess_sec: float = 0.0   # processor: resize/normalise/tokenise
    done: int = 0
    total: int = 0
    answers: list | None = None   # per epoch, what a chat model wrote (chat_readout.Answer)

    @property
    def stages(self) -> np.ndarray:
        return self.probabilities.argmax(axis=1).astype(np.int8)


class Engine(Protocol):
    """What the GUI worker and the CLI drive: StageEngine, YasaEngine and FusedEngine."""

    name: str
    notices: list[str]

    def predict(self, recording, *, epochs: Sequence[int] | None = None,
                progress: ProgressFn | None = None, should_stop: StopFn | None = None,
                sources: Any = None) -> Generator[EpochBatchResult, None, Hypnogram]: ...

    def score(self, recording, **kw) -> Hypnogram: ...


def drain(gen: Generator[EpochBatchResult, None, Hypnogram]) -> Hypnogram:
    """Run a ``predict`` generator to the end and return its Hypnogram."""
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            return stop.value


def epoch_indices(recording, epochs: Sequence[int] | None) -> np.ndarray:
    if epochs is None:
        return np.arange(recording.n_epochs)
    idx = np.asarray(list(epochs), dtype=np.int64).reshape(-1)
    for e in (idx.min(), idx.max()) if idx.size else ():
        recording.check_epoch(int(e))
    return idx


@dataclass
class ScoreAccumulator:
    """Collects batch results into a whole-study Hypnogram (NaN rows where unscored)."""

    n_epochs: int
    probabilities: np.ndarray = field(init=False)
    timings: dict[str, float] = field(default_factory=lambda: dict.fromkeys(
        ("render_sec", "preprocess_sec", "model_sec"), 0.0))
    scored: int = 0
    answers: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.probabilities = np.full((self.n_epochs, 5), np.nan, np.float32)

    def add(self, result: EpochBatchResult) -> None:
        self.probabilities[result.epochs] = result.probabilities
        self.scored += len(result.epochs)
        if result.answers is not None:
            self.answers.update(zip((int(e) for e in result.epochs), result.answers))
        for k in self.timings:
            self.timings[k] += getattr(result, k)

    def hypnogram(self, recording, *, scorer: str, meta: dict,
                  not_staged: np.ndarray | None = None, notes: list[str] | None = None
                  ) -> Hypnogram:
        done = ~np.isnan(self.probabilities).any(axis=1)
        stages = np.full(self.n_epochs, int(Stage.UNSCORED), np.int8)
        stages[done] = self.probabilities[done].argmax(axis=1)
        if not_staged is not None and not_staged.size:
            # looked at and refused (no usable EEG): no stage, and no fake confidence
            self.probabilities[not_staged] = 1.0 / self.probabilities.shape[1]
        meta = {**meta, **{k: round(v, 4) for k, v in self.timings.items()},
                "epochs_scored": int(done.sum())}
        return Hypnogram(stages, epoch_sec=recording.epoch_sec, start_time=recording.start_time,
                         probabilities=self.probabilities, source=Source.MODEL, scorer=scorer,
                         meta=meta, notes=notes)


class StageEngine:
    """Scores epochs with a LLaVA-family model bundle.

    Parameters
    ----------
    bundle : Bundle or path
        A bundle (see :func:`load_bundle`, :meth:`Bundle.from_hf`) or its folder.
    device : {"auto", "cpu", "cuda", "cuda:N", "mps"}
        ``auto``: CUDA (bf16 where supported, else fp16) > MPS > CPU (fp32).
    dtype : str or torch.dtype, optional
        Overrides the device's default dtype.
    batch_size : int
        Epochs per forward pass; halved automatically on out-of-memory.
    quantize : {None, "4bit", "8bit"}
        bitsandbytes quantization (CUDA only).
    mode : {None, "rationale", "fast"}
        For bundles that answer in JSON (a card ``layout``): write the rationale and read
        the stage after it, or force an empty rationale and read the stage in one pass.
        None: the card's ``answer.default_mode``.
    smooth : bool
        Apply the card's fitted whole-night smoothing (:mod:`.night_smoothing`) to the
        study's hypnogram; False gives each epoch's own probabilities. A card without a
        ``smoothing`` section is never smoothed.

    Examples
    --------
    >>> engine = StageEngine(load_bundle("my-bundle"), device="cpu", batch_size=8)  # doctest: +SKIP
    >>> gen = engine.predict(recording, progress=print)                            # doctest: +SKIP
    >>> for batch in gen: ...                                                      # doctest: +SKIP
    >>> hyp = engine.score(recording)                                              # doctest: +SKIP
    """

    def __init__(self, bundle: Bundle | str | os.PathLike, *, device: str | None = "auto",
                 dtype: Any = None, batch_size: int = 16, quantize: str | None = None,
                 mode: str | None = None, smooth: bool = True) -> None:
        from app.core.inference.layout import MODES
        from app.core.inference.readout import resolve_device

        if int(batch_size) < 1:
            raise ModelError(f"The batch size must be at least 1, not {batch_size}.")
        self.bundle = bundle if isinstance(bundle, Bundle) else load_bundle(bundle)
        self.device, self.dtype = resolve_device(device, dtype)
        answer = self.bundle.answer
        self.mode = mode or answer.default_mode
        if self.mode not in MODES or (self.bundle.layout is None and self.mode != "fast"):
            raise ModelError(f"The model {self.bundle.scorer_id} answers "
                             f"{answer.describe()}; mode {self.mode!r} is not one it has "
                             f"(use {'rationale or fast' if self.bundle.layout else 'fast'}).")
        self.model, self.processor = self.bundle.load_model(
            device=str(self.device), dtype=self.dtype, quantize=quantize)
        self.chat = None
        if self.bundle.layout is not None:
            from app.core.inference.chat_readout import ChatScorer

            self.chat = ChatScorer(self.model, self.processor, self.bundle.layout, answer,
                                   self.bundle.labels, self.device, self.dtype,
                                   source=self.bundle.display)
            self.readout = self.chat.readout
        else:
            self.readout = self.bundle.label_readout(self.processor.tokenizer)
        self.batch_size = int(batch_size)
        self.spec = self.bundle.spec
        self.name = self.bundle.scorer_id
        self.notices: list[str] = list(self.bundle.notices)
        self.use_smoothing = bool(smooth)

    def notice(self, text: str) -> None:
        if text not in self.notices:  # the same study scored twice says it once
            self.notices.append(text)
            log.warning(text)

    # -- scoring -----------------------------------------------------------------------
    def check_input(self, recording, sources: Sequence | Mapping | None = None):
        """The input check of ``recording`` for this model's picture (a CheckReport)."""
        from app.core.signals.quality import check_recording

        if sources is None or isinstance(sources, Mapping):
            sources = resolve_sources(recording, self.spec, sources)
        return check_recording(recording, self.spec, sources,
                               reference=self.bundle.feature_reference)

    def predict(self, recording, *, epochs: Sequence[int] | None = None,
                progress: ProgressFn | None = None, should_stop: StopFn | None = None,
                sources: Sequence | Mapping | None = None, check: Any = True,
                peer_advice: bool = True, smooth: bool | None = None
                ) -> Generator[EpochBatchResult, None, Hypnogram]:
        """Yield per-batch results; return (StopIteration.value) the study's Hypnogram.

        ``sources`` is either the Source per spec row (as from ``resolve_sources``) or a
        slot -> channel mapping overriding the automatic choice. Epochs not scored (not
        asked for, or after ``should_stop``) are Unscored with NaN probabilities.

        ``check``: True runs the input check first (:mod:`app.core.signals.quality`), a
        CheckReport uses that one, False skips it. With a check, a channel that fails in
        an epoch is drawn as missing there, an epoch with no usable EEG is not staged (a
        NaN row, then Unscored with a note), an epoch unlike the training data keeps its
        stage with its confidence capped, and an inverted lead is drawn sign-flipped.

        ``peer_advice=False`` leaves the peer scorer's advice out of the missing-channel
        notice (for a run that already includes that peer, :mod:`.fusion`); ``smooth``
        overrides the engine's ``smooth`` for this run (False: each picture alone, as the
        fusion starts from), None keeps it.
        """
        from app.core.scoring.plausibility import implausible_night
        from app.core.signals.quality import NOT_STAGED

        # notices are about this study: an engine kept for the next one must not carry
        # the last study's missing channels or memory retries into its run
        self.notices = list(self.bundle.notices)
        spec = self.spec
        if abs(spec.epoch_sec - recording.epoch_sec) > 1e-9:
            raise ModelError(f"The model {self.name} reads {spec.epoch_sec:g}-s epochs but "
                             f"the study is cut into {recording.epoch_sec:g}-s epochs.")
        idx = epoch_indices(recording, epochs)
        if sources is None or isinstance(sources, Mapping):
            sources = resolve_sources(recording, spec, sources)
        sources = list(sources)
        report = check if not isinstance(check, bool) else (
            self.check_input(recording, sources) if check else None)
        if report is not None and report.inverted:
            sources = [dataclasses.replace(s, inverted=True)
                       if s is not None and r.slot in report.inverted else s
                       for r, s in zip(spec.rows, sources, strict=True)]
        missing = self.missing_notice(recording, sources, advice=peer_advice)
        if missing:
            self.notice(missing)
        status = report.status if report is not None else np.zeros(recording.n_epochs, np.int8)
        refused = idx[status[idx] == NOT_STAGED]
        staged = idx[status[idx] != NOT_STAGED]
        if self.chat is not None:  # first/last epochs are only context for a layout
            targets = np.isin(staged, self.chat.layout.targets(recording.n_epochs))
            context_only = staged[~targets]
            refused, staged = np.sort(np.r_[refused, context_only]), staged[targets]
        acc = ScoreAccumulator(recording.n_epochs)
        total, done = len(idx), 0
        if progress:
            progress(0, total)
        if refused.size:
            done += refused.size
            result = EpochBatchResult(refused, np.full((refused.size, 5), np.nan, np.float32),
                                      done=done, total=total)
            acc.add(result)
            yield result
        for result in self._batches(recording, staged, sources, report, status,
                                    should_stop):
            done += len(result.epochs)
            result.done, result.total = done, total
            acc.add(result)
            if progress:
                progress(done, total)
            yield result
        stopped = done < total
        meta = {"model": self.name, "bundle": self.bundle.display, "engine": "vlm",
                "render_spec": spec.name, "device": str(self.device),
                "dtype": str(self.dtype).replace("torch.", ""), "stopped": stopped,
                "notices": list(self.notices), "sources": [None if s is None else s.name
                                                           for s in sources],
                "temperature": self.temperature}
        if report is not None:
            meta["input_check"] = report.to_dict()
        notes = report.epoch_notes() if report is not None else None
        if self.chat is not None:
            from app.core.inference.chat_engine import answer_notes

            gave_none = [e for e, a in acc.answers.items() if a.stage is None]
            refused = np.union1d(refused, np.asarray(gave_none, np.int64))
            meta["mode"] = self.mode
            if self.mode == "fast":
                meta["approximation"] = ("fast mode: stages read with the rationale left "
                                         "empty, outside what the model was trained to write")
            meta["answers"] = {str(e): a.to_dict() for e, a in sorted(acc.answers.items())}
            notes = answer_notes(notes, recording.n_epochs, self.chat.layout, acc.answers,
                                 self.name)
        hyp = acc.hypnogram(recording, scorer=self.name, meta=meta, not_staged=refused,
                            notes=notes)
        fit = self.smoothing if smooth is None else (self.bundle.smoothing if smooth else None)
        if fit is not None:
            hyp = self.smooth(hyp, status)
        warning = "" if stopped or epochs is not None else implausible_night(
            hyp.stages, hyp.epoch_sec)
        if warning:  # wrong the whole night through: say so before any stage is accepted
            self.notice(warning)
            hyp.meta.update(notices=list(self.notices), night_warning=warning)
        return hyp

    def smooth(self, hyp: Hypnogram, status: np.ndarray | None = None) -> Hypnogram:
        """``hyp`` (each epoch alone, as ``smooth=False`` scores it; ``status``: the input
        check's per epoch, by default from ``hyp.meta``) with the bundle's whole-night
        smoothing applied (the bundle must have one): probabilities are the
        posteriors, stages their argmax; ``meta["smoothing"]`` keeps the fit, how many
        stages it changed and the model's own stages (``W123R``, ``.`` unstaged)."""
        from app.core.inference.night_smoothing import restage
        from app.core.signals.quality import UNLIKE, CheckReport

        fit = self.bundle.smoothing
        if fit is None:
            raise ModelError(f"The model {self.name} has no fitted smoothing in its card.")
        if status is None and hyp.meta.get("input_check"):  # the check's caps still hold
            status = CheckReport.from_dict(hyp.meta["input_check"]).status
        capped = None if status is None else np.asarray(status) == UNLIKE
        stages, probs = restage(fit, hyp.stages, hyp.probabilities, capped)
        meta = {**hyp.meta, "probabilities_from": f"{self.name}; {fit.describe()}",
                "smoothing": fit.to_dict() | {
            "changed": int((stages != hyp.stages).sum()),
            "model_stages": "".join("." if s < 0 else _STAGE_CODES[s]
                                    for s in hyp.stages.tolist())}}
        return Hypnogram(stages, epoch_sec=hyp.epoch_sec, start_time=hyp.start_time,
                         probabilities=probs, source=hyp.source, scorer=hyp.scorer,
                         meta=meta, notes=hyp.notes)

    def _batches(self, recording, staged: np.ndarray, sources: list, report, status,
                 should_stop: StopFn | None) -> Generator[EpochBatchResult, None, None]:
        """Draw and score ``staged`` batch by batch (temperature and the check applied)."""
        from app.core.inference.calibration import apply_temperature
        from app.core.signals.quality import UNLIKE, temper

        if self.chat is not None:
            from app.core.inference.chat_engine import chat_batches

            batches = chat_batches(self, recording, staged, sources, report, should_stop)
        else:
            batches = self._picture_batches(recording, staged, sources, report, should_stop)
        for result in batches:
            result.probabilities = apply_temperature(result.probabilities, self.temperature)
            unlike = status[result.epochs] == UNLIKE
            if unlike.any():
                result.probabilities[unlike] = temper(result.probabilities[unlike])
            yield result

    def _picture_batches(self, recording, staged, sources, report, should_stop):
        renders = render_many(recording, self.spec, staged, sources=sources,
                              batch_size=self.batch_size)
        k = 0
        while k < staged.size:
            if should_stop is not None and should_stop():
                return
            t0 = time.perf_counter()
            images = next(renders)
            chunk = staged[k:k + len(images)]
            if report is not None and report.unusable:
                images = self.redraw_without(recording, images, chunk, sources, report)
            render_sec = time.perf_counter() - t0
            probs, pre_sec, model_sec = self._probabilities(images, chunk)
            k += len(chunk)
            yield EpochBatchResult(chunk, probs, render_sec, model_sec, pre_sec)

    def answer_epoch(self, recording, epoch: int, *, mode: str = "rationale",
                     sources: Sequence | Mapping | None = None,
                     should_stop: StopFn | None = None):
        """Ask a chat model about one epoch now (the GUI's "write the rationale" after a
        fast run): ``(probabilities (5,), Answer)``; NaN probabilities when it gave no
        stage. ``should_stop`` cancels the generation between tokens (ModelError)."""
        from app.core.inference.calibration import apply_temperature
        from app.core.inference.layout import MODES

        if self.chat is None:
            raise ModelError(f"The model {self.name} answers with a label, not in words.")
        if mode not in MODES:
            raise ModelError(f"Unknown mode {mode!r}; use rationale or fast.")
        recording.check_epoch(int(epoch))
        if int(epoch) not in set(self.chat.layout.targets(recording.n_epochs).tolist()):
            raise ModelError(f"Epoch {int(epoch) + 1} is context only for {self.name}: it "
                             "needs the epochs before and after it.")
        from app.core.inference.chat_engine import draw_questions

        if sources is None or isinstance(sources, Mapping):
            sources = resolve_sources(recording, self.spec, sources)
        pictures = draw_questions(self, recording, [int(epoch)], list(sources))
        probs, answers = self.chat.score(pictures, mode, should_stop=should_stop)
        return apply_temperature(probs, self.temperature)[0], answers[0]

    @property
    def temperature(self) -> float:
        return self.bundle.temperature

    @property
    def smoothing(self):
        """The bundle's whole-night smoothing (None: stages are the model's per epoch)."""
        return self.bundle.smoothing if self.use_smoothing else None

    def missing_notice(self, recording, sources: Sequence | Mapping | None = None, *,
                       advice: bool = True) -> str:
        """Which rows of the picture the study cannot fill, and what the card measured
        with what it has ("" when nothing is missing); ``advice=False`` leaves out the
        peer advice (see :meth:`peer_advice`), for a window that shows it on its own."""
        if sources is None or isinstance(sources, Mapping):
            sources = resolve_sources(recording, self.spec, sources)
        if all(s is not None for s in sources):
            return ""
        return describe_missing(recording.path.name, self.spec, sources,
                                self.bundle.validated_subsets,
                                self.bundle.peer_comparisons if advice else ())

    def peer_advice(self, recording, sources: Sequence | Mapping | None = None, *,
                    commands: Mapping[str, str] | None = None) -> str:
        """The sentence advising a peer the card measured better with exactly the
        study's channels ("" when it did not, or nothing is missing); ``commands`` says
        its command in the words of where it is shown (the window: its menu item)."""
        if sources is None or isinstance(sources, Mapping):
            sources = resolve_sources(recording, self.spec, sources)
        if all(s is not None for s in sources):
            return ""
        present = {r.slot for r, s in zip(self.spec.rows, sources) if s is not None}
        return _peer_advice(present, self.bundle.peer_comparisons, commands or {}).strip()

    def redraw_without(self, recording, images, chunk, sources, report) -> np.ndarray:
        """Epochs where a slot's channel failed the check, drawn with that row missing."""
        from app.core.signals.render import render_epoch

        rows = [r.slot for r in self.spec.rows]
        images = np.array(images)
        for j, e in enumerate(chunk):
            bad = {slot for slot, m in report.unusable.items() if m[int(e)]}
            if bad:
                kept = [None if slot in bad else s for slot, s in zip(rows, sources)]
                images[j] = render_epoch(recording, self.spec, int(e), kept)
        return images

    def score(self, recording, **kw) -> Hypnogram:
        """Score every epoch (or ``epochs=``) and return the Hypnogram."""
        return drain(self.predict(recording, **kw))

    def probabilities(self, images: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        """(n, 5) probabilities for already rendered (H, W, 3) uint8 images."""
        return self._probabilities(images, np.arange(len(images)))[0]

    def _probabilities(self, images, epochs: np.ndarray) -> tuple[np.ndarray, float, float]:
        from app.core.inference.readout import (
            free_accelerator_memory,
            is_out_of_memory,
            stage_probabilities,
        )

        n = len(images)
        out = np.empty((n, len(self.readout.labels)), np.float32)
        pre_sec = model_sec = 0.0
        i = 0
        while i < n:
            bs = min(self.batch_size, n - i)
            try:
                t0 = time.perf_counter()
                inputs = self._inputs(images[i:i + bs])
                t1 = time.perf_counter()
                out[i:i + bs] = stage_probabilities(self.model, inputs, self.readout)
                t2 = time.perf_counter()
            except (RuntimeError, ValueError) as err:
                inputs = None
                if not is_out_of_memory(err):
                    raise ModelError(f"The model {self.name} failed on epoch(s) "
                                     f"{int(epochs[i])}-{int(epochs[i + bs - 1])}: "
                                     f"{str(err).strip().splitlines()[0]}") from err
                free_accelerator_memory()
                if bs == 1:
                    raise ModelError(f"The model {self.name} does not fit in memory on "
                                     f"{self.device} even one epoch at a time; use a smaller "
                                     "dtype, --quantize or the CPU.") from err
                self.batch_size = max(1, bs // 2)
                self.notice(f"Out of memory on {self.device} at batch size {bs}; "
                             f"retrying with batch size {self.batch_size}.")
                continue
            pre_sec += t1 - t0
            model_sec += t2 - t1
            i += bs
        return out, pre_sec, model_sec

    def _inputs(self, images) -> dict:
        # separate so tests can check the very pictures the model was given
        from app.core.inference.readout import prepare_inputs

        return prepare_inputs(self.processor, images, self.bundle.prompt, self.device,
                              self.dtype)

    # -- debugging ---------------------------------------------------------------------
    def generate_raw(self, image: np.ndarray, *, max_new_tokens: int = 16) -> str:
        """Free text the model writes for one picture (debug view; never used to score)."""
        import torch

        inputs = self._inputs([image])
        with torch.inference_mode():
            out = self.model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False)
        new = out[0, inputs["input_ids"].shape[1]:]
        return self.processor.tokenizer.decode(new, skip_special_tokens=True).strip()


def stages_before_smoothing(hyp: Hypnogram) -> np.ndarray:
    """What each picture alone gave (``--no-smooth``): the stages the whole-night smoothing
    started from, or ``hyp.stages`` when it was not smoothed (-1: not staged)."""
    own = hyp.meta.get("smoothing", {}).get("model_stages")
    if own is None:
        return hyp.stages
    return np.array([-1 if c == "." else _STAGE_CODES.index(c) for c in own], np.int8)


def describe_missing(study: str, spec, sources: Sequence, subsets: list[dict],
                     comparisons: Sequence[dict] = ()) -> str:
    """Which slots a study lacks, what the card measured with what it has, and, where the
    card measured a peer scorer doing better with exactly these channels, that too."""
    labels = {r.slot: r.label for r in spec.rows}
    missing = [r.slot for r, s in zip(spec.rows, sources) if s is None]
    present = {r.slot for r, s in zip(spec.rows, sources) if s is not None}
    text = (f"{study} has no channel for {', '.join(labels[m] for m in missing)}; those rows "
            f"are drawn {spec.missing}, as the model was trained to expect.")
    text += _peer_advice(present, comparisons, {})
    best = _closest_subset(present, subsets)
    if best is None:
        return text + " The model card has no measurement with this set of channels."
    full = next((s for s in subsets if s.get("name") == "every channel"), None)
    if set(best["slots"]) == present:
        text += f" With {best['name']}"
    else:  # a part of what the study has: say so, the figure is a floor, not this study's
        text += (" The model card has no measurement with exactly these channels; with "
                 f"{best['name']}, a part of them,")
    text += (f" the model's accuracy on held-out nights was {best['accuracy']:.2f} for each "
             "picture alone")
    if full is not None and full is not best:
        text += f" (every channel: {full['accuracy']:.2f})"
    data = best.get("data", "")
    return text + (f"; measured on {data}." if data else ".")


def _peer_advice(present: set[str], comparisons: Sequence[dict],
                 commands: Mapping[str, str]) -> str:
    """A sentence when the first of the card's comparisons made with exactly these
    channels says the peer did better."""
    c = next((c for c in comparisons if set(c["slots"]) == present), None)
    if c is None or c["peer_accuracy"] <= c["model_accuracy"]:
        return ""
    command = c.get("command", "")
    how = f" ({commands.get(command, command)})" if command else ""
    return (f" With only these channels this model is weak: on {c['data']}, "
            f"{c['peer']} was right on {c['peer_accuracy']:.2f} of epochs and this "
            f"model on {c['model_accuracy']:.2f}; consider scoring this study with "
            f"{c['peer']}{how} and review every epoch.")


def _closest_subset(present: set[str], subsets: list[dict]) -> dict | None:
    """The measured subset equal to ``present``, else the largest one inside it."""
    usable = [s for s in subsets if "slots" in s and "accuracy" in s]
    exact = [s for s in usable if set(s["slots"]) == present]
    if exact:
        return exact[0]
    inside = [s for s in usable if set(s["slots"]) <= present]
    return max(inside, key=lambda s: len(s["slots"])) if inside else None
