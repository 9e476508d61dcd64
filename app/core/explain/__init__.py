"""Explanations a technician can check: saliency over the model's own picture.

Four methods (:data:`METHODS`): patch feature ablation (the paper's), sliding-window
occlusion, integrated gradients and attention rollout, each mapped through
``layout(spec)`` to per-channel and per-second importance and to a few regions in words.
:mod:`app.core.explain.faithfulness` measures whether the maps are faithful.

Examples
--------
>>> from app.core.explain import explain_epoch                      # doctest: +SKIP
>>> ex = explain_epoch(engine, recording, 12)                       # doctest: +SKIP
>>> print(ex.table())                                               # doctest: +SKIP
"""

from __future__ import annotations

from app.core.explain.api import (
    CostEstimate,
    ExplainCostWarning,
    Explanation,
    clear_cache,
    estimate_cost,
    explain_epoch,
    explain_image,
    resolve_stage,
)
from app.core.explain.mapping import Region, channel_time, colormap, overlay, top_regions
from app.core.explain.methods import METHODS, ExplainCancelled, ExplainError

DEFAULT_METHOD = "ablation"

__all__ = ["DEFAULT_METHOD", "METHODS", "CostEstimate", "ExplainCancelled",
           "ExplainCostWarning", "ExplainError", "Explanation", "Region", "channel_time",
           "clear_cache", "colormap", "estimate_cost", "explain_epoch", "explain_image",
           "overlay", "resolve_stage", "top_regions"]
