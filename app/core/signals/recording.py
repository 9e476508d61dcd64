"""Recording: a PSG study opened lazily, read one window at a time.

EDF, EDF+ (continuous and discontinuous) and BDF are memory-mapped by our own reader
(``edf_reader.py``) so each channel keeps its own sampling rate; every other format mne
reads (BrainVision, FIF, EEGLAB, ...) goes through ``mne.io.read_raw(preload=False)``.

Examples
--------
>>> rec = Recording.open("night.edf")                       # doctest: +SKIP
>>> rec.n_epochs, [c.role for c in rec.channels][:3]        # doctest: +SKIP
(960, ['EEG', 'EEG', 'EEG'])
>>> win = rec.get_window(30.0, 60.0, ["C4-M1"])             # doctest: +SKIP
>>> win["C4-M1"].data.shape, win["C4-M1"].sfreq              # doctest: +SKIP
((7680,), 256.0)
"""

from __future__ import annotations

import datetime as dt
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.core.signals.channels import Source, detect_role, fill_slots
from app.core.signals.edf_reader import ANNOT_LABELS, EdfFile
from app.errors import ChannelError, StudyError

EPOCH_SEC = 30.0
_UNIT_SCALE = {"uv": 1.0, "µv": 1.0, "μv": 1.0, "mcv": 1.0, "microv": 1.0, "microvolt": 1.0,
               "microvolts": 1.0, "mv": 1e3, "millivolt": 1e3, "millivolts": 1e3, "v": 1e6,
               "volt": 1e6, "volts": 1e6, "nv": 1e-3}
# Typical robust rms of EEG, EOG, EMG and ECG in microvolts. A channel whose values are
# 1000 or a million times outside it, and inside it once rescaled, has a unit written
# wrong in its header (volts stored as "uV", microvolts as "V"): a common export mistake.
_PLAUSIBLE_UV = (0.5, 5000.0)
_LIKELY_UV = (2.0, 800.0)


def is_voltage(unit: str) -> bool:
    """True for a unit PSG Lens converts to microvolts (uV, µV, mV, V and spellings)."""
    return unit.strip().lower() in _UNIT_SCALE


@dataclass(frozen=True)
class ChannelInfo:
    name: str
    index: int
    sfreq: float
    unit: str
    role: str
    n_samples: int

    @property
    def is_electrophysiology(self) -> bool:
        return self.role in ("EEG", "EOG", "EMG", "ECG")


@dataclass
class Signal:
    """Samples of one channel (or derivation) over a window, physical units."""

    name: str
    data: np.ndarray
    sfreq: float
    unit: str


