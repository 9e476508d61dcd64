"""The attribution methods, on the model's own normalised pixels (captum).

Every method explains one number: the log-probability of a stage from the engine's
readout (softmax over the five label-token logits after the prompt; see ``LabelReadout``). The
prompt tokens stay fixed; only ``pixel_values`` change, so perturbations skip the
processor. "Removing" a region means painting it with the render spec's background
colour, pushed through the bundle's own processor, i.e. in the model's normalised pixel
space (a blank stretch of paper, not black).

- ``ablation``: captum ``FeatureAblation`` over the vision encoder's patch grid (the
  paper's method): one forward pass per patch.
- ``occlusion``: captum ``Occlusion``, a square window (2 patches) sliding by one patch;
  each pixel gets the mean effect of the windows covering it.
- ``ig``: captum ``IntegratedGradients`` from the background, per pixel, summed over
  colour channels and then over patches (completeness: the patch sums add up to
  f(image) - f(background)).
- ``rollout``: attention rollout through the vision tower's layers that feed the
  language model (eager attention, switched on for the call and back, so nothing else
  may run the model meanwhile: the GUI's single model worker sees to that).
  Class-agnostic: the same map for every stage.

Examples
--------
>>> probe = Probe(engine, image, stage=2)                  # doctest: +SKIP
>>> pixel_map = run(probe, "ablation")                     # doctest: +SKIP
>>> pixel_map.shape == probe.grid_shape                    # doctest: +SKIP
True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from app.errors import ModelError, PSGLensError

METHODS = ("ablation", "occlusion", "ig", "rollout")
IG_STEPS = 16
OCCLUSION_PATCHES = 2  # window side, in patches


class ExplainError(PSGLensError, ValueError):
    """An explanation was asked for with a method, stage or image it cannot take."""


class ExplainCancelled(PSGLensError):
    """``should_stop`` returned True (or the user declined the cost): nothing was kept."""


def check_method(method: str) -> str:
    name = str(method).strip().lower()
    aliases = {"feature_ablation": "ablation", "integrated_gradients": "ig",
               "integrated-gradients": "ig", "attention": "rollout"}
    name = aliases.get(name, name)
    if name not in METHODS:
        raise ExplainError(f"Unknown explanation method {method!r}; use ablation, occlusion, "
                           "ig (integrated gradients) or rollout (attention rollout).")
    return name


def patch_size(model) -> int:
    """The vision encoder's patch side in pixels (from its config)."""
    vcfg = getattr(model.config, "vision_config", None)
    size = getattr(vcfg, "patch_size", None)
    if not size:
        raise ExplainError(f"The model ({type(model).__name__}) has no vision_config."
                           "patch_size, so its patch grid is unknown.")
    return int(size)


class Probe:
    """One image, prepared once: model inputs, the background baseline and the target.

    Calling it on a batch of ``pixel_values`` returns the target's log-probability per
    item; it counts forward items for ``progress`` and raises :class:`ExplainCancelled`
    when ``should_stop`` says so (checked before every batch).
    """

    def __init__(self, engine, image: np.ndarray, *, stage: int | None = None,
                 background: tuple[int, int, int] | None = None,
                 should_stop: Callable[[], bool] | None = None,
                 progress: Callable[[int, int], None] | None = None) -> None:
        import torch

        from app.core.inference.readout import prepare_inputs

        self.engine = engine
        self.model = engine.model
        self.readout = engine.readout
        self.should_stop, self.progress = should_stop, progress
        self.done, self.total = 0, 1
        spec = getattr(engine, "spec", None)
        bg = background or (spec.background if spec is not None else (255, 255, 255))
        image = np.ascontiguousarray(image, dtype=np.uint8)
        blank = np.empty_like(image)
        blank[...] = np.asarray(bg, np.uint8)
        prompt, dev, dt = engine.bundle.prompt, engine.device, engine.dtype
        # the label path (if any) is part of the prompt: every pass reads the same way
        self.inputs = engine.readout.extend(
            prepare_inputs(engine.processor, [image], prompt, dev, dt))
        self.pixels = self.inputs["pixel_values"]
        self.baseline = prepare_inputs(engine.processor, [blank], prompt, dev,
                                       dt)["pixel_values"]
        if self.pixels.shape != self.baseline.shape:
            raise ExplainError("The processor turns a blank picture into a different "
                               "tensor shape than the epoch's, so no baseline exists.")
        self.grid_shape = tuple(int(v) for v in self.pixels.shape[-2:])
        self.patch = patch_size(self.model)
        with torch.inference_mode():
            logp = self._log_probs(self.inputs)
        self.log_probs = logp[0].float().cpu().numpy()
        self.probabilities = np.exp(self.log_probs).astype(np.float32)
        self.stage = int(np.argmax(self.log_probs)) if stage is None else int(stage)

    def _log_probs(self, inputs: dict):
        out = self.model(**inputs, logits_to_keep=self.readout.positions)
        return self.readout.log_probs(out.logits)

    def batch_inputs(self, pixel_values) -> dict[str, Any]:
        """The fixed prompt tensors expanded to the batch (captum's internal batches)."""
        b = int(pixel_values.shape[0])
        out: dict[str, Any] = {}
        for k, v in self.inputs.items():
            if k == "pixel_values":
                out[k] = pixel_values
            elif hasattr(v, "shape") and v.ndim and v.shape[0] == 1 and b != 1:
                out[k] = v.expand(b, *v.shape[1:])
            else:
                out[k] = v
        return out

    def check_stop(self) -> None:
        if self.should_stop is not None and self.should_stop():
            raise ExplainCancelled("The explanation was cancelled before it finished.")

    def tick(self, n: int) -> None:
        self.done += n
        if self.progress is not None:
            self.progress(min(self.done, self.total), self.total)

    def __call__(self, pixel_values):
        self.check_stop()
        out = self._log_probs(self.batch_inputs(pixel_values))[:, self.stage]
        self.tick(int(pixel_values.shape[0]))
        return out


