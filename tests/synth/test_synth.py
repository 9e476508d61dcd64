"""Synthetic PSG: determinism, stage features, planted events, EDF round trip, bad inputs."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from app.core.synth import (
    MONTAGES,
    PlantedEvent,
    SynthStudy,
    make_study_file,
    montage_names,
    sample_hypnogram,
    synthesize,
    write_edf,
)

SF = 100.0
EP = int(30 * SF)
# Blocks long enough for per-stage statistics, short enough to run in well under a second.
STAGES = np.array([0] * 8 + [1] * 4 + [2] * 10 + [3] * 10 + [2] * 2 + [4] * 8 + [0] * 2)


@pytest.fixture(scope="module")
def study() -> SynthStudy:
    return synthesize(STAGES, seed=7, sfreq=SF, montage="full")


def _epochs(study: SynthStudy, name: str) -> np.ndarray:
    x = study.data[study.ch_names.index(name)].astype(np.float64)
    return x.reshape(study.n_epochs, -1)


def _band_power(study: SynthStudy, name: str, lo: float, hi: float) -> np.ndarray:
    f, p = signal.welch(_epochs(study, name), fs=study.sfreq, nperseg=int(4 * study.sfreq))
    return p[:, (f >= lo) & (f <= hi)].sum(axis=1)


def _by_stage(values: np.ndarray, stage: int) -> float:
    # Skip each block's first epoch: features ramp across stage boundaries on purpose.
    first = np.r_[True, STAGES[1:] != STAGES[:-1]]
    return float(np.median(values[(STAGES == stage) & ~first]))  # robust to artefacts


def test_same_seed_is_byte_identical_and_other_seed_differs():
    a = synthesize(STAGES[:12], seed=3, sfreq=SF)
    b = synthesize(STAGES[:12], seed=3, sfreq=SF)
    c = synthesize(STAGES[:12], seed=4, sfreq=SF)
    assert a.data.tobytes() == b.data.tobytes()
    assert a.events == b.events and a.subject == b.subject and a.start_time == b.start_time
    assert a.data.tobytes() != c.data.tobytes()


def test_edf_files_are_identical_for_a_seed(tmp_path):
    make_study_file(tmp_path / "a.edf", hours=0.1, seed=5, sfreq=SF)
    make_study_file(tmp_path / "b.edf", hours=0.1, seed=5, sfreq=SF)
    assert (tmp_path / "a.edf").read_bytes() == (tmp_path / "b.edf").read_bytes()


@pytest.mark.parametrize("montage", sorted(MONTAGES))
@pytest.mark.parametrize("varied", [False, True])
def test_montage_channels_and_shape(montage, varied):
    s = synthesize(STAGES[:4], seed=1, sfreq=SF, montage=montage, varied=varied)
    assert s.ch_names == list(montage_names(montage))
    for ch in s.channels:
        assert ch.data.dtype == np.float32 and ch.data.shape == (int(4 * 30 * ch.sfreq),)
        assert np.all(np.isfinite(ch.data)), ch.name
    assert set(s.ch_types) <= {"eeg", "eog", "emg", "ecg", "resp", "misc"}


def test_full_montage_names():
    assert montage_names("full") == (
        "F4-M1", "C4-M1", "O2-M1", "F3-M2", "C3-M2", "O1-M2", "E1-M2", "E2-M2",
        "Chin1-Chin2", "LAT", "RAT", "ECG", "Airflow", "Thorax", "Abdomen", "SpO2")
    assert montage_names("aasm") == ("F4-M1", "C4-M1", "O2-M1", "E1-M2", "E2-M2", "Chin1-Chin2", "ECG")


def test_n3_has_frontal_high_amplitude_delta(study):
    delta_f4 = _band_power(study, "F4-M1", 0.5, 2.0)
    assert _by_stage(delta_f4, 3) > 2 * _by_stage(delta_f4, 2)
    assert _by_stage(delta_f4, 3) > 1.3 * _by_stage(_band_power(study, "O2-M1", 0.5, 2.0), 3)
    # AASM: waves of 0.5-2 Hz with peak-to-peak > 75 uV over >= 20% of the epoch.
    sos = signal.butter(4, [0.5, 2.0], "bandpass", fs=SF, output="sos")
    x = signal.sosfiltfilt(sos, study.data[0].astype(np.float64)).reshape(study.n_epochs, -1)
    win = x.reshape(study.n_epochs, 15, -1)  # 2-s windows hold one slow wave
    frac = ((win.max(axis=2) - win.min(axis=2)) > 75).mean(axis=1)
    assert np.mean(frac[STAGES == 3] >= 0.2) >= 0.8
    assert np.mean(frac[STAGES == 4] >= 0.2) <= 0.2


def test_wake_alpha_is_posterior_and_drops_in_n2(study):
    alpha_o2 = _band_power(study, "O2-M1", 8.0, 12.0)
    assert _by_stage(alpha_o2, 0) > 3 * _by_stage(alpha_o2, 2)
    assert _by_stage(alpha_o2, 0) > _by_stage(_band_power(study, "F4-M1", 8, 12), 0)


def test_n2_sigma_comes_in_spindle_bursts(study):
    spindles = [ev for ev in study.events if ev.kind == "spindle" and ev.channel == "C4-M1"]
    assert len(spindles) >= 10 and all(STAGES[ev.epoch] in (1, 2, 3, 4) for ev in spindles)
    sos = signal.butter(4, [11.0, 16.0], "bandpass", fs=SF, output="sos")
    x = signal.sosfiltfilt(sos, study.data[1].astype(np.float64))
    inside = np.zeros(x.size, bool)
    for ev in spindles:
        inside[int(ev.onset * SF): int((ev.onset + ev.duration) * SF)] = True
    n2 = np.repeat(STAGES == 2, EP)
    assert np.sqrt(np.mean(x[inside & n2] ** 2)) > 2 * np.sqrt(np.mean(x[~inside & n2] ** 2))
    kcs = [ev for ev in study.events if ev.kind == "k_complex"]
    assert kcs and all(ev.duration >= 0.5 and ev.channel == "F4-M1" for ev in kcs)


def test_rem_has_lowest_chin_emg_and_wake_the_highest(study):
    emg = _band_power(study, "Chin1-Chin2", 10.0, 45.0)
    by_stage = [_by_stage(emg, s) for s in range(5)]
    assert np.argmin(by_stage) == 4 and np.argmax(by_stage) == 0


def test_eye_movements_are_opposite_on_e1_e2_and_delta_is_in_phase(study):
    sos = signal.butter(2, [0.3, 5.0], "bandpass", fs=SF, output="sos")
    e1 = signal.sosfiltfilt(sos, study.data[6].astype(np.float64))
    e2 = signal.sosfiltfilt(sos, study.data[7].astype(np.float64))
    rem = [ev for ev in study.events if ev.kind == "rem"]
    assert rem and all(ev.channel == "E1-M2" for ev in rem)
    mask = np.zeros(e1.size, bool)
    for ev in rem:
        mask[int(ev.onset * SF): int((ev.onset + ev.duration) * SF)] = True
    assert np.corrcoef(e1[mask], e2[mask])[0, 1] < -0.3
    n3 = np.repeat(STAGES == 3, EP)
    assert np.corrcoef(e1[n3], e2[n3])[0, 1] > 0.3  # frontal delta leaks into both EOGs


def test_planted_events_lie_in_their_epochs_on_existing_channels(study):
    assert study.events and all(isinstance(ev, PlantedEvent) for ev in study.events)
    for ev in study.events:
        assert ev.channel in study.ch_names
        assert ev.epoch * 30.0 <= ev.onset + 1e-9
        assert ev.onset + ev.duration <= (ev.epoch + 1) * 30.0 + 1e-9
    kinds = {ev.kind for ev in study.events}
    assert {"spindle", "k_complex", "delta", "alpha", "rem", "sawtooth", "blink"} <= kinds


def test_heart_rate_is_lower_in_n3_than_in_wake(study):
    ecg = study.data[study.ch_names.index("ECG")].astype(np.float64)
    peaks, _ = signal.find_peaks(ecg, height=0.5 * ecg.max(), distance=int(0.3 * SF))
    rate = np.bincount(peaks // EP, minlength=study.n_epochs) * 2.0  # beats per minute
    assert _by_stage(rate, 3) < _by_stage(rate, 0)


def test_unscored_epochs_are_drawn_as_wake_and_kept_in_stages():
    s = synthesize(np.array([-1, 0, 2, -1]), seed=2, sfreq=SF)
    assert s.stages.tolist() == [-1, 0, 2, -1]


def test_hours_draws_a_realistic_hypnogram():
    s = synthesize(hours=0.5, seed=11, sfreq=SF, montage="sleep-edf")
    assert s.n_epochs == 60 and s.stages[0] == 0 and s.stages[-1] == 0
    assert [c.sfreq for c in s.channels] == [100.0] * 3 + [1.0] * 4  # Sleep-EDF cassette
    assert s.channels[0].data.shape == (60 * EP,)


def test_sample_hypnogram_structure():
    nights = np.array([sample_hypnogram(960, rng=seed) for seed in range(12)])
    assert np.array_equal(nights[0], sample_hypnogram(960, rng=0))
    assert np.all(nights[:, 0] == 0) and np.all(nights[:, -1] == 0)
    first, last = nights[:, :320], nights[:, -320:]
    assert (first == 3).mean() > 2 * (last == 3).mean()  # more N3 early
    assert (last == 4).mean() > (first == 4).mean()  # more REM late
    assert np.mean(nights == 2) > 0.3  # N2 dominates a normal night
    assert {0, 1, 2, 3, 4} <= set(np.unique(nights))


def test_write_edf_reads_back_with_mne(tmp_path):
    mne = pytest.importorskip("mne")
    s = synthesize([0, 1, 2, 2, 3, 4, -1], seed=9, sfreq=128.0, montage="full")
    path = write_edf(s, tmp_path / "night.edf")
    raw = mne.io.read_raw_edf(path, preload=True, verbose="error")
    assert raw.ch_names == s.ch_names
    assert raw.info["sfreq"] == 128.0 and raw.n_times == s.data.shape[1]
    scale = np.array([1.0 if u == "%" else 1e6 for u in s.units])[:, None]
    back = raw.get_data() * scale
    step = 2 * np.abs(s.data).max(axis=1, keepdims=True) * 1.01 / 65535
    assert np.all(np.abs(back - s.data) <= step + 1e-3)
    texts = set(raw.annotations.description)
    assert texts == {"Lights off", "Lights on", "Sleep stage W", "Sleep stage N1",
                     "Sleep stage N2", "Sleep stage N3", "Sleep stage R", "Sleep stage ?"}
    n2 = [a for a in raw.annotations if a["description"] == "Sleep stage N2"]
    assert len(n2) == 1 and n2[0]["onset"] == 60.0 and n2[0]["duration"] == 60.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"stages": [0, 1, 7]}, "stage codes"),
        ({"stages": [[0, 1]]}, "1-D"),
        ({"stages": []}, "non-empty"),
        ({}, "either"),
        ({"stages": [0, 1], "hours": 1.0}, "either"),
        ({"hours": -1.0}, "positive"),
        ({"hours": 0.001}, "shorter than one"),
        ({"hours": 0.1, "montage": "10-20"}, "Unknown montage"),
        ({"hours": 0.1, "sfreq": 10.0}, "at least 64 Hz"),
        ({"hours": 0.1, "sfreq": 100.01}, "whole number of samples"),
        ({"hours": 0.1, "seed": -1}, "non-negative integer"),
        ({"hours": 0.1, "epoch_sec": 1.0}, "at least 5 seconds"),
    ],
)
def test_bad_inputs_raise_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        synthesize(**kwargs)


def test_bad_hypnogram_length_and_edf_folder(tmp_path):
    with pytest.raises(ValueError, match="positive whole number"):
        sample_hypnogram(0, rng=0)
    s = synthesize([0], seed=0, sfreq=SF)
    with pytest.raises(ValueError, match="does not exist"):
        write_edf(s, tmp_path / "missing" / "x.edf")
