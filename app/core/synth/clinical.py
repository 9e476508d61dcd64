"""Clinical ground truth in a synthetic night: the plan, the channels it needs, its signals,
and the scored events (:class:`app.core.scoring.events.Event`) a detector is measured by.

:class:`ClinicalNight` plans respiratory events (:mod:`.respiratory`), limb movements
(:mod:`.limbs`), arousals (:mod:`.arousals`) and body position changes on the night's
:class:`~app.core.synth.planting.Timeline`, then shapes the night as
:func:`app.core.synth.synthesize` makes it: the EEG and chin electrodes, the montage's
flow, effort, SpO2 and leg channels, and the channels it adds when the montage lacks them:

* with respiratory events: ``Airflow`` (oronasal thermal flow), ``Nasal Pressure``,
  ``Thorax``, ``Abdomen``, ``SpO2`` (%) and ``Position`` (codes in :data:`POSITIONS`);
* with limb movements: ``Leg L`` and ``Leg R`` (anterior tibialis EMG), unless the
  montage has ``LAT``/``RAT``, which then carry them.

Examples
--------
>>> from app.core.synth.montages import recipes
>>> from app.core.synth.planting import EventIndices
>>> cn = ClinicalNight(EventIndices(apnea=20), np.full(120, 2), 100.0, 30.0,
...                    {"alpha_gain": 1.0, "alpha_freq": 10.0, "emg_tone": 10.0,
...                     "spo2": 96.0}, 0, recipes("aasm"))
>>> [r.label for r in cn.added]
['Airflow', 'Nasal Pressure', 'Thorax', 'Abdomen', 'SpO2', 'Position']
"""

from __future__ import annotations

import numpy as np

from app.core.scoring.events import Event, EventSource, EventType, check_event, sort_events
from app.core.synth import electrodes as el
from app.core.synth.acquisition import Acquisition, output_rate, record
from app.core.synth.arousals import ArousalWaves, plan_spontaneous
from app.core.synth.body import resp_signal
from app.core.synth.limbs import leg_envelope, plan_limbs
from app.core.synth.montages import ChannelRecipe
from app.core.synth.noise import shaped_noise, slow_envelope
from app.core.synth.planting import EventIndices, SynthEventError, Timeline, event_rng
from app.core.synth.respiratory import (
    effort_envelopes,
    flow_envelope,
    nasal_pressure,
    oximetry,
    plan_respiratory,
)

# Position channel codes (the value is the index): no single EDF convention exists.
POSITIONS = ("supine", "left", "right", "prone", "upright")
SUPINE_WEIGHT = 2.0  # positional OSA: respiratory events twice as likely supine
# EDF+ annotation texts: the spellings of common PSG software exports.
ANNOTATION = {
    EventType.OBSTRUCTIVE_APNEA: "Obstructive Apnea", EventType.CENTRAL_APNEA: "Central Apnea",
    EventType.MIXED_APNEA: "Mixed Apnea", EventType.HYPOPNEA: "Hypopnea",
    EventType.DESATURATION: "SpO2 desaturation", EventType.AROUSAL: "Arousal",
    EventType.LIMB_MOVEMENT: "Limb Movement", EventType.POSITION_CHANGE: "Body Position",
}
SCORER = "psg-lens synth"
_SIDES = (("left", "LAT", "Leg L"), ("right", "RAT", "Leg R"))
_RESP = (("Airflow", "Airflow", "resp", "uV"), ("NasalPressure", "Nasal Pressure", "resp", "uV"),
         ("Thorax", "Thorax", "resp", "uV"), ("Abdomen", "Abdomen", "resp", "uV"),
         ("SpO2", "SpO2", "misc", "%"), ("Position", "Position", "misc", ""))
_PART = {"Airflow": 0, "Thorax": 1, "Abdomen": 2, "SpO2": 3, "LAT": 4, "RAT": 5}


