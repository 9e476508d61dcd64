"""A model's whole night against the stage mix of real nights."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import SHARED_DATA

from app.core.scoring.plausibility import LIMITS, implausible_night
from app.core.scoring.stages import STAGE_LABELS


def _night(**minutes) -> np.ndarray:
    return np.concatenate([np.full(int(m * 2), STAGE_LABELS.index(k)) for k, m in
                           minutes.items()])


@pytest.mark.parametrize("night, words", [
    (_night(N3=200, REM=280), ["no W", "REM 58%, where real nights have at most 40%"]),
    (_night(W=10, N1=300, N2=170), ["N1 62%, where real nights have at most 50%"]),
    # 0.6 % of wake must not read "1%" beside a limit of 1 %
    (_night(W=3, N2=100, N3=377), ["W 0.6%, where real nights have at least 1%", "N3 79%"]),
    (_night(W=30, N2=450), ["N2 94%, where real nights have at most 85%"]),
])
def test_a_night_unlike_any_real_one_gets_one_sentence_saying_why(night, words):
    text = implausible_night(night)
    assert text.startswith("The stages of this 8.0-h recording are unlike any of 597 real")
    assert text.endswith("review the night before accepting its stages.")
    for w in words:
        assert w in text


def test_ordinary_nights_naps_and_unscored_epochs_are_left_alone():
    assert implausible_night(_night(W=40, N1=30, N2=230, N3=80, REM=100)) == ""
    assert implausible_night(_night(N3=200)) == ""           # 3.3 h: an excerpt may be anything
    assert implausible_night(np.r_[np.full(600, -1), _night(N3=120)]) == ""
    assert implausible_night(_night(W=480)) == ""            # awake all night: a real night


def test_no_real_night_of_the_shared_hypnograms_is_flagged():
    files = sorted((SHARED_DATA / "hypnograms" / "dod").rglob("*.json"))
    if not files:
        pytest.skip("../shared/data/hypnograms is not beside this checkout")
    flagged = [f.name for f in files if implausible_night(np.asarray(json.loads(f.read_text())))]
    assert len(files) == 400 and flagged == []
    for f in sorted((SHARED_DATA / "hypnograms" / "sleep-edf-json").glob("*.json")):
        h = np.asarray(json.loads(f.read_text()))  # a day and a night: the night +- 30 min
        sleep = np.flatnonzero(h > 0)
        night = h[max(0, sleep[0] - 60): sleep[-1] + 61]
        assert implausible_night(night) == "", f.name
    assert set(LIMITS) == set(STAGE_LABELS)
