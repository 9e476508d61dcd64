"""Whole-night scoring speed: the stage engine against YASA on the same study, same run.

Run: ``python bench/engine.py [--epochs 960] [--batch-size 16] [--device cpu]`` from the
project root. Prints, does not assert.

The study is synthetic (``app.core.synth``, AASM montage, 256 Hz): ``--epochs`` 30-s epochs
(960 = 8 hours). The model is the embedded default bundle at ``resources/models/default``
when it exists, else a randomly initialised tiny LLaVA of the default's size (CLIP 224/16
hidden 192 x 3 layers + Llama hidden 256 x 4 layers; speed does not depend on the
weights), built on the fly; the output says which. Reported: epochs/s, the share of time
spent rendering, preprocessing (processor) and in the model, and YASA's staging time
(EEG + EOG + EMG) on the same study with the ratio. Both are warmed up first (one batch of
the engine; one whole YASA call, whose first run is mostly numba JIT compilation).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.core.inference.engine import StageEngine  # noqa: E402
from app.core.inference.yasa_engine import YasaEngine  # noqa: E402
from app.core.signals.recording import Recording  # noqa: E402


def _default_or_tiny(folder: Path) -> tuple[Path, str]:
    default = ROOT / "resources" / "models" / "default"
    if (default / "model_card.json").is_file():
        return default, f"embedded default bundle ({default.relative_to(ROOT)})"
    from app.core.inference.bundle_writer import save_bundle
    from app.core.signals.render_spec import RenderSpec
    from training.tiny_llava import (
        DEFAULT_PROMPT,
        LABELS,
        PROMPT_TEMPLATE,
        TinyLlavaSpec,
        build_model_and_processor,
    )

    size = TinyLlavaSpec()
    model, processor = build_model_and_processor(size)
    spec = RenderSpec.preset("clinical", width=size.image_size, height=size.image_size)
    card = {"name": "bench-tiny-random", "version": "0", "labels": list(LABELS),
            "prompt": DEFAULT_PROMPT, "prompt_template": PROMPT_TEMPLATE,
            "render_spec": spec.to_dict(), "synthetic_only": True}
    path = save_bundle(folder / "tiny", model, processor, card)
    n = sum(p.numel() for p in model.parameters())
    return path, (f"NO embedded default at resources/models/default: a random tiny LLaVA "
                  f"of the default's size built on the fly ({n / 1e6:.1f}M params, "
                  f"{size.image_size}px, clinical spec)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=960, help="study length in 30-s epochs")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args(argv)

    import torch

    from app.core.synth import make_study_file

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        make_study_file(tmp / "night.edf", hours=args.epochs * 30 / 3600, seed=0,
                        montage="aasm")
        rec = Recording.open(tmp / "night.edf")
        synth_sec = time.perf_counter() - t0
        bundle, which = _default_or_tiny(tmp)
        print(f"machine: {os.cpu_count()} CPU cores, torch {torch.__version__}, "
              f"{torch.get_num_threads()} threads")
        print(f"study:   synthetic AASM, {rec.n_epochs} epochs ({rec.n_epochs / 120:.2f} h), "
              f"{len(rec.channels)} channels at 256 Hz (made in {synth_sec:.1f} s)")
        print(f"model:   {which}")

        t0 = time.perf_counter()
        engine = StageEngine(bundle, device=args.device, batch_size=args.batch_size)
        load_sec = time.perf_counter() - t0
        engine.score(rec, epochs=range(min(args.batch_size, rec.n_epochs)))  # warm-up
        t0 = time.perf_counter()
        hyp = engine.score(rec)
        vlm_sec = time.perf_counter() - t0
        m = hyp.meta
        parts = {"render": m["render_sec"], "preprocess": m["preprocess_sec"],
                 "model": m["model_sec"]}
        other = max(vlm_sec - sum(parts.values()), 0.0)
        print(f"\nStageEngine ({engine.device}, {m['dtype']}, batch {args.batch_size}, "
              f"spec {engine.spec.name} {engine.spec.width}x{engine.spec.height}); "
              f"load {load_sec:.1f} s")
        print(f"  {hyp.n_epochs} epochs in {vlm_sec:.2f} s = {hyp.n_epochs / vlm_sec:.1f} "
              f"epochs/s ({1000 * vlm_sec / hyp.n_epochs:.1f} ms/epoch)")
        for name, sec in (*parts.items(), ("other", other)):
            print(f"  {name:<11} {sec:7.2f} s  {100 * sec / vlm_sec:5.1f} %")

        yasa = YasaEngine()  # imports yasa/lightgbm: not staging time
        t0 = time.perf_counter()
        yasa.score(rec)  # first call: numba JIT + classifier load, paid once per process
        cold_sec = time.perf_counter() - t0
        t0 = time.perf_counter()
        yhyp = yasa.score(rec)
        yasa_sec = time.perf_counter() - t0
        print("\nYASA SleepStaging (EEG C4-M1 + EOG + EMG, same study, same run)")
        print(f"  first call {cold_sec:.2f} s (numba JIT, classifier load); then")
        print(f"  {yhyp.n_epochs} epochs in {yasa_sec:.2f} s = {yhyp.n_epochs / yasa_sec:.1f} "
              f"epochs/s (reading {yhyp.meta['render_sec']:.2f} s, features+classifier "
              f"{yhyp.meta['model_sec']:.2f} s)")
        print(f"\nratio (both warm): StageEngine takes {vlm_sec / yasa_sec:.1f}x YASA's time "
              "on this night")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
