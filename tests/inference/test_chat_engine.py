"""A SleepVLM-shaped model (tiny Qwen2.5-VL from a config) scores a study end to end:
import, three pictures per question, both modes, the rationale kept, no stage never Wake."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from models import (
    TAUGHT_RATIONALE,
    TAUGHT_RULES,
    cached,
    sleepvlm_bundle,
    sleepvlm_study,
    sleepvlm_weights,
)

from app.core.inference.bundle import load_bundle
from app.core.inference.engine import StageEngine
from app.core.scoring.stages import Stage
from app.core.signals.recording import Recording
from app.errors import ModelError

N = 6


@pytest.fixture(scope="module")
def taught(tmp_path_factory) -> Path:
    return cached(sleepvlm_bundle, tmp_path_factory, True)


@pytest.fixture(scope="module")
def untaught(tmp_path_factory) -> Path:
    return cached(sleepvlm_bundle, tmp_path_factory, False)


@pytest.fixture(scope="module")
def rec(tmp_path_factory) -> Recording:
    return Recording.open(sleepvlm_study(tmp_path_factory.mktemp("svlm") / "night.edf", N))


@pytest.fixture(scope="module")
def rationale_run(taught, rec):
    engine = StageEngine(taught, device="cpu", batch_size=4)
    return engine, engine.score(rec)


def test_import_writes_a_card_that_points_at_the_weights(taught):
    b = load_bundle(taught)
    assert b.layout is not None and b.layout.offsets == (-1, 0, 1)
    assert b.answer.default_mode == "rationale" and b.labels[-1] == "R"
    assert b.spec.name == "sleepvlm" and b.spec.width == 448 and b.spec.height == 224
    assert (taught / "prompt.md").read_text().startswith("You are a sleep technician")
    assert Path(b.card["weights"]).is_dir() and not (taught / "model.safetensors").exists()
    assert b.card["licence"]["weights"] == "apache-2.0"
    assert b.card["licence"]["base_model"] == "Qwen/Qwen2.5-VL-3B-Instruct"
    assert "N\u20111" in json.dumps(b.card["layout"], ensure_ascii=False)


def test_each_target_is_asked_with_its_neighbours_as_pictures(taught, rec, monkeypatch):
    engine = StageEngine(taught, device="cpu", mode="fast", batch_size=8)
    seen = []
    real = engine.chat.inputs

    def spy(pictures, prompt):
        seen.extend(pictures)
        return real(pictures, prompt)

    monkeypatch.setattr(engine.chat, "inputs", spy)
    engine.score(rec)
    from app.core.signals.render import render_many

    drawn = np.concatenate(list(render_many(rec, engine.spec, np.arange(N))))
    assert len(seen) == N - 2
    for k, group in enumerate(seen):
        target = k + 1
        assert len(group) == 3
        for picture, e in zip(group, (target - 1, target, target + 1)):
            assert np.array_equal(picture, drawn[e])
    text = engine.chat.prompt
    assert text.count("<|image_pad|>") == 3 and text.index("Preceding") < text.index("Target")


def test_rationale_mode_keeps_what_the_model_wrote_and_reads_the_stage_after_it(rationale_run):
    engine, hyp = rationale_run
    assert hyp.meta["mode"] == "rationale" and "approximation" not in hyp.meta
    labels = hyp.labels()
    assert labels[0] == labels[-1] == "Unscored"          # context only
    assert labels[1:-1] == ["N2"] * (N - 2)
    p = hyp.probabilities[1:-1]
    assert np.allclose(p.sum(axis=1), 1, atol=1e-4) and (p[:, 2] > 0.5).all()
    a = hyp.meta["answers"]["2"]
    assert a["rationale"] == TAUGHT_RATIONALE and a["rules"] == TAUGHT_RULES
    assert "context only" in hyp.notes[0] and "context only" in hyp.notes[-1]
    assert set(hyp.meta["answers"]) == {str(e) for e in range(1, N - 1)}


def test_rationale_mode_does_not_depend_on_batch_size(taught, rec, rationale_run):
    _, ref = rationale_run
    hyp = StageEngine(taught, device="cpu", batch_size=1).score(rec)
    assert hyp.labels() == ref.labels()
    assert np.allclose(hyp.probabilities[1:-1], ref.probabilities[1:-1], atol=1e-4)
    assert hyp.meta["answers"] == ref.meta["answers"]


def test_fast_mode_reads_the_stage_in_one_pass_and_says_it_is_an_approximation(taught, rec):
    hyp = StageEngine(taught, device="cpu", mode="fast").score(rec)
    assert hyp.meta["mode"] == "fast" and "outside what the model" in hyp.meta["approximation"]
    p = hyp.probabilities[1:-1]
    assert np.allclose(p.sum(axis=1), 1, atol=1e-4)
    assert all(a["rationale"] == "" and a["mode"] == "fast"
               for a in hyp.meta["answers"].values())


def test_no_readable_stage_is_unscored_with_a_sentence_never_wake(untaught, rec):
    engine = StageEngine(untaught, device="cpu", batch_size=4)
    engine.chat.fmt = type(engine.chat.fmt)(**{**engine.chat.fmt.__dict__,
                                               "max_new_tokens": 8})
    hyp = engine.score(rec)
    assert (hyp.stages == int(Stage.UNSCORED)).all()
    assert hyp.meta["epochs_scored"] == 0
    assert all(a["stage"] is None for a in hyp.meta["answers"].values())
    assert "gave no stage" in hyp.notes[2]
    assert np.allclose(hyp.probabilities[2], 0.2)          # no confidence invented


def test_one_epoch_on_demand_and_context_epochs_refused(taught, rec):
    engine = StageEngine(taught, device="cpu", mode="fast")
    probs, answer = engine.answer_epoch(rec, 3, mode="rationale")
    assert answer.stage == "N2" and answer.rationale == TAUGHT_RATIONALE
    assert abs(float(probs.sum()) - 1) < 1e-4
    with pytest.raises(ModelError, match="context only"):
        engine.answer_epoch(rec, 0)
    from app.core.inference.chat_readout import GenerationStopped

    with pytest.raises(GenerationStopped):
        engine.answer_epoch(rec, 2, should_stop=lambda: True)


def test_a_one_picture_model_has_no_rationale_mode(tmp_path_factory):
    from models import full_bundle

    bundle = cached(full_bundle, tmp_path_factory)
    with pytest.raises(ModelError, match="mode 'rationale' is not one it has"):
        StageEngine(bundle, device="cpu", mode="rationale")


def test_a_processor_that_would_enlarge_the_picture_is_refused(tmp_path):
    from app.core.inference.importers import import_sleepvlm

    weights = sleepvlm_weights(tmp_path, taught=False, min_pixels=448 * 448)
    (tmp_path / "p.md").write_text("Stages: W, N1, N2, N3, R.")
    bundle = import_sleepvlm(weights, tmp_path / "p.md", tmp_path / "b")
    with pytest.raises(ModelError, match="enlarges pictures"):
        StageEngine(bundle, device="cpu")
