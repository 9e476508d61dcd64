"""How a lab's amplifier recorded the night: rates, analog filters, gains, polarity,
the unnamed reference, and the 1-Hz EMG envelope some archives store instead of the EMG.

With ``varied=False`` a study is recorded cleanly (the study's rate, no filters, unit
gain). With ``varied=True`` each subject gets a lab drawn from what real archives do, so
a model trained on them has seen 50-512 Hz, 0.05-0.5 Hz analog high-passes, 35-100 Hz
low-passes, amplitude calibrations off by 0.5-2x and inverted leads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
from scipy import signal as sps

from app.core.synth.montages import ChannelRecipe

# (rate, weight): most labs sample at 100-256 Hz; some at 500/512; old or ambulatory
# systems and excerpts at 50/64 Hz (DREAMS excerpts are at 50, 100 and 200 Hz).
_EEG_RATES = ((50.0, 0.05), (64.0, 0.05), (100.0, 0.2), (128.0, 0.1), (200.0, 0.2),
              (250.0, 0.1), (256.0, 0.2), (500.0, 0.05), (512.0, 0.05))
_HIGHPASS = ((None, 0.3), (0.05, 0.1), (0.1, 0.15), (0.16, 0.15), (0.3, 0.2), (0.5, 0.1))
_LOWPASS = ((None, 0.4), (35.0, 0.15), (40.0, 0.1), (70.0, 0.25), (100.0, 0.1))
_REFERENCES = {"Cz": {"Cz": 1.0}, "FCz": {"Fz": 0.5, "Cz": 0.5}, "linked ears":
               {"M1": 0.5, "M2": 0.5}, "Pz": {"Pz": 1.0}, "average": {}}


def _pick(rng: np.random.Generator, table: tuple) -> object:
    values, weights = zip(*table)
    return values[int(rng.choice(len(values), p=np.asarray(weights) / sum(weights)))]


@dataclass
class Acquisition:
    """One lab's recording chain (see the module docstring)."""

    eeg_sfreq: float | None = None
    emg_sfreq: float | None = None
    highpass_hz: float | None = None
    lowpass_hz: float | None = None
    emg_highpass_hz: float | None = None
    gains: dict[str, float] = field(default_factory=dict)   # per channel label
    flipped: tuple[str, ...] = ()
    reference: str = "Cz"

    def describe(self) -> dict:
        return {"eeg_sfreq": self.eeg_sfreq, "emg_sfreq": self.emg_sfreq,
                "highpass_hz": self.highpass_hz, "lowpass_hz": self.lowpass_hz,
                "emg_highpass_hz": self.emg_highpass_hz, "reference": self.reference,
                "gains": {k: round(v, 3) for k, v in self.gains.items()},
                "flipped": list(self.flipped)}


def draw_acquisition(rng: np.random.Generator, recipes: tuple[ChannelRecipe, ...],
                     varied: bool) -> Acquisition:
    """A lab for one subject; the clean default unless ``varied``."""
    if not varied:
        return Acquisition()
    eeg_rate = float(_pick(rng, _EEG_RATES))
    emg_rate = eeg_rate if eeg_rate >= 200 or rng.random() < 0.5 else float(
        rng.choice([200.0, 256.0]))
    subject_gain = float(np.exp(rng.normal(0.0, 0.25)))
    gains, flipped = {}, []
    for r in recipes:
        if r.kind in ("eeg", "eog", "emg"):
            gains[r.label] = float(np.clip(subject_gain * np.exp(rng.normal(0.0, 0.15)), 0.5, 2.0))
        if r.kind in ("eeg", "eog") and rng.random() < 0.04:
            flipped.append(r.label)
    return Acquisition(
        eeg_sfreq=eeg_rate, emg_sfreq=emg_rate,
        highpass_hz=_pick(rng, _HIGHPASS), lowpass_hz=_pick(rng, _LOWPASS),
        emg_highpass_hz=10.0 if rng.random() < 0.5 else None,
        gains=gains, flipped=tuple(flipped),
        reference=str(rng.choice(list(_REFERENCES))))


def reference_mix(acq: Acquisition, recipes: tuple[ChannelRecipe, ...]) -> dict[str, float]:
    """The unnamed common reference as weights of electrodes."""
    mix = _REFERENCES[acq.reference]
    if mix:
        return dict(mix)
    scalp = sorted({r.plus for r in recipes if r.minus == "REF" and r.kind == "eeg"})
    return {e: 1.0 / len(scalp) for e in scalp} if scalp else {"Cz": 1.0}


def output_rate(recipe: ChannelRecipe, acq: Acquisition, study_sfreq: float) -> float:
    """The channel's recorded rate: the recipe's, else the lab's, else the study's."""
    if recipe.sfreq is not None:
        return float(recipe.sfreq)
    if recipe.kind == "emg" and acq.emg_sfreq:
        return float(acq.emg_sfreq)
    if recipe.kind in ("eeg", "eog") and acq.eeg_sfreq:
        return float(acq.eeg_sfreq)
    return float(study_sfreq)


def record(x: np.ndarray, sfreq: float, recipe: ChannelRecipe, acq: Acquisition,
           out_rate: float) -> np.ndarray:
    """Pass one channel (float32, at ``sfreq``) through the lab's chain; float32 out."""
    y = np.asarray(x, np.float64)
    if recipe.kind in ("eeg", "eog", "emg"):
        y = y * acq.gains.get(recipe.label, 1.0)
        if recipe.label in acq.flipped:
            y = -y
        hp = acq.emg_highpass_hz if recipe.kind == "emg" else acq.highpass_hz
        lp = None if recipe.kind == "emg" else acq.lowpass_hz
        if hp:  # analog filters are causal: first-order RC high-pass
            y = sps.sosfilt(sps.butter(1 if recipe.kind != "emg" else 2, hp, "highpass",
                                       fs=sfreq, output="sos"), y)
        if lp and lp < 0.45 * min(out_rate, sfreq):
            y = sps.sosfilt(sps.butter(2, lp, "lowpass", fs=sfreq, output="sos"), y)
    if recipe.envelope:
        return rms_envelope(y, sfreq, out_rate)
    return resample(y, sfreq, out_rate).astype(np.float32)


def rms_envelope(x: np.ndarray, sfreq: float, out_rate: float) -> np.ndarray:
    """The rms of ``x`` over each output sample's window (Sleep-EDF's EMG: 1 Hz, uV rms)."""
    step = int(round(sfreq / out_rate))
    n = x.size // step
    hp = x
    if sfreq > 25:  # the envelope is of the EMG band, not of slow artefacts
        hp = sps.sosfiltfilt(sps.butter(2, min(10.0, 0.4 * sfreq), "highpass", fs=sfreq,
                                        output="sos"), x)
    return np.sqrt(np.mean(hp[: n * step].reshape(n, step) ** 2, axis=1)).astype(np.float32)


def resample(x: np.ndarray, sfreq: float, out_rate: float) -> np.ndarray:
    """Polyphase resampling with its anti-alias filter (as an amplifier's decimator)."""
    if np.isclose(sfreq, out_rate):
        return np.asarray(x)
    ratio = Fraction(out_rate / sfreq).limit_denominator(1000)
    if abs(float(ratio) - out_rate / sfreq) > 1e-9:
        raise ValueError(f"Cannot resample {sfreq:g} Hz to {out_rate:g} Hz exactly.")
    y = sps.resample_poly(x, ratio.numerator, ratio.denominator)
    n = int(round(x.size * out_rate / sfreq))
    return y[:n]
