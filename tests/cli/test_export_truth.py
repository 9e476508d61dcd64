"""Exports tell the truth: the technician's CSV says which model run its probabilities
came from (or has none), an Unscored row names no scorer, and the PDF report is written
like every other export, warns when most epochs are unscored, draws the app's stage
colours and names the run it shows."""

from __future__ import annotations

import csv
import datetime as dt
import os
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.colors import to_rgba

from app.cli import main
from app.core.formats import read_hypnogram
from app.core.formats.table import PROB_COLUMNS, read_table, write_csv
from app.core.report import (
    TECHNICIAN_ONLY,
    report_notices,
    report_pages,
    run_statement,
    write_report,
)
from app.core.scoring.hypnogram import Hypnogram, Source
from app.core.scoring.stage_colors import DEFAULT_STAGE_COLORS
from app.core.scoring.stages import Stage
from app.core.workspace import Workspace

pdfium = pytest.importorskip("pypdfium2")

N = 24
BUNDLE = "psg-lens-default-tiny/0.3.0"


@pytest.fixture(scope="module")
def study_master(tmp_path_factory) -> Path:
    from app.core.synth import make_study_file

    path = tmp_path_factory.mktemp("truth") / "night.edf"
    make_study_file(path, stages=np.resize([0, 0, 1, 2, 2, 2, 3, 3, 2, 4, 4, 2], N), seed=3,
                    sfreq=100.0)
    return path


@pytest.fixture
def study(study_master, tmp_path) -> Path:
    dst = tmp_path / "night.edf"
    dst.write_bytes(study_master.read_bytes())
    return dst


@pytest.fixture
def ws(study):
    w = Workspace.open(study, who="tech-01")
    yield w
    w.close()


def probs(n: int) -> np.ndarray:
    p = np.full((n, 5), 0.05, np.float32)
    p[np.arange(n), np.resize([0, 1, 2, 2, 3, 4], n)] = 0.8
    return p


def with_run(ws: Workspace, epochs=None) -> int:
    run_id = ws.start_run(BUNDLE)
    epochs = np.arange(N) if epochs is None else np.asarray(epochs)
    ws.add_model_batch(run_id, epochs, probs(len(epochs)))
    return run_id


def rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """(comment lines, data rows as dicts) of one of our CSV files."""
    lines = path.read_text(encoding="utf-8").splitlines()
    comments = [ln for ln in lines if ln.startswith("#")]
    return comments, list(csv.DictReader(ln for ln in lines if not ln.startswith("#")))


def page_text(path: Path) -> str:
    """The PDF's text layer, every page, whitespace removed (wrapping breaks lines)."""
    pdf = pdfium.PdfDocument(str(path))
    try:
        return "".join("".join(pdf[i].get_textpage().get_text_range().split())
                       for i in range(len(pdf)))
    finally:
        pdf.close()


def squeeze(text: str) -> str:
    return "".join(text.split())


@contextmanager
def umask(mask: int):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


# -- the CSV export --------------------------------------------------------------------
def test_technician_csv_names_the_run_its_probabilities_came_from(ws, tmp_path):
    run_id = with_run(ws)
    ws.score(Stage.N2, 0)
    ws.score(Stage.N3, 1)
    hyp = ws.hypnogram_for_export("technician")
    out = tmp_path / "tech.csv"
    write_csv(hyp, out)
    comments, data = rows(out)
    started = dt.datetime.fromisoformat(ws.run(run_id).started_at).astimezone(dt.timezone.utc)
    assert comments[1] == (f"# probabilities: run {run_id}, {BUNDLE}, started "
                           f"{started:%Y-%m-%d %H:%M} UTC")
    assert set(PROB_COLUMNS) <= set(data[0])
    # our own reader reads it back: stages, the run's probabilities and where they came from
    for back in (read_table(out), read_hypnogram(out)):
        assert np.array_equal(back.stages, ws.technician.stages)
        np.testing.assert_allclose(back.probabilities, ws.model.probabilities, atol=1e-6)
        assert back.meta["probabilities_from"] == hyp.meta["probabilities_from"]
        assert back.scorer == "tech-01"


