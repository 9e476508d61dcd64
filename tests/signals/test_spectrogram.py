"""The whole-night multitaper spectrogram: peaks where the signal's power is, chunked
reading gives the whole-signal numbers, agrees with MNE's multitaper, band powers add
up, and the night cache is hit, missed and distrusted when it should be."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import write_edf

from app.core.signals import night_cache
from app.core.signals.channels import Source
from app.core.signals.recording import Recording
from app.core.signals.spectrogram import (
    BANDS,
    multitaper_psd,
    night_spectrogram,
    spectrogram_source,
)
from app.errors import ChannelError

FS = 128.0


def _noise(seconds: float, sfreq: float = FS, rms: float = 5.0, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, rms, int(seconds * sfreq))


def _sine(freq: float, amp: float, seconds: float, sfreq: float = FS) -> np.ndarray:
    t = np.arange(int(seconds * sfreq)) / sfreq
    return amp * np.sin(2 * np.pi * freq * t + 0.3)


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    d = tmp_path / "cache"
    monkeypatch.setenv(night_cache.CACHE_ENV, str(d))
    return d


@pytest.mark.parametrize(("freq", "sfreq"), [(7.3, 128.0), (13.5, 256.0), (2.0, 100.0)])
def test_a_pure_sine_peaks_at_its_frequency_in_every_epoch(freq, sfreq):
    x = _sine(freq, 30.0, 150, sfreq) + _noise(150, sfreq, rms=2.0)
    rec = Recording.from_arrays(x[None], ["C4-M1"], sfreq)
    spec = night_spectrogram(rec)
    assert spec.n_epochs == 5 and spec.channel == "C4-M1"
    peaks = spec.freqs[np.argmax(spec.psd, axis=1)]
    assert np.all(np.abs(peaks - freq) <= 0.1)  # the 0.2-Hz resolution of NW=3 over 30 s
    # a sine of amplitude A holds A^2/2 of power, nearly all in its own band
    name = next(b for b, (lo, hi) in BANDS.items() if lo <= freq < hi)
    assert spec.band_power[:, list(BANDS).index(name)] == pytest.approx(30.0 ** 2 / 2, rel=0.05)
    assert np.all(spec.relative_band_power[:, list(BANDS).index(name)] > 0.9)


def test_white_noise_density_integrates_to_its_variance():
    x = _noise(300, rms=10.0)[None]
    f, p = multitaper_psd(x.reshape(10, -1), FS, fmin=0.0, fmax=FS / 2)
    power = p.sum(axis=1) * (f[1] - f[0])
    assert np.median(power) == pytest.approx(100.0, rel=0.05)


def test_chunked_reading_gives_the_whole_signal_numbers():
    x = _noise(30 * 23, seed=3) + _sine(11.0, 10.0, 30 * 23)
    rec = Recording.from_arrays(x[None], ["EEG Fpz-Cz"], FS)
    whole_f, whole = multitaper_psd(x.reshape(23, -1), FS)
    for chunk in (1, 7, 23, 500):
        spec = night_spectrogram(rec, "EEG Fpz-Cz", chunk_epochs=chunk, cache=False)
        assert np.array_equal(spec.freqs, whole_f)
        np.testing.assert_allclose(spec.psd, whole, rtol=1e-5)


def test_the_night_is_read_in_chunks_never_whole(monkeypatch):
    x = _noise(30 * 40)
    rec = Recording.from_arrays(x[None], ["C4-M1"], FS)
    spans = []
    real = rec.get_window

    def spy(t0, t1, channels=None):
        spans.append(t1 - t0)
        return real(t0, t1, channels)

    monkeypatch.setattr(rec, "get_window", spy)
    seen = []
    night_spectrogram(rec, chunk_epochs=6, cache=False, progress=seen.append)
    assert max(spans) == 6 * 30.0 and sum(spans) == 40 * 30.0
    assert seen == sorted(seen) and seen[-1] == 1.0


def test_it_agrees_with_mne_multitaper_on_the_same_epochs():
    from mne.time_frequency import psd_array_multitaper

    x = (_noise(600, seed=5) + _sine(10.0, 8.0, 600)).reshape(20, -1)
    f, ours = multitaper_psd(x, FS)
    theirs, f_mne = psd_array_multitaper(x, FS, fmin=0.5, fmax=25.0, bandwidth=0.2,
                                         adaptive=False, normalization="full", verbose="error")
    assert np.allclose(f, f_mne)
    # MNE keeps a sixth taper (eigenvalue 0.95) and weights by eigenvalues: within 5 %
    assert np.median(ours / theirs) == pytest.approx(1.0, abs=0.05)


def test_band_powers_partition_the_spectrum_and_follow_the_epoch():
    x = np.concatenate([_sine(2.0, 40.0, 30), _sine(6.0, 40.0, 30), _sine(10.0, 40.0, 30),
                        _sine(13.5, 40.0, 30), _sine(20.0, 40.0, 30)]) + _noise(150, rms=1.0)
    spec = night_spectrogram(Recording.from_arrays(x[None], ["C4-M1"], FS))
    assert np.allclose(spec.relative_band_power.sum(axis=1), 1.0)
    for epoch, name in enumerate(BANDS):
        bp = spec.bands(epoch)
        assert max(bp.relative, key=bp.relative.get) == name
        assert bp.absolute[name] == pytest.approx(800.0, rel=0.08)
    with pytest.raises(ChannelError, match="outside"):
        spec.bands(5)


def test_power_db_is_ten_log10_of_the_density():
    spec = night_spectrogram(Recording.from_arrays(_noise(60)[None], ["C4-M1"], FS))
    np.testing.assert_allclose(spec.power_db, 10 * np.log10(spec.psd), rtol=1e-5)
    assert spec.times.tolist() == [0.0, 30.0]


def test_epochs_without_data_are_gaps_and_the_others_are_untouched():
    x = _noise(120)
    x[int(30 * FS): int(50 * FS)] = np.nan       # 20 s of epoch 1: a gap
    x[int(65 * FS): int(66 * FS)] = np.nan       # 1 s of epoch 2: a dropout
    spec = night_spectrogram(Recording.from_arrays(x[None], ["C4-M1"], FS))
    assert np.isnan(spec.psd[1]).all() and np.isnan(spec.band_power[1]).all()
    assert np.isfinite(spec.psd[[0, 2, 3]]).all()
    _, alone = multitaper_psd(x[None, : int(30 * FS)], FS)
    np.testing.assert_allclose(spec.psd[0], alone[0], rtol=1e-5)


def test_a_slow_channel_keeps_the_frequencies_it_has():
    spec = night_spectrogram(Recording.from_arrays(_noise(60, sfreq=40.0)[None], ["C4-M1"], 40.0))
    assert spec.freqs[-1] == pytest.approx(20.0)
    assert np.isnan(spec.band_power[:, list(BANDS).index("beta")]).all()
    assert np.isfinite(spec.band_power[:, list(BANDS).index("sigma")]).all()


def test_the_default_channel_is_the_central_slot_then_the_first_eeg():
    names = ["EEG F4", "EEG C4", "M1", "EMG chin"]
    rec = Recording.from_arrays(np.zeros((4, 3000)), names, 100.0)
    src = spectrogram_source(rec)
    assert (src.name, src.plus, src.minus) == ("C4-M1", "EEG C4", "M1")
    only_frontal = Recording.from_arrays(np.zeros((2, 3000)), ["EEG Fpz-Cz", "EOG"], 100.0)
    assert spectrogram_source(only_frontal).plus == "EEG Fpz-Cz"
    assert spectrogram_source(rec, "EEG F4 - M1").minus == "M1"
    assert spectrogram_source(rec, Source("F4", "EEG F4")).plus == "EEG F4"


def test_a_channel_the_study_lacks_is_one_sentence_naming_its_channels():
    rec = Recording.from_arrays(np.zeros((2, 3000)), ["C4-M1", "E1-M2"], 100.0)
    with pytest.raises(ChannelError) as err:
        night_spectrogram(rec, "Cz-Oz")
    msg = str(err.value)
    assert "no channel 'Cz-Oz'" in msg and "C4-M1, E1-M2" in msg and msg.count(".") == 1
    with pytest.raises(ChannelError, match="no channel 'M2'"):
        night_spectrogram(rec, Source("C4-M2", "C4-M1", "M2"))


def _study(path, seed: int = 0, seconds: int = 150):
    x = _noise(seconds, seed=seed) + _sine(9.0, 20.0, seconds)
    return write_edf(path, {"C4-M1": (x, FS), "O2-M1": (_noise(seconds, seed=seed + 1), FS)})


def test_a_cache_hit_returns_the_same_array_from_the_cache_folder(tmp_path, cache_dir):
    path = _study(tmp_path / "night.edf")
    first = night_spectrogram(Recording.open(path))
    assert not first.from_cache
    files = list(cache_dir.rglob("*.npz"))
    assert len(files) == 1
    with np.load(files[0], allow_pickle=False) as f:  # plain arrays: no pickle needed
        assert {"freqs", "psd"} <= set(f.files)
    again = night_spectrogram(Recording.open(path))   # a new session: read from disk
    assert again.from_cache and np.array_equal(again.psd, first.psd)
    assert np.array_equal(again.freqs, first.freqs)


def test_a_changed_channel_parameters_or_study_misses(tmp_path, cache_dir):
    path = _study(tmp_path / "night.edf")
    base = night_spectrogram(Recording.open(path), "C4-M1")
    other = night_spectrogram(Recording.open(path), "O2-M1")
    assert not other.from_cache and not np.array_equal(other.psd, base.psd)
    assert not night_spectrogram(Recording.open(path), "C4-M1", nw=2.0).from_cache
    _study(path, seed=7)  # the file re-exported with other samples, same header
    changed = night_spectrogram(Recording.open(path), "C4-M1")
    assert not changed.from_cache and not np.array_equal(changed.psd, base.psd)
    assert len(list(cache_dir.rglob("*.npz"))) == 4


def test_a_damaged_or_foreign_cache_file_is_recomputed_not_trusted(tmp_path, cache_dir):
    path = _study(tmp_path / "night.edf")
    good = night_spectrogram(Recording.open(path))
    (file,) = cache_dir.rglob("*.npz")
    file.write_bytes(b"PK\x03\x04 not really a zip")
    again = night_spectrogram(Recording.open(path))
    assert not again.from_cache and np.array_equal(again.psd, good.psd)
    np.savez(file, freqs=good.freqs, psd=good.psd * 0)  # right names, no key: foreign
    assert not night_spectrogram(Recording.open(path)).from_cache


def test_an_unwritable_cache_folder_leaves_the_result_uncached(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv(night_cache.CACHE_ENV, str(blocker))
    path = _study(tmp_path / "night.edf")
    spec = night_spectrogram(Recording.open(path))
    assert not spec.from_cache and np.isfinite(spec.psd).all()


def test_cache_off_writes_nothing_and_in_memory_studies_stay_in_memory(tmp_path, cache_dir):
    path = _study(tmp_path / "night.edf")
    night_spectrogram(Recording.open(path), cache=False)
    rec = Recording.from_arrays(_noise(60)[None], ["C4-M1"], FS)
    assert not night_spectrogram(rec).from_cache
    assert night_spectrogram(rec).from_cache  # kept on the recording object
    assert not cache_dir.exists()


def test_the_cache_follows_the_data_folder_unless_told(tmp_path, monkeypatch):
    monkeypatch.delenv(night_cache.CACHE_ENV, raising=False)
    monkeypatch.setenv("PSG_LENS_DATA_DIR", str(tmp_path / "data"))
    assert night_cache.cache_dir() == tmp_path / "data" / "cache"
    monkeypatch.setenv(night_cache.CACHE_ENV, str(tmp_path / "elsewhere"))
    assert night_cache.cache_dir() == tmp_path / "elsewhere"
