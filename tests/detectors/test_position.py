"""A position channel is decoded only with the codes the technician gives."""

from __future__ import annotations

import numpy as np
import pytest
from detector_studies import make_study

from app.core.detectors.position import parse_codes, position_track
from app.core.detectors.reading import DetectorSkipped


def test_codes_name_each_number():
    assert parse_codes("0=right, 1=supine,2=Left,3=prone") == {0.0: "right", 1.0: "supine",
                                                               2.0: "left", 3.0: "prone"}


@pytest.mark.parametrize("text", ["", "1", "one=supine", "1=sideways", "nan=supine"])
def test_a_bad_code_is_one_sentence(text):
    with pytest.raises(DetectorSkipped) as err:
        parse_codes(text)
    assert "0=right,1=supine,2=left,3=prone" in str(err.value)


def test_the_channel_becomes_a_track_and_values_between_codes_are_unknown():
    x = np.r_[np.full(100, 1.0), np.full(100, 2.5), np.full(100, 0.0)]
    rec = make_study(300, {"Position": (x, 1.0)})
    track = position_track(rec, parse_codes("0=right,1=supine,2=left,3=prone"))
    assert track.at(50) == "supine" and track.at(150) == "unknown" and track.at(250) == "right"


def test_without_a_position_channel_the_sentence_says_what_was_looked_for():
    with pytest.raises(DetectorSkipped, match=r"^No body position channel: indices by position "
                                              r"were not computed \(looked for Position, Pos"):
        position_track(make_study(60, {}), {1.0: "supine"})
