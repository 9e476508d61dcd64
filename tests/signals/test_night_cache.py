"""The night-array cache stays under its size: the least recently used files go first."""

from __future__ import annotations

import os

import numpy as np

from app.core.signals import night_cache
from app.core.signals.recording import Recording


def _fill(folder, names, size=100_000):
    (folder / "spectrogram").mkdir(parents=True)
    for k, name in enumerate(names):
        path = folder / "spectrogram" / name
        path.write_bytes(b"x" * size)
        os.utime(path, (1_000_000 + k, 1_000_000 + k))  # oldest first


def test_prune_removes_the_least_recently_used_until_it_fits(tmp_path):
    _fill(tmp_path, ["a.npz", "b.npz", "c.npz", "d.npz", ".part-e.npz"])
    keep = tmp_path / "spectrogram" / "a.npz"
    assert night_cache.prune(tmp_path, max_bytes=250_000, keep=keep) == 2
    left = sorted(p.name for p in (tmp_path / "spectrogram").iterdir())
    assert left == [".part-e.npz", "a.npz", "d.npz"]  # b, c went; a kept, a write untouched
    assert night_cache.prune(tmp_path, max_bytes=10**9) == 0


def test_a_write_prunes_the_folder_and_a_read_marks_a_file_used(tmp_path, monkeypatch):
    monkeypatch.setenv(night_cache.CACHE_ENV, str(tmp_path))
    monkeypatch.setenv(night_cache.CACHE_MAX_ENV, "0.25")  # 262 kB
    study = tmp_path / "night.edf"
    from app.core.synth import make_study_file

    make_study_file(study, hours=0.05, seed=1)
    old = [tmp_path / "spectrogram" / f"old{k}.npz" for k in range(3)]
    (tmp_path / "spectrogram").mkdir(exist_ok=True)
    for k, path in enumerate(old):
        path.write_bytes(b"x" * 100_000)
        os.utime(path, (1_000_000 + k, 1_000_000 + k))
    rec = Recording.open(study)
    arrays, hit = night_cache.night_arrays(rec, "spectrogram", {"n": 1},
                                           lambda: {"x": np.arange(10)})
    assert not hit
    place, _ = night_cache.cache_path(rec, "spectrogram", {"n": 1})
    assert place.exists() and not old[0].exists() and old[2].exists()
    os.utime(place, (1, 1))  # long unused ...
    again = Recording.open(study)
    assert night_cache.night_arrays(again, "spectrogram", {"n": 1}, lambda: {})[1]
    assert place.stat().st_mtime > 1_000_000  # ... read now: the last to be pruned
