"""Adapt a layout bundle (SleepVLM and other Qwen2.5-VL stagers) to a lab's scored studies.

``python -m training finetune-chat CONFIG`` with a ``finetune_chat`` section
(:class:`ChatFinetuneArgs`). LoRA on the language model, vision tower frozen, exactly the
conversation the bundle asks (its layout: system prompt, context pictures, its render
spec), the loss on the answer tokens only (everything else -100). Labs have stages, not
written reasons, so by default the answer taught is the ``fast`` one (empty rationale
and rules, then the stage); ``rationales`` gives text per stage for data that has it.
The output is an adapter bundle on the same weights, which the app loads like any other.

Examples
--------
>>> args = ChatFinetuneArgs(bundle="bundles/sleepvlm-3b", output_dir="bundles/ours",
...                         sources=[{"type": "sessions", "root": "~/studies"}])  # doctest: +SKIP
>>> main(args)                                                                     # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class ChatFinetuneArgs:
    """The ``finetune_chat`` part of a training config (PEFT-examples style)."""

    bundle: str                          # the layout bundle to adapt
    output_dir: str                      # the adapter bundle written
    sources: list = field(default_factory=list)   # training.datasets sources
    epochs_per_study: int | None = 200   # sampled per study (None: every target)
    rationales: dict | None = None       # stage label -> rationale text (else empty)
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    lora_target: str = (r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|"
                        r"up_proj|down_proj)")
    learning_rate: float = 1e-4
    weight_decay: float = 0.1
    warmup_ratio: float = 0.03
    max_grad_norm: float = 1.0
    batch_size: int = 2
    num_epochs: float = 1.0
    max_steps: int | None = None
    seed: int = 0
    device: str = "auto"
    bf16: bool = True                    # on CUDA
    version: str = "adapted"
    allow_download: bool = False


@dataclass(frozen=True)
class Example:
    study: int
    epoch: int
    label: int


def answer_text(fmt, label: str, rationale: str = "", rules: list | None = None) -> str:
    """The answer the model is taught: the bundle's JSON with the stage last."""
    lines = [fmt.opening]
    if fmt.rationale_key:
        lines.append(f'  "{fmt.rationale_key}": {json.dumps(rationale, ensure_ascii=False)},\n')
    if fmt.rules_key:
        lines.append(f'  "{fmt.rules_key}": {json.dumps(rules or [], ensure_ascii=False)},\n')
    lines.append(f'  {fmt.trigger}{label}"\n}}\n```')
    return "".join(lines)


def collect(args: ChatFinetuneArgs, layout, rng) -> tuple[list, list[Example]]:
    """Open the studies and choose the target epochs to learn from."""
    from app.core.scoring.stages import SCORED_STAGES
    from training.datasets import find_studies

    studies, examples = [], []
    for source in args.sources:
        for ref in find_studies(source):
            rec, hyp, _ = ref.load()
            stages = np.asarray(hyp.stages)
            targets = layout.targets(rec.n_epochs)
            targets = targets[np.isin(stages[targets], [int(s) for s in SCORED_STAGES])]
            if args.epochs_per_study and len(targets) > args.epochs_per_study:
                targets = np.sort(rng.choice(targets, args.epochs_per_study, replace=False))
            studies.append(rec)
            examples += [Example(len(studies) - 1, int(e), int(stages[e])) for e in targets]
    if not examples:
        raise ValueError("The sources hold no scored epoch to learn from.")
    return studies, examples


def batch_inputs(bundle, processor, layout, studies, batch: list[Example], fmt,
                 rationales: dict | None, device, dtype) -> dict:
    """Processor tensors for a batch, labels -100 everywhere but the answer."""
    import torch

    from app.core.signals.render import render_many

    prompt = layout.prompt_text(processor)
    eos = processor.tokenizer.eos_token or ""
    pictures, texts, prompt_lens = [], [], []
    for ex in batch:
        rec = studies[ex.study]
        wanted = [ex.epoch + o for o in layout.offsets]
        drawn = np.concatenate(list(render_many(rec, bundle.spec, wanted,
                                                batch_size=len(wanted))))
        pictures.append(list(drawn))
        label = bundle.labels[ex.label]
        texts.append(prompt + answer_text(fmt, label, (rationales or {}).get(label, "")) + eos)
    tok = processor.tokenizer
    side, tok.padding_side = tok.padding_side, "right"
    try:
        full = processor(images=pictures, text=texts, return_tensors="pt", padding=True)
        for group in pictures:  # the question alone: where the answer starts
            alone = processor(images=[group], text=[prompt], return_tensors="pt")
            prompt_lens.append(int(alone["input_ids"].shape[1]))
    finally:
        tok.padding_side = side
    labels = full["input_ids"].clone()
    for i, n in enumerate(prompt_lens):
        labels[i, :n] = -100
    labels[full["attention_mask"] == 0] = -100
    out = {k: (v.to(device, dtype=dtype) if torch.is_floating_point(v) else v.to(device))
           for k, v in full.items() if isinstance(v, torch.Tensor)}
    out["labels"] = labels.to(device)
    return out


