"""Stage probabilities from one forward pass: the logits of the label continuations.

The model reads the picture and the prompt; the next-token logits at the last position,
restricted to the first token of each label word (W, N1, N2, N3, REM), softmaxed, are the
stage probabilities. Labels that share their first token (a tokenizer splitting "N1" into
"N" + "1") are told apart at the next position of the same pass: see
:class:`LabelReadout`. No text is generated or parsed in the scoring path.

Also here: choosing a device and dtype, and loading weights offline (safetensors only,
never remote code), since both are torch matters the bundle and engine share.

Examples
--------
>>> plan = label_readout(tokenizer, prompt, ("W", "N1", "N2", "N3", "REM"))  # doctest: +SKIP
>>> inputs = prepare_inputs(processor, images, prompt, device, dtype)        # doctest: +SKIP
>>> stage_probabilities(model, inputs, plan).sum(axis=1)                     # doctest: +SKIP
array([1., 1.], dtype=float32)
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.errors import ModelError

_DTYPES = {"float32": "float32", "fp32": "float32", "float": "float32",
           "float16": "float16", "fp16": "float16", "half": "float16",
           "bfloat16": "bfloat16", "bf16": "bfloat16"}


def resolve_device(device: str | None = "auto", dtype: Any = None):
    """``(torch.device, torch.dtype)``: CUDA (bf16 if supported, else fp16) > MPS > CPU fp32.

    ``device`` is ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``; under a multi-process
    launch ``auto`` takes the GPU of ``LOCAL_RANK``. ``dtype`` overrides the choice.
    """
    import torch

    name = (device or "auto").lower()
    if name == "auto":
        if torch.cuda.is_available():
            local = int(os.environ.get("LOCAL_RANK", "0") or 0)
            name = f"cuda:{local % torch.cuda.device_count()}"
        elif _mps_available():
            name = "mps"
        else:
            name = "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ModelError("CUDA was asked for but no CUDA GPU is available to PyTorch here; "
                         "use --device cpu (or auto).")
    if name == "mps" and not _mps_available():
        raise ModelError("MPS (Apple GPU) was asked for but is not available here; use "
                         "--device cpu (or auto).")
    try:
        dev = torch.device(name)
    except (RuntimeError, ValueError) as err:
        raise ModelError(f"Unknown device {device!r}; use auto, cpu, cuda or mps.") from err
    if dtype is not None:
        return dev, _to_dtype(dtype)
    if dev.type == "cuda":
        with torch.cuda.device(dev):
            return dev, torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if dev.type == "mps":
        return dev, torch.float16
    return dev, torch.float32


def _mps_available() -> bool:
    import torch

    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def _to_dtype(dtype: Any):
    import torch

    if isinstance(dtype, torch.dtype):
        return dtype
    key = _DTYPES.get(str(dtype).lower().replace("torch.", ""))
    if key is None:
        raise ModelError(f"Unknown dtype {dtype!r}; use float32, float16 or bfloat16.")
    return getattr(torch, key)


@contextlib.contextmanager
def quiet_loading():
    """No per-tensor progress bars from transformers while we draw our own."""
    from transformers.utils import logging as hf_logging

    was = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was:
            hf_logging.enable_progress_bar()


def load_weights(bundle, *, device: str | None = "auto", dtype: Any = None,
                 quantize: str | None = None):
    """Build the model of ``bundle`` on its device, in eval mode (LoRA merged unless quantized)."""
    from transformers import AutoModelForImageTextToText

    dev, dt = resolve_device(device, dtype)
    kwargs: dict[str, Any] = dict(local_files_only=not bundle.allow_download,
                                  trust_remote_code=False, use_safetensors=True, dtype=dt)
    if quantize:
        kwargs["quantization_config"] = _quantization_config(quantize, dev, dt)
        kwargs["device_map"] = {"": dev.index or 0}
    try:
        with quiet_loading():
            model = AutoModelForImageTextToText.from_pretrained(bundle.base_ref, **kwargs)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as err:
        raise ModelError(f"The model of {bundle.display} cannot be loaded: "
                         f"{first_line(err)}") from err
    arch = bundle.card.get("architecture")
    if arch and arch != type(model).__name__:
        bundle.notices.append(f"The card says {arch} but the weights built "
                              f"{type(model).__name__}.")
    if bundle.adapter_path is not None:
        from peft import PeftModel

        try:
            model = PeftModel.from_pretrained(model, str(bundle.adapter_path),
                                              is_trainable=False)
        except (OSError, ValueError, KeyError, RuntimeError) as err:
            raise ModelError(f"The LoRA adapter of {bundle.display} does not fit its base "
                             f"model: {first_line(err)}") from err
        if not quantize:  # a plain model is faster and what explanations expect
            model = model.merge_and_unload()
    if not quantize:
        model = model.to(dev)
    return model.eval()


def _quantization_config(quantize: str, dev, dt):
    from transformers import BitsAndBytesConfig

    if quantize not in ("4bit", "8bit"):
        raise ModelError(f"Unknown quantization {quantize!r}; use 4bit or 8bit.")
    if importlib.util.find_spec("bitsandbytes") is None:
        raise ModelError(f"{quantize} quantization needs the bitsandbytes package, which is "
                         "not installed; install it (pip install bitsandbytes) or run "
                         "without quantization.")
    if dev.type != "cuda":
        raise ModelError(f"{quantize} quantization runs on a CUDA GPU only; use --device "
                         "cuda or run without quantization.")
    if quantize == "4bit":
        return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_compute_dtype=dt,
                                  bnb_4bit_quant_type="nf4")
    return BitsAndBytesConfig(load_in_8bit=True)


@dataclass(frozen=True)
class LabelReadout:
    """How the labels' probabilities are read from ONE forward pass.

    Each label is a token sequence after the prompt. When every label starts with its own
    token, the readout is the softmax of those first tokens' logits at the prompt's last
    position. Real tokenizers often split labels that share a start ("N1", "N2", "N3" ->
    "▁N" + digit): then the shared start (``path``) is appended to the prompt, and the
    logits at each appended position tell the group's members apart, still in one pass::

        P(N2) = P("▁N" | prompt) * P("2" | prompt "▁N")

    each factor a softmax over the choices the labels offer at that point. ``exits[i]`` is
    ``(depth, token)``: where label ``i`` leaves ``path`` and by which token.
    """

    labels: tuple[str, ...]
    path: tuple[int, ...]
    exits: tuple[tuple[int, int], ...]

    @property
    def positions(self) -> int:
        """How many last positions' logits the readout needs (``logits_to_keep``)."""
        return len(self.path) + 1

    @property
    def first_ids(self) -> tuple[int, ...]:
        """The first token of each label (shared by a group's members)."""
        return tuple(self.path[0] if d > 0 else t for d, t in self.exits)

    def choices(self, depth: int) -> list[int]:
        """The tokens the labels offer at ``depth`` along the path (softmax support)."""
        out = sorted({t for d, t in self.exits if d == depth})
        return out + [self.path[depth]] if depth < len(self.path) else out

    def extend(self, inputs: dict) -> dict:
        """Inputs with ``path`` appended to every prompt (nothing to do without a path)."""
        if not self.path:
            return inputs
        import torch

        ids = inputs["input_ids"]
        tail = torch.tensor(self.path, dtype=ids.dtype, device=ids.device).expand(
            ids.shape[0], -1)
        out = dict(inputs)
        for k, v in inputs.items():  # per-token tensors grow with it: mask 1, types 0
            if (isinstance(v, torch.Tensor) and k != "input_ids" and v.shape == ids.shape
                    and not torch.is_floating_point(v)):
                fill = torch.ones if k == "attention_mask" else torch.zeros
                out[k] = torch.cat([v, fill(tail.shape, dtype=v.dtype, device=v.device)], 1)
        out["input_ids"] = torch.cat([ids, tail], 1)
        return out

    def log_probs(self, logits):
        """(n, n_labels) log-probabilities from (n, >= positions, vocab) logits."""
        import torch

        k = self.positions
        steps = []
        for depth in range(k):
            support = self.choices(depth)
            lp = logits[:, logits.shape[1] - k + depth, support].float().log_softmax(-1)
            steps.append({tok: lp[:, j] for j, tok in enumerate(support)})
        cols = []
        for depth, token in self.exits:
            col = steps[depth][token]
            for d in range(depth):
                col = col + steps[d][self.path[d]]
            cols.append(col)
        return torch.stack(cols, dim=1)

    def describe(self, tokenizer=None) -> str:
        """``W=▁W, N1=▁N+1, …``: the tokens each label is read by."""
        def piece(i: int) -> str:
            return str(tokenizer.convert_ids_to_tokens(int(i))) if tokenizer else str(i)

        parts = []
        for lab, (depth, token) in zip(self.labels, self.exits):
            toks = [*self.path[:depth], token]
            parts.append(f"{lab}=" + "+".join(piece(t) for t in toks))
        return ", ".join(parts)


