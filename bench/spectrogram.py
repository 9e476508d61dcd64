"""Whole-night multitaper spectrogram: speed on an 8-h study against peers measured in
the same run, memory, and the per-epoch AASM evidence.

Run: ``python bench/spectrogram.py [--hours 8] [--repeat 3]`` from the project root.
Prints, does not assert.

An 8-h synthetic PSG (the ``aasm`` montage at 256 Hz) is written as EDF+ and opened
lazily, as a technician's study is. Times are the best of ``--repeat``.

(a) ``night_spectrogram`` (cache off): reading C4-M1 in 1-h chunks from the file and the
    multitaper estimate (30-s windows, NW=3, 5 DPSS tapers), against
    ``mne.time_frequency.psd_array_multitaper`` on the same 30-s epochs (bandwidth
    0.2 Hz = 2 NW / 30 s, not adaptive) given the channel already read whole, plus that
    read. The two spectra are compared (median ratio of their densities).
(b) The picture: our computation and PNG (``psg-lens spectrogram``'s drawing) against
    ``yasa.plot_spectrogram`` (lspopt multitaper, 30-s windows) and saving its figure,
    on the same samples; skipped when YASA is not installed.
(c) A cache hit: the study reopened, the spectrogram read back from the cache folder.
(d) Peak Python memory of (a) (tracemalloc) against the channel's size whole.
(e) ``epoch_evidence`` per epoch (slow waves, alpha, spindles, K-complexes, chin)
    against ``yasa.spindles_detect`` alone on the same 50-s windows.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.commands.spectrogram import write_png  # noqa: E402
from app.core.scoring.evidence import epoch_evidence  # noqa: E402
from app.core.signals.recording import Recording  # noqa: E402
from app.core.signals.spectrogram import night_spectrogram  # noqa: E402
from app.core.synth import make_study_file  # noqa: E402


def best_of(fn, n: int):
    times, out = [], None
    for _ in range(n):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, default=8.0)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="psglens-bench-spec-") as tmp:
        run(Path(tmp), args.hours, args.repeat)


def run(tmp: Path, hours: float, repeat: int) -> None:
    os.environ["PSG_LENS_CACHE_DIR"] = str(tmp / "cache")  # never the user's cache
    path = tmp / "night.edf"
    t0 = time.perf_counter()
    make_study_file(path, hours=hours, seed=4, sfreq=256.0)
    print(f"study: {hours:g} h synthetic EDF+ at 256 Hz, {path.stat().st_size / 1e6:.0f} MB "
          f"(made in {time.perf_counter() - t0:.1f} s)")
    rec = Recording.open(path)
    ch, n_ep, fs = "C4-M1", rec.n_epochs, rec.channel("C4-M1").sfreq

    ours, spec = best_of(lambda: night_spectrogram(Recording.open(path), ch, cache=False),
                         repeat)

    def read_whole() -> np.ndarray:
        return Recording.open(path).get_window(0, n_ep * 30.0, [ch])[ch].data

    t_read, data = best_of(read_whole, repeat)
    epochs = data.reshape(n_ep, -1)
    from mne.time_frequency import psd_array_multitaper

    t_mne, (p_mne, f_mne) = best_of(lambda: psd_array_multitaper(
        epochs, fs, fmin=0.5, fmax=25.0, bandwidth=0.2, adaptive=False, low_bias=True,
        normalization="full", verbose="error"), repeat)
    agree = np.nanmedian(spec.psd / p_mne) if p_mne.shape == spec.psd.shape else float("nan")
    print(f"(a) night_spectrogram, {n_ep} epochs read lazily: {ours:.2f} s; "
          f"mne psd_array_multitaper on the same epochs: {t_mne:.2f} s (+ {t_read:.2f} s "
          f"reading the channel whole = {t_mne + t_read:.2f} s); ratio ours/mne "
          f"{ours / (t_mne + t_read):.2f} (compute only, ours minus one read: "
          f"{max(ours - t_read, 1e-9) / t_mne:.2f}); median PSD ratio ours/mne {agree:.3f}")

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import yasa
    except ImportError:
        print("(b) yasa is not installed: the picture's peer is skipped")
    else:
        out = tmp / "ours.png"

        def ours_png():
            s = night_spectrogram(Recording.open(path), ch, cache=False)
            write_png(s, None, out, title="bench")

        def yasa_png():
            fig = yasa.plot_spectrogram(data, fs, win_sec=30, fmin=0.5, fmax=25, trimperc=5)
            fig.savefig(tmp / "yasa.png")
            plt.close(fig)

        t_ours_png, _ = best_of(ours_png, repeat)
        t_yasa, _ = best_of(yasa_png, repeat)
        print(f"(b) spectrogram PNG: ours {t_ours_png:.2f} s (reading included); "
              f"yasa.plot_spectrogram + savefig {t_yasa:.2f} s (samples in memory); "
              f"ratio ours/yasa {t_ours_png / t_yasa:.2f}")

    night_spectrogram(Recording.open(path), ch)  # fills the cache
    t_hit, hit = best_of(lambda: night_spectrogram(Recording.open(path), ch), repeat)
    print(f"(c) cache hit (study reopened): {t_hit * 1000:.0f} ms, from_cache={hit.from_cache}; "
          f"ratio hit/compute {t_hit / ours:.3f}")

    tracemalloc.start()
    night_spectrogram(Recording.open(path), ch, cache=False)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    whole = n_ep * 30 * fs * 8
    print(f"(d) peak memory of (a): {peak / 1e6:.0f} MB; the channel whole as float64: "
          f"{whole / 1e6:.0f} MB; ratio {peak / whole:.2f}")

    picks = np.linspace(0, n_ep - 1, 60).astype(int)
    epoch_evidence(rec, int(picks[0]))  # the night's chin rms, once
    t_ev, _ = best_of(lambda: [epoch_evidence(rec, int(e)) for e in picks], repeat)
    line = f"(e) epoch_evidence: {t_ev / picks.size * 1000:.1f} ms per epoch"
    try:
        import yasa
    except ImportError:
        print(line + "; yasa is not installed: its peer is skipped")
        return
    wins = [rec.get_window(e * 30.0 - 10, e * 30.0 + 40, [ch])[ch].data for e in picks]
    wins = [np.nan_to_num(w) for w in wins]
    t_y, _ = best_of(lambda: [yasa.spindles_detect(w, fs, verbose="error") for w in wins],
                     repeat)
    print(f"{line}; yasa.spindles_detect alone on the same windows: "
          f"{t_y / picks.size * 1000:.1f} ms per epoch; ratio ours/yasa {t_ev / t_y:.2f}")


if __name__ == "__main__":
    main()
