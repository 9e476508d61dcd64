"""A Qwen2-VL-family processor for pictures only, when the video processor cannot load.

transformers builds Qwen2.5-VL's processor with a video processor, and video processors
need torchvision; PSG Lens stages pictures and ships without torchvision (PyPI's wheel
does not import beside the CPU torch build used here). This class is the same processor
less the video part: same image processor, tokenizer, chat template and placeholder
expansion, and it saves under the standard class name so the folder stays a normal
Qwen2.5-VL folder for every other tool.

Examples
--------
>>> processor = load_qwen_processor("SleepVLM-3B", local_files_only=True)  # doctest: +SKIP
>>> processor.image_token                                                # doctest: +SKIP
'<|image_pad|>'
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from transformers import Qwen2_5_VLProcessor
from transformers.processing_utils import ProcessorMixin

QWEN_VL_ARCHITECTURES = ("Qwen2_5_VLForConditionalGeneration", "Qwen2VLForConditionalGeneration")


class PicturesOnlyQwenProcessor(Qwen2_5_VLProcessor):
    """Qwen2.5-VL's processor with no video processor (see the module docstring)."""

    def __init__(self, image_processor=None, tokenizer=None, chat_template=None, **kwargs):
        self.image_token = getattr(tokenizer, "image_token", None) or "<|image_pad|>"
        self.video_token = getattr(tokenizer, "video_token", None) or "<|video_pad|>"
        self.image_token_id = (getattr(tokenizer, "image_token_id", None)
                               or tokenizer.convert_tokens_to_ids(self.image_token))
        self.video_token_id = (getattr(tokenizer, "video_token_id", None)
                               or tokenizer.convert_tokens_to_ids(self.video_token))
        ProcessorMixin.__init__(self, image_processor, tokenizer, chat_template=chat_template)
        self.video_processor = None

    def __call__(self, images=None, text=None, videos=None, **kwargs):
        if videos is not None:
            raise ValueError("This processor reads pictures only (no video processor).")
        return super().__call__(images=images, text=text, **kwargs)

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["processor_class"] = "Qwen2_5_VLProcessor"
        return out


def load_qwen_processor(ref: str, *, local_files_only: bool = True) -> PicturesOnlyQwenProcessor:
    """The pictures-only processor of a Qwen2-VL-family folder or hub id."""
    from transformers import AutoImageProcessor, AutoTokenizer

    kw = dict(local_files_only=local_files_only, trust_remote_code=False)
    image_processor = AutoImageProcessor.from_pretrained(ref, **kw)
    tokenizer = AutoTokenizer.from_pretrained(ref, **kw)
    template = getattr(tokenizer, "chat_template", None)
    local = Path(ref)
    if local.is_dir() and (local / "chat_template.jinja").is_file():
        template = (local / "chat_template.jinja").read_text(encoding="utf-8")
    return PicturesOnlyQwenProcessor(image_processor=image_processor, tokenizer=tokenizer,
                                     chat_template=template)
