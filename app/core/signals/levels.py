"""A row drawn relative to the night: the chin's tone as a technician reads it.

Chin EMG is read RELATIVE to the same night (REM atonia is the lowest tone of the night;
wake the highest), never in absolute microvolts: amplifier gains, electrode spacing and
the way archives store it (the Sleep-EDF cassette keeps only a 1-Hz rms envelope) shift
its level several-fold between labs. A row whose spec sets ``night_reference_uv`` is drawn
with a gain that brings the recording's 90th percentile of per-epoch rms (in the row's
band, as drawn) to that many microvolts rms. YASA normalises its EMG features across the
night for the same reason (Vallat & Walker 2021).

The gain is a property of the recording and the channel, computed once per recording and
kept on it; :func:`app.core.signals.render.resolve_sources` attaches it to the Source, so
the engine, training and the workstation's model view draw the same picture.
"""

from __future__ import annotations

import numpy as np

PERCENTILE = 90.0
GAIN_LIMITS = (0.1, 10.0)
_MIN_EPOCHS = 4


def epoch_rms(recording, source, row, *, chunk_epochs: int = 120) -> np.ndarray:
    """Per-epoch rms (uV) of ``source`` in ``row``'s band; NaN where it has no data."""
    from app.core.signals.render import filter_signal, is_envelope

    n_ep, ep = recording.n_epochs, recording.epoch_sec
    plain = type(source)(source.name, source.plus, source.minus, source.quality,
                         source.inverted)  # physical microvolts, whatever gain it carries
    out = np.full(n_ep, np.nan)
    for e0 in range(0, n_ep, chunk_epochs):
        e1 = min(e0 + chunk_epochs, n_ep)
        sig = recording.get_window(e0 * ep, e1 * ep, [plain])[plain.name]
        n = int(round(ep * sig.sfreq))
        x = sig.data[: (e1 - e0) * n].reshape(e1 - e0, n)
        ok = np.isfinite(x).mean(axis=1) > 0.5
        if is_envelope(row.kind, sig.sfreq, row.highpass_hz):
            with np.errstate(all="ignore"):
                level = np.nanmedian(np.where(np.isfinite(x), x, np.nan), axis=1)
        else:
            y = filter_signal(np.where(np.isfinite(x), x, 0.0), sig.sfreq, row.highpass_hz,
                              row.lowpass_hz)
            level = np.sqrt(np.mean(np.asarray(y, np.float64) ** 2, axis=1))
        out[e0:e1] = np.where(ok, level, np.nan)
    return out


def night_gain(recording, source, row) -> float:
    """The gain that brings the night's 90th-percentile epoch rms to the row's reference.

    1.0 when the row is physical, or when fewer than four epochs have a usable level.
    """
    target = getattr(row, "night_reference_uv", None)
    if not target:
        return 1.0
    cache = recording.__dict__.setdefault("_night_gains", {})
    key = (source.plus, source.minus, row.kind, row.highpass_hz, row.lowpass_hz, target)
    if key not in cache:
        rms = epoch_rms(recording, source, row)
        usable = rms[np.isfinite(rms) & (rms > 0.05)]
        if usable.size < _MIN_EPOCHS:
            cache[key] = 1.0
        else:
            ref = float(np.percentile(usable, PERCENTILE))
            cache[key] = float(np.clip(target / ref, *GAIN_LIMITS))
    return cache[key]
