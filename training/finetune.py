"""Fine-tune a LLaVA-family model on the image cache: LoRA (default) or full training.

``python -m training finetune CONFIG`` (or ``accelerate launch -m training finetune
CONFIG`` for several GPUs/processes). The loss is on the answer token(s) only: the
prompt and image positions are -100. Validation macro-F1 (from the same one-pass
readout the app uses) picks the best checkpoint and stops early.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from app.core.inference.bundle import chat_prompt
from app.core.inference.readout import LabelReadout, label_readout, stage_probabilities
from app.core.scoring.stages import STAGE_LABELS


@dataclass
class FinetuneArgs:
    """The ``finetune`` part of a training config (PEFT-examples style)."""

    cache_dir: str
    output_dir: str
    model: dict = field(default_factory=lambda: {"init": "tiny"})  # or {"base": path/hub id}
    prompt: str = "Classify the PSG. Choose from: W, N1, N2, N3, REM."
    method: str = "lora"                 # lora | full
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    lora_target: str = r".*language_model.*\.self_attn\.(q_proj|k_proj|v_proj|o_proj)"
    vision: str = "frozen"               # frozen | lora | full (vision tower)
    learning_rate: float = 2e-4
    weight_decay: float = 0.0
    warmup_ratio: float = 0.05
    batch_size: int = 8
    grad_accum: int = 1
    num_epochs: float = 1.0
    max_steps: int | None = None
    max_minutes: float | None = None     # stop cleanly after this long (laptop budgets)
    class_weights: str | None = "sqrt"   # None | sqrt | inverse
    eval_every: int = 200
    eval_max_images: int = 1000
    early_stopping_patience: int = 5
    seed: int = 0
    bf16: bool = True                    # used on CUDA only
    gradient_checkpointing: bool = False
    resume: bool = True
    allow_download: bool = False


def answer_ids(tokenizer, prompt_text: str) -> tuple[dict[str, list[int]], LabelReadout]:
    """Token ids each label adds after the prompt (the answer the loss is computed on), and
    the app's one-pass readout of them (:func:`app.core.inference.readout.label_readout`),
    which refuses labels one pass cannot tell apart before any training is spent."""
    plan = label_readout(tokenizer, prompt_text, STAGE_LABELS, source="the model being trained")
    base = tokenizer(prompt_text, add_special_tokens=False)["input_ids"]
    answers = {lab: tokenizer(f"{prompt_text} {lab}", add_special_tokens=False)["input_ids"]
               [len(base):] for lab in STAGE_LABELS}
    return answers, plan


class CacheDataset:
    """(PIL image, label index) pairs from the cache index."""

    def __init__(self, cache_dir: str, rows: list[dict]):
        self.root = Path(cache_dir)
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int):
        from PIL import Image

        r = self.rows[i]
        with Image.open(self.root / r["path"]) as im:
            img = im.convert("RGB")
        return img, STAGE_LABELS.index(r["label"])


def make_collate(processor, prompt_text: str, answers: dict[str, list[int]], *,
                 with_answer: bool):
    """Batch images + prompt (+ answer); labels are -100 except the answer tokens."""
    import torch

    def collate(batch):
        images = [b[0] for b in batch]
        y = torch.tensor([b[1] for b in batch])
        texts = [f"{prompt_text} {STAGE_LABELS[int(k)]}" if with_answer else prompt_text
                 for k in y]
        enc = processor(text=texts, images=images, return_tensors="pt", padding=True)
        if with_answer:
            labels = torch.full_like(enc["input_ids"], -100)
            for i, k in enumerate(y.tolist()):
                n = len(answers[STAGE_LABELS[k]])
                labels[i, -n:] = enc["input_ids"][i, -n:]  # left padding: answer at the end
            enc["labels"] = labels
        enc["stage"] = y
        return enc

    return collate


def build_model(args: FinetuneArgs):
    """(model, processor, tiny_spec or None) for ``args.model``."""
    m = args.model
    if m.get("init") == "tiny":
        from training.tiny_llava import TinyLlavaSpec, build_model_and_processor

        spec = TinyLlavaSpec(**m.get("tiny", {}))
        model, processor = build_model_and_processor(spec, prompt=args.prompt)
        return model, processor
    from transformers import AutoModelForImageTextToText, AutoProcessor

    base = m["base"]
    kw = dict(local_files_only=not args.allow_download, trust_remote_code=False)
    processor = AutoProcessor.from_pretrained(base, **kw)
    model = AutoModelForImageTextToText.from_pretrained(base, use_safetensors=True,
                                                        torch_dtype=m.get("dtype", "auto"), **kw)
    return model, processor


def apply_method(model, args: FinetuneArgs):
    """Wrap with LoRA (language model attention; projector trainable) or train fully."""
    if args.method == "full":
        if args.vision == "frozen":
            for name, p in model.named_parameters():
                if "vision_tower" in name:
                    p.requires_grad_(False)
        return model
    if args.method != "lora":
        raise ValueError(f"method must be 'lora' or 'full', not {args.method!r}")
    from peft import LoraConfig, get_peft_model

    target = args.lora_target
    if args.vision == "lora":
        # with vision_feature_layer=-2 the last vision layer gets no gradient: fine for LoRA
        target = rf"({target})|(.*vision_tower.*\.self_attn\.(q_proj|v_proj))"
    save = ["multi_modal_projector"]
    if args.vision == "full":
        save.append("vision_tower")
    cfg = LoraConfig(r=args.lora_r, lora_alpha=args.lora_alpha, lora_dropout=args.lora_dropout,
                     target_modules=target, modules_to_save=save, task_type="CAUSAL_LM")
    return get_peft_model(model, cfg)


def class_weight_vector(counts: dict[str, int], mode: str | None) -> np.ndarray:
    c = np.asarray([max(counts.get(lab, 0), 1) for lab in STAGE_LABELS], float)
    if mode is None:
        w = np.ones(5)
    elif mode == "sqrt":
        w = (c.sum() / c) ** 0.5
    elif mode == "inverse":
        w = c.sum() / c
    else:
        raise ValueError(f"class_weights must be null, 'sqrt' or 'inverse', not {mode!r}")
    return w / (w * c).sum() * c.sum()  # mean weight over the data = 1


def answer_loss(model, batch, weights):
    """Cross-entropy on the answer tokens only (labels -100 elsewhere), class-weighted."""
    import torch

    labels = batch["labels"]
    keep = int((labels != -100).sum(dim=1).max()) + 1
    inputs = {k: v for k, v in batch.items() if k not in ("labels", "stage")}
    logits = model(**inputs, logits_to_keep=keep).logits.float()  # (B, keep, V)
    target = labels[:, -keep + 1:]
    pred = logits[:, :-1]
    mask = target != -100
    ce = torch.nn.functional.cross_entropy(pred[mask], target[mask], reduction="none")
    w = weights[batch["stage"]].unsqueeze(1).expand_as(target)[mask]
    return (ce * w).sum() / w.sum()


def evaluate_loader(model, loader, plan: LabelReadout, accelerator,
                    limit: int | None = None):
    import torch

    from app.core.scoring.agreement import agreement

    model.eval()
    ys, ps = [], []
    seen = 0
    for batch in loader:
        # the app's one-pass readout, so validation sees what the app will see
        inputs = {k: v for k, v in batch.items() if k not in ("labels", "stage")}
        p = torch.from_numpy(stage_probabilities(model, inputs, plan)).to(
            batch["stage"].device)
        p, y = accelerator.gather_for_metrics((p, batch["stage"]))
        ps.append(p.cpu().numpy())
        ys.append(y.cpu().numpy())
        seen += len(y)
        if limit and seen >= limit:
            break
    model.train()
    probs, y = np.concatenate(ps), np.concatenate(ys)
    return agreement(y, probs.argmax(1)).to_dict(), probs, y


def main(args: FinetuneArgs) -> dict:
    """Train; save ``output_dir/best`` (model + processor) and ``output_dir/train_log.json``."""
    import torch
    from accelerate import Accelerator
    from accelerate.utils import DistributedDataParallelKwargs, set_seed
    from torch.utils.data import DataLoader

    from training.cache import read_index

    use_cuda = torch.cuda.is_available()
    # with vision_feature_layer=-2 the last vision layer gets no gradient; DDP must know
    ddp = DistributedDataParallelKwargs(find_unused_parameters=args.vision != "frozen")
    accelerator = Accelerator(gradient_accumulation_steps=args.grad_accum,
                              mixed_precision="bf16" if (use_cuda and args.bf16) else "no",
                              kwargs_handlers=[ddp])
    set_seed(args.seed)
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    model, processor = build_model(args)
    model.config.use_cache = False
    if args.gradient_checkpointing and use_cuda:
        model.gradient_checkpointing_enable()
    model = apply_method(model, args)
    template = json.loads((Path(args.cache_dir) / "manifest.json").read_text())
    # the processor's own chat template, as the engine builds it: one prompt everywhere
    prompt_text = chat_prompt(processor, args.prompt)
    answers, plan = answer_ids(processor.tokenizer, prompt_text)
    train_rows = read_index(args.cache_dir, "train")
    val_rows = read_index(args.cache_dir, "val")
    rng = np.random.default_rng(args.seed)
    val_rows = [val_rows[i] for i in rng.permutation(len(val_rows))[: args.eval_max_images]]
    weights = torch.tensor(class_weight_vector(template["label_counts"]["train"],
                                               args.class_weights), dtype=torch.float32)
    train_dl = DataLoader(CacheDataset(args.cache_dir, train_rows), batch_size=args.batch_size,
                          shuffle=True, collate_fn=make_collate(processor, prompt_text, answers,
                                                                with_answer=True),
                          generator=torch.Generator().manual_seed(args.seed))
    val_dl = DataLoader(CacheDataset(args.cache_dir, val_rows), batch_size=args.batch_size * 2,
                        collate_fn=make_collate(processor, prompt_text, answers, with_answer=False))
    params = [p for p in model.parameters() if p.requires_grad]
    optim = torch.optim.AdamW(params, lr=args.learning_rate, weight_decay=args.weight_decay)
    budget_sec = args.max_minutes * 60 if args.max_minutes else None
    clock = {"start": time.time()}

    def lr_factor(s: int) -> float:
        # warmup, then cosine over whichever runs out first: steps or the time budget,
        # so a run cut short by max_minutes still ends with a small learning rate
        progress = min(s, total) / max(total, 1)
        if budget_sec:
            progress = max(progress, (time.time() - clock["start"]) / budget_sec)
        return min(1.0, (s + 1) / max(warm, 1)) * max(0.0, 0.5 * (1 + math.cos(math.pi *
                                                                            min(progress, 1.0))))

    model, optim, train_dl, val_dl = accelerator.prepare(model, optim, train_dl, val_dl)
    # after prepare: each process sees its shard, so an epoch is len(train_dl) steps here
    steps_per_epoch = math.ceil(len(train_dl) / args.grad_accum)
    total = args.max_steps or int(steps_per_epoch * args.num_epochs)
    warm = int(total * args.warmup_ratio)
    sched = accelerator.prepare(torch.optim.lr_scheduler.LambdaLR(optim, lr_factor))
    weights = weights.to(accelerator.device)
    ckpt = out / "checkpoint"
    state = {"step": 0, "best_f1": -1.0, "bad_evals": 0, "log": []}
    if args.resume and (ckpt / "state.json").exists():
        accelerator.load_state(str(ckpt))
        state = json.loads((ckpt / "state.json").read_text())
        accelerator.print(f"resumed at step {state['step']}")
    t0, seen = time.time(), 0
    clock["start"] = t0 - state.get("elapsed", 0.0)
    model.train()
    stop = False
    while state["step"] < total and not stop:
        for batch in accelerator.skip_first_batches(train_dl, state["step"] * args.grad_accum
                                                    % max(len(train_dl), 1)) \
                if state["step"] else train_dl:
            with accelerator.accumulate(model):
                loss = answer_loss(model, batch, weights)
                accelerator.backward(loss)
                optim.step()
                sched.step()
                optim.zero_grad()
            seen += len(batch["stage"]) * accelerator.num_processes
            if not accelerator.sync_gradients:
                continue
            state["step"] += 1
            step = state["step"]
            if step % 20 == 0:
                rate = seen / (time.time() - t0)
                accelerator.print(f"step {step}/{total} loss {loss.item():.4f} "
                                  f"{rate:.1f} img/s")
            state["elapsed"] = time.time() - clock["start"]
            out_of_time = budget_sec is not None and state["elapsed"] > budget_sec
            if step % args.eval_every == 0 or step >= total or out_of_time:
                metrics, _, _ = evaluate_loader(model, val_dl, plan, accelerator)
                entry = {"step": step, "loss": float(loss.item()), "val": metrics,
                         "images_per_s": seen / (time.time() - t0)}
                state["log"].append(entry)
                accelerator.print(f"eval step {step}: acc {metrics['accuracy']:.3f} "
                                  f"macro-F1 {metrics['macro_f1']:.3f} kappa {metrics['kappa']:.3f}")
                if metrics["macro_f1"] > state["best_f1"]:
                    state["best_f1"], state["bad_evals"] = metrics["macro_f1"], 0
                    _save_best(accelerator, model, processor, out / "best")
                else:
                    state["bad_evals"] += 1
                accelerator.save_state(str(ckpt))
                if accelerator.is_main_process:
                    (ckpt / "state.json").write_text(json.dumps(state))
                if state["bad_evals"] >= args.early_stopping_patience:
                    accelerator.print("early stop: validation macro-F1 stopped improving")
                    stop = True
            if out_of_time:
                accelerator.print(f"stopping: max_minutes={args.max_minutes} reached")
                stop = True
            if stop or step >= total:
                break
    result = {"args": asdict(args), "steps": state["step"], "best_val_macro_f1": state["best_f1"],
              "log": state["log"], "train_seconds": time.time() - t0,
              "images_per_second": seen / max(time.time() - t0, 1e-9)}
    if accelerator.is_main_process:
        (out / "train_log.json").write_text(json.dumps(result, indent=2))
    accelerator.wait_for_everyone()
    return result


def _save_best(accelerator, model, processor, folder: Path) -> None:
    accelerator.wait_for_everyone()
    # every rank takes part: under FSDP / ZeRO-3 this gathers the sharded weights
    state = accelerator.get_state_dict(model)
    if not accelerator.is_main_process:
        return
    unwrapped = accelerator.unwrap_model(model)
    folder.mkdir(parents=True, exist_ok=True)
    unwrapped.save_pretrained(folder, state_dict=state, safe_serialization=True)
    processor.save_pretrained(folder)