def label_readout(tokenizer, prompt: str, labels: Sequence[str], *,
                  source: str = "the model", joiner: str = " ") -> LabelReadout:
    """Plan the one-pass readout of ``labels`` after ``prompt``, or a ModelError saying why.

    ``joiner`` is what separates the prompt from a label: a space after "ASSISTANT:",
    nothing inside a JSON string (``"sleep_stage": "`` + ``N2``).

    Labels may share starting tokens as long as ONE shared path tells them all apart (the
    usual case: "N1/N2/N3" sharing "▁N"); a label that is a prefix of another, or two
    separate shared groups, cannot be read in one pass.
    """
    base = list(tokenizer(prompt, add_special_tokens=False)["input_ids"])
    unk = getattr(tokenizer, "unk_token_id", None)
    seqs = []
    for label in labels:
        full = list(tokenizer(f"{prompt}{joiner}{label}",
                              add_special_tokens=False)["input_ids"])
        if len(full) <= len(base) or full[:len(base)] != base:
            raise ModelError(f"The label {label!r} of {source} does not tokenize as a "
                             "continuation of the prompt, so its probability cannot be read "
                             "after the prompt.")
        seq = full[len(base):]
        if unk is not None and unk in seq:
            raise ModelError(f"The label {label!r} of {source} is unknown to its tokenizer.")
        seqs.append([int(t) for t in seq])
    for i, a in enumerate(seqs):
        for j in range(i):
            if seqs[j] == a:
                raise ModelError(f"The labels {labels[j]!r} and {labels[i]!r} of {source} "
                                 "tokenize the same, so they cannot be told apart; rename "
                                 "the labels in the card, or retrain.")
    path: list[int] = []
    exits: dict[int, tuple[int, int]] = {}
    active = list(range(len(labels)))
    while active:
        depth = len(path)
        ended = [i for i in active if len(seqs[i]) == depth]
        if ended:
            i = ended[0]
            other = next(j for j in active if j != i)
            raise ModelError(f"The label {labels[i]!r} of {source} is the start of "
                             f"{labels[other]!r} (as tokens), so one forward pass cannot "
                             "tell them apart; rename the labels in the card, or retrain.")
        groups: dict[int, list[int]] = {}
        for i in active:
            groups.setdefault(seqs[i][depth], []).append(i)
        shared = [g for g in groups.values() if len(g) > 1]
        if len(shared) > 1:
            names = " and ".join("/".join(labels[i] for i in g) for g in shared)
            raise ModelError(f"The labels {names} of {source} form two groups that share "
                             "starting tokens; one forward pass can read only one such "
                             "group. Rename the labels in the card, or retrain.")
        for tok, g in groups.items():
            if len(g) == 1:
                exits[g[0]] = (depth, tok)
        if not shared:
            break
        path.append(seqs[shared[0][0]][depth])
        active = shared[0]
    return LabelReadout(tuple(labels), tuple(path),
                        tuple(exits[i] for i in range(len(labels))))


