"""Planted respiratory events and what they do to flow, nasal pressure, effort and SpO2.

Shapes follow the AASM Manual v3 definitions:

* **obstructive apnea**: oronasal thermal flow falls by >= 90 % (to 1-5 % here) for
  10-40 s while effort goes on, growing breath by breath, thorax and abdomen in paradox;
* **central apnea**: flow and effort both absent;
* **mixed apnea**: no effort at first, then effort (paradoxical, growing) resumes while
  flow is still absent;
* **hypopnea**: nasal pressure falls by 35-55 % for >= 10 s; three in four desaturate by
  >= 3 %, the others end in an arousal instead.

Nasal pressure goes with the square of flow (a cannula measures the pressure drop of
turbulent flow), so a hypopnea that halves the pressure lowers thermal flow by ~30 %.
Every event ends with recovery breaths 1.5-2.2x normal size, many with an arousal. SpO2
falls by 3-8 % (less than 3 % for events that do not desaturate) starting during the
event, reaches its nadir 12-28 s after the event ends (the circulation delay from lung to
finger), and recovers within 6-12 s.

Examples
--------
>>> from app.core.synth.planting import Timeline, event_rng
>>> tl = Timeline(np.full(240, 2), 30.0)
>>> evs = plan_respiratory(event_rng(1, "plan"), tl, 20.0, {"alpha_gain": 1.0})
>>> 20 <= len(evs) <= 60, all(10 <= ev.duration <= 40 for ev in evs)
(True, True)
"""

from __future__ import annotations

import dataclasses

import numpy as np

from app.core.synth.arousals import Arousal, draw_arousal
from app.core.synth.planting import Timeline, beta_between

KINDS = ("obstructive_apnea", "central_apnea", "mixed_apnea", "hypopnea")  # EventType values
MIX = (0.45, 0.10, 0.05, 0.40)
STAGE_WEIGHT = (0.0, 1.3, 1.0, 0.35, 1.8)  # W N1 N2 N3 REM: fewest in N3, most in REM
AROUSAL_P = {"obstructive_apnea": 0.65, "central_apnea": 0.35, "mixed_apnea": 0.6,
             "hypopnea": 0.4}
DESAT_P = {"obstructive_apnea": 0.9, "central_apnea": 0.75, "mixed_apnea": 0.9,
           "hypopnea": 0.75}
LEAD = 10.0  # seconds of sleep (steady breathing) before the first event of a sleep bout
PRESSURE_GAIN = 100.0  # nasal pressure, uV, of a normal breath's peak
_FLOW_GAIN = 150.0     # the thermal flow channel's gain (body.resp_signal)


@dataclasses.dataclass(frozen=True)
class RespEvent:
    """One planted respiratory event; times in seconds from the record start."""

    kind: str
    onset: float
    duration: float
    flow: float       # thermal flow amplitude during the event, x the breaths before
    central: float    # seconds without effort from the onset (all of a central apnea)
    recovery: float   # seconds of recovery breaths after the end
    surge: float      # size of the recovery breaths, x normal
    drop: float       # SpO2 fall, percentage points
    fall: float       # seconds from the onset to the start of the SpO2 fall
    lag: float        # seconds from the end to the SpO2 nadir
    resat: float      # seconds from the nadir back to baseline
    arousal: Arousal | None

    @property
    def end(self) -> float:
        return self.onset + self.duration

    @property
    def nadir(self) -> float:
        return self.end + self.lag

    @property
    def desaturates(self) -> bool:
        """Whether the fall counts as a desaturation (>= 3 %, AASM)."""
        return self.drop >= 3.0

    @property
    def pressure_drop(self) -> float:
        """Fall of the nasal pressure amplitude (0-1): pressure goes with flow squared."""
        return 1.0 - self.flow**2

    @property
    def footprint_end(self) -> float:
        stop = self.end + self.recovery
        return max(stop, self.arousal.end) if self.arousal else stop


