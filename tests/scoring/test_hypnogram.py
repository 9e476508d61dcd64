from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from app.core.scoring.hypnogram import Hypnogram, HypnogramError, Source
from app.core.scoring.stages import (
    Stage,
    UnknownStageError,
    parse_stage,
    parse_stages,
    stages_from_ints,
    stages_to_ints,
)


@pytest.mark.parametrize("label, stage", [
    ("W", Stage.W), ("wake", Stage.W), ("Sleep stage W", Stage.W), ("Wake|0", Stage.W),
    ("Sleep stage 1", Stage.N1), ("Stage 1 sleep|1", Stage.N1), ("N1", Stage.N1),
    ("Sleep stage 2", Stage.N2), ("Stage 2 sleep|2", Stage.N2),
    ("SDO:NonRapidEyeMovementSleep-N2", Stage.N2),
    ("Sleep stage 3", Stage.N3), ("Sleep stage 4", Stage.N3), ("Stage 4 sleep|4", Stage.N3),
    ("R", Stage.REM), ("REM", Stage.REM), ("Sleep stage R", Stage.REM), ("REM sleep|5", Stage.REM),
    ("Movement time", Stage.ARTIFACT), ("Sleep stage ?", Stage.UNSCORED),
])
def test_labels_from_every_convention(label, stage):
    assert parse_stage(label) == stage


def test_unknown_label_names_label_and_line():
    with pytest.raises(UnknownStageError, match=r"'banana' in night.txt, line 3"):
        parse_stages(["W", "N2", "banana"], source_name="night.txt")
    assert parse_stages(["W", "banana"], unknown="unscored").tolist() == [0, -1]


def test_integer_conventions_round_trip():
    codes = [0, 1, 2, 3, 4, 5, 9, 6]
    ours = stages_from_ints(codes, "nsrr")
    assert ours.tolist() == [0, 1, 2, 3, 3, 4, -1, -2]  # R&K stage 4 -> N3, 9 unscored, 6 movement
    assert stages_from_ints([4, -1, -2], "yasa").tolist() == [4, -2, -1]
    assert stages_to_ints(ours, "nsrr").tolist() == [0, 1, 2, 3, 3, 5, 9, 6]
    with pytest.raises(UnknownStageError, match="'7' in x.json, epoch 1"):
        stages_from_ints([7], "dreem", source_name="x.json")


def test_hypnogram_rejects_bad_shapes():
    with pytest.raises(HypnogramError, match="not stages"):
        Hypnogram(np.array([0, 7]))
    with pytest.raises(HypnogramError, match="3 x 5"):
        Hypnogram(np.array([0, 1, 2]), probabilities=np.ones((3, 4)))


def test_sources_default_and_edits():
    h = Hypnogram.from_labels(["W", "?", "N2"], source=Source.MODEL)
    assert h.sources.tolist() == [Source.MODEL, Source.NONE, Source.MODEL]
    h.set_stage(1, Stage.N1)
    assert h.stages[1] == Stage.N1 and h.sources[1] == Source.TECHNICIAN
    with pytest.raises(IndexError, match="Epoch 4 is outside this night"):
        h.set_stage(3, Stage.W)


def test_resample_majority_with_earliest_tie_rule():
    # six 5-s epochs (DREAMS style) -> one 30-s epoch; N2 and W tie 3:3 -> the earlier, W
    h = Hypnogram.from_labels(["W", "N2", "W", "N2", "W", "N2"], epoch_sec=5)
    assert h.resample(30).labels() == ["W"]
    h = Hypnogram.from_labels(["N2", "N2", "W", "N2", "W", "W", "REM"], epoch_sec=5)
    assert h.resample(30).labels() == ["N2"]  # 3 N2 vs 3 W: N2 came first; partial dropped
    back = Hypnogram.from_labels(["W", "N3"]).resample(10)
    assert back.labels() == ["W"] * 3 + ["N3"] * 3 and back.epoch_sec == 10
    with pytest.raises(HypnogramError, match="evenly"):
        Hypnogram.from_labels(["W"]).resample(20)


def test_resample_averages_probabilities():
    p = np.array([[1, 0, 0, 0, 0], [0, 0, 1, 0, 0]], np.float32)
    h = Hypnogram(np.array([0, 2]), probabilities=p, epoch_sec=15).resample(30)
    np.testing.assert_allclose(h.probabilities, [[0.5, 0, 0.5, 0, 0]])


def test_align_crops_and_pads_by_start_time():
    start = dt.datetime(2024, 1, 1, 22, 0, 0)
    h = Hypnogram.from_labels(["W", "N1", "N2", "N3"], start_time=start + dt.timedelta(seconds=60))
    a = h.align(start, 5 * 30)
    assert a.labels() == ["Unscored", "Unscored", "W", "N1", "N2"]
    b = h.align(start + dt.timedelta(seconds=120), 2 * 30)
    assert b.labels() == ["N2", "N3"]  # the recording starts at the hypnogram's 3rd epoch
    with pytest.raises(HypnogramError, match="not a whole number"):
        h.align(start + dt.timedelta(seconds=10), 90)


def test_crop_moves_start_time():
    start = dt.datetime(2024, 1, 1, 22, 0, 0)
    h = Hypnogram.from_labels(["W", "N1", "N2"], start_time=start)
    c = h.crop(1)
    assert c.labels() == ["N1", "N2"] and c.start_time == start + dt.timedelta(seconds=30)


def test_wrong_length_is_a_clear_sentence():
    with pytest.raises(HypnogramError, match="has 3 epochs but the study has 960"):
        Hypnogram.from_labels(["W", "W", "W"]).check_length(960)
