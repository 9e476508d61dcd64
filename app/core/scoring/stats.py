"""AASM sleep statistics, each with the definition the report prints under its table.

All statistics are computed inside the *recording period*: from lights off (inclusive)
to lights on (exclusive), in epochs. Without lights marks the whole hypnogram is the
recording period, as in YASA. Counting rules for the two non-stage codes:

- **Artifact** (movement time, unreadable signal) and **Unscored** epochs are never
  sleep and never wake: they are excluded from TST and WASO, but they count in the
  clock-time spans (TRT, SPT, latencies), so efficiency drops when they are many.
- Before sleep onset they simply pass as time (SOL is a clock-time latency).
- An Artifact or Unscored epoch interrupts a run of Wake (awakenings), a run of sleep
  (persistent sleep) and is skipped when counting stage transitions.

Examples
--------
>>> from app.core.scoring.hypnogram import Hypnogram
>>> from app.core.scoring.stats import sleep_statistics
>>> hyp = Hypnogram.from_labels(["W", "W", "N1", "N2", "N2", "W", "N2", "REM", "REM", "W"])
>>> s = sleep_statistics(hyp)
>>> s.trt_min, s.tst_min, s.sol_min, s.waso_min, s.rem_latency_min
(5.0, 3.0, 1.0, 0.5, 2.5)
>>> round(s.sleep_efficiency_pct, 1)
60.0
>>> s.n_awakenings
1
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass

import numpy as np

from app.core.scoring.hypnogram import Hypnogram
from app.core.scoring.stages import Stage
from app.errors import PSGLensError

#: Minutes of uninterrupted sleep that make sleep "persistent" (latency to persistent sleep).
PERSISTENT_SLEEP_MIN = 10.0
#: Shortest Wake run counted by ``n_awakenings_1min``.
LONG_AWAKENING_MIN = 1.0


# Plain ints: Stage attribute access is slow in a per-night hot loop.
_W, _N1, _N2, _N3, _REM = (int(s) for s in (Stage.W, Stage.N1, Stage.N2, Stage.N3, Stage.REM))
_UNS, _ART = int(Stage.UNSCORED), int(Stage.ARTIFACT)


class StatisticsError(PSGLensError, ValueError):
    """Sleep statistics cannot be computed for this hypnogram or these lights marks."""


@dataclass(frozen=True)
class Definition:
    """What one statistic means, as printed under the report's table."""

    key: str
    label: str
    unit: str
    text: str


def _d(key: str, label: str, unit: str, text: str) -> tuple[str, Definition]:
    return key, Definition(key, label, unit, text)


