"""How a bundle's question is laid out: system prompt, text and pictures, and the answer.

A LLaVA bundle of ours asks one picture and reads one label token. A chat model such as
SleepVLM was trained on a conversation: a system prompt, a user turn interleaving text
with several pictures (the epochs before and after the target are pictures of their
own), and an answer written as JSON with the stage last. The card's ``layout`` and
``answer`` sections declare that conversation; :class:`MessageLayout` builds it with the
processor's chat template, so the engine asks exactly what the model was trained on.

Card sections (``model_card.json``)::

    "layout": {"system_file": "prompt.md",
               "user": [{"text": "Preceding epoch N\\u20111: "}, {"image": -1},
                        {"text": "**Target epoch N**: "}, {"image": 0},
                        {"text": "Subsequent epoch N+1: "}, {"image": 1}]},
    "answer": {"format": "json", "stage_key": "sleep_stage",
               "rationale_key": "reasoning_text", "rules_key": "applicable_rules",
               "opening": "```json\\n{\\n", "max_new_tokens": 1024,
               "default_mode": "rationale"}

Examples
--------
>>> layout = MessageLayout.from_card({"user": [{"image": -1}, {"image": 0}, {"image": 1}],
...                                   "system": "Stage it."}, None)
>>> layout.offsets, layout.context
((-1, 0, 1), (1, 1))
>>> layout.targets(10).tolist()
[1, 2, 3, 4, 5, 6, 7, 8]
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.errors import ModelError

MAX_PROMPT_BYTES = 1_000_000
MODES = ("rationale", "fast")


@dataclass(frozen=True)
class MessageLayout:
    """The system prompt and the user turn's parts: ``("text", str)`` or ``("image", offset)``.

    ``offset`` is the picture's epoch relative to the target (0 the target, -1 the one
    before). The target must appear exactly once.
    """

    system: str | None
    parts: tuple[tuple[str, object], ...]
    system_file: str | None = None

    @classmethod
    def from_card(cls, data: object, bundle: Path | None, *, source: str = "the model card"
                  ) -> MessageLayout:
        if not isinstance(data, dict):
            raise ModelError(f"{source}: 'layout' must be an object with a 'user' list.")
        user = data.get("user")
        if not isinstance(user, list) or not user:
            raise ModelError(f"{source}: layout 'user' must be a list of text and image parts.")
        parts: list[tuple[str, object]] = []
        for i, part in enumerate(user):
            if isinstance(part, dict) and set(part) == {"text"} and isinstance(part["text"], str):
                parts.append(("text", part["text"]))
            elif (isinstance(part, dict) and set(part) == {"image"}
                  and isinstance(part["image"], int) and not isinstance(part["image"], bool)
                  and -8 <= part["image"] <= 8):
                parts.append(("image", int(part["image"])))
            else:
                raise ModelError(f"{source}: layout part {i + 1} ({part!r}) must be "
                                 '{"text": "..."} or {"image": <epoch offset -8..8>}.')
        offsets = [o for k, o in parts if k == "image"]
        if offsets.count(0) != 1:
            raise ModelError(f"{source}: the layout must show the target epoch "
                             '({"image": 0}) exactly once.')
        if len(set(offsets)) != len(offsets):
            raise ModelError(f"{source}: the layout shows an epoch twice ({offsets}).")
        system, system_file = data.get("system"), data.get("system_file")
        if system is not None and not isinstance(system, str):
            raise ModelError(f"{source}: layout 'system' must be text.")
        if system_file is not None:
            system = read_prompt_file(bundle, system_file, source)
        return cls(system, tuple(parts), system_file)

    def to_card(self) -> dict:
        out: dict = {"user": [{"text": v} if k == "text" else {"image": v}
                              for k, v in self.parts]}
        if self.system_file is not None:
            out["system_file"] = self.system_file
        elif self.system is not None:
            out["system"] = self.system
        return out

    @property
    def offsets(self) -> tuple[int, ...]:
        """The pictures' epoch offsets in the order they are shown."""
        return tuple(int(v) for k, v in self.parts if k == "image")

    @property
    def context(self) -> tuple[int, int]:
        """How many epochs before and after the target the question needs."""
        return max(0, -min(self.offsets)), max(0, max(self.offsets))

    def targets(self, n_epochs: int) -> np.ndarray:
        """The epochs this layout can stage: those with all their context in the study."""
        before, after = self.context
        return np.arange(before, max(before, n_epochs - after), dtype=np.int64)

    def messages(self) -> list[dict]:
        """The chat messages (pictures as ``{"type": "image"}`` placeholders, in order)."""
        content = [{"type": "image"} if k == "image" else {"type": "text", "text": v}
                   for k, v in self.parts]
        out: list[dict] = []
        if self.system:
            out.append({"role": "system", "content": self.system})
        out.append({"role": "user", "content": content})
        return out

    def prompt_text(self, processor) -> str:
        """The conversation as text, up to where the assistant starts to answer."""
        if not getattr(processor, "chat_template", None):
            raise ModelError("This model's processor has no chat template, so a multi-picture "
                             "layout cannot be put into words for it.")
        return processor.apply_chat_template(self.messages(), add_generation_prompt=True)


