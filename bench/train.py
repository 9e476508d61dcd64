"""Training throughput and evaluation time for the default config, with peers, same run.

Run: ``python bench/train.py [--steps 4] [--batch-size 16] [--hours 1]`` from the project
root. Prints, does not assert; the default run takes 1-3 minutes on 2 CPU cores.

1. Training step (``training/configs/default-tiny.json``: tiny LLaVA, CLIP 224/16 +
   Llama, ``method: full``, ``vision: full``, batch 16) against its peer, the same step
   in LoRA mode (``FinetuneArgs`` defaults: r16 on the language model's attention,
   projector trained, vision frozen), on the same model, images and batch. Both use
   finetune.py's own collate and answer-only loss; one warm-up step each, then
   ``--steps`` timed steps (forward, backward, AdamW). Also the validation readout
   (one forward pass, no gradient) that training runs every ``eval_every`` steps.
2. Evaluation (``python -m training evaluate``'s code) of one synthetic held-out night
   of ``--hours`` hours: the model through the app's StageEngine, against YASA on the
   same recording in the same call (its peer in every evaluation); YASA's numba JIT is
   warmed up first, so its time is staging, not compilation.
3. The evaluation table stored in ``resources/models/default/model_card.json``
   (``metrics.held_out_synthetic``), when the card has one.

Images are rendered with the config's RenderSpec from a synthetic night, as the cache
does. The model's weights do not change the timings; a fresh random model is used for
step 1 and the embedded default bundle (or a random one of its size) for step 2.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

CONFIG = ROOT / "training" / "configs" / "default-tiny.json"
DEFAULT_BUNDLE = ROOT / "resources" / "models" / "default"


def _images(cfg: dict, n: int) -> list:
    from PIL import Image

    from app.core.signals.render import render_many
    from app.core.synth import synthesize
    from training.cache import spec_from_config

    study = synthesize(hours=max(n * 30 / 3600, 0.1) + 0.05, seed=4242, sfreq=256.0)
    rec = study.to_recording()
    spec = spec_from_config(cfg["cache"]["spec"])
    imgs = np.concatenate(list(render_many(rec, spec, np.arange(n))))
    labels = study.stages[:n].clip(0, 4)
    return [(Image.fromarray(im), int(y)) for im, y in zip(imgs, labels, strict=True)]


def time_steps(cfg: dict, method: str, vision: str, batch: list, steps: int) -> dict:
    """Seconds per training step and readout pass for one method on one fixed batch."""
    import torch

    from app.core.inference.readout import stage_probabilities
    from training.finetune import (
        FinetuneArgs,
        answer_ids,
        answer_loss,
        apply_method,
        build_model,
        make_collate,
    )

    ft = {k: v for k, v in cfg["finetune"].items() if k in FinetuneArgs.__dataclass_fields__}
    args = FinetuneArgs(**{**ft, "cache_dir": "", "output_dir": "", "method": method,
                           "vision": vision})
    if method == "lora":  # the peer: FinetuneArgs' LoRA defaults
        defaults = FinetuneArgs(cache_dir="", output_dir="")
        args.learning_rate, args.lora_target = defaults.learning_rate, defaults.lora_target
    model, processor = build_model(args)
    model.config.use_cache = False
    model = apply_method(model, args).train()
    prompt = "USER: <image>\n" + args.prompt + " ASSISTANT:"
    answers, plan = answer_ids(processor.tokenizer, prompt)
    train_batch = make_collate(processor, prompt, answers, with_answer=True)(batch)
    eval_batch = make_collate(processor, prompt, answers, with_answer=False)(batch)
    params = [p for p in model.parameters() if p.requires_grad]
    optim = torch.optim.AdamW(params, lr=args.learning_rate)
    weights = torch.ones(5)
    times = []
    for i in range(steps + 1):           # the first step warms up allocators and kernels
        t = time.perf_counter()
        loss = answer_loss(model, train_batch, weights)
        loss.backward()
        optim.step()
        optim.zero_grad()
        if i:
            times.append(time.perf_counter() - t)
    model.eval()
    eval_inputs = {k: v for k, v in eval_batch.items() if k != "stage"}
    stage_probabilities(model, eval_inputs, plan)
    t = time.perf_counter()
    stage_probabilities(model, eval_inputs, plan)
    read = time.perf_counter() - t
    n_train = sum(p.numel() for p in params)
    n_all = sum(p.numel() for p in model.parameters())
    step = float(np.median(times))
    return {"step_s": step, "img_s": len(batch) / step, "readout_img_s": len(batch) / read,
            "trainable": n_train, "params": n_all}


def time_evaluation(hours: float, tmp: Path) -> dict:
    from training.cache import CacheArgs, build_cache
    from training.evaluate import EvaluateArgs, main

    bundle, which = _bundle(tmp)
    cache = tmp / "cache"
    # one synthetic subject, all in the test split; evaluate scores its whole night
    build_cache(CacheArgs(output_dir=str(cache), spec={"preset": "clinical", "width": 64,
                                                        "height": 64},
                          sources=[{"type": "synthetic", "n_subjects": 1, "hours": hours,
                                    "seed": 777}],
                          val_fraction=0.0, test_fraction=1.0, epochs_per_subject=1,
                          workers=1))
    _warm_up_yasa()
    quiet = io.StringIO()
    t = time.perf_counter()
    with contextlib.redirect_stdout(quiet):
        result = main(EvaluateArgs(bundle=str(bundle), cache_dir=str(cache), yasa=True,
                                   update_card=False, device="cpu"))
    total = time.perf_counter() - t
    n = int(result["overall"]["model"]["n_epochs"])
    return {"which": which, "total_s": total, "n_epochs": n, **result["seconds"],
            "yasa_ok": "yasa" in result["overall"]}


def _warm_up_yasa() -> None:
    """YASA's first call is mostly numba JIT compilation: pay it outside the timing."""
    from app.core.inference.yasa_engine import YasaEngine
    from app.core.synth import synthesize

    s = synthesize(hours=0.25, seed=1)
    try:
        YasaEngine().score(s.to_recording())
    except Exception:  # noqa: BLE001 - evaluate reports YASA's failure itself
        pass


