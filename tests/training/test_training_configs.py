"""Each shipped training config, run end to end on a tiny model of its architecture.

The config's own settings (render preset, LoRA rank/alpha/dropout/targets, vision mode,
projector, batch size, gradient accumulation, class weights, prompt, export and
evaluate options) are kept; only what cannot run here is swapped: the base model
becomes a tiny model of the same family saved to a local folder (loaded through the
same ``{"base": ...}`` path as the hub id, with a tokenizer that splits "N1" into "N" +
"1" as the hub models' do), the images shrink to 64 px, the data
becomes 3 synthetic subjects and training stops after ``max_steps: 2``. Then
``python -m training all`` must leave a bundle that ``load_bundle`` accepts and that
``evaluate`` scores.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from models import build, onevision_bundle, tiny_spec

from training.__main__ import main as training_main
from training.finetune import FinetuneArgs

CONFIGS = Path(__file__).resolve().parents[2] / "training" / "configs"
SHIPPED = sorted(p.name for p in CONFIGS.glob("*.json"))
SIZE = 64


def _save_base(folder: Path, arch: str, split_digits: bool = True) -> Path:
    # the hub bases' tokenizers (Mistral, Qwen2) split "N1" into "N" + "1": so does this one,
    # so the two-token answers and the two-level readout are what these configs exercise
    model, processor = build(arch, split_digits=split_digits)
    model.save_pretrained(folder, safe_serialization=True)
    processor.save_pretrained(folder)
    return folder


def tiny_config(name: str, tmp: Path, base: Path | None, arch: str = "llava") -> Path:
    """The shipped config with model, data, sizes and every output path swapped."""
    cfg = json.loads((CONFIGS / name).read_text())
    cfg.pop("_comment", None)
    cache, ft, ex, ev = (cfg[k] for k in ("cache", "finetune", "export", "evaluate"))
    spec = cache["spec"] if isinstance(cache["spec"], dict) else {"preset": cache["spec"]}
    cache.update(output_dir=str(tmp / "cache"), spec={**spec, "width": SIZE, "height": SIZE},
                 sources=[{"type": "synthetic", "n_subjects": 3, "hours": 0.1, "seed": 500,
                           "sfreq": 100.0}],
                 epochs_per_subject=8, workers=1)
    if base is None:  # a from-scratch config: the same builder, tiny sizes
        ft["model"] = {"init": "tiny", "tiny": {**dataclasses.asdict(tiny_spec(arch, SIZE)),
                                                "arch": ft["model"]["tiny"]["arch"]}}
    else:             # a hub-id or warm-start config: from_pretrained on a local folder
        ft["model"] = {**ft["model"], "base": str(base)}
        if ft.get("method", "lora") == "lora":
            ex["base_model"] = str(base)
    ft.update(output_dir=str(tmp / "train"), max_steps=2, eval_max_images=8, max_minutes=None)
    ex.update(checkpoint=str(tmp / "train" / "best"), cache_dir=str(tmp / "cache"),
              output_dir=str(tmp / "bundle"))
    ev.update(bundle=str(tmp / "bundle"), cache_dir=str(tmp / "cache"), yasa=False,
              max_subjects=1, batch_size=8, output_json=str(tmp / "evaluation.json"))
    for k, src in ev.get("extra_sets", {}).items():  # the same kind of set, one short night
        ev["extra_sets"][k] = {**src, "n_subjects": 1, "hours": 0.1, "sfreq": 100.0}
    if "calibrate" in cfg:
        cfg["calibrate"].update(bundle=str(tmp / "bundle"), cache_dir=str(tmp / "cache"),
                                batch_size=8, feature_subjects=2, subset_subjects=1,
                                subset_epochs=6, subset_hours=0.5, reliability_png=str(tmp / "rel.png"),
                                output_json=str(tmp / "calibration.json"))
    if "smoothing" in cfg:  # two short nights of two montages: one fits, one measures
        cfg["smoothing"].update(bundle=str(tmp / "bundle"), montages=["aasm", "sleep-edf"],
                                nights_per_montage=2, hours=0.2, batch_size=8,
                                output_json=str(tmp / "smoothing.json"),
                                nights_cache=str(tmp / "nights.npz"),
                                reliability_png=str(tmp / "rel-night.png"))
    text = json.dumps(cfg)
    for real in ("build/", "resources/"):  # never touch the real outputs
        assert f'"{real}' not in text, f"{name}: an output path still points into {real}"
    path = tmp / name
    path.write_text(text)
    return path


def run_and_check(path: Path, tmp: Path) -> dict:
    from app.core.inference.bundle import load_bundle

    shipped = json.loads((CONFIGS / path.name).read_text())
    assert training_main(["all", str(path)]) == 0
    log = json.loads((tmp / "train" / "train_log.json").read_text())
    assert log["steps"] == 2
    bundle = load_bundle(tmp / "bundle", check_tokenizer=True)
    card = bundle.card
    assert card["render_spec"]["name"] == shipped["cache"]["spec"]["preset"]
    assert card["render_spec"]["width"] == SIZE
    assert card["prompt"] == shipped["finetune"].get("prompt", FinetuneArgs.prompt)
    assert card["training"]["method"] == shipped["finetune"]["method"]
    assert card["synthetic_only"] == shipped["export"]["synthetic_only"]
    metrics = card["metrics"]["held_out_synthetic" if card["synthetic_only"] else "held_out_test"]
    assert {"model", "model+smoothing"} <= set(metrics) and metrics["n_subjects"] == 1
    for k in shipped["evaluate"].get("extra_sets", {}):
        key = ("held_out_synthetic" if card["synthetic_only"] else "held_out_test") + f"_{k}"
        assert card["metrics"][key]["n_subjects"] == 1
    if "smoothing" in shipped:
        sm = card["smoothing"]
        assert 0 <= sm["prior_weight"] <= 10 and sm["held_out"]["n_nights"] == 2
        assert sm["held_out"]["n_epochs"] == 2 * 24 and "smoothed" in sm["held_out"]
        assert load_bundle(tmp / "bundle").smoothing is not None
        assert (tmp / "rel-night.png").stat().st_size > 1000
    if "calibrate" in shipped:
        cal = card["calibration"]
        assert 0.25 <= cal["temperature"] <= 10 and 0 <= cal["ece_after"] <= 1
        assert (tmp / "rel.png").stat().st_size > 1000
        subsets = card["metrics"]["channel_subsets"]["subsets"]
        assert [s["name"] for s in subsets][0] == "every channel"
        assert all(0 <= s["accuracy"] <= 1 and s["slots"] for s in subsets)
        # YASA read the same leads on the same epochs (the notices quote it)
        assert all(s["peer"]["name"].startswith("yasa/") and 0 <= s["peer"]["accuracy"] <= 1
                   and 0 <= s["peer"]["model_alone_accuracy"] <= 1 for s in subsets)
        assert bundle.feature_reference is not None and bundle.temperature == cal["temperature"]
    return card


def check_lora(tmp: Path, shipped: dict) -> None:
    """The adapter holds exactly the config's LoRA: LM attention only, projector saved."""
    from safetensors import safe_open

    ft = shipped["finetune"]
    adapter = tmp / "bundle" / "adapter"
    conf = json.loads((adapter / "adapter_config.json").read_text())
    assert (conf["r"], conf["lora_alpha"], conf["lora_dropout"]) == \
        (ft["lora_r"], ft["lora_alpha"], ft["lora_dropout"])
    assert conf["target_modules"] == ft["lora_target"]
    assert "multi_modal_projector" in conf["modules_to_save"]
    with safe_open(adapter / "adapter_model.safetensors", "pt") as f:
        keys = list(f.keys())
    lora = [k for k in keys if "lora_" in k]
    assert lora and all("language_model" in k and "self_attn" in k for k in lora)
    assert any("multi_modal_projector" in k for k in keys)
    assert not any("vision_tower" in k for k in keys)  # vision: frozen


