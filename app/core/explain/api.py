"""Explain one epoch: which parts of the model's picture made it choose (or not) a stage.

:func:`explain_epoch` draws the epoch with the bundle's render spec (the very picture the
engine scores), attributes the log-probability of a stage to the picture's pixels with
one of :data:`METHODS`, and maps the result through ``layout(spec)`` to channels and
seconds. Results are cached (in memory, LRU) per bundle, spec, study, epoch, channel
choice, method and stage, so revisiting an epoch in the GUI is instant.

Cancelling: ``should_stop()`` is checked before every forward batch; when it returns
True, :class:`ExplainCancelled` is raised and nothing is cached. A run predicted to take
longer than :data:`WARN_SECONDS` (a 7B model on a CPU) emits an :class:`ExplainCostWarning`
with the estimate, adds it to ``Explanation.notices``, and asks ``confirm(estimate)``
(if given) whether to go on; False cancels before the expensive part starts.

Examples
--------
>>> engine = StageEngine("resources/models/default", device="cpu")     # doctest: +SKIP
>>> ex = explain_epoch(engine, recording, 12, method="ablation")       # doctest: +SKIP
>>> ex.stage_label, ex.top_regions[:1]                                  # doctest: +SKIP
('N2', ['C4-M1, 12-14 s'])
>>> why_not = explain_epoch(engine, recording, 12, stage="N3")          # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import threading
import time
import warnings
import weakref
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.core.explain import mapping
from app.core.explain.methods import (
    IG_STEPS,
    ExplainCancelled,
    ExplainError,
    Probe,
    check_method,
    check_model,
    forward_items,
    patch_size,
    run,
)
from app.core.scoring.stages import STAGE_LABELS, Stage, UnknownStageError, parse_stage

WARN_SECONDS = 30.0
CACHE_SIZE = 64
_cache: OrderedDict[tuple, Explanation] = OrderedDict()
_cache_lock = threading.Lock()
_pass_sec: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
# ids of objects die with them and get reused; a token per live object does not
_tokens: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_next_token = [0]


class ExplainCostWarning(UserWarning):
    """The explanation will take long here (the message gives the estimate)."""


@dataclass
class Explanation:
    """A heatmap over the model's picture and what it means in channels and seconds.

    ``heatmap`` is the non-negative importance scaled to max 1 (for display); ``raw``
    keeps the method's signed values in its own units (ablation/occlusion/ig: change in
    log-probability; rollout: attention share). ``time_importance`` (n_rows x n_bins,
    seconds from the epoch onset at ``time_bins``) sums to 1, and ``channel_importance``
    is its row sums.
    """

    method: str
    stage: Stage
    image: np.ndarray
    heatmap: np.ndarray
    raw: np.ndarray
    probabilities: np.ndarray
    channel_importance: np.ndarray
    time_importance: np.ndarray
    time_bins: np.ndarray
    row_labels: list[str]
    regions: list[mapping.Region]
    seconds: float
    patch_size: int
    epoch: int | None = None
    notices: list[str] = field(default_factory=list)
    # models asked several pictures (a layout): the context pictures' heatmaps, in the
    # layout's order, and their epoch offsets from the target
    context_heatmaps: list = field(default_factory=list)
    context_offsets: list = field(default_factory=list)

    @property
    def stage_label(self) -> str:
        return self.stage.label

    @property
    def predicted(self) -> Stage:
        return Stage(int(np.argmax(self.probabilities)))

    @property
    def top_regions(self) -> list[str]:
        """What mattered, in words: ``["C4-M1, 12-14 s", ...]``, most important first."""
        return [r.text for r in self.regions]

    @property
    def patch_scores(self) -> np.ndarray:
        """(gh, gw) mean heatmap per model patch (orderings for faithfulness curves)."""
        return mapping.patch_scores(self.heatmap, self.patch_size, "mean")

    def table(self) -> str:
        return mapping.channel_table(self.row_labels, self.channel_importance, self.regions)


@dataclass(frozen=True)
class CostEstimate:
    """Predicted cost: ``forward_passes`` pictures through the model (perturbed copies,
    or IG steps), ``seconds_per_pass`` each on average (batching and, for IG, the
    backward pass included), ``seconds`` in all."""

    method: str
    forward_passes: int
    seconds_per_pass: float
    seconds: float
    device: str

    @property
    def warning(self) -> str | None:
        """A sentence for the user when this will take long, else None."""
        if self.seconds < WARN_SECONDS:
            return None
        return (f"Explaining with {self.method} will take about {_duration(self.seconds)} "
                f"here ({self.forward_passes} pictures through the model at "
                f"{self.seconds_per_pass:.2g} s each on {self.device}); it can be cancelled, "
                "and ig or rollout are cheaper.")


def _duration(sec: float) -> str:
    return f"{sec:.0f} s" if sec < 120 else f"{sec / 60:.0f} min"


def resolve_stage(stage: str | int | Stage | None) -> Stage | None:
    """A scored stage (W, N1, N2, N3, REM) or None for "the predicted one"."""
    if stage is None:
        return None
    try:
        st = parse_stage(stage)
    except UnknownStageError:
        st = None
    if st is None or not st.is_scored:
        raise ExplainError(f"Unknown stage {stage!r} to explain; use one of "
                           f"{', '.join(STAGE_LABELS)}.")
    return st


def estimate_cost(engine, method: str = "ablation", *, image_shape: tuple[int, int] | None
                  = None, n_steps: int = IG_STEPS,
                  perturbations_per_eval: int | None = None) -> CostEstimate:
    """Predict how long ``method`` takes on this engine, from timed forward passes.

    Passes of 1 and 2 blank pictures (after a warm-up pass) split the cost into a fixed
    part per forward call and a part per picture, since perturbations run in batches
    of ``perturbations_per_eval`` (default the engine's batch size). A model whose
    first pass takes over 10 s (a 7B on a CPU) is timed by that pass alone. Timings
    are measured once per engine and remembered.

    Examples
    --------
    >>> est = estimate_cost(engine, "ablation")          # doctest: +SKIP
    >>> est.forward_passes, est.warning is None          # doctest: +SKIP
    (197, True)
    """
    method = check_method(method)
    spec = engine.spec
    shape = tuple(image_shape or (spec.height, spec.width))
    ppe = perturbations_per_eval or getattr(engine, "batch_size", 8)
    if getattr(engine, "chat", None) is not None:  # several pictures per question
        from app.core.explain.chat import chat_forward_items

        items, weight = chat_forward_items(engine, method, shape)
        return _estimate(engine, method, shape, _timing(engine, shape), n_steps, ppe,
                         items=(items, weight))
    check_model(engine)
    return _estimate(engine, method, shape, _timing(engine, shape), n_steps, ppe)


def _timing(engine, shape: tuple[int, int]) -> tuple[float, float]:
    """``(seconds per forward call, seconds per picture)`` for this engine, remembered."""
    known = _pass_sec.get(engine)
    if known is not None:
        return known
    from app.core.inference.readout import prepare_inputs

    blank = np.empty((*shape, 3), np.uint8)
    blank[...] = np.asarray(engine.spec.background, np.uint8)

    def timed(n: int) -> float:
        chat = getattr(engine, "chat", None)
        if chat is not None:  # one question: the layout's pictures, the fast prompt
            inputs = chat.readout.extend(chat.inputs(
                [[blank] * len(chat.layout.offsets)] * n, chat.fast_prompt))
        else:
            inputs = engine.readout.extend(prepare_inputs(
                engine.processor, [blank] * n, engine.bundle.prompt, engine.device,
                engine.dtype))
        import torch

        t0 = time.perf_counter()
        with torch.inference_mode():
            engine.model(**inputs, logits_to_keep=engine.readout.positions)
        return time.perf_counter() - t0

    first = timed(1)
    if first > 10.0:  # big model: warm-up is a small part, and batching gains little
        timing = (0.0, first)
    else:
        one = min(first, timed(1))
        per_picture = min(one, max(timed(2) - one, 0.05 * one))
        timing = (one - per_picture, per_picture)
    try:
        _pass_sec[engine] = timing
    except TypeError:  # not weak-referenceable: just do not remember
        pass
    return timing


def _estimate(engine, method: str, shape, timing: tuple[float, float], n_steps: int,
              ppe: int, items: tuple[int, float] | None = None) -> CostEstimate:
    items, weight = items or forward_items(method, shape, patch_size(engine.model),
                                           n_steps=n_steps)
    call, picture = timing
    calls = -(-items // max(1, int(ppe)))
    seconds = weight * (calls * call + items * picture)
    return CostEstimate(method, items, seconds / items, seconds,
                        str(getattr(engine, "device", "?")))


def explain_image(engine, image: np.ndarray, *, method: str = "ablation",
                  stage: str | int | Stage | None = None, spec=None,
                  sources: Sequence | None = None,
                  should_stop: Callable[[], bool] | None = None,
                  progress: Callable[[int, int], None] | None = None,
                  confirm: Callable[[CostEstimate], bool] | None = None,
                  perturbations_per_eval: int | None = None, n_steps: int = IG_STEPS,
                  cache: bool = True) -> Explanation:
    """Explain the engine's reading of an already rendered (H, W, 3) uint8 picture.

    ``spec`` (default the engine's) maps pixels to channels and seconds and gives the
    background colour used to remove regions; ``sources`` (the Source per row) names
    the rows by the channels that filled them.

    Examples
    --------
    >>> ex = explain_image(engine, engine_image, method="occlusion")   # doctest: +SKIP
    >>> ex.heatmap.shape == engine_image.shape[:2]                      # doctest: +SKIP
    True
    """
    method = check_method(method)
    want = resolve_stage(stage)
    check_model(engine)
    spec = spec if spec is not None else engine.spec
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ExplainError(f"An epoch picture is (height, width, 3) uint8; got "
                           f"{image.shape} {image.dtype}.")
    if image.shape[:2] != (spec.height, spec.width):
        raise ExplainError(f"The picture is {image.shape[1]}x{image.shape[0]} but the render "
                           f"spec draws {spec.width}x{spec.height}; render it with the spec.")
    key = None
    if cache:
        digest = hashlib.blake2b(np.ascontiguousarray(image).tobytes(), digest_size=16)
        key = (_bundle_key(engine), spec.to_json(), "image", digest.hexdigest(),
               _source_names(sources), method, want, n_steps)
        hit = _cache_get(key)
        if hit is not None:
            return hit
    ex = _compute(engine, image, method, want, spec, sources, should_stop, progress, confirm,
                  perturbations_per_eval, n_steps)
    if key is not None:
        _cache_put(key, ex)
    return ex


def explain_epoch(engine, recording, epoch: int, *, method: str = "ablation",
                  stage: str | int | Stage | None = None,
                  sources: Sequence | Mapping | None = None,
                  should_stop: Callable[[], bool] | None = None,
                  progress: Callable[[int, int], None] | None = None,
                  confirm: Callable[[CostEstimate], bool] | None = None,
                  perturbations_per_eval: int | None = None, n_steps: int = IG_STEPS,
                  cache: bool = True) -> Explanation:
    """Explain the engine's stage for ``epoch`` of ``recording`` (see the module doc).

    Parameters
    ----------
    engine : StageEngine
    recording : Recording
    epoch : int
    method : {"ablation", "occlusion", "ig", "rollout"}
    stage : str, int, Stage or None
        The stage whose log-probability is explained; None: the predicted one.
    sources : list or dict, optional
        Source per row, or slot -> channel overrides (as for ``StageEngine.predict``).
    should_stop, progress, confirm : callables, optional
        Cancel (raises :class:`ExplainCancelled`), report ``(done, total)`` forward
        items, and approve a long run given its :class:`CostEstimate`.
    perturbations_per_eval : int, optional
        Perturbed pictures per forward batch (default the engine's batch size).

    Examples
    --------
    >>> ex = explain_epoch(engine, rec, 3, method="ig", stage="REM")   # doctest: +SKIP
    >>> round(float(ex.channel_importance.sum()), 6)                    # doctest: +SKIP
    1.0
    """
    from app.core.signals.render import render_epoch, resolve_sources

    method = check_method(method)
    want = resolve_stage(stage)
    if getattr(engine, "chat", None) is not None:  # several pictures per question
        from app.core.explain.chat import explain_chat_epoch

        key = (_bundle_key(engine), _study_key(recording), int(epoch), "chat", method, want,
               _source_names(sources) if isinstance(sources, list) else repr(sources))
        hit = _cache_get(key) if cache else None
        if hit is not None:
            return hit
        ex = explain_chat_epoch(engine, recording, _epoch_index(epoch), method=method,
                                stage=want, sources=sources, should_stop=should_stop)
        if cache:
            _cache_put(key, ex)
        return ex
    check_model(engine)
    spec = engine.spec
    epoch = _epoch_index(epoch)
    recording.check_epoch(epoch)
    if abs(spec.epoch_sec - recording.epoch_sec) > 1e-9:
        raise ExplainError(f"The model {engine.name} reads {spec.epoch_sec:g}-s epochs but "
                           f"the study is cut into {recording.epoch_sec:g}-s epochs.")
    if sources is None or isinstance(sources, Mapping):
        sources = resolve_sources(recording, spec, sources)
    key = None
    if cache:
        key = (_bundle_key(engine), spec.to_json(), _study_key(recording), epoch,
               _source_names(sources), method, want, n_steps)
        hit = _cache_get(key)
        if hit is not None:
            return hit
    image = render_epoch(recording, spec, epoch, sources)
    ex = _compute(engine, image, method, want, spec, sources, should_stop, progress, confirm,
                  perturbations_per_eval, n_steps)
    ex.epoch = epoch
    if key is not None:
        _cache_put(key, ex)
    return ex


def _epoch_index(epoch) -> int:
    if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)):
        raise ExplainError(f"The epoch must be a whole number, not {epoch!r}.")
    return int(epoch)


def _compute(engine, image, method, want, spec, sources, should_stop, progress, confirm,
             ppe, n_steps) -> Explanation:
    t0 = time.perf_counter()
    ppe = ppe or getattr(engine, "batch_size", 8)
    est = _estimate(engine, method, image.shape[:2], _timing(engine, image.shape[:2]),
                    n_steps, ppe)
    probe = Probe(engine, image, stage=None if want is None else int(want),
                  background=spec.background, should_stop=should_stop, progress=progress)
    notices: list[str] = []
    if est.warning:
        notices.append(est.warning)
        warnings.warn(est.warning, ExplainCostWarning, stacklevel=3)
        if confirm is not None and not confirm(est):
            raise ExplainCancelled("The explanation was cancelled before it started.")
    pixel_map = run(probe, method, perturbations_per_eval=ppe, n_steps=n_steps)
    raw = mapping.resize_map(pixel_map, image.shape[:2])
    if method == "ig":  # per-pixel gradients are noisy and credit ink: judge patches
        raw_patch = mapping.patch_scores(raw, probe.patch, "sum")
        heat = mapping.expand_patches(raw_patch, image.shape[:2], probe.patch)
    else:
        heat = raw
    heat = np.clip(np.nan_to_num(heat), 0, None).astype(np.float32)
    top = float(heat.max())
    if top > 0:
        heat /= top
    else:
        notices.append(f"No part of the picture raised the model's {STAGE_LABELS[probe.stage]} "
                       "probability; the heatmap is empty.")
    if method == "rollout":
        notices.append("Attention rollout shows where the vision tower looks, the same for "
                       "every stage; use ablation for why this stage.")
    shares, grid, bins = mapping.channel_time(heat, spec)
    labels = mapping.row_labels(spec, sources)
    regions = mapping.top_regions(grid, bins, labels, epoch_sec=spec.epoch_sec)
    return Explanation(method, Stage(probe.stage), np.asarray(image), heat,
                       raw.astype(np.float32), probe.probabilities, shares.astype(np.float32),
                       grid.astype(np.float32), bins, labels, regions,
                       time.perf_counter() - t0, probe.patch, notices=notices)


# -- cache ---------------------------------------------------------------------------
def _bundle_key(engine) -> tuple:
    bundle = getattr(engine, "bundle", None)
    # a re-initialised or re-loaded model of the same bundle is another model
    return (getattr(bundle, "display", ""), getattr(engine, "name", ""),
            _token(engine.model), str(getattr(engine, "dtype", "")))


def _token(obj) -> object:
    with _cache_lock:
        try:
            tok = _tokens.get(obj)
            if tok is None:
                _next_token[0] += 1
                tok = _tokens[obj] = _next_token[0]
            return tok
        except TypeError:  # not weak-referenceable
            return ("id", id(obj))


def _study_key(recording) -> tuple:
    path = Path(getattr(recording, "path", ""))
    try:
        st = path.stat()
    except (OSError, ValueError):
        return ("memory", _token(recording))
    return (str(path.resolve()), st.st_size, st.st_mtime_ns)


def _source_names(sources) -> tuple:
    return tuple(None if s is None else getattr(s, "name", str(s)) for s in sources or ())


def _cache_get(key: tuple) -> Explanation | None:
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
        return hit


def _cache_put(key: tuple, ex: Explanation) -> None:
    with _cache_lock:
        _cache[key] = ex
        _cache.move_to_end(key)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)


def clear_cache() -> None:
    """Forget every cached explanation (e.g. after the model changed in place)."""
    with _cache_lock:
        _cache.clear()
