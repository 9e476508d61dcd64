"""Compumedics Profusion XML (``CMPStudyConfig``), as exported by Profusion PSG and
distributed by NSRR next to its NSRR XML::

    <CMPStudyConfig>
      <EpochLength>30</EpochLength>
      <SleepStages>
        <SleepStage>0</SleepStage>
        <SleepStage>1</SleepStage>
        ...

One ``SleepStage`` integer per epoch: 0 W, 1 N1, 2 N2, 3 and 4 N3 (R&K), 5 REM,
6 movement (Artifact), 9 unscored; see ``INT_CONVENTIONS["profusion"]``. Any other code
follows ``unknown``. The file carries the epoch length but no start time, scorer or
probabilities. (YASA's ``Hypnogram.from_profusion`` reads code 9 as Wake; we keep it
Unscored, as NSRR documents it.)
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from app.core.formats._common import (
    Head,
    check_epoch_sec,
    fname,
    make_hypnogram,
    parse_xml,
    unknown_code,
    write_text_atomic,
    xml_root,
)
from app.core.scoring.hypnogram import Hypnogram
from app.core.scoring.stages import INT_CONVENTIONS, stages_to_ints
from app.errors import FormatError

ROOT = "CMPStudyConfig"


def sniff_profusion(head: Head) -> bool:
    return xml_root(head) == ROOT


def read_profusion(path: Path, *, unknown: str = "raise", epoch_sec: float | None = None
                   ) -> Hypnogram:
    """Read the ``SleepStages`` of a Profusion XML file."""
    path = Path(path)
    name = fname(path)
    root = parse_xml(path, {ROOT: "Compumedics Profusion"})
    stages_el = root.find("SleepStages")
    if stages_el is None:
        raise FormatError(f"{name}: <{ROOT}> has no <SleepStages> element.")
    warnings: list[str] = []
    table = INT_CONVENTIONS["profusion"]
    stages = []
    for i, el in enumerate(stages_el.iter("SleepStage"), start=1):
        text = (el.text or "").strip()
        where = f"{name}, SleepStage {i} (epoch {i})"
        try:
            code = int(text)
        except ValueError:
            raise FormatError(f"{where}: {text!r} is not a stage code (0-5, 6 or 9).") \
                from None
        stage = table.get(code)
        stages.append(int(stage) if stage is not None
                      else unknown_code(code, "profusion", unknown, where))
    text = (root.findtext("EpochLength") or "").strip()
    stated = None
    if text:
        try:
            stated = float(text)
        except ValueError:
            raise FormatError(f"{name}: <EpochLength> is {text!r}, not a number of "
                              "seconds.") from None
    elif epoch_sec is None:
        warnings.append("The file has no <EpochLength>; 30-s epochs were assumed.")
    epoch = check_epoch_sec(path, stated, epoch_sec, "<EpochLength>")
    return make_hypnogram(path, stages, epoch_sec=epoch, warnings=warnings,
                          scorer=path.stem)


def write_profusion(hyp: Hypnogram, path: Path, *, include_probabilities: bool = True
                    ) -> None:
    """Write ``EpochLength`` and one ``SleepStage`` per epoch (N3 as 3, Artifact as 6)."""
    root = ET.Element(ROOT)
    ET.SubElement(root, "EpochLength").text = f"{hyp.epoch_sec:g}"
    stages_el = ET.SubElement(root, "SleepStages")
    for code in stages_to_ints(hyp.stages, "profusion"):
        ET.SubElement(stages_el, "SleepStage").text = str(int(code))
    ET.indent(root)
    text = ET.tostring(root, encoding="unicode")
    write_text_atomic(Path(path), '<?xml version="1.0" encoding="UTF-8"?>\n' + text + "\n")
