"""Stage probabilities from a model that answers in JSON, with its written rationale.

Two modes (the card's ``answer.default_mode``; ``--mode`` overrides):

``rationale``
    Greedy generation, batched with the KV cache, of the model's own answer
    (``"reasoning_text"``, ``"applicable_rules"``) until it writes ``"sleep_stage": "``.
    At that step :class:`StageCapture` reads the label tokens' logits (the five stage
    probabilities, R for REM), forces the rest of the label path and ends the answer,
    so nothing after the stage is generated. The rationale and the cited rules are kept.
``fast``
    The answer is forced up to the stage key with an empty rationale and rules, and the
    stage is read in one forward pass (:func:`app.core.inference.readout.stage_probabilities`).
    Quick, but outside what a rationale-trained model saw: runs say so.

An answer that never reaches a readable stage is "the model gave no stage" (a NaN row,
Unscored), never Wake.

Examples
--------
>>> fmt = AnswerFormat("json", rationale_key="reasoning_text", rules_key="applicable_rules")
>>> a = parse_answer('```json\\n{"reasoning_text": "Spindles.", '
...                  '"applicable_rules": ["N2.1"], "sleep_stage": "N2"}\\n```', fmt,
...                  ("W", "N1", "N2", "N3", "R"))
>>> a.stage, a.rules, a.rationale
('N2', ('N2.1',), 'Spindles.')
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from app.core.inference.layout import AnswerFormat
from app.errors import ModelError

_FENCE = re.compile(r"```(?:json)?\s*(.*?)(?:```|$)", re.S | re.I)
_SMART = str.maketrans({"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'"})


class GenerationStopped(ModelError):
    """Asked to stop while the model was writing (a cancel); nothing was kept."""


@dataclass(frozen=True)
class Answer:
    """What the model wrote for one epoch.

    ``stage`` is the label word it gave (None: no readable stage); ``mode`` how it was
    asked; ``note`` anything the reader should know (why there is no stage).
    """

    stage: str | None
    rationale: str = ""
    rules: tuple[str, ...] = ()
    mode: str = "rationale"
    note: str = ""

    def to_dict(self) -> dict:
        return {"stage": self.stage, "rationale": self.rationale, "rules": list(self.rules),
                "mode": self.mode, "note": self.note}

    @classmethod
    def from_dict(cls, d: dict) -> Answer:
        return cls(d.get("stage"), str(d.get("rationale") or ""),
                   tuple(str(r) for r in d.get("rules") or ()), str(d.get("mode") or ""),
                   str(d.get("note") or ""))


def _json_object(text: str) -> dict | None:
    """The JSON object in ``text`` (fenced or bare), tolerating smart quotes and trailing
    commas; None when there is none."""
    text = text.translate(_SMART)
    fenced = _FENCE.search(text)
    candidates = [fenced.group(1)] if fenced else []
    start, end = text.find("{"), text.rfind("}")
    if start >= 0 and end > start:
        candidates.append(text[start:end + 1])
    for body in candidates:
        body = body.strip().strip("`")
        for attempt in (body, re.sub(r",\s*([}\]])", r"\1", body)):
            try:
                data = json.loads(attempt)
            except json.JSONDecodeError:
                continue
            if isinstance(data, dict):
                return data
    return None


def _rules(value) -> tuple[str, ...]:
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list):
        return ()
    return tuple(str(r).strip() for r in value if str(r).strip())


def parse_answer(text: str, fmt: AnswerFormat, labels: Sequence[str],
                 mode: str = "rationale") -> Answer:
    """Read a complete written answer; an unreadable stage gives ``stage=None``."""
    data = _json_object(text)
    if data is None:
        return Answer(None, mode=mode, note="the answer holds no JSON object")
    stage = data.get(fmt.stage_key)
    stage = stage.strip().upper() if isinstance(stage, str) else None
    by_upper = {lab.upper(): lab for lab in labels}
    rationale = data.get(fmt.rationale_key, "") if fmt.rationale_key else ""
    rules = _rules(data.get(fmt.rules_key)) if fmt.rules_key else ()
    if stage not in by_upper:
        return Answer(None, str(rationale or ""), rules, mode,
                      f"the answer's {fmt.stage_key} is {data.get(fmt.stage_key)!r}, "
                      f"not one of {', '.join(labels)}")
    return Answer(by_upper[stage], str(rationale or ""), rules, mode)


def parse_partial(text: str, fmt: AnswerFormat) -> tuple[str, tuple[str, ...]]:
    """Rationale and rules from an answer cut at the stage key (what rationale mode has)."""
    data = _json_object(text + 'X"\n}')
    if data is None:
        m = re.search(rf'"{re.escape(fmt.rationale_key or "-")}"\s*:\s*"((?:[^"\\]|\\.)*)"',
                      text)
        return (m.group(1) if m else ""), ()
    rationale = data.get(fmt.rationale_key, "") if fmt.rationale_key else ""
    return str(rationale or ""), _rules(data.get(fmt.rules_key)) if fmt.rules_key else ()


@dataclass
class StageCapture:
    """A ``logits_processor`` for ``generate``: finds the stage key in each row's answer,
    reads the label logits there, forces the label path, then ends that row.

    ``log_probs[b]`` is filled (NaN until read); ``trigger_at[b]`` the number of generated
    tokens when the stage key was complete (-1: never).
    """

    tokenizer: object
    readout: object                 # LabelReadout, planned after the trigger
    trigger: str
    prompt_len: int
    batch: int
    eos_id: int
    depth: list[int] = field(init=False)
    trigger_at: list[int] = field(init=False)
    steps: list[list] = field(init=False)
    log_probs: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.depth = [-1] * self.batch          # -1 searching, 0.. reading, None done
        self.trigger_at = [-1] * self.batch
        self.steps = [[] for _ in range(self.batch)]
        self.log_probs = np.full((self.batch, len(self.readout.labels)), np.nan, np.float32)
        self._tail = max(8, len(self.tokenizer(self.trigger, add_special_tokens=False)
                                ["input_ids"]) + 4)

    def __call__(self, input_ids, scores):
        r = self.readout
        for b in range(self.batch):
            d = self.depth[b]
            if d is None:
                scores[b] = self._only(scores[b], self.eos_id)
                continue
            if d == -1:
                gen = input_ids[b, self.prompt_len:]
                if gen.numel() == 0:
                    continue
                tail = self.tokenizer.decode(gen[-self._tail:], skip_special_tokens=False)
                if not tail.endswith(self.trigger):
                    continue
                self.trigger_at[b] = int(gen.numel())
                d = 0
            support = r.choices(d)
            lp = scores[b, support].float().log_softmax(-1)
            self.steps[b].append({t: float(v) for t, v in zip(support, lp.tolist())})
            if d < len(r.path):
                scores[b] = self._only(scores[b], r.path[d])
                self.depth[b] = d + 1
            else:
                self.log_probs[b] = self._combine(self.steps[b])
                self.depth[b] = None
                scores[b] = self._only(scores[b], self.eos_id)
        return scores

    @staticmethod
    def _only(row, token: int):
        out = row.new_full(row.shape, float("-inf"))
        out[token] = 0.0
        return out

    def _combine(self, steps: list[dict]) -> np.ndarray:
        r = self.readout
        cols = []
        for depth, token in r.exits:
            v = steps[depth][token]
            for dd in range(depth):
                v += steps[dd][r.path[dd]]
            cols.append(v)
        return np.asarray(cols, np.float32)


class ChatScorer:
    """Asks a chat model the bundle's layout for batches of targets, in either mode.

    ``pictures`` given to :meth:`score` are, per target, its pictures in the layout's
    order (``layout.offsets``).
    """

    def __init__(self, model, processor, layout, fmt: AnswerFormat, labels: Sequence[str],
                 device, dtype, *, source: str = "the model") -> None:
        self.model, self.processor, self.layout, self.fmt = model, processor, layout, fmt
        self.labels = tuple(labels)
        self.device, self.dtype = device, dtype
        self.prompt = layout.prompt_text(processor)
        self.fast_prompt = self.prompt + fmt.fast_prefix()
        self.readout = self.plan(processor, layout, fmt, self.labels, source=source)
        tok = processor.tokenizer
        eos = getattr(model.generation_config, "eos_token_id", None) or tok.eos_token_id
        self.eos_id = int(eos[0] if isinstance(eos, (list, tuple)) else eos)

    @staticmethod
    def plan(processor, layout, fmt: AnswerFormat, labels: Sequence[str], *,
             source: str = "the model"):
        """The label readout after the stage key, or a ModelError saying why the layout
        cannot be asked of this processor (no chat template, pictures not placed)."""
        from app.core.inference.readout import label_readout

        prompt = layout.prompt_text(processor)
        image_token = getattr(processor, "image_token", None)
        if image_token and prompt.count(image_token) != len(layout.offsets):
            raise ModelError(f"The chat template of {source} places "
                             f"{prompt.count(image_token)} picture(s) where the layout shows "
                             f"{len(layout.offsets)}; the model would not see the epochs.")
        return label_readout(processor.tokenizer, prompt + fmt.fast_prefix(), labels,
                             source=source, joiner="")

    def inputs(self, pictures: Sequence[Sequence[np.ndarray]], prompt: str) -> dict:
        import torch

        images = [[np.ascontiguousarray(im) for im in group] for group in pictures]
        batch = self.processor(images=images, text=[prompt] * len(images),
                               return_tensors="pt", padding=True)
        out = {}
        for k, v in batch.items():
            if isinstance(v, torch.Tensor):
                v = v.to(self.device, dtype=self.dtype) if torch.is_floating_point(v) \
                    else v.to(self.device)
            out[k] = v
        return out

    def score(self, pictures, mode: str, *, should_stop=None
              ) -> tuple[np.ndarray, list[Answer]]:
        """``(probabilities (n, 5) with NaN rows for no stage, answers)``.

        ``should_stop`` (rationale mode) is checked between generated tokens; when it
        says stop, a ModelError ends the batch (nothing half-written is returned)."""
        if mode == "fast":
            return self._fast(pictures)
        return self._rationale(pictures, should_stop)

    def _fast(self, pictures) -> tuple[np.ndarray, list[Answer]]:
        from app.core.inference.readout import stage_probabilities

        probs = stage_probabilities(self.model, self.inputs(pictures, self.fast_prompt),
                                    self.readout)
        answers = [Answer(self.labels[int(p.argmax())], mode="fast",
                          note="fast mode: the stage was read with the rationale left empty, "
                               "outside what the model was trained to write")
                   for p in probs]
        return probs.astype(np.float32), answers

    def _rationale(self, pictures, should_stop=None) -> tuple[np.ndarray, list[Answer]]:
        import torch
        from transformers import (
            LogitsProcessor,
            LogitsProcessorList,
            StoppingCriteria,
            StoppingCriteriaList,
        )


        inputs = self.inputs(pictures, self.prompt)
        prompt_len = int(inputs["input_ids"].shape[1])
        capture = StageCapture(self.processor.tokenizer, self.readout, self.fmt.trigger,
                               prompt_len, len(pictures), self.eos_id)

        class _Capture(LogitsProcessor):  # generate wants LogitsProcessor instances
            def __call__(self, input_ids, scores):
                return capture(input_ids, scores)

        class _Stop(StoppingCriteria):
            def __call__(self, input_ids, scores, **kw):
                stop = bool(should_stop is not None and should_stop())
                return torch.full((input_ids.shape[0],), stop, dtype=torch.bool,
                                  device=input_ids.device)

        with torch.inference_mode():
            out = self.model.generate(
                **inputs, max_new_tokens=self.fmt.max_new_tokens, do_sample=False,
                logits_processor=LogitsProcessorList([_Capture()]),
                stopping_criteria=StoppingCriteriaList([_Stop()]),
                eos_token_id=self.eos_id,
                pad_token_id=self.processor.tokenizer.pad_token_id)
        if should_stop is not None and should_stop():
            raise GenerationStopped("Stopped before the model finished writing.")
        tok = self.processor.tokenizer
        probs = np.exp(capture.log_probs).astype(np.float32)
        answers = []
        for b in range(len(pictures)):
            gen = out[b, prompt_len:]
            at = capture.trigger_at[b]
            if at >= 0:
                text = tok.decode(gen[:at], skip_special_tokens=True)
                rationale, rules = parse_partial(text, self.fmt)
                answers.append(Answer(self.labels[int(probs[b].argmax())], rationale, rules))
                continue
            text = tok.decode(gen, skip_special_tokens=True)
            written = parse_answer(text, self.fmt, self.labels)
            note = (f"the model gave no stage: it wrote {len(gen)} tokens without "
                    f"{self.fmt.trigger!r}" + (
                        f" (its text names {written.stage}, at no position its "
                        "probabilities can be read)" if written.stage else
                        f" ({written.note})" if written.note else ""))
            answers.append(Answer(None, written.rationale, written.rules, "rationale", note))
            probs[b] = np.nan
        return probs, answers
