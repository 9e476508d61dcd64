"""Measuring a wave on a trace: duration and peak-to-peak amplitude between two points.

A technician measures a slow wave against the AASM 75-uV rule, a K-complex's length, a
spindle's duration. The measurement reads the samples between the two points as the
screen shows them (the same filters), so the number matches what was seen; and it
converts the screen's scale to paper units (uV per mm, mm per second) from the
screen's physical resolution, so a trace can be set to read like paper.

Examples
--------
>>> import numpy as np
>>> from app.core.signals.recording import Recording
>>> t = np.arange(3000) / 100.0
>>> rec = Recording.from_signals([("C4-M1", 40 * np.sin(2 * np.pi * t), 100.0, "uV")])
>>> m = measure(rec, "C4-M1", 5.0, 6.0, filters=False)
>>> round(m.duration_sec, 2), round(m.peak_to_peak_uv)
(1.0, 80)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.core.signals.channels import Source
from app.errors import StudyError

MM_PER_INCH = 25.4


@dataclass(frozen=True)
class Measurement:
    """What lies between two points of one trace."""

    channel: str
    t0: float                 # seconds from the recording's start
    t1: float
    peak_to_peak_uv: float    # max - min of the samples between t0 and t1
    minimum_uv: float
    maximum_uv: float

    @property
    def duration_sec(self) -> float:
        return self.t1 - self.t0

    def text(self) -> str:
        return (f"{self.channel}: {self.duration_sec:.2f} s, {self.peak_to_peak_uv:.0f} uV "
                "peak to peak")


def measure(recording, channel: str | Source, t0: float, t1: float, *,
            highpass_hz: float | None = None, lowpass_hz: float | None = None,
            filters: bool = True) -> Measurement:
    """Duration and peak-to-peak amplitude of ``channel`` between ``t0`` and ``t1`` (s).

    The samples are filtered as the screen draws them (``highpass_hz``/``lowpass_hz``
    with the renderer's filter) when ``filters``. A stretch outside the recording, or
    shorter than two samples, is a :class:`~app.errors.StudyError` sentence.
    """
    from app.core.signals.render import filter_signal

    lo, hi = sorted((float(t0), float(t1)))
    name = channel.name if isinstance(channel, Source) else str(channel)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise StudyError(f"The measurement on {name} has no valid time.")
    if lo < 0 or hi > recording.duration_sec + 1e-6:
        raise StudyError(f"The measurement on {name} ({lo:.1f}-{hi:.1f} s) lies outside "
                         f"the recording, which lasts {recording.duration_sec:.1f} s.")
    pad = 5.0 if filters and (highpass_hz or lowpass_hz) else 0.0  # as the trace view
    sig = recording.get_window(lo - pad, hi + pad, [channel])[name]
    x = np.asarray(sig.data, np.float64)
    if pad:
        x = filter_signal(x, sig.sfreq, highpass_hz, lowpass_hz)
    a = int(round(pad * sig.sfreq))
    b = a + int(round((hi - lo) * sig.sfreq))
    seg = x[a:b + 1]
    seg = seg[np.isfinite(seg)]
    if seg.size < 2:
        raise StudyError(f"The measurement on {name} spans less than two samples "
                         f"({sig.sfreq:g} Hz); drag over a longer stretch.")
    return Measurement(name, lo, hi, float(seg.max() - seg.min()), float(seg.min()),
                       float(seg.max()))


def measure_samples(data: np.ndarray, sfreq: float, data_t0: float, t0: float, t1: float,
                    name: str) -> Measurement:
    """The same measurement on samples already read (and filtered) for the screen:
    ``data[0]`` is at ``data_t0`` seconds from the recording's start."""
    lo, hi = sorted((float(t0), float(t1)))
    a = int(round((lo - data_t0) * sfreq))
    b = int(round((hi - data_t0) * sfreq))
    seg = np.asarray(data[max(0, a):max(0, b) + 1], np.float64)
    seg = seg[np.isfinite(seg)]
    if seg.size < 2:
        raise StudyError(f"The measurement on {name} ({lo:.1f}-{hi:.1f} s) holds less than "
                         "two samples of the recording; drag over the trace itself.")
    return Measurement(name, lo, hi, float(seg.max() - seg.min()), float(seg.min()),
                       float(seg.max()))


def uv_per_mm(full_scale_uv: float, gain: float, row_px: float, dpi: float) -> float:
    """The sensitivity a row shows: ``full_scale_uv / gain`` is its half height."""
    if row_px <= 0 or dpi <= 0:
        raise ValueError("row height and screen resolution must be positive")
    half_mm = row_px / 2 / dpi * MM_PER_INCH
    return full_scale_uv / gain / half_mm


def gain_for(uv_per_mm_wanted: float, full_scale_uv: float, row_px: float,
             dpi: float) -> float:
    """The gain that makes a row read ``uv_per_mm_wanted`` (7 or 10 uV/mm, as on paper)."""
    if not uv_per_mm_wanted > 0:
        raise StudyError(f"A sensitivity of {uv_per_mm_wanted} uV/mm cannot be shown; give "
                         "a positive number (7 or 10 uV/mm are usual for EEG).")
    half_mm = row_px / 2 / dpi * MM_PER_INCH
    return full_scale_uv / (uv_per_mm_wanted * half_mm)


def mm_per_second(window_sec: float, plot_px: float, dpi: float) -> float:
    """The timebase a window shows (paper PSG: 10 mm/s for a 30-s page)."""
    return plot_px / dpi * MM_PER_INCH / window_sec
