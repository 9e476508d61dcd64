"""EDF+ annotation hypnograms in the Sleep-EDF style.

One annotation per run of equal stages: onset and duration in seconds from the file's
start, text ``Sleep stage W/1/2/3/4/R/?`` or ``Movement time`` (AASM exports also use
``Sleep stage N1/N2/N3``). Other annotations (events such as arousals, or
``AutoAnnImported``) are skipped and counted; a text that starts with "Sleep stage" but
is no stage follows ``unknown``. Time before the first stage and between stages is
Unscored and reported in ``meta["warnings"]``; overlapping stages are an error.

Sleep-EDF hypnograms run past the end of their recording and close with a long
``Sleep stage ?`` run; those epochs are read as Unscored (their count is in
``meta["trailing_unscored_epochs"]``) and :meth:`Hypnogram.align` crops them.

Writing makes an annotations-only EDF+C file (edfio) with the start date and time, the
scorer as the technician code and ``EpochLength=<s>`` in the recording field, so the
epoch length survives a round trip even when every run is a multiple of 30 s.
"""

from __future__ import annotations

import datetime as dt
import re
import warnings as _warnings
from pathlib import Path

import numpy as np

from app.core.formats._common import (
    Head,
    StageEvent,
    atomic_paths,
    check_epoch_sec,
    events_to_stages,
    fname,
    infer_epoch_sec,
    make_hypnogram,
    stage_runs,
    to_stage,
)
from app.core.scoring.hypnogram import Hypnogram
from app.core.scoring.stages import Stage, UnknownStageError, parse_stage
from app.errors import FormatError

SLEEP_EDF_TEXT = {Stage.W: "Sleep stage W", Stage.N1: "Sleep stage 1",
                  Stage.N2: "Sleep stage 2", Stage.N3: "Sleep stage 3",
                  Stage.REM: "Sleep stage R", Stage.UNSCORED: "Sleep stage ?",
                  Stage.ARTIFACT: "Movement time"}
AASM_TEXT = {**SLEEP_EDF_TEXT, Stage.N1: "Sleep stage N1", Stage.N2: "Sleep stage N2",
             Stage.N3: "Sleep stage N3"}
_STAGE_PREFIX = re.compile(r"^\s*(sleep[\s_-]*)?stage\b", re.IGNORECASE)
_EPOCH_FIELD = re.compile(r"^EpochLength=([0-9.]+)$", re.IGNORECASE)


def sniff_edf(head: Head) -> bool:
    return head.raw[:8] == b"0       " and head.raw[192:197] in (b"EDF+C", b"EDF+D")


def _read_raw(path: Path, notes: list[str]
              ) -> tuple[list[tuple[float, float | None, str]], dt.datetime | None, str,
                         float | None]:
    """(annotations, start, technician code, stated epoch length) via edfio, else mne."""
    try:
        import edfio

        with _warnings.catch_warnings(record=True) as caught:
            _warnings.simplefilter("always")
            edf = edfio.read_edf(path, lazy_load_data=True)
            anns = [(float(a.onset), a.duration, a.text) for a in edf.annotations]
            try:
                start = dt.datetime.combine(edf.startdate, edf.starttime)
            except edfio.AnonymizedDateError:
                start = None
            tech = edf.recording.investigator_technician_code
            stated = None
            for field in edf.recording.additional:
                m = _EPOCH_FIELD.match(field)
                if m:
                    stated = float(m.group(1))
        notes.extend(f"EDF header: {w.message}" for w in caught)
        return anns, start, tech, stated
    except Exception as first:  # edfio is strict about headers; mne reads more variants
        try:
            import mne

            a = mne.read_annotations(path)
        except Exception:
            raise FormatError(f"{fname(path)} is not a readable EDF+ file ({first}).") \
                from None
        notes.append(f"The EDF header could not be read ({first}); the start time is "
                     "unknown.")
        anns = [(float(o), float(d), str(t)) for o, d, t in
                zip(a.onset, a.duration, a.description)]
        return anns, None, "X", None


