"""Planted clinical events: ground truth for event detectors.

The flags are checked first; counts follow the asked indices; every shape meets its AASM
definition when measured on the signal as a scorer would (flow and pressure drops against
the 2 minutes before, effort, SpO2 nadir lag, leg EMG amplitude, PLM intervals, arousal
band power); the truth reads back from the EDF+ file and the JSON; and the default night
is byte for byte what it was before events existed.
"""

from __future__ import annotations

import collections
import hashlib
import json

import numpy as np
import pytest
from scipy import signal

from app.cli import main
from app.core.scoring.events import Event, EventSource, EventType
from app.core.signals.recording import Recording
from app.core.synth import (
    POSITIONS,
    EventIndices,
    SynthEventError,
    edf_annotations,
    sample_hypnogram,
    synthesize,
    write_edf,
)
from app.core.synth.clinical import ClinicalNight
from app.core.synth.montages import recipes

SF = 256.0
INDICES = EventIndices(apnea=30, plm=25, arousal=15)
# A short night that sleeps from its second epoch (the EDF and CLI tests).
SHORT = np.array([0] * 2 + [2] * 30 + [4] * 16 + [3] * 8 + [1] * 2 + [0] * 2)


@pytest.fixture(scope="module")
def night():
    """A 3-h night with moderate OSA, PLMs and arousals, at 256 Hz (EMG up to 100 Hz)."""
    return synthesize(hours=3, seed=5, sfreq=SF, indices=INDICES)


def _x(study, name: str) -> np.ndarray:
    return study.channels[study.ch_names.index(name)].data.astype(np.float64)


def _i(t: float) -> int:
    return int(round(t * SF))


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x * x)))


def _of(study, *types: EventType) -> list[Event]:
    return [e for e in study.truth if e.type in types]


RESP = (EventType.OBSTRUCTIVE_APNEA, EventType.CENTRAL_APNEA, EventType.MIXED_APNEA,
        EventType.HYPOPNEA)


def _baseline(study, name: str, ev: Event) -> np.ndarray:
    """The samples of the 2 minutes before ``ev`` outside every respiratory event and the
    10 s after each (the AASM pre-event baseline of stable breathing)."""
    x = _x(study, name)
    quiet = np.ones(x.size, bool)
    for e in _of(study, *RESP):
        quiet[_i(e.onset - 2): _i(e.end + 10)] = False
    b0, b1 = max(_i(ev.onset - 120), 0), _i(ev.onset - 2)
    return x[b0:b1][quiet[b0:b1]]


def _drop(study, name: str, ev: Event, a: float | None = None, b: float | None = None) -> float:
    """1 - rms over [a, b] (default: the event) / rms of its baseline."""
    x = _x(study, name)
    a = ev.onset if a is None else a
    b = ev.end if b is None else b
    return 1.0 - _rms(x[_i(a):_i(b)]) / _rms(_baseline(study, name, ev))


# -- the flags ----------------------------------------------------------------------------
@pytest.mark.parametrize("flag, value, words", [
    ("--apnea-index", "-1", "apnea index must be a number from 0 to 120"),
    ("--apnea-index", "121", "not 121"),
    ("--apnea-index", "nan", "not nan"),
    ("--plm-index", "151", "PLM index must be a number from 0 to 150"),
    ("--plm-index", "-0.5", "not -0.5"),
    ("--arousal-index", "1000", "arousal index must be a number from 0 to 100"),
    ("--arousal-index", "inf", "not inf"),
])
def test_bad_indices_are_one_sentence_before_any_work(tmp_path, capsys, flag, value, words):
    rc = main(["synth", "--hours", "8", flag, value, "-o", str(tmp_path / "n.edf")])
    err = capsys.readouterr().err
    assert rc == 2 and words in err and "Traceback" not in err, err
    assert err.strip().count(". ") == 0 and err.strip().endswith(".")  # one sentence
    assert not list(tmp_path.iterdir())  # nothing written, nothing made


@pytest.mark.parametrize("kwargs", [{"apnea": True}, {"plm": "many"}, {"arousal": None},
                                    {"apnea": 200.0}])
def test_event_indices_refuse_what_is_not_a_rate(kwargs):
    with pytest.raises(SynthEventError, match="events per hour of sleep"):
        EventIndices(**kwargs)


