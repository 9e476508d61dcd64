"""Synthetic, labelled polysomnography with planted events (tests, demo, default model).

Each 30-s epoch's signals follow its stage (AASM Manual v2.6 definitions): posterior alpha,
blinks and high chin tone in W; theta, slow eye movements and vertex waves in N1;
spindles and K-complexes in N2; frontal high-amplitude delta in N3; low-voltage mixed
activity, sawtooth waves, rapid eye movements and atonia in REM. Backgrounds are
spectrally shaped noise generated per epoch and cross-faded, so stage features ramp at
boundaries; every discrete event is recorded as a :class:`PlantedEvent`.

Everything is drawn from one ``numpy.random.Generator`` seeded by ``seed``: the same
seed gives byte-identical arrays and EDF files. Amplitudes are microvolts as seen on a
mastoid-referenced clinical montage; the constants below give their sources.

Examples
--------
>>> study = synthesize(hours=0.25, seed=1, sfreq=100.0)
>>> study.ch_names[:3], study.data.shape
(['F4-M1', 'C4-M1', 'O2-M1'], (7, 90000))
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from pathlib import Path
from typing import Any

import numpy as np

from app.core.synth.signals import (  # noqa: F401 (PlantedEvent and MONTAGES are public here)
    ALPHA_RMS,
    BAND_TOPO,
    BANDS,
    CHANNELS,
    EDF_STAGE_TEXT,
    EMG_REL,
    EYE_SIGN,
    MONTAGES,
    RESP_REL,
    STAGE_RMS,
    TOPO,
    PlantedEvent,
    add_events,
    band_shapes,
    check_inputs,
    draw_subject,
    ecg_signal,
    epoch_envelope,
    event_list,
    line_noise,
    plant_all,
    resp_signal,
    scatter,
    shaped_noise,
    slow_envelope,
    wave,
    wrapped_sin,
)


@dataclasses.dataclass
class SynthStudy:
    """A synthetic recording: data (n_channels, n_samples) float32, microvolts (SpO2 %)."""

    data: np.ndarray
    ch_names: list[str]
    ch_types: list[str]
    sfreq: float
    stages: np.ndarray
    events: list[PlantedEvent]
    subject: dict[str, Any]
    start_time: _dt.datetime
    epoch_sec: float = 30.0

    @property
    def n_epochs(self) -> int:
        return int(self.stages.size)

    @property
    def units(self) -> list[str]:
        """Physical unit per channel: '%' for SpO2, 'uV' otherwise."""
        return ["%" if t == "misc" else "uV" for t in self.ch_types]




def sample_hypnogram(n_epochs: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
    """Draw a realistic stage sequence (0 W, 1 N1, 2 N2, 3 N3, 4 REM).

    Uses the semi-Markov night model estimated from real DOD-H hypnograms
    (:mod:`app.core.scoring.priors`): wake before sleep onset, NREM/REM cycles with more N3 early
    and more REM late, and some wake at the end.

    Parameters
    ----------
    n_epochs : int
        Number of 30-s epochs (960 for 8 hours).
    rng : numpy.random.Generator or int or None
        Random generator, or a seed for one.

    Returns
    -------
    numpy.ndarray of int64

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




