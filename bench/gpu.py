"""Epochs per second on a CUDA GPU, in bf16, for the model sizes GPU users bring.

Run: ``python bench/gpu.py [--epochs 64] [--batch-size 16] [--new-tokens 160]`` from the
project root, on a machine with a CUDA GPU (on one without, it says so and exits 0).
Prints, does not assert.

Models, random weights from the published config shapes (speed does not depend on the
weights; nothing is downloaded):

* SleepVLM-shaped: Qwen2.5-VL-3B-Instruct (vision 32 x 1280, language 36 x 2048, GQA
  16/2 heads), asked SleepVLM's question (system prompt of about SleepVLM's length,
  three 448x224 pictures) through :class:`app.core.inference.chat_readout.ChatScorer`,
  the engine's own model path, in both modes: ``fast`` (one forward pass) and
  ``rationale`` (greedy generation with the KV cache; random weights never write the
  stage key, so every answer runs to ``--new-tokens``, about a real rationale's length).
* LLaVA-NeXT-7B-shaped: CLIP ViT-L/14-336 + Mistral-7B (32 x 4096, GQA 32/8), one
  336x336 picture, the one-pass label readout
  (:func:`app.core.inference.readout.stage_probabilities`).

For each: epochs/s, and the ratio of the FLOPs it achieved (2 x parameters x tokens) to
the GPU's dense bf16 peak (``--peak-tflops``, default the H100/H200 SXM's 989), the
"FLOP-limit ratio". Pictures are drawn once beforehand; drawing is timed separately by
``bench/render.py`` and ``bench/engine.py``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

QWEN25_VL_3B = dict(
    vision=dict(depth=32, hidden_size=1280, intermediate_size=3420, num_heads=16,
                out_hidden_size=2048, patch_size=14, spatial_merge_size=2,
                temporal_patch_size=2, window_size=112, fullatt_block_indexes=[7, 15, 23, 31],
                in_chans=3),
    text=dict(vocab_size=151936, hidden_size=2048, intermediate_size=11008,
              num_hidden_layers=36, num_attention_heads=16, num_key_value_heads=2,
              max_position_embeddings=128000, rope_theta=1000000.0,
              rope_scaling={"type": "mrope", "mrope_section": [16, 24, 24]},
              tie_word_embeddings=True))
SYSTEM_PROMPT_CHARS = 10_000  # SleepVLM's system prompt is about 10 kB


def _sleepvlm_scorer(device, dtype):
    import torch
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    from app.core.inference.chat_readout import ChatScorer
    from app.core.inference.importers import SLEEPVLM_LABELS, SLEEPVLM_USER
    from app.core.inference.layout import AnswerFormat, MessageLayout
    from training.tiny_qwen import TinyQwenSpec, build_processor

    processor = build_processor(TinyQwenSpec())
    ids = processor.tokenizer.convert_tokens_to_ids
    cfg = Qwen2_5_VLConfig(
        vision_config=QWEN25_VL_3B["vision"], text_config=QWEN25_VL_3B["text"],
        image_token_id=ids("<|image_pad|>"), video_token_id=ids("<|video_pad|>"),
        vision_start_token_id=ids("<|vision_start|>"),
        vision_end_token_id=ids("<|vision_end|>"))
    with torch.device(device):
        model = Qwen2_5_VLForConditionalGeneration._from_config(cfg, dtype=dtype).eval()
    words = "Stage the target epoch by the AASM rules: W, N1, N2, N3 or R. "
    system = (words * (SYSTEM_PROMPT_CHARS // len(words) + 1))[:SYSTEM_PROMPT_CHARS]
    layout = MessageLayout(system, tuple(("text", p["text"]) if "text" in p else
                                         ("image", p["image"]) for p in SLEEPVLM_USER))
    fmt = AnswerFormat("json", rationale_key="reasoning_text", rules_key="applicable_rules")
    return ChatScorer(model, processor, layout, fmt, SLEEPVLM_LABELS, device, dtype), model


def _llava_next_7b(device, dtype):
    import torch
    from transformers import (
        CLIPVisionConfig,
        LlavaNextConfig,
        LlavaNextForConditionalGeneration,
        MistralConfig,
    )

    from training.tiny_llava import TinyLlavaSpec, build_processor

    spec = TinyLlavaSpec(arch="llava_next", image_size=336, patch_size=14)
    processor = build_processor(spec)
    tok = processor.tokenizer
    vision = CLIPVisionConfig(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24,
                              num_attention_heads=16, image_size=336, patch_size=14,
                              projection_dim=768)
    text = MistralConfig(vocab_size=32064, hidden_size=4096, intermediate_size=14336,
                         num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=8,
                         max_position_embeddings=32768)
    cfg = LlavaNextConfig(vision_config=vision, text_config=text,
                          image_token_index=tok.convert_tokens_to_ids("<image>"),
                          vision_feature_layer=-2, vision_feature_select_strategy="default",
                          image_grid_pinpoints=[[336, 336]])
    with torch.device(device):
        model = LlavaNextForConditionalGeneration._from_config(cfg, dtype=dtype).eval()
    return model, processor


def _params(model) -> int:
    return sum(p.numel() for p in model.parameters())


def _timed(fn, repeats: int) -> float:
    import torch

    fn()  # warm-up: kernels, allocator, cuDNN choices
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(repeats):
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - t0) / repeats


def bench_sleepvlm(args, device, dtype) -> None:
    scorer, model = _sleepvlm_scorer(device, dtype)
    n_params = _params(model)
    rng = np.random.default_rng(0)
    pictures = [[rng.integers(0, 255, (224, 448, 3), dtype=np.uint8) for _ in range(3)]
                for _ in range(args.batch_size)]
    prompt_tokens = int(scorer.inputs(pictures[:1], scorer.fast_prompt)["input_ids"].shape[1])
    scorer.fmt = type(scorer.fmt)(**{**scorer.fmt.__dict__, "max_new_tokens": args.new_tokens})
    # random weights: an end-of-answer token no one emits, so every answer is
    # --new-tokens long (a real model stops at the stage key, a rationale's length in)
    scorer.eos_id = QWEN25_VL_3B["text"]["vocab_size"] - 1
    print(f"SleepVLM-shaped Qwen2.5-VL-3B: {n_params / 1e9:.2f} B parameters, "
          f"{prompt_tokens} prompt tokens per epoch (3 pictures x 128 + text)")
    for mode in ("fast", "rationale"):
        sec = _timed(lambda m=mode: scorer.score(pictures, m), args.repeats)
        eps = args.batch_size / sec
        tokens = prompt_tokens + (args.new_tokens if mode == "rationale" else 0)
        _report(f"  {mode:<9}", eps, n_params, tokens, args.peak_tflops,
                extra=f"batch {args.batch_size}" + (f", {args.new_tokens} new tokens"
                                                    if mode == "rationale" else ""))



def bench_llava_next(args, device, dtype) -> None:
    import torch

    from app.core.inference.readout import label_readout, prepare_inputs, stage_probabilities
    from training.tiny_llava import LABELS, PROMPT_TEMPLATE

    model, processor = _llava_next_7b(device, dtype)
    n_params = _params(model)
    prompt = PROMPT_TEMPLATE.replace("{prompt}", "Classify the PSG. Choose from: W, N1, N2, "
                                                 "N3, REM.")
    readout = label_readout(processor.tokenizer, prompt, LABELS)
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (336, 336, 3), dtype=np.uint8)
              for _ in range(args.batch_size)]
    inputs = prepare_inputs(processor, images, prompt, device, dtype)
    tokens = int(inputs["input_ids"].shape[1])
    print(f"LLaVA-NeXT-7B-shaped (CLIP-L/336 + Mistral-7B): {n_params / 1e9:.2f} B "
          f"parameters, {tokens} tokens per epoch")
    sec = _timed(lambda: stage_probabilities(model, inputs, readout), args.repeats)
    _report("  one pass ", args.batch_size / sec, n_params, tokens, args.peak_tflops,
            extra=f"batch {args.batch_size}")

    torch.cuda.empty_cache()


def _report(label: str, eps: float, n_params: int, tokens: int, peak_tflops: float,
            extra: str) -> None:
    achieved = eps * 2.0 * n_params * tokens
    print(f"{label} {eps:8.2f} epochs/s  ({extra}); FLOP-limit ratio "
          f"{achieved / (peak_tflops * 1e12):.3f} of {peak_tflops:g} TFLOP/s bf16")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--new-tokens", type=int, default=160)
    p.add_argument("--peak-tflops", type=float, default=989.0)
    p.add_argument("--only", choices=("sleepvlm", "llava-next"))
    args = p.parse_args(argv)
    import torch

    if not torch.cuda.is_available():
        print("bench/gpu.py: no CUDA GPU here (torch sees none), so there is nothing to "
              "measure; run it on a machine with one.")
        return 0
    device, dtype = torch.device("cuda"), torch.bfloat16
    print(f"GPU: {torch.cuda.get_device_name(0)}; bf16; torch {torch.__version__}")
    if args.only in (None, "sleepvlm"):
        bench_sleepvlm(args, device, dtype)
        torch.cuda.empty_cache()
    if args.only in (None, "llava-next"):
        bench_llava_next(args, device, dtype)
    return 0


if __name__ == "__main__":
    sys.exit(main())