def test_synthesize_refuses_other_indices_and_nights_without_sleep():
    with pytest.raises(SynthEventError, match="EventIndices"):
        synthesize([2, 2], seed=0, sfreq=64.0, indices={"apnea": 5})
    with pytest.raises(SynthEventError, match="no sleep epochs"):
        synthesize([0, 0, 0, -1], seed=0, sfreq=64.0, indices=EventIndices(arousal=5))
    assert isinstance(SynthEventError("x"), ValueError)  # synthesize's contract


# -- counts -------------------------------------------------------------------------------
def test_counts_follow_the_indices_over_whole_nights():
    """Poisson around index x hours of sleep, on six 8-h nights: each within 4 sd, and
    all six together within 3 sd (the plan alone: no signals needed to count)."""
    subj = {"alpha_gain": 1.0, "alpha_freq": 10.0, "emg_tone": 10.0, "spo2": 96.0}
    totals = collections.Counter()
    by_stage = {"resp": collections.Counter(), "lm": collections.Counter(),
                "minutes": collections.Counter()}
    for seed in range(6):
        st = sample_hypnogram(960, rng=seed)
        cn = ClinicalNight(INDICES, st, 128.0, 30.0, subj, seed, recipes("aasm"))
        by_stage["minutes"].update({int(k): v / 2 for k, v in zip(*np.unique(st, return_counts=True))})
        by_stage["resp"].update(int(st[int(e.onset // 30)]) for e in cn.resp)
        by_stage["lm"].update(int(st[int(m.onset // 30)]) for m in cn.limbs)
        pos = cn.position_codes(st.size, 30.0)[st >= 1]  # per sleep epoch
        supine = sum(pos[np.searchsorted(np.flatnonzero(st >= 1), int(e.onset // 30))] == 0
                     for e in cn.resp)
        totals["supine"] += supine / max((pos == 0).sum(), 1)
        totals["other"] += (len(cn.resp) - supine) / max((pos != 0).sum(), 1)
        hours = float((st >= 1).sum()) * 30 / 3600
        assert cn.sleep_hours == pytest.approx(hours)
        got = {"apnea": len(cn.resp), "plm": sum(m.series is not None for m in cn.limbs),
               "arousal": sum(a.cause == "spontaneous" for a in cn.arousals)}
        for kind, n in got.items():
            lam = getattr(INDICES, kind) * hours
            assert abs(n - lam) <= 4 * np.sqrt(lam), (seed, kind, n, lam)
            totals[kind] += n
            totals[kind + "_expected"] += lam
    for kind in ("apnea", "plm", "arousal"):
        lam = totals[kind + "_expected"]
        assert abs(totals[kind] - lam) <= 3 * np.sqrt(lam), (kind, totals[kind], lam)
    per_min = {k: {s: by_stage[k][s] / by_stage["minutes"][s] for s in range(5)}
               for k in ("resp", "lm")}
    assert per_min["resp"][0] == per_min["lm"][0] == 0  # never in wake
    # respiratory events: most in REM, more in N1/N2 than N3; legs: fewest in REM (atonia)
    assert per_min["resp"][4] > per_min["resp"][2] > per_min["resp"][3]
    assert per_min["resp"][1] > per_min["resp"][3]
    assert per_min["lm"][2] > per_min["lm"][3] > per_min["lm"][4]
    assert totals["supine"] > 1.3 * totals["other"]  # positional: more when supine


def test_the_study_lists_what_it_planted(night):
    kinds = collections.Counter(e.type for e in night.truth)
    hours = float((night.stages >= 1).sum()) * 30 / 3600
    resp = sum(kinds[t] for t in RESP)
    assert abs(resp - 30 * hours) <= 4 * np.sqrt(30 * hours)
    assert kinds[EventType.OBSTRUCTIVE_APNEA] > kinds[EventType.CENTRAL_APNEA] > 0
    assert kinds[EventType.HYPOPNEA] > 0 and kinds[EventType.DESATURATION] > 0
    assert kinds[EventType.AROUSAL] > 15 * hours * 0.5  # spontaneous + respiratory
    assert kinds[EventType.LIMB_MOVEMENT] > 25 * hours * 0.5
    assert all(e.source is EventSource.IMPORTED and e.scorer == "psg-lens synth, seed 5"
               for e in night.truth)
    assert set(night.ch_names[7:]) == {"Airflow", "Nasal Pressure", "Thorax", "Abdomen",
                                       "SpO2", "Position", "Leg L", "Leg R"}


def test_events_lie_in_sleep_and_never_overlap(night):
    """Respiratory events, arousals and limb movements: in epochs staged 1-4 and apart
    (desaturations run on after their event; position changes are in wake)."""
    timed = sorted((e for e in night.truth if e.type not in
                    (EventType.DESATURATION, EventType.POSITION_CHANGE)), key=lambda e: e.onset)
    for a, b in zip(timed, timed[1:]):
        assert a.end <= b.onset, (a, b)
    for e in timed:
        ep = night.stages[int(e.onset // 30): int(np.ceil(e.end / 30))]
        assert ep.size and np.all(ep >= 1), e


# -- respiratory shapes -------------------------------------------------------------------
def test_apneas_flow_falls_90_percent_and_effort_tells_the_kind(night):
    obstructive = _of(night, EventType.OBSTRUCTIVE_APNEA)
    central = _of(night, EventType.CENTRAL_APNEA)
    for e in _of(night, EventType.OBSTRUCTIVE_APNEA, EventType.CENTRAL_APNEA,
                 EventType.MIXED_APNEA):
        assert 10 <= e.duration <= 40
        assert _drop(night, "Airflow", e) >= 0.9, e
        assert e.detail["flow_drop_pct"] >= 90
    growth = []
    for e in obstructive:  # effort goes on, grows, thorax and abdomen in paradox
        assert _drop(night, "Thorax", e) < 0.5
        late, early = (_rms(_x(night, "Thorax")[_i(a):_i(b)]) for a, b in
                       ((e.end - 5, e.end), (e.onset, e.onset + 5)))
        growth.append(late / early)
        seg = slice(_i(e.onset + 3), _i(e.end))
        assert np.corrcoef(_x(night, "Thorax")[seg], _x(night, "Abdomen")[seg])[0, 1] < -0.5
    # the night's own breath-size changes can hide the growth of one, never of most
    assert np.median(growth) > 1.3 and np.mean(np.array(growth) > 1.0) >= 0.9
    for e in central:  # no effort either
        assert _drop(night, "Thorax", e) >= 0.9 and _drop(night, "Abdomen", e) >= 0.9
    for e in _of(night, EventType.MIXED_APNEA):  # no effort first, effort before flow
        cut = e.onset + e.detail["central_s"]
        assert _drop(night, "Thorax", e, e.onset, cut - 0.5) >= 0.9
        assert _drop(night, "Thorax", e, cut + 1.5, e.end) < 0.5
    # recovery breaths after the event are larger than the baseline
    big = [_drop(night, "Airflow", e, e.end + 0.5, e.end + 4) for e in obstructive]
    assert np.median(big) < -0.3


def test_hypopneas_nasal_pressure_falls_30_to_60_percent_with_a_desaturation_or_arousal(night):
    hyp = _of(night, EventType.HYPOPNEA)
    desats = _of(night, EventType.DESATURATION)
    arousals = _of(night, EventType.AROUSAL)
    assert len(hyp) >= 10
    measured = 0
    for e in hyp:
        assert e.duration >= 10 and e.channels == ("Nasal Pressure",)
        assert _drop(night, "Airflow", e) < 0.5  # thermal flow falls less (sqrt of pressure)
        if _baseline(night, "Airflow", e).size >= 30 * SF:  # not inside a cluster
            assert 0.3 <= _drop(night, "Nasal Pressure", e) <= 0.6, e
            measured += 1
        desat = any(d.detail["event_onset"] == e.onset and d.onset >= e.onset
                    and d.detail["drop_pct"] >= 3 for d in desats)
        woke = any(e.end <= a.onset <= e.end + 3 and a.detail["cause"] == "respiratory"
                   for a in arousals)
        assert desat or woke, e
        assert desat == (e.detail["desaturation_pct"] >= 3) and woke == e.detail["arousal"]
    assert measured >= len(hyp) / 2


def test_desaturations_reach_their_nadir_10_to_30_s_after_the_event(night):
    spo2 = np.convolve(_x(night, "SpO2"), np.ones(int(SF)) / SF, mode="same")  # 1-s mean
    resp = sorted(_of(night, *RESP), key=lambda e: e.onset)
    by_event = {d.detail["event_onset"]: d for d in _of(night, EventType.DESATURATION)}
    checked = 0
    for prev, ev, nxt in zip(resp, resp[1:], resp[2:]):
        if ev.onset not in by_event or nxt.onset < ev.end + 45 or prev.end + 45 > ev.onset:
            continue  # a neighbour's fall would share the window
        d = by_event[ev.onset]
        win = spo2[_i(ev.end): _i(ev.end + 40)]
        lag = np.argmin(win) / SF
        assert 10 <= lag <= 30, (ev, lag)
        assert abs(d.end - (ev.end + lag)) <= 5  # the truth ends at the nadir (noise: a
        # slow fall's minimum moves by seconds)
        before = np.median(spo2[_i(ev.onset - 10): _i(d.onset)])
        assert before - win.min() >= 3
        # oximeter noise and the baseline's own drift (lower in REM)
        assert abs(before - win.min() - d.detail["drop_pct"]) <= 1.5
        checked += 1
    assert checked >= 5
    quiet = _x(night, "SpO2")[: _i(resp[0].onset - 60)]
    assert 94 <= np.median(_x(night, "SpO2")) <= 99 and 0.02 < np.std(np.diff(quiet[::256])) < 0.5


# -- limb movements -----------------------------------------------------------------------
def test_limb_movements_rise_8_uv_above_rest_in_series_of_4_with_5_to_90_s_intervals(night):
    lms = _of(night, EventType.LIMB_MOVEMENT)
    for leg in ("Leg L", "Leg R"):
        x = signal.sosfiltfilt(signal.butter(4, 10, "highpass", fs=SF, output="sos"),
                               _x(night, leg))
        away = np.ones(x.size, bool)
        for e in lms:
            away[_i(e.onset - 1): _i(e.end + 1)] = False
        sec = x[: x.size // 256 * 256].reshape(-1, 256)
        rest = float(np.median(np.sqrt((sec**2).mean(1))[away[: sec.size].reshape(-1, 256).all(1)]))
        assert 1.0 < rest < 4.0  # a few uV at rest
        for e in (e for e in lms if leg in e.channels):
            assert 0.5 <= e.duration <= 10
            assert _rms(x[_i(e.onset):_i(e.end)]) - rest >= 8, e
    series = collections.defaultdict(list)
    for e in lms:
        series[e.detail["series"]].append(e.onset)
    members = [v for k, v in series.items() if k is not None]
    assert len(members) >= 3 and all(len(v) >= 4 for v in members)
    gaps = np.concatenate([np.diff(sorted(v)) for v in members])
    assert gaps.min() >= 5 and gaps.max() <= 90 and 20 <= np.median(gaps) <= 40
    onsets = np.array(sorted(e.onset for e in lms))
    for t in series[None]:  # isolated: no other LM within 90 s
        assert np.sum(np.abs(onsets - t) <= 90) == 1
    assert {e.detail["legs"] for e in lms} == {"left", "right", "both"}


# -- arousals -----------------------------------------------------------------------------
def _band(x: np.ndarray, lo: float, hi: float) -> float:
    f, p = signal.welch(x, fs=SF, nperseg=min(x.size, int(2 * SF)))
    return float(p[(f >= lo) & (f < hi)].sum())


def test_arousals_shift_the_eeg_to_faster_frequencies_and_raise_the_chin_in_rem(night):
    arousals = _of(night, EventType.AROUSAL)
    assert {a.detail["cause"] for a in arousals} == {"spontaneous", "respiratory"}
    assert all(3 <= a.duration <= 15 for a in arousals)
    near = np.zeros(night.n_epochs * 3, bool)  # 10-s windows within 15 s of an arousal
    for a in arousals:
        near[int((a.onset - 15) // 10): int((a.end + 15) // 10) + 1] = True
    stage10 = np.repeat(night.stages, 3)
    ratios = {}  # (4-30 Hz) / (0.5-4 Hz) power: the arousal over its stage's background
    for name in ("C4-M1", "O2-M1"):
        eeg = _x(night, name)
        fast = [_band(w, 4, 30) / _band(w, 0.5, 4) for w in eeg.reshape(-1, int(10 * SF))]
        background = {s: np.median(np.array(fast)[(stage10 == s) & ~near]) for s in (1, 2, 3, 4)
                      if np.any((stage10 == s) & ~near)}
        ratios[name] = np.array([
            _band(eeg[_i(a.onset):_i(a.end)], 4, 30) / _band(eeg[_i(a.onset):_i(a.end)], 0.5, 4)
            / background[int(night.stages[int(a.onset // 30)])] for a in arousals])
    # every arousal the night's own movement artefacts and pops leave readable shows on a
    # central or occipital lead (where AASM scores them)
    clear = np.array([not any(e.kind in ("movement", "pop", "sweat") and e.onset < a.end
                              and a.onset < e.onset + e.duration for e in night.events)
                      for a in arousals])
    assert clear.mean() > 0.9
    assert np.maximum(ratios["C4-M1"], ratios["O2-M1"])[clear].min() >= 2
    assert np.median(ratios["C4-M1"]) >= 4 and np.mean(ratios["C4-M1"] >= 2) >= 0.9
    chin = signal.sosfiltfilt(signal.butter(4, 10, "highpass", fs=SF, output="sos"),
                              _x(night, "Chin1-Chin2"))
    rem = [a for a in arousals if night.stages[int(a.onset // 30)] == 4]
    assert rem and all(a.detail["chin"] and "Chin1-Chin2" in a.channels for a in rem)
    # REM atonia: the median 1-s chin rms over the night's REM epochs
    rem_epochs = chin.reshape(night.n_epochs, -1)[night.stages == 4].reshape(-1, int(SF))
    atonia = float(np.median(np.sqrt((rem_epochs**2).mean(1))))
    for a in rem:
        during = max(_rms(chin[i: i + int(SF)]) for i in range(_i(a.onset), _i(a.end) - int(SF),
                                                              int(SF / 4)))
        assert during > 2 * atonia, a


def test_position_channel_steps_at_each_change(night):
    pos = _x(night, "Position")
    assert set(np.unique(pos)) <= set(range(len(POSITIONS)))
    changes = _of(night, EventType.POSITION_CHANGE)
    steps = np.flatnonzero(np.diff(pos)) + 1
    assert len(changes) >= 2 and len(steps) == len(changes)
    for e, k in zip(changes, steps):
        assert abs(k / SF - e.onset) <= 1 / SF
        assert POSITIONS[int(pos[k])] == e.detail["to"] != e.detail["from"]
        assert night.stages[int(e.onset // 30)] == 0  # people turn over awake


# -- files --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def short_night():
    return synthesize(SHORT, seed=2, sfreq=100.0,
                      indices=EventIndices(apnea=40, plm=40, arousal=20))


def test_edf_annotations_read_back_as_the_truth(short_night, tmp_path):
    write_edf(short_night, tmp_path / "n.edf")
    rec = Recording.open(tmp_path / "n.edf")
    got = collections.Counter((round(o, 3), t) for o, _, t in rec.annotations()
                              if not t.startswith(("Sleep stage", "Lights")))
    want = collections.Counter((round(o, 3), t) for o, _, t in edf_annotations(short_night.truth))
    assert got == want and sum(got.values()) >= len(short_night.truth)
    texts = {t for _, t in got}
    assert {"Obstructive Apnea", "Hypopnea", "SpO2 desaturation", "Arousal",
            "Limb Movement (Left)", "Limb Movement (Right)"} <= texts
    assert texts <= {"Obstructive Apnea", "Central Apnea", "Mixed Apnea", "Hypopnea",
                     "SpO2 desaturation", "Arousal", "Limb Movement (Left)",
                     "Limb Movement (Right)"} | {f"Body Position: {p.capitalize()}"
                                                 for p in POSITIONS}
    durations = {(round(o, 3), t): d for o, d, t in rec.annotations()}
    for e in _of(short_night, EventType.OBSTRUCTIVE_APNEA, EventType.AROUSAL):
        text = "Arousal" if e.type is EventType.AROUSAL else "Obstructive Apnea"
        assert durations[(round(e.onset, 3), text)] == pytest.approx(e.duration, abs=1e-6)
    assert set(rec.ch_names) >= {"Nasal Pressure", "SpO2", "Leg L", "Position"}


def test_cli_writes_the_truth_beside_the_study_and_to_events(tmp_path, capsys):
    hyp = tmp_path / "h.txt"
    hyp.write_text("\n".join(("W", "N1", "N2", "N3", "R")[s] for s in SHORT))
    args = ["synth", "--hypnogram", str(hyp), "--seed", "2", "--apnea-index", "40",
            "--plm-index", "40", "--arousal-index", "20"]
    assert main(args + ["-o", str(tmp_path / "n.edf"), "--events", str(tmp_path / "n.tsv")]) == 0
    out = capsys.readouterr().out
    assert "respiratory events (AHI" in out and "n.events.json" in out
    truth = [Event.from_dict(d) for d in json.loads((tmp_path / "n.events.json").read_text())]
    study = synthesize(SHORT, seed=2, indices=EventIndices(apnea=40, plm=40, arousal=20))
    assert truth == study.truth and [e.detail for e in truth] == [e.detail for e in study.truth]
    rows = (tmp_path / "n.tsv").read_text().splitlines()
    assert rows[0] == "kind\tchannel\tonset\tduration\tepoch"
    kinds = collections.Counter(r.split("\t")[0] for r in rows[1:])
    assert kinds["obstructive_apnea"] == sum(e.type is EventType.OBSTRUCTIVE_APNEA for e in truth)
    assert kinds["spindle"] > 0  # the waveforms are still there
    # a .json --events gets the truth, and nothing is written beside the study
    assert main(args + ["-o", str(tmp_path / "m.edf"), "--events", str(tmp_path / "t.json")]) == 0
    assert (tmp_path / "t.json").read_text() == (tmp_path / "n.events.json").read_text()
    assert not (tmp_path / "m.events.json").exists()


def test_same_seed_same_truth_and_signals(short_night):
    again = synthesize(SHORT, seed=2, sfreq=100.0,
                       indices=EventIndices(apnea=40, plm=40, arousal=20))
    assert again.truth == short_night.truth
    assert all(np.array_equal(a.data, b.data) for a, b in zip(again.channels, short_night.channels))
    other = synthesize(SHORT, seed=3, sfreq=100.0,
                       indices=EventIndices(apnea=40, plm=40, arousal=20))
    assert other.truth != short_night.truth


# -- the default night is unchanged --------------------------------------------------------
def _digest(study) -> str:
    h = hashlib.sha256()
    for c in study.channels:
        h.update(c.name.encode())
        h.update(np.ascontiguousarray(c.data).tobytes())
    h.update(repr([(e.kind, e.channel, e.onset, e.duration, e.epoch)
                   for e in study.events]).encode())
    return h.hexdigest()[:16]


PIN_STAGES = np.array([0] * 2 + [1] * 2 + [2] * 6 + [3] * 4 + [4] * 4 + [0] * 2)


@pytest.mark.parametrize("kwargs, digest, edf_digest", [
    # computed from the commit before events existed (aa82b16): the embedded model was
    # trained on these nights, so they must never change
    ({"hours": 0.5, "seed": 3}, "ad4bc09147aeeabf", "e4b9e9e43c84a4c1"),
    ({"stages": PIN_STAGES, "seed": 7, "sfreq": 100.0, "montage": "full"}, "8b1d5b99a3d77e7b",
     "b2901fb1b2560047"),
])
@pytest.mark.parametrize("indices", [None, EventIndices()])
def test_default_night_is_byte_identical_to_before_events(tmp_path, kwargs, digest,
                                                          edf_digest, indices):
    study = synthesize(**kwargs, indices=indices)
    assert _digest(study) == digest and study.truth == []
    write_edf(study, tmp_path / "d.edf")
    assert hashlib.sha256((tmp_path / "d.edf").read_bytes()).hexdigest()[:16] == edf_digest


def test_with_events_the_rest_of_the_night_is_the_same_night():
    plain = synthesize(PIN_STAGES * 0 + 2, seed=7, sfreq=100.0, montage="full")
    planted = synthesize(PIN_STAGES * 0 + 2, seed=7, sfreq=100.0, montage="full",
                         indices=EventIndices(arousal=30))
    inside = np.zeros(plain.channels[0].data.size, bool)
    for a in planted.truth:
        inside[int(a.onset * 100): int(np.ceil(a.end * 100)) + 1] = True
    assert inside.any()
    for a, b in zip(plain.channels, planted.channels):
        assert np.array_equal(a.data[~inside], b.data[~inside]), a.name
        if a.kind not in ("eeg", "eog") and a.name != "Chin1-Chin2":
            assert np.array_equal(a.data, b.data), a.name