DEFINITIONS: dict[str, Definition] = dict([
    _d("lights_off_epoch", "Lights off (epoch)", "epoch",
       "Index (0-based) of the first epoch of the recording period; the first epoch of the "
       "hypnogram unless set by the technician."),
    _d("lights_on_epoch", "Lights on (epoch)", "epoch",
       "Index (0-based) of the epoch at which the recording period ends (exclusive); the end "
       "of the hypnogram unless set by the technician."),
    _d("lights_off_time", "Lights off", "clock",
       "Clock time of lights off (hypnogram start time plus lights-off epochs); undefined (—) when "
       "the start time is unknown."),
    _d("lights_on_time", "Lights on", "clock",
       "Clock time of lights on; undefined (—) when the start time is unknown."),
    _d("trt_min", "Total recording time (TRT, time in bed)", "min",
       "Time from lights off to lights on, all epochs included."),
    _d("tst_min", "Total sleep time (TST)", "min",
       "Time scored N1, N2, N3 or REM between lights off and lights on; Artifact and "
       "Unscored epochs are not sleep."),
    _d("spt_min", "Sleep period time (SPT)", "min",
       "Time from the first to the end of the last sleep epoch, every epoch in between "
       "included (Wake, Artifact, Unscored too); 0 without sleep."),
    _d("sol_min", "Sleep onset latency (SOL)", "min",
       "Time from lights off to the first epoch of any sleep stage; undefined (—) without sleep."),
    _d("lps_min", "Latency to persistent sleep (LPS)", "min",
       "Time from lights off to the first epoch of the first 10 consecutive minutes of "
       "sleep (any stages; an Artifact or Unscored epoch breaks the run); undefined (—) if none."),
    _d("rem_latency_min", "REM latency (from sleep onset)", "min",
       "Time from the first sleep epoch to the first REM epoch (AASM definition); undefined "
       "(—) without REM."),
    _d("rem_latency_lights_off_min", "REM latency from lights off", "min",
       "Time from lights off to the first REM epoch (= SOL + REM latency); undefined (—) without REM."),
    _d("waso_min", "Wake after sleep onset (WASO)", "min",
       "Wake time from sleep onset until the LAST sleep epoch (wake after final awakening "
       "is not included); Artifact and Unscored epochs are not wake; undefined (—) without sleep."),
    _d("sleep_efficiency_pct", "Sleep efficiency (SE)", "%",
       "TST / TRT x 100."),
    _d("sleep_maintenance_efficiency_pct", "Sleep maintenance efficiency (SME)", "%",
       "TST / SPT x 100; undefined (—) without sleep."),
    _d("w_spt_min", "W in SPT", "min",
       "Wake time inside the sleep period; equal to WASO because WASO ends at the last "
       "sleep epoch. Listed so that stage minutes plus Artifact and Unscored add up to SPT."),
    _d("n1_min", "N1", "min", "Time scored N1 in the recording period."),
    _d("n2_min", "N2", "min", "Time scored N2 in the recording period."),
    _d("n3_min", "N3", "min", "Time scored N3 (R&K stages 3 and 4) in the recording period."),
    _d("rem_min", "REM", "min", "Time scored REM in the recording period."),
    _d("nrem_min", "NREM", "min", "N1 + N2 + N3."),
    _d("n1_pct", "N1 % TST", "%", "N1 time as a percentage of TST; undefined (—) without sleep."),
    _d("n2_pct", "N2 % TST", "%", "N2 time as a percentage of TST; undefined (—) without sleep."),
    _d("n3_pct", "N3 % TST", "%", "N3 time as a percentage of TST; undefined (—) without sleep."),
    _d("rem_pct", "REM % TST", "%", "REM time as a percentage of TST; undefined (—) without sleep."),
    _d("nrem_pct", "NREM % TST", "%", "NREM time as a percentage of TST; undefined (—) without sleep."),
    _d("artifact_min", "Artifact", "min",
       "Time marked Artifact (movement time, unreadable signal) in the recording period; "
       "counted as neither sleep nor wake."),
    _d("unscored_min", "Unscored", "min",
       "Time left Unscored in the recording period; counted as neither sleep nor wake, "
       "never as Wake."),
    _d("artifact_spt_min", "Artifact in SPT", "min", "Artifact time inside the sleep period."),
    _d("unscored_spt_min", "Unscored in SPT", "min", "Unscored time inside the sleep period."),
    _d("n_awakenings", "Awakenings", "count",
       "Number of runs of one or more consecutive Wake epochs inside the SPT (an Artifact "
       "or Unscored epoch ends a run)."),
    _d("n_awakenings_1min", "Awakenings >= 1 min", "count",
       "Number of such Wake runs lasting at least 1 minute (2 epochs of 30 s)."),
    _d("n_stage_transitions", "Stage transitions", "count",
       "Number of changes of stage (W, N1, N2, N3, REM) between consecutive scored epochs "
       "inside the SPT; Artifact and Unscored epochs are skipped over."),
    _d("stage_shift_index", "Stage-shift index", "/h",
       "Stage transitions per hour of TST; undefined (—) without sleep."),
])


