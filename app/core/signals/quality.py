"""The input check: is each channel, in each stretch of the night, fit to be staged?

Run before staging (``psg-lens check``, ``psg-lens score``, the GUI). Per channel that
fills a slot of the model's picture, per 30-s epoch: flat, disconnected (mains hum or a
drifting electrode), clipped at the amplifier's range, NaN or inf, implausible amplitude;
per channel: a sampling rate too low for what it must show, a lead that looks inverted;
per epoch: how unlike the model's training data the signals are (when the bundle carries
its training statistics, see :mod:`app.core.signals.features`).

What the check decides, per epoch:

* a slot whose channel fails there is drawn as missing (the model was trained with
  missing rows), and the epoch is staged from the rest with a note;
* an epoch where no EEG slot is usable is NOT staged ("model did not stage"): no stage
  is ever given from NaN, flat or absurd EEG;
* an epoch unlike anything the model was trained on keeps its most likely stage but
  never a confident one (its probabilities are tempered, see :func:`temper`).

Each problem is one sentence naming the channel, the time and what to do.

Examples
--------
>>> from app.core.signals.recording import Recording            # doctest: +SKIP
>>> report = check_recording(Recording.open("night.edf"), spec)  # doctest: +SKIP
>>> print(report.summary())                                      # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from app.core.signals.features import FeatureReference, epoch_features

OK, DEGRADED, UNLIKE, NOT_STAGED = 0, 1, 2, 3
STATUS_TEXT = {OK: "ok", DEGRADED: "staged without a channel", UNLIKE: "low confidence",
               NOT_STAGED: "not staged"}
EEG_SLOTS = ("frontal", "central", "occipital", "eeg")
# Per kind: a lead whose rms is below `flat` is flat; above `huge` is not physiology
_LIMITS = {"eeg": {"flat": 0.5, "huge": 500.0}, "eog": {"flat": 0.5, "huge": 2000.0},
           "emg": {"flat": 0.05, "huge": 500.0}, "ecg": {"flat": 2.0, "huge": 20000.0}}
_MIN_RATE = {"eeg": 30.0, "eog": 20.0}   # below: spindles (11-16 Hz) cannot be drawn
_LOW_RATE_NOTE = 100.0
MAX_CONFIDENCE_UNLIKE = 0.5


@dataclass(frozen=True)
class Problem:
    """One finding: a sentence for the technician, and where it applies."""

    kind: str          # flat | disconnected | clipped | nonfinite | amplitude | low_rate |
                       # inverted | unlike_training | no_eeg | unit
    channel: str       # as the study names it (or the derivation, "C4 - M1")
    slot: str | None
    first_epoch: int   # inclusive; -1 when it concerns the whole channel
    last_epoch: int
    sentence: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class CheckReport:
    """What the check found, and what it decided per epoch.

    ``status`` per epoch: 0 ok, 1 staged without a channel, 2 low confidence (unlike the
    training data), 3 not staged. ``unusable`` maps a slot to the epochs where its
    channel must be drawn as missing. ``inverted`` lists slots whose lead looks inverted
    (drawn sign-flipped).
    """

    n_epochs: int
    epoch_sec: float
    problems: list[Problem] = field(default_factory=list)
    status: np.ndarray = field(default=None)                # type: ignore[assignment]
    unusable: dict[str, np.ndarray] = field(default_factory=dict)
    inverted: list[str] = field(default_factory=list)
    unlikeness: np.ndarray | None = None                    # per epoch, 0 typical .. 1+

    def __post_init__(self) -> None:
        if self.status is None:
            self.status = np.zeros(self.n_epochs, np.int8)

    @property
    def not_staged(self) -> np.ndarray:
        return np.flatnonzero(self.status == NOT_STAGED)

    def epoch_notes(self) -> list[str]:
        """One sentence (or several, joined) per epoch; "" where nothing was found."""
        notes = [[] for _ in range(self.n_epochs)]
        for p in self.problems:
            if p.first_epoch < 0:
                continue
            for e in range(p.first_epoch, p.last_epoch + 1):
                notes[e].append(p.sentence)
        return [" ".join(n) for n in notes]

    def summary(self) -> str:
        if not self.problems:
            return "Input check: no problems found."
        counts = {s: int((self.status == s).sum()) for s in (DEGRADED, UNLIKE, NOT_STAGED)}
        head = (f"Input check: {len(self.problems)} problem(s); "
                f"{counts[NOT_STAGED]} epoch(s) not staged, {counts[DEGRADED]} staged without "
                f"a channel, {counts[UNLIKE]} given low confidence.")
        return "\n".join([head, *(f"- {p.sentence}" for p in self.problems)])

    def to_dict(self) -> dict:
        """JSON-able (kept with a model run in the session)."""
        return {"n_epochs": self.n_epochs, "epoch_sec": self.epoch_sec,
                "problems": [p.to_dict() for p in self.problems],
                "status": _runs(self.status), "inverted": list(self.inverted),
                "unusable": {k: _runs(v.astype(np.int8)) for k, v in self.unusable.items()}}

    @classmethod
    def from_dict(cls, d: dict) -> CheckReport:
        n = int(d["n_epochs"])
        return cls(n, float(d.get("epoch_sec", 30.0)),
                   [Problem(**p) for p in d.get("problems", [])], _unruns(d["status"], n),
                   {k: _unruns(v, n).astype(bool) for k, v in d.get("unusable", {}).items()},
                   list(d.get("inverted", [])))


def _runs(a: np.ndarray) -> list[list[int]]:
    """Run-length encoding [[value, count], ...] (a night is a few runs, not 960 numbers)."""
    out: list[list[int]] = []
    for v in np.asarray(a).tolist():
        if out and out[-1][0] == v:
            out[-1][1] += 1
        else:
            out.append([int(v), 1])
    return out


def _unruns(runs: list, n: int) -> np.ndarray:
    a = np.concatenate([np.full(c, v, np.int8) for v, c in runs]) if runs else np.zeros(0, np.int8)
    if a.size != n:
        raise ValueError(f"The input-check record covers {a.size} epochs, not {n}.")
    return a


def temper(probs: np.ndarray, cap: float = MAX_CONFIDENCE_UNLIKE) -> np.ndarray:
    """Mix each row with the uniform distribution just enough that its top is <= cap.

    The most likely stage stays the most likely; only the confidence is taken away.
    """
    p = np.asarray(probs, np.float64)
    top = p.max(axis=1, keepdims=True)
    k = p.shape[1]
    lam = np.clip((top - cap) / np.maximum(top - 1.0 / k, 1e-12), 0.0, 1.0)
    return ((1 - lam) * p + lam / k).astype(np.float32)


# -- the check ---------------------------------------------------------------------------
ProgressFn = Callable[[int, int], None]


def check_recording(recording, spec, sources: list | None = None, *,
                    reference: FeatureReference | None = None,
                    chunk_epochs: int = 120, progress: ProgressFn | None = None,
                    should_stop: Callable[[], bool] | None = None) -> CheckReport:
    """Check the channels that fill ``spec``'s rows over the whole night.

    Parameters
    ----------
    recording : Recording
    spec : RenderSpec
        The model's picture: which slots matter and how each kind is filtered.
    sources : list of Source or None, optional
        The source of each row (default: ``resolve_sources``).
    reference : FeatureReference, optional
        The bundle's training statistics; without it the "unlike the training data" part
        is skipped.

    Returns
    -------
    CheckReport
    """
    from app.core.signals.render import resolve_sources

    sources = resolve_sources(recording, spec) if sources is None else list(sources)
    # the check judges physical microvolts, not a row's drawing gain
    sources = [None if s is None else replace(s, gain=1.0) for s in sources]
    n_ep, ep = recording.n_epochs, recording.epoch_sec
    report = CheckReport(n_ep, ep)
    rows = list(spec.rows)
    feats: dict[str, dict] = {}
    total = sum(1 for s in sources if s is not None) * max(1, -(-n_ep // chunk_epochs))
    done = 0
    for row, src in zip(rows, sources, strict=True):
        if src is None:
            continue
        ch = recording.channel(src.plus)
        kind = row.kind
        rate_problem = _rate_problem(row, src, ch.sfreq, n_ep)
        if rate_problem is not None:
            report.problems.append(rate_problem)
            if rate_problem.first_epoch >= 0:
                report.unusable[row.slot] = np.ones(n_ep, bool)
                continue
        parts = []
        for e0 in range(0, n_ep, chunk_epochs):
            if should_stop and should_stop():
                return report
            e1 = min(e0 + chunk_epochs, n_ep)
            sig = recording.get_window(e0 * ep, e1 * ep, [src])[src.name]
            x = sig.data[: (e1 - e0) * int(round(ep * sig.sfreq))].reshape(e1 - e0, -1)
            parts.append(epoch_features(x, sig.sfreq, kind, _clip_limits(recording, src)))
            done += 1
            if progress:
                progress(done, total)
        f = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        feats[row.slot] = f
        bad = _epoch_problems(report, row, src, f, recording)
        if bad.any():
            report.unusable[row.slot] = bad
    _inverted(report, rows, sources, feats)
    _decide(report, rows, sources, recording)
    if reference is not None:
        _unlike(report, reference, feats, recording)
    report.problems.extend(_unit_notes(recording, sources))
    return report


def _clip_limits(recording, src) -> list[tuple[float, float]]:
    out = []
    for name in (src.plus, src.minus):
        if name:
            r = recording.physical_range(name)
            if r is not None:
                out.append(r)
    return out


def display_name(src) -> str:
    """How the study names a source: its channel, or "A - B" for a subtraction."""
    return src.plus if not src.is_derived else f"{src.plus} - {src.minus}"


def _rate_problem(row, src, sfreq: float, n_ep: int) -> Problem | None:
    from app.core.signals.render import is_envelope

    name = display_name(src)
    if row.kind == "emg" and is_envelope("emg", sfreq, row.highpass_hz):
        return Problem("low_rate", name, row.slot, -1, -1,
                       f"{name} is sampled at {sfreq:g} Hz: it is an EMG envelope, drawn as "
                       "its level (tone), not as a trace.")
    floor = _MIN_RATE.get(row.kind)
    if floor and sfreq < floor:
        return Problem("low_rate", name, row.slot, 0, n_ep - 1,
                       f"{name} is sampled at {sfreq:g} Hz, too slowly to show spindles or "
                       f"alpha (at least {floor:g} Hz is needed): the model did not use it; "
                       "export the channel at its original rate.")
    if row.kind == "eeg" and sfreq < _LOW_RATE_NOTE:
        return Problem("low_rate", name, row.slot, -1, -1,
                       f"{name} is sampled at {sfreq:g} Hz: frequencies above "
                       f"{sfreq / 2:g} Hz (beta, muscle) are absent from its picture.")
    return None


def _stretches(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) epoch of each run of True."""
    if not mask.any():
        return []
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1) - 1, strict=True))


