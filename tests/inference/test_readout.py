"""The one-pass label readout: planning from the tokenizer, and two-level probabilities
when labels share their first token (as "N1/N2/N3" do under Mistral's and Qwen2's
digit-splitting tokenizers)."""

from __future__ import annotations

import numpy as np
import pytest
from models import build, cached, full_bundle, study

from app.core.explain import explain_epoch
from app.core.inference.engine import StageEngine
from app.core.inference.readout import label_readout, prepare_inputs, stage_probabilities
from app.core.signals.recording import Recording
from app.core.signals.render import render_many
from app.errors import ModelError
from training.tiny_llava import DEFAULT_PROMPT, LABELS, PROMPT_TEMPLATE, build_tokenizer

PROMPT = PROMPT_TEMPLATE.format(prompt=DEFAULT_PROMPT)


def pieces(tok, plan) -> list[list[str]]:
    return [tok.convert_ids_to_tokens([*plan.path[:d], t]) for d, t in plan.exits]


def test_distinct_first_tokens_need_no_path():
    tok = build_tokenizer()
    plan = label_readout(tok, PROMPT, LABELS)
    assert plan.path == () and plan.positions == 1
    assert pieces(tok, plan) == [["W"], ["N1"], ["N2"], ["N3"], ["REM"]]
    assert plan.describe(tok) == "W=W, N1=N1, N2=N2, N3=N3, REM=REM"


def test_labels_sharing_a_first_token_are_read_through_it():
    tok = build_tokenizer(split_digits=True)
    plan = label_readout(tok, PROMPT, LABELS)
    assert tok.convert_ids_to_tokens(list(plan.path)) == ["N"] and plan.positions == 2
    assert pieces(tok, plan) == [["W"], ["N", "1"], ["N", "2"], ["N", "3"], ["REM"]]
    assert plan.describe(tok) == "W=W, N1=N+1, N2=N+2, N3=N+3, REM=REM"
    assert len(set(plan.first_ids)) == 3


@pytest.mark.parametrize("labels, message", [
    (("W", "N", "N1"), r"'N' of the model is the start of 'N1'"),
    (("N1", "N2", "R1", "R2"), r"N1/N2 and R1/R2 of the model form two groups"),
    (("W", "N1", "N 1"), r"'N1' and 'N 1' of the model tokenize the same"),
    (("W", "Stage1"), r"'Stage1' of the model is unknown to its tokenizer"),
])
def test_labels_one_pass_cannot_read_are_refused(labels, message):
    with pytest.raises(ModelError, match=message):
        label_readout(build_tokenizer(split_digits=True), PROMPT, labels)


def _probs_by_two_passes(model, processor, images) -> np.ndarray:
    """The same quantity computed the long way: the first-token softmax from the prompt,
    the digit softmax from a SECOND forward pass on the text "prompt N"."""
    import torch

    tok = processor.tokenizer
    ids = {w: tok.convert_tokens_to_ids(w) for w in ("W", "N", "1", "2", "3", "REM")}
    with torch.inference_mode():
        a = model(**prepare_inputs(processor, images, PROMPT, "cpu", torch.float32)).logits
        b = model(**prepare_inputs(processor, images, PROMPT + " N", "cpu",
                                   torch.float32)).logits
    first = a[:, -1, [ids["W"], ids["N"], ids["REM"]]].softmax(-1)
    digit = b[:, -1, [ids["1"], ids["2"], ids["3"]]].softmax(-1)
    return torch.cat([first[:, :1], first[:, 1:2] * digit, first[:, 2:]], 1).numpy()


@pytest.mark.parametrize("arch", ["llava", "llava_next"])
def test_two_level_probabilities_in_one_pass_match_two_passes(arch):
    import torch

    model, processor = build(arch, seed=3, split_digits=True)
    plan = label_readout(processor.tokenizer, PROMPT, LABELS)
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (64, 64, 3), dtype=np.uint8) for _ in range(3)]
    inputs = prepare_inputs(processor, images, PROMPT, "cpu", torch.float32)
    got = stage_probabilities(model, inputs, plan)
    np.testing.assert_allclose(got.sum(axis=1), 1, atol=1e-5)
    np.testing.assert_allclose(got, _probs_by_two_passes(model, processor, images), atol=1e-5)
    assert not np.allclose(got[0], got[1])  # the picture matters: not a constant


@pytest.fixture(scope="module")
def split_engine(tmp_path_factory):
    return StageEngine(cached(full_bundle, tmp_path_factory, split_digits=True),
                       device="cpu", batch_size=3)


@pytest.fixture(scope="module")
def rec(tmp_path_factory) -> Recording:
    return Recording.open(study(tmp_path_factory.mktemp("study") / "s.edf", 6))


def test_a_split_label_bundle_scores_and_explains(split_engine, rec):
    hyp = split_engine.score(rec)
    p = hyp.probabilities
    assert p.shape == (6, 5) and np.allclose(p.sum(axis=1), 1, atol=1e-5)
    images = np.concatenate(list(render_many(rec, split_engine.spec)))
    np.testing.assert_allclose(
        p, _probs_by_two_passes(split_engine.model, split_engine.processor, list(images)),
        atol=1e-5)
    ex = explain_epoch(split_engine, rec, 2, method="ig", stage=2)
    np.testing.assert_allclose(ex.probabilities, p[2], atol=1e-5)
    assert ex.stage == 2 and np.isfinite(ex.heatmap).all() and ex.raw.any()
