"""synthesize(): one labelled night, electrode by electrode, recorded by a lab.

Sources (background EEG, alpha, spindles, K-complexes and slow-wave trains, vertex and
sawtooth waves, eye movements and blinks, ECG, muscle, movement, electrode pops, sweat)
are made once for the night; every electrode sees them through its row of
:mod:`app.core.synth.electrodes`; every channel of the montage is the difference of two
electrodes (or of an electrode and the amplifier's unnamed reference), then passes
through the lab's chain (:mod:`app.core.synth.acquisition`).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from typing import Any

import numpy as np
from scipy import fft as _fft

from app.core.synth import electrodes as el
from app.core.synth.acquisition import (
    Acquisition,
    draw_acquisition,
    output_rate,
    record,
    reference_mix,
)
from app.core.synth.body import ecg_signal, resp_signal
from app.core.synth.clinical import ClinicalNight
from app.core.synth.events import PlantedEvent, plant_all, wave
from app.core.synth.montages import ChannelRecipe, recipes
from app.core.synth.noise import (
    add_events,
    band_shapes,
    epoch_envelope,
    line_noise,
    scatter,
    shaped_noise,
    slow_envelope,
    wrapped_sin,
)
from app.core.synth.physiology import (
    ALPHA_RMS,
    BANDS,
    EMG_REL,
    RESP_REL,
    STAGE_RMS,
    draw_quiet_wake,
    draw_subject,
)
from app.core.synth.planting import EventIndices, SynthEventError
from app.core.synth.scored import scored_stages

f32 = np.float32
# Background: an electrode's own part, its region's and the part every electrode shares
# (variances 0.12 + 0.2 + 0.67 = 1). Two mastoid-referenced leads correlate ~0.6-0.8,
# as in real PSG; bipolar neighbours cancel the regional and shared parts.
_LOCAL, _REGIONAL, _SHARED = 0.35, 0.45, 0.82
# spread of each oscillation's phase between electrodes (radians; see COHERENCE)
_PHASE_SD = {k: float(np.arccos(v)) for k, v in el.COHERENCE.items()}
_EVENT_COLUMN = {"alpha": "alpha", "spindle": "spindle", "k_complex": "kcomplex",
                 "delta": "kcomplex", "vertex": "vertex", "sawtooth": "sawtooth",
                 "blink": "blink", "vsaccade": "blink", "flutter": "blink",
                 "saccade": "heye", "rem": "heye", "slow_eye": "heye"}


@dataclasses.dataclass
class SynthChannel:
    """One recorded channel: samples (float32, physical units) at its own rate."""

    name: str
    kind: str
    data: np.ndarray
    sfreq: float
    unit: str


@dataclasses.dataclass
class SynthStudy:
    """A synthetic recording, its true stages, planted events and how it was made."""

    channels: list[SynthChannel]
    stages: np.ndarray
    # what an AASM scorer would call each epoch (N3 only with its slow waves, see
    # app.core.synth.scored): the labels to train and measure on
    scored_stages: np.ndarray
    events: list[PlantedEvent]
    subject: dict[str, Any]
    start_time: _dt.datetime
    epoch_sec: float = 30.0
    montage: str = "aasm"
    acquisition: dict = dataclasses.field(default_factory=dict)
    # planted clinical events (app.core.scoring.events.Event): apneas, arousals, LMs...
    truth: list = dataclasses.field(default_factory=list)

    @property
    def n_epochs(self) -> int:
        return int(self.stages.size)

    @property
    def ch_names(self) -> list[str]:
        return [c.name for c in self.channels]

    @property
    def ch_types(self) -> list[str]:
        return [c.kind for c in self.channels]

    @property
    def units(self) -> list[str]:
        return [c.unit for c in self.channels]

    @property
    def sfreq(self) -> float:
        """The highest channel rate (every rate when they are all equal)."""
        return max(c.sfreq for c in self.channels)

    @property
    def data(self) -> np.ndarray:
        """(n_channels, n_samples) when every channel has one rate; else see ``channels``."""
        rates = {c.sfreq for c in self.channels}
        if len(rates) > 1:
            raise ValueError(f"This study's channels have different rates ({sorted(rates)} Hz); "
                             "use study.channels.")
        return np.stack([c.data for c in self.channels])

    def to_recording(self, name: str = "<synthetic>"):
        """The study as an in-memory :class:`~app.core.signals.recording.Recording`."""
        from app.core.signals.recording import Recording

        return Recording.from_signals([(c.name, c.data, c.sfreq, c.unit) for c in self.channels],
                                      start_time=self.start_time, name=name,
                                      epoch_sec=self.epoch_sec)


def sample_hypnogram(n_epochs: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
    """Draw a realistic stage sequence (0 W, 1 N1, 2 N2, 3 N3, 4 REM).

    Uses the semi-Markov night model estimated from real DOD-H hypnograms
    (:mod:`app.core.scoring.priors`): wake before sleep onset, NREM/REM cycles with more
    N3 early and more REM late, and some wake at the end.

    Examples
    --------
    >>> stages = sample_hypnogram(960, rng=0)
    >>> int(stages[0]), stages.size
    (0, 960)
    """
    if isinstance(n_epochs, bool) or not isinstance(n_epochs, (int, np.integer)) or n_epochs < 1:
        raise ValueError(f"n_epochs must be a positive whole number of epochs, got {n_epochs!r}.")
    from app.core.scoring.priors import sample_night  # late: reads the shipped prior file

    return sample_night(int(n_epochs), np.random.default_rng(rng))


def _number(name: str, value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}.") from None


def check_ages(ages) -> tuple[int, int] | None:
    """``ages`` as (first, last) whole years of an adult, or None; ValueError otherwise."""
    if ages is None:
        return None
    try:
        lo, hi = (int(a) for a in ages)
    except (TypeError, ValueError):
        raise ValueError(f"ages must be two whole years (first, last), got {ages!r}.") from None
    if not 18 <= lo <= hi <= 100:
        raise ValueError(f"ages must be adult years from 18 to 100, first <= last; got {ages!r}.")
    return lo, hi


def check_inputs(stages, hours, seed, sfreq, montage, epoch_sec) -> tuple[np.ndarray | None, int]:
    """Validate synthesize()'s arguments; (stages or None, number of epochs)."""
    sfreq, epoch_sec = _number("sfreq", sfreq), _number("epoch_sec", epoch_sec)
    hours = None if hours is None else _number("hours", hours)
    if isinstance(montage, str) or not all(isinstance(r, ChannelRecipe) for r in montage):
        recipes(montage)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}.")
    if not np.isfinite(sfreq) or sfreq < 64:
        raise ValueError(f"sfreq must be at least 64 Hz (spindles and EMG need it), got {sfreq!r}.")
    if not np.isfinite(epoch_sec) or epoch_sec < 5:
        raise ValueError(f"epoch_sec must be at least 5 seconds, got {epoch_sec!r}.")
    if abs(sfreq * epoch_sec - round(sfreq * epoch_sec)) > 1e-6:
        raise ValueError("sfreq * epoch_sec must be a whole number of samples; "
                         f"got {sfreq} Hz x {epoch_sec} s.")
    if (stages is None) == (hours is None):
        raise ValueError("Give either a stage sequence (stages=...) or a duration (hours=...).")
    if stages is None:
        if not np.isfinite(hours) or hours <= 0:
            raise ValueError(f"hours must be a positive number, got {hours!r}.")
        n_ep = int(round(hours * 3600.0 / epoch_sec))
        if n_ep < 1:
            raise ValueError(f"hours={hours} is shorter than one {epoch_sec:g}-s epoch.")
        return None, n_ep
    arr = np.asarray(stages)
    if arr.ndim != 1 or arr.size == 0 or not np.issubdtype(arr.dtype, np.number) \
            or not np.all(np.isin(arr, (-1, 0, 1, 2, 3, 4))):
        raise ValueError("stages must be a non-empty 1-D sequence of stage codes "
                         "(-1 unscored, 0 W, 1 N1, 2 N2, 3 N3, 4 REM).")
    return arr.astype(np.int64), arr.size


