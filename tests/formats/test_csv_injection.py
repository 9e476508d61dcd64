"""Exports never hand a spreadsheet a formula: text cells that start like one are
neutralised (a leading apostrophe) and read back as they were."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from app.core.formats import read_hypnogram, write_hypnogram
from app.core.scoring.hypnogram import Hypnogram

EVIL = ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\tx"]


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
@pytest.mark.parametrize("scorer", EVIL)
def test_a_formula_in_the_scorer_or_a_note_is_text_in_every_row(tmp_path, fmt, scorer):
    hyp = Hypnogram(np.array([0, 2, 2]), scorer=scorer, notes=["", "=HYPERLINK(\"x\")", "ok"])
    path = tmp_path / f"h.{fmt}"
    write_hypnogram(hyp, path)
    with open(path, newline="", encoding="utf-8") as f:
        f.readline()                                # the magic line
        rows = list(csv.reader(f, delimiter="," if fmt == "csv" else "\t"))
    header, body = rows[0], rows[1:]
    cells = [row[header.index("scorer")] for row in body]
    cells += [row[header.index("note")] for row in body]
    assert not any(c.startswith(("=", "+", "-", "@", "\t", "\r")) for c in cells)
    back = read_hypnogram(path)
    assert back.scorer == scorer and back.notes[1] == '=HYPERLINK("x")'


def test_ordinary_names_are_written_as_they_are(tmp_path):
    hyp = Hypnogram(np.array([0, 1]), scorer="tech-01 'J. Doe'")
    write_hypnogram(hyp, tmp_path / "h.csv")
    assert ",tech-01 'J. Doe'," in (tmp_path / "h.csv").read_text()
    assert read_hypnogram(tmp_path / "h.csv").scorer == "tech-01 'J. Doe'"


def test_line_breaks_in_a_cell_become_spaces_and_do_not_split_rows(tmp_path):
    hyp = Hypnogram(np.array([0, 2, 2]), scorer="\r=1+1", notes=["a\nb", "c\r\nd", ""])
    write_hypnogram(hyp, tmp_path / "h.csv")
    raw = (tmp_path / "h.csv").read_bytes()
    assert b"\r" not in raw and raw.count(b"\n") == 5   # magic, header, three rows
    back = read_hypnogram(tmp_path / "h.csv")
    assert back.notes == ["a b", "c d", ""] and back.scorer.strip() == "=1+1"
