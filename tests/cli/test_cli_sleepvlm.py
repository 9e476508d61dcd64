"""model import sleepvlm, model info/check and score --mode with a SleepVLM-shaped bundle."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from models import SLEEPVLM_PROMPT, TAUGHT_RATIONALE, cached, sleepvlm_study, sleepvlm_weights

from app.cli import main


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    return cached(sleepvlm_weights, tmp_path_factory, True)


@pytest.fixture(scope="module")
def bundle(weights, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cli-svlm")
    (root / "prompt.md").write_text(SLEEPVLM_PROMPT, encoding="utf-8")
    assert main(["model", "import", "sleepvlm", str(weights), "--prompt",
                 str(root / "prompt.md"), "-o", str(root / "bundle")]) == 0
    return root / "bundle"


def test_import_without_a_prompt_is_one_sentence(weights, tmp_path, capsys):
    rc = main(["model", "import", "sleepvlm", str(weights), "-o", str(tmp_path / "b")])
    err = capsys.readouterr().err
    assert rc != 0 and "needs the system prompt" in err and "Traceback" not in err
    assert not (tmp_path / "b").exists()


def test_model_info_says_how_the_question_and_answer_are_laid_out(bundle, capsys):
    assert main(["model", "info", str(bundle)]) == 0
    out = capsys.readouterr().out
    assert "pictures of epochs [-1, 0, 1]" in out
    assert 'JSON with "reasoning_text", "applicable_rules", "sleep_stage"' in out
    assert "default mode rationale" in out and "full model in /" in out


def test_model_check_prints_the_rationale(bundle, capsys):
    assert main(["model", "check", str(bundle), "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "mode rationale" in out and TAUGHT_RATIONALE in out and "N2.1" in out


def test_score_writes_the_answers_beside_the_hypnogram(bundle, tmp_path, capsys):
    study = sleepvlm_study(tmp_path / "night.edf", 5)
    out = tmp_path / "night.csv"
    assert main(["score", str(study), "--model", str(bundle), "--device", "cpu",
                 "--quiet", "-o", str(out)]) == 0
    lines = (tmp_path / "night.answers.jsonl").read_text().splitlines()
    rows = [json.loads(x) for x in lines]
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    assert rows[0]["rationale"] == TAUGHT_RATIONALE and rows[0]["stage"] == "N2"
    csv = out.read_text()
    assert "context only" in csv


def test_score_fast_mode_says_it_is_an_approximation(bundle, tmp_path, capsys):
    study = sleepvlm_study(tmp_path / "night.edf", 4)
    assert main(["score", str(study), "--model", str(bundle), "--device", "cpu",
                 "--mode", "fast", "-o", str(tmp_path / "n.csv")]) == 0
    err = capsys.readouterr().err
    assert "fast mode" in err and "outside what the model was trained" in err
    rows = [json.loads(x) for x in (tmp_path / "n.answers.jsonl").read_text().splitlines()]
    assert all(r["mode"] == "fast" and r["rationale"] == "" for r in rows)


def test_explain_maps_the_heatmap_onto_the_target_picture(bundle, tmp_path, capsys):
    study = sleepvlm_study(tmp_path / "night.edf", 5)
    out = tmp_path / "why.png"
    assert main(["explain", str(study), "--epoch", "3", "--model", str(bundle), "--device",
                 "cpu", "--method", "ig", "--quiet", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert out.stat().st_size > 1000 and "empty rationale" in text and "C4" in text
    rc = main(["explain", str(study), "--epoch", "1", "--model", str(bundle), "--device",
               "cpu", "--quiet", "-o", str(out)])
    err = capsys.readouterr().err
    assert rc != 0 and "context only" in err and "Traceback" not in err
    rc = main(["explain", str(study), "--epoch", "3", "--model", str(bundle), "--device",
               "cpu", "--method", "rollout", "--quiet", "-o", str(out)])
    assert rc != 0 and "ig or occlusion" in capsys.readouterr().err
