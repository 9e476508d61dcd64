"""Our sleep statistics against YASA's on every real hypnogram in ../shared/data.

YASA (``yasa.sleep_statistics(hypno, sf_hyp=1/30)``, v0.8) assumes its array is already
cropped to the recording period. Where the numbers differ, the difference is one of
these named definition choices, asserted below; everything else must match to 1e-9:

- ``Lat_REM``: YASA measures from the start of the array (lights off); our
  ``rem_latency_min`` is the AASM one, from sleep onset: ours == Lat_REM - SOL, and our
  ``rem_latency_lights_off_min`` == Lat_REM.
- ``TIB``: YASA's is the whole array. Ours (TRT) is lights off -> lights on, which is the
  whole array by default, so they match; with lights marks set, ours matches YASA run on
  the array cropped to the marks (the second test).
- Undefined values: YASA gives NaN (SOL, WASO, SME, percentages without sleep), we give
  None.

Codes: the JSON files use -1 for "not scored"; YASA uses -2 for Unscored (-1 is its
Artefact), so -1 maps to YASA's -2 (via our "yasa" convention). YASA treats both as
non-sleep non-wake, as we do, so the mapping matters for meaning, not for the numbers.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest

from app.core.scoring.hypnogram import Hypnogram
from app.core.scoring.stages import stages_to_ints
from app.core.scoring.stats import SleepStatistics, sleep_statistics

yasa = pytest.importorskip("yasa")

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "hypnograms"
GROUPS = {
    "dodh": "dod/dodh/scorer_*/*.json",
    "dodo": "dod/dodo/scorer_*/*.json",
    "sleep-edf": "sleep-edf-json/*.json",
    "yasa": "yasa/*.txt",
}

# Same definition on both sides: YASA key -> our field.
SAME = {
    "TIB": "trt_min", "SPT": "spt_min", "WASO": "waso_min", "TST": "tst_min",
    "N1": "n1_min", "N2": "n2_min", "N3": "n3_min", "REM": "rem_min", "NREM": "nrem_min",
    "SOL": "sol_min", "%N1": "n1_pct", "%N2": "n2_pct", "%N3": "n3_pct", "%REM": "rem_pct",
    "%NREM": "nrem_pct", "SE": "sleep_efficiency_pct",
    "SME": "sleep_maintenance_efficiency_pct",
}


def load(path: Path) -> Hypnogram:
    if path.suffix == ".json":
        with path.open() as f:
            return Hypnogram.from_ints(json.load(f), "dreem", source_name=path.name)
    lines = [ln.strip() for ln in path.read_text().splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("#")]
    if all(ln.lstrip("-").isdigit() for ln in lines):
        # YASA integer text: 4 is REM here (as text, "4" would read as R&K stage 4 = N3)
        return Hypnogram.from_ints([int(ln) for ln in lines], "yasa", source_name=path.name)
    return Hypnogram.from_labels(lines, source_name=path.name)


def files(group: str) -> list[Path]:
    if not DATA.is_dir():
        pytest.skip(f"Real hypnograms not found at {DATA} (../shared/data is absent in a "
                    "fresh clone).")
    found = sorted(DATA.glob(GROUPS[group]))
    if not found:
        pytest.skip(f"No files match {GROUPS[group]} under {DATA}.")
    return found


def yasa_stats(stages: np.ndarray) -> dict[str, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # deprecated in 0.8, still there
        return yasa.sleep_statistics(stages_to_ints(stages, "yasa"), sf_hyp=1 / 30)


def close(ours: float | None, theirs: float) -> bool:
    if ours is None:
        return math.isnan(theirs)
    return math.isclose(ours, theirs, rel_tol=1e-9, abs_tol=1e-9)


def compare(ours: SleepStatistics, theirs: dict[str, float], name: str) -> list[str]:
    bad = [f"{name}: {k} yasa={theirs[k]} ours={getattr(ours, f)}"
           for k, f in SAME.items() if not close(getattr(ours, f), theirs[k])]
    # Definition choice: REM latency from sleep onset (AASM) vs from lights off (YASA).
    lat, sol = theirs["Lat_REM"], theirs["SOL"]
    expected = lat - sol if not math.isnan(lat) else float("nan")
    if not close(ours.rem_latency_min, expected):
        bad.append(f"{name}: rem_latency_min {ours.rem_latency_min} != Lat_REM - SOL")
    if not close(ours.rem_latency_lights_off_min, lat):
        bad.append(f"{name}: rem_latency_lights_off_min {ours.rem_latency_lights_off_min} "
                   f"!= Lat_REM {lat}")
    return bad


@pytest.mark.parametrize("group", list(GROUPS))
def test_whole_record_matches_yasa(group: str) -> None:
    bad: list[str] = []
    paths = files(group)
    for path in paths:
        hyp = load(path)
        bad += compare(sleep_statistics(hyp), yasa_stats(hyp.stages), path.name)
    assert not bad, f"{len(bad)} differences, first: " + "; ".join(bad[:5])
    assert len(paths) >= {"dodh": 125, "dodo": 275, "sleep-edf": 197, "yasa": 2}[group]


@pytest.mark.parametrize("group", ["dodh", "dodo", "sleep-edf"])
def test_lights_marks_match_yasa_on_cropped_record(group: str) -> None:
    # Lights off 5 min before the first scored-sleep epoch, lights on 3 min after the last
    # (clipped to the record): ours with marks == YASA on the cropped array.
    bad: list[str] = []
    for path in files(group):
        hyp = load(path)
        sleep = np.flatnonzero(hyp.stages > 0)
        if sleep.size == 0:
            continue
        off = max(0, int(sleep[0]) - 10)
        on = min(hyp.n_epochs, int(sleep[-1]) + 7)
        if on - off < 2:  # YASA needs two epochs
            continue
        ours = sleep_statistics(hyp, lights_off_epoch=off, lights_on_epoch=on)
        bad += compare(ours, yasa_stats(hyp.stages[off:on]), path.name)
    assert not bad, f"{len(bad)} differences, first: " + "; ".join(bad[:5])
