"""The layout a chat bundle declares, its JSON answer, and how the stage is read from it."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.inference.chat_readout import Answer, StageCapture, parse_answer, parse_partial
from app.core.inference.layout import AnswerFormat, MessageLayout
from app.errors import ModelError

LABELS = ("W", "N1", "N2", "N3", "R")
FMT = AnswerFormat("json", rationale_key="reasoning_text", rules_key="applicable_rules")
THREE = [{"text": "before: "}, {"image": -1}, {"text": "target: "}, {"image": 0},
         {"text": "after: "}, {"image": 1}]


def test_layout_targets_skip_the_epochs_without_context():
    lay = MessageLayout.from_card({"system": "s", "user": THREE}, None)
    assert lay.offsets == (-1, 0, 1) and lay.context == (1, 1)
    assert lay.targets(5).tolist() == [1, 2, 3]
    assert lay.targets(2).tolist() == []
    one = MessageLayout.from_card({"user": [{"image": 0}, {"text": "stage?"}]}, None)
    assert one.targets(3).tolist() == [0, 1, 2]


def test_layout_messages_interleave_text_and_pictures_in_order():
    lay = MessageLayout.from_card({"system": "You stage.", "user": THREE}, None)
    msgs = lay.messages()
    assert msgs[0] == {"role": "system", "content": "You stage."}
    kinds = [c["type"] for c in msgs[1]["content"]]
    assert kinds == ["text", "image", "text", "image", "text", "image"]
    assert MessageLayout.from_card(lay.to_card(), None) == lay


@pytest.mark.parametrize("user, words", [
    ([{"image": -1}, {"image": 1}], "exactly once"),
    ([{"image": 0}, {"image": 0}], "exactly once"),
    ([{"image": 0}, {"picture": 1}], "part 2"),
    ([{"image": 0}, {"image": 40}], "part 2"),
    ([], "list of text and image parts"),
])
def test_bad_layouts_are_refused_in_words(user, words):
    with pytest.raises(ModelError, match=words):
        MessageLayout.from_card({"user": user}, None)


def test_the_prompt_file_must_be_inside_the_bundle(tmp_path):
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (tmp_path / "secret.md").write_text("outside")
    with pytest.raises(ModelError, match="outside the bundle"):
        MessageLayout.from_card({"system_file": "../secret.md", "user": THREE}, bundle)
    with pytest.raises(ModelError, match="missing from the bundle"):
        MessageLayout.from_card({"system_file": "prompt.md", "user": THREE}, bundle)
    (bundle / "prompt.md").write_text("Stage W N1 N2 N3 R.")
    lay = MessageLayout.from_card({"system_file": "prompt.md", "user": THREE}, bundle)
    assert lay.system == "Stage W N1 N2 N3 R." and lay.to_card()["system_file"] == "prompt.md"


def test_fast_prefix_is_the_answer_up_to_the_stage_with_empty_reasons():
    assert FMT.trigger == '"sleep_stage": "'
    assert FMT.fast_prefix() == ('```json\n{\n  "reasoning_text": "",\n'
                                 '  "applicable_rules": [],\n  "sleep_stage": "')
    coarse = AnswerFormat("json", rules_key="applicable_rules")
    assert coarse.fast_prefix() == '```json\n{\n  "applicable_rules": [],\n  "sleep_stage": "'


@pytest.mark.parametrize("card, words", [
    ({"format": "xml"}, "not 'label' or 'json'"),
    ({"format": "json", "stage_key": 'a"b'}, "JSON key name"),
    ({"format": "json", "max_new_tokens": 0}, "8..8192"),
    ({"format": "json", "default_mode": "slow"}, "default_mode"),
    ({"format": "label", "default_mode": "rationale"}, "default_mode"),
])
def test_bad_answer_sections_are_refused(card, words):
    with pytest.raises(ModelError, match=words):
        AnswerFormat.from_card(card)


@pytest.mark.parametrize("text, stage", [
    ('```json\n{"reasoning_text": "Alpha.", "applicable_rules": ["W.1"], '
     '"sleep_stage": "W"}\n```', "W"),
    ('Here you go: {"sleep_stage": "r", "applicable_rules": "R.1, R.2"}', "R"),
    ('```json\n{\u201csleep_stage\u201d: \u201cN3\u201d,}\n```', "N3"),
    ('```json\n{"applicable_rules": ["N1.1",], "sleep_stage": "N1",}\n```', "N1"),
])
def test_written_answers_are_read_tolerantly(text, stage):
    assert parse_answer(text, FMT, LABELS).stage == stage


@pytest.mark.parametrize("text, words", [
    ("The epoch looks like stage two.", "no JSON object"),
    ('{"sleep_stage": "N4"}', "not one of"),
    ('{"sleep_stage": ""}', "not one of"),
    ('{"reasoning_text": "no stage key"}', "not one of"),
])
def test_an_answer_without_a_readable_stage_has_none_never_wake(text, words):
    a = parse_answer(text, FMT, LABELS)
    assert a.stage is None and words in a.note


def test_rules_and_rationale_from_an_answer_cut_at_the_stage_key():
    text = ('```json\n{\n  "reasoning_text": "Spindles; \\"K\\" complex.",\n'
            '  "applicable_rules": ["N2.1", "N2.3"],\n  "sleep_stage": "')
    rationale, rules = parse_partial(text, FMT)
    assert rationale == 'Spindles; "K" complex.' and rules == ("N2.1", "N2.3")


def test_answers_round_trip_through_dicts():
    a = Answer("N2", "why", ("N2.1",), "rationale", "")
    assert Answer.from_dict(a.to_dict()) == a


class _Tok:
    """Token i decodes to WORDS[i]; enough of a tokenizer for StageCapture."""

    WORDS = ['{"', "reasoning", '": "', "x", '"sleep_stage": "', "N", "1", "2", "3", "W", "R",
             "<eos>"]

    def __call__(self, text, add_special_tokens=False):
        return {"input_ids": [0] * 3}

    def decode(self, ids, skip_special_tokens=False):
        return "".join(self.WORDS[int(i)] for i in ids)


def test_stage_capture_reads_at_the_stage_key_then_ends_the_answer():
    import torch

    from app.core.inference.readout import LabelReadout

    # W=9, R=10 single tokens; N1..N3 = "N"(5) + digit (6, 7, 8)
    readout = LabelReadout(LABELS, (5,), ((0, 9), (1, 6), (1, 7), (1, 8), (0, 10)))
    cap = StageCapture(_Tok(), readout, '"sleep_stage": "', prompt_len=1, batch=2, eos_id=11)
    vocab = 12
    logits0 = torch.zeros(2, vocab)
    logits0[:, 5], logits0[:, 9] = 2.0, 1.0            # at the key: N likelier than W
    seq = torch.tensor([[0, 4], [0, 3]])                # row 0 wrote the key, row 1 did not
    out = cap(seq, logits0.clone())
    assert int(out[0].argmax()) == 5                    # row 0: the N path is forced
    assert torch.equal(out[1], logits0[1])              # row 1: untouched, still writing
    logits1 = torch.zeros(2, vocab)
    logits1[:, 7] = 3.0                                 # after "N": "2"
    out = cap(torch.tensor([[0, 4, 5], [0, 3, 3]]), logits1.clone())
    assert int(out[0].argmax()) == 11                   # stage read: the answer ends
    p = np.exp(cap.log_probs[0])
    assert abs(p.sum() - 1) < 1e-5 and LABELS[int(p.argmax())] == "N2"
    p_n = np.exp(2.0) / (np.exp(2.0) + np.exp(1.0) + 1)  # softmax over W, R, N at the key
    assert p[2] == pytest.approx(p_n * np.exp(3) / (np.exp(3) + 2), rel=1e-5)
    assert cap.trigger_at == [1, -1] and np.isnan(cap.log_probs[1]).all()
