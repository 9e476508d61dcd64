"""Reading a study for the detectors: one channel at a time, in chunks, reduced on the way.

An 8-h study at 256 Hz holds 7.4 million samples per channel. The detectors never ask for
a whole channel at its own rate: :func:`read_reduced` reads 30-min chunks and keeps block
means at the few hertz breathing and oximetry need, :func:`map_chunks` hands each chunk
(with a margin for filters) to a function that returns its reduced form (an EMG
envelope at 20 Hz, EEG band powers once a second).

Channels are found by name through :func:`app.core.signals.aliases.find_body_channels`;
a detector whose channels are missing raises :class:`DetectorSkipped` with the one
sentence the technician reads.

Examples
--------
>>> import numpy as np
>>> from app.core.signals.recording import Recording
>>> rec = Recording.from_signals([("C4-M1", np.zeros(3000), 100.0, "uV"),
...                               ("SpO2", np.full(30, 97.0), 1.0, "%")])
>>> body_sources(rec)["spo2"].plus
'SpO2'
>>> x, rate = read_reduced(rec, body_sources(rec)["spo2"], 1.0)
>>> x.shape, rate
((30,), 1.0)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from app.core.signals.aliases import BODY_LABELS, BODY_NAMES, find_body_channels
from app.core.signals.channels import Source, parse_override
from app.core.signals.recording import Recording
from app.errors import ChannelError

#: Seconds read at a time: 30 min of a 512-Hz channel is under 8 MB of float64.
CHUNK_SEC = 1800.0


class DetectorSkipped(ChannelError):
    """A detector could not run on this study; ``str()`` is the sentence saying why."""


def body_sources(rec: Recording) -> dict[str, Source | None]:
    """Each body signal of the study as a :class:`Source` (None where not recorded)."""
    found = find_body_channels(rec.ch_names)
    return {role: None if name is None else parse_override(name, rec.ch_names)
            for role, name in found.items()}


def looked_for(*roles: str, per_role: int = 3) -> str:
    """The documented names a search tried, for a sentence ("Nasal Pressure, PTAF, ...")."""
    names: list[str] = []
    for role in roles:
        names += BODY_NAMES[role][:per_role]
    return ", ".join(names) + ", ..."


def missing(roles: tuple[str, ...], consequence: str, *, what: str | None = None
            ) -> DetectorSkipped:
    """The sentence for a study without any channel of ``roles``.

    >>> str(missing(("pressure",), "hypopneas were not detected"))
    'No nasal pressure channel: hypopneas were not detected (looked for Nasal Pressure, PTAF, Pres, ...).'
    """
    what = what or " or ".join(BODY_LABELS[r] for r in roles)
    return DetectorSkipped(f"No {what} channel: {consequence} (looked for "
                           f"{looked_for(*roles)}).")


def read_reduced(rec: Recording, source: Source, rate: float, *,
                 chunk_sec: float = CHUNK_SEC) -> tuple[np.ndarray, float]:
    """A whole channel as block means at about ``rate`` Hz, read ``chunk_sec`` at a time.

    A channel sampled at or below ``rate`` comes back at its own rate. Returns the samples
    and their rate (the channel's rate over a whole block factor, so times stay exact).
    """
    sfreq = rec.channel(source.plus).sfreq
    factor = max(1, int(round(sfreq / rate)))
    n_total = rec.channel(source.plus).n_samples
    step = max(factor, int(chunk_sec * sfreq) // factor * factor)
    parts = []
    for first in range(0, n_total, step):
        n = min(step, n_total - first)
        x = rec.get_window(first / sfreq, (first + n) / sfreq, [source])[source.name].data
        usable = x.size // factor * factor
        parts.append(x[:usable].reshape(-1, factor).mean(axis=1))
    out = np.concatenate(parts) if parts else np.zeros(0)
    return out, sfreq / factor


def map_chunks(rec: Recording, source: Source, func: Callable[[np.ndarray, float], np.ndarray],
               out_rate: float, *, chunk_sec: float = 600.0, pad_sec: float = 10.0) -> np.ndarray:
    """``func(samples, sfreq)`` over the channel chunk by chunk, joined at ``out_rate``.

    Each chunk is read with ``pad_sec`` on both sides (so filters settle) and ``func``
    must return ``round(len(samples) / sfreq * out_rate)`` values along its first axis,
    of which the margins are dropped. Time outside the recording reads as NaN; ``func``
    decides what NaN means for it.
    """
    ch = rec.channel(source.plus)
    duration = ch.n_samples / ch.sfreq
    n_out = int(duration * out_rate)
    pad = int(round(pad_sec * out_rate))
    per_chunk = max(1, int(chunk_sec * out_rate))
    parts = []
    for k0 in range(0, n_out, per_chunk):
        k1 = min(n_out, k0 + per_chunk)
        t0, t1 = (k0 - pad) / out_rate, (k1 + pad) / out_rate
        x = rec.get_window(t0, t1, [source])[source.name].data
        y = np.asarray(func(x, ch.sfreq))
        parts.append(y[pad: pad + (k1 - k0)])
    return np.concatenate(parts) if parts else np.zeros(0)


def runs(mask: np.ndarray, *, bridge: int = 0) -> np.ndarray:
    """(start, stop) index pairs of the True runs of ``mask``; gaps of at most ``bridge``
    False samples between two runs are bridged.

    >>> runs(np.array([0, 1, 1, 0, 1, 0, 0, 1], bool), bridge=1).tolist()
    [[1, 5], [7, 8]]
    """
    m = np.asarray(mask, bool)
    if not m.any():
        return np.zeros((0, 2), np.int64)
    edges = np.diff(np.concatenate(([0], m.view(np.int8), [0])))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    if bridge > 0 and starts.size > 1:
        keep = np.concatenate(([True], starts[1:] - stops[:-1] > bridge))
        starts = starts[keep]
        stops = np.concatenate((stops[:-1][keep[1:]], stops[-1:]))
    return np.stack([starts, stops], axis=1)


def confidence(margin: float) -> float:
    """0.5 at a rule's threshold, rising linearly to 1 one threshold-width past it.

    ``margin`` is how far the measured value lies past the threshold, in units of the
    threshold's own distance from "no event" (0 at the threshold, 1 a full width past).
    A score for ranking what to review first, not a probability.
    """
    return float(np.clip(0.5 + 0.5 * margin, 0.0, 1.0))


def clock(sec: float) -> str:
    """Seconds from the start as h:mm:ss, as the time axis reads."""
    s = int(round(sec))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"