def plan_respiratory(rng: np.random.Generator, tl: Timeline, index: float, subj: dict,
                     epoch_weight: np.ndarray | None = None) -> list[RespEvent]:
    """Respiratory events at ``index`` per hour of sleep, placed on ``tl`` and taken.

    The count is Poisson around ``index`` x hours of sleep; times are drawn with the
    stage weights (x ``epoch_weight``, e.g. more when supine), then packed in time order
    so that no two events' spans (event, recovery, arousal) overlap and each lies in one
    sleep bout. Severe indices shorten events (a 120/h night has ~10-12 s apneas) so
    they fit; what still does not fit at the end of the night is left out.
    """
    n = int(rng.poisson(index * tl.sleep_hours))
    kinds = rng.choice(len(KINDS), size=n, p=MIX)
    hi = float(np.clip(0.4 * 3600.0 / max(index, 1e-9), 12.0, 40.0))
    dur = beta_between(rng, 10.5, hi, 2.0, 3.0, n)
    times = tl.sample(rng, n, STAGE_WEIGHT, epoch_weight)
    u = rng.random((n, 13)).tolist()  # every draw up front: packing never shifts them
    out: list[RespEvent] = []
    prev = 0.0
    for i in range(n):
        kind = KINDS[int(kinds[i])]
        d = round(float(dur[i]), 2)
        rec = 5.0 + 4.0 * u[i][0]
        desat = u[i][1] < DESAT_P[kind]
        # a hypopnea that does not desaturate is scored by the arousal it ends in
        woke = u[i][2] < (1.0 if kind == "hypopnea" and not desat else AROUSAL_P[kind])
        a_off, a_dur = 2.0 * u[i][3], 3.0 + 9.0 * u[i][4] ** 1.3  # from the termination
        after = max(rec, a_off + a_dur if woke else 0.0) + 1.0
        t = _pack(tl, max(float(times[i]), prev + 3.0 + 5.0 * u[i][5]), d + after)
        if t is None or t + d + 45.0 > tl.duration:  # its SpO2 nadir inside the record
            continue
        t = round(t, 2)
        if kind == "hypopnea":
            flow = float(np.sqrt(1.0 - (0.35 + 0.2 * u[i][6])))
            drop = 3.5 + 2.5 * u[i][7] if desat else 0.5 + 1.5 * u[i][7]
        else:
            flow = 0.01 + 0.04 * u[i][6]
            drop = 4.0 + 4.0 * u[i][7] if desat else 0.5 + 1.5 * u[i][7]
        central = {"central_apnea": d, "mixed_apnea": round(d * (0.3 + 0.3 * u[i][8]), 2)
                   }.get(kind, 0.0)
        lag = 12.0 + 16.0 * u[i][9]
        fall = min(lag * (0.5 + 0.4 * u[i][12]), d + lag - 8.0)  # the fall lasts >= 8 s
        arousal = None
        if woke:
            on = round(t + d + a_off, 2)
            arousal = draw_arousal(rng, on, round(a_dur, 2), "respiratory", tl.stage_at(on),
                                   subj)
        ev = RespEvent(kind, t, d, flow, central, round(rec, 2), 1.5 + 0.7 * u[i][10],
                       round(drop, 2), round(fall, 2), round(lag, 2),
                       round(6.0 + 6.0 * u[i][11], 2), arousal)
        tl.take(t - 1.0, ev.footprint_end + 1.0)
        prev = ev.footprint_end + 1.0
        out.append(ev)
    return out


def _pack(tl: Timeline, t: float, length: float) -> float | None:
    """The first time >= ``t`` where [t - 1, t + length) lies in one sleep bout, at least
    LEAD seconds into it; None past the last bout."""
    while True:
        run = tl.run_after(t - 1.0)
        if run is None:
            return None
        a, b = run
        t = max(t, a + LEAD)
        if t + length <= b:
            return t
        t = b + 1.0


def _ramp(env: np.ndarray, sfreq: float, t0: float, t1: float, v0: float, v1: float) -> None:
    """env over [t0, t1) set to a half-cosine from v0 to v1 (v1 from t1 on is the caller's)."""
    i0, i1 = max(int(round(t0 * sfreq)), 0), min(int(round(t1 * sfreq)), env.size)
    if i1 <= i0:
        return
    u = (np.arange(i0, i1) - t0 * sfreq) / max((t1 - t0) * sfreq, 1.0)
    env[i0:i1] = v0 + (v1 - v0) * 0.5 * (1.0 - np.cos(np.pi * np.clip(u, 0.0, 1.0)))


def _line(env: np.ndarray, sfreq: float, t0: float, t1: float, v0: float, v1: float) -> None:
    i0, i1 = max(int(round(t0 * sfreq)), 0), min(int(round(t1 * sfreq)), env.size)
    if i1 > i0:
        env[i0:i1] = np.linspace(v0, v1, i1 - i0, endpoint=False)


def _recover(env: np.ndarray, sfreq: float, ev: RespEvent, v0: float) -> None:
    """From v0 at the end: up to the recovery breaths within 1 s, back to 1 by the end of
    the recovery."""
    _ramp(env, sfreq, ev.end, ev.end + 1.0, v0, ev.surge)
    _ramp(env, sfreq, ev.end + 1.0, ev.end + ev.recovery, ev.surge, 1.0)


