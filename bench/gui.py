"""GUI benchmark: open a full 8-h night, flip pages, and watch the event loop while the
model runs in the worker.

    QT_QPA_PLATFORM=offscreen python bench/gui.py [--study NIGHT.edf] [--flips 200]
                                                  [--model-epochs 480] [--bundle DIR]

Prints: time from ``open_study`` to the first epoch painted; median and worst page-flip
time over ``--flips`` Right-arrow presses (key event handled, traces read, filtered and
painted, header and hypnogram cursor moved); the model picture's own cost (it follows a
flip after a 40-ms debounce, so a held arrow key never waits for it); the worst lateness of a 10-ms QTimer while a model scores the night in the
worker. The peer, measured in the same run, is the bare data path of one page (read the
window from the file + the AASM filters, no Qt): the ratio says what the GUI adds.

The night is synthetic (app.core.synth, 7 AASM channels at 256 Hz), made once in the
temp folder. The model is the embedded default if installed, else a tiny random-weight
LLaVA bundle built here (it exercises the same worker and engine code).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import app.gui  # noqa: E402,F401  (PySide6 6.12 workaround first)


def night(path: Path | None) -> Path:
    if path is not None:
        return path
    from app.core.synth import make_study_file

    # the full montage: flow, effort, SpO2 and legs too, so the events view is on screen
    out = Path(tempfile.gettempdir()) / "psg-lens-bench" / "night-8h-full.edf"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        print("making a synthetic 8-h night (once)…", file=sys.stderr)
        tmp = out.with_name("partial.edf")
        make_study_file(tmp, hours=8, seed=11, montage="full")
        tmp.replace(out)
    return out


def bundle(path: str | None) -> Path:
    from app.gui.controller import embedded_model_path

    if path:
        return Path(path)
    if (embedded_model_path() / "model_card.json").exists():
        return embedded_model_path()
    out = Path(tempfile.gettempdir()) / "psg-lens-bench" / "tiny-bundle"
    if not (out / "model_card.json").exists():
        from app.core.inference.bundle_writer import save_bundle
        from app.core.signals.render_spec import RenderSpec
        from training.tiny_llava import (
            DEFAULT_PROMPT,
            LABELS,
            PROMPT_TEMPLATE,
            TinyLlavaSpec,
            build_model_and_processor,
        )

        model, processor = build_model_and_processor(TinyLlavaSpec(
            image_size=64, patch_size=16, vision_hidden=32, vision_layers=2, vision_heads=2,
            text_hidden=32, text_layers=2, text_heads=2, text_intermediate=64))
        spec = RenderSpec.preset("clinical", width=64, height=64)
        save_bundle(out, model, processor, {
            "name": "bench-tiny", "version": "0", "labels": list(LABELS),
            "prompt": DEFAULT_PROMPT, "prompt_template": PROMPT_TEMPLATE,
            "render_spec": spec.to_dict(), "synthetic_only": True,
            "training_data": {"kind": "none (random weights)"}})
    return out


def PaintCounter():  # noqa: N802 (a QObject made after Qt is imported)
    from PySide6.QtCore import QEvent, QObject

    class _Counter(QObject):
        n = 0

        def eventFilter(self, obj, ev):  # noqa: N802
            if ev.type() == QEvent.Paint:
                self.n += 1
            return False

    return _Counter()


def clear_session(study: Path) -> None:
    from app.core.scoring.study_identity import session_path_for

    s = session_path_for(study)
    for f in (s, s.with_name(s.name + "-wal"), s.with_name(s.name + "-shm")):
        f.unlink(missing_ok=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--study", type=Path)
    ap.add_argument("--bundle")
    ap.add_argument("--flips", type=int, default=200)
    ap.add_argument("--model-epochs", type=int, default=480,
                    help="epochs the model scores while the event loop is watched")
    args = ap.parse_args()

    import numpy as np
    from PySide6.QtCore import QElapsedTimer, Qt, QTimer
    from PySide6.QtTest import QTest

    from app.config import Settings
    from app.gui.app import create_window, make_app
    from app.gui.trace_data import read_traces

    study = night(args.study)
    model = bundle(args.bundle)
    clear_session(study)
    tmp_cfg = tempfile.mkdtemp(prefix="psg-lens-bench-cfg-")
    os.environ["PSG_LENS_CONFIG_DIR"] = tmp_cfg
    qapp = make_app()
    settings = Settings(default_bundle=str(model), device="cpu", batch_size=16)
    warmed = []
    window = create_window(settings)
    window.c.worker.warmed.connect(lambda: warmed.append(1))
    window.resize(1600, 1000)
    window.show()
    window.activateWindow()
    t_warm = time.perf_counter()
    while not warmed and time.perf_counter() - t_warm < 120:  # torch imported at start-up
        qapp.processEvents()
        time.sleep(0.005)

    # 1. open the study and paint its first epoch
    t0 = time.perf_counter()
    ok = window.c.open_study(study)
    qapp.processEvents()
    window.repaint()
    qapp.processEvents()
    first = time.perf_counter() - t0
    if not ok:
        raise SystemExit(f"could not open {study}")
    ws = window.c.workspace
    view = window.study_view

    # 2. page flips: the real key path; processEvents handles the key, redraws the
    #    traces, the header and the hypnogram cursor, and paints them (counted below)
    paints = PaintCounter()
    view.traces.plot.viewport().installEventFilter(paints)
    flips = []
    for _ in range(args.flips):
        t = time.perf_counter()
        QTest.keyClick(window, Qt.Key_Right)
        qapp.processEvents()
        flips.append(time.perf_counter() - t)
    if paints.n < args.flips:
        raise SystemExit(f"only {paints.n} trace repaints for {args.flips} flips")
    # the model picture follows each flip after a 40-ms debounce; its own cost:
    picture = []
    for _ in range(50):
        view.model_view._rendered = None
        t = time.perf_counter()
        view.model_view.refresh()
        view.model_view.image.repaint()
        picture.append(time.perf_counter() - t)
    # the events view (2 min of breathing, SpO2, heart rate from the ECG) and the evidence
    # tab follow after a pause too; their own costs:
    events, evidence = [], []
    for e in range(0, min(ws.n_epochs, 400), 8):
        ws.set_epoch(e)
        t = time.perf_counter()
        view.events_view.refresh()
        events.append(time.perf_counter() - t)
        t = time.perf_counter()
        view.evidence.ready = True
        view.evidence.refresh()
        evidence.append(time.perf_counter() - t)
    # the peer: the same pages' data without Qt
    bare = []
    for e in range(args.flips):
        t = time.perf_counter()
        a, b = ws.visible_span(e)
        read_traces(ws.recording, view.traces.rows, a, b)
        bare.append(time.perf_counter() - t)

    # 3. event-loop lateness while the model runs in the worker
    ws.set_epoch(0)
    late, last = [], [None]
    clock = QElapsedTimer()
    clock.start()

    def tick() -> None:
        now = clock.nsecsElapsed() / 1e6
        if last[0] is not None:
            late.append(now - last[0] - 10.0)
        last[0] = now

    timer = QTimer(interval=10)
    timer.setTimerType(Qt.PreciseTimer)
    timer.timeout.connect(tick)
    n = min(args.model_epochs, ws.n_epochs)
    t_run = time.perf_counter()
    timer.start()
    window.c.run_model(list(range(n)))
    while window.c.worker.busy:
        qapp.processEvents()
        time.sleep(0.001)
    timer.stop()
    run_sec = time.perf_counter() - t_run
    scored = ws.active_run.n_done if ws.active_run else 0

    med, worst = statistics.median(flips) * 1e3, max(flips) * 1e3
    bare_med = statistics.median(bare) * 1e3
    print(f"study: {study.name}, {ws.n_epochs} epochs, {len(ws.recording.channels)} channels "
          f"at {ws.recording.channels[0].sfreq:g} Hz; window 1600x1000, "
          f"QT_QPA_PLATFORM={os.environ.get('QT_QPA_PLATFORM')}")
    print(f"open study + first epoch painted: {first:.3f} s   (target < 2 s)")
    print(f"page flip over {len(flips)} flips: median {med:.1f} ms, worst {worst:.1f} ms   "
          f"(targets < 30 ms, < 100 ms)")
    print(f"peer (read + filter the same page, no Qt): median {bare_med:.1f} ms; "
          f"flip/peer = {med / bare_med:.1f}x")
    print(f"model picture (render_epoch with the bundle's spec + paint, after the flip): "
          f"median {statistics.median(picture) * 1e3:.1f} ms")
    print(f"events view ({len(view.events_view.rows)} rows, 2 min) after the flip: median "
          f"{statistics.median(events) * 1e3:.1f} ms; evidence tab: median "
          f"{statistics.median(evidence) * 1e3:.1f} ms (the first fills the night's chin "
          "cache)")
    card = window.c.bundle().card if window.c.bundle() is not None else {}
    label = f"{card.get('name', model.name)} {card.get('version', '')}".strip()
    print(f"model run in the worker ({label}, CPU): {scored} epochs in {run_sec:.1f} s "
          f"({scored / run_sec:.1f} epochs/s)")
    print(f"event-loop worst delay while the model ran: {max(late):.1f} ms over "
          f"{len(late)} ticks (median {np.median(late):.1f} ms)   (target < 100 ms)")
    window.close()


if __name__ == "__main__":
    main()
