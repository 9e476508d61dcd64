"""``python -m training export CONFIG``: write a model bundle the app loads.

The card carries the render spec the cache was built with (so the app draws what the
model learnt on), the prompt, the image normalisation, a summary of the training data
and, once ``evaluate`` has run, its metrics with the data they were measured on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from app.core.inference.bundle import chat_prompt
from app.core.scoring.stages import STAGE_LABELS


@dataclass
class ExportArgs:
    checkpoint: str                    # finetune output_dir/best
    cache_dir: str                     # for the render spec and the data summary
    output_dir: str                    # the bundle folder
    name: str = "psg-lens-model"
    version: str = "0.1.0"
    base_model: str | None = None      # for an adapter bundle: hub id or path of the base
    merge_adapter: bool = False        # write a full model instead of base + adapter
    intended_use: str = ("Research and decision support for trained sleep technicians; "
                         "every epoch must be reviewed. Not a diagnosis.")
    limitations: str = ""
    synthetic_only: bool = False
    licence: str = "MIT"
    extra_card: dict = field(default_factory=dict)


def data_summary(cache_dir: str | Path) -> dict:
    manifest = json.loads((Path(cache_dir) / "manifest.json").read_text())
    sources = manifest["args"]["sources"]
    return {
        "sources": sources,
        "subjects": {k: len(v) for k, v in manifest["subjects"].items()},
        "test_subjects": manifest["subjects"]["test"],
        "val_subjects": manifest["subjects"]["val"],
        "label_counts": manifest["label_counts"],
        "split": "by subject (no subject in two splits)",
        "cache_created": manifest["created"],
    }


def build_card(args: ExportArgs, processor) -> dict:
    manifest = json.loads((Path(args.cache_dir) / "manifest.json").read_text())
    ip = processor.image_processor
    prompt = "Classify the PSG. Choose from: W, N1, N2, N3, REM."
    train_cfg = Path(args.checkpoint).parent / "train_log.json"
    training = json.loads(train_cfg.read_text()) if train_cfg.exists() else {}
    if training:
        prompt = training["args"].get("prompt", prompt)
    return {
        "schema_version": 1,
        "name": args.name,
        "version": args.version,
        "architecture": None,  # filled from the model below
        "base_model": args.base_model,
        "adapter": None,
        "labels": list(STAGE_LABELS),
        "prompt": prompt,
        "prompt_template": chat_prompt(processor, "{prompt}"),  # as training built it
        "render_spec": manifest["render_spec"],
        "image_normalisation": {"mean": list(map(float, ip.image_mean)),
                                "std": list(map(float, ip.image_std))},
        "training_data": data_summary(args.cache_dir),
        "training": {k: training.get(k) for k in ("steps", "best_val_macro_f1",
                                                   "train_seconds", "images_per_second")}
        | {"method": training.get("args", {}).get("method")},
        "metrics": {},
        "intended_use": args.intended_use,
        "limitations": args.limitations,
        "synthetic_only": args.synthetic_only,
        "licence": args.licence,
        **args.extra_card,
    }


def main(args: ExportArgs) -> Path:
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from app.core.inference.bundle_writer import save_bundle

    ckpt = Path(args.checkpoint)
    processor = AutoProcessor.from_pretrained(ckpt, local_files_only=True)
    if (ckpt / "adapter_config.json").exists():
        from peft import PeftConfig, PeftModel

        base = args.base_model or PeftConfig.from_pretrained(ckpt).base_model_name_or_path
        model = AutoModelForImageTextToText.from_pretrained(base, local_files_only=True,
                                                            use_safetensors=True)
        model = PeftModel.from_pretrained(model, ckpt)
        if args.merge_adapter:
            model = model.merge_and_unload()
    else:
        model = AutoModelForImageTextToText.from_pretrained(ckpt, local_files_only=True,
                                                            use_safetensors=True)
    card = build_card(args, processor)
    if card.get("base_model") and Path(card["base_model"]).expanduser().is_dir():
        # a local base as an absolute path: a card never reaches out of its bundle by '..'
        card["base_model"] = str(Path(card["base_model"]).expanduser().resolve())
    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    card["architecture"] = type(inner).__name__
    out = save_bundle(args.output_dir, model, processor, card)
    print(f"bundle written to {out}")
    return out
