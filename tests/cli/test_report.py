"""The PDF report: content on every page, a first page that is really drawn, clean layout."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest

from app.core.report import FOOTER, SYNTHETIC_NOTE, TITLE, report_pages, write_report
from app.core.scoring.hypnogram import Hypnogram
from app.errors import FormatError

pdfium = pytest.importorskip("pypdfium2")

DOD = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "hypnograms" / "dod"
STUDY = {"patient_name": "Jane Doe", "patient_id": "P-0042", "birthdate": "1970-01-01",
         "study_date": "2024-03-01", "recording": "night_0042.edf"}


def synthetic(n: int = 600, seed: int = 0, start: dt.datetime | None = None) -> Hypnogram:
    """A plausible night with model probabilities that favour the scored stage."""
    rng = np.random.default_rng(seed)
    cycle = [0] * 10 + [1] * 6 + [2] * 30 + [3] * 25 + [2] * 15 + [4] * 20
    stages = np.resize(np.array(cycle), n)
    stages[200:206] = -1  # a gap: must be drawn as a gap, never as Wake
    stages[320:322] = -2
    p = rng.dirichlet(np.full(5, 0.5), size=n)
    p[np.arange(n), np.clip(stages, 0, 4)] += 1.5
    p /= p.sum(axis=1, keepdims=True)
    return Hypnogram(stages, probabilities=p, scorer="model-x", start_time=start)


def page_texts(path: Path) -> list[str]:
    pdf = pdfium.PdfDocument(str(path))
    return [pdf[i].get_textpage().get_text_range() for i in range(len(pdf))]


def render(path: Path, page: int, out: Path) -> np.ndarray:
    pdf = pdfium.PdfDocument(str(path))
    image = pdf[page].render(scale=1.3).to_pil().convert("RGB")
    image.save(out)
    return np.asarray(image)


def assert_drawn(img: np.ndarray) -> None:
    nonwhite = (img < 245).any(axis=-1).mean()
    assert nonwhite > 0.05, f"only {nonwhite:.1%} of the page is drawn"
    colours, counts = np.unique((img // 32).reshape(-1, 3), axis=0, return_counts=True)
    assert (counts > 50).sum() >= 8, "too few distinct colours: plots missing?"


def test_real_dod_night(tmp_path: Path) -> None:
    folder = DOD / "dodh"
    if not folder.is_dir():
        pytest.skip(f"DOD hypnograms not found at {folder} (../shared/data is absent).")
    name = sorted((folder / "scorer_1").glob("*.json"))[2].name
    hyp = Hypnogram.from_ints(json.loads((folder / "scorer_2" / name).read_text()), "dreem",
                              scorer="scorer_2", start_time=dt.datetime(2024, 3, 1, 22, 47, 30))
    out = write_report(tmp_path / "dod.pdf", hyp, study=STUDY, anonymise=True,
                       scorers=["scorer_2 (DOD-H)"], lights_off_epoch=4)
    texts = page_texts(out)
    assert all(FOOTER.replace(" ", "") in t.replace("\r\n", "").replace(" ", "")
               for t in texts), "footer missing on a page"
    every = "".join(texts)
    assert TITLE in every and "Sleep efficiency" in every and "scorer_2 (DOD-H)" in every
    assert "Jane Doe" not in every and "P-0042" not in every and "anonymised" in every
    assert "Hypnodensity" not in every  # no probabilities, no hypnodensity
    assert_drawn(render(out, 0, tmp_path / "dod_page1.png"))


def test_synthetic_with_model_and_probabilities(tmp_path: Path) -> None:
    tech = synthetic(seed=1)
    tech.probabilities = None
    tech.scorer = "tech-01"
    model = synthetic(seed=2)
    out = write_report(tmp_path / "synth.pdf", tech, study=STUDY, model_hypnogram=model,
                       model_info={"name": "psg-lens-demo", "version": "0.1",
                                   "synthetic_only": True})
    every = "".join(page_texts(out)).replace("\r\n", " ")
    assert "Jane Doe" in every  # not anonymised
    assert "Hypnodensity" in every and "Hours from start" in every
    assert "psg-lens-demo 0.1" in every and SYNTHETIC_NOTE in every
    assert "Cohen's kappa" in every and "Confusion" in every
    for i, page in enumerate(page_texts(out)):
        assert "Decision support only" in page, f"page {i + 1} lacks the footer"
    assert_drawn(render(out, 0, tmp_path / "synth_page1.png"))
    render(out, 1, tmp_path / "synth_page2.png")
    assert not list(tmp_path.glob("*.tmp")), "temporary file left behind"


def _boxes_overlap(a, b) -> bool:
    return (min(a.x1, b.x1) - max(a.x0, b.x0) > 1) and (min(a.y1, b.y1) - max(a.y0, b.y0) > 1)


@pytest.mark.parametrize("with_model", [False, True])
def test_layout_has_no_overlaps_or_cut_text(with_model: bool) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    tech = synthetic(seed=3, start=dt.datetime(2024, 3, 1, 23, 10))
    study = {**STUDY, "recording": "/very/long/path/" + "x" * 150 + ".edf"}
    figs = report_pages(tech, study=study, model_hypnogram=synthetic(seed=4) if with_model
                        else None, model_info={"name": "m", "synthetic_only": True})
    for n, fig in enumerate(figs, start=1):
        canvas = FigureCanvasAgg(fig)
        renderer = canvas.get_renderer()
        page = fig.bbox
        texts = [t.get_window_extent(renderer) for t in fig.texts if t.get_text()]
        axes = [ax.get_tightbbox(renderer) for ax in fig.axes]
        for box in texts + axes:
            assert box.x0 >= page.x0 and box.x1 <= page.x1, f"page {n}: cut at the side"
            assert box.y0 >= page.y0 and box.y1 <= page.y1, f"page {n}: cut at top/bottom"
        for i, a in enumerate(texts + axes):
            for b in (texts + axes)[i + 1:]:
                assert not _boxes_overlap(a, b), f"page {n}: overlapping blocks {a} {b}"


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path: Path, monkeypatch) -> None:
    from matplotlib.backends import backend_pdf

    target = tmp_path / "report.pdf"
    target.write_bytes(b"old report")

    def boom(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(backend_pdf.PdfPages, "savefig", boom)
    # written like every export: the OS error becomes one sentence that names the file
    with pytest.raises(FormatError, match="Cannot write report.pdf: disk full"):
        write_report(target, synthetic())
    assert target.read_bytes() == b"old report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.pdf"]


def test_dollar_signs_in_names_are_text_not_maths(tmp_path: Path) -> None:
    tech = synthetic(seed=3)
    tech.scorer = "tech $5 and $10"
    study = {**STUDY, "patient_name": "A $x^2$ B"}
    out = write_report(tmp_path / "d.pdf", tech, study=study)
    every = "".join(page_texts(out))
    assert "A $x^2$ B" in every
