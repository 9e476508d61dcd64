"""Build small LLaVA-architecture models from configs, with a tokenizer made locally.

Nothing here downloads anything: the tokenizer is a word-level vocabulary of the
prompt's words plus the five stage labels (each one distinct token; or, with
``split_digits``, "N1" read as "N" + "1" the way Mistral's and Qwen2's tokenizers split
digits), the vision tower a small CLIP, the language model a small Llama. The embedded default model and every
test model come from here.

Examples
--------
>>> from training.tiny_llava import TinyLlavaSpec, build_model_and_processor
>>> model, processor = build_model_and_processor(TinyLlavaSpec(image_size=64, patch_size=16))
>>> sum(p.numel() for p in model.parameters()) > 0
True
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_PROMPT = "Classify the PSG. Choose from: W, N1, N2, N3, REM."
LABELS = ("W", "N1", "N2", "N3", "REM")
# The chat layout LLaVA-1.5 uses; the bundle's card stores the full prompt template.
PROMPT_TEMPLATE = "USER: <image>\n{prompt} ASSISTANT:"
CHAT_TEMPLATE = ("{% for m in messages %}{% if m['role'] == 'user' %}USER: "
                 "{% for c in m['content'] %}{% if c['type'] == 'image' %}<image>\n"
                 "{% else %}{{ c['text'] }}{% endif %}{% endfor %} ASSISTANT:"
                 "{% else %} {{ m['content'][0]['text'] }}{% endif %}{% endfor %}")


@dataclass
class TinyLlavaSpec:
    """Sizes of a small LLaVA: CLIP vision tower + projector + Llama."""

    arch: str = "llava"             # llava | llava_next
    image_size: int = 224
    patch_size: int = 16
    vision_hidden: int = 192
    vision_layers: int = 3
    vision_heads: int = 3
    text_hidden: int = 256
    text_layers: int = 4
    text_heads: int = 4
    text_intermediate: int = 688
    # white background -> 0: from scratch, CLIP's mean/std made a tiny model ignore the image
    image_mean: tuple[float, float, float] = (1.0, 1.0, 1.0)
    image_std: tuple[float, float, float] = (0.5, 0.5, 0.5)
    seed: int = 0
    # digits as their own tokens ("N1" -> "N" "1"), as the 7B and 0.5B bases' tokenizers do
    split_digits: bool = False


def _vocabulary(prompt: str, split_digits: bool = False) -> list[str]:
    import re

    word = r"\d|[^\W\d]+|[^\w\s]" if split_digits else r"\w+|[^\w\s]"
    text = PROMPT_TEMPLATE.replace("{prompt}", prompt)
    words = re.findall(word, text)
    specials = ["<unk>", "<s>", "</s>", "<pad>", "<image>"]
    labels = [t for lab in LABELS for t in re.findall(word, lab)]
    extra = ["USER", "ASSISTANT", ":", "\n", *labels, "R", "Wake", "yes", "no"]
    vocab = []
    for w in specials + extra + words:
        if w not in vocab and w != "image":
            vocab.append(w)
    return vocab


def build_tokenizer(prompt: str = DEFAULT_PROMPT, split_digits: bool = False):
    """A word-level fast tokenizer: stage labels single, distinct tokens, or with
    ``split_digits`` the N stages sharing their first token "N" (then a digit)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {w: i for i, w in enumerate(_vocabulary(prompt, split_digits))}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    steps = [pre_tokenizers.Split("<image>", behavior="isolated"), pre_tokenizers.Whitespace()]
    if split_digits:
        steps.append(pre_tokenizers.Digits(individual_digits=True))
    tok.pre_tokenizer = pre_tokenizers.Sequence(steps)
    tok.decoder = decoders.WordPiece(prefix="##")
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="<unk>", bos_token="<s>", eos_token="</s>",
        pad_token="<pad>", extra_special_tokens={"image_token": "<image>"})
    fast.add_special_tokens({"additional_special_tokens": ["<image>"]})
    fast.padding_side = "left"  # the readout takes the last position
    return fast


def build_processor(spec: TinyLlavaSpec, tokenizer=None, prompt: str = DEFAULT_PROMPT):
    from transformers import LlavaProcessor
    from transformers.models.clip import CLIPImageProcessorPil

    tokenizer = tokenizer or build_tokenizer(prompt, spec.split_digits)
    # no resize-then-crop: the renderer already draws at the model's input size
    image_processor = CLIPImageProcessorPil(
        size={"height": spec.image_size, "width": spec.image_size}, do_center_crop=False,
        crop_size={"height": spec.image_size, "width": spec.image_size},
        image_mean=list(spec.image_mean), image_std=list(spec.image_std),
        do_convert_rgb=True)
    if spec.arch == "llava_next":
        from transformers import LlavaNextProcessor
        from transformers.models.llava_next import LlavaNextImageProcessorPil

        image_processor = LlavaNextImageProcessorPil(
            size={"shortest_edge": spec.image_size},
            crop_size={"height": spec.image_size, "width": spec.image_size},
            image_grid_pinpoints=[[spec.image_size, spec.image_size]],
            image_mean=list(spec.image_mean), image_std=list(spec.image_std))
        return LlavaNextProcessor(image_processor=image_processor, tokenizer=tokenizer,
                                  patch_size=spec.patch_size,
                                  vision_feature_select_strategy="default",
                                  num_additional_image_tokens=1, chat_template=CHAT_TEMPLATE)
    return LlavaProcessor(image_processor=image_processor, tokenizer=tokenizer,
                          patch_size=spec.patch_size, vision_feature_select_strategy="default",
                          num_additional_image_tokens=1, chat_template=CHAT_TEMPLATE)


def build_config(spec: TinyLlavaSpec, tokenizer):
    from transformers import CLIPVisionConfig, LlamaConfig, LlavaConfig, LlavaNextConfig

    vision = CLIPVisionConfig(
        hidden_size=spec.vision_hidden, intermediate_size=spec.vision_hidden * 4,
        num_hidden_layers=spec.vision_layers, num_attention_heads=spec.vision_heads,
        image_size=spec.image_size, patch_size=spec.patch_size, projection_dim=spec.vision_hidden)
    text = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=spec.text_hidden,
        intermediate_size=spec.text_intermediate, num_hidden_layers=spec.text_layers,
        num_attention_heads=spec.text_heads, num_key_value_heads=spec.text_heads,
        max_position_embeddings=1024, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False)
    common = dict(vision_config=vision, text_config=text,
                  image_token_index=tokenizer.convert_tokens_to_ids("<image>"),
                  vision_feature_layer=-2, vision_feature_select_strategy="default")
    if spec.arch == "llava_next":
        return LlavaNextConfig(**common, image_grid_pinpoints=[[spec.image_size, spec.image_size]])
    n_patches = (spec.image_size // spec.patch_size) ** 2
    return LlavaConfig(**common, image_seq_length=n_patches)


def build_model_and_processor(spec: TinyLlavaSpec | None = None, prompt: str = DEFAULT_PROMPT):
    """A randomly initialised small LLaVA (or LLaVA-NeXT) and its processor."""
    import torch
    from transformers import LlavaForConditionalGeneration, LlavaNextForConditionalGeneration

    spec = spec or TinyLlavaSpec()
    processor = build_processor(spec, prompt=prompt)
    config = build_config(spec, processor.tokenizer)
    torch.manual_seed(spec.seed)
    cls = (LlavaNextForConditionalGeneration if spec.arch == "llava_next"
           else LlavaForConditionalGeneration)
    model = cls(config).eval()
    return model, processor
