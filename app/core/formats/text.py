"""Plain text: one epoch a line, as YASA saves hypnograms.

Lines hold either integers in YASA's convention (0 W, 1 N1, 2 N2, 3 N3, 4 REM,
-1 Artifact, -2 Unscored; also ``0.0`` as ``np.savetxt`` writes them) or labels
(W, N1, N2, N3, R/REM, Art, Uns, ...). Lines starting with ``#`` are comments. The file
carries no epoch length (30 s unless ``epoch_sec`` says otherwise) and no start time.

Examples
--------
>>> import tempfile, pathlib
>>> from app.core.scoring.hypnogram import Hypnogram
>>> p = pathlib.Path(tempfile.mkdtemp()) / "night.txt"
>>> write_text(Hypnogram.from_labels(["W", "N2", "REM"]), p, labels="int")
>>> p.read_text().split()
['0', '2', '4']
>>> read_text_hypnogram(p).labels()
['W', 'N2', 'REM']
"""

from __future__ import annotations

import re
from pathlib import Path

from app.core.formats._common import (
    Head,
    check_epoch_sec,
    fname,
    make_hypnogram,
    read_text,
    text_lines,
    to_stage,
    unknown_code,
    write_text_atomic,
)
from app.core.scoring.hypnogram import Hypnogram
from app.core.scoring.stages import (
    INT_CONVENTIONS,
    Stage,
    UnknownStageError,
    parse_stage,
    stages_to_ints,
)
from app.errors import FormatError

_NUMBER = re.compile(r"^[+-]?\d+(\.0*)?([eE][+-]?\d+)?$")
# YASA's short labels, which its own readers accept
_WRITE_LABELS = {Stage.W: "W", Stage.N1: "N1", Stage.N2: "N2", Stage.N3: "N3",
                 Stage.REM: "R", Stage.ARTIFACT: "Art", Stage.UNSCORED: "Uns"}


def sniff_text(head: Head) -> bool:
    lines = head.data_lines(3)
    if not lines:
        return False
    for line in lines:
        if len(line.split()) != 1:
            return False
        if _NUMBER.match(line):
            continue
        try:
            parse_stage(line)
        except UnknownStageError:
            return False
    return True


def read_text_hypnogram(path: Path, *, unknown: str = "raise", epoch_sec: float | None = None,
                        convention: str = "yasa") -> Hypnogram:
    """Read one stage per line; integers are read in ``convention`` (see INT_CONVENTIONS)."""
    path = Path(path)
    name = fname(path)
    if convention not in INT_CONVENTIONS:
        raise FormatError(f"Unknown stage-code convention {convention!r} for {name}; known: "
                          f"{', '.join(INT_CONVENTIONS)}.")
    table = INT_CONVENTIONS[convention]
    lines = text_lines(read_text(path))
    # blank lines at the end are harmless; one in the middle would shift every epoch after it
    while lines and not lines[-1].strip():
        lines.pop()
    stages: list[int] = []
    for n, raw in enumerate(lines, start=1):
        token = raw.strip()
        if token.startswith("#"):
            continue
        where = f"{name}, line {n}"
        if not token:
            raise FormatError(f"{where} is empty; every epoch needs one line (use Uns or -2 "
                              "for an unscored epoch).")
        if _NUMBER.match(token):
            code = int(float(token))
            stage = table.get(code)
            stages.append(int(stage) if stage is not None
                          else unknown_code(code, convention, unknown, where))
        else:
            stages.append(to_stage(token, unknown, where))
    epoch = check_epoch_sec(path, None, epoch_sec, "")
    return make_hypnogram(path, stages, epoch_sec=epoch, warnings=[], scorer=path.stem)


def write_text(hyp: Hypnogram, path: Path, *, labels: str = "str",
               include_probabilities: bool = True) -> None:
    """Write one stage per line: ``labels="str"`` (W, N1, N2, N3, R, Art, Uns) or
    ``labels="int"`` (YASA codes; Artifact -1, Unscored -2). Probabilities are dropped."""
    if labels == "int":
        lines = [str(int(c)) for c in stages_to_ints(hyp.stages, "yasa")]
    elif labels == "str":
        lines = [_WRITE_LABELS[Stage(int(s))] for s in hyp.stages]
    else:
        raise FormatError(f"labels= must be 'str' or 'int' when writing {fname(path)}, not "
                          f"{labels!r}.")
    write_text_atomic(Path(path), "".join(f"{line}\n" for line in lines))