@dataclass(frozen=True)
class SleepStatistics:
    """The AASM report set; see :data:`DEFINITIONS` for each field's meaning.

    Durations are minutes, percentages 0-100, ``None`` where undefined (no sleep, no REM).
    """

    lights_off_epoch: int
    lights_on_epoch: int
    lights_off_time: dt.datetime | None
    lights_on_time: dt.datetime | None
    trt_min: float
    tst_min: float
    spt_min: float
    sol_min: float | None
    lps_min: float | None
    rem_latency_min: float | None
    rem_latency_lights_off_min: float | None
    waso_min: float | None
    sleep_efficiency_pct: float
    sleep_maintenance_efficiency_pct: float | None
    w_spt_min: float
    n1_min: float
    n2_min: float
    n3_min: float
    rem_min: float
    nrem_min: float
    n1_pct: float | None
    n2_pct: float | None
    n3_pct: float | None
    rem_pct: float | None
    nrem_pct: float | None
    artifact_min: float
    unscored_min: float
    artifact_spt_min: float
    unscored_spt_min: float
    n_awakenings: int
    n_awakenings_1min: int
    n_stage_transitions: int
    stage_shift_index: float | None
    epoch_sec: float = 30.0

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-able values (clock times as ISO strings), in :data:`DEFINITIONS` order,
        then ``epoch_sec``."""
        out = asdict(self)
        for key in ("lights_off_time", "lights_on_time"):
            value = out[key]
            out[key] = None if value is None else value.isoformat()
        return out

    def format(self, key: str) -> str:
        """One value as the report prints it ("—" where undefined)."""
        value = getattr(self, key)
        unit = DEFINITIONS[key].unit
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "—"
        if isinstance(value, dt.datetime):
            return value.strftime("%H:%M:%S")
        if unit in ("count", "epoch"):
            return str(int(value))
        return f"{value:.1f}"


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starts and lengths of the runs of True in a boolean array."""
    padded = np.concatenate(([False], mask, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    starts, stops = edges[::2], edges[1::2]
    return starts, stops - starts


def _check_lights(n: int, off: int | None, on: int | None) -> tuple[int, int]:
    if n == 0:
        raise StatisticsError("The hypnogram is empty: there is no epoch to compute sleep "
                              "statistics from.")
    off = 0 if off is None else int(off)
    on = n if on is None else int(on)
    if not 0 <= off < n:
        raise StatisticsError(f"Lights off (epoch {off}) lies outside the hypnogram's "
                              f"{n} epochs (0-{n - 1}).")
    if not 0 < on <= n:
        raise StatisticsError(f"Lights on (epoch {on}) lies outside the hypnogram's "
                              f"{n} epochs (1-{n}).")
    if off >= on:
        raise StatisticsError(f"Lights off (epoch {off}) must come before lights on "
                              f"(epoch {on}); check the two marks.")
    return off, on


def sleep_statistics(hyp: Hypnogram, *, lights_off_epoch: int | None = None,
                     lights_on_epoch: int | None = None) -> SleepStatistics:
    """Compute the AASM sleep statistics of one hypnogram.

    Parameters
    ----------
    hyp : Hypnogram
        The scored night; its ``epoch_sec`` and ``start_time`` are used.
    lights_off_epoch : int, optional
        First epoch of the recording period (0-based, inclusive). Default: 0.
    lights_on_epoch : int, optional
        End of the recording period (0-based, exclusive). Default: the number of epochs.
        Sleep outside [lights off, lights on) is ignored.

    Returns
    -------
    SleepStatistics
        Durations in minutes; see :data:`DEFINITIONS` for each statistic's definition.

    Raises
    ------
    StatisticsError
        For an empty hypnogram, or lights marks outside it or in the wrong order.

    Examples
    --------
    >>> from app.core.scoring.hypnogram import Hypnogram
    >>> hyp = Hypnogram.from_labels(["W", "N1", "N2", "Unscored", "N2", "W", "W", "REM", "W"])
    >>> s = sleep_statistics(hyp, lights_off_epoch=0, lights_on_epoch=9)
    >>> s.spt_min, s.tst_min, s.waso_min, s.unscored_spt_min, s.n_awakenings_1min
    (3.5, 2.0, 1.0, 0.5, 1)
    """
    off, on = _check_lights(hyp.n_epochs, lights_off_epoch, lights_on_epoch)
    ep_min = hyp.epoch_sec / 60.0
    s = hyp.stages[off:on].astype(np.int16)
    is_sleep = s >= _N1  # N1, N2, N3, REM are 1..4; Artifact and Unscored are negative
    idx_sleep = np.flatnonzero(is_sleep)
    has_sleep = idx_sleep.size > 0
    if has_sleep:
        first, last = int(idx_sleep[0]), int(idx_sleep[-1])
        spt = s[first:last + 1]
    else:
        first, last, spt = 0, -1, s[:0]
    # Minutes per code, indexed by code + 2 (Artifact -2 .. REM 4), in TRT and in SPT.
    in_trt = np.bincount(s + 2, minlength=7) * ep_min
    in_spt = np.bincount(spt + 2, minlength=7) * ep_min
    trt = s.size * ep_min
    tst = idx_sleep.size * ep_min
    spt_min = spt.size * ep_min

    idx_rem = np.flatnonzero(s == _REM)
    rem_from_off = float(idx_rem[0]) * ep_min if idx_rem.size else None

    # Persistent sleep: the threshold rounded up to whole epochs (20 epochs of 30 s).
    starts, lengths = _runs(is_sleep)
    need = math.ceil(PERSISTENT_SLEEP_MIN / ep_min - 1e-9)
    long_runs = starts[lengths >= need]
    lps = float(long_runs[0]) * ep_min if long_runs.size else None

    _, wake_lengths = _runs(spt == _W)
    need_wake = math.ceil(LONG_AWAKENING_MIN / ep_min - 1e-9)

    scored = spt[spt >= 0]
    n_trans = int(np.count_nonzero(np.diff(scored)))

    n1, n2, n3, rem = (float(in_trt[c + 2]) for c in (_N1, _N2, _N3, _REM))
    nrem = n1 + n2 + n3

    def pct(minutes: float) -> float | None:
        return 100.0 * minutes / tst if has_sleep else None

    def at(epoch: int) -> dt.datetime | None:
        if hyp.start_time is None:
            return None
        return hyp.start_time + dt.timedelta(seconds=epoch * hyp.epoch_sec)

    waso = float(in_spt[_W + 2])
    return SleepStatistics(
        lights_off_epoch=off, lights_on_epoch=on,
        lights_off_time=at(off), lights_on_time=at(on),
        trt_min=trt, tst_min=tst, spt_min=spt_min,
        sol_min=first * ep_min if has_sleep else None,
        lps_min=lps,
        rem_latency_min=None if rem_from_off is None else rem_from_off - first * ep_min,
        rem_latency_lights_off_min=rem_from_off,
        waso_min=waso if has_sleep else None,
        sleep_efficiency_pct=100.0 * tst / trt,
        sleep_maintenance_efficiency_pct=100.0 * tst / spt_min if has_sleep else None,
        w_spt_min=waso,
        n1_min=n1, n2_min=n2, n3_min=n3, rem_min=rem, nrem_min=nrem,
        n1_pct=pct(n1), n2_pct=pct(n2), n3_pct=pct(n3), rem_pct=pct(rem), nrem_pct=pct(nrem),
        artifact_min=float(in_trt[_ART + 2]), unscored_min=float(in_trt[_UNS + 2]),
        artifact_spt_min=float(in_spt[_ART + 2]), unscored_spt_min=float(in_spt[_UNS + 2]),
        n_awakenings=int(wake_lengths.size),
        n_awakenings_1min=int(np.count_nonzero(wake_lengths >= need_wake)),
        n_stage_transitions=n_trans,
        stage_shift_index=n_trans / (tst / 60.0) if has_sleep else None,
        epoch_sec=hyp.epoch_sec,
    )
