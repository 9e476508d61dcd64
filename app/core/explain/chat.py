"""Heatmaps for models that read several pictures per question (SleepVLM's layout).

Qwen2.5-VL does not see a picture as pixels but as rows of ``pixel_values``: 14x14
patches, grouped 2x2 into the 28x28 tiles that become one language-model token each.
The attribution is computed on those rows (gradients flow through the whole model) and
mapped back, row by row, to where each patch sits in its picture; the layout says which
picture is the target and which are context. What is attributed is the stage's
log-probability read after the fast answer prefix (an empty rationale): the rationale
a model writes conditions its stage, and a gradient through generated text would
explain the text, not the picture.

Methods: ``ig`` (integrated gradients from the black picture, ``n_steps`` steps) and
``occlusion`` (each 28x28 tile of the target blacked out in turn; one forward pass per
tile, batched). ``ablation`` means occlusion here; ``rollout`` is not available.

Examples
--------
>>> ex = explain_chat_epoch(engine, recording, 12, method="ig")       # doctest: +SKIP
>>> ex.heatmap.shape, [h.shape for h in ex.context_heatmaps]          # doctest: +SKIP
((224, 448), [(224, 448), (224, 448)])
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence

import numpy as np

from app.core.explain import mapping
from app.core.explain.methods import ExplainCancelled, ExplainError
from app.core.scoring.stages import STAGE_LABELS, Stage

CHAT_METHODS = ("ig", "occlusion")


def patch_positions(grid_thw: Sequence[int], merge: int) -> np.ndarray:
    """(n_rows, 2) (y, x) patch coordinates of each ``pixel_values`` row of one picture,
    in the order Qwen2-VL's image processor writes them (tiles of merge x merge)."""
    t, h, w = (int(v) for v in grid_thw)
    ys, xs = [], []
    for _ in range(t):
        for bh in range(h // merge):
            for bw in range(w // merge):
                for mh in range(merge):
                    for mw in range(merge):
                        ys.append(bh * merge + mh)
                        xs.append(bw * merge + mw)
    return np.stack([ys, xs], axis=1)


def rows_to_map(scores: np.ndarray, grid_thw, merge: int, patch: int) -> np.ndarray:
    """Per-row scores of one picture as a (H, W) pixel map (each patch its square)."""
    pos = patch_positions(grid_thw, merge)
    _, h, w = (int(v) for v in grid_thw)
    grid = np.zeros((h, w), np.float64)
    np.add.at(grid, (pos[:, 0], pos[:, 1]), scores)
    return np.kron(grid, np.ones((patch, patch)))


def chat_forward_items(engine, method: str, shape: tuple[int, int], n_steps: int = 8
                       ) -> tuple[int, float]:
    """``(questions through the model, cost weight)`` of a method, for the estimate:
    ig is ``n_steps`` forward and backward passes; occlusion one pass per tile of every
    picture; other methods are refused here, before any model time is spent."""
    method = "occlusion" if method == "ablation" else method
    if method not in CHAT_METHODS:
        raise ExplainError(f"{engine.name} reads several pictures per question; its heatmaps "
                           f"are made with ig or occlusion, not {method}.")
    if method == "ig":
        return n_steps, 3.0  # a backward pass costs about two forward passes
    tile = _patch(engine.chat) * _merge(engine.chat)
    per_picture = -(-shape[0] // tile) * -(-shape[1] // tile)
    return per_picture * len(engine.chat.layout.offsets) + 1, 1.0


def explain_chat_epoch(engine, recording, epoch: int, *, method: str = "ig",
                       stage: Stage | None = None, sources=None,
                       should_stop: Callable[[], bool] | None = None,
                       n_steps: int = 8):
    """An :class:`app.core.explain.api.Explanation` of a layout bundle's stage for
    ``epoch``; its ``context_heatmaps`` hold the context pictures' maps."""
    from app.core.explain.api import Explanation
    from app.core.inference.chat_engine import draw_questions
    from app.core.signals.render import resolve_sources

    method = "occlusion" if method == "ablation" else method
    if method not in CHAT_METHODS:
        raise ExplainError(f"{engine.name} reads several pictures per question; its heatmaps "
                           f"are made with ig or occlusion, not {method}.")
    chat = engine.chat
    if int(epoch) not in set(chat.layout.targets(recording.n_epochs).tolist()):
        raise ExplainError(f"Epoch {int(epoch) + 1} is context only for {engine.name}; it has "
                           "no stage to explain.")
    t0 = time.perf_counter()
    if sources is None or isinstance(sources, dict):
        sources = resolve_sources(recording, engine.spec, sources)
    pictures = draw_questions(engine, recording, [int(epoch)], list(sources))[0]
    inputs = chat.inputs([pictures], chat.fast_prompt)
    probs = _log_probs(chat, inputs).exp()[0].detach().float().cpu().numpy()
    want = int(np.argmax(probs)) if stage is None else int(stage)
    if method == "ig":
        maps = _integrated_gradients(chat, pictures, inputs, want, n_steps, should_stop)
    else:
        maps = _occlusion(chat, pictures, want, engine.batch_size, should_stop)
    target = chat.layout.offsets.index(0)
    heat, notices = _normalise(maps[target], want)
    spec = _drawn_rows(engine.spec, sources)
    shares, grid, bins = mapping.channel_time(heat, spec)
    labels = mapping.row_labels(spec)
    regions = mapping.top_regions(grid, bins, labels, epoch_sec=spec.epoch_sec)
    notices.append("Attributed: the stage read after an empty rationale (fast mode), not "
                   "after the model's own written reasons.")
    ex = Explanation(method, Stage(want), pictures[target], heat,
                     maps[target].astype(np.float32), probs, shares.astype(np.float32),
                     grid.astype(np.float32), bins, labels, regions,
                     time.perf_counter() - t0, _patch(chat) * _merge(chat), epoch=int(epoch),
                     notices=notices,
                     context_heatmaps=[_normalise(m, want)[0] for i, m in enumerate(maps)
                                       if i != target],
                     context_offsets=[o for o in chat.layout.offsets if o != 0])
    return ex


def _drawn_rows(spec, sources):
    """The spec as drawn: SleepVLM's picture gives the channels present equal bands."""
    if spec.missing != "omit":
        return spec
    rows = tuple(r for r, s in zip(spec.rows, sources) if s is not None)
    return dataclasses.replace(spec, rows=rows) if rows else spec


def _patch(chat) -> int:
    return int(getattr(chat.processor.image_processor, "patch_size", 14) or 14)


def _merge(chat) -> int:
    return int(getattr(chat.processor.image_processor, "merge_size", 2) or 2)


def _log_probs(chat, inputs: dict):
    out = chat.model(**chat.readout.extend(inputs), logits_to_keep=chat.readout.positions)
    return chat.readout.log_probs(out.logits)


def _split(values: np.ndarray, grid_thw) -> list[np.ndarray]:
    sizes = [int(np.prod(g)) for g in grid_thw]
    return np.split(values, np.cumsum(sizes)[:-1])


def _integrated_gradients(chat, pictures, inputs, want: int, n_steps: int,
                          should_stop) -> list[np.ndarray]:
    import torch

    black = [np.zeros_like(p) for p in pictures]
    base = chat.inputs([black], chat.fast_prompt)["pixel_values"]
    x = inputs["pixel_values"]
    total = torch.zeros_like(x, dtype=torch.float32)
    for k in range(1, n_steps + 1):
        if should_stop is not None and should_stop():
            raise ExplainCancelled("The explanation was cancelled.")
        step = (base + (x - base) * (k / n_steps)).detach().requires_grad_(True)
        lp = _log_probs(chat, {**inputs, "pixel_values": step})[0, want]
        (grad,) = torch.autograd.grad(lp, step)
        total += grad.float()
    attr = ((x - base).float() * total / n_steps).sum(dim=1).detach().cpu().numpy()
    grid = inputs["image_grid_thw"].cpu().numpy()
    return [rows_to_map(a, g, _merge(chat), _patch(chat))
            for a, g in zip(_split(attr, grid), grid)]


def _occlusion(chat, pictures, want: int, batch: int, should_stop) -> list[np.ndarray]:
    """Drop in log-probability when each tile of each picture is blacked out."""
    import torch

    tile = _patch(chat) * _merge(chat)
    with torch.inference_mode():
        ref = float(_log_probs(chat, chat.inputs([pictures], chat.fast_prompt))[0, want])
    maps = []
    for i, pic in enumerate(pictures):
        h, w = pic.shape[:2]
        cells = [(y, x) for y in range(0, h, tile) for x in range(0, w, tile)]
        drops = np.zeros(len(cells))
        for k in range(0, len(cells), max(1, batch)):
            if should_stop is not None and should_stop():
                raise ExplainCancelled("The explanation was cancelled.")
            group = []
            for y, x in cells[k:k + batch]:
                covered = [p.copy() for p in pictures]
                covered[i][y:y + tile, x:x + tile] = 0
                group.append(covered)
            with torch.inference_mode():
                lp = _log_probs(chat, chat.inputs(group, chat.fast_prompt))[:, want]
            drops[k:k + len(group)] = ref - lp.float().cpu().numpy()
        heat = np.zeros((h, w))
        for (y, x), d in zip(cells, drops):
            heat[y:y + tile, x:x + tile] = d
        maps.append(heat)
    return maps


def _normalise(raw: np.ndarray, want: int) -> tuple[np.ndarray, list[str]]:
    heat = np.clip(np.nan_to_num(raw), 0, None).astype(np.float32)
    top = float(heat.max())
    if top > 0:
        return heat / top, []
    return heat, [f"No part of the picture raised the model's {STAGE_LABELS[want]} "
                  "probability; the heatmap is empty."]
