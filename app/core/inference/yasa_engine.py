"""A second opinion: YASA's pretrained sleep-staging classifier behind the engine interface.

YASA (Vallat & Walker 2021) stages from features of one EEG (plus optional EOG and EMG)
over the whole night with a LightGBM classifier shipped in the ``yasa`` package. It needs
the whole recording at once, so :meth:`YasaEngine.predict` yields a single batch.

Examples
--------
>>> from app.core.signals.recording import Recording
>>> hyp = YasaEngine().score(Recording.open("night.edf"))    # doctest: +SKIP
>>> hyp.scorer                                               # doctest: +SKIP
'yasa/0.8.1'
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Generator, Mapping, Sequence
from fractions import Fraction

import numpy as np

from app.core.inference.engine import (
    EpochBatchResult,
    ProgressFn,
    ScoreAccumulator,
    StopFn,
    drain,
    epoch_indices,
)
from app.core.scoring.hypnogram import Hypnogram
from app.errors import ModelError

log = logging.getLogger(__name__)

EEG_SLOTS = ("central", "frontal", "occipital")  # YASA was trained on central EEG
YASA_SFREQ = 100.0
_COLUMN = {"W": 0, "WAKE": 0, "N1": 1, "N2": 2, "N3": 3, "R": 4, "REM": 4}


class YasaEngine:
    """Stage a study with ``yasa.SleepStaging`` (EEG required; EOG E1 and chin EMG if present).

    Parameters
    ----------
    use_eog, use_emg : bool
        Give YASA the E1 and chin channels when the study has them.
    eeg_slots : sequence of str
        The EEG slots YASA may read, in order of preference (central first: YASA was
        trained on central EEG). A narrower set scores the study as if only those leads
        had been recorded, as the card's channel-subset comparisons do.

    Examples
    --------
    >>> engine = YasaEngine()                                          # doctest: +SKIP
    >>> for batch in engine.predict(recording): print(batch.render_sec)  # doctest: +SKIP
    """

    def __init__(self, *, use_eog: bool = True, use_emg: bool = True,
                 eeg_slots: Sequence[str] = EEG_SLOTS) -> None:
        unknown = [s for s in eeg_slots if s not in EEG_SLOTS]
        if unknown or not eeg_slots:
            raise ModelError(f"YASA reads its EEG from {', '.join(EEG_SLOTS)}; "
                             f"{', '.join(unknown) or 'no slot'} cannot be one.")
        try:
            import yasa
        except ImportError as err:
            raise ModelError("The YASA second opinion needs the yasa package, which is not "
                             "installed; install it with 'pip install yasa'.") from err
        self._yasa = yasa
        self.use_eog, self.use_emg = use_eog, use_emg
        self.eeg_slots = tuple(eeg_slots)
        self.name = f"yasa/{yasa.__version__}"
        self.notices: list[str] = []

    def channels(self, recording, override: Mapping[str, str] | None = None) -> dict:
        """The Source YASA reads for ``eeg``, ``eog`` and ``emg`` (None where absent)."""
        return read_channels(recording, override, eeg_slots=self.eeg_slots,
                             use_eog=self.use_eog, use_emg=self.use_emg)

    def predict(self, recording, *, epochs: Sequence[int] | None = None,
                progress: ProgressFn | None = None, should_stop: StopFn | None = None,
                sources: Mapping[str, str] | None = None
                ) -> Generator[EpochBatchResult, None, Hypnogram]:
        """Yield one batch (YASA scores the whole night at once); return the Hypnogram."""
        idx = epoch_indices(recording, epochs)
        chans = self.channels(recording, sources)
        acc = ScoreAccumulator(recording.n_epochs)
        total = len(idx)
        if progress:
            progress(0, total)
        stopped = should_stop is not None and should_stop()
        if not stopped and total:
            t0 = time.perf_counter()
            raw = self._raw(recording, chans)
            t1 = time.perf_counter()
            probs = self._proba(raw, chans, recording.n_epochs)
            t2 = time.perf_counter()
            result = EpochBatchResult(idx, probs[idx], render_sec=t1 - t0, model_sec=t2 - t1,
                                      done=total, total=total)
            acc.add(result)
            if progress:
                progress(total, total)
            yield result
        meta = {"model": self.name, "engine": "yasa", "stopped": bool(stopped),
                "notices": list(self.notices),
                "sources": {k: None if s is None else s.name for k, s in chans.items()}}
        return acc.hypnogram(recording, scorer=self.name, meta=meta)

    def score(self, recording, **kw) -> Hypnogram:
        return drain(self.predict(recording, **kw))

    # -- internals ---------------------------------------------------------------------
    def _raw(self, recording, chans: dict):
        """An mne RawArray (volts, 100 Hz) of the chosen channels over the scored epochs."""
        import mne

        t1 = recording.n_epochs * recording.epoch_sec
        names, types, data = [], [], []
        for kind, src in chans.items():
            if src is None:
                continue
            sig = recording.get_window(0.0, t1, [src])[src.name]
            x = _resample(np.nan_to_num(sig.data.astype(np.float64)), sig.sfreq, YASA_SFREQ)
            n = int(round(t1 * YASA_SFREQ))
            x = np.pad(x, (0, max(0, n - x.size)))[:n]
            names.append(f"{kind.upper()} {src.name}")
            types.append(kind)
            data.append(x * 1e-6)  # our samples are microvolts; mne wants volts
        info = mne.create_info(names, YASA_SFREQ, types)
        meas = recording.start_time
        raw = mne.io.RawArray(np.vstack(data), info, verbose="error")
        if meas is not None:
            import datetime as dt

            raw.set_meas_date(meas.replace(tzinfo=dt.timezone.utc))
        return raw

    def _proba(self, raw, chans: dict, n_epochs: int) -> np.ndarray:
        names = {ch.split(" ", 1)[0].lower(): ch for ch in raw.ch_names}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # sklearn/lightgbm version chatter
            try:
                staging = self._yasa.SleepStaging(raw, eeg_name=names["eeg"],
                                                  eog_name=names.get("eog"),
                                                  emg_name=names.get("emg"))
                hyp = staging.predict()
            except (ValueError, RuntimeError, OSError) as err:
                raise ModelError(f"YASA could not stage this study: {err}") from err
        proba = hyp.proba
        out = np.zeros((n_epochs, 5), np.float32)
        rows = min(n_epochs, len(proba))
        for col in proba.columns:
            key = str(col).upper()
            if key not in _COLUMN:
                raise ModelError(f"YASA returned an unknown stage column {col!r}.")
            out[:rows, _COLUMN[key]] = proba[col].to_numpy()[:rows]
        if rows < n_epochs:  # a last partial epoch YASA dropped: no evidence
            out[rows:] = 0.2
        out /= out.sum(axis=1, keepdims=True)
        return out


def read_channels(recording, override: Mapping[str, str] | None = None, *,
                  eeg_slots: Sequence[str] = EEG_SLOTS, use_eog: bool = True,
                  use_emg: bool = True) -> dict:
    """The Source YASA would read for ``eeg``, ``eog`` and ``emg`` (None where absent),
    without importing yasa; a ModelError when the study has no EEG for it."""
    filled = recording.fill_slots([*eeg_slots, "e1", "chin"], override)
    eeg = next((filled[s] for s in eeg_slots if filled[s] is not None), None)
    if eeg is None:
        where = (", ".join(eeg_slots[:-1]) + " or " + eeg_slots[-1]
                 if len(eeg_slots) > 1 else eeg_slots[0])
        raise ModelError(f"{recording.path.name} has no {where} EEG for YASA; map one "
                         "in the channel mapping.")
    return {"eeg": eeg, "eog": filled["e1"] if use_eog else None,
            "emg": filled["chin"] if use_emg else None}


def _resample(x: np.ndarray, sfreq: float, target: float) -> np.ndarray:
    if abs(sfreq - target) < 1e-9:
        return x
    from scipy.signal import resample_poly

    frac = Fraction(target / sfreq).limit_denominator(1000)
    return resample_poly(x, frac.numerator, frac.denominator)


def cross_check_with_yasa(recording, hyp: Hypnogram,
                          sources: Mapping[str, str] | None = None) -> Hypnogram:
    """``hyp`` (the model's night of ``recording``) cross-checked with YASA reading the
    same study (:mod:`app.core.scoring.cross_check`): a note on each epoch the two stage
    differently and the summary sentence among the notices; no stage changes. Where YASA
    cannot run (not installed, no EEG it can read), ``hyp`` comes back with a notice
    saying so: the model's night is never lost to the cross-check."""
    from app.core.scoring.cross_check import annotate, cross_check

    try:
        peer = YasaEngine().score(recording, sources=sources)
    except ModelError as err:
        note = f"The night was not cross-checked with YASA: {err}"
        return hyp.copy(meta={**hyp.meta, "notices": [*hyp.meta.get("notices", []), note]})
    return annotate(hyp, cross_check(hyp, peer, name="YASA"))