def main(args: ChatFinetuneArgs) -> Path:
    import torch
    from peft import LoraConfig, get_peft_model

    from app.core.inference.bundle import load_bundle
    from app.core.inference.readout import load_weights, resolve_device

    bundle = load_bundle(args.bundle, allow_download=args.allow_download)
    if bundle.layout is None:
        raise ValueError(f"{args.bundle} has no layout; one-picture bundles are trained with "
                         "`python -m training finetune`.")
    if bundle.adapter_path is not None:
        raise ValueError(f"{args.bundle} is itself an adapter bundle; adapt the bundle it was "
                         "made from, with all the studies together.")
    device, dtype = resolve_device(args.device)
    if device.type == "cuda" and not args.bf16:
        dtype = torch.float32
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    processor = bundle.load_processor()
    model = load_weights(bundle, device=str(device), dtype=dtype)
    for p in model.parameters():
        p.requires_grad_(False)
    model = get_peft_model(model, LoraConfig(r=args.lora_r, lora_alpha=args.lora_alpha,
                                             lora_dropout=args.lora_dropout,
                                             target_modules=args.lora_target))
    trainable = [p for p in model.parameters() if p.requires_grad]
    if not trainable:
        raise ValueError(f"lora_target {args.lora_target!r} matches no module of the "
                         "language model.")
    studies, examples = collect(args, bundle.layout, rng)
    per_epoch = math.ceil(len(examples) / args.batch_size)
    steps = args.max_steps or max(1, int(per_epoch * args.num_epochs))
    opt = torch.optim.AdamW(trainable, lr=args.learning_rate, weight_decay=args.weight_decay)
    warm = max(1, int(steps * args.warmup_ratio))
    sched = torch.optim.lr_scheduler.LambdaLR(  # linear warm-up, then linear decay
        opt, lambda s: (s + 1) / warm if s < warm else max(0.0, (steps - s) / (steps - warm + 1)))
    model.train()
    log, order, t0 = [], rng.permutation(len(examples)), time.perf_counter()
    for step in range(steps):
        k = (step * args.batch_size) % len(examples)
        if k < args.batch_size and step:
            order = rng.permutation(len(examples))
        batch = [examples[i] for i in order[k:k + args.batch_size]]
        inputs = batch_inputs(bundle, processor, bundle.layout, studies, batch, bundle.answer,
                              args.rationales, device, dtype)
        loss = model(**inputs).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, args.max_grad_norm)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        if step % 10 == 0 or step == steps - 1:
            log.append({"step": step, "loss": round(float(loss.detach()), 4)})
            print(f"step {step + 1}/{steps} loss {float(loss.detach()):.4f}", flush=True)
    model.eval()
    return export_adapter(bundle, model, processor, args, log, len(examples),
                          time.perf_counter() - t0)


def export_adapter(bundle, model, processor, args: ChatFinetuneArgs, log: list,
                   n_examples: int, seconds: float) -> Path:
    """The adapter bundle: the base bundle's card, layout and prompt, on the same weights."""
    from app.core.inference.bundle_writer import save_bundle

    card = json.loads(json.dumps(bundle.card))
    card.update(version=args.version, base_model=bundle.base_ref, weights=None,
                training_data={"sources": args.sources, "examples": n_examples,
                               "answer": "with rationales" if args.rationales else
                               "stage after an empty rationale (fast mode)"},
                finetune={"args": asdict(args), "log": log, "seconds": round(seconds, 1)})
    card.pop("metrics", None)  # the base model's figures do not describe the adapted one
    extra = {}
    if bundle.layout.system_file and bundle.path is not None:
        extra[bundle.layout.system_file] = bundle.path / bundle.layout.system_file
    return save_bundle(args.output_dir, model, processor, card, extra_files=extra)