def prepare_inputs(processor, images: Sequence[np.ndarray], prompt: str, device, dtype
                   ) -> dict:
    """Processor tensors for a batch of (H, W, 3) uint8 images, on ``device``."""
    import torch

    imgs = [np.ascontiguousarray(im) for im in images]
    inputs = processor(images=imgs, text=[prompt] * len(imgs), return_tensors="pt",
                       padding=True)
    out = {}
    for k, v in inputs.items():
        if isinstance(v, torch.Tensor):
            v = v.to(device, dtype=dtype) if torch.is_floating_point(v) else v.to(device)
        out[k] = v
    return out


def stage_probabilities(model, inputs: dict, readout: LabelReadout) -> np.ndarray:
    """(n, n_labels) float32 probabilities from one forward pass (see :class:`LabelReadout`)."""
    import torch

    with torch.inference_mode():
        out = model(**readout.extend(inputs), logits_to_keep=readout.positions)
        return readout.log_probs(out.logits).exp().cpu().numpy()


def is_out_of_memory(err: BaseException) -> bool:
    """CUDA OOM, or the RuntimeError MPS raises when it runs out of memory."""
    import torch

    if isinstance(err, torch.cuda.OutOfMemoryError):
        return True
    return isinstance(err, RuntimeError) and "out of memory" in str(err).lower()


def free_accelerator_memory() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    mps = getattr(torch, "mps", None)
    if _mps_available() and mps is not None and hasattr(mps, "empty_cache"):
        mps.empty_cache()


def first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return (text[0] if text else type(err).__name__).rstrip(".") + "."
