"""Inference: model bundles, the stage engine, its readout, HMM smoothing, and YASA.

Nothing heavy is imported here: torch and transformers load when a model does.
"""

from __future__ import annotations

from app.core.inference.bundle import Bundle, load_bundle
from app.core.inference.bundle_writer import save_bundle
from app.core.inference.engine import EpochBatchResult, StageEngine, drain
from app.core.inference.smoothing import forward_backward, smooth_hypnogram, viterbi
from app.core.inference.yasa_engine import YasaEngine

__all__ = ["Bundle", "EpochBatchResult", "StageEngine", "YasaEngine", "drain",
           "forward_backward", "load_bundle", "save_bundle", "smooth_hypnogram", "viterbi"]
