"""Every documented airflow, effort, oximetry, leg and position name is found as what it is.

The names and their sources are in ``documented_body_channels.py``.
"""

from __future__ import annotations

import pytest
from documented_body_channels import DOCUMENTED_BODY, DOCUMENTED_PAIRS

from app.core.signals.aliases import BODY_NAMES, body_role, detect_role, find_body_channels

_NAMES = [(e["dataset"], label, role) for e in DOCUMENTED_BODY
          for label, role in e["roles"].items()]


@pytest.mark.parametrize("dataset, label, role", _NAMES, ids=[f"{d}:{n}" for d, n, _ in _NAMES])
def test_each_documented_name_carries_its_signal(dataset, label, role):
    assert body_role(label) == role, (dataset, label)


@pytest.mark.parametrize("entry", DOCUMENTED_BODY, ids=lambda e: f"{e['dataset']}:{e['variant']}")
def test_a_documented_montage_finds_each_signal_it_records(entry):
    found = find_body_channels(entry["roles"])
    for role in set(entry["roles"].values()) - {"pleth"}:
        assert found[role] is not None, (entry["dataset"], role)
        assert body_role(found[role]) == role


@pytest.mark.parametrize("names, role, derivation", DOCUMENTED_PAIRS)
def test_leg_electrodes_recorded_apart_become_one_derivation(names, role, derivation):
    assert find_body_channels(names)[role] == derivation


def test_a_plethysmogram_is_never_taken_for_a_saturation():
    assert find_body_channels(["C4-M1", "Pleth", "PlethWV"])["spo2"] is None
    assert find_body_channels(["Pleth", "SpO2"])["spo2"] == "SpO2"


def test_sleep_edf_has_a_thermistor_and_nothing_else():
    found = find_body_channels(["EEG Fpz-Cz", "EEG Pz-Oz", "EOG horizontal", "Resp oro-nasal",
                                "EMG submental", "Temp rectal", "Event marker"])
    assert found["flow"] == "Resp oro-nasal"
    assert {r for r, v in found.items() if v is not None} == {"flow"}


def test_the_first_listed_spelling_wins_when_two_channels_carry_one_signal():
    # SHHS1 records two thermistors; the order of BODY_NAMES decides, not the file order
    first = find_body_channels(["New Air", "Airflow"])["flow"]
    assert first == BODY_NAMES["flow"][0] == "Airflow"


def test_brain_and_chin_channels_are_no_body_signal():
    for name in ("EEG", "C4-M1", "EMG", "EMG chin", "ECG", "EOG(L)", "Chin1-Chin2"):
        assert body_role(name) is None, name


@pytest.mark.parametrize("name, role", [("Pres", "RESP"), ("Nasal", "RESP"), ("Leg L", "EMG"),
                                        ("L Leg", "EMG"), ("Thor RES", "RESP"),
                                        ("SaO2", "RESP"), ("Position", "OTHER")])
def test_body_channels_get_the_role_their_signal_has(name, role):
    assert detect_role(name) == role


def test_no_spelling_is_listed_for_two_signals():
    from app.core.signals.aliases import normalise

    seen = {}
    for role, names in BODY_NAMES.items():
        for n in names:
            assert seen.setdefault(normalise(n), role) == role, n
