"""psg-lens score / model info / model check, through app.cli.main."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from models import cached, full_bundle, study

from app.cli import main
from app.commands import score as score_cmd


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    return cached(full_bundle, tmp_path_factory)


@pytest.fixture(scope="module")
def studies(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("studies")
    for i, n in enumerate((6, 4, 5)):
        study(folder / f"night{i}.edf", n, seed=i)
    return folder


def _read(path: Path):
    from app.core.formats import read_hypnogram

    return read_hypnogram(path)


def test_score_one_study_to_csv(bundle, studies, tmp_path, capsys):
    out = tmp_path / "out.csv"
    rc = main(["score", str(studies / "night0.edf"), "--model", str(bundle), "--device", "cpu",
               "--batch-size", "4", "-o", str(out)])
    assert rc == 0
    hyp = _read(out)
    assert hyp.n_epochs == 6 and (hyp.stages >= 0).all()
    err = capsys.readouterr().err
    assert "6 epochs scored by tiny-llava-clinical/0.0.1" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_score_smooth_and_json(bundle, studies, tmp_path):
    out = tmp_path / "out.json"
    assert main(["score", str(studies / "night1.edf"), "--model", str(bundle), "--device",
                 "cpu", "--smooth", "--quiet", "-o", str(out)]) == 0
    assert _read(out).n_epochs == 4


def test_missing_default_model_names_the_option(studies, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(score_cmd, "default_model_path", lambda: tmp_path / "no-model")
    rc = main(["score", str(studies / "night0.edf"), "-o", str(tmp_path / "o.csv")])
    err = capsys.readouterr().err
    assert rc == 2 and "embedded default model is not installed" in err and "--model" in err
    assert not (tmp_path / "o.csv").exists()


def test_a_truncated_study_is_refused_in_words_then_scored_in_part_with_truncated(
        bundle, studies, tmp_path, capsys):
    data = (studies / "night0.edf").read_bytes()  # 6 epochs; the copy ends inside epoch 6
    cut = tmp_path / "cut.edf"
    cut.write_bytes(data[: len(data) - 2000])
    out = tmp_path / "cut.csv"
    args = ["score", str(cut), "--model", str(bundle), "--device", "cpu", "--engine", "vlm",
            "-o", str(out)]
    assert main(args) != 0
    err = capsys.readouterr().err
    assert "cut.edf is truncated" in err and "--truncated" in err and not out.exists()
    assert main([*args, "--truncated"]) == 0
    err = capsys.readouterr().err
    assert re.search(r"note: cut\.edf is truncated: only the \d+ complete data records", err)
    hyp = _read(out)
    assert hyp.n_epochs == 5 and (hyp.stages >= 0).all()


def test_unknown_output_extension_fails_before_scoring(bundle, studies, tmp_path, capsys):
    rc = main(["score", str(studies / "night0.edf"), "--model", str(bundle),
               "-o", str(tmp_path / "o.docx")])
    assert rc == 2 and "Cannot tell the format" in capsys.readouterr().err


def test_ctrl_c_writes_nothing(bundle, studies, tmp_path, monkeypatch, capsys):
    from app.core.inference.engine import StageEngine

    real = StageEngine.predict

    def interrupted(self, rec, **kw):
        gen = real(self, rec, **kw)
        yield next(gen)
        raise KeyboardInterrupt

    monkeypatch.setattr(StageEngine, "predict", interrupted)
    out = tmp_path / "o.csv"
    rc = main(["score", str(studies / "night0.edf"), "--model", str(bundle), "--device", "cpu",
               "--batch-size", "2", "-o", str(out)])
    assert rc == 130 and "stopped" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_many_studies_are_resumable(bundle, studies, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["score", str(studies), "--model", str(bundle), "--device", "cpu",
            "--out-dir", str(out), "--format", "csv", "--quiet"]
    assert main(args) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["night0.csv", "night1.csv", "night2.csv"]
    stamp = (out / "night1.csv").stat().st_mtime_ns
    (out / "night2.csv").unlink()
    assert main([*args[:-1]]) == 0          # without --quiet: a summary line
    err = capsys.readouterr().err
    assert "1 to score, 2 already done" in err and "1 scored, 2 skipped, 0 failed" in err
    assert (out / "night1.csv").stat().st_mtime_ns == stamp
    assert _read(out / "night2.csv").n_epochs == 5


def test_one_bad_study_does_not_stop_the_batch(bundle, studies, tmp_path, capsys):
    bad = tmp_path / "in" / "broken.edf"
    bad.parent.mkdir()
    bad.write_bytes(b"0       not an edf at all")
    rc = main(["score", str(studies / "night1.edf"), str(bad), "--model", str(bundle),
               "--device", "cpu", "--out-dir", str(tmp_path / "out"), "--quiet"])
    assert rc == 1 and "broken.edf: error:" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["night1.csv"]


def test_shard_assignment_from_env():
    assert score_cmd.shard_info({}) == (0, 1)
    assert score_cmd.shard_info({"RANK": "1", "WORLD_SIZE": "3"}) == (1, 3)
    assert score_cmd.shard_info({"OMPI_COMM_WORLD_RANK": "2",
                                 "OMPI_COMM_WORLD_SIZE": "4"}) == (2, 4)
    items = list(range(10))
    parts = [score_cmd.shard(items, r, 3) for r in range(3)]
    assert parts[1] == [1, 4, 7]
    assert sorted(sum(parts, [])) == items
    with pytest.raises(Exception, match="outside"):
        score_cmd.shard_info({"RANK": "3", "WORLD_SIZE": "3"})


def test_each_process_scores_only_its_shard(bundle, studies, tmp_path, monkeypatch):
    out = tmp_path / "out"
    monkeypatch.setenv("WORLD_SIZE", "2")
    for rank in ("1", "0"):
        monkeypatch.setenv("RANK", rank)
        assert main(["score", str(studies), "--model", str(bundle), "--device", "cpu",
                     "--out-dir", str(out), "--quiet"]) == 0
        if rank == "1":  # sorted studies night0, night1, night2: rank 1 owns index 1
            assert sorted(p.name for p in out.iterdir()) == ["night1.csv"]
    assert sorted(p.name for p in out.iterdir()) == ["night0.csv", "night1.csv", "night2.csv"]


def test_score_with_yasa(studies, tmp_path):
    pytest.importorskip("yasa")
    out = tmp_path / "y.csv"
    assert main(["score", str(studies / "night0.edf"), "--engine", "yasa", "--quiet",
                 "-o", str(out)]) == 0
    assert _read(out).n_epochs == 6


def test_model_info(bundle, capsys):
    assert main(["model", "info", str(bundle)]) == 0
    out = capsys.readouterr().out
    for text in ("tiny-llava-clinical 0.0.1", "LlavaForConditionalGeneration",
                 "full model in the bundle", "W, N1, N2, N3, REM", "Classify the PSG.",
                 "clinical v1: 64x64, 6 rows", "held_out_synthetic", "random weights",
                 "trained on synthetic signals only"):
        assert text in out, text


def test_model_info_on_a_card_with_partial_figures(bundle, tmp_path, capsys):
    # a hand-edited or older card: missing or non-numeric figures read "?", no error
    import json
    import shutil

    copy = tmp_path / "edited"
    shutil.copytree(bundle, copy)
    card = json.loads((copy / "model_card.json").read_text())
    card["calibration"] = {"temperature": 1.2, "method": "temperature"}
    card.setdefault("metrics", {})["channel_subsets"] = {"subsets": [{"name": "single EEG"}]}
    (copy / "model_card.json").write_text(json.dumps(card))
    assert main(["model", "info", str(copy)]) == 0
    out = capsys.readouterr().out
    assert "temperature 1.200" in out and "error ? -> ?" in out
    assert "single EEG" in out and "acc ?" in out


def test_model_info_puts_the_peer_beside_each_subset(bundle, tmp_path, capsys):
    import json
    import shutil

    copy = tmp_path / "peer"
    shutil.copytree(bundle, copy)
    card = json.loads((copy / "model_card.json").read_text())
    card.setdefault("metrics", {})["channel_subsets"] = {"subsets": [
        {"name": "one central EEG", "slots": ["central"], "accuracy": 0.63, "kappa": 0.48,
         "peer": {"name": "yasa/0.8.1", "accuracy": 0.81, "model_accuracy": 0.6}}]}
    (copy / "model_card.json").write_text(json.dumps(card))
    assert main(["model", "info", str(copy)]) == 0
    assert "acc 0.630  kappa 0.480  | whole nights: score 0.600, yasa/0.8.1 0.810" in \
        capsys.readouterr().out


def test_model_info_prints_the_fusion_the_card_measured(bundle, tmp_path, capsys):
    import json
    import shutil

    copy = tmp_path / "fused"
    shutil.copytree(bundle, copy)
    card = json.loads((copy / "model_card.json").read_text())
    card.setdefault("metrics", {})["fusion"] = {
        "peer": "yasa/0.8.1", "weights": {"one EEG lead": 0.3, "several leads": 0.5},
        "temperature": 0.5, "ece": {"before": 0.14, "after": 0.02}, "data": "fit on 4 nights", "results": [{"name": "one central EEG",
                                                 "slots": ["central"], "fused": 0.92,
                                                 "model": 0.87, "peer": 0.88}]}
    (copy / "model_card.json").write_text(json.dumps(card))
    assert main(["model", "info", str(copy)]) == 0
    out = capsys.readouterr().out
    assert "fused with yasa/0.8.1: the model's weight 0.3 with one EEG lead, 0.5 with " \
           "several (fit on 4 nights)" in out
    assert "fused 0.920  model 0.870  yasa/0.8.1 0.880" in out
    assert "temperature 0.5; expected calibration error 0.140 -> 0.020" in out
    assert "'weights'" not in out  # not dumped again among the raw metrics


def test_model_info_on_a_folder_without_card(tmp_path, capsys):
    assert main(["model", "info", str(tmp_path)]) == 2
    assert "has no model_card.json" in capsys.readouterr().err


def test_model_check_prints_five_probabilities(bundle, capsys):
    assert main(["model", "check", str(bundle), "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    probs = {m[0]: float(m[1]) for m in
             re.findall(r"^\s+(W|N1|N2|N3|REM)\s+([0-9.]+)", out, flags=re.M)}
    assert list(probs) == ["W", "N1", "N2", "N3", "REM"]
    assert np.isclose(sum(probs.values()), 1, atol=1e-3)


def test_a_bug_on_one_study_is_logged_and_the_rest_are_scored(bundle, studies, tmp_path,
                                                               capsys, monkeypatch):
    """Not a PSGLensError: the batch goes on, the summary says what failed and where the
    traceback went (the log, never the screen)."""
    monkeypatch.setenv("PSG_LENS_LOG_DIR", str(tmp_path / "log"))
    real = score_cmd.score_study

    def flaky(engine, study, args):
        if study.name == "night0.edf":
            raise ZeroDivisionError("a bug")
        return real(engine, study, args)

    monkeypatch.setattr(score_cmd, "score_study", flaky)
    rc = main(["score", str(studies / "night0.edf"), str(studies / "night1.edf"), "--model",
               str(bundle), "--device", "cpu", "--out-dir", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert rc == 1 and "1 scored, 0 skipped, 1 failed" in err and "Traceback" not in err
    assert "failed:\n  " in err and "ZeroDivisionError: a bug" in err
    log = (tmp_path / "log" / "psg-lens.log").read_text()
    assert "Traceback" in log and "ZeroDivisionError" in log and str(tmp_path / "log") in err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["night1.csv"]


def test_any_unexpected_error_is_one_sentence_and_the_traceback_is_logged(
        tmp_path, capsys, monkeypatch):
    from app.commands import info

    monkeypatch.setenv("PSG_LENS_LOG_DIR", str(tmp_path / "log"))
    monkeypatch.setattr(info, "run", lambda args: {}["missing"])
    rc = main(["info", "x.edf"])
    err = capsys.readouterr().err
    assert rc == 3 and err.count("\n") == 1 and "KeyError" in err and "Traceback" not in err
    assert "Traceback" in (tmp_path / "log" / "psg-lens.log").read_text()


def _score_with_the_shipped_model(tmp_path, capsys, montage: str, *extra: str) -> str:
    """Six epochs recorded with ``montage``, scored by the embedded model: its stderr."""
    pytest.importorskip("transformers")
    from app.core.synth import make_study_file

    path = tmp_path / f"{montage}.edf"
    make_study_file(path, stages=np.resize([0, 2, 3, 4], 6), seed=1, montage=montage,
                    sfreq=100.0)
    assert main(["score", str(path), "--device", "cpu", "-o", str(tmp_path / "o.csv"),
                 *extra]) == 0
    return " ".join(capsys.readouterr().err.split())


def test_a_lone_central_lead_is_told_the_peer_the_card_measured_better(tmp_path, capsys):
    # the shipped card's peer_comparisons (bench/single_lead.py --update-card): the model
    # alone is told of YASA; by default `score` fuses the two and says why
    err = _score_with_the_shipped_model(tmp_path, capsys, "single-c3", "--engine", "vlm")
    assert "With only these channels this model is weak" in err
    assert "consider scoring this study with yasa/" in err and "--engine yasa" in err
    pytest.importorskip("yasa")
    err = _score_with_the_shipped_model(tmp_path, capsys, "single-c3")
    assert "consider scoring" not in err
    assert "With only these channels the model card measured yasa/" in err
    assert "Each epoch was therefore staged from both together" in err
    assert "+yasa/" in _read(tmp_path / "o.csv").scorer


def test_the_shipped_cards_subset_table_advises_the_peer_only_where_it_did_better(
        tmp_path, capsys):
    # the channel-subset table's whole-night comparisons (python -m training subsets):
    # a Sleep-EDF-like study is told YASA did better; EEG + EOG without a chin, where
    # the model was ahead, is not
    err = _score_with_the_shipped_model(tmp_path, capsys, "sleep-edf", "--engine", "vlm")
    assert "staged from these leads only, yasa/" in err and "--engine yasa" in err
    from app.core.inference.bundle import load_bundle
    from app.core.inference.engine import describe_missing
    from app.core.signals.channels import Source
    from app.resources import resource_path

    shipped = load_bundle(resource_path("models", "default"))
    no_chin = [None if r.slot == "chin" else Source(r.label, r.label) for r in shipped.spec.rows]
    text = describe_missing("n.edf", shipped.spec, no_chin, shipped.validated_subsets,
                            shipped.peer_comparisons)
    assert "With EEG + EOG, no chin the model's accuracy" in text
    assert "consider scoring" not in text  # the model was ahead of YASA there


def test_cross_check_notes_each_epoch_yasa_stages_differently(bundle, studies, tmp_path,
                                                               capsys):
    pytest.importorskip("yasa")
    from app.core.inference.yasa_engine import YasaEngine
    from app.core.signals.recording import Recording

    plain, checked = tmp_path / "plain.csv", tmp_path / "checked.csv"
    base = ["score", str(studies / "night0.edf"), "--model", str(bundle), "--device", "cpu"]
    assert main([*base, "-o", str(plain)]) == 0
    assert main([*base, "--cross-check", "-o", str(checked)]) == 0
    a, b = _read(plain), _read(checked)
    assert np.array_equal(a.stages, b.stages)  # the cross-check never changes a stage
    assert np.allclose(a.probabilities, b.probabilities)
    peer = YasaEngine().score(Recording.open(studies / "night0.edf")).stages
    differ = peer != b.stages
    notes = b.notes or [""] * b.n_epochs
    assert [bool(n) for n in notes] == differ.tolist()
    assert all(n.startswith("YASA: ") for n, d in zip(notes, differ) if d)
    err = capsys.readouterr().err
    assert f"YASA stages {int(differ.sum())} of 6 epochs" in err or (
        not differ.any() and "YASA stages all 6 epochs as the model does" in err)


def test_cross_check_that_cannot_run_still_writes_the_model_night(bundle, studies, tmp_path,
                                                                  monkeypatch, capsys):
    from app.core.inference import yasa_engine
    from app.errors import ModelError

    def no_yasa(*a, **kw):
        raise ModelError("The YASA second opinion needs the yasa package, which is not "
                         "installed; install it with 'pip install yasa'.")

    monkeypatch.setattr(yasa_engine, "YasaEngine", no_yasa)
    out = tmp_path / "out.csv"
    assert main(["score", str(studies / "night1.edf"), "--model", str(bundle), "--device",
                 "cpu", "--cross-check", "-o", str(out)]) == 0
    assert _read(out).n_epochs == 4
    assert ("The night was not cross-checked with YASA: The YASA second opinion needs the "
            "yasa package") in capsys.readouterr().err


def test_cross_check_with_the_yasa_engine_is_refused(studies, tmp_path, capsys):
    rc = main(["score", str(studies / "night0.edf"), "--engine", "yasa", "--cross-check",
               "-o", str(tmp_path / "y.csv")])
    assert rc != 0
    assert "no model to compare" in capsys.readouterr().err
    assert not (tmp_path / "y.csv").exists()
