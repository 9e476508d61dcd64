"""What the trace view draws, computed without Qt: rows, filtered windows, peak decimation.

Rows come in AASM order (the slots the renderer fills, so the user's channel mapping
applies here too), then every other channel by role. Filtering is the renderer's own
(:func:`app.core.signals.render.filter_signal`), so the traces show what the model's picture
shows. Long windows are reduced to a min/max pair per screen pixel ("peak"
decimation): every spike stays visible and a 5-min page draws as fast as a 30-s one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.core.signals.channels import ROLES, SLOTS, Source
from app.core.signals.recording import is_voltage
from app.core.signals.render import filter_signal
from app.core.signals.render_spec import KIND_DEFAULTS
from app.core.workspace import AASM_SLOTS

FILTER_PAD_SEC = 5.0  # as the renderer: the filter's wrap-around decays inside it


@dataclass(frozen=True)
class TraceRow:
    """One row of the trace view."""

    label: str
    source: Source
    role: str                        # EEG, EOG, EMG, ECG, RESP, OTHER
    slot: str | None = None          # the AASM slot it fills, if any
    unit: str = "uV"
    highpass_hz: float | None = None
    lowpass_hz: float | None = None
    full_scale_uv: float | None = None  # None: scaled to the window's own range

    @property
    def kind(self) -> str | None:
        k = self.role.lower()
        return k if k in KIND_DEFAULTS else None


@dataclass
class TraceData:
    row: TraceRow
    t0: float            # seconds (from the recording start) of the first sample
    sfreq: float
    data: np.ndarray     # float32, physical units, filtered when asked


def trace_rows(recording, slot_sources: dict) -> list[TraceRow]:
    """AASM slots filled (mapping applied), then the remaining channels by role."""
    rows, used = [], set()
    for key in AASM_SLOTS:
        src = slot_sources.get(key)
        if src is None:
            continue
        role = SLOTS[key].role
        d = KIND_DEFAULTS[role.lower()]
        rows.append(TraceRow(src.name, src, role, key, "uV", d["highpass_hz"], d["lowpass_hz"],
                             d["full_scale_uv"]))
        used.update(n for n in (src.plus, src.minus) if n)
    order = {r: i for i, r in enumerate(ROLES)}
    rest = sorted((c for c in recording.channels if c.name not in used),
                  key=lambda c: order.get(c.role, len(order)))
    for ch in rest:
        d = KIND_DEFAULTS.get(ch.role.lower())
        if d is None:
            rows.append(TraceRow(ch.name, Source(ch.name, ch.name), ch.role, None, ch.unit))
        elif is_voltage(ch.unit) or not ch.unit.strip():
            # a second EEG, leg EMG: the type's filters and physical scale, as the slots,
            # so 75 uV looks the same on every EEG row (values come in microvolts)
            rows.append(TraceRow(ch.name, Source(ch.name, ch.name), ch.role, None, "uV",
                                 d["highpass_hz"], d["lowpass_hz"], d["full_scale_uv"]))
        else:  # an EEG-named channel in another unit: its filters, its own range
            rows.append(TraceRow(ch.name, Source(ch.name, ch.name), ch.role, None, ch.unit,
                                 d["highpass_hz"], d["lowpass_hz"], None))
    return rows


def montage_trace_rows(montage) -> list[TraceRow]:
    """The rows of a technician's montage (app.core.signals.montage), as the trace view
    draws them: its labels, filters and its role's physical scale."""
    rows = []
    for r in montage.visible_rows:
        d = KIND_DEFAULTS.get(r.role.lower()) if r.role else None
        minus = r.reference[0] if len(r.reference) == 1 else None
        rows.append(TraceRow(r.label, Source(r.label, r.plus, minus), r.role or "OTHER",
                             r.slot, "uV", r.highpass_hz, r.lowpass_hz,
                             d["full_scale_uv"] if d else None))
    return rows


def read_traces(recording, rows: list[TraceRow], t0: float, t1: float, *,
                filters: bool = True, pad_sec: float = FILTER_PAD_SEC) -> list[TraceData]:
    """Samples of every row over [t0, t1) seconds (NaN outside the recording)."""
    out = []
    for row in rows:
        want_filter = filters and (row.highpass_hz or row.lowpass_hz)
        pad = pad_sec if want_filter else 0.0
        sig = recording.get_window(t0 - pad, t1 + pad, [row.source])[row.source.name]
        x = sig.data
        if want_filter:
            x = filter_signal(x, sig.sfreq, row.highpass_hz, row.lowpass_hz)
            p = int(round(pad * sig.sfreq))
            x = x[p: p + int(round((t1 - t0) * sig.sfreq))]
        out.append(TraceData(row, t0, sig.sfreq, np.asarray(x, np.float32)))
    return out


def peak_decimate(y: np.ndarray, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Reduce ``y`` to a (min, max) pair per bin: returns (sample positions, values).

    Positions are fractional sample indices (each pair at its bin's centre), so
    ``t0 + pos / sfreq`` gives the time. Short inputs come back unchanged.
    """
    y = np.asarray(y)
    n = y.size
    if n_bins < 1:
        raise ValueError(f"n_bins must be at least 1, not {n_bins}.")
    if n <= 2 * n_bins:
        return np.arange(n, dtype=np.float64), y
    edges = (np.arange(n_bins) * n) // n_bins
    with np.errstate(invalid="ignore"):
        lo = np.fmin.reduceat(y, edges)
        hi = np.fmax.reduceat(y, edges)
    centre = (edges + np.append(edges[1:], n)) / 2.0 - 0.5
    pos = np.repeat(centre, 2)
    vals = np.empty(2 * n_bins, dtype=y.dtype)
    vals[0::2], vals[1::2] = lo, hi
    return pos, vals


def scale_rows(traces: list[TraceData], gains: np.ndarray) -> list[np.ndarray]:
    """Each row's samples in row units: +-0.5 is the row's full scale times its gain.

    Rows without a physical full scale (respiration, SpO2) use their window's robust
    range around the median. Values are clipped to +-1 (one row up or down).
    """
    out = []
    for tr, gain in zip(traces, gains):
        x = tr.data.astype(np.float32, copy=False)
        fs = tr.row.full_scale_uv
        if fs is None:
            finite = x[np.isfinite(x)]
            if finite.size == 0:
                out.append(x)
                continue
            mid = float(np.median(finite))
            fs = float(np.percentile(np.abs(finite - mid), 99)) or 1.0
            x = x - np.float32(mid)
        with np.errstate(invalid="ignore"):
            out.append(np.clip(x * np.float32(gain / (2.0 * fs)), -1.0, 1.0))
    return out


def heat_rgba(values: np.ndarray, color: tuple[int, int, int], max_alpha: int = 200
              ) -> np.ndarray:
    """(..., ) importances -> (..., 4) uint8 RGBA: one hue, alpha by importance."""
    v = np.nan_to_num(np.asarray(values, dtype=float), nan=0.0)
    v = np.clip(v, 0, None)
    top = float(v.max()) if v.size else 0.0
    v = v / top if top > 0 else v
    rgba = np.zeros(v.shape + (4,), np.uint8)
    rgba[..., :3] = color
    rgba[..., 3] = np.round(v * max_alpha).astype(np.uint8)
    return rgba
