"""Every command, handed bad input of every class: exit 2 with one sentence, never a
traceback and never the "unexpected error" path (exit 3, a bug). The files are made here.

The cases are a sweep, not a list of known bugs: each class (studies, hypnograms,
render specs, model folders, output places, numbers) crosses the commands that read it.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from app.cli import main


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    from app.core.formats import write_hypnogram
    from app.core.scoring.hypnogram import Hypnogram
    from app.core.synth import synthesize, write_edf

    d = tmp_path_factory.mktemp("sweep")
    study = synthesize(hours=0.25, seed=9)
    good = d / "good.edf"
    write_edf(study, good)
    raw = good.read_bytes()
    n_sig = int(raw[252:256])
    f: dict[str, Path] = {"good": good}

    def edf(name: str, data: bytes) -> None:
        (d / name).write_bytes(data)
        f[name] = d / name

    def field(offset: int, width: int, text: str) -> bytes:
        return raw[:offset] + text.encode().ljust(width) + raw[offset + width:]

    # -- studies ----------------------------------------------------------------------
    edf("empty.edf", b"")
    edf("random.edf", np.random.default_rng(0).bytes(5000))
    edf("header-only.edf", raw[:256 * (n_sig + 1)])
    edf("truncated.edf", raw[: len(raw) // 2])
    edf("duration-word.edf", field(244, 8, "one"))
    edf("duration-nan.edf", field(244, 8, "nan"))
    edf("records-negative.edf", field(236, 8, "-7"))
    edf("records-absurd.edf", field(236, 8, "99999999"))
    edf("no-signals.edf", field(252, 4, "0"))
    edf("start-date.edf", field(168, 8, "31.02.99"))
    sig0 = 256 + n_sig * (16 + 80 + 8)  # physical minimum of signal 0
    edf("phys-equal.edf", raw[:sig0] + b"100".ljust(8) + raw[sig0 + 8:sig0 + 8 * n_sig]
        + b"100".ljust(8) + raw[sig0 + 16 * n_sig:])
    edf("text.edf", b"this is a note, not a recording\n" * 40)
    (d / "folder.edf").mkdir()
    f["folder.edf"] = d / "folder.edf"
    f["missing.edf"] = d / "missing.edf"
    # -- hypnograms -------------------------------------------------------------------
    n = int(study.stages.size)
    write_hypnogram(Hypnogram(study.stages, start_time=study.start_time), d / "truth.csv")
    f["truth.csv"] = d / "truth.csv"

    def text(name: str, body: str | bytes) -> None:
        p = d / name
        p.write_bytes(body if isinstance(body, bytes) else body.encode())
        f[name] = p

    text("h-empty.csv", "")
    text("h-binary.csv", np.random.default_rng(1).bytes(3000))
    text("h-unknown.csv", "epoch,stage\n" + "".join(f"{i + 1},deep\n" for i in range(n)))
    text("h-short.csv", "epoch,stage\n1,W\n2,N1\n")
    text("h-nested.json", "[" * 100000 + "]" * 100000)
    text("h-nan.json", json.dumps({"epoch_sec": 30, "stages": ["W"] * n,
                                    "probabilities": [[float("nan")] * 5] * n}))
    text("h-epoch-len.json", json.dumps({"epoch_sec": -30, "stages": ["W"] * n}))
    text("h-entity.xml", '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>'
                         "<PSGAnnotation>&a;</PSGAnnotation>")
    text("h-entity16.xml", ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x '
                            '[<!ENTITY a "a">]><PSGAnnotation>&a;</PSGAnnotation>')
         .encode("utf-16"))
    text("h-bad.xml", "<PSGAnnotation><ScoredEvents>")
    text("ev-outside.csv", "onset_sec,duration_sec,type\n99999,10,hypopnea\n")
    # -- render specs ------------------------------------------------------------------
    text("s-float.json", json.dumps({"preset": "clinical", "width": 100.5}))
    text("s-color.json", json.dumps({"preset": "clinical",
                                     "rows": [{"slot": "central", "color": "red"}]}))
    text("s-broken.json", '{"width": 224,')
    text("s-list.json", "[1, 2, 3]")
    # -- model folders -----------------------------------------------------------------
    for name, card, weights in (
            ("m-empty", None, None),
            ("m-random-weights", {"name": "x"}, np.random.default_rng(2).bytes(4096)),
            ("m-zero-weights", {"name": "x"}, b""),
            ("m-card-broken", "{not json", b""),
            ("m-card-outside", {"name": "x", "base_model": "../../elsewhere"}, None),
            ("m-header-lies", {"name": "x"},
             struct.pack("<Q", 10**9) + b"{}")):
        m = d / name
        m.mkdir()
        if card is not None:
            (m / "model_card.json").write_text(card if isinstance(card, str)
                                               else json.dumps(card))
        if weights is not None:
            (m / "model.safetensors").write_bytes(weights)
        f[name] = m
    (d / "m-pickle").mkdir()
    (d / "m-pickle" / "pytorch_model.bin").write_bytes(b"\x80\x04not really a pickle")
    f["m-pickle"] = d / "m-pickle"
    f["out"] = d / "out"
    f["out"].mkdir()
    return f


BAD_STUDIES = ["empty.edf", "random.edf", "header-only.edf", "truncated.edf",
               "duration-word.edf", "duration-nan.edf", "records-negative.edf",
               "records-absurd.edf", "no-signals.edf", "phys-equal.edf", "text.edf",
               "folder.edf", "missing.edf"]
BAD_HYPNOGRAMS = ["h-empty.csv", "h-binary.csv", "h-unknown.csv", "h-nested.json",
                  "h-nan.json", "h-epoch-len.json", "h-entity.xml", "h-entity16.xml",
                  "h-bad.xml"]
BAD_SPECS = ["s-float.json", "s-color.json", "s-broken.json", "s-list.json"]
BAD_MODELS = ["m-empty", "m-random-weights", "m-zero-weights", "m-card-broken",
              "m-card-outside", "m-header-lies", "m-pickle"]


def cases() -> list[tuple[str, list[str]]]:
    out = []
    for s in BAD_STUDIES:
        out += [(f"info {s}", ["info", f"{{{s}}}"]),
                (f"check {s}", ["check", f"{{{s}}}"]),
                (f"render {s}", ["render", f"{{{s}}}", "--epoch", "1", "-o", "{out}/r.png"]),
                (f"score {s}", ["score", f"{{{s}}}", "--quiet", "-o", "{out}/s.csv"]),
                (f"report {s}", ["report", f"{{{s}}}", "--hypnogram", "{truth.csv}",
                                 "-o", "{out}/r.pdf"]),
                (f"events {s}", ["events", f"{{{s}}}", "--detect"]),
                (f"annotations {s}", ["annotations", f"{{{s}}}"]),
                (f"spectrogram {s}", ["spectrogram", f"{{{s}}}", "-o", "{out}/sp.png"])]
    for h in BAD_HYPNOGRAMS:
        out += [(f"stats {h}", ["stats", f"{{{h}}}"]),
                (f"convert {h}", ["convert", f"{{{h}}}", "{out}/c.json"]),
                (f"agree {h}", ["agree", "{truth.csv}", f"{{{h}}}"]),
                (f"report --hypnogram {h}", ["report", "{good}", "--hypnogram", f"{{{h}}}",
                                             "-o", "{out}/r.pdf"]),
                (f"events --hypnogram {h}", ["events", "{good}", "--detect", "--hypnogram",
                                             f"{{{h}}}"]),
                (f"stats --events {h}", ["stats", "{truth.csv}", "--events", f"{{{h}}}"])]
    for s in BAD_SPECS:
        out.append((f"render --spec {s}", ["render", "{good}", "--epoch", "1", "--spec",
                                           f"{{{s}}}", "-o", "{out}/r.png"]))
    for m in BAD_MODELS:
        out += [(f"model info {m}", ["model", "info", f"{{{m}}}"]),
                (f"model check {m}", ["model", "check", f"{{{m}}}", "--device", "cpu"]),
                (f"score --model {m}", ["score", "{good}", "--model", f"{{{m}}}", "--quiet",
                                        "-o", "{out}/s.csv"])]
    # output places and numbers, before any long work
    # (a missing folder is made, as the writers would; a folder under a file cannot be)
    out += [("score -o under a file", ["score", "{good}", "--quiet", "-o",
                                       "{truth.csv}/s.csv"]),
            ("score --out-dir a file", ["score", "{good}", "--quiet", "--out-dir",
                                        "{truth.csv}"]),
            ("score --prior-weight nan", ["score", "{good}", "--quiet", "--prior-weight",
                                          "nan", "-o", "{out}/s.csv"]),
            ("report -o a folder", ["report", "{good}", "--hypnogram", "{truth.csv}", "-o",
                                    "{out}"]),
            ("synth --hours 1000", ["synth", "--hours", "1000", "-o", "{out}/n.edf"]),
            ("synth --hours -1", ["synth", "--hours", "-1", "-o", "{out}/n.edf"]),
            ("render --epoch 0", ["render", "{good}", "--epoch", "0", "-o", "{out}/r.png"]),
            ("render -o x.gif", ["render", "{good}", "--epoch", "1", "-o", "{out}/r.gif"]),
            ("report --hypnogram short", ["report", "{good}", "--hypnogram", "{h-short.csv}",
                                          "-o", "{out}/r.pdf"]),
            ("spectrogram --channel missing", ["spectrogram", "{good}", "--channel", "Cz-Oz",
                                               "-o", "{out}/sp.png"]),
            ("spectrogram -o x.txt", ["spectrogram", "{good}", "-o", "{out}/sp.txt"]),
            ("report --events outside", ["report", "{good}", "--hypnogram", "{truth.csv}",
                                         "--events", "{ev-outside.csv}", "-o", "{out}/r.pdf"]),
            ("events --hypopnea-rule 2", ["events", "{good}", "--detect", "--hypopnea-rule",
                                          "2"])]
    return out


CASES = cases()


@pytest.mark.parametrize("argv", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_sentence_never_a_traceback(files, argv, capsys, tmp_path,
                                                     monkeypatch):
    monkeypatch.setenv("PSG_LENS_LOG_DIR", str(tmp_path / "log"))
    args = []
    for a in argv:  # "{name}" -> that file's path ("." in names: no str.format)
        for k, v in files.items():
            a = a.replace("{" + k + "}", str(v))
        args.append(a)
    rc = main(args)
    err = capsys.readouterr().err
    assert rc == 2, (rc, err)  # a user's error; 3 would be a bug (the unexpected path)
    assert "Traceback" not in err and not (tmp_path / "log").exists()
    lines = [x for x in err.splitlines() if x.startswith("psg-lens")]
    assert len(lines) == 1 and len(lines[0]) > 30, err  # one sentence that says something


def test_the_sweep_covers_every_class():
    assert len(CASES) >= 190  # reported in the issues' notes