def _bundle(tmp: Path) -> tuple[Path, str]:
    if (DEFAULT_BUNDLE / "model_card.json").is_file():
        return DEFAULT_BUNDLE, "embedded default bundle"
    from app.core.inference.bundle_writer import save_bundle
    from app.core.signals.render_spec import RenderSpec
    from training.tiny_llava import (
        DEFAULT_PROMPT,
        LABELS,
        PROMPT_TEMPLATE,
        TinyLlavaSpec,
        build_model_and_processor,
    )

    model, processor = build_model_and_processor(TinyLlavaSpec())
    card = {"schema_version": 1, "name": "bench-random", "version": "0",
            "labels": list(LABELS), "prompt": DEFAULT_PROMPT, "prompt_template": PROMPT_TEMPLATE,
            "render_spec": RenderSpec.preset("clinical", width=224, height=224).to_dict(),
            "synthetic_only": True}
    return save_bundle(tmp / "bundle", model, processor, card), "random tiny LLaVA (no default)"


def print_card_table() -> None:
    from app.core.scoring.stages import STAGE_LABELS

    path = DEFAULT_BUNDLE / "model_card.json"
    if not path.is_file():
        print("\nno embedded default model card at", path.relative_to(ROOT))
        return
    card = json.loads(path.read_text())
    m = card.get("metrics", {}).get("held_out_synthetic")
    print(f"\nembedded default model {card.get('name')} {card.get('version')}: "
          f"training {json.dumps(card.get('training', {}))}")
    if not m:
        print("  its card has no metrics.held_out_synthetic yet (run python -m training "
              "evaluate training/configs/default-tiny.json)")
        return
    print(f"  held-out synthetic: {m.get('data')} ({m.get('n_subjects')} subjects, "
          f"{m.get('n_epochs')} epochs)")
    print(f"  {'scorer':<16}{'acc':>7}{'macro-F1':>10}{'kappa':>8}   "
          + "".join(f"{lab:>7}" for lab in STAGE_LABELS))
    for name in ("model", "model+smoothing", "yasa"):
        a = m.get(name)
        if not a:
            continue
        f1 = "".join(f"{a['f1'].get(lab, float('nan')):7.3f}" for lab in STAGE_LABELS)
        print(f"  {name:<16}{a['accuracy']:7.3f}{a['macro_f1']:10.3f}{a['kappa']:8.3f}   {f1}")


def main(argv: list[str] | None = None) -> int:
    import torch

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=4, help="timed training steps per method")
    p.add_argument("--batch-size", type=int, default=None, help="default: the config's (16)")
    p.add_argument("--hours", type=float, default=1.0, help="length of the evaluated night")
    args = p.parse_args(argv)
    cfg = json.loads(CONFIG.read_text())
    bs = args.batch_size or int(cfg["finetune"]["batch_size"])
    tiny = cfg["finetune"]["model"]["tiny"]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; config "
          f"{CONFIG.relative_to(ROOT)}: tiny {tiny['arch']} {tiny['image_size']} px, "
          f"method {cfg['finetune']['method']}, vision {cfg['finetune']['vision']}, batch {bs}")
    batch = _images(cfg, bs)
    full = time_steps(cfg, cfg["finetune"]["method"], cfg["finetune"]["vision"], batch, args.steps)
    lora = time_steps(cfg, "lora", "frozen", batch, args.steps)
    print(f"\ntraining step, batch {bs}, median of {args.steps} (after 1 warm-up):")
    for name, r in (("full (config)", full), ("LoRA r16 (peer)", lora)):
        print(f"  {name:<17} {r['step_s']:6.2f} s/step  {r['img_s']:6.1f} img/s  "
              f"trainable {r['trainable'] / 1e6:5.2f}M of {r['params'] / 1e6:5.2f}M  "
              f"readout {r['readout_img_s']:6.1f} img/s")
    print(f"  full / LoRA step time: {full['step_s'] / lora['step_s']:.2f}x")
    with tempfile.TemporaryDirectory() as tmp:
        ev = time_evaluation(args.hours, Path(tmp))
    print(f"\nevaluate (python -m training evaluate code), one {args.hours:g}-h night, "
          f"{ev['n_epochs']} epochs, {ev['which']}:")
    print(f"  model (StageEngine)  {ev['model']:6.2f} s  {ev['n_epochs'] / ev['model']:6.1f} "
          "epochs/s")
    if ev["yasa_ok"] and ev["yasa"] > 0:
        print(f"  YASA (peer)          {ev['yasa']:6.2f} s  {ev['n_epochs'] / ev['yasa']:6.1f} "
              f"epochs/s   model / YASA time: {ev['model'] / ev['yasa']:.2f}x")
    else:
        print("  YASA (peer)          could not score this recording")
    print(f"  whole evaluate call  {ev['total_s']:6.2f} s (loading, synthesis, both scorers)")
    print_card_table()
    return 0


if __name__ == "__main__":
    sys.exit(main())
