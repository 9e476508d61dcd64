"""Synthesis that covers real signals: montages, references, labs and people."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.synth import ChannelRecipe, make_study_file, synthesize
from app.core.synth.acquisition import Acquisition, record, rms_envelope
from app.core.synth.physiology import draw_subject, slow_wave_age_factor, spindle_age_factor

SF = 128.0
STAGES = np.array([0] * 10 + [2] * 10 + [3] * 10 + [4] * 10)


def _epochs(ch, stages=STAGES) -> np.ndarray:
    return ch.data[: stages.size * int(30 * ch.sfreq)].reshape(stages.size, -1)


def _rec(label, plus, minus=None, kind="eeg", **kw) -> ChannelRecipe:
    return ChannelRecipe(label, kind, plus, minus, **kw)


def test_derivations_are_differences_of_electrodes():
    """Neighbours share background: a bipolar pair of neighbours is smaller than each
    lead against a mastoid, and two mastoid leads correlate as real ones do."""
    s = synthesize(STAGES, seed=4, sfreq=SF, montage=(
        _rec("Fp1-M2", "Fp1", "M2"), _rec("Fpz-M2", "Fpz", "M2"), _rec("Fp1-Fpz", "Fp1", "Fpz"),
        _rec("C4-M1", "C4", "M1"), _rec("O2-M1", "O2", "M1")))
    x = {c.name: c.data.astype(float) for c in s.channels}
    assert np.std(x["Fp1-Fpz"]) < 0.75 * np.std(x["Fp1-M2"])
    assert 0.3 < np.corrcoef(x["C4-M1"], x["O2-M1"])[0, 1] < 0.9
    # the same electrodes are one signal: Fp1-M2 - Fpz-M2 == Fp1-Fpz (up to line noise)
    diff = x["Fp1-M2"] - x["Fpz-M2"] - x["Fp1-Fpz"]
    assert np.std(diff) < 0.1 * np.std(x["Fp1-Fpz"])


def test_unnamed_reference_is_common_to_every_referential_lead():
    ref = synthesize(STAGES, seed=5, sfreq=SF, montage="referential")
    mast = synthesize(STAGES, seed=5, sfreq=SF, montage="aasm")
    r = {c.name: c.data for c in ref.channels}
    m = {c.name: c.data for c in mast.channels}
    # the lone chin leads carry the EEG of the reference; the bipolar chin does not
    assert np.corrcoef(r["EMG EMG1"], r["EMG EMG2"])[0, 1] > 0.5  # the nap: 0.99
    assert np.corrcoef(r["EMG EMG1"], r["EEG F3"])[0, 1] > 0.15
    assert abs(np.corrcoef(m["Chin1-Chin2"], m["C4-M1"])[0, 1]) < 0.25
    # and EMG1 - EMG2 is a chin EMG again: wake tone above REM atonia
    chin = type(ref.channels[0])("chin", "emg", r["EMG EMG1"] - r["EMG EMG2"], SF, "uV")
    from scipy.signal import butter, sosfiltfilt
    hp = sosfiltfilt(butter(2, 10, "highpass", fs=SF, output="sos"), _epochs(chin), axis=1)
    assert np.median(hp[STAGES == 0].std(1)) > 2 * np.median(hp[STAGES == 4].std(1))


def test_sleep_edf_chin_is_a_one_hertz_rms_envelope_that_follows_tone():
    s = synthesize(STAGES, seed=6, sfreq=SF, montage="sleep-edf")
    emg = next(c for c in s.channels if c.name == "EMG submental")
    assert emg.sfreq == 1.0 and emg.data.size == STAGES.size * 30
    assert np.all(emg.data > 0)  # an rms level, never a signed trace
    level = emg.data.reshape(STAGES.size, 30).mean(1)
    assert np.median(level[STAGES == 0]) > 2 * np.median(level[STAGES == 4])


def test_envelope_of_a_gaussian_emg_is_its_rms():
    x = np.random.default_rng(0).normal(0, 12.0, 256 * 60)
    env = rms_envelope(x, 256.0, 1.0)
    assert env.shape == (60,) and abs(np.median(env) - 12.0) < 1.0


def test_acquisition_chain_gain_polarity_filters_and_rate():
    t = np.arange(0, 60, 1 / 256)
    x = (np.sin(2 * np.pi * 10 * t) + 3.0).astype(np.float32)  # 10 Hz with an offset
    r = _rec("C3-A1", "C3", "A1")
    acq = Acquisition(gains={"C3-A1": 2.0}, flipped=("C3-A1",), highpass_hz=0.5,
                      lowpass_hz=35.0)
    y = record(x, 256.0, r, acq, 64.0)
    assert y.shape == (64 * 60,) and y.dtype == np.float32
    tail = y[64 * 10:]
    assert abs(tail.mean()) < 0.05  # the analog high-pass removed the offset
    assert 1.8 < tail.std() * np.sqrt(2) < 2.1  # amplitude 2 (gain), still a 10-Hz wave
    z = record(x, 256.0, r, Acquisition(gains={"C3-A1": 2.0}), 256.0)
    assert np.corrcoef(z[2560:3000], x[2560:3000])[0, 1] > 0.99
    flipped = record(x - 3.0, 256.0, r, Acquisition(flipped=("C3-A1",)), 256.0)
    assert np.allclose(flipped, -(x - 3.0), atol=1e-5)


def test_varied_labs_cover_the_rates_gains_and_references_of_real_archives():
    seen_rates, refs, gains, flips = set(), set(), [], 0
    for seed in range(60):
        s = synthesize(STAGES[:2], seed=seed, sfreq=256.0, montage="referential", varied=True)
        seen_rates.add(s.channels[0].sfreq)
        refs.add(s.acquisition["reference"])
        gains += list(s.acquisition["gains"].values())
        flips += len(s.acquisition["flipped"])
    assert {50.0, 64.0, 100.0, 200.0, 256.0} <= seen_rates and max(seen_rates) == 512.0
    assert {"Cz", "linked ears", "average"} <= refs
    assert 0.5 <= min(gains) < 0.8 and 1.4 < max(gains) <= 2.0
    assert flips > 0


def test_same_seed_same_varied_night():
    a = synthesize(STAGES[:6], seed=9, sfreq=SF, montage="dreams", varied=True)
    b = synthesize(STAGES[:6], seed=9, sfreq=SF, montage="dreams", varied=True)
    assert all(x.data.tobytes() == y.data.tobytes() for x, y in zip(a.channels, b.channels))
    assert a.acquisition == b.acquisition


def test_people_vary_with_age_and_alpha():
    assert slow_wave_age_factor(20) > slow_wave_age_factor(45) > slow_wave_age_factor(75)
    assert spindle_age_factor(20) > spindle_age_factor(70)
    subjects = [draw_subject(np.random.default_rng(i), i, varied=True) for i in range(400)]
    ages = np.array([s["age"] for s in subjects])
    assert ages.min() < 25 and ages.max() > 80
    old, young = ages > 65, ages < 35
    delta = np.array([s["delta_gain"] for s in subjects])
    dens = np.array([s["spindle_density"] for s in subjects])
    assert delta[old].mean() < 0.8 * delta[young].mean()
    assert dens[old].mean() < 0.85 * dens[young].mean()
    alpha = np.array([s["alpha_gain"] for s in subjects])
    assert 0.03 < np.mean(alpha < 0.25) < 0.25  # people with little or no alpha
    assert np.mean([s["sweat_rate"] > 0 for s in subjects]) > 0.1


def test_varied_nights_have_sweat_and_ecg_in_the_eeg():
    def subject(seed: int) -> dict:
        return draw_subject(np.random.Generator(np.random.SFC64(seed)), seed, varied=True)

    # pops are rare (about one an hour at the usual rate): take a subject who pops often
    popper = next(seed for seed in range(50) if subject(seed)["pop_rate"] > 3.0)
    s = synthesize(hours=1.0, seed=popper, sfreq=SF, montage="aasm", varied=True)
    assert any(e.kind == "pop" for e in s.events)
    sweaty = next(seed for seed in range(50)
                  if draw_subject(np.random.Generator(np.random.SFC64(seed)), seed,
                                  varied=True)["sweat_rate"] > 1.0)
    t = synthesize(hours=1.0, seed=sweaty, sfreq=SF, montage="aasm", varied=True)
    assert any(e.kind == "sweat" for e in t.events) or t.subject["sweat_rate"] == 0


def test_multi_rate_study_round_trips_through_edf(tmp_path):
    from app.core.signals.recording import Recording

    s = make_study_file(tmp_path / "cassette.edf", hours=0.1, seed=2, montage="sleep-edf",
                        sfreq=100.0)
    rec = Recording.open(tmp_path / "cassette.edf")
    rates = {c.name: c.sfreq for c in rec.channels}
    assert rates["EEG Fpz-Cz"] == 100.0 and rates["EMG submental"] == 1.0
    back = rec.get_window(0, 60, ["EMG submental"])["EMG submental"].data
    assert np.allclose(back, s.channels[4].data[:60], atol=0.05)
    mem = s.to_recording()
    assert mem.n_epochs == rec.n_epochs and mem.channel("Temp rectal").sfreq == 1.0


@pytest.mark.parametrize("montage", ["single-c3", "single-cz", "headband", "cap", "shhs"])
def test_events_are_listed_on_channels_of_the_montage(montage):
    s = synthesize(STAGES, seed=1, sfreq=SF, montage=montage)
    names = set(s.ch_names)
    assert s.events and all(e.channel in names for e in s.events)


def test_an_age_range_draws_older_sleepers_with_the_age_effects():
    old = [draw_subject(np.random.default_rng(i), i, varied=True, ages=(65, 85))
           for i in range(200)]
    ages = np.array([s["age"] for s in old])
    assert ages.min() >= 65 and ages.max() <= 85 and ages.max() > 80
    anyone = [draw_subject(np.random.default_rng(i), i, varied=True) for i in range(200)]
    delta = np.mean([s["delta_gain"] for s in old]) / np.mean([s["delta_gain"] for s in anyone])
    assert delta < 0.85  # smaller slow waves, as the age factors say
    study = synthesize(STAGES[:4], seed=5, sfreq=SF, montage="dreams", varied=True,
                       ages=(80, 80))
    assert study.subject["age"] == 80
    same = synthesize(STAGES[:4], seed=5, sfreq=SF, montage="dreams", varied=True, ages=None)
    again = synthesize(STAGES[:4], seed=5, sfreq=SF, montage="dreams", varied=True)
    assert all(x.data.tobytes() == y.data.tobytes()  # no range: the seed's own night
               for x, y in zip(same.channels, again.channels))
    for bad in ((10, 40), (70, 60), (65,), "old"):
        with pytest.raises(ValueError, match="ages must"):
            synthesize(STAGES[:4], seed=5, sfreq=SF, ages=bad)
