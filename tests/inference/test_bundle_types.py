"""Model cards with fields of the wrong type, and weights that are no safetensors file.

Each is one ModelError sentence naming the card (or weights file), the field and the
value as the card has it, said by ``load_bundle`` before any model time: never a
ValueError from ``float("abc")``, an AttributeError from ``[].get`` or a SafetensorError
from deep inside transformers. Nothing is ever unpickled.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from models import adapter_bundle, build, cached, full_bundle

from app.core.files.limits import CARD_MAX_BYTES
from app.core.inference.bundle import Bundle, load_bundle
from app.errors import ModelError


@pytest.fixture(scope="module")
def full(tmp_path_factory) -> Path:
    return cached(full_bundle, tmp_path_factory)


@pytest.fixture
def bundle(full, tmp_path) -> Path:
    """A scratch copy of a valid bundle, to break."""
    return Path(shutil.copytree(full, tmp_path / "b"))


@pytest.fixture(autouse=True)
def _never_unpickle(monkeypatch):
    import torch

    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("tried to unpickle"))


def _card(path: Path) -> dict:
    return json.loads((path / "model_card.json").read_text())


def _set(path: Path, key: str, value) -> None:
    c = _card(path)
    c[key] = value
    (path / "model_card.json").write_text(json.dumps(c))


def _refused(path: Path, words: str) -> None:
    with pytest.raises(ModelError, match=f"^The (model card|labels) of {re.escape(str(path))}"
                                         f".*{words}"):
        load_bundle(path)


# -- card fields ----------------------------------------------------------------------
SINGULAR = [[0.0, 0.0], [0.0, 0.0]]


def _input_check(mean=(1.0, 2.0), cov=((1.0, 0.0), (0.0, 1.0)), threshold=9.0) -> dict:
    return {"slots": {"central": {"mean": list(mean) if isinstance(mean, tuple) else mean,
                                  "cov": [list(r) for r in cov] if isinstance(cov, tuple)
                                  else cov, "threshold": threshold}}}


CARD_CASES = [
    ("image_normalisation", {"mean": "abc", "std": [0.5] * 3},
     "'image_normalisation.mean' must be three numbers \\(red, green, blue\\), not \"abc\""),
    ("image_normalisation", {"mean": [0.5, 0.5], "std": [0.5] * 3},
     "'image_normalisation.mean' must be three numbers .*, not \\[0.5, 0.5\\]"),
    ("image_normalisation", {"mean": [0.5, "x", 0.5]}, "'image_normalisation.mean' must be"),
    ("image_normalisation", {"std": [0, 1, 1]},
     "'image_normalisation.std' must be three numbers above 0, not \\[0, 1, 1\\]"),
    ("image_normalisation", {"std": [-0.5, 0.5, 0.5]}, "'image_normalisation.std' must be "
                                                       "three numbers above 0"),
    ("image_normalisation", {"std": [0.5, 0.5, 0.5, 0.5]}, "'image_normalisation.std' must be "
                                                           "three numbers"),
    ("image_normalisation", "imagenet", "'image_normalisation' must be an object with mean "
                                        "and std, not \"imagenet\""),
    ("labels", "W N1 N2 N3 REM", "must be five words, for W, N1, N2, N3 and REM"),
    ("labels", [0, 1, 2, 3, 4], "must be five words"),
    ("labels", ["W", "N1", "N2", "N3", " "], "must be five words"),
    ("labels", ["W", "N1", "N2", "N2", "REM"], "must be distinct"),
    ("calibration", {"temperature": "hot"}, "calibration temperature 'hot'; it must be a "
                                            "number between 0.05 and 50"),
    ("calibration", {"temperature": 0}, "calibration temperature 0; it must be a number"),
    ("calibration", {"temperature": -1.5}, "calibration temperature -1.5; it must be"),
    ("calibration", {"temperature": True}, "calibration temperature True; it must be"),
    ("calibration", {"temperature": float("nan")}, "calibration temperature nan; it must be"),
    ("calibration", {"temperature": float("inf")}, "calibration temperature inf; it must be"),
    ("calibration", 1.3, "'calibration' must be an object"),
    ("synthetic_only", "false", "'synthetic_only' must be true or false \\(without quotes\\), "
                                "not \"false\""),
    ("name", 5, "'name' must be a non-empty text, not 5"),
    ("name", "", "'name' must be a non-empty text, not \"\""),
    ("version", 1.0, "'version' must be text such as \"1.0.0\", not 1.0"),
    ("architecture", None, "'architecture' must be a non-empty text, not null"),
    ("base_model", 5, "'base_model' must be a folder path or hub id \\(text\\) or null, not 5"),
    ("weights", ["a"], "'weights' must be a folder path or hub id"),
    ("adapter", "../other-bundle/adapter", "'adapter' must be the name of a folder inside "
                                           "the bundle, or null, not \"../other-bundle"),
    ("adapter", "/etc", "'adapter' must be the name of a folder inside the bundle"),
    ("metrics", [], "'metrics' must be an object, not \\[\\]"),
    ("metrics", {"channel_subsets": []}, "'metrics.channel_subsets' must be an object with a "
                                         "'subsets' list"),
    ("metrics", {"channel_subsets": {"subsets": ["all"]}},
     "'metrics.channel_subsets.subsets\\[1\\]' must be an object, not \"all\""),
    ("metrics", {"channel_subsets": {"subsets": [{"name": "x", "accuracy": "high"}]}},
     "'metrics.channel_subsets.subsets\\[1\\].accuracy' must be a number between -1 and 1, "
     "not \"high\""),
    ("metrics", {"channel_subsets": {"subsets": [{"name": "x", "slots": "central"}]}},
     "'metrics.channel_subsets.subsets\\[1\\].slots' must be a list of slot names"),
    ("input_check", _input_check(mean="abc"), "'input_check.slots.central.mean' must be a list "
                                              "of numbers, not \"abc\""),
    ("input_check", _input_check(cov=[[1.0, 0.0]]), "'input_check.slots.central.cov' must be "
                                                    "2 rows of 2 numbers"),
    ("input_check", _input_check(cov=SINGULAR), "'input_check.slots.central.cov' must be an "
                                                "invertible covariance matrix"),
    ("input_check", _input_check(threshold=0), "'input_check.slots.central.threshold' must be "
                                               "a number above 0, not 0"),
    ("input_check", _input_check(threshold="x"), "'input_check.slots.central.threshold' must "
                                                 "be a number above 0"),
    ("input_check", {"slots": []}, "'input_check' must be training statistics"),
    ("input_check", {"slots": {"central": {"mean": [1.0]}}},
     "'input_check.slots.central' must be an object with mean, cov and threshold"),
]


@pytest.mark.parametrize("key, value, words", CARD_CASES,
                         ids=[f"{k}={json.dumps(v)[:30]}" for k, v, _ in CARD_CASES])
def test_a_card_field_of_the_wrong_type(bundle: Path, key: str, value, words: str) -> None:
    _set(bundle, key, value)
    _refused(bundle, words)


def test_valid_optional_fields_still_load(bundle: Path) -> None:
    _set(bundle, "image_normalisation", {"mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]})
    _set(bundle, "input_check", _input_check())
    _set(bundle, "calibration", {"temperature": 1.3})
    b = load_bundle(bundle)
    assert b.temperature == 1.3 and b.feature_reference is not None


def test_the_card_of_the_shipped_model_passes() -> None:
    root = Path(__file__).resolve().parents[2] / "resources" / "models" / "default"
    b = load_bundle(root)
    assert b.feature_reference is not None and b.validated_subsets


# -- the card file itself ---------------------------------------------------------------
def test_a_card_over_1_mib_is_refused_unread(bundle: Path) -> None:
    with open(bundle / "model_card.json", "r+b") as f:
        f.truncate(CARD_MAX_BYTES + 1)
    _refused(bundle, r"is 1 MiB, larger than a model card can be \(1 MiB at most\)")


def test_a_deeply_nested_card_is_refused_before_parsing(bundle: Path) -> None:
    (bundle / "model_card.json").write_text('{"name": "x",\n"training_data": '
                                            + "[" * 100_000 + "]" * 100_000 + "}")
    _refused(bundle, "line 2: the JSON is nested more than 64 levels deep, which a model "
                     "card never is")


def test_a_card_syntax_error_names_its_line(bundle: Path) -> None:
    lines = json.dumps(_card(bundle), indent=2).splitlines()
    lines.insert(2, '  "oops" 1,')  # a missing colon on line 3
    (bundle / "model_card.json").write_text("\n".join(lines))
    _refused(bundle, r"is not valid JSON \(line 3:")


def test_a_card_that_is_not_utf8(bundle: Path) -> None:
    (bundle / "model_card.json").write_bytes(b'{\n\n"name": "Mod\xe8le"}')
    _refused(bundle, r"line 3: not UTF-8 text \(byte 0xe8\)")


def test_a_config_json_nested_absurdly_deep(bundle: Path) -> None:
    (bundle / "config.json").write_text('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(ModelError, match="config.json, line 1: the JSON is nested more than"):
        load_bundle(bundle)


# -- weights ----------------------------------------------------------------------------
def _weights(path: Path) -> Path:
    return path / "model.safetensors"


def _damage(kind: str, f: Path) -> None:
    data = f.read_bytes()
    if kind == "random":
        f.write_bytes(bytes(range(256)) * 40)
    elif kind == "zero":
        f.write_bytes(b"")
    elif kind == "four-bytes":
        f.write_bytes(data[:4])
    elif kind == "half":
        f.write_bytes(data[: len(data) // 2])
    elif kind == "header-cut":
        f.write_bytes(data[:100])
    elif kind == "last-byte":
        f.write_bytes(data[:-1])
    elif kind == "extra":
        f.write_bytes(data + b"\0" * 16)
    elif kind == "not-json":
        f.write_bytes(len(b"not json at all!").to_bytes(8, "little") + b"not json at all!")
    elif kind == "pickle":  # a torch.save file renamed to .safetensors
        f.write_bytes(b"PK\x03\x04" + b"\0" * 2000)


WEIGHT_CASES = [
    ("random", "its first bytes are not a safetensors header"),
    ("zero", r"it is empty \(0 bytes\)"),
    ("four-bytes", "it is only 4 bytes long"),
    ("half", "it is cut off: its tensors need \\d+ bytes but the file has \\d+"),
    ("header-cut", "its first bytes are not a safetensors header"),
    ("last-byte", "it is cut off"),
    ("extra", "it has 16 bytes after its last tensor"),
    ("not-json", r"its header is not JSON"),
    ("pickle", "its first bytes are not a safetensors header"),
]


@pytest.mark.parametrize("kind, words", WEIGHT_CASES, ids=[k for k, _ in WEIGHT_CASES])
def test_damaged_weights_are_a_sentence_before_any_model_time(bundle: Path, kind: str,
                                                              words: str) -> None:
    _damage(kind, _weights(bundle))
    with pytest.raises(ModelError, match=f"^{re.escape(str(_weights(bundle)))} is not a usable "
                                         f"safetensors file: {words}.*Copy the model again"):
        load_bundle(bundle)


def test_only_pytorch_model_bin_is_refused_unread(bundle: Path) -> None:
    _weights(bundle).unlink()
    (bundle / "pytorch_model.bin").write_bytes(b"\x80\x04not really a pickle")
    with pytest.raises(ModelError, match=r"only in pickle format \(pytorch_model.bin\); PSG "
                                         "Lens loads safetensors only"):
        load_bundle(bundle)


def test_a_damaged_adapter_is_a_sentence(tmp_path_factory, tmp_path: Path) -> None:
    path, _ = cached(adapter_bundle, tmp_path_factory)
    dst = Path(shutil.copytree(path, tmp_path / "lora"))
    adapter = dst / "adapter" / "adapter_model.safetensors"
    _damage("half", adapter)
    with pytest.raises(ModelError, match=f"^{re.escape(str(adapter))} is not a usable "
                                         "safetensors file: it is cut off"):
        load_bundle(dst)


def test_a_plain_folder_with_damaged_weights(tmp_path: Path) -> None:
    model, processor = build()
    model.save_pretrained(tmp_path / "hf")
    processor.save_pretrained(tmp_path / "hf")
    _damage("zero", tmp_path / "hf" / "model.safetensors")
    with pytest.raises(ModelError, match="model.safetensors is not a usable safetensors file: "
                                         "it is empty"):
        Bundle.from_hf(tmp_path / "hf")


def test_intact_weights_still_load(bundle: Path) -> None:
    model, _ = load_bundle(bundle).load_model(device="cpu")
    assert model is not None


def test_peer_comparisons_without_every_figure_are_left_out(bundle: Path) -> None:
    good = {"slots": ["central"], "model_accuracy": 0.6, "peer": "yasa/0.8.1",
            "peer_accuracy": 0.8, "data": "6 nights"}
    wrong = [{"slots": ["central"]}, "x", {**good, "slots": "central"},
             {**good, "peer_accuracy": "0.8"}, {**good, "command": 3}]
    _set(bundle, "metrics", {"peer_comparisons": [good, *wrong]})
    assert load_bundle(bundle).peer_comparisons == [good]
    _set(bundle, "metrics", {"peer_comparisons": {"slots": ["central"]}})
    assert load_bundle(bundle).peer_comparisons == []


def test_a_subsets_peer_figures_follow_the_cards_own_comparisons(bundle: Path) -> None:
    explicit = {"slots": ["central"], "model_accuracy": 0.6, "peer": "yasa/0.8.1",
                "peer_accuracy": 0.8, "data": "6 nights recorded with one lead"}
    subset = {"name": "one frontal EEG", "slots": ["frontal"], "accuracy": 0.64,
              "data": "8 nights, 240 epochs each",
              "peer": {"name": "yasa/0.8.1", "accuracy": 0.7, "model_accuracy": 0.66,
                       "data": "8 whole nights"}}
    _set(bundle, "metrics", {"peer_comparisons": [explicit],
                             "channel_subsets": {"subsets": [subset]}})
    assert load_bundle(bundle).peer_comparisons == [explicit, {
        "slots": ["frontal"], "model_accuracy": 0.66, "peer": "yasa/0.8.1",
        "peer_accuracy": 0.7, "data": "8 whole nights",
        "command": "psg-lens score --engine yasa"}]


@pytest.mark.parametrize("peer", ["yasa", {"name": "yasa/0.8.1", "accuracy": 0.7},
                                  {"name": "yasa/0.8.1", "accuracy": 1.5,
                                   "model_accuracy": 0.6}])
def test_a_subset_peer_of_the_wrong_shape_is_refused(bundle: Path, peer) -> None:
    _set(bundle, "metrics", {"channel_subsets": {"subsets": [
        {"name": "one frontal EEG", "slots": ["frontal"], "accuracy": 0.64, "peer": peer}]}})
    with pytest.raises(ModelError, match=r"metrics.channel_subsets.subsets\[1\].peer' must be "
                                         "an object with the peer's name, its accuracy"):
        load_bundle(bundle)