def test_the_run_is_named_the_same_after_reopening(study, tmp_path):
    ws = Workspace.open(study, who="tech-01")
    with_run(ws)
    before = ws.hypnogram_for_export("technician").meta["probabilities_from"]
    ws.close()
    ws = Workspace.open(study, who="tech-01")
    try:
        assert ws.hypnogram_for_export("technician").meta["probabilities_from"] == before
    finally:
        ws.close()


def test_a_partial_run_says_how_many_epochs_it_staged(ws, tmp_path):
    with_run(ws, epochs=range(10))
    out = tmp_path / "tech.csv"
    write_csv(ws.hypnogram_for_export("technician"), out)
    line = rows(out)[0][1]
    assert line.startswith("# probabilities: run 1, ")
    assert "it staged 10 of 24 epochs, the others carry 0.2 for every stage" in line


def test_without_a_run_there_are_no_probability_columns(ws, tmp_path):
    ws.score(Stage.W, 0)
    out = tmp_path / "tech.csv"
    write_csv(ws.hypnogram_for_export("technician"), out)
    comments, data = rows(out)
    assert len(comments) == 1 and not any("probabilities" in c for c in comments)
    assert not set(PROB_COLUMNS) & set(data[0]) and all(r["confidence"] == "" for r in data)
    assert read_table(out).probabilities is None


def test_probabilities_left_out_take_the_run_line_with_them(ws, tmp_path):
    with_run(ws)
    hyp = ws.hypnogram_for_export("technician", include_probabilities=False)
    out = tmp_path / "tech.csv"
    write_csv(hyp, out)
    comments, data = rows(out)
    assert hyp.probabilities is None and "probabilities_from" not in hyp.meta
    assert len(comments) == 1 and not set(PROB_COLUMNS) & set(data[0])


def test_unscored_rows_name_no_scorer_and_no_source(ws, tmp_path):
    with_run(ws)
    ws.score(Stage.N2, 3)
    ws.score(Stage.REM, 4)
    out = tmp_path / "tech.csv"
    write_csv(ws.hypnogram_for_export("technician"), out)
    data = rows(out)[1]
    for i, r in enumerate(data):
        if i in (3, 4):
            assert (r["source"], r["scorer"]) == ("technician", "tech-01"), i
        else:
            assert (r["stage"], r["source"], r["scorer"]) == ("Unscored", "none", ""), i
    back = read_table(out)
    assert back.scorer == "tech-01"
    assert (back.sources[back.stages == Stage.UNSCORED] == Source.NONE).all()


def test_a_model_runs_unstaged_epochs_name_no_scorer(ws, tmp_path):
    run_id = ws.start_run(BUNDLE)
    p = probs(N)
    p[5] = np.nan  # the model looked and did not stage it (the input check refused it)
    ws.add_model_batch(run_id, np.arange(20), p[:20])  # epochs 20-23 never reached
    out = tmp_path / "model.csv"
    write_csv(ws.hypnogram_for_export(run_id), out)
    comments, data = rows(out)
    assert comments[1].startswith(f"# probabilities: run {run_id}, {BUNDLE}, started ")
    for i, r in enumerate(data):
        if i == 5 or i >= 20:
            assert (r["stage"], r["source"], r["scorer"]) == ("Unscored", "none", ""), i
        else:
            assert (r["source"], r["scorer"]) == ("model", BUNDLE), i
    assert read_table(out).scorer == BUNDLE


def test_an_anonymised_export_leaves_the_runs_date_out(ws, tmp_path):
    with_run(ws)
    out = tmp_path / "anon.csv"
    write_csv(ws.hypnogram_for_export("technician", anonymise=True), out)
    comments = rows(out)[0]
    assert comments[1] == f"# probabilities: run 1, {BUNDLE}"
    assert "start_time" not in comments[0]


