"""The AASM evidence for one epoch: what the scoring rules look for, measured.

For the epoch a technician is scoring: the share of it covered by slow waves (N3 when
>= 20 %), the share of its seconds with dominant alpha (W when > 50 %), its sleep
spindles and K-complexes (N2), and the chin EMG's level against the whole night (REM
atonia is the night's lowest tone). Each is measured on the derivation the AASM Manual
names for it when the study has it: slow waves and K-complexes frontally (F4-M1 ...),
spindles centrally (C4-M1 ...), alpha occipitally (O2-M1 ...), with a note when a
substitute was used. The rules themselves are in
:mod:`app.core.signals.graphoelements`; this module picks channels, reads one window
(the epoch plus ``pad_sec`` each side, so filters settle) and assembles the result.

The chin's per-epoch rms (10-100 Hz, as the picture draws it; an rms envelope as
stored) is computed once per night and kept by :mod:`app.core.signals.night_cache`;
an epoch's percentile among all epochs says where its tone sits in this night.

Spindles and K-complexes are counted in the epoch where they begin (as YASA assigns
events to epochs). Everything here is decision support: the counts come from simple,
documented rules, not from a technician.

Examples
--------
>>> from app.core.synth import synthesize
>>> import numpy as np
>>> rec = synthesize(np.array([2] * 4 + [3] * 4), seed=1).to_recording()
>>> ev = epoch_evidence(rec, 5)
>>> ev.channels["slow_waves"], ev.meets_n3
('F4-M1', True)
>>> 0 <= ev.chin_percentile <= 100
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from app.core.signals.channels import Source
from app.core.signals.graphoelements import (
    KC_BAND,
    Wave,
    alpha_seconds,
    band,
    covered_fraction,
    k_complexes,
    slow_wave_fraction,
    slow_waves,
    spindles,
)
from app.core.signals.night_cache import night_arrays

N3_SLOW_WAVE_SHARE = 0.20   # AASM: N3 when slow waves fill >= 20 % of the epoch
# a "K-complex" on a frontal lead that an EOG lead shows larger is an eye blink or movement
# (the eyes' field falls off from the orbit; a K-complex is largest at the vertex/frontally)
OCULAR_RATIO = 1.5
WAKE_ALPHA_SHARE = 0.50     # AASM: W when alpha fills > 50 % of the epoch
# measure -> slots to take it from, the AASM site first
PREFERRED = {"slow_waves": ("frontal", "central", "occipital"),
             "k_complexes": ("frontal", "central", "occipital"),
             "spindles": ("central", "frontal", "occipital"),
             "alpha": ("occipital", "central", "frontal")}
_SITE = {"frontal": "frontally", "central": "centrally", "occipital": "occipitally"}
_LABEL = {"slow_waves": "Slow waves", "k_complexes": "K-complexes", "spindles": "Sleep spindles",
          "alpha": "Alpha"}


@dataclass(frozen=True, eq=False)
class Evidence:
    """What one epoch shows against the AASM rules (times: seconds from the recording's
    start; None where the study has no channel for a measure)."""

    epoch: int
    slow_wave_fraction: float | None
    slow_waves: tuple[Wave, ...]
    alpha_fraction: float | None
    alpha_mask: np.ndarray            # per second of the epoch: alpha dominant
    spindles: tuple[Wave, ...]
    k_complexes: tuple[Wave, ...]
    chin_rms_uv: float | None
    chin_percentile: float | None     # 0-100 among the night's epochs
    channels: dict[str, str | None]   # measure -> the derivation it was measured on
    notes: tuple[str, ...] = ()

    @property
    def spindle_count(self) -> int:
        return len(self.spindles)

    @property
    def k_complex_count(self) -> int:
        return len(self.k_complexes)

    @property
    def meets_n3(self) -> bool | None:
        """Slow waves fill >= 20 % of the epoch (None: no EEG to measure them on)."""
        f = self.slow_wave_fraction
        return None if f is None else f >= N3_SLOW_WAVE_SHARE

    def lines(self) -> list[str]:
        """One line per measure, as the workstation and the CLI print them."""
        ch = self.channels
        out = []
        if self.slow_wave_fraction is not None:
            out.append(f"Slow waves (0.5-2 Hz, >= 75 uV): {self.slow_wave_fraction:.0%} of "
                       f"the epoch on {ch['slow_waves']} (N3 at >= 20 %)")
        if self.alpha_fraction is not None:
            out.append(f"Alpha (8-12 Hz dominant): {self.alpha_fraction:.0%} of the epoch on "
                       f"{ch['alpha']} (W at > 50 %)")
        if ch.get("spindles"):
            out.append(f"Sleep spindles: {self.spindle_count} on {ch['spindles']}")
        if ch.get("k_complexes"):
            out.append(f"K-complexes: {self.k_complex_count} on {ch['k_complexes']}")
        if self.chin_percentile is not None:
            out.append(f"Chin EMG: {self.chin_rms_uv:.1f} uV rms, percentile "
                       f"{self.chin_percentile:.0f} of the night on {ch['chin']}")
        return out + list(self.notes)


def evidence_sources(recording, override: Mapping[str, str] | None = None
                     ) -> dict[str, Source | None]:
    """The derivation each measure is taken from (``override``: the user's mapping)."""
    filled = recording.fill_slots(["frontal", "central", "occipital", "chin"], override)
    out: dict[str, Source | None] = {}
    for measure, slots in PREFERRED.items():
        out[measure] = next((filled[s] for s in slots if filled[s] is not None), None)
    out["chin"] = filled["chin"]
    return out


def night_chin_rms(recording, source: Source) -> np.ndarray:
    """The chin's rms per epoch over the whole night (uV, NaN: no data), cached."""
    from app.core.signals.levels import epoch_rms
    from app.core.signals.render_spec import RowSpec

    row = RowSpec.for_slot("chin")
    params = {"source": [source.plus, source.minus], "band": [row.highpass_hz, row.lowpass_hz],
              "epoch_sec": recording.epoch_sec, "n_epochs": recording.n_epochs}
    arrays, _ = night_arrays(recording, "chin_rms", params,
                             lambda: {"rms": epoch_rms(recording, source, row)})
    return arrays["rms"]


def night_percentile(values: np.ndarray, epoch: int) -> float | None:
    """Percentile (0-100) of ``values[epoch]`` among the finite values (ties count half)."""
    v = np.asarray(values, float)
    x = v[epoch]
    ok = v[np.isfinite(v)]
    if not np.isfinite(x) or ok.size == 0:
        return None
    return float(100.0 * (np.count_nonzero(ok < x) + 0.5 * np.count_nonzero(ok == x)) / ok.size)


def _notes(sources: dict[str, Source | None], filled: dict[str, Source | None]) -> list[str]:
    notes = []
    for measure, slots in PREFERRED.items():
        src = sources[measure]
        if src is None:
            continue
        if filled[slots[0]] is None:
            notes.append(f"{_LABEL[measure]} measured on {src.name}, not {_SITE[slots[0]]} as "
                         f"AASM specifies: the study has no {slots[0]} derivation.")
    if sources["chin"] is None:
        notes.append("No chin EMG: its tone against the night is not measured.")
    return notes


def not_ocular(waves: list[Wave], eog: list) -> list[Wave]:
    """``waves`` less those an EOG lead shows :data:`OCULAR_RATIO` times larger over the
    same span (``eog``: the window's EOG signals, same start as the waves' channel)."""
    if not eog or not waves:
        return waves
    bands = [(band(s.data, s.sfreq, *KC_BAND), s.sfreq) for s in eog]
    kept = []
    for w in waves:
        eye = 0.0
        for y, fs in bands:
            seg = y[int(w.onset * fs): int(np.ceil(w.end * fs)) + 1]
            seg = seg[np.isfinite(seg)]
            if seg.size:
                eye = max(eye, float(seg.max() - seg.min()))
        if eye <= OCULAR_RATIO * w.ptp_uv:
            kept.append(w)
    return kept


def epoch_evidence(recording, epoch: int, *, override: Mapping[str, str] | None = None,
                   pad_sec: float = 10.0) -> Evidence:
    """Measure the AASM evidence of epoch ``epoch`` (0-based).

    Parameters
    ----------
    recording : Recording
        The study; only the epoch's window is read (and, once per night, the chin).
    epoch : int
        0-based epoch index (``recording.epoch_index(n)`` converts a number from 1).
    override : mapping, optional
        The technician's channel mapping, slot -> channel (as in the session).
    pad_sec : float
        Seconds read on each side of the epoch so filters settle before it.

    Examples
    --------
    >>> from app.core.synth import synthesize
    >>> import numpy as np
    >>> rec = synthesize(np.array([0, 0, 2, 2]), seed=2).to_recording()
    >>> e = epoch_evidence(rec, 2)
    >>> e.channels["spindles"], e.channels["alpha"], e.spindle_count >= 0
    ('C4-M1', 'O2-M1', True)
    """
    recording.check_epoch(epoch)
    filled = recording.fill_slots(["frontal", "central", "occipital", "chin"], override)
    sources = evidence_sources(recording, override)
    ep = recording.epoch_sec
    t0, t1 = epoch * ep, (epoch + 1) * ep
    eyes = [s for s in recording.fill_slots(["e1", "e2"], override).values() if s is not None]
    wanted = {s.name: s for k, s in sources.items() if s is not None and k != "chin"}
    wanted.update({s.name: s for s in eyes})
    window = recording.get_window(t0 - pad_sec, t1 + pad_sec, list(wanted.values()))
    a, b = pad_sec, pad_sec + ep  # the epoch inside the window, seconds

    def inside(waves: list[Wave]) -> tuple[Wave, ...]:
        return tuple(w.shifted(t0 - pad_sec) for w in waves if a <= w.onset < b)

    def sig(measure: str):
        src = sources[measure]
        return None if src is None else window[src.name]

    sw, frac = sig("slow_waves"), None
    sw_waves: tuple[Wave, ...] = ()
    if sw is not None:
        frac = slow_wave_fraction(sw.data, sw.sfreq, a, b)
        sw_waves = tuple(w.shifted(t0 - pad_sec) for w in slow_waves(sw.data, sw.sfreq)
                         if covered_fraction([w], a, b) > 0)
    al, alpha_frac, mask = sig("alpha"), None, np.zeros(0, bool)
    if al is not None:
        mask = alpha_seconds(al.data, al.sfreq, a, b)
        alpha_frac = float(mask.mean()) if mask.size else None
    sp, kc = sig("spindles"), sig("k_complexes")
    chin_rms = chin_pct = None
    if sources["chin"] is not None:
        night = night_chin_rms(recording, sources["chin"])
        chin_pct = night_percentile(night, epoch)
        chin_rms = float(night[epoch]) if chin_pct is not None else None
    return Evidence(
        epoch=epoch, slow_wave_fraction=frac, slow_waves=sw_waves, alpha_fraction=alpha_frac,
        alpha_mask=mask,
        spindles=inside(spindles(sp.data, sp.sfreq)) if sp is not None else (),
        k_complexes=inside(not_ocular(k_complexes(kc.data, kc.sfreq),
                                      [window[s.name] for s in eyes]))
        if kc is not None else (),
        chin_rms_uv=chin_rms, chin_percentile=chin_pct,
        channels={k: (None if s is None else s.name) for k, s in sources.items()},
        notes=tuple(_notes(sources, filled)))