def synthesize(
    stages: np.ndarray | None = None,
    *,
    hours: float | None = None,
    seed: int = 0,
    sfreq: float = 256.0,
    montage: str = "aasm",
    epoch_sec: float = 30.0,
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
        Sampling rate of every channel, at least 64 Hz.
    montage : {"aasm", "full", "sleep-edf"}
        Channel set: 7 AASM channels, 16 channels (adds left EEG, legs, respiration,
        SpO2) or the 4 Sleep-EDF channels.
    epoch_sec : float
        Epoch length in seconds.

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
    rng = np.random.Generator(np.random.SFC64(int(seed)))  # SFC64: ~2x faster normals
    subj = draw_subject(rng, int(seed))
    start = _dt.datetime(2024, 1, 1, 22, 0) + _dt.timedelta(
        days=int(rng.integers(0, 365)), minutes=int(rng.integers(0, 90)))
    if given is None:
        from app.core.scoring.priors import sample_night

        given = sample_night(n_ep, rng)
    st = np.where(given < 0, 0, given)
    sfreq = float(sfreq)
    e, xfade = int(round(sfreq * epoch_sec)), int(2 * sfreq)
    n, names, ramp = e * n_ep, MONTAGES[montage], int(sfreq)
    f32 = np.float32

    # Epoch-level band rms: stage table x subject x per-epoch jitter, mixed with the
    # neighbouring epochs so features ramp at stage changes (real boundaries are fuzzy).
    rms = STAGE_RMS[st] * np.exp(rng.normal(0, 0.15, (n_ep, len(BANDS))))
    swa = subj["delta_gain"] * (1.15 - 0.3 * (np.arange(n_ep) + 0.5) / n_ep)  # SWA decays overnight
    rms[:, 1:3] *= swa[:, None]
    padded = np.pad(rms, ((1, 1), (0, 0)), mode="edge")
    rms = subj["eeg_gain"] * (0.8 * rms + 0.1 * padded[:-2] + 0.1 * padded[2:])
    shapes = band_shapes(e + xfade, sfreq, BANDS, subj)
    one = np.ones((n_ep, 1))
    planted = plant_all(rng, st, e, sfreq, epoch_sec, subj)

    def trace(*kinds: str) -> np.ndarray:
        out = np.zeros(n, dtype=np.float32)
        for k in kinds:
            add_events(out, planted[k][0], planted[k][3])
        return out

    # Sources shared by channels: background, alpha, event traces, eye movements.
    glob = shaped_noise(rng, rms**2, shapes, e, xfade)
    alpha = shaped_noise(rng, one, band_shapes(e + xfade, sfreq, ("alpha",), subj), e, xfade)
    alpha *= epoch_envelope(0.4 * ALPHA_RMS[st] * subj["alpha_gain"], e, ramp) + trace("alpha")
    shared = np.stack([alpha, trace("spindle"), trace("k_complex", "delta"), trace("vertex"),
                       trace("sawtooth"), trace("blink")])
    eye = trace("saccade", "rem", "slow_eye")
    mv_starts, mv_d, _, mv_w = planted["movement"]
    mv_t = np.arange(mv_w.shape[1]) / sfreq
    mv_eeg = [scatter(n, mv_starts, wave("delta", rng, mv_t, mv_d, subj) * 4.0)
              for _ in range(2)]
    eog_common = shaped_noise(rng, (rms * np.take(TOPO["E1"], BAND_TOPO)) ** 2, shapes, e, xfade)
    emg_shape = band_shapes(e + xfade, sfreq, ("emg",), subj)
    line = line_noise(subj["line_freq"], sfreq, n)
    resp_rate = slow_envelope(subj["resp_rate"] * RESP_REL[st]
                               * np.exp(rng.normal(0, 0.05, n_ep)), e)
    breaths = np.cumsum(resp_rate / (60.0 * sfreq), dtype=np.float64)
    resp_sin = wrapped_sin(breaths)
    resp_cos = wrapped_sin(breaths, 0.25) if "Thorax" in names else None
    ecg = ecg_signal(rng, subj, st, e, sfreq, breaths, resp_sin)

    pop_starts, _, pop_ep, pop_w = planted["pop"]
    eeg_eog = [c for c in names if CHANNELS[c][0] in ("eeg", "eog")]
    pop_ch = rng.integers(0, max(len(eeg_eog), 1), pop_ep.size)
    data = np.empty((len(names), n), dtype=np.float32)
    by_site: dict[str, np.ndarray] = {}
    for i, name in enumerate(names):
        kind, site = CHANNELS[name]
        if kind in ("eeg", "eog"):
            topo = np.asarray(TOPO[site])
            if site not in by_site:  # all event traces of a site in one BLAS call
                by_site[site] = topo[5:].astype(f32) @ shared
            x = shaped_noise(rng, (rms * topo[BAND_TOPO]) ** 2, shapes, e, xfade)
            x *= f32(0.8)
            x += f32(0.6) * (eog_common if kind == "eog" else glob)
            x += by_site[site]
            if kind == "eog":
                x += f32(EYE_SIGN[site] * (1.6 if site == "Ehor" else 1.0)) * eye
            g = rng.uniform(-1, 1, 3)
            x += f32(g[0]) * mv_eeg[0] + f32(g[1]) * mv_eeg[1]
            x += f32(0.004 + 0.002 * g[2]) * ecg  # cardiac field on mastoid-referenced leads
            mine = pop_ch == eeg_eog.index(name)
            add_events(x, pop_starts[mine], pop_w[mine])
        elif kind == "emg":
            x = shaped_noise(rng, one, emg_shape, e, xfade)
            if site == "chin":
                tone = subj["emg_tone"] * EMG_REL[st] * np.exp(rng.normal(0, 0.2, n_ep))
                x *= epoch_envelope(tone, e, ramp) + trace("twitch", "movement")
                # Chin leads also pick up ECG, EEG and electrode noise; with low tone
                # (sleep) these slow components dominate, as in real recordings.
                floor = np.array([[rng.uniform(3, 5), rng.uniform(2, 4), 0, 0, 0, 0]]) ** 2
                x += shaped_noise(rng, np.repeat(floor, n_ep, 0), shapes, e, xfade)
                x += f32(rng.uniform(0.002, 0.008)) * ecg + f32(0.05) * glob
            else:
                side = planted["leg_movement"]  # one leg per movement: LAT even epochs
                mine = side[2] % 2 == (0 if name == "LAT" else 1)
                x *= f32(rng.uniform(1.5, 3.0)) + scatter(n, side[0][mine], side[3][mine]) \
                    + f32(0.5) * trace("movement")
        elif kind == "ecg":
            x = ecg.copy()
        elif kind == "resp":
            x = resp_signal(rng, name, st, e, ramp, resp_sin, resp_cos)
        else:  # SpO2 in percent: slow drift, slightly lower in REM
            level = subj["spo2"] - 0.5 * (st == 4) + rng.normal(0, 0.3, n_ep)
            x = np.minimum(slow_envelope(level, e), f32(100.0))
        if kind in ("eeg", "eog", "emg", "ecg"):
            x += f32(subj["line_amp"] * rng.uniform(0.3, 1.0)) * line
        data[i] = x
    events = event_list(planted, names, eeg_eog, pop_ch, sfreq)
    return SynthStudy(data=data, ch_names=list(names), ch_types=[CHANNELS[c][0] for c in names],
                      sfreq=sfreq, stages=given.copy(), events=events, subject=subj,
                      start_time=start, epoch_sec=float(epoch_sec))




def write_edf(study: SynthStudy, path: str | Path) -> Path:
    """Write ``study`` as an EDF+ file with stage annotations.

    Each signal gets a symmetric physical range just wider than its data (so the 16-bit
    quantisation step is max|x| / 32767), units 'uV' ('%' for SpO2), and the annotation
    channel holds "Lights off", one "Sleep stage ..." per bout (AASM names, W/N1/N2/N3/R;
    unscored epochs as "Sleep stage ?") and "Lights on".

    Examples
    --------
    >>> import tempfile, os
    >>> study = synthesize([0, 2, 4], seed=0, sfreq=100.0)
    >>> out = write_edf(study, os.path.join(tempfile.mkdtemp(), "s.edf"))
    >>> out.suffix
    '.edf'
    """
    import edfio

    path = Path(path)
    if not path.parent.is_dir():
        raise ValueError(f"Folder {path.parent} does not exist; create it or choose another path.")
    signals = []
    for x, name, unit in zip(study.data, study.ch_names, study.units):
        peak = float(np.max(np.abs(x))) if x.size else 1.0
        lim = float(np.ceil(max(peak, 1.0) * 1.001 * 100) / 100)  # 2 decimals, >= data
        signals.append(edfio.EdfSignal(
            x.astype(np.float64), sampling_frequency=study.sfreq, label=name,
            transducer_type="synthetic", physical_dimension=unit,
            physical_range=(-lim, lim)))
    ep = study.epoch_sec
    change = np.flatnonzero(np.diff(study.stages)) + 1
    starts = np.concatenate(([0], change))
    ends = np.concatenate((change, [study.stages.size]))
    text = {k: v for k, v in enumerate(EDF_STAGE_TEXT)} | {-1: "Sleep stage ?"}
    annotations = [edfio.EdfAnnotation(0.0, None, "Lights off")]
    annotations += [edfio.EdfAnnotation(float(a * ep), float((b - a) * ep),
                                        text[int(study.stages[a])]) for a, b in zip(starts, ends)]
    annotations.append(edfio.EdfAnnotation(float(study.stages.size * ep), None, "Lights on"))
    subj = study.subject
    birth = _dt.date(study.start_time.year - subj["age"], 1, 1)
    record = 1.0 if float(study.sfreq).is_integer() else ep
    edf = edfio.Edf(
        signals,
        patient=edfio.Patient(code=f"SYNTH-{subj['seed']}", sex="M" if subj["male"] else "F",
                              birthdate=birth, name="Synthetic_Subject"),
        recording=edfio.Recording(startdate=study.start_time.date(),
                                  hospital_administration_code="PSG-Lens",
                                  investigator_technician_code="synth",
                                  equipment_code="app.core.synth"),
        starttime=study.start_time.time(), data_record_duration=record,
        annotations=annotations)
    edf.write(path)
    return path


def make_study_file(path: str | Path, *, hours: float = 8, seed: int = 0, montage: str = "aasm",
                    stages: np.ndarray | None = None, sfreq: float = 256.0) -> SynthStudy:
    """Synthesize a night and write it to ``path`` as EDF+; returns the study.

    ``stages`` overrides ``hours`` when given.

    Examples
    --------
    >>> import tempfile, os
    >>> s = make_study_file(os.path.join(tempfile.mkdtemp(), "n.edf"), hours=0.1, sfreq=100.0)
    >>> s.n_epochs
    12
    """
    study = synthesize(stages, hours=None if stages is not None else hours, seed=seed,
                       sfreq=sfreq, montage=montage)
    write_edf(study, path)
    return study