def test_every_shipped_config_is_covered():
    assert SHIPPED == ["default-tiny.json", "llava-next-7b-lora.json",
                       "llava-onevision-0.5b-lora.json", "sleepvlm-adapt.json"], \
        "a new config in training/configs needs a tiny end-to-end test here"


def test_default_tiny_config_on_a_64px_tiny_llava(tmp_path):
    shipped = json.loads((CONFIGS / "default-tiny.json").read_text())
    # the shipped recipe fine-tunes the previous default bundle (a folder of the same
    # builder's model): here a tiny one saved the same way stands in for it
    warm = "base" in shipped["finetune"]["model"]
    base = _save_base(tmp_path / "base", "llava", split_digits=False) if warm else None
    path = tiny_config("default-tiny.json", tmp_path, base)
    card = run_and_check(path, tmp_path)
    assert card["adapter"] is None and card["architecture"] == "LlavaForConditionalGeneration"
    # `subsets` re-measures only the channel-subset table, without the image cache
    import shutil

    shutil.rmtree(tmp_path / "cache")
    cfg = json.loads(path.read_text())
    cfg["calibrate"].update(subset_seed=4242, peer=False)
    path.write_text(json.dumps(cfg))
    assert training_main(["subsets", str(path)]) == 0
    again = json.loads((tmp_path / "bundle" / "model_card.json").read_text())
    table = again["metrics"]["channel_subsets"]
    assert table["montages_as_recorded"] == card["metrics"]["channel_subsets"][
        "montages_as_recorded"] and again["calibration"] == card["calibration"]
    assert all("seeds 4242+" in s["data"] and "peer" not in s for s in table["subsets"])


