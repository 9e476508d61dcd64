"""``python -m training {build,finetune,export,calibrate,smoothing,subsets,evaluate,all,finetune-chat} CONFIG``.

One JSON config drives every step (see ``training/configs/``): its ``cache`` section
is :class:`training.cache.CacheArgs`, ``finetune`` is
:class:`training.finetune.FinetuneArgs`, ``export`` is :class:`training.export.ExportArgs`.
``finetune-chat`` adapts a layout bundle (SleepVLM) with its ``finetune_chat`` section
(:class:`training.finetune_chat.ChatFinetuneArgs`); it is not part of ``all``.
``subsets`` measures the card's channel-subset table again with the bundle's smoothing,
beside YASA (the ``calibrate`` section; no image cache needed).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def load_config(path: str) -> dict:
    p = Path(path)
    try:
        cfg = json.loads(p.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise SystemExit(f"Cannot read training config {p}: {err}") from err
    cfg.pop("_comment", None)
    cfg.setdefault("finetune", {}).setdefault("cache_dir", cfg.get("cache", {}).get("output_dir"))
    return cfg


def _dataclass(cls, section: dict, name: str):
    import dataclasses

    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(section) - known
    if unknown:
        raise SystemExit(f"Config section '{name}' has unknown keys: {', '.join(sorted(unknown))}")
    return cls(**section)


def cmd_build(cfg: dict) -> None:
    from tqdm import tqdm

    from training.cache import CacheArgs, build_cache

    args = _dataclass(CacheArgs, cfg["cache"], "cache")
    bar = tqdm(desc="rendering subjects", unit="subject")

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    manifest = build_cache(args, progress=progress)
    bar.close()
    print(json.dumps({"n_images": manifest["n_images"], "label_counts": manifest["label_counts"]},
                     indent=2))


def cmd_finetune(cfg: dict) -> None:
    from training.finetune import FinetuneArgs, main

    main(_dataclass(FinetuneArgs, cfg["finetune"], "finetune"))


def cmd_evaluate(cfg: dict) -> None:
    from training.evaluate import EvaluateArgs, main

    main(_dataclass(EvaluateArgs, cfg["evaluate"], "evaluate"))


def cmd_calibrate(cfg: dict) -> None:
    from training.calibrate import CalibrateArgs, main

    if "calibrate" not in cfg:
        print("no 'calibrate' section in the config: the bundle keeps temperature 1 and "
              "no input-check statistics")
        return
    main(_dataclass(CalibrateArgs, cfg["calibrate"], "calibrate"))


def cmd_subsets(cfg: dict) -> None:
    from training.calibrate import CalibrateArgs, main_subsets

    if "calibrate" not in cfg:
        print("no 'calibrate' section in the config: no channel-subset table")
        return
    main_subsets(_dataclass(CalibrateArgs, cfg["calibrate"], "calibrate"))


def cmd_finetune_chat(cfg: dict) -> None:
    from training.finetune_chat import ChatFinetuneArgs, main

    if "finetune_chat" not in cfg:
        raise SystemExit("The config has no 'finetune_chat' section (bundle, output_dir, "
                         "sources).")
    out = main(_dataclass(ChatFinetuneArgs, cfg["finetune_chat"], "finetune_chat"))
    print(f"wrote {out}")


def cmd_smoothing(cfg: dict) -> None:
    from training.smoothing import SmoothingArgs, main

    if "smoothing" not in cfg:
        print("no 'smoothing' section in the config: the bundle's stages stay per epoch")
        return
    main(_dataclass(SmoothingArgs, cfg["smoothing"], "smoothing"))


def cmd_export(cfg: dict) -> None:
    from training.export import ExportArgs, main

    main(_dataclass(ExportArgs, cfg["export"], "export"))


# "all" runs them in this order: calibrate, smoothing, subsets and evaluate write into the
# exported card, and each scores with what the steps before it fitted, as the app will
COMMANDS = {"build": cmd_build, "finetune": cmd_finetune, "export": cmd_export,
            "calibrate": cmd_calibrate, "smoothing": cmd_smoothing, "subsets": cmd_subsets,
            "evaluate": cmd_evaluate}


EXTRA = {"finetune-chat": cmd_finetune_chat}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training")
    parser.add_argument("command", choices=[*COMMANDS, "all", *EXTRA])
    parser.add_argument("config", help="JSON config (see training/configs/)")
    args = parser.parse_args(argv)
    cfg = load_config(args.config)
    if args.command in EXTRA:  # single steps, not part of "all"
        EXTRA[args.command](cfg)
        return 0
    steps = list(COMMANDS) if args.command == "all" else [args.command]
    for step in steps:
        COMMANDS[step](cfg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
