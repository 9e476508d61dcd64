"""A render spec file with a value of the wrong type is one SpecError sentence.

Each message names the file, the field (and the row) and shows the value as the file
has it, so whoever edited the JSON can find and fix it: never a bare ValueError from
``int("r")``, a TypeError from comparing a string, or a picture that crashes later.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from app.core.files.limits import CARD_MAX_BYTES, MiB
from app.core.signals.render_spec import RenderSpec, RowSpec
from app.errors import SpecError

BASE = RenderSpec.preset("clinical").to_dict()


def _spec_file(tmp_path: Path, **changes) -> Path:
    path = tmp_path / "spec.json"
    path.write_text(json.dumps({**BASE, **changes}, indent=2))
    return path


def _row_file(tmp_path: Path, **changes) -> Path:
    rows = [dict(r) for r in BASE["rows"]]
    rows[1].update(changes)  # the central row
    return _spec_file(tmp_path, rows=rows)


# field, value, what the sentence must say after "<file>: "
SPEC_CASES = [
    ("width", 100.5, "width must be a whole number, not 100.5"),
    ("width", "wide", 'width must be a whole number, not "wide"'),
    ("height", True, "height must be a whole number, not true"),
    ("height", -5, "image size 336x-5 must be 16-4096 pixels a side"),
    ("width", 0, "image size 0x336 must be 16-4096 pixels a side"),
    ("fold", 1.5, "fold must be a whole number, not 1.5"),
    ("context_epochs", "1", 'context_epochs must be a whole number, not "1"'),
    ("context_epochs", -1, "context_epochs must be 0-5, not -1"),
    ("line_width", 0, "line_width must be at least 1 pixel, not 0"),
    ("version", "abc", 'version must be a whole number, not "abc"'),
    ("version", 0, "version must be 1 or more, not 0"),
    ("grid", "false", 'grid must be true or false \\(without quotes\\), not "false"'),
    ("grid", 1, "grid must be true or false \\(without quotes\\), not 1"),
    ("background", "red", 'background must be three whole numbers 0-255 \\(red, green, '
                          'blue\\) such as \\[16, 24, 112\\], not "red"'),
    ("background", "#ffffff", 'background must be three whole numbers 0-255 .*, not '
                              '"#ffffff"'),
    ("missing_color", [300, 0, 0], "missing_color must be three whole numbers 0-255 .*, "
                                   "not \\[300, 0, 0\\]"),
    ("grid_major_color", [1, 2], "grid_major_color must be three whole numbers .*, not "
                                 "\\[1, 2\\]"),
    ("context_background", [1.5, 2, 3], "context_background must be three whole numbers"),
    ("epoch_sec", "30", 'epoch_sec must be a positive number, not "30"'),
    ("epoch_sec", 0, "epoch_sec must be a positive number, not 0"),
    ("epoch_sec", 1e9, "epoch_sec 1e\\+09 is outside 1-300 s"),
    ("grid_minor_sec", -1, "grid_minor_sec must be a positive number, not -1"),
    ("grid_major_sec", None, "grid_major_sec must be a positive number, not null"),
    ("notch_hz", -50, "notch_hz must be a positive number or null, not -50"),
    ("filter_pad_sec", -1, "filter_pad_sec must be a number, 0 or more, not -1"),
    ("name", 5, "name must be text, not 5"),
    ("scaling", ["physical"], 'scaling must be text, not \\["physical"\\]'),
    ("scaling", "loudest", "scaling must be 'physical' or 'minmax', not 'loudest'"),
    ("filled", [1], "filled must map slot names to channel names, not \\[1\\]"),
    ("rows", 5, "rows must be a list of channel rows, not 5"),
    ("rows", "abc", 'rows must be a list of channel rows, not "abc"'),
    ("rows", [], "it has no channel rows"),
]


@pytest.mark.parametrize("field, value, words", SPEC_CASES,
                         ids=[f"{f}={v!r}" for f, v, _ in SPEC_CASES])
def test_a_spec_field_of_the_wrong_type(tmp_path: Path, field: str, value, words: str) -> None:
    path = _spec_file(tmp_path, **{field: value})
    with pytest.raises(SpecError, match=f"^{re.escape(str(path))}: {words}"):
        RenderSpec.load(path)


ROW_CASES = [
    ("color", "red", 'row 2 \\(central\\) color must be three whole numbers 0-255 \\(red, '
                     'green, blue\\) such as \\[16, 24, 112\\], not "red"'),
    ("color", [16, 24, 112, 0], "row 2 \\(central\\) color must be three whole numbers"),
    ("color", [-1, 0, 0], "row 2 \\(central\\) color must be three whole numbers"),
    ("full_scale_uv", "big", 'row 2 \\(central\\) full_scale_uv must be a positive number, '
                             'not "big"'),
    ("full_scale_uv", 0, "row 2 \\(central\\) full_scale_uv must be a positive number, not 0"),
    ("highpass_hz", -1, "row 2 \\(central\\) highpass_hz must be a positive number or null, "
                        "not -1"),
    ("lowpass_hz", "35 Hz", 'row 2 \\(central\\) lowpass_hz must be a positive number or '
                            'null, not "35 Hz"'),
    ("lowpass_hz", 0.1, "row 2 \\(central\\) highpass_hz 0.3 must be below its lowpass_hz "
                        "0.1"),
    ("night_reference_uv", "x", "row 2 \\(central\\) night_reference_uv must be a positive "
                                'number or null, not "x"'),
    ("slot", ["central"], 'row 2 slot must be text, not \\["central"\\]'),
    ("slot", "cortex", "row slot 'cortex' is unknown"),
    ("label", 5, "row 2 \\(central\\) label must be text, not 5"),
    ("kind", None, "row 2 \\(central\\) kind must be text, not null"),
    ("kind", "eeeg", "row kind 'eeeg' must be one of eeg, eog, emg, ecg"),
    ("colour", [1, 2, 3], "row 2 has unknown field\\(s\\) colour"),
]


@pytest.mark.parametrize("field, value, words", ROW_CASES,
                         ids=[f"{f}={v!r}" for f, v, _ in ROW_CASES])
def test_a_row_field_of_the_wrong_type(tmp_path: Path, field: str, value, words: str) -> None:
    path = _row_file(tmp_path, **{field: value})
    with pytest.raises(SpecError, match=f"^{re.escape(str(path))}: {words}"):
        RenderSpec.load(path)


def test_a_row_that_is_not_an_object_or_lacks_its_slot(tmp_path: Path) -> None:
    path = _spec_file(tmp_path, rows=["central"])
    with pytest.raises(SpecError, match='row 1 must be a JSON object with a slot, not '
                                        '"central"'):
        RenderSpec.load(path)
    path = _spec_file(tmp_path, rows=[{"kind": "eeg"}])
    with pytest.raises(SpecError, match="row 1 has no 'slot'"):
        RenderSpec.load(path)


def test_whole_numbers_written_as_floats_are_taken(tmp_path: Path) -> None:
    spec = RenderSpec.load(_spec_file(tmp_path, width=224.0, height=224, fold=1.0))
    assert spec.width == 224 and isinstance(spec.width, int) and isinstance(spec.fold, int)
    assert spec == RenderSpec.preset("clinical", width=224, height=224)


def test_a_valid_spec_file_still_round_trips(tmp_path: Path) -> None:
    spec = RenderSpec.preset("clinical", fold=3, context_epochs=1)
    path = tmp_path / "ok.json"
    path.write_text(spec.to_json())
    assert RenderSpec.load(path) == spec
    assert all(isinstance(c, int) for c in RenderSpec.load(path).rows[0].color)


def test_python_constructed_specs_are_checked_too() -> None:
    with pytest.raises(SpecError, match="^Render spec 'clinical': width must be a whole "
                                        "number, not 10.5"):
        RenderSpec.preset("clinical", width=10.5)
    row = RowSpec.for_slot("central", color=(0, 0, 999))
    with pytest.raises(SpecError, match=r"row 1 \(central\) color must be three whole"):
        RenderSpec(rows=(row,))


def test_the_bundle_source_names_the_bundle() -> None:
    d = {**BASE, "grid": "yes"}
    with pytest.raises(SpecError, match='^The render spec of /b: grid must be true or false'):
        RenderSpec.from_dict(d, source="The render spec of /b")


# -- size and nesting -----------------------------------------------------------------
def test_a_spec_file_over_1_mib_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    with open(path, "wb") as f:
        f.write(b"{")
        f.truncate(CARD_MAX_BYTES + 1)
    with pytest.raises(SpecError, match=r"big.json is 1 MiB, larger than a render spec can "
                                        r"be \(1 MiB at most\)"):
        RenderSpec.load(path)
    assert CARD_MAX_BYTES == 1 * MiB


def test_a_deeply_nested_spec_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{"name": "x",\n"filled": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(SpecError, match=r"deep.json, line 2: the JSON is nested more than 64 "
                                        "levels deep, which a render spec never is"):
        RenderSpec.load(path)
    with pytest.raises(SpecError, match="nested more than 64 levels deep"):
        RenderSpec.from_json("[" * 100_000 + "]" * 100_000)


def test_spec_syntax_error_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{\n  "name": "x",\n  "width": 336,\n  "height": 336,,\n}\n')
    with pytest.raises(SpecError, match=r"bad.json is not valid JSON \(line 4:"):
        RenderSpec.load(path)


def test_a_spec_that_is_not_utf8_or_is_a_folder(tmp_path: Path) -> None:
    path = tmp_path / "latin.json"
    path.write_bytes(b'{\n"name": "caf\xe9"}')
    with pytest.raises(SpecError, match=r"latin.json, line 2: not UTF-8 text \(byte 0xe9\)"):
        RenderSpec.load(path)
    folder = tmp_path / "spec.json"
    folder.mkdir()
    with pytest.raises(SpecError, match="spec.json is a folder, not a render spec"):
        RenderSpec.load(folder)
