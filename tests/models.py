"""Tiny model bundles built from configs into tmp folders (no network, no GPU).

Sizes are minimal (64 px images, 16 px patches, 2-layer towers of width 32) so a bundle
builds, saves and scores a few epochs in well under a second. Bundles are cached per
test session by what they are, so test files share them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

LORA_TARGETS = r".*language_model.*\.self_attn\.(q_proj|v_proj)"
_CACHE: dict[tuple, Path] = {}


def tiny_spec(arch: str = "llava", image_size: int = 64, seed: int = 0,
              split_digits: bool = False):
    from training.tiny_llava import TinyLlavaSpec

    return TinyLlavaSpec(arch=arch, image_size=image_size, patch_size=16, vision_hidden=32,
                         vision_layers=2, vision_heads=2, text_hidden=32, text_layers=2,
                         text_heads=2, text_intermediate=64, seed=seed,
                         split_digits=split_digits)


def render_spec(preset: str = "clinical", size: int = 64):
    from app.core.signals.render_spec import RenderSpec

    return RenderSpec.preset(preset, width=size, height=size)


def card(spec=None, **overrides) -> dict:
    from training.tiny_llava import DEFAULT_PROMPT, LABELS, PROMPT_TEMPLATE

    spec = spec if spec is not None else render_spec()
    base = {"schema_version": 1, "name": "tiny-test", "version": "0.0.1",
            "labels": list(LABELS), "prompt": DEFAULT_PROMPT,
            "prompt_template": PROMPT_TEMPLATE, "render_spec": spec.to_dict(),
            "training_data": {"kind": "none (random weights)"},
            "metrics": {"held_out_synthetic": {"accuracy": 0.2, "kappa": 0.0}},
            "intended_use": "tests", "limitations": "random weights", "synthetic_only": True,
            "licence": "MIT"}
    base.update(overrides)
    return base


def build(arch: str = "llava", seed: int = 0, split_digits: bool = False):
    """A tiny model and processor; ``split_digits`` tokenizes "N1" as "N" + "1" (as the
    real Mistral and Qwen2 tokenizers do)."""
    from training.tiny_llava import build_model_and_processor

    return build_model_and_processor(tiny_spec(arch, seed=seed, split_digits=split_digits))


def full_bundle(root: Path, *, arch: str = "llava", preset: str = "clinical",
                seed: int = 0, split_digits: bool = False, **card_overrides) -> Path:
    from app.core.inference.bundle_writer import save_bundle

    model, processor = build(arch, seed, split_digits)
    spec = render_spec(preset)
    tag = "-split" if split_digits else ""
    return save_bundle(root / f"{arch}-{preset}-{seed}{tag}", model, processor,
                       card(spec, name=f"tiny-{arch}-{preset}", **card_overrides))


def lora_model(base_model, seed: int = 1):
    """A LoRA on the language model's q/v projections with non-zero (random) B weights."""
    import torch
    from peft import LoraConfig, get_peft_model

    cfg = LoraConfig(r=4, lora_alpha=8, target_modules=LORA_TARGETS,
                     modules_to_save=["multi_modal_projector"])
    peft_model = get_peft_model(base_model, cfg)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            if "lora_B" in name:  # B starts at zero: make the adapter change the outputs
                p.copy_(torch.randn(p.shape, generator=gen) * 0.5)
    return peft_model.eval()


def adapter_bundle(root: Path, *, arch: str = "llava"):
    """``(bundle path, in-memory peft model)``; base saved as a plain HF folder beside it."""
    from app.core.inference.bundle_writer import save_bundle

    model, processor = build(arch)
    base = root / f"base-{arch}"
    model.save_pretrained(base)
    processor.save_pretrained(base)
    peft_model = lora_model(model)
    out = save_bundle(root / f"lora-{arch}", peft_model, processor,
                      card(name=f"tiny-lora-{arch}", base_model=str(base.resolve())))
    return out, peft_model


def cached(factory, tmp_path_factory, *key, **kw):
    """Build once per session (tmp_path_factory outlives every test)."""
    return _once(factory, lambda: tmp_path_factory.mktemp("bundles"), *key, **kw)


def _once(factory, root, *key, **kw):
    """``factory(root(), *key, **kw)`` the first time it is asked for, then the same."""
    k = (factory.__name__, key, tuple(sorted(kw.items())))
    if k not in _CACHE:
        _CACHE[k] = factory(root(), *key, **kw)
    return _CACHE[k]


def study(path: Path, n_epochs: int = 8, seed: int = 0, sfreq: float = 128.0) -> Path:
    """A short synthetic AASM study (app.core.synth), else noise on the AASM channels."""
    try:
        from app.core.synth import make_study_file
    except ImportError:
        make_study_file = None
    stages = np.resize([0, 1, 2, 2, 3, 3, 2, 4, 4, 0], n_epochs)
    if make_study_file is not None:
        make_study_file(path, stages=stages, seed=seed, sfreq=sfreq)
        return path
    from conftest import write_edf

    rng = np.random.default_rng(seed)
    n = int(n_epochs * 30 * sfreq)
    names = ("F4-M1", "C4-M1", "O2-M1", "E1-M2", "E2-M2", "Chin1-Chin2", "ECG")
    return write_edf(path, {c: (rng.normal(0, 20, n), sfreq) for c in names})