class Recording:
    """A PSG study. Use :meth:`open`; nothing is read until a window is asked for."""

    def __init__(self, path: Path, channels: list[ChannelInfo], start_time: dt.datetime | None,
                 duration_sec: float, reader: object, *, epoch_sec: float = EPOCH_SEC,
                 notes: list[str] | None = None) -> None:
        self.path = path
        self.channels = channels
        self.start_time = start_time
        self.duration_sec = float(duration_sec)
        self.epoch_sec = float(epoch_sec)
        self._reader = reader
        self._by_name = {c.name: c for c in channels}
        self.notes = notes or []
        self.truncated = False  # read with allow_truncated from a file cut short
        self._scale = {c.name: _UNIT_SCALE.get(c.unit.strip().lower(), 1.0) for c in channels}
        self.unit_fixes: dict[str, float] = {}
        leftover = self.duration_sec - self.n_epochs * self.epoch_sec
        if leftover > 1e-6:
            self.notes.append(f"The last {leftover:.1f} s do not fill a {self.epoch_sec:g}-s "
                              "epoch and are left out of scoring.")

    # -- opening ----------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | os.PathLike, *, allow_truncated: bool = False,
             epoch_sec: float = EPOCH_SEC) -> Recording:
        """Open a study lazily; raise :class:`StudyError` with a sentence when it cannot."""
        path = Path(path)
        if not path.exists():
            raise StudyError(f"There is no file at {path}.")
        if path.is_dir():
            raise StudyError(f"{path} is a folder; choose the PSG file inside it.")
        ext = path.suffix.lower()
        if ext in (".edf", ".bdf", ".rec") or _looks_like_edf(path):
            rec = cls._open_edf(path, allow_truncated, epoch_sec)
        else:
            rec = cls._open_mne(path, epoch_sec)
        rec._check_usable()
        return rec

    @classmethod
    def _open_edf(cls, path: Path, allow_truncated: bool, epoch_sec: float) -> Recording:
        edf = EdfFile(path, allow_truncated=allow_truncated)
        chans, notes = [], []
        for i, s in enumerate(edf.signals):
            if s.label in ANNOT_LABELS:
                continue
            sfreq = s.n_per_record / edf.record_sec if edf.record_sec else 0.0
            chans.append(ChannelInfo(s.label, i, sfreq, s.unit, detect_role(s.label),
                                     s.n_per_record * edf.n_records))
        duration = float(edf.record_onsets[-1] + edf.record_sec)
        if edf.n_records < edf.promised_records:  # opened with allow_truncated
            notes.append(f"{path.name} is truncated: only the {edf.n_records} complete data "
                         f"records of the {edf.promised_records} its header promises are in "
                         f"the file; PSG Lens reads those "
                         f"({edf.n_records * edf.record_sec / 3600:.2f} h).")
        if edf.discontinuous:
            gap = duration - edf.n_records * edf.record_sec
            notes.append(f"The recording is discontinuous (EDF+D); {gap:.0f} s of gaps are "
                         "shown as empty.")
        rec = cls(path, chans, edf.start_time, duration, edf, epoch_sec=epoch_sec, notes=notes)
        rec.truncated = edf.n_records < edf.promised_records
        return rec

    @classmethod
    def _open_mne(cls, path: Path, epoch_sec: float) -> Recording:
        import mne

        try:
            raw = mne.io.read_raw(path, preload=False, verbose="error")
        except Exception as err:  # mne raises many types for files it cannot parse
            raise StudyError(f"{path.name} is not a PSG file PSG Lens can read "
                             f"(EDF, EDF+, BDF or a format MNE reads): {err}") from err
        chans = []
        for i, ch in enumerate(raw.info["chs"]):
            unit = "uV" if ch["unit"] == 107 else ""  # FIFF_UNIT_V: we hand out microvolts
            chans.append(ChannelInfo(ch["ch_name"], i, float(raw.info["sfreq"]), unit,
                                     detect_role(ch["ch_name"]), raw.n_times))
        start = raw.info["meas_date"]
        start = start.replace(tzinfo=None) if start is not None else None
        return cls(path, chans, start, raw.n_times / raw.info["sfreq"], raw, epoch_sec=epoch_sec)

    @classmethod
    def from_arrays(cls, data: np.ndarray, ch_names: list[str], sfreq: float, *,
                    units: list[str] | None = None, start_time: dt.datetime | None = None,
                    name: str = "<in memory>", epoch_sec: float = EPOCH_SEC) -> Recording:
        """A recording held in memory, (n_channels, n_samples) in physical units.

        Used for synthetic studies in training and tests: no file round trip.
        """
        data = np.asarray(data)
        if data.ndim != 2 or data.shape[0] != len(ch_names):
            raise StudyError(f"Expected {len(ch_names)} channels of samples, got an array "
                             f"of shape {data.shape}.")
        units = units or ["uV"] * len(ch_names)
        chans = [ChannelInfo(n, i, float(sfreq), u, detect_role(n), data.shape[1])
                 for i, (n, u) in enumerate(zip(ch_names, units, strict=True))]
        rec = cls(Path(name), chans, start_time, data.shape[1] / sfreq, _ArrayReader(data),
                  epoch_sec=epoch_sec)
        rec._check_usable()
        return rec

    @classmethod
    def from_signals(cls, signals: Sequence[tuple[str, np.ndarray, float, str]], *,
                     start_time: dt.datetime | None = None, name: str = "<in memory>",
                     epoch_sec: float = EPOCH_SEC) -> Recording:
        """A recording held in memory whose channels each have their own rate.

        ``signals`` are ``(name, samples, sfreq, unit)``; the study lasts as long as its
        longest channel.
        """
        chans, arrays = [], []
        for i, (ch_name, data, sfreq, unit) in enumerate(signals):
            data = np.asarray(data)
            if data.ndim != 1 or not sfreq > 0:
                raise StudyError(f"Channel {ch_name!r} must be 1-D samples at a positive rate.")
            chans.append(ChannelInfo(ch_name, i, float(sfreq), unit, detect_role(ch_name),
                                     data.size))
            arrays.append(data)
        if not chans:
            raise StudyError("A recording needs at least one channel.")
        duration = max(c.n_samples / c.sfreq for c in chans)
        rec = cls(Path(name), chans, start_time, duration, _ArrayReader(arrays),
                  epoch_sec=epoch_sec)
        rec._check_usable()
        return rec

    def _fix_unit_mistakes(self) -> None:
        """Rescale channels whose header unit is off by 1000x or 10^6x (see _PLAUSIBLE_UV)."""
        for ch in self.channels:
            if not ch.is_electrophysiology or ch.sfreq < 20:
                continue  # slow channels are envelopes or levels: their spread says nothing
            r = self._robust_rms(ch)
            if not np.isfinite(r) or r <= 0 or _PLAUSIBLE_UV[0] <= r <= _PLAUSIBLE_UV[1]:
                continue
            for factor in (1e-6, 1e-3, 1e3, 1e6):
                if _LIKELY_UV[0] <= r * factor <= _LIKELY_UV[1]:
                    self._scale[ch.name] *= factor
                    self.unit_fixes[ch.name] = factor
                    how = {1e-6: "a million times too large", 1e-3: "a thousand times too large",
                           1e3: "a thousand times too small", 1e6: "a million times too small"}
                    self.notes.append(
                        f"{ch.name}: its values are {how[factor]} for the unit its header "
                        f"gives ({ch.unit or 'none'}), so PSG Lens reads them as microvolts "
                        f"x {factor:g}; check the unit in the recording software's export.")
                    break

    def _robust_rms(self, ch: ChannelInfo) -> float:
        """1.4826 x median absolute deviation over up to six 10-s windows (microvolts)."""
        dur = ch.n_samples / ch.sfreq
        starts = np.linspace(0, max(dur - 10.0, 0.0), 6)
        parts = [self._read(ch, t, min(t + 10.0, dur)) for t in starts]
        x = np.concatenate(parts) if parts else np.zeros(0)
        x = x[np.isfinite(x)]
        if x.size < 10:
            return float("nan")
        return float(1.4826 * np.median(np.abs(x - np.median(x))))

    def _check_usable(self) -> None:
        dupes = [n for n, k in Counter(c.name for c in self.channels).items() if k > 1]
        if dupes:
            raise ChannelError(f"{self.path.name} has more than one channel named "
                               f"{', '.join(repr(d) for d in dupes)}; rename them (e.g. in EDFbrowser) "
                               "so each channel has its own name.")
        if not self.channels:
            raise StudyError(f"{self.path.name} holds only annotations (it looks like a "
                             "hypnogram file, not a recording); open the PSG file and import "
                             "this one as a hypnogram.")
        if not any(c.role == "EEG" for c in self.channels):
            names = ", ".join(c.name for c in self.channels) or "none"
            raise ChannelError(f"{self.path.name} has no EEG channel that PSG Lens recognises "
                               f"(channels: {names}); map one by hand in the channel mapping.")
        if self.n_epochs == 0:
            raise StudyError(f"{self.path.name} is shorter than one {self.epoch_sec:g}-s epoch "
                             f"({self.duration_sec:.1f} s).")
        self._fix_unit_mistakes()

    # -- description ------------------------------------------------------------------
    @property
    def n_epochs(self) -> int:
        return int(self.duration_sec // self.epoch_sec + 1e-9)

    @property
    def ch_names(self) -> list[str]:
        return [c.name for c in self.channels]

    def channel(self, name: str) -> ChannelInfo:
        try:
            return self._by_name[name]
        except KeyError:
            raise ChannelError(f"{self.path.name} has no channel {name!r}.") from None

    def fill_slots(self, slot_keys: Iterable[str],
                   override: Mapping[str, str] | None = None) -> dict[str, Source | None]:
        return fill_slots(slot_keys, self.ch_names, override)

    def physical_range(self, name: str) -> tuple[float, float] | None:
        """The (min, max) a channel's samples can take, microvolts; None when unknown.

        Samples at these values are clipped: the amplifier or the export ran out of range.
        """
        ch = self.channel(name)
        if not isinstance(self._reader, EdfFile):
            return None
        sig = self._reader.signals[ch.index]
        k = self._scale[ch.name]
        return sig.phys_min * k, sig.phys_max * k

    def annotations(self) -> list[tuple[float, float, str]]:
        if isinstance(self._reader, EdfFile):
            return self._reader.annotations()
        if isinstance(self._reader, _ArrayReader):
            return []
        ann = self._reader.annotations
        return [(float(o), float(d), str(t)) for o, d, t in
                zip(ann.onset, ann.duration, ann.description, strict=False)]

    def epoch_index(self, number: int) -> int:
        """The index of epoch ``number`` as people count them: from 1, as the window, the
        exported CSV and the report number epochs. Out of range is a sentence."""
        if not 1 <= number <= self.n_epochs:
            raise StudyError(f"Epoch {number} is out of range: epochs are numbered from 1, "
                             f"as in the window and the exported CSV, and this study has "
                             f"epochs 1 to {self.n_epochs} ({self.epoch_sec:g} s each).")
        return int(number) - 1

    def check_epoch(self, epoch: int) -> None:
        if not 0 <= epoch < self.n_epochs:
            raise StudyError(f"Epoch {epoch} is out of range: this study has epochs 0 to "
                             f"{self.n_epochs - 1} ({self.n_epochs} epochs of {self.epoch_sec:g} s).")

    # -- data -------------------------------------------------------------------------
    def get_window(self, t0: float, t1: float,
                   channels: Iterable[str | Source] | None = None) -> dict[str, Signal]:
        """Samples in [t0, t1) seconds, microvolts for EEG/EOG/EMG/ECG.

        ``channels`` are channel names or :class:`Source` derivations; default all.
        Time outside the recording (or in an EDF+D gap) comes back as NaN, so a window
        always has ``round((t1 - t0) * sfreq)`` samples.
        """
        wanted = list(channels) if channels is not None else self.ch_names
        out: dict[str, Signal] = {}
        for item in wanted:
            src = item if isinstance(item, Source) else Source(item, item)
            plus = self.channel(src.plus)
            data = self._read(plus, t0, t1)
            if src.minus is not None:
                minus = self.channel(src.minus)
                if minus.sfreq != plus.sfreq:
                    raise ChannelError(f"Cannot subtract {minus.name} ({minus.sfreq:g} Hz) "
                                       f"from {plus.name} ({plus.sfreq:g} Hz): rates differ.")
                data = data - self._read(minus, t0, t1)
            if src.inverted:
                data = -data
            if src.gain != 1.0:
                data = data * src.gain
            out[src.name] = Signal(src.name, data, plus.sfreq, plus.unit)
        return out

    def _read(self, ch: ChannelInfo, t0: float, t1: float) -> np.ndarray:
        n = int(round((t1 - t0) * ch.sfreq))
        first = int(round(t0 * ch.sfreq))
        out = np.full(n, np.nan)
        if isinstance(self._reader, EdfFile):
            self._read_edf(ch, first, out)
        elif isinstance(self._reader, _ArrayReader):
            lo, hi = max(first, 0), min(first + n, ch.n_samples)
            if hi > lo:
                out[lo - first: hi - first] = self._reader.data[ch.index][lo:hi]
            return out
        else:
            lo, hi = max(first, 0), min(first + n, ch.n_samples)
            if hi > lo:
                out[lo - first: hi - first] = self._reader.get_data(
                    picks=[ch.index], start=lo, stop=hi)[0]
                out *= 1e6 if ch.unit == "uV" else 1.0
            return out
        return out * self._scale[ch.name]

    def _read_edf(self, ch: ChannelInfo, first: int, out: np.ndarray) -> None:
        edf: EdfFile = self._reader
        spr = edf.signals[ch.index].n_per_record
        if not edf.discontinuous:
            lo, hi = max(first, 0), min(first + out.size, ch.n_samples)
            if hi <= lo:
                return
            r0, r1 = lo // spr, (hi - 1) // spr + 1
            block = edf.read_records(ch.index, r0, r1)
            out[lo - first: hi - first] = block[lo - r0 * spr: hi - r0 * spr]
            return
        # EDF+D: place each overlapping record at its own onset
        starts = np.round(edf.record_onsets * ch.sfreq).astype(np.int64)
        hit = np.nonzero((starts < first + out.size) & (starts + spr > first))[0]
        for r in hit:
            block = edf.read_records(ch.index, r, r + 1)
            a, b = max(starts[r], first), min(starts[r] + spr, first + out.size)
            out[a - first: b - first] = block[a - starts[r]: b - starts[r]]


@dataclass
class _ArrayReader:
    data: np.ndarray


def _looks_like_edf(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError:
        return False
    return head == b"0       " or head[1:8] == b"BIOSEMI"
