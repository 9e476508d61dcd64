"""What the events view draws, without Qt: which channels, over which window, how scaled.

Events are scored on minutes, not on the 30-s EEG page: flow and nasal pressure,
thoracic and abdominal effort, SpO2, body position and heart rate, over 2 or 5 minutes
centred on the current epoch. Each row is scaled to its own window (flow and effort
have no physical scale worth keeping), except SpO2 (a fixed 80-100 % band, so a 4 %
fall looks the same everywhere) and position (its codes). Heart rate comes from the ECG
when the study has no heart-rate channel. Rows are peak-decimated like the EEG traces.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from app.core.signals.heart_rate import heart_rate

#: The events view's timebases (seconds): 2 and 5 minutes.
TIMEBASES = (120.0, 300.0)

# (kind, label prefix, name pattern): first match wins, in this order on screen
_KINDS = (
    ("flow", "Flow", re.compile(r"AIRFLOW|THERM|FLOW|ORO.?NASAL|\bAIR\b|NAF", re.I)),
    ("pressure", "Pressure", re.compile(r"PRES|PTAF|CANNULA|NASAL|NEW A", re.I)),
    ("thorax", "Thorax", re.compile(r"THOR|CHEST|THO\b|RIB", re.I)),
    ("abdomen", "Abdomen", re.compile(r"ABD|ABDO", re.I)),
    ("spo2", "SpO2", re.compile(r"SPO2|SAO2|SA02|OXIM|\bSAT\b", re.I)),
    ("position", "Position", re.compile(r"POS|BODY", re.I)),
    ("hr", "Heart rate", re.compile(r"^(HR|PULSE|HEART ?RATE|PR)\b", re.I)),
    ("leg", "Leg", re.compile(r"LEG|\bLAT\b|\bRAT\b|TIB", re.I)),
)
_ORDER = {k: i for i, (k, _, _) in enumerate(_KINDS)}
SPO2_RANGE = (80.0, 100.0)


@dataclass(frozen=True)
class EventRow:
    """One row of the events view: a channel (or the ECG, for a derived heart rate)."""

    kind: str        # flow, pressure, thorax, abdomen, spo2, position, hr, leg
    channel: str     # the study's channel name (the ECG's for a derived heart rate)
    label: str       # what the row is called on screen
    derived: bool = False


def kind_of(name: str) -> str | None:
    """The events-view kind of a channel name, or None (EEG, EOG, chin...)."""
    if re.search(r"SPO2|SAO2", name, re.I):  # before flow: "SpO2 (Nasal probe)"
        return "spo2"
    if re.search(r"NEW ?A", name, re.I):  # SHHS-2's nasal pressure is "NEW AIR"
        return "pressure"
    for kind, _, pattern in _KINDS:
        if pattern.search(name):
            return kind
    return None


def event_rows(recording) -> list[EventRow]:
    """The rows for ``recording``, in the order technicians read them."""
    rows = []
    for ch in recording.channels:
        kind = kind_of(ch.name)
        if kind is not None:
            rows.append(EventRow(kind, ch.name, ch.name))
    if not any(r.kind == "hr" for r in rows):
        ecg = next((c for c in recording.channels if c.role == "ECG"), None)
        if ecg is not None:
            rows.append(EventRow("hr", ecg.name, "HR (ECG)", derived=True))
    return sorted(rows, key=lambda r: (_ORDER[r.kind], r.label))


@dataclass
class EventTrace:
    row: EventRow
    x: np.ndarray    # seconds from the recording's start
    y: np.ndarray    # in row units: 0 at the row's top, 1 at its bottom (NaN: no data)
    scale: str       # what the row's height means ("80-100 %", "40-120 bpm", "auto")


def read_event_traces(recording, rows: list[EventRow], t0: float, t1: float, *,
                      n_px: int = 1200) -> list[EventTrace]:
    """Every row over [t0, t1) seconds, scaled to row units and peak-decimated."""
    out = []
    for row in rows:
        if row.derived:
            out.append(_heart_rate_trace(recording, row, t0, t1))
            continue
        sig = recording.get_window(t0, t1, [row.channel])[row.channel]
        x = np.asarray(sig.data, np.float64)
        pos, vals = ordered_peaks(x, n_px)
        times = t0 + pos / sig.sfreq
        if row.kind == "spo2":
            lo, hi = SPO2_RANGE
            y = (hi - np.clip(vals, lo, hi)) / (hi - lo)
            scale = "80-100 %"
        else:
            y, scale = _auto(vals)
        out.append(EventTrace(row, times, y, scale))
    return out


def ordered_peaks(y: np.ndarray, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Min/max per bin like the EEG's peak decimation, but each pair in the order the
    two came and at their own sample positions: breathing is slow and smooth, and pairs
    stacked at one x would draw it as a staircase."""
    y = np.asarray(y, np.float64)
    n = y.size
    if n <= 2 * n_bins:
        return np.arange(n, dtype=np.float64), y
    k = n // n_bins
    m = k * n_bins
    block = y[:m].reshape(n_bins, k)
    nan = np.isnan(block)
    i_lo = np.argmin(np.where(nan, np.inf, block), axis=1)
    i_hi = np.argmax(np.where(nan, -np.inf, block), axis=1)
    first, second = np.minimum(i_lo, i_hi), np.maximum(i_lo, i_hi)
    base = np.arange(n_bins) * k
    idx = np.column_stack([base + first, base + second]).ravel()
    vals = y[idx]
    if m < n:  # the tail that does not fill a bin, as it is
        idx = np.concatenate([idx, np.arange(m, n)])
        vals = np.concatenate([vals, y[m:]])
    return idx.astype(np.float64), vals


def _auto(vals: np.ndarray) -> tuple[np.ndarray, str]:
    finite = vals[np.isfinite(vals)]
    if finite.size == 0:
        return np.full(vals.shape, np.nan), "no data"
    lo, hi = np.percentile(finite, [1, 99])
    if hi - lo <= 0:
        return np.full(vals.shape, 0.5), "flat"
    span = hi - lo
    return np.clip((hi + 0.1 * span - vals) / (1.2 * span), 0, 1), "auto"


def _heart_rate_trace(recording, row: EventRow, t0: float, t1: float) -> EventTrace:
    pad = 5.0  # a beat on either side of the window
    sig = recording.get_window(t0 - pad, t1 + pad, [row.channel])[row.channel]
    times, bpm = heart_rate(sig.data, sig.sfreq)
    times = times + t0 - pad
    keep = (times >= t0) & (times < t1)
    times, bpm = times[keep], bpm[keep]
    lo, hi = 50.0, 90.0  # a 40-bpm span at least, so a brady/tachycardia swing shows
    if bpm.size:
        mid = float(np.median(bpm))
        lo, hi = min(mid - 20, float(bpm.min()) - 5), max(mid + 20, float(bpm.max()) + 5)
    y = (hi - bpm) / (hi - lo)
    return EventTrace(row, times, y, f"{lo:.0f}-{hi:.0f} bpm")