# -- forward-pass counts (for progress and the cost estimate) ------------------------
def n_patches(shape: tuple[int, int], patch: int) -> tuple[int, int]:
    return max(1, shape[0] // patch), max(1, shape[1] // patch)


def occlusion_geometry(shape: tuple[int, int], patch: int) -> tuple[int, int, int]:
    """``(window, stride, n_windows)`` of the sliding window on a (H, W) grid."""
    window = min(OCCLUSION_PATCHES * patch, *shape)
    stride = patch
    ny = (shape[0] - window + stride - 1) // stride + 1
    nx = (shape[1] - window + stride - 1) // stride + 1
    return window, stride, ny * nx


def forward_items(method: str, shape: tuple[int, int], patch: int, *,
                  n_steps: int = IG_STEPS) -> tuple[int, float]:
    """``(forward items, cost of one item in forward passes)`` for ``method``.

    Backward passes cost about twice a forward pass, so an IG step counts as 3.
    """
    gh, gw = n_patches(shape, patch)
    if method == "ablation":
        return gh * gw + 1, 1.0
    if method == "occlusion":
        return occlusion_geometry(shape, patch)[2] + 1, 1.0
    if method == "ig":
        return n_steps, 3.0
    return 1, 0.5  # rollout: the vision tower once


# -- the methods ---------------------------------------------------------------------
def _reduce(attr, how: str) -> np.ndarray:
    """(1, ..., H, W) attribution -> (H, W) over colour channels (and crops)."""
    a = attr.detach().float().cpu().numpy()
    a = a.reshape(-1, *a.shape[-2:])
    return (a.mean(axis=0) if how == "mean" else a.sum(axis=0)).astype(np.float32)


def run(probe: Probe, method: str, *, perturbations_per_eval: int = 8,
        n_steps: int = IG_STEPS) -> np.ndarray:
    """Signed (H, W) attribution on the model's pixel grid (log-probability units).

    Ablation/occlusion: the drop in log-probability when the region is painted over.
    IG: per-pixel integrated gradients summed over colour channels. Rollout: the share
    of attention flowing from each patch (non-negative, sums to 1 over patches).
    """
    import torch

    ppe = max(1, int(perturbations_per_eval))
    probe.total, probe.done = forward_items(method, probe.grid_shape, probe.patch,
                                            n_steps=n_steps)[0], 0
    probe.check_stop()
    if method == "rollout":
        return rollout(probe)
    if method == "ig":
        from captum.attr import IntegratedGradients

        with torch.enable_grad():
            attr = IntegratedGradients(probe).attribute(
                probe.pixels, baselines=probe.baseline, n_steps=n_steps,
                internal_batch_size=ppe)
        return _reduce(attr, "sum")
    if method == "ablation":
        from captum.attr import FeatureAblation

        ids = patch_ids_tensor(probe)
        attr = FeatureAblation(probe).attribute(
            probe.pixels, baselines=probe.baseline, feature_mask=ids,
            perturbations_per_eval=ppe)
        return _reduce(attr, "mean")
    if method == "occlusion":
        from captum.attr import Occlusion

        window, stride, _ = occlusion_geometry(probe.grid_shape, probe.patch)
        lead = tuple(int(v) for v in probe.pixels.shape[1:-2])  # (C,) or (crops, C)
        attr = Occlusion(probe).attribute(
            probe.pixels, sliding_window_shapes=(*lead, window, window),
            strides=(*lead, stride, stride), baselines=probe.baseline,
            perturbations_per_eval=ppe)
        return _reduce(attr, "mean")
    raise ExplainError(f"Unknown explanation method {method!r}.")


def patch_ids_tensor(probe: Probe):
    """Feature mask: every pixel of a patch (all colours, all crops) is one feature."""
    import torch

    from app.core.explain.mapping import patch_ids

    ids = torch.as_tensor(patch_ids(probe.grid_shape, probe.patch), device=probe.pixels.device)
    return ids.reshape(*(1,) * (probe.pixels.ndim - 2), *probe.grid_shape)


def _vision_tower(model):
    for path in ("model.vision_tower", "vision_tower", "model.vision_model"):
        obj = model
        for part in path.split("."):
            obj = getattr(obj, part, None)
            if obj is None:
                break
        if obj is not None:
            return obj[0] if isinstance(obj, (list, tuple)) else obj
    return None


def rollout(probe: Probe) -> np.ndarray:
    """Attention rollout (Abnar & Zuidema 2020) over the patch grid, painted on pixels.

    Each used layer's head-averaged attention plus the residual (0.5 A + 0.5 I, rows
    renormalised) is multiplied through; a patch's importance is the attention that the
    tokens handed to the language model receive from it, averaged over those tokens.
    """
    import torch

    from app.core.explain.mapping import expand_patches

    model, name = probe.model, probe.engine.name
    tower = _vision_tower(model)
    vcfg = getattr(model.config, "vision_config", None)
    if tower is None or vcfg is None:
        raise ExplainError(f"The model {name} has no vision tower PSG Lens can find, so "
                           "attention rollout cannot be computed; use ablation, occlusion "
                           "or ig.")
    previous = getattr(vcfg, "_attn_implementation", None)
    switched = False
    if previous != "eager":  # sdpa/flash return no attention weights (silently)
        try:
            model.set_attn_implementation({"vision_config": "eager"})
            switched = True
        except (AttributeError, ValueError, TypeError, KeyError):
            pass
    try:
        px = probe.pixels.reshape(-1, *probe.pixels.shape[-3:])
        with torch.inference_mode():
            out = tower(px, output_attentions=True)
        atts = getattr(out, "attentions", None)
    finally:
        if switched:
            model.set_attn_implementation({"vision_config": previous})
    if not atts or any(a is None for a in atts):
        raise ExplainError(f"The vision tower of {name} does not return attention weights "
                           f"(attention implementation {previous!r}), so attention rollout "
                           "cannot be computed; use ablation, occlusion or ig.")
    probe.tick(1)
    used = _used_layers(model, len(atts))
    gh, gw = n_patches(probe.grid_shape, probe.patch)
    scores = np.zeros(gh * gw)
    for crop in range(px.shape[0]):
        scores += _rollout_scores([a[crop] for a in atts[:used]], gh * gw,
                                  _keeps_cls(model))
    scores /= max(scores.sum(), 1e-12)
    return expand_patches(scores.reshape(gh, gw), probe.grid_shape, probe.patch)


def _used_layers(model, n_layers: int) -> int:
    """How many encoder layers feed the language model (vision_feature_layer)."""
    layer = getattr(model.config, "vision_feature_layer", -1)
    if isinstance(layer, (list, tuple)):
        idx = [v if v >= 0 else n_layers + 1 + v for v in layer]
        return int(max(idx))
    layer = int(layer)
    return layer if layer >= 0 else n_layers + 1 + layer  # hidden_states[k] follows layer k


def _keeps_cls(model) -> bool:
    return getattr(model.config, "vision_feature_select_strategy", "default") == "full"


def _rollout_scores(atts: list, n_patch: int, keep_cls: bool) -> np.ndarray:
    """Rollout of per-layer (heads, T, T) attention; importance of the last ``n_patch``
    tokens (any CLS/register tokens come first) for the tokens handed on."""
    import torch

    t = int(atts[0].shape[-1]) if atts else n_patch
    roll = torch.eye(t, dtype=torch.float64)
    eye = torch.eye(t, dtype=torch.float64)
    for a in atts:
        a = a.detach().double().cpu().mean(dim=0)
        a = 0.5 * a + 0.5 * eye
        roll = (a / a.sum(dim=-1, keepdim=True)) @ roll
    extra = t - n_patch
    rows = roll if keep_cls else roll[extra:]
    return rows[:, extra:].mean(dim=0).numpy()


def check_model(engine) -> None:
    """A clear error before any work when the engine is not a vision-language model."""
    if not hasattr(engine, "model") or not hasattr(engine, "processor"):
        raise ModelError(f"{getattr(engine, 'name', 'This engine')} is not a vision-language "
                         "model, so there is no picture to explain (YASA reads features).")