def flow_envelope(events: list[RespEvent], n: int, sfreq: float,
                  base: np.ndarray | None = None) -> np.ndarray:
    """Thermal flow amplitude (x normal) over the night: float32, length ``n``.

    With ``base`` (the flow without events) an event's level is set against the AASM
    baseline, the breaths of the 2 minutes before it outside every event and the 10 s
    after each (in a cluster with less than 20 s of those, all the night's breaths
    there): by flow rms for apneas, by nasal-pressure rms (flow squared) for hypopneas.
    The night's own breath-size changes (irregular in REM) then neither hide nor deepen
    a planted drop.

    Examples
    --------
    >>> ev = RespEvent("obstructive_apnea", 10.0, 12.0, 0.03, 0.0, 6.0, 2.0, 5.0, 8.0,
    ...                20.0, 8.0, None)
    >>> env = flow_envelope([ev], 4000, 100.0)
    >>> float(env[500]), float(env[1500]), float(env[2300]), float(env[3500])
    (1.0, 0.029999999329447746, 2.0, 1.0)
    """
    env = np.ones(n, np.float64)
    quiet = np.ones(n, bool)
    for ev in events:
        quiet[max(int((ev.onset - 2.0) * sfreq), 0): int((ev.end + 10.0) * sfreq)] = False
    for ev in events:
        level = ev.flow
        if base is not None:
            i0, i1 = int(round(ev.onset * sfreq)), int(round(ev.end * sfreq))
            b0, b1 = max(i0 - int(120 * sfreq), 0), max(i0 - int(2 * sfreq), 1)
            before = base[b0:b1][quiet[b0:b1]].astype(np.float64)
            if before.size < 20 * sfreq:  # a cluster: the breaths the night had there
                before = base[b0:b1].astype(np.float64)
            during = base[i0:i1].astype(np.float64)
            if before.size and during.size:
                k = 4 if ev.kind == "hypopnea" else 2  # pressure's rms is flow's 4th moment
                level *= (np.mean(before**k) / max(np.mean(during**k), 1e-12)) ** (1 / k)
        _ramp(env, sfreq, ev.onset - 1.5, ev.onset, 1.0, level)
        _line(env, sfreq, ev.onset, ev.end, level, level)
        _recover(env, sfreq, ev, level)
    return env.astype(np.float32)


def effort_envelopes(events: list[RespEvent], n: int, sfreq: float
                     ) -> tuple[np.ndarray, np.ndarray]:
    """(effort amplitude, abdomen sign) over the night: thorax = effort, abdomen = effort x
    sign, so a sign of -1 is thoraco-abdominal paradox."""
    eff, sign = np.ones(n, np.float64), np.ones(n, np.float64)
    for ev in events:
        if ev.kind == "hypopnea":
            _ramp(eff, sfreq, ev.onset - 1.5, ev.onset, 1.0, 0.85)
            _line(eff, sfreq, ev.onset, ev.end, 0.85, 0.85)
            _recover(eff, sfreq, ev, 0.85)
            continue
        start = ev.onset + ev.central  # where obstructed effort begins
        first = 0.03 if ev.central > 0 else 0.7
        _ramp(eff, sfreq, ev.onset - 1.5, ev.onset, 1.0, first)
        if ev.central > 0:
            _line(eff, sfreq, ev.onset, start, 0.03, 0.03)
        if ev.central < ev.duration:  # effort against a closed airway, breath by breath larger
            _ramp(eff, sfreq, start, min(start + 1.0, ev.end), first, 0.7)
            _line(eff, sfreq, min(start + 1.0, ev.end), ev.end, 0.7, 1.4)
            _ramp(sign, sfreq, start, min(start + 3.0, ev.end), 1.0, -1.0)
            _line(sign, sfreq, min(start + 3.0, ev.end), ev.end, -1.0, -1.0)
            _ramp(sign, sfreq, ev.end, ev.end + 1.5, -1.0, 1.0)
        _recover(eff, sfreq, ev, 1.4 if ev.central < ev.duration else 0.03)
    return eff.astype(np.float32), sign.astype(np.float32)


def nasal_pressure(flow: np.ndarray) -> np.ndarray:
    """Cannula pressure (uV) from thermal flow (uV): sign(f) f^2, a normal breath ~100.

    Examples
    --------
    >>> nasal_pressure(np.array([150.0, -75.0, 0.0])).tolist()
    [100.0, -25.0, 0.0]
    """
    f = flow.astype(np.float32) / np.float32(_FLOW_GAIN)
    return np.float32(PRESSURE_GAIN) * np.sign(f) * f * f


def oximetry(events: list[RespEvent], level: np.ndarray, sfreq: float,
             rng: np.random.Generator) -> np.ndarray:
    """SpO2 (%) = ``level`` (the night's slow baseline, per sample) minus each event's
    fall (linear to the nadir, half-cosine back), with an oximeter's slow noise
    (~0.15 % sd, 3-s averaging); at most 100."""
    n = level.size
    step = 10.0  # the shapes on a 10-Hz grid, then interpolated: cheap for an 8-h night
    g = np.zeros(int(np.ceil((n / sfreq + 60.0) * step)))  # + 60 s: falls past the end
    for ev in events:  # += : a fall that starts before the last one recovered adds to it
        t0, tn = ev.onset + ev.fall, ev.nadir
        i0, i1 = int(round(t0 * step)), int(round(tn * step))
        g[i0:i1] -= ev.drop * (np.arange(i1 - i0) / max(i1 - i0, 1))
        i2 = int(round((tn + ev.resat) * step))
        u = (np.arange(i1, i2) / step - tn) / ev.resat
        g[i1:i2] -= ev.drop * 0.5 * (1.0 + np.cos(np.pi * u))
    sec = rng.normal(0.0, 0.25, g.size // int(step) + 2)
    sec = np.convolve(sec, np.ones(3) / 3.0, mode="same")
    g += np.interp(np.arange(g.size) / step, np.arange(sec.size), sec)
    x = level.astype(np.float64) + np.interp(np.arange(n) / sfreq, np.arange(g.size) / step, g)
    return np.minimum(x, 100.0).astype(np.float32)
