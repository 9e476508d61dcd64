"""Read every real hypnogram in ../shared/data/hypnograms and check it against an
independent reading of the same file.

- Dreem JSON (DOD-H, DOD-O, Sleep-EDF JSON): ``json.load`` and a count per code.
- EDF+ (Sleep-EDF telemetry, polydodo): ``mne.read_annotations``, summing durations per
  description / 30 (time before the first stage is Unscored).
- YASA text: numpy for the integers, plain lines for the labels.

One test per folder (not per file) keeps the run short; a last test checks that the
folders cover every file.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from app.core.formats import detect_format, read_hypnogram
from app.errors import FormatError

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
HYPNOGRAMS = DATA / "hypnograms"

pytestmark = pytest.mark.skipif(
    not HYPNOGRAMS.is_dir(),
    reason=f"real hypnograms not available ({HYPNOGRAMS} is absent; a fresh clone has no "
           "../shared/data)")

# the independent readings' own label tables (not app.core.scoring.stages)
DREEM = {-1: "Unscored", 0: "W", 1: "N1", 2: "N2", 3: "N3", 4: "REM"}
YASA_INT = {0: "W", 1: "N1", 2: "N2", 3: "N3", 4: "REM", -1: "Artifact", -2: "Unscored"}
YASA_STR = {"W": "W", "N1": "N1", "N2": "N2", "N3": "N3", "R": "REM", "REM": "REM"}
EDF_TEXT = {"Sleep stage W": "W", "Sleep stage 1": "N1", "Sleep stage N1": "N1",
            "Sleep stage 2": "N2", "Sleep stage N2": "N2", "Sleep stage 3": "N3",
            "Sleep stage 4": "N3", "Sleep stage N3": "N3", "Sleep stage R": "REM",
            "Sleep stage ?": "Unscored", "Movement time": "Artifact"}
LABELS = ("W", "N1", "N2", "N3", "REM", "Artifact", "Unscored")

JSON_FOLDERS = ["dod/dodh", "dod/dodo", "sleep-edf-json"]
EDF_FOLDERS = ["sleep-edf-hypnogram-edf", "polydodo"]


def _counts(labels) -> dict[str, int]:
    c = Counter(labels)
    return {lab: c.get(lab, 0) for lab in LABELS}


def _files(folder: str, pattern: str) -> list[Path]:
    files = sorted((HYPNOGRAMS / folder).rglob(pattern))
    assert files, f"no {pattern} files in {folder}"
    return files


@pytest.mark.parametrize("folder", JSON_FOLDERS)
def test_dreem_json_folders(folder: str) -> None:
    files = _files(folder, "*.json")
    for path in files:
        codes = json.loads(path.read_text())
        hyp = read_hypnogram(path)
        assert hyp.meta["format"] == "dreem-json", path
        assert hyp.n_epochs == len(codes), path
        assert hyp.counts() == _counts(DREEM[c] for c in codes), path
        assert hyp.epoch_sec == 30.0 and hyp.meta["warnings"] == []
    if folder.startswith("dod/"):  # 5 scorers x 25 (DOD-H) or 55 (DOD-O) nights
        assert len(files) == 5 * (25 if folder.endswith("dodh") else 55)


def _mne_expected(path: Path) -> tuple[int, dict[str, int]]:
    import mne

    ann = mne.read_annotations(path)
    seconds: Counter = Counter()
    first, end = np.inf, 0.0
    for onset, duration, text in zip(ann.onset, ann.duration, ann.description):
        if text not in EDF_TEXT:  # events such as 'AutoAnnImported'
            continue
        seconds[EDF_TEXT[text]] += duration
        first, end = min(first, onset), max(end, onset + duration)
    n = int(round(end / 30))
    expected = {lab: int(round(seconds[lab] / 30)) for lab in LABELS}
    expected["Unscored"] += n - sum(expected.values())  # the gap before the first stage
    assert expected["Unscored"] - int(round(seconds["Unscored"] / 30)) == round(first / 30)
    return n, expected


@pytest.mark.parametrize("folder", EDF_FOLDERS)
def test_edf_annotation_folders(folder: str) -> None:
    for path in _files(folder, "*.edf"):
        hyp = read_hypnogram(path)
        assert hyp.meta["format"] == "edf", path
        n, expected = _mne_expected(path)
        assert hyp.n_epochs == n, path
        assert hyp.counts() == expected, path
        assert hyp.epoch_sec == 30.0 and hyp.start_time is not None


def test_edf_matches_the_sleep_edf_json_of_the_same_night() -> None:
    """The Dreem JSON of each ST night was made from this EDF, cropped to the recording
    (ST7042: the hypnogram outlasts the PSG by 24 epochs); movement time is -1 there."""
    for path in _files("sleep-edf-hypnogram-edf", "ST*-Hypnogram.edf"):
        night = path.name[:7]  # ST7011J
        twin = next((HYPNOGRAMS / "sleep-edf-json").glob(f"{night}*-PSG.json"))
        codes = np.array(json.loads(twin.read_text()))
        ours = read_hypnogram(path).stages.astype(int)
        ours[ours == -2] = -1  # Artifact -> "not scored", as the JSON has it
        assert ours.size >= codes.size, path.name
        np.testing.assert_array_equal(ours[: codes.size], codes, err_msg=path.name)


def test_sleep_edf_hypnogram_longer_than_its_recording() -> None:
    """SC4001EC runs 24 h and ends in 'Sleep stage ?'; the excerpt PSG lasts 300 s."""
    path = DATA / "psg" / "sleep-edf-SC4001E0-first5min" / "SC4001EC-Hypnogram.edf"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    hyp = read_hypnogram(path)
    assert hyp.n_epochs == 2880 and hyp.meta["trailing_unscored_epochs"] == 230
    n, expected = _mne_expected(path)
    assert (hyp.n_epochs, hyp.counts()) == (n, expected)
    fitted = hyp.align(hyp.start_time, 300.0)
    assert fitted.labels() == ["W"] * 10


def test_recordings_are_not_taken_for_hypnograms() -> None:
    folder = DATA / "psg" / "sleep-edf-SC4001E0-first5min"
    if not folder.is_dir():
        pytest.skip(f"{folder} is absent")
    expect = {"short_psg.edf": "EDF file without EDF\\+ annotations",
              "short_psg.bdf": "BDF recording, not a hypnogram",
              "short_psg_header_reference.json": "JSON list, but not of stage codes"}
    for name, message in expect.items():
        with pytest.raises(FormatError, match=f"{name} .*{message}"):
            read_hypnogram(folder / name)


def test_polydodo_two_scorers_one_night() -> None:
    a = read_hypnogram(HYPNOGRAMS / "polydodo" / "ai_data_subject44-night1_SC4441EC-Hypnogram.edf")
    b = read_hypnogram(HYPNOGRAMS / "polydodo" /
                       "ai_data_subject44-night1_electrophysiologist_Hypnogram.edf")
    assert a.start_time == b.start_time
    n = min(a.n_epochs, b.n_epochs)
    both = (a.stages[:n] >= 0) & (b.stages[:n] >= 0)
    assert np.mean(a.stages[:n][both] == b.stages[:n][both]) > 0.7  # two experts agree


def test_yasa_text_files() -> None:
    ints = HYPNOGRAMS / "yasa" / "data_full_6hrs_100Hz_hypno_30s.txt"
    codes = np.loadtxt(ints, comments="#").astype(int)
    hyp = read_hypnogram(ints)
    assert hyp.meta["format"] == "text" and hyp.n_epochs == codes.size == 720
    assert hyp.counts() == _counts(YASA_INT[c] for c in codes)

    strs = HYPNOGRAMS / "yasa" / "sub-02_hypno_30s.txt"
    labels = [ln.strip() for ln in strs.read_text().splitlines() if ln.strip()]
    hyp = read_hypnogram(strs)
    assert hyp.n_epochs == len(labels) == 98
    assert hyp.counts() == _counts(YASA_STR[x] for x in labels)


def test_detection_on_every_file_and_every_file_covered() -> None:
    expected = {"json": "dreem-json", "edf": "edf", "txt": "text"}
    seen = 0
    for path in sorted(HYPNOGRAMS.rglob("*")):
        if not path.is_file() or path.name.startswith("LICENSE"):
            continue
        folder = path.parent.relative_to(HYPNOGRAMS).as_posix()
        assert folder.split("/scorer_")[0] in JSON_FOLDERS + EDF_FOLDERS + ["yasa"], path
        assert detect_format(path) == expected[path.suffix.lstrip(".")], path
        seen += 1
    assert seen >= 600
