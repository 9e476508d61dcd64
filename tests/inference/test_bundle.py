"""Model bundles: save/load round trips, and every way a bundle is refused, in one sentence."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from models import adapter_bundle, build, cached, card, full_bundle, render_spec

from app.core.inference.bundle import Bundle, load_bundle
from app.core.inference.bundle_writer import save_bundle
from app.errors import ModelError


@pytest.fixture(scope="module")
def full(tmp_path_factory) -> Path:
    return cached(full_bundle, tmp_path_factory)


@pytest.fixture
def copy(full, tmp_path):
    """A scratch copy of the full bundle to break."""
    def make() -> Path:
        dst = tmp_path / "b"
        shutil.copytree(full, dst)
        return dst
    return make


def _edit_card(path: Path, **changes) -> None:
    c = json.loads((path / "model_card.json").read_text())
    for k, v in changes.items():
        if v is None and k.startswith("del_"):
            c.pop(k[4:], None)
        else:
            c[k] = v
    (path / "model_card.json").write_text(json.dumps(c))


def test_full_bundle_round_trip(full):
    b = load_bundle(full, check_tokenizer=True)
    assert b.name == "tiny-llava-clinical" and b.scorer_id == "tiny-llava-clinical/0.0.1"
    assert b.spec == render_spec("clinical") and b.spec.width == 64
    assert b.labels == ("W", "N1", "N2", "N3", "REM")
    assert b.prompt.startswith("USER: <image>\nClassify the PSG.")
    assert b.card["architecture"] == "LlavaForConditionalGeneration"
    assert b.card["adapter"] is None
    assert b.card["image_normalisation"] == {"mean": [1.0, 1.0, 1.0], "std": [0.5, 0.5, 0.5]}
    assert (full / "model.safetensors").is_file()
    assert not list(full.parent.glob(".*tmp-*")), "the temp folder was left behind"
    d = b.describe()
    assert d["synthetic_only"] is True and "64x64" in d["render_spec"]


def test_full_bundle_reloads_identical_logits(tmp_path):
    import torch

    model, processor = build()
    path = save_bundle(tmp_path / "b", model, processor, card())
    loaded, proc = load_bundle(path).load_model(device="cpu")
    assert proc.tokenizer.padding_side == "left"
    text = load_bundle(path).prompt
    inputs = proc(images=[np.full((64, 64, 3), 200, np.uint8)], text=[text], return_tensors="pt")
    with torch.no_grad():
        a = model(**inputs).logits
        b = loaded(**inputs).logits
    assert torch.allclose(a, b, atol=1e-6)


def test_save_bundle_replaces_an_existing_bundle(tmp_path):
    model, processor = build()
    save_bundle(tmp_path / "b", model, processor, card(version="1"))
    save_bundle(tmp_path / "b", model, processor, card(version="2"))
    assert load_bundle(tmp_path / "b").version == "2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]


def test_adapter_bundle_saves_only_the_adapter(tmp_path_factory):
    path, _ = cached(adapter_bundle, tmp_path_factory)
    b = load_bundle(path, check_tokenizer=True)
    assert b.card["adapter"] == "adapter" and b.card["base_model"] == str(
        (path.parent / "base-llava").resolve())
    assert (path / "adapter" / "adapter_model.safetensors").is_file()
    assert (path / "adapter" / "adapter_config.json").is_file()
    assert not (path / "model.safetensors").exists()
    assert Path(b.base_ref) == (path.parent / "base-llava").resolve()


def test_adapter_bundle_needs_a_base_model(tmp_path):
    from models import lora_model

    model, processor = build()
    with pytest.raises(ModelError, match="needs card\\['base_model'\\]"):
        save_bundle(tmp_path / "x", lora_model(model), processor, card())
    assert not list(tmp_path.iterdir())


# -- refusals ------------------------------------------------------------------------------
def test_missing_folder(tmp_path):
    with pytest.raises(ModelError, match="There is no model bundle at"):
        load_bundle(tmp_path / "nope")


def test_file_not_folder(tmp_path):
    f = tmp_path / "model.safetensors"
    f.write_bytes(b"x")
    with pytest.raises(ModelError, match="is a file; a model bundle is a folder"):
        load_bundle(f)


def test_no_card(copy):
    path = copy()
    (path / "model_card.json").unlink()
    with pytest.raises(ModelError, match="is not a PSG Lens model bundle: it has no "
                                         "model_card.json"):
        load_bundle(path)


def test_card_not_json(copy):
    path = copy()
    (path / "model_card.json").write_text("{name: tiny")
    with pytest.raises(ModelError, match=r"is not valid JSON \(line 1"):
        load_bundle(path)


def test_card_missing_keys(copy):
    path = copy()
    _edit_card(path, del_labels=None, del_render_spec=None)
    with pytest.raises(ModelError, match="lacks required key\\(s\\): labels, render_spec"):
        load_bundle(path)


def test_unknown_schema_version(copy):
    path = copy()
    _edit_card(path, schema_version=2)
    with pytest.raises(ModelError, match="schema_version 2; this PSG Lens reads version 1"):
        load_bundle(path)


def test_render_spec_rejected_passes_its_message_on(copy):
    path = copy()
    spec = render_spec().to_dict()
    spec["scaling"] = "loudest"
    _edit_card(path, render_spec=spec)
    with pytest.raises(ModelError, match="scaling must be 'physical' or 'minmax'"):
        load_bundle(path)


def test_labels_one_pass_cannot_tell_apart_are_refused(copy):
    path = copy()
    _edit_card(path, labels=["W", "N1", "N2", "N3", "N3 REM"])
    b = load_bundle(path)  # cheap validation does not read the tokenizer
    with pytest.raises(ModelError, match="'N3' of .* is the start of 'N3 REM'"):
        b.label_readout()
    with pytest.raises(ModelError, match="is the start of"):
        load_bundle(path, check_tokenizer=True)


def test_label_unknown_to_the_tokenizer(copy):
    path = copy()
    _edit_card(path, labels=["W", "N1", "N2", "N3", "Paradoxical"])
    with pytest.raises(ModelError, match="'Paradoxical' .* is unknown to its tokenizer"):
        load_bundle(path, check_tokenizer=True)


def test_labels_must_be_five_distinct_words(copy):
    path = copy()
    _edit_card(path, labels=["W", "N1", "N2", "REM"])
    with pytest.raises(ModelError, match="must be five words"):
        load_bundle(path)


@pytest.mark.parametrize("pickle_name", ["pytorch_model.bin", "model.pt", "weights.ckpt"])
def test_pickle_only_weights_are_refused_unread(copy, monkeypatch, pickle_name):
    import torch

    path = copy()
    (path / "model.safetensors").unlink()
    (path / pickle_name).write_bytes(b"\x80\x04not really a pickle")
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("tried to unpickle"))
    with pytest.raises(ModelError, match=f"only in pickle format \\({pickle_name}\\); PSG Lens "
                                         "loads safetensors only"):
        load_bundle(path)


def test_remote_code_is_refused(copy):
    path = copy()
    cfg = json.loads((path / "config.json").read_text())
    cfg["auto_map"] = {"AutoModel": "modeling_evil.EvilModel"}
    (path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelError, match="asks to run custom code"):
        load_bundle(path)


def test_adapter_in_pickle_format_is_refused(tmp_path_factory, tmp_path):
    path, _ = cached(adapter_bundle, tmp_path_factory)
    dst = tmp_path / "lora"
    shutil.copytree(path, dst)
    (dst / "adapter" / "adapter_model.safetensors").unlink()
    (dst / "adapter" / "adapter_model.bin").write_bytes(b"x")
    _edit_card(dst, base_model=str(path.parent / "base-llava"))
    with pytest.raises(ModelError, match="adapter of .* is in pickle format only"):
        load_bundle(dst)


def test_missing_base_model(tmp_path_factory, tmp_path):
    path, _ = cached(adapter_bundle, tmp_path_factory)
    dst = tmp_path / "lora"
    shutil.copytree(path, dst)
    _edit_card(dst, base_model=str(tmp_path / "moved-away"))
    with pytest.raises(ModelError, match="base model of .* is not a folder"):
        load_bundle(dst)
    _edit_card(dst, base_model="../base-llava")  # relative, outside the bundle: refused
    with pytest.raises(ModelError, match="outside the bundle; a base model outside"):
        load_bundle(dst)
    _edit_card(dst, base_model="some-org/not-downloaded-model")
    with pytest.raises(ModelError, match="not in the local Hugging Face cache"):
        load_bundle(dst)


# -- plain Hugging Face folders ------------------------------------------------------------
def test_plain_hf_folder_only_through_from_hf(tmp_path):
    model, processor = build()
    model.save_pretrained(tmp_path / "hf")
    processor.save_pretrained(tmp_path / "hf")
    with pytest.raises(ModelError, match="has no model_card.json"):
        load_bundle(tmp_path / "hf")
    b = Bundle.from_hf(tmp_path / "hf", spec=render_spec("paper"))
    assert b.spec.name == "paper" and b.card["adapter"] is None
    # the tiny processor's chat template gives the LLaVA-1.5 layout
    assert b.prompt == "USER: <image>\nClassify the PSG. Choose from: W, N1, N2, N3, REM. " \
                       "ASSISTANT:"
    assert len(set(b.label_readout().first_ids)) == 5


def test_from_hf_hub_id_stays_offline():
    with pytest.raises(ModelError, match="neither a model folder nor in the local Hugging "
                                         "Face cache"):
        Bundle.from_hf("llava-hf/surely-not-cached-7b")


def test_card_and_processor_normalisation_mismatch_is_noticed(copy):
    path = copy()
    _edit_card(path, image_normalisation={"mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]})
    b = load_bundle(path)
    b.load_model(device="cpu")
    assert any("image mean" in n and "processor's is used" in n for n in b.notices)


def test_prompt_template_without_the_image_token(copy):
    path = copy()
    _edit_card(path, prompt_template="USER: {prompt} ASSISTANT:")
    with pytest.raises(ModelError, match="has no <image> placeholder"):
        load_bundle(path).load_model(device="cpu")