def _clock(recording, epoch: int) -> str:
    sec = epoch * recording.epoch_sec
    if recording.start_time is not None:
        t = recording.start_time + dt.timedelta(seconds=sec)
        return t.strftime("%H:%M:%S")
    h, rem = divmod(int(sec), 3600)
    return f"{h:02d}:{rem // 60:02d}:{rem % 60:02d} into the recording"


def _span(recording, a: int, b: int) -> str:
    n = b - a + 1
    if n == 1:
        return f"in epoch {a + 1} ({_clock(recording, a)})"
    return f"from {_clock(recording, a)} to {_clock(recording, b + 1)} ({n} epochs)"


def _epoch_problems(report: CheckReport, row, src, f: dict, recording) -> np.ndarray:
    """Per-epoch findings of one slot's channel; returns where it is unusable."""
    lim = _LIMITS.get(row.kind, _LIMITS["eeg"])
    name = display_name(src)
    checks = [
        ("nonfinite", f["nonfinite"] > 0.5,
         "has no numbers (NaN/inf, or a gap in the recording)", "check the export"),
        ("flat", (f["rms"] < lim["flat"]) & (f["nonfinite"] <= 0.5),
         "is flat", "check that the electrode is plugged in and the channel is enabled"),
        ("clipped", f["clipped"] > 0.2,
         "is clipped at the amplifier's range", "lower the gain or re-apply the electrode"),
        ("disconnected", (f["line"] > 0.6) & (f["rms"] > 20),
         "is mostly mains hum (a loose or disconnected electrode)",
         "re-apply the electrode or choose another channel"),
        ("amplitude", f["rms"] > lim["huge"],
         f"has an amplitude no {row.kind.upper()} has (over {lim['huge']:g} uV rms)",
         "check the electrode and the channel's unit"),
    ]
    bad = np.zeros(report.n_epochs, bool)
    for kind, mask, what, action in checks:
        mask = mask & ~bad
        for a, b in _stretches(mask):
            report.problems.append(Problem(
                kind, name, row.slot, int(a), int(b),
                f"{name} {what} {_span(recording, a, b)}: the model did not use it there; "
                f"{action}."))
        bad |= mask
    return bad


