"""The PDF sleep-scoring report: hypnogram, hypnodensity, AASM statistics with definitions.

Drawn with :class:`matplotlib.figure.Figure` objects (no pyplot state, no Qt) on A4
pages, laid out top to bottom by a small flowing "pager" that starts a new page when
the next block does not fit, so tables and text never overlap or run off the page.
Every page carries the decision-support footer. The first page names the model run the
report shows (or says "technician scoring only") and warns when most epochs are
unscored; stages are drawn in the app's colours
(:data:`app.core.scoring.stage_colors.DEFAULT_STAGE_COLORS`, or the user's). The file is
written like every export (:func:`app.core.formats._common.atomic_paths`): complete or
not at all, with the same permissions.

Examples
--------
>>> import tempfile, pathlib
>>> from app.core.scoring.hypnogram import Hypnogram
>>> from app.core.report import write_report
>>> hyp = Hypnogram.from_labels(["W"] * 20 + ["N1", "N2"] * 40 + ["REM"] * 30 + ["W"] * 4)
>>> out = write_report(pathlib.Path(tempfile.mkdtemp()) / "night.pdf", hyp,
...                    study={"patient_name": "Jane Doe"}, anonymise=True)
>>> out.stat().st_size > 10_000
True
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import FuncFormatter, MultipleLocator

from app.core.formats._common import atomic_paths
from app.core.scoring.agreement import agreement
from app.core.scoring.events import Event, EventSource, EventType
from app.core.scoring.hypnogram import Hypnogram
from app.core.scoring.stage_colors import DEFAULT_STAGE_COLORS
from app.core.scoring.stages import STAGE_LABELS, Stage
from app.core.scoring.stats import DEFINITIONS, SleepStatistics, sleep_statistics

TITLE = "PSG Lens — sleep scoring report"
FOOTER = ("Decision support only — not a diagnosis. "
          "Scoring must be reviewed by a qualified technician.")
SYNTHETIC_NOTE = "Trained on synthetic data only, not validated on patients."
TECHNICIAN_ONLY = "none: technician scoring only"
ANONYMISED = "anonymised"
#: Study keys (lower case, spaces as "_") whose values ``anonymise=True`` replaces.
PATIENT_KEYS = frozenset({
    "patient", "patient_name", "name", "first_name", "last_name", "surname",
    "patient_id", "id", "subject", "subject_id", "mrn", "birthdate", "birth_date",
    "date_of_birth", "dob", "patient_birthdate"})

A4 = (8.27, 11.69)  # inches
LEFT, RIGHT, TOP, BOTTOM = 0.6, 0.6, 0.55, 0.8  # margins; the bottom one holds the footer
WIDTH = A4[0] - LEFT - RIGHT

# Hypnogram rows, top to bottom: W at the top, REM next (drawn red), then NREM deepening.
Y_LEVEL = {Stage.W: 4, Stage.REM: 3, Stage.N1: 2, Stage.N2: 1, Stage.N3: 0}
STAGE_ROWS = {Stage.W: "W", Stage.N1: "N1", Stage.N2: "N2", Stage.N3: "N3", Stage.REM: "REM"}


class _Pager:
    """Places blocks top to bottom on A4 figures, in inches from the top-left corner."""

    def __init__(self) -> None:
        self.figs: list[Figure] = []
        self.new_page()

    def new_page(self) -> None:
        self.fig = Figure(figsize=A4)
        self.figs.append(self.fig)
        self.y = TOP

    def need(self, height: float) -> None:
        if self.y + height > A4[1] - BOTTOM and self.y > TOP:
            self.new_page()

    def _fx(self, x: float) -> float:
        return x / A4[0]

    def _fy(self, y: float) -> float:
        return 1.0 - y / A4[1]

    def text(self, x: float, y: float, s: str, size: float = 8, **kw) -> None:
        # parse_math off: a scorer's "$5 and $10" is text, never matplotlib mathtext
        self.fig.text(self._fx(x), self._fy(y), s, fontsize=size, va="top", parse_math=False,
                      **kw)

    def space(self, h: float) -> None:
        self.y += h

    def notice(self, s: str, size: float = 9) -> None:
        """A warning sentence in a tinted box across the page."""
        line = size * 1.32 / 72
        lines = _wrap(s, (WIDTH - 0.3) * 72, size, True)
        h = len(lines) * line + 0.16
        self.need(h + 0.08)
        self.fig.add_artist(Rectangle((self._fx(LEFT), self._fy(self.y + h)), WIDTH / A4[0],
                                      h / A4[1], transform=self.fig.transFigure,
                                      color="#fdecc8", lw=0, zorder=-1))
        self.text(LEFT + 0.15, self.y + 0.08, "\n".join(lines), size, weight="bold",
                  color="#7a3b00", linespacing=1.2)
        self.y += h + 0.08

    def title(self, s: str, sub: str) -> None:
        self.text(LEFT, self.y, s, 17, weight="bold")
        self.text(LEFT, self.y + 0.34, sub, 8, color="0.35")
        self.y += 0.55

    def heading(self, s: str, keep_with: float = 0.6) -> None:
        self.need(0.4 + keep_with)
        self.y += 0.1
        self.text(LEFT, self.y, s, 11.5, weight="bold", color="#1f3f7a")
        self.y += 0.24
        self.fig.add_artist(Rectangle((self._fx(LEFT), self._fy(self.y)), WIDTH / A4[0],
                                      0.8 / 72 / A4[1], transform=self.fig.transFigure,
                                      color="#1f3f7a", lw=0))
        self.y += 0.08

    def table(self, rows: Sequence[Sequence[str]], cols: Sequence[tuple[float, str]], *,
              size: float = 8, header: Sequence[str] | None = None,
              bold_first: bool = False, stripes: bool = True, pad: float = 0.07) -> None:
        """Rows of cells; ``cols`` = (width in inches, "l"/"r") each; cells wrap."""
        line = size * 1.32 / 72

        def wrap(cell: str, width: float, bold: bool) -> list[str]:
            return _wrap(str(cell), width * 72, size, bold)

        def draw(row: Sequence[str], bold_row: bool, shade: bool) -> None:
            cells = [wrap(c, w - 0.15, bold_row or (bold_first and i == 0))
                     for i, (c, (w, _)) in enumerate(zip(row, cols, strict=True))]
            h = max(len(c) for c in cells) * line + pad
            self.need(h)
            if shade:
                self.fig.add_artist(Rectangle(
                    (self._fx(LEFT), self._fy(self.y + h)), WIDTH / A4[0], h / A4[1],
                    transform=self.fig.transFigure, color="#eef2f8", lw=0, zorder=-1))
            x = LEFT
            for i, (lines, (w, align)) in enumerate(zip(cells, cols, strict=True)):
                bold = bold_row or (bold_first and i == 0)
                tx = x + 0.05 if align == "l" else x + w - 0.05
                self.text(tx, self.y + pad / 2, "\n".join(lines), size, ha=
                          "left" if align == "l" else "right", linespacing=1.2,
                          weight="bold" if bold else "normal")
                x += w
            self.y += h

        if header is not None:
            draw(header, True, False)
        for i, row in enumerate(rows):
            if header is not None and self.y + line + pad > A4[1] - BOTTOM:
                self.new_page()
                draw(header, True, False)  # repeat the header on the new page
            draw(row, False, stripes and i % 2 == 0)

    def axes(self, height: float, *, left_pad: float = 0.55, right_pad: float = 0.0,
             top_pad: float = 0.28, bottom_pad: float = 0.42):
        """An axes block; the pads leave room for its title, legend and tick labels."""
        self.need(height)
        x0, x1 = LEFT + left_pad, A4[0] - RIGHT - right_pad
        y_bottom = self.y + height - bottom_pad
        ax = self.fig.add_axes((self._fx(x0), self._fy(y_bottom), (x1 - x0) / A4[0],
                                (height - bottom_pad - top_pad) / A4[1]))
        self.y += height
        return ax

    def finish(self) -> list[Figure]:
        n = len(self.figs)
        for i, fig in enumerate(self.figs, start=1):
            fig.text(0.5, 0.45 / A4[1], FOOTER, ha="center", va="center", fontsize=8,
                     weight="bold", color="#8a1c1c")
            fig.text(1 - RIGHT / A4[0], 0.22 / A4[1], f"Page {i} of {n}", ha="right",
                     va="center", fontsize=7, color="0.4")
            fig.text(LEFT / A4[0], 0.22 / A4[1], TITLE, ha="left", va="center",
                     fontsize=7, color="0.4")
        return self.figs


_RENDERER = None


def _text_width(s: str, size: float, bold: bool) -> float:
    """Width of one line of text in points, measured by the Agg renderer."""
    global _RENDERER
    if _RENDERER is None:
        from matplotlib.backends.backend_agg import RendererAgg

        _RENDERER = RendererAgg(10, 10, 72)
    prop = FontProperties(size=size, weight="bold" if bold else "normal")
    return _RENDERER.get_text_width_height_descent(s, prop, ismath=False)[0]


def _wrap(text: str, width_pt: float, size: float, bold: bool) -> list[str]:
    """Greedy word wrap to a measured width; a word too long for a line is cut."""
    lines: list[str] = []
    for para in text.split("\n"):
        line = ""
        for word in para.split():
            trial = f"{line} {word}" if line else word
            if _text_width(trial, size, bold) <= width_pt:
                line = trial
                continue
            if line:
                lines.append(line)
            line = word
            while _text_width(line, size, bold) > width_pt and len(line) > 1:
                cut = len(line) - 1
                while cut > 1 and _text_width(line[:cut], size, bold) > width_pt:
                    cut -= 1
                lines.append(line[:cut])
                line = line[cut:]
        lines.append(line)
    return lines or [""]


# -- plots ----------------------------------------------------------------------------
def _time_axis(ax, hyp: Hypnogram) -> np.ndarray:
    """Epoch edges in hours; ticks in clock time when the start time is known."""
    edges = np.arange(hyp.n_epochs + 1) * hyp.epoch_sec / 3600.0
    ax.set_xlim(0, edges[-1])
    if hyp.start_time is not None:
        start = hyp.start_time
        first_hour = (60 - start.minute - start.second / 60) % 60 / 60.0
        step = 1.0 if edges[-1] > 3 else 0.5
        ax.set_xticks(np.arange(first_hour, edges[-1] + 1e-9, step))
        ax.xaxis.set_major_formatter(FuncFormatter(
            lambda h, _: (start + dt.timedelta(hours=float(h))).strftime("%H:%M")))
        ax.set_xlabel("Clock time", fontsize=7.5)
    else:
        ax.xaxis.set_major_locator(MultipleLocator(1.0 if edges[-1] > 3 else 0.5))
        ax.set_xlabel("Hours from start of recording", fontsize=7.5)
    ax.tick_params(labelsize=7.5)
    return edges


SPAN_ALPHA = 0.35  # Unscored and Artifact shade the plot's background in their colours


def _plot_hypnogram(ax, hyp: Hypnogram, title: str, lights: tuple[int, int] | None,
                    colours: dict[str, str]) -> None:
    edges = _time_axis(ax, hyp)
    stages = hyp.stages.astype(int)
    y = np.array([Y_LEVEL.get(Stage(s), np.nan) for s in stages], dtype=float)
    # A NaN breaks the line: Unscored and Artifact epochs are gaps, never drawn as Wake.
    ax.step(edges, np.append(y, y[-1] if y.size else np.nan), where="post", color="0.2",
            lw=0.8)
    gaps = ((Stage.UNSCORED, colours["Unscored"], "Unscored"),
            (Stage.ARTIFACT, colours["Artifact"], "Artifact"))
    for code, colour, _ in gaps:
        for a, b in _runs(stages == code):
            ax.axvspan(edges[a], edges[b], color=colour, alpha=SPAN_ALPHA, lw=0, zorder=0)
    for a, b in _runs(stages == Stage.REM):  # REM drawn as a thick bar in its colour
        ax.hlines(Y_LEVEL[Stage.REM], edges[a], edges[b], color=colours["REM"], lw=3.2,
                  zorder=3)
    legend = []
    if lights is not None:
        for e in lights:
            ax.axvline(edges[e], color="#2a7a2a", lw=1.1, ls="--", zorder=4)
        legend.append(Line2D([], [], color="#2a7a2a", lw=1.1, ls="--",
                             label="lights off / on"))
    for code, colour, name in gaps:
        if np.any(stages == code):
            legend.append(Patch(color=colour, alpha=SPAN_ALPHA, label=name))
    ax.set_ylim(-0.6, 4.6)
    ax.set_yticks([Y_LEVEL[s] for s in STAGE_ROWS], list(STAGE_ROWS.values()))
    ax.get_yticklabels()[list(STAGE_ROWS).index(Stage.REM)].set_color(colours["REM"])
    ax.set_title(title, fontsize=8.5, loc="left", pad=4, parse_math=False)
    ax.grid(axis="x", color="0.9", lw=0.6)
    if legend:  # above the plot, right, on the title's line: never over the data
        ax.legend(handles=legend, fontsize=6.5, loc="lower right", ncols=len(legend),
                  frameon=False, bbox_to_anchor=(1.0, 1.0), borderaxespad=0.1,
                  handlelength=1.6)


def _plot_hypnodensity(ax, hyp: Hypnogram, title: str, colours: dict[str, str]) -> None:
    edges = _time_axis(ax, hyp)
    p = np.asarray(hyp.probabilities, dtype=float)
    order = ["N3", "N2", "N1", "REM", "W"]  # stacked bottom to top, as the hypnogram rows
    cols = [STAGE_LABELS.index(s) for s in order]
    unscored = hyp.stages == Stage.UNSCORED
    vals = np.where(unscored[:, None], np.nan, p[:, cols]).T
    # Repeat each epoch at both edges so a stack step covers exactly its epoch.
    x = np.repeat(edges, 2)[1:-1]
    ax.stackplot(x, np.repeat(vals, 2, axis=1), colors=[colours[s] for s in order],
                 labels=order, lw=0)
    ax.set_ylim(0, 1)
    ax.set_ylabel("Probability", fontsize=7.5)
    ax.set_title(title, fontsize=8.5, loc="left", pad=4, parse_math=False)
    ax.legend(fontsize=6.5, loc="upper left", bbox_to_anchor=(1.005, 1.0), frameon=False,
              reverse=True)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    padded = np.concatenate(([0], mask.astype(np.int8), [0]))
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


# -- text blocks ----------------------------------------------------------------------
def _study_rows(study: dict | None, anonymise: bool) -> list[tuple[str, str]]:
    rows = []
    for key, value in (study or {}).items():
        norm = str(key).strip().lower().replace(" ", "_").replace("-", "_")
        shown = ANONYMISED if anonymise and norm in PATIENT_KEYS else value
        if isinstance(shown, (dt.date, dt.datetime)):
            shown = shown.isoformat(sep=" ") if isinstance(shown, dt.datetime) \
                else shown.isoformat()
        rows.append((str(key).replace("_", " ").capitalize(), "" if shown is None
                     else str(shown)))
    if anonymise and not any(r[1] == ANONYMISED for r in rows):
        rows.append(("Patient", ANONYMISED))
    return rows or [("Study", "no study details given")]


def run_statement(hyp: Hypnogram, model_hypnogram: Hypnogram | None = None,
                  model_info: dict | None = None) -> str:
    """Which model run the report shows, in words: ``model_info["run"]`` ("run 3,
    psg-lens-default-tiny/0.3.0, started 2026-01-02 03:04 UTC"), what a hypnogram file
    said of its probabilities, or :data:`TECHNICIAN_ONLY` when no model is shown."""
    info = model_info or {}
    if info.get("run"):
        return str(info["run"])
    for h in (model_hypnogram, hyp):
        if h is not None and h.probabilities is not None and h.meta.get("probabilities_from"):
            return str(h.meta["probabilities_from"])
    if model_hypnogram is not None or info:
        name = str(info.get("name") or (model_hypnogram.scorer if model_hypnogram else "")
                   or "an unnamed model")
        version = info.get("version") or ""
        return f"{name} {version}".strip() + "; which run is not recorded"
    if hyp.probabilities is not None:
        return "probabilities of a model run the hypnogram file does not name"
    return TECHNICIAN_ONLY


def report_notices(hyp: Hypnogram, model_hypnogram: Hypnogram | None = None) -> list[str]:
    """The warnings the first page shows: most epochs (> 50 %) unscored."""
    out = []
    for h, whose in ((hyp, ""), (model_hypnogram, "the model's ")):
        if h is None or h.n_epochs == 0:
            continue
        n_unscored = int(np.sum(h.stages == Stage.UNSCORED))
        if 2 * n_unscored > h.n_epochs:
            text = (f"Most of {whose}epochs ({n_unscored} of {h.n_epochs}) are unscored" if whose
                    else f"Most epochs ({n_unscored} of {h.n_epochs}) are unscored")
            out.append(text + ": the figures below describe the scored part only.")
    return out


def _model_rows(model_info: dict | None, model_hyp: Hypnogram | None) -> list[tuple[str, str]]:
    if not model_info and model_hyp is None:
        return []
    info = dict(model_info or {})
    info.pop("run", None)  # shown in its own row
    name = str(info.pop("name", "") or (model_hyp.scorer if model_hyp else "") or "unnamed")
    version = info.pop("version", None)
    rows = [("Model bundle", f"{name} {version}" if version else name)]
    synthetic = bool(info.pop("synthetic_only", False))
    note = info.pop("note", None)
    for key, value in info.items():
        rows.append((str(key).replace("_", " ").capitalize(), str(value)))
    if note:
        rows.append(("Model card note", str(note)))
    if synthetic and (not note or "synthetic" not in str(note).lower()):
        rows.append(("Model card note", SYNTHETIC_NOTE))
    return rows


def _stat_rows(stats: list[SleepStatistics]) -> list[list[str]]:
    rows = []
    for key, d in DEFINITIONS.items():
        vals = [s.format(key) for s in stats]
        rows.append([d.label, *vals, "" if d.unit in ("count", "clock", "epoch") else d.unit])
    return rows


def report_pages(hyp: Hypnogram, *, study: dict | None = None, anonymise: bool = False,
                 model_hypnogram: Hypnogram | None = None, model_info: dict | None = None,
                 scorers: list[str] | None = None, lights_off_epoch: int | None = None,
                 lights_on_epoch: int | None = None,
                 generated: dt.datetime | None = None,
                 stage_colors: dict[str, str] | None = None,
                 events: Sequence[Event] | None = None) -> list[Figure]:
    """Lay out the report as A4 :class:`~matplotlib.figure.Figure` pages (see
    :func:`write_report` for the parameters)."""
    colours = {**DEFAULT_STAGE_COLORS, **(stage_colors or {})}
    stats = sleep_statistics(hyp, lights_off_epoch=lights_off_epoch,
                             lights_on_epoch=lights_on_epoch)
    lights = None
    if lights_off_epoch is not None or lights_on_epoch is not None:
        lights = (stats.lights_off_epoch, stats.lights_on_epoch)
    when = (generated or dt.datetime.now()).strftime("%Y-%m-%d %H:%M")
    pg = _Pager()
    pg.title(TITLE, f"Generated {when}. Epochs of {hyp.epoch_sec:g} s; statistics follow "
                    "the AASM manual, definitions at the end.")
    for text in report_notices(hyp, model_hypnogram):
        pg.notice(text)

    pg.heading("Study")
    pg.table(_study_rows(study, anonymise), [(1.9, "l"), (WIDTH - 1.9, "l")], bold_first=True)

    pg.heading("Scoring")
    names = scorers or ([hyp.scorer] if hyp.scorer else [])
    rows = [("Scorer(s)", ", ".join(names) or "not recorded"),
            ("Epochs", f"{hyp.n_epochs} x {hyp.epoch_sec:g} s "
                       f"({hyp.duration_sec / 3600:.2f} h)"),
            ("Recording start", hyp.start_time.strftime("%Y-%m-%d %H:%M:%S")
             if hyp.start_time else "unknown"),
            ("Model run", run_statement(hyp, model_hypnogram, model_info))]
    rows += _model_rows(model_info, model_hypnogram)
    pg.table(rows, [(1.9, "l"), (WIDTH - 1.9, "l")], bold_first=True)

    pg.heading("Hypnogram", keep_with=2.2)
    who = ", ".join(names) or "scored hypnogram"
    _plot_hypnogram(pg.axes(2.2, right_pad=0.55), hyp, f"Scoring: {who}", lights,
                    colours)
    if model_hypnogram is not None:
        _plot_hypnogram(pg.axes(1.85, right_pad=0.55), model_hypnogram, "Model", lights,
                        colours)
    dens = next((h for h in (model_hypnogram, hyp)
                 if h is not None and h.probabilities is not None), None)
    if dens is not None:
        _plot_hypnodensity(pg.axes(1.8, right_pad=0.55), dens,
                           "Hypnodensity (model stage probabilities per epoch)", colours)

    if model_hypnogram is not None:
        _agreement_block(pg, hyp, model_hypnogram)

    # Keep the table on one page: 34 rows of 7.5-pt text.
    row_h = 7.5 * 1.32 / 72 + 0.05
    pg.heading("Sleep statistics", keep_with=(len(DEFINITIONS) + 1) * row_h)
    all_stats = [stats]
    header = ["Statistic", "Value", "Unit"]
    cols = [(3.4, "l"), (1.4, "r"), (WIDTH - 4.8, "l")]
    if model_hypnogram is not None:
        all_stats.append(sleep_statistics(model_hypnogram, lights_off_epoch=lights_off_epoch,
                                          lights_on_epoch=lights_on_epoch))
        header = ["Statistic", "Scoring", "Model", "Unit"]
        cols = [(3.2, "l"), (1.2, "r"), (1.2, "r"), (WIDTH - 5.6, "l")]
    pg.table(_stat_rows(all_stats), cols, header=header, size=7.5, pad=0.05)
    counted = (EventType.DESATURATION, EventType.AROUSAL)
    if any(e.type.is_respiratory or e.type.is_limb or e.type in counted
           for e in events or ()):  # "Lights off" alone is no events section
        _events_block(pg, events, hyp)

    pg.heading("Definitions", keep_with=0.6)
    pg.table([["Counting rule",
               "Statistics cover lights off to lights on. Artifact and Unscored epochs are "
               "neither sleep nor wake: excluded from TST and WASO, but counted in TRT, SPT "
               "and latencies as time. Unscored is never counted as Wake."]]
             + [[d.label, d.text] for d in DEFINITIONS.values()],
             [(2.3, "l"), (WIDTH - 2.3, "l")], size=7.5, bold_first=True, stripes=False)
    return pg.finish()


def _events_block(pg: _Pager, events: Sequence[Event], hyp: Hypnogram) -> None:
    """Counts per event type and the indices: scored events, then the detector's apart."""
    from app.core.scoring.event_indices import event_indices, index_rows

    idx = event_indices(list(events), hyp)
    counts: dict[str, list[int]] = {}
    for e in events:
        c = counts.setdefault(e.type.label, [0, 0])
        c[e.source is EventSource.DETECTOR] += 1
    pg.heading("Events", keep_with=1.2)
    pg.table([[k, str(a), str(d) if d else "—"] for k, (a, d) in sorted(counts.items())],
             [(2.6, "l"), (1.4, "r"), (WIDTH - 4.0, "r")],
             header=["Event type", "Scored", "Detected, not reviewed"], size=7.5, pad=0.05)
    for table in (idx.scored, idx.detector):
        if table is None:
            continue
        header, rows = index_rows(table)
        n = len(header) - 1
        first = 2.6
        cols = [(first, "l")] + [((WIDTH - first) / n, "r")] * n
        pg.heading("Indices: " + table.title, keep_with=(len(rows) + 1) * 0.16)
        pg.table(rows, cols, header=header, size=7.5, pad=0.05)
        for note in table.notes:
            pg.notice(note, size=8)


def _num(value: float) -> str:
    return f"{value:.3f}" if np.isfinite(value) else "—"


def _agreement_block(pg: _Pager, ref: Hypnogram, model: Hypnogram) -> None:
    a = agreement(ref, model)
    pg.heading("Agreement: model vs technician", keep_with=2.6)
    pg.table([("Epochs compared", f"{a.n_epochs} ({a.n_excluded} excluded: Unscored or "
                                  "Artifact in either)"),
              ("Accuracy", _num(a.accuracy)),
              ("Cohen's kappa", _num(a.kappa)),
              ("Macro-F1 (stages present)", _num(a.macro_f1))],
             [(1.9, "l"), (WIDTH - 1.9, "l")], bold_first=True)
    pg.space(0.08)
    fmt = [_num(a.f1[s]) for s in STAGE_LABELS]
    w = (WIDTH - 1.9) / 5
    pg.table([["F1", *fmt]], [(1.9, "l")] + [(w, "r")] * 5, header=["Per stage", *STAGE_LABELS],
             bold_first=True)
    pg.space(0.08)
    rows = [[f"Technician {s}", *map(str, a.confusion[i])] for i, s in enumerate(STAGE_LABELS)]
    pg.table(rows, [(1.9, "l")] + [(w, "r")] * 5,
             header=["Confusion (rows tech.)", *(f"Model {s}" for s in STAGE_LABELS)],
             bold_first=True)


def write_report(path: str | os.PathLike, hyp: Hypnogram, *, study: dict | None = None,
                 anonymise: bool = False, model_hypnogram: Hypnogram | None = None,
                 model_info: dict | None = None, scorers: list[str] | None = None,
                 lights_off_epoch: int | None = None, lights_on_epoch: int | None = None,
                 stage_colors: dict[str, str] | None = None,
                 events: Sequence[Event] | None = None) -> Path:
    """Write the PDF report for one scored night, atomically, like every export.

    Parameters
    ----------
    path : path-like
        Where to write the PDF; replaced only once the new file is complete.
    hyp : Hypnogram
        The scoring the report is about (normally the technician's reviewed hypnogram).
    study : dict, optional
        Study and patient fields, printed in order ("patient_name", "patient_id",
        "birthdate", "study_date", "recording", ...).
    anonymise : bool
        Replace patient name, id and birth date (keys in :data:`PATIENT_KEYS`) with
        "anonymised" (the PDF metadata never holds patient fields).
    model_hypnogram : Hypnogram, optional
        The model's scoring of the same epochs: drawn, its statistics tabled beside,
        and its agreement with ``hyp`` (accuracy, kappa, per-stage F1) reported.
    model_info : dict, optional
        The model bundle: "name", "version", "run" (which run, in words: "run 3,
        psg-lens-default-tiny/0.3.0, started 2026-01-02 03:04 UTC"), "note" (the card's
        note) and ``synthetic_only=True`` for the note "Trained on synthetic data only,
        not validated on patients."; other keys are printed as they are. Without a
        model the report says "technician scoring only".
    scorers : list of str, optional
        Who scored ``hyp``; default its ``scorer``.
    lights_off_epoch, lights_on_epoch : int, optional
        Recording period for the statistics (see :func:`app.core.scoring.stats.sleep_statistics`).
    stage_colors : dict, optional
        Stage label -> colour (the user's settings); default
        :data:`~app.core.scoring.stage_colors.DEFAULT_STAGE_COLORS`, as the app draws.
    events : sequence of Event, optional
        Scored events (technician, imported, the study's own) and detector proposals:
        counted per type, and the AHI, ODI, arousal index and PLMI tabled overall, by
        stage and by position, the detector's apart from the technician's.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    FormatError
        The file cannot be written (no such folder, disk full); an old file is kept.
    """
    path = Path(path)
    figs = report_pages(hyp, study=study, anonymise=anonymise,
                        model_hypnogram=model_hypnogram, model_info=model_info,
                        scorers=scorers, lights_off_epoch=lights_off_epoch,
                        lights_on_epoch=lights_on_epoch, stage_colors=stage_colors,
                        events=events)
    # the hypnogram exports' writer: a temp file beside it, the same mode, then a rename
    with atomic_paths(path) as (tmp,):
        with PdfPages(tmp, metadata={"Title": TITLE, "Creator": "PSG Lens",
                                     "Subject": "Sleep scoring report"}) as pdf:
            for fig in figs:
                pdf.savefig(fig)
    return path