def read_edf_annotations(path: Path, *, unknown: str = "raise",
                         epoch_sec: float | None = None) -> Hypnogram:
    """Read the sleep stages of an EDF+ file's annotations (see the module docstring)."""
    path = Path(path)
    name = fname(path)
    warnings: list[str] = []
    anns, start, tech, stated = _read_raw(path, warnings)
    events: list[StageEvent] = []
    skipped: dict[str, int] = {}
    for i, (onset, duration, text) in enumerate(anns, start=1):
        where = f"annotation {i}"
        try:
            stage = int(parse_stage(text.strip()))
        except UnknownStageError:
            if not _STAGE_PREFIX.match(text):
                skipped[text] = skipped.get(text, 0) + 1  # an event, not a stage
                continue
            stage = to_stage(text.strip(), unknown, f"{name}, {where} (onset {onset:g} s)")
        events.append(StageEvent(onset, duration, stage, where))
    if not events:
        raise FormatError(f"{name} has {len(anns)} annotations but none is a sleep stage "
                          "(such as 'Sleep stage 2').")
    if skipped:
        listed = ", ".join(f"{t!r} x{n}" for t, n in list(skipped.items())[:5])
        warnings.append(f"Skipped {sum(skipped.values())} annotations that are not sleep "
                        f"stages: {listed}.")
    if epoch_sec is None and stated is None:
        epoch = infer_epoch_sec(path, events, warnings)
    else:
        epoch = check_epoch_sec(path, stated, epoch_sec, "its header (EpochLength)")
    stages = events_to_stages(path, events, epoch, warnings)
    scored = np.flatnonzero(stages != Stage.UNSCORED)
    trailing = len(stages) - (int(scored[-1]) + 1 if scored.size else 0)
    scorer = tech if tech and tech != "X" else path.stem
    return make_hypnogram(path, stages, epoch_sec=epoch, warnings=warnings, start_time=start,
                          scorer=scorer,
                          meta={"trailing_unscored_epochs": trailing,
                                "skipped_annotations": sum(skipped.values())})


def _edf_field(text: str) -> str:
    """An EDF+ header subfield: printable ASCII, no spaces ('X' when empty)."""
    clean = "".join(c if 33 <= ord(c) < 127 else "_" for c in text.strip())
    return clean[:40] or "X"


def write_edf_annotations(hyp: Hypnogram, path: Path, *, labels: str = "sleep-edf",
                          include_probabilities: bool = True) -> None:
    """Write an annotations-only EDF+C file, one annotation per stage run.

    ``labels="sleep-edf"`` writes ``Sleep stage 1/2/3`` (what MNE's Sleep-EDF examples
    expect); ``labels="aasm"`` writes ``Sleep stage N1/N2/N3``. Probabilities are dropped.
    """
    import edfio

    texts = {"sleep-edf": SLEEP_EDF_TEXT, "aasm": AASM_TEXT}.get(labels)
    if texts is None:
        raise FormatError(f"labels= must be 'sleep-edf' or 'aasm' when writing "
                          f"{fname(path)}, not {labels!r}.")
    ep = hyp.epoch_sec
    anns = [edfio.EdfAnnotation(first * ep, count * ep, texts[Stage(stage)])
            for first, count, stage in stage_runs(hyp.stages)]
    start = hyp.start_time
    if start is not None and start.tzinfo is not None:
        start = start.replace(tzinfo=None)  # EDF+ stores local clock time, no zone
    if start is not None and not 1985 <= start.year <= 2084:
        raise FormatError(f"Cannot write {fname(path)}: EDF+ stores start dates from 1985 "
                          f"to 2084, not {start.date()}.")
    try:
        edf = edfio.Edf(
            [], annotations=anns, starttime=None if start is None else start.time(),
            recording=edfio.Recording(
                startdate=None if start is None else start.date(),
                investigator_technician_code=_edf_field(hyp.scorer),
                additional=(f"EpochLength={ep:g}",)))
    except (ValueError, UnicodeError) as e:
        raise FormatError(f"Cannot write {fname(path)} as EDF+: {e}.") from None
    with atomic_paths(Path(path)) as (tmp,):
        edf.write(tmp)