def onevision_bundle(root: Path) -> Path:
    """A tiny LLaVA-OneVision bundle (SigLIP-style tower, 'full' features, one crop).

    Its processor needs torchvision (for the video processor); callers skip without it.
    """
    from transformers import (
        LlamaConfig,
        LlavaOnevisionConfig,
        LlavaOnevisionForConditionalGeneration,
        LlavaOnevisionProcessor,
        SiglipVisionConfig,
    )
    from transformers.models.llava_onevision import LlavaOnevisionImageProcessorPil

    from app.core.inference.bundle_writer import save_bundle
    from training.tiny_llava import CHAT_TEMPLATE, build_tokenizer

    size, patch = 64, 16
    tok = build_tokenizer()
    tok.add_special_tokens({"additional_special_tokens": ["<image>", "<video>"]})
    image_processor = LlavaOnevisionImageProcessorPil(
        size={"height": size, "width": size}, crop_size={"height": size, "width": size},
        image_grid_pinpoints=[[size, size]], image_mean=[1.0, 1.0, 1.0],
        image_std=[0.5, 0.5, 0.5])
    processor = LlavaOnevisionProcessor(
        image_processor=image_processor, tokenizer=tok, num_image_tokens=(size // patch) ** 2,
        vision_feature_select_strategy="full", chat_template=CHAT_TEMPLATE)
    vision = SiglipVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                num_attention_heads=2, image_size=size, patch_size=patch)
    text = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64,
                       num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2,
                       pad_token_id=tok.pad_token_id, tie_word_embeddings=False)
    config = LlavaOnevisionConfig(
        vision_config=vision, text_config=text,
        image_token_index=tok.convert_tokens_to_ids("<image>"),
        video_token_index=tok.convert_tokens_to_ids("<video>"), vision_feature_layer=-1,
        vision_feature_select_strategy="full", image_grid_pinpoints=[[size, size]])
    model = LlavaOnevisionForConditionalGeneration(config).eval()
    return save_bundle(root / "onevision", model, processor, card(name="tiny-onevision"))


# -- SleepVLM-shaped (Qwen2.5-VL) models -------------------------------------------------
SLEEPVLM_PROMPT = ("You are a sleep technician. Stage the target epoch by the AASM rules as "
                   "W, N1, N2, N3 or R, and answer in JSON.")
TAUGHT_RATIONALE = "Spindles over C4 and a K complex; chin tone low."
TAUGHT_RULES = ["N2.1", "N2.3"]


def sleepvlm_weights(root: Path, taught: bool = True, min_pixels: int = 3136) -> Path:
    """A tiny Qwen2.5-VL weights folder (as downloaded from the hub: config, safetensors,
    processor, README with a licence). ``taught``: trained until it writes SleepVLM's
    JSON answer (a fixed rationale, rules N2.1/N2.3, stage N2) for any pictures."""
    from app.core.inference.importers import SLEEPVLM_USER
    from app.core.inference.layout import AnswerFormat, MessageLayout
    from training.finetune_chat import answer_text
    from training.tiny_qwen import TinyQwenSpec, build_model_and_processor, teach_answer

    model, processor = build_model_and_processor(TinyQwenSpec(min_pixels=min_pixels))
    if taught:
        layout = MessageLayout(SLEEPVLM_PROMPT, tuple(
            ("text", p["text"]) if "text" in p else ("image", p["image"])
            for p in SLEEPVLM_USER))
        fmt = AnswerFormat("json", rationale_key="reasoning_text",
                           rules_key="applicable_rules")
        teach_answer(model, processor, layout.prompt_text(processor),
                     answer_text(fmt, "N2", TAUGHT_RATIONALE, TAUGHT_RULES),
                     _sleepvlm_pictures(root))
    out = root / f"sleepvlm-weights-{'taught' if taught else 'random'}-{min_pixels}"
    model.save_pretrained(out)
    processor.save_pretrained(out)
    (out / "README.md").write_text("---\nlicense: apache-2.0\nbase_model:\n"
                                   "- Qwen/Qwen2.5-VL-3B-Instruct\n---\n# tiny test model\n")
    return out


def _sleepvlm_pictures(root: Path) -> list[list]:
    """Questions of three real ``sleepvlm`` pictures of a synthetic night (what the
    taught model will be shown, so it answers the same way when asked)."""
    from app.core.signals.recording import Recording
    from app.core.signals.render import render_many
    from app.core.signals.render_spec import RenderSpec

    rec = Recording.open(sleepvlm_study(root / "teach.edf", 8, seed=11))
    drawn = np.concatenate(list(render_many(rec, RenderSpec.load("sleepvlm"), np.arange(8))))
    return [[drawn[e - 1], drawn[e], drawn[e + 1]] for e in range(1, 7)]


def sleepvlm_bundle(root: Path, taught: bool = True, variant: str = "fine") -> Path:
    """``psg-lens model import sleepvlm`` of :func:`sleepvlm_weights`."""
    from app.core.inference.importers import import_sleepvlm

    weights = _once(sleepvlm_weights, lambda: root, taught)  # taught once a session
    prompt = root / "prompt.md"
    prompt.write_text(SLEEPVLM_PROMPT, encoding="utf-8")
    return import_sleepvlm(weights, prompt, root / f"sleepvlm-{variant}", variant=variant)


def sleepvlm_study(path: Path, n_epochs: int = 6, seed: int = 0) -> Path:
    """A synthetic study with SleepVLM's six channels (the AASM montage has them all)."""
    from app.core.synth import make_study_file

    make_study_file(path, stages=np.resize([0, 1, 2, 2, 3, 4], n_epochs), seed=seed,
                    sfreq=128.0)
    return path