# -- the PDF report ----------------------------------------------------------------------
@pytest.mark.parametrize("mask", [0o022, 0o077])
def test_the_report_has_the_mode_of_a_csv_export_in_the_same_folder(tmp_path, mask):
    hyp = Hypnogram.from_labels(["W", "N1", "N2", "N3", "REM"] * 20, scorer="tech-01")
    with umask(mask):
        write_csv(hyp, tmp_path / "night.csv")
        write_report(tmp_path / "night.pdf", hyp)
    csv_mode = os.stat(tmp_path / "night.csv").st_mode & 0o777
    pdf_mode = os.stat(tmp_path / "night.pdf").st_mode & 0o777
    assert pdf_mode == csv_mode
    assert pdf_mode & 0o044, "a report only its writer can read is not an export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["night.csv", "night.pdf"]


def test_a_replaced_report_keeps_the_mode_like_a_replaced_csv(tmp_path):
    hyp = Hypnogram.from_labels(["W", "N2", "REM"] * 30)
    for name in ("night.csv", "night.pdf"):
        (tmp_path / name).write_bytes(b"old")
        os.chmod(tmp_path / name, 0o640)
    write_csv(hyp, tmp_path / "night.csv")
    write_report(tmp_path / "night.pdf", hyp)
    assert (os.stat(tmp_path / "night.pdf").st_mode & 0o777
            == os.stat(tmp_path / "night.csv").st_mode & 0o777 == 0o640)
    assert (tmp_path / "night.pdf").read_bytes().startswith(b"%PDF")


def mostly_unscored(n: int = 960, unscored: int = 812) -> Hypnogram:
    stages = np.full(n, Stage.UNSCORED, np.int8)
    stages[: n - unscored] = np.resize([0, 1, 2, 2, 3, 2, 4], n - unscored)
    return Hypnogram(stages, scorer="tech-01")


def test_a_mostly_unscored_night_is_said_so_on_the_page(tmp_path):
    sentence = ("Most epochs (812 of 960) are unscored: the figures below describe the "
                "scored part only.")
    hyp = mostly_unscored()
    assert report_notices(hyp) == [sentence]
    out = write_report(tmp_path / "r.pdf", hyp)
    assert squeeze(sentence) in page_text(out)


def test_the_warnings_sit_on_the_page_clear_of_everything_else():
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    tech = mostly_unscored()
    model = mostly_unscored(960, 700).copy(probabilities=probs(960))
    fig = report_pages(tech, model_hypnogram=model)[0]
    renderer = FigureCanvasAgg(fig).get_renderer()
    boxes = {t.get_text(): t.get_window_extent(renderer) for t in fig.texts if t.get_text()}
    boxes.update({f"axes {i}": ax.get_tightbbox(renderer) for i, ax in enumerate(fig.axes)})
    warnings = [k for k in boxes if "are unscored" in k]
    assert len(warnings) == 2
    for k in warnings:
        box = boxes[k]
        assert fig.bbox.x0 <= box.x0 and box.x1 <= fig.bbox.x1, k
        for other, ob in boxes.items():
            if other != k:
                overlap = (min(box.x1, ob.x1) - max(box.x0, ob.x0) > 1
                           and min(box.y1, ob.y1) - max(box.y0, ob.y0) > 1)
                assert not overlap, (k, other)


def test_the_models_unscored_majority_is_said_too(tmp_path):
    tech = Hypnogram.from_labels(["W", "N2", "N3", "REM"] * 25, scorer="tech-01")
    model = mostly_unscored(100, 60).copy(scorer=BUNDLE)
    assert report_notices(tech, model) == [
        "Most of the model's epochs (60 of 100) are unscored: the figures below describe "
        "the scored part only."]


@pytest.mark.parametrize("unscored", [0, 480])
def test_half_or_fewer_unscored_epochs_give_no_warning(tmp_path, unscored):
    hyp = mostly_unscored(960, unscored)
    assert report_notices(hyp) == []
    assert "areunscored" not in page_text(write_report(tmp_path / "r.pdf", hyp))


