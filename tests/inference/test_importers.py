"""psg-lens model import sleepvlm: what a weights folder and a prompt must be, in words."""

from __future__ import annotations

import json
import os

import pytest
from models import SLEEPVLM_PROMPT, cached, full_bundle, sleepvlm_weights

from app.core.inference.bundle import load_bundle
from app.core.inference.importers import check_prompt, declared_licences, import_sleepvlm
from app.errors import ModelError


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    return cached(sleepvlm_weights, tmp_path_factory, False)


@pytest.fixture
def prompt(tmp_path):
    p = tmp_path / "prompt.md"
    p.write_text(SLEEPVLM_PROMPT, encoding="utf-8")
    return p


def test_a_weights_folder_without_a_prompt_is_refused(weights, tmp_path):
    with pytest.raises(ModelError, match="needs the system prompt"):
        import_sleepvlm(weights, None, tmp_path / "b")
    with pytest.raises(ModelError, match="no prompt file"):
        import_sleepvlm(weights, tmp_path / "nope.md", tmp_path / "b")
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize("text, words", [
    ("", "is empty"),
    ("Describe the picture.", "never names W, N1, N2, N3, REM"),
    ("Stages W, N1 and N2 only.", "never names N3, REM"),
])
def test_a_prompt_that_never_names_the_five_stages_is_refused(text, words):
    with pytest.raises(ModelError, match=words):
        check_prompt(text, "p.md")


def test_stage_words_may_be_spelled_as_technicians_do():
    check_prompt("Wake, N1, N2, N3 or REM.", "p.md")


def test_weights_that_are_not_qwen_vl_are_refused(tmp_path_factory, prompt, tmp_path):
    llava = cached(full_bundle, tmp_path_factory)
    with pytest.raises(ModelError, match="not a Qwen2.5-VL model"):
        import_sleepvlm(llava, prompt, tmp_path / "b")


def test_pickle_only_weights_are_refused(tmp_path, prompt):
    folder = tmp_path / "w"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(
        {"architectures": ["Qwen2_5_VLForConditionalGeneration"]}))
    (folder / "pytorch_model.bin").write_bytes(b"\x80\x04")
    with pytest.raises(ModelError, match="safetensors only"):
        import_sleepvlm(folder, prompt, tmp_path / "b")


def test_a_bundle_that_points_at_moved_weights_says_so(weights, prompt, tmp_path):
    import shutil

    copy = tmp_path / "weights-copy"
    shutil.copytree(weights, copy)
    bundle = import_sleepvlm(copy, prompt, tmp_path / "b")
    shutil.rmtree(copy)
    with pytest.raises(ModelError, match="not a folder any more"):
        load_bundle(bundle)


def test_copy_makes_a_bundle_that_stands_alone(weights, prompt, tmp_path):
    bundle = import_sleepvlm(weights, prompt, tmp_path / "b", copy=True)
    b = load_bundle(bundle)
    assert b.card["weights"] is None and (bundle / "model.safetensors").is_file()
    assert b.ref == str(bundle)
    assert os.stat(weights / "model.safetensors").st_mode == \
        os.stat(bundle / "model.safetensors").st_mode


def test_a_card_cannot_point_its_weights_outside_with_dots(weights, prompt, tmp_path):
    bundle = import_sleepvlm(weights, prompt, tmp_path / "b")
    card = json.loads((bundle / "model_card.json").read_text())
    card["weights"] = "../elsewhere"
    (bundle / "model_card.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="absolute path or a hub id"):
        load_bundle(bundle)


def test_the_bundle_is_not_written_over_a_folder_that_is_not_a_bundle(weights, prompt,
                                                                       tmp_path):
    target = tmp_path / "mine"
    target.mkdir()
    (target / "notes.txt").write_text("keep me")
    with pytest.raises(ModelError, match="not a model bundle"):
        import_sleepvlm(weights, prompt, target)
    assert (target / "notes.txt").read_text() == "keep me"


def test_licences_are_read_as_the_weights_folder_declares_them(tmp_path):
    (tmp_path / "README.md").write_text("---\nlicense: other\nlicense_name: qwen-research\n"
                                        "base_model: Qwen/Qwen2.5-VL-3B-Instruct\n---\n")
    (tmp_path / "LICENSE").write_text("...")
    lic = declared_licences(tmp_path)
    assert lic["weights"] == "qwen-research"
    assert lic["base_model"] == "Qwen/Qwen2.5-VL-3B-Instruct"
    assert lic["declared_in"] == ["README.md", "LICENSE"]
    assert declared_licences(tmp_path / "none")["weights"] is None
