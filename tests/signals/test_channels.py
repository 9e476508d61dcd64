from __future__ import annotations

import pytest

from app.core.signals.channels import canonical, detect_role, fill_slots, parse_override
from app.errors import ChannelError


@pytest.mark.parametrize("name, canon, role", [
    # Sleep-EDF
    ("EEG Fpz-Cz", "Fpz-Cz", "EEG"), ("EEG Pz-Oz", "Pz-Oz", "EEG"),
    ("EOG horizontal", "EOG horizontal", "EOG"), ("EMG submental", "Chin", "EMG"),
    # SHHS
    ("EEG", "C4-M1", "EEG"), ("EEG(sec)", "C3-M2", "EEG"), ("EOG(L)", "E1", "EOG"),
    ("EOG(R)", "E2", "EOG"), ("EMG", "Chin", "EMG"),
    # MASS
    ("EEG C4-CLE", "C4-LE", "EEG"), ("EOG Left Horiz", "E1", "EOG"),
    # ISRUC
    ("F4-A1", "F4-M1", "EEG"), ("C4-A1", "C4-M1", "EEG"), ("O2-A1", "O2-M1", "EEG"),
    ("LOC-A2", "E1-M2", "EOG"), ("ROC-A1", "E2-M1", "EOG"), ("X1", "Chin", "EMG"),
    # DREAMS
    ("C3-A1", "C3-M1", "EEG"), ("EOG1-A1", "E1-M1", "EOG"),
    # clinical exports
    ("C4-M1", "C4-M1", "EEG"), ("E1-M2", "E1-M2", "EOG"), ("Chin1-Chin2", "Chin", "EMG"),
    ("LOC", "E1", "EOG"), ("ROC", "E2", "EOG"), ("EEG C4:A1", "C4-M1", "EEG"),
    ("ECG", "ECG", "ECG"), ("EKG", "ECG", "ECG"),
])
def test_aliases(name, canon, role):
    assert canonical(name) == canon
    assert detect_role(name) == role


@pytest.mark.parametrize("name, role", [
    ("Resp oro-nasal", "RESP"), ("Airflow", "RESP"), ("Thorax", "RESP"), ("SpO2", "RESP"),
    ("LAT", "EMG"), ("Temp rectal", "OTHER"), ("Event marker", "OTHER"), ("M1", "OTHER"),
])
def test_roles_of_other_channels(name, role):
    assert detect_role(name) == role


def test_slots_prefer_aasm_order_and_accept_substitutes():
    names = ["EEG Fpz-Cz", "EEG Pz-Oz", "EOG horizontal", "EMG submental"]
    filled = fill_slots(["frontal", "central", "occipital", "e1", "e2", "chin"], names)
    assert filled["frontal"].plus == "EEG Fpz-Cz" and filled["frontal"].quality == "substitute"
    assert filled["occipital"].plus == "EEG Pz-Oz"
    assert filled["e1"].plus == "EOG horizontal"
    assert filled["e2"] is None and filled["central"] is None
    assert filled["chin"].plus == "EMG submental"


def test_derivation_by_subtraction_from_referential_channels():
    names = ["C4", "M1", "M2", "F3", "E1", "E2", "Chin1", "Chin2"]
    filled = fill_slots(["central", "frontal", "e1", "e2", "chin"], names)
    assert (filled["central"].plus, filled["central"].minus) == ("C4", "M1")
    assert filled["central"].quality == "derived"
    assert (filled["frontal"].plus, filled["frontal"].minus) == ("F3", "M2")
    assert (filled["e1"].plus, filled["e1"].minus) == ("E1", "M2")
    assert (filled["chin"].plus, filled["chin"].minus) == ("Chin1", "Chin2")


def test_bipolar_channel_wins_over_derivation():
    filled = fill_slots(["central"], ["C4", "M1", "C4-M1"])
    assert filled["central"].plus == "C4-M1" and filled["central"].minus is None


def test_generic_names_are_flagged_for_the_user():
    filled = fill_slots(["central"], ["EEG", "EOG(L)"])
    assert filled["central"].quality == "guessed"


def test_user_override_wins_and_is_checked():
    names = ["EEG Fpz-Cz", "EEG Pz-Oz", "Cz", "Oz"]
    filled = fill_slots(["central"], names, {"central": "Cz - Oz"})
    assert (filled["central"].plus, filled["central"].minus) == ("Cz", "Oz")
    with pytest.raises(ChannelError, match="not a channel of this study"):
        parse_override("C4-M1", names)
