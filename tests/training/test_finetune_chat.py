"""finetune-chat: LoRA on a SleepVLM-shaped bundle's language model, vision frozen, the
bundle's own three-picture question, loss on the answer only; the result is a bundle."""

from __future__ import annotations

import numpy as np
import pytest
from models import cached, sleepvlm_bundle, sleepvlm_study

from app.core.inference.bundle import load_bundle
from app.core.inference.engine import StageEngine
from app.core.signals.recording import Recording
from training.finetune_chat import ChatFinetuneArgs, Example, answer_text, batch_inputs, main

SOURCE = {"type": "synthetic", "n_subjects": 1, "hours": 0.1, "seed": 3,
          "montages": {"aasm": 1.0}}


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return cached(sleepvlm_bundle, tmp_path_factory, False)


def test_the_answer_taught_is_the_bundles_json_with_the_stage_last():
    from app.core.inference.layout import AnswerFormat

    fmt = AnswerFormat("json", rationale_key="reasoning_text", rules_key="applicable_rules")
    text = answer_text(fmt, "R", 'Saw-tooth "waves"', ["R.1"])
    assert text == ('```json\n{\n  "reasoning_text": "Saw-tooth \\"waves\\"",\n'
                    '  "applicable_rules": ["R.1"],\n  "sleep_stage": "R"\n}\n```')
    assert text.startswith(fmt.fast_prefix().split('"reasoning_text"')[0])


def test_labels_are_masked_to_the_answer(base, tmp_path):
    import torch

    b = load_bundle(base)
    processor = b.load_processor()
    rec = Recording.open(sleepvlm_study(tmp_path / "n.edf", 5))
    batch = [Example(0, 1, 2), Example(0, 3, 4)]
    inputs = batch_inputs(b, processor, b.layout, [rec], batch, b.answer, None,
                          torch.device("cpu"), torch.float32)
    tok = processor.tokenizer
    for row, label in zip(range(2), ("N2", "R")):
        kept = inputs["labels"][row][inputs["labels"][row] != -100]
        assert tok.decode(kept) == answer_text(b.answer, label) + tok.eos_token
    assert "pixel_values" in inputs and inputs["labels"].shape == inputs["input_ids"].shape


def test_two_steps_write_an_adapter_bundle_the_app_loads(base, tmp_path):
    args = ChatFinetuneArgs(bundle=str(base), output_dir=str(tmp_path / "ours"),
                            sources=[SOURCE], epochs_per_study=4, batch_size=2, max_steps=2,
                            learning_rate=5e-2, lora_r=4, device="cpu")
    out = main(args)
    b = load_bundle(out)
    assert b.adapter_path is not None and b.layout is not None
    assert (out / "prompt.md").read_text() == (base / "prompt.md").read_text()
    assert b.card["finetune"]["log"][-1]["step"] == 1
    assert "metrics" not in b.card  # the base model's figures do not describe this one
    rec = Recording.open(sleepvlm_study(tmp_path / "n.edf", 4))
    ours = StageEngine(out, device="cpu", mode="fast").score(rec).probabilities[1:-1]
    theirs = StageEngine(base, device="cpu", mode="fast").score(rec).probabilities[1:-1]
    assert np.allclose(ours.sum(axis=1), 1, atol=1e-4)
    assert not np.allclose(ours, theirs, atol=1e-6)  # the adapter is applied


def test_a_one_picture_bundle_is_sent_to_the_other_trainer(tmp_path_factory, tmp_path):
    from models import full_bundle

    args = ChatFinetuneArgs(bundle=str(cached(full_bundle, tmp_path_factory)),
                            output_dir=str(tmp_path / "x"), sources=[SOURCE], device="cpu")
    with pytest.raises(ValueError, match="python -m training finetune"):
        main(args)
