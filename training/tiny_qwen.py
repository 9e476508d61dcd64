"""Build small Qwen2.5-VL models from configs, with a tokenizer made locally.

The test stand-in for SleepVLM (Qwen2.5-VL-3B): the same classes, the same processor,
the same chat format (``<|im_start|>`` turns, ``<|vision_start|><|image_pad|>
<|vision_end|>`` per picture) and a byte-level BPE tokenizer with Qwen2's
pre-tokenizer, so a JSON answer such as ``"sleep_stage": "N2"`` splits the way it does
in the real model (`` "`` + ``N`` + ``2``). Nothing is downloaded; weights are random
until trained (:mod:`training.finetune_layout`).

Examples
--------
>>> from training.tiny_qwen import TinyQwenSpec, build_model_and_processor
>>> model, processor = build_model_and_processor(TinyQwenSpec())      # doctest: +SKIP
>>> type(model).__name__                                                # doctest: +SKIP
'Qwen2_5_VLForConditionalGeneration'
"""

from __future__ import annotations

from dataclasses import dataclass

# Qwen2's pre-tokenizer: letters optionally led by one non-letter, single digits,
# punctuation runs, newlines, spaces
QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
               r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>",
                  "<|vision_end|>", "<|image_pad|>", "<|video_pad|>")
# Qwen2-VL's chat layout: a string content or a list of text and image parts per turn
CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n"
    "{% if m['content'] is string %}{{ m['content'] }}{% else %}"
    "{% for c in m['content'] %}{% if c['type'] == 'image' %}"
    "<|vision_start|><|image_pad|><|vision_end|>{% elif c['type'] == 'text' %}"
    "{{ c['text'] }}{% endif %}{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
# what the BPE learns its merges from: the shape of a staging conversation
CORPUS = (
    "You stage polysomnography epochs by the AASM rules. Stages: W, N1, N2, N3, R.",
    "Preceding epoch N\u20111: **Target epoch N**: Subsequent epoch N+1: ",
    '```json\n{\n  "reasoning_text": "Alpha over the occipital lead with eye blinks.",\n'
    '  "applicable_rules": ["W.1", "W.2"],\n  "sleep_stage": "W"\n}\n```',
    '```json\n{\n  "reasoning_text": "Spindles and a K complex; low chin tone.",\n'
    '  "applicable_rules": ["N2.1", "N2.3"],\n  "sleep_stage": "N2"\n}\n```',
    '"sleep_stage": "N1" "sleep_stage": "N3" "sleep_stage": "R" slow waves over 20% '
    "rapid eye movements, vertex waves, theta, low amplitude mixed frequency.",
)


@dataclass
class TinyQwenSpec:
    """Sizes of a small Qwen2.5-VL (vision tower + merger + Qwen2 language model)."""

    vision_hidden: int = 64
    vision_layers: int = 2
    vision_heads: int = 2
    text_hidden: int = 96
    text_layers: int = 2
    text_heads: int = 4
    text_kv_heads: int = 2
    text_intermediate: int = 192
    vocab_size: int = 400          # BPE merges learned from CORPUS up to this size
    # the fewest pixels: SleepVLM's 448x224 is 16x32 patches of 14, never upscaled
    min_pixels: int = 3136
    max_pixels: int = 1003520
    seed: int = 0


