"""GUI import asks, as the CLI refuses: a hypnogram of another length (fit it or cancel)
and labels PSG Lens does not know (import as Unscored or cancel), with the numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from gui_fakes import TRUTH  # noqa: E402

from app.core.formats import write_hypnogram  # noqa: E402
from app.core.scoring.hypnogram import Hypnogram  # noqa: E402


@pytest.fixture(scope="module")
def study_master(tmp_path_factory) -> Path:
    from app.core.synth import make_study_file

    path = tmp_path_factory.mktemp("imports") / "night.edf"
    make_study_file(path, stages=TRUTH, seed=6, sfreq=100.0)
    return path


@pytest.fixture
def window(scoring_window):
    return scoring_window


def test_a_longer_hypnogram_is_asked_about_with_the_numbers(window, tmp_path):
    longer = tmp_path / "longer.csv"
    write_hypnogram(Hypnogram.from_labels(["N2"] * (len(TRUTH) + 6), scorer="B"), longer)
    asked: list[str] = []
    assert window.c.import_hypnogram(longer, ask=lambda q: asked.append(q) or False) is None
    assert window.c.workspace.imported == []  # cancelled: nothing changed
    assert f"{len(TRUTH) + 6} epochs" in asked[0] and "drop 6 epoch(s)" in asked[0]
    hyp = window.c.import_hypnogram(longer, ask=lambda q: True)
    assert hyp.n_epochs == len(TRUTH) and len(window.c.workspace.imported) == 1
    errors: list[str] = []
    window.c.error.connect(errors.append)  # no way to ask (scripts): refused, said
    assert window.c.import_hypnogram(longer) is None and "drop 6" in errors[0]


def test_unknown_labels_then_length_are_both_asked(window, tmp_path):
    odd = tmp_path / "odd.csv"
    odd.write_text("epoch,stage\n" + "".join(
        f"{i + 1},{'X7' if i == 2 else 'W'}\n" for i in range(len(TRUTH) - 1)))
    asked: list[str] = []
    hyp = window.c.import_hypnogram(odd, ask=lambda q: asked.append(q) or True)
    assert len(asked) == 2 and "'X7'" in asked[0] and "leave 1 of the study" in asked[1]
    assert hyp.stages[2] == -1 and hyp.stages[-1] == -1 and hyp.stages[0] == 0


def test_the_question_box_defaults_to_cancel(qtbot, window):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    seen: list[tuple[str, list[str]]] = []

    def answer(click: str) -> None:
        box = next(b for b in QApplication.topLevelWidgets() if isinstance(b, QMessageBox)
                   and b.objectName() == "psglens-import-question" and b.isVisible())
        seen.append((box.defaultButton().text(), [b.text() for b in box.buttons()]))
        next(b for b in box.buttons() if b.text() == click).click()

    QTimer.singleShot(100, lambda: answer("Fit it"))
    assert window.ask_import("night.csv has 3 epochs ... Fit it that way, or cancel.")
    QTimer.singleShot(100, lambda: answer("Cancel"))
    assert not window.ask_import("'X7' in odd.csv, line 4. Import every epoch ... cancel.")
    assert seen[0][0] == "Cancel" and "Fit it" in seen[0][1]
    assert "Import as Unscored" in seen[1][1]