def context_note(model: str, before: int, after: int) -> str:
    """Why a layout model left a first or last epoch unstaged."""
    return (f"Context only: {model} stages an epoch from the {before} epoch(s) before and "
            f"{after} after it; this one is context only and was not staged by it.")


def no_stage_note(model: str, why: str) -> str:
    """Why an epoch a chat model was asked about has no stage (``why``: the answer's note,
    which says "the model gave no stage: ...")."""
    return f"{model}: {why or 'the model gave no stage'}."


def read_prompt_file(bundle: Path | None, name: str, source: str) -> str:
    """A prompt file inside the bundle (never outside it), as text."""
    if bundle is None or not isinstance(name, str) or not name:
        raise ModelError(f"{source}: layout 'system_file' must name a file in the bundle.")
    path = (bundle / name).resolve()
    if bundle.resolve() not in path.parents:
        raise ModelError(f"{source}: the prompt file {name!r} is outside the bundle; copy "
                         "it into the bundle folder.")
    if not path.is_file():
        raise ModelError(f"{source}: the prompt file {name} is missing from the bundle.")
    return read_prompt_text(path, f"{source}: the prompt file {name}")


def read_prompt_text(path: Path, what: str) -> str:
    """A system prompt file as text: at most 1 MB of UTF-8 (``what`` names it)."""
    if path.stat().st_size > MAX_PROMPT_BYTES:
        raise ModelError(f"{what} is over 1 MB; a system prompt is a page of text.")
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ModelError(f"{what} cannot be read as UTF-8 text ({err}).") from err


@dataclass(frozen=True)
class AnswerFormat:
    """What the model writes. ``label``: one label word after the prompt (our LLaVA
    bundles). ``json``: a JSON object whose last key ``stage_key`` holds the stage."""

    format: str = "label"
    stage_key: str = "sleep_stage"
    rationale_key: str | None = None
    rules_key: str | None = None
    opening: str = "```json\n{\n"
    max_new_tokens: int = 1024
    default_mode: str = "fast"

    @classmethod
    def from_card(cls, data: object, *, source: str = "the model card") -> AnswerFormat:
        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise ModelError(f"{source}: 'answer' must be an object.")
        fmt = data.get("format", "label")
        if fmt not in ("label", "json"):
            raise ModelError(f"{source}: answer format {fmt!r} is not 'label' or 'json'.")
        kw: dict = {"format": fmt}
        for key in ("stage_key", "rationale_key", "rules_key", "opening"):
            if key in data:
                v = data[key]
                if v is not None and (not isinstance(v, str) or not v
                                      or (key != "opening" and '"' in v)):
                    raise ModelError(f"{source}: answer {key} must be a JSON key name, "
                                     f"not {v!r}.")
                kw[key] = v
        if kw.get("stage_key", "x") is None:
            raise ModelError(f"{source}: answer stage_key is required.")
        n = data.get("max_new_tokens", 1024)
        if isinstance(n, bool) or not isinstance(n, int) or not 8 <= n <= 8192:
            raise ModelError(f"{source}: answer max_new_tokens must be 8..8192, not {n!r}.")
        kw["max_new_tokens"] = n
        mode = data.get("default_mode", "rationale" if fmt == "json" else "fast")
        if mode not in MODES or (fmt == "label" and mode != "fast"):
            raise ModelError(f"{source}: answer default_mode {mode!r} must be one of "
                             f"{', '.join(MODES)} (label answers: fast).")
        kw["default_mode"] = mode
        return cls(**kw)

    def to_card(self) -> dict:
        return {"format": self.format, "stage_key": self.stage_key,
                "rationale_key": self.rationale_key, "rules_key": self.rules_key,
                "opening": self.opening, "max_new_tokens": self.max_new_tokens,
                "default_mode": self.default_mode}

    @property
    def trigger(self) -> str:
        """The text after which the model writes the stage: ``"sleep_stage": "``."""
        return f'"{self.stage_key}": "'

    def fast_prefix(self) -> str:
        """The answer forced in ``fast`` mode: empty rationale and rules, then the stage
        key, so one forward pass reads the stage (outside what the model was trained on)."""
        lines = []
        if self.rationale_key:
            lines.append(f'  "{self.rationale_key}": "",\n')
        if self.rules_key:
            lines.append(f'  "{self.rules_key}": [],\n')
        return self.opening + "".join(lines) + "  " + self.trigger

    def describe(self) -> str:
        if self.format == "label":
            return "one label word"
        keys = [k for k in (self.rationale_key, self.rules_key, self.stage_key) if k]
        return "JSON with " + ", ".join(json.dumps(k) for k in keys)
