"""Scoring batches with a layout bundle: each target asked with its context pictures.

:class:`app.core.inference.engine.StageEngine` hands a layout bundle's batches here. A
batch of targets needs the pictures of its targets and their neighbours; each epoch is
drawn once per batch, then every target's question is put together in the layout's
order. Out-of-memory halves the batch, as for one-picture models.

Examples
--------
>>> engine = StageEngine("bundles/sleepvlm-3b", mode="fast")       # doctest: +SKIP
>>> hyp = engine.score(recording)                                  # doctest: +SKIP
>>> hyp.meta["answers"]["12"]["rationale"]                         # doctest: +SKIP
'Sleep spindles in C4 ...'
"""

from __future__ import annotations

import time
from collections.abc import Generator

import numpy as np

from app.core.inference.chat_readout import GenerationStopped
from app.core.inference.engine import EpochBatchResult
from app.core.inference.layout import context_note, no_stage_note
from app.core.signals.render import render_many
from app.errors import ModelError


def chat_batches(engine, recording, staged: np.ndarray, sources: list, report,
                 should_stop) -> Generator[EpochBatchResult, None, None]:
    """Yield the engine's results for ``staged`` targets, batch by batch."""
    k = 0
    while k < staged.size:
        if should_stop is not None and should_stop():
            return
        chunk = staged[k:k + engine.batch_size]
        t0 = time.perf_counter()
        pictures = draw_questions(engine, recording, chunk, sources, report)
        render_sec = time.perf_counter() - t0
        try:
            t1 = time.perf_counter()
            probs, answers = engine.chat.score(pictures, engine.mode, should_stop=should_stop)
            model_sec = time.perf_counter() - t1
        except GenerationStopped:
            return  # cancelled mid-batch: the batches before it are kept
        except (RuntimeError, ValueError) as err:
            if not _shrink_after_oom(engine, err, chunk):
                raise ModelError(f"The model {engine.name} failed on epoch(s) "
                                 f"{int(chunk[0])}-{int(chunk[-1])}: "
                                 f"{str(err).strip().splitlines()[0]}") from err
            continue
        k += len(chunk)
        yield EpochBatchResult(chunk, probs, render_sec, model_sec, answers=answers)


def draw_questions(engine, recording, targets, sources: list, report=None) -> list[list]:
    """Per target, its pictures in the layout's order; each epoch drawn once (and, with
    an input check, redrawn without the channels that failed it there)."""
    offsets = np.asarray(engine.chat.layout.offsets, np.int64)
    targets = np.asarray(targets, np.int64).reshape(-1)
    needed = np.unique((targets[:, None] + offsets[None, :]).ravel())
    drawn = np.concatenate(list(render_many(recording, engine.spec, needed, sources=sources,
                                            batch_size=len(needed))))
    if report is not None and report.unusable:
        drawn = engine.redraw_without(recording, drawn, needed, sources, report)
    where = {int(e): i for i, e in enumerate(needed)}
    return [[drawn[where[int(t + o)]] for o in offsets] for t in targets]


def _shrink_after_oom(engine, err: BaseException, chunk) -> bool:
    from app.core.inference.readout import free_accelerator_memory, is_out_of_memory

    if not is_out_of_memory(err):
        return False
    free_accelerator_memory()
    if len(chunk) == 1:
        raise ModelError(f"The model {engine.name} does not fit in memory on {engine.device} "
                         "even one epoch at a time; use a smaller dtype, --quantize or the "
                         "CPU.") from err
    engine.batch_size = max(1, len(chunk) // 2)
    engine.notice(f"Out of memory on {engine.device} at batch size {len(chunk)}; retrying "
                   f"with batch size {engine.batch_size}.")
    return True


def answer_notes(notes: list[str] | None, n_epochs: int, layout, answers: dict,
                 model: str) -> list[str]:
    """Per-epoch notes with the layout's context-only epochs and the epochs where the
    model gave no stage said in words."""
    out = list(notes) if notes is not None else [""] * n_epochs
    targets = set(layout.targets(n_epochs).tolist())
    before, after = layout.context

    def add(e: int, text: str) -> None:
        out[e] = f"{out[e]} {text}".strip() if out[e] else text

    for e in range(n_epochs):
        if e not in targets:
            add(e, context_note(model, before, after))
    for e, a in answers.items():
        if a.stage is None:
            add(int(e), no_stage_note(model, a.note))
    return out