def edf_annotations(events: list[Event]) -> list[tuple[float, float | None, str]]:
    """(onset, duration, text) EDF+ annotations of planted events: one per leg for a
    bilateral limb movement, "Body Position: Left" for a change to the left side.

    Examples
    --------
    >>> ev = Event(EventType.LIMB_MOVEMENT, 10.0, 2.0, ("Leg L", "Leg R"),
    ...            detail={"legs": "both"})
    >>> edf_annotations([ev])
    [(10.0, 2.0, 'Limb Movement (Left)'), (10.0, 2.0, 'Limb Movement (Right)')]
    """
    out: list[tuple[float, float | None, str]] = []
    for ev in events:
        text = ANNOTATION.get(ev.type, ev.type.label)
        if ev.type is EventType.LIMB_MOVEMENT:
            legs = ev.detail.get("legs", "both")
            out += [(ev.onset, ev.duration, f"{text} ({side.capitalize()})")
                    for side, _, _ in _SIDES if legs in (side, "both")]
        elif ev.type is EventType.POSITION_CHANGE:
            out.append((ev.onset, None, f"{text}: {ev.detail['to'].capitalize()}"))
        else:
            out.append((ev.onset, ev.duration, text))
    return out


class ClinicalNight:
    """The planted clinical events of one night and the signals they shape.

    Raises :class:`~app.core.synth.planting.SynthEventError` when the night has no sleep
    (events are planted in sleep only).
    """

    def __init__(self, indices: EventIndices, stages: np.ndarray, sfreq: float,
                 epoch_sec: float, subj: dict, seed: int,
                 recs: tuple[ChannelRecipe, ...]) -> None:
        self.indices, self.sfreq, self.subj, self.seed = indices, sfreq, subj, int(seed)
        self.epoch_sec, self.stages = float(epoch_sec), np.asarray(stages)
        self.n = int(round(sfreq * epoch_sec)) * self.stages.size
        tl = Timeline(self.stages, epoch_sec)
        if tl.sleep_hours <= 0:
            raise SynthEventError("This night has no sleep epochs, so no events can be "
                                  "planted in it; give a longer night or a hypnogram with sleep.")
        self.sleep_hours = tl.sleep_hours
        rng = event_rng(seed, "plan")
        has_resp = indices.apnea > 0
        self.position0, self.changes = _plan_positions(rng, self.stages, self.epoch_sec) \
            if has_resp else (0, [])
        supine = np.where(self.position_codes(self.stages.size, self.epoch_sec) == 0,
                          SUPINE_WEIGHT, 1.0)
        self.resp = plan_respiratory(rng, tl, indices.apnea, subj, supine) if has_resp else []
        self.limbs = plan_limbs(rng, tl, indices.plm) if indices.plm > 0 else []
        spont = plan_spontaneous(rng, tl, indices.arousal, subj) if indices.arousal else []
        self.arousals = sorted(spont + [e.arousal for e in self.resp if e.arousal],
                               key=lambda a: a.onset)
        self.waves = ArousalWaves(
            self.arousals, sfreq, subj, event_rng(seed, "cortex"),
            lambda site: event_rng(seed, "chin", el.CHIN_SITES.index(site))) \
            if self.arousals else None
        have = {r.plus: r.label for r in recs}
        self.added = [ChannelRecipe(label, kind, plus, unit=unit) for plus, label, kind, unit
                      in _RESP if has_resp and plus not in have]
        if indices.plm > 0:
            self.added += [ChannelRecipe(label, "emg", plus) for _, plus, label in _SIDES
                           if plus not in have]
        self.labels = have | {r.plus: r.label for r in self.added}
        self.eeg = tuple(r.label for r in recs if r.kind == "eeg")
        self.chin = next((r.label for r in recs if r.plus in el.CHIN_SITES), None)
        self.base_flow: np.ndarray | None = None
        self._env: dict[str, np.ndarray] = {}

    # -- the night's own signals, shaped ------------------------------------------------
    def cortex(self, name: str, x: np.ndarray) -> None:
        """In place: the arousals on one electrode's potential (scalp or chin)."""
        if self.waves is None:
            return
        if name in el.CHIN_SITES:
            self.waves.chin(name, x)
        elif el.is_scalp(name):
            self.waves.electrode(name, x)

    def _envelope(self, plus: str) -> np.ndarray:
        if plus not in self._env:
            if plus == "Airflow":  # against the night's flow: the first Airflow made
                self._env[plus] = flow_envelope(self.resp, self.n, self.sfreq, self.base_flow)
            else:
                eff, sign = effort_envelopes(self.resp, self.n, self.sfreq)
                self._env |= {"Thorax": eff, "Abdomen": eff * sign}
        return self._env[plus]

    def breathing(self, plus: str, x: np.ndarray) -> np.ndarray:
        """A flow or effort signal (``plus``: Airflow, Thorax, Abdomen) with the events."""
        if self.indices.apnea <= 0:
            return x
        if plus == "Airflow" and self.base_flow is None:
            self.base_flow = x
        return x * self._envelope(plus)

    def spo2(self, level: np.ndarray) -> np.ndarray:
        """The oximeter's trace over a night's slow SpO2 baseline (percent per sample)."""
        if self.indices.apnea <= 0:
            return level
        return oximetry(self.resp, level, self.sfreq, event_rng(self.seed, "breathing", 8))

    @property
    def has_legs(self) -> bool:
        """Whether the legs carry planted movements only (the night's own are left out)."""
        return self.indices.plm > 0

    def leg(self, plus: str) -> np.ndarray:
        """The limb movements' EMG rms above rest on LAT (left) or RAT (right), uV."""
        side = "left" if plus == "LAT" else "right"
        return leg_envelope(self.limbs, side, self.n, self.sfreq)

    def position_codes(self, n: int, per_sec: float) -> np.ndarray:
        """Position code of each of ``n`` points ``per_sec`` seconds apart, mid-point."""
        t = (np.arange(n) + 0.5) * per_sec
        codes = np.full(n, self.position0, np.float32)
        for when, code in self.changes:
            codes[t >= when] = code
        return codes

    # -- channels the montage lacks -----------------------------------------------------
    def extra_channels(self, night, acq: Acquisition) -> list:
        """The added channels as :class:`~app.core.synth.night.SynthChannel` objects."""
        from app.core.synth.night import SynthChannel

        out = []
        for r in self.added:
            x = self._make(r.plus, night)
            rate = output_rate(r, acq, self.sfreq)
            out.append(SynthChannel(r.label, r.kind, record(x, self.sfreq, r, acq, rate),
                                    rate, r.unit))
        return out

    def _make(self, plus: str, night) -> np.ndarray:
        st, e = night.st, night.e
        rng = event_rng(self.seed, "legs" if plus in ("LAT", "RAT") else "breathing",
                        _PART.get(plus, 9))
        if plus in ("Airflow", "Thorax", "Abdomen"):
            x = resp_signal(rng, plus, st, e, night.ramp, night.resp_sin, night.resp_cos)
            return self.breathing(plus, x)
        if plus == "NasalPressure":
            if self.base_flow is None:  # no thermal flow made yet: the cannula's own
                self._make("Airflow", night)
            return nasal_pressure(self.base_flow * self._envelope("Airflow"))
        if plus == "SpO2":  # the montage's recipe: a slow level, a little lower in REM
            level = self.subj["spo2"] - 0.5 * (st == 4) + rng.normal(0, 0.3, st.size)
            return self.spo2(np.minimum(slow_envelope(level, e), np.float32(100.0)))
        if plus == "Position":
            return self.position_codes(self.n, 1.0 / self.sfreq)
        # anterior tibialis: resting EMG, the movements, mains hum as on every EMG
        x = shaped_noise(rng, np.ones((st.size, 1)), night.emg_shape, e, night.xfade)
        x *= np.float32(rng.uniform(1.5, 3.0)) + self.leg(plus)
        x += np.float32(self.subj["line_amp"] * rng.uniform(0.3, 1.0)) * night.line
        return x

    # -- the truth ----------------------------------------------------------------------
    def truth(self, channel_names: list[str]) -> list[Event]:
        """Every planted clinical event as an :class:`Event` (source imported, scorer
        "psg-lens synth, seed N"), checked against the record and its channels."""
        kw = {"source": EventSource.IMPORTED, "scorer": f"{SCORER}, seed {self.seed}",
              "text": "planted"}
        lab = self.labels
        out = []
        for ev in self.resp:
            hyp = ev.kind == "hypopnea"
            detail = {"desaturation_pct": ev.drop, "arousal": ev.arousal is not None}
            detail |= ({"pressure_drop_pct": round(100 * ev.pressure_drop, 1)} if hyp else
                       {"flow_drop_pct": round(100 * (1 - ev.flow), 1)})
            if ev.kind == "mixed_apnea":
                detail["central_s"] = ev.central
            out.append(Event(EventType(ev.kind), ev.onset, ev.duration,
                             (lab["NasalPressure"] if hyp else lab["Airflow"],), detail=detail,
                             **kw))
            if ev.desaturates:
                t0 = round(ev.onset + ev.fall, 2)
                out.append(Event(EventType.DESATURATION, t0, round(ev.nadir - t0, 2),
                                 (lab["SpO2"],), detail={"drop_pct": ev.drop, "after": ev.kind,
                                                         "event_onset": ev.onset,
                                                         "nadir_s": round(ev.nadir, 2)}, **kw))
        for a in self.arousals:
            chans = self.eeg + ((self.chin,) if a.chin and self.chin else ())
            out.append(Event(EventType.AROUSAL, a.onset, a.duration, chans,
                             detail={"cause": a.cause, "rhythm": a.rhythm, "chin": a.chin}, **kw))
        for m in self.limbs:
            chans = tuple(lab[plus] for side, plus, _ in _SIDES if m.on(side))
            out.append(Event(EventType.LIMB_MOVEMENT, m.onset, m.duration, chans,
                             detail={"series": m.series, "legs": m.legs,
                                     "amplitude_uv": m.amplitude}, **kw))
        before = self.position0
        for when, code in self.changes:
            out.append(Event(EventType.POSITION_CHANGE, when, 0.0, (lab["Position"],),
                             detail={"from": POSITIONS[before], "to": POSITIONS[code]}, **kw))
            before = code
        record_sec = self.stages.size * self.epoch_sec
        return [check_event(ev, recording_sec=record_sec, channel_names=channel_names)
                for ev in sort_events(out)]


def _plan_positions(rng: np.random.Generator, stages: np.ndarray, epoch_sec: float
                    ) -> tuple[int, list[tuple[float, int]]]:
    """The first position and 2 + Poisson(3) changes, in wake epochs (people turn over
    when they wake), those within the sleep period first."""
    start = int(rng.choice(4, p=(0.5, 0.22, 0.22, 0.06)))
    sleep = np.flatnonzero(stages >= 1)
    wake = np.flatnonzero(stages == 0)
    inside = wake[(wake > sleep[0]) & (wake < sleep[-1])] if sleep.size else wake
    k = 2 + int(rng.poisson(3.0))
    pool = inside if inside.size >= k else wake
    if pool.size == 0:
        return start, []
    eps = np.sort(rng.choice(pool, size=min(k, pool.size), replace=False))
    changes, code = [], start
    for ep in eps:
        p = np.array([0.45, 0.25, 0.25, 0.05])
        p[code] = 0.0
        code = int(rng.choice(4, p=p / p.sum()))
        changes.append((round(float((ep + rng.uniform(0.2, 0.8)) * epoch_sec), 2), code))
    return start, changes
