"""Sleep stages and the mappings from every labelling convention we read.

Internally a stage is a small integer: the five scored stages are 0..4 (W, N1, N2, N3,
REM), so a stage indexes straight into a probability row. Unscored (-1) and Artifact (-2)
are kept distinct: an unscored epoch is never drawn or counted as Wake, and movement
time is an artifact, not a sleep stage.

Examples
--------
>>> from app.core.scoring.stages import Stage, parse_stage
>>> parse_stage("Sleep stage 4")
<Stage.N3: 3>
>>> parse_stage("Stage 2 sleep|2")
<Stage.N2: 2>
>>> Stage.REM.label
'REM'
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import IntEnum

import numpy as np

from app.errors import PSGLensError


class UnknownStageError(PSGLensError, ValueError):
    """A label that maps to no stage."""


class Stage(IntEnum):
    W = 0
    N1 = 1
    N2 = 2
    N3 = 3
    REM = 4
    UNSCORED = -1
    ARTIFACT = -2

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def is_sleep(self) -> bool:
        return self in (Stage.N1, Stage.N2, Stage.N3, Stage.REM)

    @property
    def is_scored(self) -> bool:
        return 0 <= self.value <= 4


_LABELS = {
    Stage.W: "W",
    Stage.N1: "N1",
    Stage.N2: "N2",
    Stage.N3: "N3",
    Stage.REM: "REM",
    Stage.UNSCORED: "Unscored",
    Stage.ARTIFACT: "Artifact",
}

#: The five stages a model predicts, in probability-column order.
SCORED_STAGES: tuple[Stage, ...] = (Stage.W, Stage.N1, Stage.N2, Stage.N3, Stage.REM)
STAGE_LABELS: tuple[str, ...] = tuple(s.label for s in SCORED_STAGES)
ALL_STAGES: tuple[Stage, ...] = (*SCORED_STAGES, Stage.ARTIFACT, Stage.UNSCORED)

# Integer codes of the conventions we exchange files with. R&K stage 4 merges into N3.
INT_CONVENTIONS: dict[str, dict[int, Stage]] = {
    # ours, YASA's (>=0.7: ART -1, UNS -2), Dreem/Sleep-EDF JSON (-1 not scored)
    "psglens": {0: Stage.W, 1: Stage.N1, 2: Stage.N2, 3: Stage.N3, 4: Stage.REM,
                -1: Stage.UNSCORED, -2: Stage.ARTIFACT},
    "yasa": {0: Stage.W, 1: Stage.N1, 2: Stage.N2, 3: Stage.N3, 4: Stage.REM,
             -1: Stage.ARTIFACT, -2: Stage.UNSCORED},
    "dreem": {0: Stage.W, 1: Stage.N1, 2: Stage.N2, 3: Stage.N3, 4: Stage.REM,
              -1: Stage.UNSCORED},
    # NSRR "Stages|Stages" event codes and Compumedics Profusion <SleepStage> integers
    "nsrr": {0: Stage.W, 1: Stage.N1, 2: Stage.N2, 3: Stage.N3, 4: Stage.N3, 5: Stage.REM,
             6: Stage.ARTIFACT, 9: Stage.UNSCORED},
    "profusion": {0: Stage.W, 1: Stage.N1, 2: Stage.N2, 3: Stage.N3, 4: Stage.N3,
                  5: Stage.REM, 6: Stage.ARTIFACT, 9: Stage.UNSCORED},
}

_INT_TO_STAGE = INT_CONVENTIONS["psglens"]


def _norm(text: str) -> str:
    return re.sub(r"[\s_\-:]+", " ", text.strip().lower()).strip()


# Free-text labels, normalised by _norm. Covers AASM, R&K (S3+S4 -> N3), Sleep-EDF
# ("Sleep stage 2"), NSRR ("Stage 2 sleep|2"), BIDS/SDO ontology terms and plain names.
_TEXT = {
    Stage.W: ["w", "wake", "wakefulness", "awake", "stage w", "sleep stage w", "wake|0",
              "0", "sdo wakefulness", "sdo wake", "wk"],
    Stage.N1: ["n1", "s1", "1", "stage 1", "stage 1 sleep", "sleep stage 1", "sleep stage n1",
               "stage n1", "stage 1 sleep|1", "nrem1", "sdo nonrapideyemovementsleep n1"],
    Stage.N2: ["n2", "s2", "2", "stage 2", "stage 2 sleep", "sleep stage 2", "sleep stage n2",
               "stage n2", "stage 2 sleep|2", "nrem2", "sdo nonrapideyemovementsleep n2"],
    Stage.N3: ["n3", "s3", "s4", "n4", "3", "4", "stage 3", "stage 4", "stage 3 sleep",
               "stage 4 sleep", "sleep stage 3", "sleep stage 4", "sleep stage n3",
               "stage n3", "stage 3 sleep|3", "stage 4 sleep|4", "nrem3", "sws",
               "sdo nonrapideyemovementsleep n3"],
    Stage.REM: ["r", "rem", "5", "stage r", "stage rem", "sleep stage r", "sleep stage rem",
                "rem sleep", "rem sleep|5", "paradoxical", "sdo rapideyemovementsleep"],
    Stage.ARTIFACT: ["art", "artifact", "artefact", "a", "movement", "movement time",
                     "mt", "m", "movement|6", "sleep stage m", "sdo artifact"],
    Stage.UNSCORED: ["?", "unscored", "uns", "u", "unknown", "not scored", "sleep stage ?",
                     "unscored|9", "9", "-1", "nan", "none", "sdo unscored"],
}
_TEXT_TO_STAGE = {_norm(t): stage for stage, texts in _TEXT.items() for t in texts}


def parse_stage(label: str | int | Stage, *, unknown: str = "raise",
                where: str = "") -> Stage:
    """Map one label (text or our integer code) to a :class:`Stage`.

    Parameters
    ----------
    label : str | int | Stage
        "N2", "Sleep stage 2", "Stage 2 sleep|2", "SDO:NonRapidEyeMovementSleep-N2",
        "R", "wake", an integer in PSG Lens' convention, ...
    unknown : {"raise", "unscored"}
        What an unknown label becomes: an error that names it, or Unscored.
    where : str
        File and line to name in the error message.

    Examples
    --------
    >>> parse_stage("SDO:NonRapidEyeMovementSleep-N3")
    <Stage.N3: 3>
    >>> parse_stage("banana", unknown="unscored")
    <Stage.UNSCORED: -1>
    """
    if isinstance(label, Stage):
        return label
    if isinstance(label, (int, np.integer)):
        try:
            return _INT_TO_STAGE[int(label)]
        except KeyError:
            return _unknown(str(label), unknown, where)
    stage = _TEXT_TO_STAGE.get(_norm(str(label)))
    if stage is None:
        return _unknown(str(label), unknown, where)
    return stage


def _unknown(label: str, unknown: str, where: str) -> Stage:
    if unknown == "unscored":
        return Stage.UNSCORED
    if unknown != "raise":
        raise ValueError(f"unknown= must be 'raise' or 'unscored', not {unknown!r}")
    place = f" in {where}" if where else ""
    raise UnknownStageError(
        f"Unknown sleep-stage label {label!r}{place}. Use W, N1, N2, N3, REM, Artifact or "
        "Unscored (or choose 'map unknown labels to Unscored')."
    )


def parse_stages(labels: Iterable[str | int], *, unknown: str = "raise",
                 source_name: str = "", first_line: int = 1) -> np.ndarray:
    """Map many labels; an error names the line (``first_line`` is the first label's)."""
    out = []
    for i, lab in enumerate(labels):
        where = f"{source_name}, line {first_line + i}" if source_name else f"line {first_line + i}"
        out.append(int(parse_stage(lab, unknown=unknown, where=where)))
    return np.asarray(out, dtype=np.int8)


def stages_from_ints(codes: Iterable[int], convention: str = "psglens", *,
                     unknown: str = "raise", source_name: str = "") -> np.ndarray:
    """Map integer codes in a named convention (see ``INT_CONVENTIONS``) to our codes."""
    try:
        table = INT_CONVENTIONS[convention]
    except KeyError:
        raise ValueError(f"Unknown stage-code convention {convention!r}; "
                         f"known: {', '.join(INT_CONVENTIONS)}") from None
    out = []
    for i, c in enumerate(codes):
        stage = table.get(int(c))
        if stage is None:
            where = f"{source_name}, epoch {i + 1}" if source_name else f"epoch {i + 1}"
            stage = _unknown(str(c), unknown, where)
        out.append(int(stage))
    return np.asarray(out, dtype=np.int8)


def stages_to_ints(stages: np.ndarray, convention: str = "psglens") -> np.ndarray:
    """Inverse of :func:`stages_from_ints` (N3 written as the convention's stage 3)."""
    table = INT_CONVENTIONS[convention]
    inverse: dict[int, int] = {}
    for code, stage in sorted(table.items(), key=lambda kv: abs(kv[0])):
        inverse.setdefault(int(stage), code)
    missing = set(np.unique(stages).tolist()) - set(inverse)
    if missing:
        names = ", ".join(Stage(m).label for m in sorted(missing))
        raise ValueError(f"The {convention} convention has no code for: {names}")
    lut = np.vectorize(inverse.__getitem__, otypes=[np.int16])
    return lut(np.asarray(stages)) if len(stages) else np.zeros(0, np.int16)


def stage_labels(stages: np.ndarray) -> list[str]:
    return [Stage(int(s)).label for s in stages]