def build_tokenizer(vocab_size: int = 400):
    """A byte-level BPE tokenizer with Qwen2's pre-tokenizer and special tokens."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(SPECIAL_TOKENS),
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(list(CORPUS) * 4, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>",
        extra_special_tokens={"image_token": "<|image_pad|>", "video_token": "<|video_pad|>",
                              "vision_start_token": "<|vision_start|>",
                              "vision_end_token": "<|vision_end|>"})
    fast.padding_side = "left"
    fast.chat_template = CHAT_TEMPLATE
    return fast


def build_processor(spec: TinyQwenSpec, tokenizer=None):
    from transformers.models.qwen2_vl import Qwen2VLImageProcessorPil

    from app.core.inference.qwen_processor import PicturesOnlyQwenProcessor

    tokenizer = tokenizer or build_tokenizer(spec.vocab_size)
    image_processor = Qwen2VLImageProcessorPil(
        min_pixels=spec.min_pixels, max_pixels=spec.max_pixels, patch_size=14,
        temporal_patch_size=2, merge_size=2)
    return PicturesOnlyQwenProcessor(image_processor=image_processor, tokenizer=tokenizer,
                                     chat_template=CHAT_TEMPLATE)


def build_config(spec: TinyQwenSpec, tokenizer):
    from transformers import Qwen2_5_VLConfig

    ids = tokenizer.convert_tokens_to_ids
    head_dim = spec.text_hidden // spec.text_heads
    half = head_dim // 2  # mrope sections (temporal, height, width) cover half the head
    section = [half - 2 * (half // 3), half // 3, half // 3]
    return Qwen2_5_VLConfig(
        vision_config=dict(depth=spec.vision_layers, hidden_size=spec.vision_hidden,
                           intermediate_size=spec.vision_hidden * 2,
                           num_heads=spec.vision_heads, out_hidden_size=spec.text_hidden,
                           patch_size=14, spatial_merge_size=2, temporal_patch_size=2,
                           window_size=112, fullatt_block_indexes=[spec.vision_layers - 1],
                           in_chans=3),
        text_config=dict(vocab_size=len(tokenizer), hidden_size=spec.text_hidden,
                         intermediate_size=spec.text_intermediate,
                         num_hidden_layers=spec.text_layers,
                         num_attention_heads=spec.text_heads,
                         num_key_value_heads=spec.text_kv_heads, max_position_embeddings=8192,
                         rope_scaling={"type": "mrope", "mrope_section": section},
                         bos_token_id=None, eos_token_id=ids("<|im_end|>"),
                         pad_token_id=ids("<|endoftext|>"), tie_word_embeddings=True),
        image_token_id=ids("<|image_pad|>"), video_token_id=ids("<|video_pad|>"),
        vision_start_token_id=ids("<|vision_start|>"),
        vision_end_token_id=ids("<|vision_end|>"))


def build_model_and_processor(spec: TinyQwenSpec | None = None):
    """A randomly initialised small Qwen2.5-VL and its processor."""
    import torch
    from transformers import GenerationConfig, Qwen2_5_VLForConditionalGeneration

    spec = spec or TinyQwenSpec()
    processor = build_processor(spec)
    config = build_config(spec, processor.tokenizer)
    torch.manual_seed(spec.seed)
    model = Qwen2_5_VLForConditionalGeneration(config).eval()
    tok = processor.tokenizer
    model.generation_config = GenerationConfig(eos_token_id=tok.eos_token_id,
                                               pad_token_id=tok.pad_token_id, do_sample=False)
    return model, processor


def teach_answer(model, processor, prompt: str, answer: str,
                 pictures: list[list], *, steps: int = 60, lr: float = 3e-3,
                 batch: int = 2) -> float:
    """Train a tiny model (all weights) until it writes ``answer`` after ``prompt``,
    whichever of ``pictures`` (groups of pictures, one group per question) it is shown:
    a stand-in that writes well-formed answers, so the rationale readout is tested
    without real weights. Returns the last loss."""
    import torch

    tok = processor.tokenizer
    text = prompt + answer + (tok.eos_token or "")
    n_prompt = int(processor(images=[pictures[0]], text=[prompt],
                             return_tensors="pt")["input_ids"].shape[1])
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    loss = torch.tensor(float("nan"))
    for step in range(steps):
        group = [pictures[(step * batch + i) % len(pictures)] for i in range(batch)]
        inputs = processor(images=group, text=[text] * batch, return_tensors="pt")
        labels = inputs["input_ids"].clone()
        labels[:, :n_prompt] = -100
        loss = model(**inputs, labels=labels).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    model.eval()
    return float(loss.detach())