def _quadrature(x: np.ndarray) -> np.ndarray:
    """The Hilbert transform of ``x`` (the same oscillation a quarter cycle later)."""
    spec = _fft.rfft(x)
    spec *= -1j
    spec[0] = 0
    return _fft.irfft(spec, n=x.size).astype(np.float32)


def synthesize(
    stages: np.ndarray | None = None,
    *,
    hours: float | None = None,
    seed: int = 0,
    sfreq: float = 256.0,
    montage: str | tuple[ChannelRecipe, ...] = "aasm",
    epoch_sec: float = 30.0,
    varied: bool = False,
    indices: EventIndices | None = None,
    ages: tuple[int, int] | None = None,
    quiet_wake: bool = False,
) -> SynthStudy:
    """Generate a labelled synthetic PSG driven by a hypnogram.

    Parameters
    ----------
    stages : array of int, optional
        One code per epoch (-1 unscored, drawn as wake; 0 W, 1 N1, 2 N2, 3 N3, 4 REM).
    hours : float, optional
        Record length when ``stages`` is not given; the stages are then drawn with
        :func:`sample_hypnogram`. Give exactly one of ``stages`` and ``hours``.
    seed : int
        Same seed, same inputs -> byte-identical output (subject, stages, signals).
    sfreq : float
        Rate the night is made at (at least 64 Hz); channels whose montage or lab says
        otherwise are resampled to their own rate.
    montage : str or tuple of ChannelRecipe
        Channel recipes, or a key of :data:`app.core.synth.montages.MONTAGES`: ``aasm`` (7 channels),
        ``full`` (16), ``sleep-edf`` (the cassette files: 100-Hz EEG/EOG, 1-Hz EMG
        envelope), ``shhs``, ``hmc``, ``isruc``, ``mass``, ``cap``, ``dreams``,
        ``single-c3``, ``single-cz``, ``single-fpz``, ``referential``, ``headband``, ...
    epoch_sec : float
        Epoch length in seconds.
    varied : bool
        Draw the person and the lab from real-world spread (age 18-85, no-alpha people,
        gains 0.5-2x, 50-512 Hz, analog filters, inverted leads, sweat, ECG in the EEG,
        line noise); False gives the clean, typical night.
    ages : (int, int), optional
        Draw the subject's age from this range (first, last year; adults, 18-100)
        instead of the default one; a ``varied`` subject gets the age effects that go
        with it (smaller slow waves, fewer spindles when old). None keeps every existing
        seed's night.
    quiet_wake : bool
        The subject is awake quietly: lying still, relaxed, eyes mostly open (less beta,
        scalp muscle and alpha in W; :func:`~app.core.synth.physiology.draw_quiet_wake`).
        Only the W epochs change; False keeps every existing seed's night.
    indices : EventIndices, optional
        Clinical events to plant, per hour of sleep (respiratory events, PLMs,
        spontaneous arousals: :mod:`app.core.synth.clinical`); they come with channels
        the montage lacks (flow, nasal pressure, effort, SpO2, position, legs) and are
        listed in ``study.truth``. Their random numbers are their own: without them
        (None or all zero) the night is byte-identical to one made before they existed,
        and with them the rest of the night is that same night.

    Returns
    -------
    SynthStudy

    Examples
    --------
    >>> study = synthesize([0, 1, 2, 2, 3, 4], seed=3, sfreq=100.0)
    >>> study.data.shape, study.data.dtype
    ((7, 18000), dtype('float32'))
    """
    given, n_ep = check_inputs(stages, hours, seed, sfreq, montage, epoch_sec)
    if indices is not None and not isinstance(indices, EventIndices):
        raise SynthEventError(f"indices must be EventIndices (events per hour of sleep), "
                              f"not {type(indices).__name__}.")
    recs = recipes(montage) if isinstance(montage, str) else tuple(montage)
    rng = np.random.Generator(np.random.SFC64(int(seed)))  # SFC64: ~2x faster normals
    subj = draw_subject(rng, int(seed), varied=varied, ages=check_ages(ages))
    if quiet_wake:
        subj.update(draw_quiet_wake(int(seed)))
    acq = draw_acquisition(rng, recs, varied)
    start = _dt.datetime(2024, 1, 1, 22, 0) + _dt.timedelta(
        days=int(rng.integers(0, 365)), minutes=int(rng.integers(0, 90)))
    if given is None:
        from app.core.scoring.priors import sample_night

        given = sample_night(n_ep, rng)
    clinical = ClinicalNight(indices, given, float(sfreq), float(epoch_sec), subj, int(seed),
                             recs) if indices is not None and indices.any else None
    night = _Night(rng, np.where(given < 0, 0, given), float(sfreq), float(epoch_sec), subj,
                   recs, acq, clinical)
    channels = [night.channel(r) for r in recs]
    if clinical is not None:
        channels += clinical.extra_channels(night, acq)
    # after every channel is made, so the recorded signals do not change with it
    eeg_gains = [g for r in recs if r.kind == "eeg" and (g := acq.gains.get(r.label))]
    frontal = (night.potential("F4") - night.potential("M1")) * f32(
        np.median(eeg_gains) if eeg_gains else 1.0)
    scored = scored_stages(given, frontal, float(sfreq), float(epoch_sec))
    return SynthStudy(channels=channels, stages=given.copy(), scored_stages=scored,
                      events=night.events(),
                      subject=subj, start_time=start, epoch_sec=float(epoch_sec),
                      montage=montage if isinstance(montage, str) else "custom",
                      acquisition=acq.describe(),
                      truth=clinical.truth([c.name for c in channels]) if clinical else [])