def test_the_report_names_the_run_it_shows(tmp_path):
    tech = Hypnogram.from_labels(["W", "N1", "N2", "N3", "REM"] * 20, scorer="tech-01")
    model = tech.copy(scorer=BUNDLE, probabilities=probs(100))
    run = f"run 3, {BUNDLE}, started 2026-01-02 03:04 UTC"
    out = write_report(tmp_path / "r.pdf", tech, model_hypnogram=model,
                       model_info={"name": BUNDLE, "run": run})
    text = page_text(out)
    assert squeeze(f"Model run{run}") in text
    assert text.count(squeeze(run)) == 1  # its own row, not repeated as a bundle field


def test_a_report_without_a_model_says_technician_scoring_only(tmp_path):
    tech = Hypnogram.from_labels(["W", "N1", "N2", "N3", "REM"] * 20, scorer="tech-01")
    assert run_statement(tech) == TECHNICIAN_ONLY == "none: technician scoring only"
    assert squeeze("technician scoring only") in page_text(write_report(tmp_path / "r.pdf",
                                                                        tech))


def test_a_model_file_that_does_not_name_its_run_is_said_so():
    tech = Hypnogram.from_labels(["W", "N2"] * 10)
    model = tech.copy(scorer=BUNDLE)
    assert run_statement(tech, model) == f"{BUNDLE}; which run is not recorded"


def test_report_command_names_the_run_of_an_exported_csv(ws, study, tmp_path, capsys):
    run_id = with_run(ws)
    for e, s in enumerate([0, 1, 2, 2, 3, 4] * 4):
        ws.score(s, e, advance=False)
    exported = tmp_path / "tech.csv"
    hyp = ws.hypnogram_for_export("technician")
    write_csv(hyp, exported)
    out = tmp_path / "report.pdf"
    assert main(["report", str(study), "--hypnogram", str(exported), "-o", str(out)]) == 0
    text = page_text(out)
    assert squeeze(hyp.meta["probabilities_from"]) in text
    assert squeeze(f"run {run_id}, {BUNDLE}") in text and "Hypnodensity" in text


# -- the stage colours -------------------------------------------------------------------
def _axes(figs, title: str):
    return next(ax for fig in figs for ax in fig.axes
                if ax.get_title(loc="left").startswith(title))


@pytest.mark.parametrize("custom", [None, {"REM": "#123456", "N3": "#00ff00"}])
def test_the_report_draws_the_apps_stage_colours(custom):
    colours = {**DEFAULT_STAGE_COLORS, **(custom or {})}
    tech = Hypnogram.from_labels(["W", "N1", "N2", "N3", "REM", "Unscored"] * 20,
                                 probabilities=np.full((120, 5), 0.2, np.float32))
    figs = report_pages(tech, stage_colors=custom)
    dens = _axes(figs, "Hypnodensity")
    fills = [c for c in dens.collections if isinstance(c, PolyCollection)]
    assert [tuple(c.get_facecolor()[0]) for c in fills] == \
        [to_rgba(colours[s]) for s in ("N3", "N2", "N1", "REM", "W")]
    hyp_ax = _axes(figs, "Scoring")
    rem = [c for c in hyp_ax.collections if isinstance(c, LineCollection)]
    assert rem and all(tuple(c.get_color()[0]) == to_rgba(colours["REM"]) for c in rem)
    gaps = [p for p in hyp_ax.patches if p.get_facecolor()[:3] ==
            to_rgba(colours["Unscored"])[:3]]
    assert gaps, "Unscored epochs are not shaded in the Unscored colour"


def test_one_definition_of_the_default_stage_colours():
    from app import config
    from app.gui import theme

    assert config.DEFAULT_STAGE_COLORS is DEFAULT_STAGE_COLORS
    assert theme.DEFAULT_STAGE_COLORS is DEFAULT_STAGE_COLORS
    assert theme.LIGHT.stage_colors == theme.DARK.stage_colors == DEFAULT_STAGE_COLORS
    assert config.Settings().stage_colors == DEFAULT_STAGE_COLORS
    root = Path(__file__).resolve().parents[2] / "app"
    defined = [p.relative_to(root).as_posix() for p in root.rglob("*.py")
               if '"#E69F00"' in p.read_text(encoding="utf-8")]
    assert defined == ["core/scoring/stage_colors.py"]
