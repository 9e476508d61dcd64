"""Quiet wake: a subject lying still and relaxed, eyes mostly open (synthesize quiet_wake).

Real Sleep-EDF wake (SC4001E0) has 2-3x less alpha, sigma and beta than the varied W the
default model learnt from, and its Pz-Oz is quieter than every varied subject's; on a
lone lead the model read that quiet wake as N2 or REM. These tests pin what quiet wake
changes (W's beta, scalp muscle and alpha) and what it leaves as it was.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import welch

from app.core.synth import ChannelRecipe, synthesize
from app.core.synth.physiology import QUIET_AS_DRAWN, draw_quiet_wake, draw_subject
from training.datasets import DatasetError, find_studies

SF = 128.0
# W, a long N2 stretch, W: the middle of the N2 is far from any W epoch
NIGHT = np.array([0] * 10 + [2] * 20 + [0] * 10)
MONTAGE = (ChannelRecipe("Fpz-Cz", "eeg", "Fpz", "Cz"), ChannelRecipe("Pz-Oz", "eeg", "Pz", "Oz"),
           ChannelRecipe("O2-M1", "eeg", "O2", "M1"))


def _epochs(study, name: str) -> np.ndarray:
    ch = next(c for c in study.channels if c.name == name)
    return ch.data.astype(float)[: NIGHT.size * int(30 * ch.sfreq)].reshape(NIGHT.size, -1)


def _band(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    f, p = welch(x, fs=SF, nperseg=int(4 * SF), axis=-1)
    return p[:, (f >= lo) & (f < hi)].sum(axis=1)


def test_draws_are_the_subjects_own_and_quieter_than_ordinary_wake():
    assert draw_quiet_wake(5) == draw_quiet_wake(5)
    assert draw_quiet_wake(5) != draw_quiet_wake(6)
    draws = [draw_quiet_wake(s) for s in range(300)]
    for key in QUIET_AS_DRAWN:
        v = np.array([d[key] for d in draws])
        assert ((v > 0) & (v <= 1.0)).all(), key
        # mostly well below ordinary wake, with some subjects near it
        assert 0.25 < np.median(v) < 0.6, key
        assert (v > 0.8).mean() > 0.03, key
    # the clean and the varied subject are as drawn: no quiet wake unless asked
    for varied in (False, True):
        subj = draw_subject(np.random.Generator(np.random.SFC64(2)), 2, varied=varied)
        assert {k: subj[k] for k in QUIET_AS_DRAWN} == QUIET_AS_DRAWN


def test_quiet_wake_lowers_beta_and_alpha_awake_and_leaves_sleep_as_it_was():
    seed = 3
    ordinary = synthesize(NIGHT, seed=seed, sfreq=SF, montage=MONTAGE, varied=True)
    quiet = synthesize(NIGHT, seed=seed, sfreq=SF, montage=MONTAGE, varied=True,
                       quiet_wake=True)
    assert quiet.subject["wake_muscle"] < 1.0
    assert quiet.stages.tolist() == ordinary.stages.tolist()
    wake = NIGHT == 0
    for name in ("Fpz-Cz", "Pz-Oz"):
        a, b = _epochs(ordinary, name), _epochs(quiet, name)
        # sleep far from wake is the same signal (the lab's filters carry float32
        # rounding across the night, nothing more): only W's sources changed
        np.testing.assert_allclose(a[15:25], b[15:25], rtol=0, atol=1e-3)
        beta_a, beta_b = _band(a, 16, 30), _band(b, 16, 30)
        assert np.median(beta_b[wake]) < 0.8 * np.median(beta_a[wake]), name
    o2_a, o2_b = _epochs(ordinary, "O2-M1"), _epochs(quiet, "O2-M1")
    assert np.median(_band(o2_b, 8, 12)[wake]) < np.median(_band(o2_a, 8, 12)[wake])


def test_without_quiet_wake_the_night_is_the_one_the_seed_always_gave():
    a = synthesize(NIGHT, seed=4, sfreq=SF, montage=MONTAGE, varied=True)
    b = synthesize(NIGHT, seed=4, sfreq=SF, montage=MONTAGE, varied=True, quiet_wake=False)
    for ca, cb in zip(a.channels, b.channels, strict=True):
        np.testing.assert_array_equal(ca.data, cb.data)


def test_synthetic_source_draws_quiet_wake_for_a_share_of_varied_subjects_only():
    base = {"type": "synthetic", "n_subjects": 80, "seed": 3, "varied": 0.7, "older": 0.3,
            "montages": {"aasm": 1, "sleep-edf": 1}}
    plain = find_studies(base)
    assert not any("quiet_wake" in r.params for r in plain)
    quiet = find_studies({**base, "quiet_wake": 0.5})
    drawn = [r for r in quiet if r.params.get("quiet_wake")]
    assert 0.2 < len(drawn) / sum(r.params["varied"] for r in quiet) < 0.8
    assert all(r.params["varied"] for r in drawn)
    # asking for quiet wake keeps every subject's montage, lab and age as they were
    assert [(r.params["montage"], r.params["varied"], r.params["ages"]) for r in quiet] == \
        [(r.params["montage"], r.params["varied"], r.params["ages"]) for r in plain]
    with pytest.raises(DatasetError, match="awake quietly"):
        find_studies({**base, "quiet_wake": 1.5})


def test_a_quiet_subject_loads_with_its_quiet_wake():
    ref = next(r for r in find_studies({"type": "synthetic", "n_subjects": 20, "seed": 0,
                                        "hours": 0.5, "varied": 1.0, "quiet_wake": 1.0,
                                        "montages": {"sleep-edf": 1}}))
    study = synthesize(hours=0.5, seed=ref.params["seed"], montage="sleep-edf",
                       varied=True, quiet_wake=True)
    ordinary = synthesize(hours=0.5, seed=ref.params["seed"], montage="sleep-edf", varied=True)
    rec, _, _ = ref.load()
    ch = study.channels[0]
    loaded = rec.get_window(0.0, ch.data.size / ch.sfreq, [ch.name])[ch.name].data
    np.testing.assert_allclose(loaded, ch.data, rtol=0, atol=1e-3)
    assert np.abs(loaded - ordinary.channels[0].data).max() > 1.0


def test_synth_command_writes_a_quietly_awake_person(tmp_path):
    import mne

    from app.cli import main

    hyp = tmp_path / "h.txt"
    hyp.write_text("\n".join(["W"] * 8))
    beta = {}
    for flag in ((), ("--quiet-wake",)):
        out = tmp_path / f"w{len(flag)}.edf"
        assert main(["synth", "--hypnogram", str(hyp), "--seed", "4", "--varied",
                     "--montage", "sleep-edf", *flag, "-o", str(out)]) == 0
        raw = mne.io.read_raw_edf(out, preload=True, verbose="error")
        x = raw.get_data(picks=["EEG Pz-Oz"], units="uV")[0]
        x = x[: 8 * 3000].reshape(8, -1)
        f, p = welch(x, fs=raw.info["sfreq"], nperseg=400, axis=-1)
        beta[bool(flag)] = np.median(p[:, (f >= 16) & (f < 30)].sum(axis=1))
    assert beta[True] < 0.8 * beta[False]