class _Night:
    """The night's shared sources and the electrode potentials made from them."""

    def __init__(self, rng: np.random.Generator, st: np.ndarray, sfreq: float,
                 epoch_sec: float, subj: dict, recs: tuple[ChannelRecipe, ...],
                 acq: Acquisition, clinical: ClinicalNight | None = None) -> None:
        self.rng, self.st, self.sfreq, self.subj, self.recs, self.acq = (
            rng, st, sfreq, subj, recs, acq)
        self.clinical = clinical
        n_ep = st.size
        self.e = e = int(round(sfreq * epoch_sec))
        self.xfade, self.n, self.ramp = int(2 * sfreq), e * n_ep, int(sfreq)
        # Epoch-level band rms: stage table x subject x per-epoch jitter, mixed with the
        # neighbouring epochs so features ramp at stage changes (real boundaries are fuzzy).
        rms = STAGE_RMS[st] * np.exp(rng.normal(0, 0.15, (n_ep, len(BANDS))))
        swa = subj["delta_gain"] * (1.15 - 0.3 * (np.arange(n_ep) + 0.5) / n_ep)  # SWA decays
        rms[:, 1:3] *= swa[:, None]
        if subj["wake_beta"] != 1.0:  # a quietly awake subject (synthesize quiet_wake)
            rms[st == 0, BANDS.index("beta")] *= subj["wake_beta"]
        padded = np.pad(rms, ((1, 1), (0, 0)), mode="edge")
        self.rms = subj["eeg_gain"] * (0.8 * rms + 0.1 * padded[:-2] + 0.1 * padded[2:])
        self.shapes = band_shapes(e + self.xfade, sfreq, BANDS, subj)
        self.planted = plant_all(rng, st, e, sfreq, epoch_sec, subj)
        self.ref_mix = reference_mix(acq, recs)
        self._make_sources()
        self.potentials: dict[str, np.ndarray] = {}
        self.electrode_names = self._electrodes()
        self._pops = self._assign("pop")
        self._sweat = self._assign("sweat")

    # -- sources ----------------------------------------------------------------------
    def trace(self, *kinds: str) -> np.ndarray:
        out = np.zeros(self.n, dtype=np.float32)
        for k in kinds:
            add_events(out, self.planted[k][0], self.planted[k][3])
        return out

    def _make_sources(self) -> None:
        rng, st, e, xf, subj, sf = self.rng, self.st, self.e, self.xfade, self.subj, self.sfreq
        n_ep, one = st.size, np.ones((st.size, 1))
        self.glob = shaped_noise(rng, self.rms**2, self.shapes, e, xf)
        self.regional: dict[str, np.ndarray] = {}
        self.phases: dict[tuple, float] = {}
        alpha = shaped_noise(rng, one, band_shapes(e + xf, sf, ("alpha",), subj), e, xf)
        alpha *= epoch_envelope(0.4 * ALPHA_RMS[st] * subj["alpha_gain"]
                                * self._awake(subj["wake_alpha"]), e, self.ramp) \
            + self.trace("alpha")
        self.osc = {"alpha": alpha, "spindle": self.trace("spindle"),
                    "kcomplex": self.trace("k_complex", "delta"), "vertex": self.trace("vertex"),
                    "sawtooth": self.trace("sawtooth")}
        self.quad = {k: _quadrature(v) for k, v in self.osc.items() if v.any()}
        self.blink = self.trace("blink", "vsaccade", "flutter")  # the vertical eye/lid dipole
        self.eye = self.trace("saccade", "rem", "slow_eye")
        mv_starts, mv_d, _, mv_w = self.planted["movement"]
        mv_t = np.arange(mv_w.shape[1]) / sf
        self.mv = [scatter(self.n, mv_starts, wave("delta", rng, mv_t, mv_d, subj) * 4.0)
                   for _ in range(2)]
        self.emg_shape = band_shapes(e + xf, sf, ("emg",), subj)
        self.tone = subj["emg_tone"] * EMG_REL[st] * np.exp(rng.normal(0, 0.2, n_ep))
        # scalp muscle (frontalis, temporalis, orbicularis): high in wake and movement, low
        # in REM; each electrode picks up its own muscle, so bipolar pairs keep it
        self.muscle_env = epoch_envelope(0.3 * self.tone * self._awake(subj["wake_muscle"]),
                                         e, self.ramp) + self.trace("movement")
        self.line = line_noise(subj["line_freq"], sf, self.n)
        rate = slow_envelope(subj["resp_rate"] * RESP_REL[st] * np.exp(rng.normal(0, 0.05, n_ep)), e)
        breaths = np.cumsum(rate / (60.0 * sf), dtype=np.float64)
        self.resp_sin = wrapped_sin(breaths)
        self.resp_cos = wrapped_sin(breaths, 0.25)
        self.ecg = ecg_signal(rng, subj, st, e, sf, breaths, self.resp_sin)

    def _awake(self, factor: float) -> np.ndarray | float:
        """``factor`` in W epochs and 1 elsewhere (1.0 itself when it is 1: the same night)."""
        return 1.0 if factor == 1.0 else np.where(self.st == 0, factor, 1.0)

    def _electrodes(self) -> list[str]:
        """Every electrode the montage's channels and the reference use, in a fixed order."""
        names: list[str] = []
        for r in self.recs:
            for s in (r.plus, r.minus):
                if s == "REF":
                    names += list(self.ref_mix)
                elif s == "LE":
                    names += ["M1", "M2"]
                elif s and (el.is_scalp(s) or s in el.CHIN_SITES):
                    names.append(s)
        return list(dict.fromkeys(names))

    def _assign(self, kind: str) -> np.ndarray:
        """Which electrode each pop / sweat swing lands on (sweat: frontal sites first)."""
        names = self.electrode_names
        k = self.planted[kind][2].size
        if not names:
            return np.zeros(0, int)
        w = np.array([2.0 if kind == "sweat" and n[:1] in ("F", "E") else 1.0 for n in names])
        return self.rng.choice(len(names), size=k, p=w / w.sum())

    def potential(self, name: str) -> np.ndarray:
        """The electrode's potential against a quiet reference (uV), made once."""
        name = el.ALIASES.get(name, name)
        if name in self.potentials:
            return self.potentials[name]
        if name in el.CHIN_SITES:
            x = self._chin_site()
        else:
            x = self._scalp(name)
        if self.clinical is not None:
            self.clinical.cortex(name, x)
        idx = self.electrode_names.index(name) if name in self.electrode_names else -1
        for kind, assigned in (("pop", self._pops), ("sweat", self._sweat)):
            starts, _, _, waves = self.planted[kind]
            mine = assigned == idx
            add_events(x, starts[mine], waves[mine])
        self.potentials[name] = x
        return x

    def _scalp(self, name: str) -> np.ndarray:
        rng, r = self.rng, el.row(name)
        c = {k: r[i] for i, k in enumerate(el.COLUMNS)}
        profile = r[el.BAND_PROFILE]
        x = shaped_noise(rng, (self.rms * profile) ** 2, self.shapes, self.e, self.xfade)
        reg = el.region(name)
        if reg is not None:
            x *= f32(_LOCAL)
            x += f32(_REGIONAL * c["shared"]) * self._region(reg)
        else:
            x *= f32(np.hypot(_LOCAL, _REGIONAL))
        x += f32(_SHARED * c["shared"]) * self.glob
        for kind, trace in self.osc.items():
            if c[kind] and kind in self.quad:
                # phase: the region's, plus a little of the electrode's own
                phi = self._region_phase(reg, kind) + rng.normal(0.0, _PHASE_SD[kind] / 4)
                x += f32(c[kind] * np.cos(phi)) * trace
                x += f32(c[kind] * np.sin(phi)) * self.quad[kind]
        x += f32(c["blink"] * self.subj["blink_gain"]) * self.blink
        x += f32(c["heye"] * self.subj["eye_gain"]) * self.eye
        g = rng.uniform(-1, 1, 3)
        x += f32(g[0]) * self.mv[0] + f32(g[1]) * self.mv[1]
        x += f32(c["ecg"] * self.subj["ecg_pickup"] * (1.0 + 0.3 * g[2])) * self.ecg
        if c["muscle"]:
            m = shaped_noise(rng, np.ones((self.st.size, 1)), self.emg_shape, self.e, self.xfade)
            m *= self.muscle_env
            x += f32(c["muscle"]) * m
        return x

    def _region_phase(self, reg: str | None, kind: str) -> float:
        key = (reg, kind)
        if key not in self.phases:
            self.phases[key] = float(self.rng.normal(0.0, _PHASE_SD[kind]))
        return self.phases[key]

    def _region(self, reg: str) -> np.ndarray:
        if reg not in self.regional:
            profile = np.asarray(el.REGION_PROFILE[reg])[el.BAND_PROFILE]
            self.regional[reg] = shaped_noise(self.rng, (self.rms * profile) ** 2, self.shapes,
                                              self.e, self.xfade)
        return self.regional[reg]

    def _chin_site(self) -> np.ndarray:
        """One chin electrode: its own muscle signal (so Chin1 - Chin2 keeps the EMG), the
        ECG and EEG it shares with the other chin sites (mostly cancelled in a bipolar
        chin), slow electrode noise."""
        rng, e, xf, n_ep = self.rng, self.e, self.xfade, self.st.size
        x = shaped_noise(rng, np.ones((n_ep, 1)), self.emg_shape, e, xf)
        x *= epoch_envelope(self.tone / np.sqrt(2), e, self.ramp) \
            + f32(0.7) * self.trace("twitch", "movement")
        floor = np.array([[rng.uniform(2, 3.5), rng.uniform(1.5, 3), 0, 0, 0, 0]]) ** 2
        x += shaped_noise(rng, np.repeat(floor, n_ep, 0), self.shapes, e, xf)
        x += f32(rng.uniform(0.006, 0.014)) * self.ecg + f32(rng.uniform(0.1, 0.2)) * self.glob
        return x

    def _reference(self) -> np.ndarray:
        out = np.zeros(self.n, np.float32)
        for name, w in self.ref_mix.items():
            out += f32(w) * self.potential(name)
        return out

    # -- channels ---------------------------------------------------------------------
    def _difference(self, r: ChannelRecipe) -> np.ndarray:
        x = self.potential(r.plus).copy()
        if r.minus == "REF":
            x -= self._reference()
        elif r.minus == "LE":
            x -= f32(0.5) * (self.potential("M1") + self.potential("M2"))
        elif r.minus:
            x -= self.potential(r.minus)
        return x

    def _body(self, r: ChannelRecipe) -> np.ndarray:
        rng, st, e = self.rng, self.st, self.e
        if r.plus == "ECG":
            return self.ecg * f32(rng.uniform(0.8, 1.2))
        if r.plus in ("Airflow", "Thorax", "Abdomen"):
            x = resp_signal(rng, r.plus, st, e, self.ramp, self.resp_sin, self.resp_cos)
            return self.clinical.breathing(r.plus, x) if self.clinical else x
        if r.plus == "SpO2":  # percent: slow drift, slightly lower in REM
            level = self.subj["spo2"] - 0.5 * (st == 4) + rng.normal(0, 0.3, st.size)
            x = np.minimum(slow_envelope(level, e), f32(100.0))
            return self.clinical.spo2(x) if self.clinical else x
        if r.plus == "Temp":  # core temperature falls through the night (~0.5 degC)
            return slow_envelope(37.1 - 0.5 * np.sin(np.pi * np.arange(st.size) / st.size), e)
        if r.plus == "Marker":
            return np.zeros(self.n, np.float32)
        if r.plus in ("LAT", "RAT"):
            x = shaped_noise(rng, np.ones((st.size, 1)), self.emg_shape, e, self.xfade)
            side = self.planted["leg_movement"]  # one leg per movement: LAT even epochs
            mine = side[2] % 2 == (0 if r.plus == "LAT" else 1)
            rest = f32(rng.uniform(1.5, 3.0))
            if self._planted_legs:  # the legs then carry the ground truth only
                x *= rest + self.clinical.leg(r.plus)
            else:
                x *= rest + scatter(self.n, side[0][mine], side[3][mine]) \
                    + f32(0.5) * self.trace("movement")
            return x
        raise ValueError(f"No synthetic signal for {r.plus!r} (channel {r.label!r}).")

    @property
    def _planted_legs(self) -> bool:
        return self.clinical is not None and self.clinical.has_legs

    def channel(self, r: ChannelRecipe) -> SynthChannel:
        if r.kind in ("eeg", "eog") or (r.kind == "emg" and r.plus in el.CHIN_SITES):
            x = self._difference(r)
        else:
            x = self._body(r)
        if r.kind in ("eeg", "eog", "emg", "ecg"):
            x += f32(self.subj["line_amp"] * self.rng.uniform(0.3, 1.0)) * self.line
        rate = output_rate(r, self.acq, self.sfreq)
        data = record(x, self.sfreq, r, self.acq, rate)
        return SynthChannel(r.label, r.kind, data, rate, r.unit)

    # -- events -----------------------------------------------------------------------
    def _gain(self, r: ChannelRecipe, column: str) -> float:
        if r.kind not in ("eeg", "eog") or not el.is_scalp(r.plus):
            return 0.0
        g = el.gain(r.plus, column)
        if r.minus == "REF":
            g -= sum(w * el.gain(n, column) for n, w in self.ref_mix.items())
        elif r.minus == "LE":
            g -= 0.5 * (el.gain("M1", column) + el.gain("M2", column))
        elif r.minus and el.is_scalp(r.minus):
            g -= el.gain(r.minus, column)
        return abs(g)

    def _primary(self, kind: str) -> str | None:
        if kind in ("twitch", "movement"):
            return next((r.label for r in self.recs if r.kind == "emg"
                         and r.plus in el.CHIN_SITES), None)
        column = _EVENT_COLUMN.get(kind)
        if column is None:
            return None
        best = max(self.recs, key=lambda r: self._gain(r, column))
        return best.label if self._gain(best, column) > 0.2 else None

    def events(self) -> list[PlantedEvent]:
        """PlantedEvent records on the channel where each event is largest; kinds whose
        channels the montage lacks (e.g. leg movements in 'aasm') are not listed."""
        legs = [r.label for r in self.recs if r.plus in ("LAT", "RAT")]
        out = []
        for kind, (starts, dur, ep, _) in self.planted.items():
            if kind == "leg_movement" and self._planted_legs:
                continue  # not in the signal: the legs show the planted LMs instead
            for j in range(ep.size):
                if kind in ("pop", "sweat"):
                    ch = self._carrier(kind, j)
                elif kind == "leg_movement":
                    ch = legs[ep[j] % 2] if legs else None
                else:
                    ch = self._primary(kind)
                if ch is not None:
                    out.append(PlantedEvent(kind, ch, float(starts[j] / self.sfreq),
                                            float(dur[j]), int(ep[j])))
        out.sort(key=lambda ev: (ev.onset, ev.kind, ev.channel))
        return out

    def _carrier(self, kind: str, j: int) -> str | None:
        """The first channel that shows the electrode a pop or sweat swing landed on."""
        assigned = self._pops if kind == "pop" else self._sweat
        if not assigned.size:
            return None
        name = self.electrode_names[int(assigned[j])]
        for r in self.recs:
            parts = {r.plus, r.minus}
            if name in parts or (r.minus == "REF" and name in self.ref_mix) \
                    or (r.minus == "LE" and name in ("M1", "M2")) \
                    or el.ALIASES.get(r.plus) == name or el.ALIASES.get(r.minus or "") == name:
                return r.label
        return None
