"""Sleep statistics on hand-made hypnograms whose answers are counted by hand."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pytest

from app.core.scoring.hypnogram import Hypnogram
from app.core.scoring.stats import DEFINITIONS, SleepStatistics, StatisticsError, sleep_statistics
from app.errors import PSGLensError

W, N1, N2, N3, R, U, A = 0, 1, 2, 3, 4, -1, -2


def hyp(*codes: int, epoch_sec: float = 30.0, start: dt.datetime | None = None) -> Hypnogram:
    return Hypnogram(np.array(codes), epoch_sec=epoch_sec, start_time=start)


def test_basic_night() -> None:
    # 2 W | N1 N2 N2 | W | N2 R R | W  -> 10 epochs
    s = sleep_statistics(hyp(W, W, N1, N2, N2, W, N2, R, R, W))
    assert s.trt_min == 5.0
    assert s.tst_min == 3.0
    assert s.spt_min == 3.5  # epochs 2..8
    assert s.sol_min == 1.0
    assert s.waso_min == 0.5  # the final W after the last sleep epoch is not WASO
    assert s.w_spt_min == s.waso_min
    assert s.rem_latency_min == 2.5  # sleep onset at epoch 2, first REM at epoch 7
    assert s.rem_latency_lights_off_min == 3.5
    assert s.sleep_efficiency_pct == pytest.approx(60.0)
    assert s.sleep_maintenance_efficiency_pct == pytest.approx(3.0 / 3.5 * 100)
    assert (s.n1_min, s.n2_min, s.n3_min, s.rem_min, s.nrem_min) == (0.5, 1.5, 0.0, 1.0, 2.0)
    assert s.n2_pct == pytest.approx(50.0)
    assert s.rem_pct == pytest.approx(100 / 3)
    assert s.n_awakenings == 1
    assert s.n_awakenings_1min == 0
    # N1>N2, N2>W, W>N2, N2>R inside SPT
    assert s.n_stage_transitions == 4
    assert s.stage_shift_index == pytest.approx(4 / (3.0 / 60))
    assert s.lps_min is None  # never 10 min of uninterrupted sleep


def test_awakenings_and_one_minute_rule() -> None:
    s = sleep_statistics(hyp(N2, W, N2, W, W, N2, W, W, W, R))
    assert s.n_awakenings == 3
    assert s.n_awakenings_1min == 2  # runs of 2 and 3 epochs last >= 1 min
    assert s.waso_min == 3.0
    # with 20-s epochs, 1 min needs 3 epochs
    s20 = sleep_statistics(hyp(N2, W, N2, W, W, N2, W, W, W, R, epoch_sec=20))
    assert s20.n_awakenings_1min == 1


def test_artifact_and_unscored_are_neither_sleep_nor_wake() -> None:
    #    0  1  2   3  4  5  6  7   8  9
    s = sleep_statistics(hyp(U, W, N2, A, W, U, N2, W, A, U))
    assert s.trt_min == 5.0
    assert s.sol_min == 1.0  # Unscored before onset passes as time
    assert s.spt_min == 2.5  # epochs 2..6
    assert s.tst_min == 1.0
    assert s.waso_min == 0.5  # only the true W at epoch 4
    assert s.artifact_spt_min == 0.5 and s.unscored_spt_min == 0.5
    assert s.artifact_min == 1.0 and s.unscored_min == 1.5
    # stage minutes + artifact + unscored add up to the SPT
    parts = s.w_spt_min + s.nrem_min + s.rem_min + s.artifact_spt_min + s.unscored_spt_min
    assert parts == pytest.approx(s.spt_min)
    assert s.n_awakenings == 1
    # N2 (A) W (U) N2: Artifact/Unscored skipped, N2>W and W>N2 counted
    assert s.n_stage_transitions == 2


def test_artifact_breaks_a_wake_run() -> None:
    s = sleep_statistics(hyp(N2, W, A, W, N2))
    assert s.n_awakenings == 2
    assert s.n_awakenings_1min == 0


def test_latency_to_persistent_sleep() -> None:
    # 3 W, 5 sleep, 1 W, 20 sleep (10 min), W
    codes = [W] * 3 + [N2] * 5 + [W] + [N2] * 10 + [N3] * 10 + [W]
    s = sleep_statistics(hyp(*codes))
    assert s.sol_min == 1.5
    assert s.lps_min == 4.5  # epoch 9 from lights off
    # an Artifact epoch breaks the 10-min run
    codes[15] = A
    assert sleep_statistics(hyp(*codes)).lps_min is None


def test_lights_off_and_on() -> None:
    start = dt.datetime(2024, 3, 1, 22, 0, 0)
    h = hyp(N2, W, W, N1, N2, W, R, W, W, N2, epoch_sec=30, start=start)
    s = sleep_statistics(h, lights_off_epoch=1, lights_on_epoch=9)
    assert s.lights_off_time == dt.datetime(2024, 3, 1, 22, 0, 30)
    assert s.lights_on_time == dt.datetime(2024, 3, 1, 22, 4, 30)
    assert s.trt_min == 4.0
    assert s.sol_min == 1.0  # measured from lights off, sleep before it ignored
    assert s.tst_min == 1.5  # the N2 after lights on is ignored
    assert s.rem_latency_min == 1.5
    assert s.rem_latency_lights_off_min == 2.5
    assert s.sleep_efficiency_pct == pytest.approx(1.5 / 4.0 * 100)
    d = s.to_dict()
    assert d["lights_off_time"] == "2024-03-01T22:00:30"
    assert d["lights_off_epoch"] == 1 and d["lights_on_epoch"] == 9
    # no start time: no clock times
    assert sleep_statistics(hyp(W, N2)).lights_on_time is None


def test_no_sleep_and_no_rem() -> None:
    s = sleep_statistics(hyp(W, W, U, W))
    assert s.tst_min == 0 and s.spt_min == 0 and s.sleep_efficiency_pct == 0
    assert s.sol_min is None and s.waso_min is None and s.rem_latency_min is None
    assert s.n2_pct is None and s.stage_shift_index is None
    assert s.format("sol_min") == "—"
    s = sleep_statistics(hyp(W, N2, N3))
    assert s.rem_latency_min is None and s.rem_pct == 0.0


@pytest.mark.parametrize("kwargs, words", [
    ({}, "empty"),
    ({"lights_off_epoch": 5, "lights_on_epoch": 3}, "before lights on"),
    ({"lights_off_epoch": 4, "lights_on_epoch": 4}, "before lights on"),
    ({"lights_off_epoch": -1}, "outside"),
    ({"lights_on_epoch": 50}, "outside"),
])
def test_errors(kwargs: dict, words: str) -> None:
    h = hyp() if not kwargs else hyp(W, N1, N2, N2, N3, R, W)
    with pytest.raises(StatisticsError, match=words) as info:
        sleep_statistics(h, **kwargs)
    assert isinstance(info.value, PSGLensError)


def test_definitions_cover_every_statistic() -> None:
    names = {f.name for f in dataclasses.fields(SleepStatistics)} - {"epoch_sec"}
    assert names == set(DEFINITIONS)
    for key, d in DEFINITIONS.items():
        assert d.key == key and d.label and d.unit and d.text.endswith(".")
    s = sleep_statistics(hyp(W, N1, N2, R, W))
    assert list(s.to_dict())[:-1] == list(DEFINITIONS)
    assert all(isinstance(s.format(k), str) for k in DEFINITIONS)