def test_llava_next_7b_config_on_a_tiny_llava_next(tmp_path):
    base = _save_base(tmp_path / "base", "llava_next")
    path = tiny_config("llava-next-7b-lora.json", tmp_path, base)
    card = run_and_check(path, tmp_path)
    assert card["architecture"] == "LlavaNextForConditionalGeneration"
    from app.core.inference.bundle import load_bundle

    plan = load_bundle(tmp_path / "bundle").label_readout()
    assert len(plan.path) == 1 and len(set(plan.first_ids)) == 3  # W, N(1|2|3), REM
    check_lora(tmp_path, json.loads((CONFIGS / path.name).read_text()))


def test_onevision_config_lora_settings_on_a_tiny_llava_next(tmp_path):
    """The OneVision config's LoRA path on LLaVA-NeXT: this machine cannot build the
    OneVision processor (transformers 5.23 needs torchvision for it; see the next test)."""
    base = _save_base(tmp_path / "base", "llava_next")
    path = tiny_config("llava-onevision-0.5b-lora.json", tmp_path, base)
    run_and_check(path, tmp_path)
    check_lora(tmp_path, json.loads((CONFIGS / path.name).read_text()))


def test_onevision_config_on_a_tiny_onevision(tmp_path):
    try:
        base = onevision_bundle(tmp_path / "ov")  # a saved HF folder (plus a card)
    except Exception as err:  # noqa: BLE001 - whatever the processor build raises
        pytest.skip(f"cannot build a LLaVA-OneVision processor here ({type(err).__name__}: "
                    f"{err}); transformers 5.x needs torchvision for it. The config's LoRA "
                    "path ran on LLaVA-NeXT in the test above.")
    path = tiny_config("llava-onevision-0.5b-lora.json", tmp_path, base)
    card = run_and_check(path, tmp_path)
    assert card["architecture"] == "LlavaOnevisionForConditionalGeneration"
    check_lora(tmp_path, json.loads((CONFIGS / path.name).read_text()))


def test_sleepvlm_adapt_config_on_a_tiny_qwen25_vl(tmp_path, tmp_path_factory):
    """The shipped LoRA settings on a tiny SleepVLM-shaped bundle, through the command."""
    from models import cached, sleepvlm_bundle

    from app.core.inference.bundle import load_bundle

    cfg = json.loads((CONFIGS / "sleepvlm-adapt.json").read_text())
    ft = cfg["finetune_chat"]
    ft.update(bundle=str(cached(sleepvlm_bundle, tmp_path_factory, False)),
              output_dir=str(tmp_path / "ours"), device="cpu", max_steps=2, batch_size=2,
              epochs_per_study=4,
              sources=[{"type": "synthetic", "n_subjects": 1, "hours": 0.1, "seed": 9}])
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps(cfg))
    assert training_main(["finetune-chat", str(path)]) == 0
    b = load_bundle(tmp_path / "ours")
    conf = json.loads((b.adapter_path / "adapter_config.json").read_text())
    shipped = json.loads((CONFIGS / "sleepvlm-adapt.json").read_text())["finetune_chat"]
    assert (conf["r"], conf["lora_alpha"]) == (shipped["lora_r"], shipped["lora_alpha"])
    from safetensors import safe_open

    with safe_open(b.adapter_path / "adapter_model.safetensors", "pt") as f:
        keys = list(f.keys())
    assert keys and all("language_model" in k for k in keys)  # vision frozen
