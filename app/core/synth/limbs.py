"""Planted limb movements on the anterior tibialis EMG (AASM Manual v3 leg-movement rules).

A limb movement (LM) is a burst 0.5-10 s long whose EMG rises >= 8 uV above the resting
level (here 12-40 uV rms on a 1.5-3 uV rest). A PLM series is >= 4 LMs whose onsets are
5-90 s apart (here mostly 20-40 s; shorter for severe indices, so they fit), all in one
sleep bout; isolated LMs lie > 90 s from any other so they never join a series. One LM
in five is bilateral (both legs, one movement as AASM counts it). LMs avoid respiratory
events and arousals (an LM within 0.5 s of a respiratory event is not a PLM), and are
rarer in N3 and REM.

Examples
--------
>>> from app.core.synth.planting import Timeline, event_rng
>>> tl = Timeline(np.full(480, 2), 30.0)
>>> lms = plan_limbs(event_rng(4, "plan"), tl, 30.0)
>>> members = [m for m in lms if m.series is not None]
>>> len(members) >= 4, all(0.5 <= m.duration <= 10 for m in lms)
(True, True)
"""

from __future__ import annotations

import dataclasses

import numpy as np

from app.core.synth.planting import Timeline, beta_between

STAGE_WEIGHT = (0.0, 1.3, 1.2, 0.6, 0.25)  # W N1 N2 N3 REM: REM atonia spares the legs
LEGS = ("left", "right", "both")
LEG_P = (0.4, 0.4, 0.2)
APART = 90.0  # seconds: LMs closer than this (onset to onset) make a series
_EDGE = 0.1


@dataclasses.dataclass(frozen=True)
class LimbMovement:
    """One LM: ``amplitude`` is the EMG rms above rest (uV); ``series`` numbers its PLM
    series from 1 (None: isolated)."""

    onset: float
    duration: float
    legs: str
    amplitude: float
    series: int | None

    @property
    def end(self) -> float:
        return self.onset + self.duration

    def on(self, side: str) -> bool:
        return self.legs in (side, "both")


def plan_limbs(rng: np.random.Generator, tl: Timeline, index: float) -> list[LimbMovement]:
    """PLM series with Poisson(``index`` x hours of sleep) LMs in all (4 + Poisson(8) a
    series; one cut short by what is taken keeps its first >= 4), and isolated LMs at
    0.2 x ``index`` + 1 per hour; placed on ``tl`` and taken."""
    mean_gap = float(np.clip(1800.0 / max(index, 1e-9), 10.0, 30.0))
    out: list[LimbMovement] = []
    onsets: list[float] = []
    left = int(rng.poisson(index * tl.sleep_hours))
    tries = 25 * (left // 12 + 1)
    while left >= 4 and tries > 0:
        tries -= 1
        length = min(4 + int(rng.poisson(8.0)), left)
        length = left if left - length < 4 else length  # no remainder too short for a series
        start = tl.sample(rng, 1, STAGE_WEIGHT)
        got = _series(rng, tl, float(start[0]), length, mean_gap, onsets) if start.size \
            else None
        if got:
            k = 1 + max((m.series for m in out), default=0)
            out += [dataclasses.replace(m, series=k) for m in got]
            left -= len(got)
    n_iso = int(rng.poisson((0.2 * index + 1.0) * tl.sleep_hours))
    for _ in range(n_iso):
        times = tl.sample(rng, 30, STAGE_WEIGHT)
        for t in times[rng.permutation(times.size)]:
            t = round(float(t), 2)
            m = _draw(rng, t, None)
            if _near(onsets, t) or not tl.free(t - 0.5, m.end + 0.5):
                continue
            tl.take(t - 0.5, m.end + 0.5)
            onsets.append(t)
            out.append(m)
            break
    return sorted(out, key=lambda m: m.onset)


def _draw(rng: np.random.Generator, onset: float, series: int | None) -> LimbMovement:
    d = round(float(beta_between(rng, 0.5, 10.0, 1.5, 4.0)), 2)
    return LimbMovement(onset, d, LEGS[int(rng.choice(3, p=LEG_P))],
                        round(float(rng.uniform(12.0, 40.0)), 2), series)


def _near(onsets: list[float], t0: float, t1: float | None = None) -> bool:
    """Whether an LM already planted starts within APART s of [t0, t1]."""
    t1 = t0 if t1 is None else t1
    return any(t0 - APART <= o <= t1 + APART for o in onsets)


def _series(rng: np.random.Generator, tl: Timeline, start: float, length: int,
            mean_gap: float, onsets: list[float]) -> list[LimbMovement] | None:
    """Up to ``length`` LMs of one series from ``start`` (each slid up to 45 s later past
    what is taken), in one sleep bout and apart from other LMs; None (nothing taken) when
    fewer than 4 fit."""
    run = tl.run_after(start)
    if run is None or start < run[0]:
        return None
    got: list[LimbMovement] = []
    t = start
    for _ in range(length):
        m, lm = None, _draw(rng, t, 0)
        for shift in np.arange(0.0, 45.0, 0.5):  # slid past a respiratory event
            s = round(t + shift, 2)
            if got and s - got[-1].onset > 88.0:  # AASM: 90 s at most, onset to onset
                break
            if got and s - got[-1].onset < max(5.5, got[-1].duration + 1.5):
                continue
            if s + lm.duration + 0.5 <= run[1] and tl.free(s - 0.5, s + lm.duration + 0.5):
                m = dataclasses.replace(lm, onset=s)
                break
        if m is None:
            break
        got.append(m)
        t = m.onset + float(np.clip(rng.normal(mean_gap, 0.2 * mean_gap), 0.4 * mean_gap, 85.0))
    if len(got) < 4 or _near(onsets, got[0].onset, got[-1].onset):
        return None
    for m in got:
        tl.take(m.onset - 0.5, m.end + 0.5)
        onsets.append(m.onset)
    return got


def leg_envelope(lms: list[LimbMovement], side: str, n: int, sfreq: float) -> np.ndarray:
    """The LMs' EMG rms above rest on one leg (uV), float32 of length ``n``: a plateau at
    the LM's amplitude with 0.1-s edges."""
    env = np.zeros(n, np.float32)
    for m in lms:
        if not m.on(side):
            continue
        i0, i1 = int(round(m.onset * sfreq)), min(int(round(m.end * sfreq)), n)
        t = (np.arange(i0, i1) - i0) / sfreq
        env[i0:i1] = m.amplitude * np.clip(np.minimum(t, m.duration - t) / _EDGE, 0.0, 1.0)
    return env