def _inverted(report: CheckReport, rows, sources, feats: dict) -> None:
    """An EEG lead whose slow activity runs opposite to the two other EEG leads'."""
    eeg = [(r.slot, s) for r, s in zip(rows, sources, strict=True)
           if r.kind == "eeg" and s is not None and r.slot in feats]
    if len(eeg) < 3:
        return
    slow = {slot: feats[slot]["slow"] for slot, _ in eeg}
    for slot, src in eeg:
        others = [o for o, _ in eeg if o != slot]
        r_self = [_corr(slow[slot], slow[o]) for o in others]
        r_others = _corr(slow[others[0]], slow[others[1]])
        if all(r < -0.3 for r in r_self) and r_others > 0.3:
            report.inverted.append(slot)
            name = display_name(src)
            report.problems.append(Problem(
                "inverted", name, slot, -1, -1,
                f"{name} looks inverted (its slow waves run opposite to the other EEG "
                "leads'): PSG Lens draws it sign-flipped; check the electrode order in the "
                "montage."))


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 4 or np.std(a[ok]) == 0 or np.std(b[ok]) == 0:
        return 0.0
    return float(np.corrcoef(a[ok], b[ok])[0, 1])


def _decide(report: CheckReport, rows, sources, recording) -> None:
    eeg_rows = [r.slot for r, s in zip(rows, sources, strict=True)
                if r.kind == "eeg" and s is not None]
    any_drop = np.zeros(report.n_epochs, bool)
    for mask in report.unusable.values():
        any_drop |= mask
    usable_eeg = np.zeros(report.n_epochs, bool)
    for slot in eeg_rows:
        usable_eeg |= ~report.unusable.get(slot, np.zeros(report.n_epochs, bool))
    report.status[any_drop] = DEGRADED
    report.status[~usable_eeg] = NOT_STAGED
    if not eeg_rows:
        report.status[:] = NOT_STAGED
    for a, b in _stretches(~usable_eeg):
        report.problems.append(Problem(
            "no_eeg", "EEG", None, int(a), int(b),
            f"No usable EEG {_span(recording, a, b)}: the model did not stage "
            f"{'that epoch' if a == b else f'those {b - a + 1} epochs'}; score them by hand "
            "or fix the EEG channels."))


def _unlike(report: CheckReport, ref: FeatureReference, feats: dict, recording) -> None:
    score = ref.unlikeness(feats)
    if score is None:
        return
    report.unlikeness = score
    mask = (score > 1.0) & (report.status < NOT_STAGED)
    report.status[mask & (report.status == OK)] = UNLIKE
    report.status[mask & (report.status == DEGRADED)] = UNLIKE
    for a, b in _stretches(mask):
        report.problems.append(Problem(
            "unlike_training", "all channels", None, int(a), int(b),
            f"The signals {_span(recording, a, b)} are unlike anything the model was "
            "trained on: its stage there is shown with low confidence; review those "
            "epochs yourself."))


def _unit_notes(recording, sources) -> list[Problem]:
    used = {n for s in sources if s is not None for n in (s.plus, s.minus) if n}
    return [Problem("unit", name, None, -1, -1, note)
            for name in recording.unit_fixes if name in used
            for note in recording.notes if note.startswith(f"{name}:")]
