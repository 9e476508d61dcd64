"""Turn a public model's weights folder into a PSG Lens bundle (``psg-lens model import``).

``sleepvlm``: SleepVLM (Qwen2.5-VL-3B fine-tuned on MASS, github Deng-GuiFeng/SleepVLM)
asks three pictures (the epoch before, the target, the epoch after) drawn by its own
renderer (the ``sleepvlm`` render spec), under a system prompt the user supplies with the
weights, and answers in JSON with the stage last (R for REM). The bundle written here is
a card, the user's prompt file and a pointer to the weights (or a copy with ``copy``);
PSG Lens ships none of SleepVLM's text or code.

Examples
--------
>>> out = import_sleepvlm("~/models/SleepVLM-3B", "~/models/phase2_sft_fine.md",
...                       "bundles/sleepvlm-3b")                     # doctest: +SKIP
>>> load_bundle(out).answer.default_mode                             # doctest: +SKIP
'rationale'
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

from app.core.inference.bundle import (
    CARD_FILE,
    CARD_SCHEMA_VERSION,
    check_weights_folder,
    load_bundle,
)
from app.core.inference.bundle_writer import replace_dir
from app.core.inference.layout import AnswerFormat, MessageLayout, read_prompt_text
from app.core.inference.qwen_processor import QWEN_VL_ARCHITECTURES
from app.core.signals.render_spec import RenderSpec
from app.errors import ModelError

PROMPT_FILE = "prompt.md"
SLEEPVLM_LABELS = ("W", "N1", "N2", "N3", "R")
# the user turn SleepVLM was trained on (U+2011 in "N-1", as in its training data)
SLEEPVLM_USER = ({"text": "Preceding epoch N\u20111: "}, {"image": -1},
                 {"text": "**Target epoch N**: "}, {"image": 0},
                 {"text": "Subsequent epoch N+1: "}, {"image": 1})
SLEEPVLM_REPORTED = {"data": "MASS-SS1, 53 held-out subjects (reported by its authors)",
                     "accuracy": 0.835, "macro_f1": 0.793, "kappa": 0.767}
_STAGE_WORDS = {"W": r"\bW\b|\bWake\b", "N1": r"\bN1\b", "N2": r"\bN2\b", "N3": r"\bN3\b",
                "REM": r"\bR\b|\bREM\b"}


def check_prompt(text: str, source: str) -> None:
    """A system prompt must be text that names the five stages."""
    if not text.strip():
        raise ModelError(f"The prompt file {source} is empty; give the system prompt the "
                         "model was trained with.")
    missing = [s for s, pat in _STAGE_WORDS.items() if not re.search(pat, text)]
    if missing:
        raise ModelError(f"The prompt file {source} never names {', '.join(missing)}; a "
                         "staging prompt names the five stages (W, N1, N2, N3, R). Is it "
                         "the model's system prompt?")


def declared_licences(weights: Path) -> dict:
    """Licences as the weights folder declares them (README front matter, LICENSE file)."""
    out: dict = {"weights": None, "base_model": None, "declared_in": []}
    readme = weights / "README.md"
    if readme.is_file():
        text = readme.read_text(encoding="utf-8", errors="replace")[:200_000]
        front = re.match(r"---\s*\n(.*?)\n---", text, re.S)
        if front:
            fields = dict(re.findall(r"^([A-Za-z_]+):[ \t]*(\S.*?)[ \t]*$", front.group(1),
                                    re.M))
            out["weights"] = fields.get("license_name") or fields.get("license")
            base = fields.get("base_model")
            if base is None:
                m = re.search(r"^base_model:\s*\n\s*-\s*(\S+)", front.group(1), re.M)
                base = m.group(1) if m else None
            out["base_model"] = base
            out["declared_in"].append("README.md")
    for name in ("LICENSE", "LICENSE.txt", "LICENSE.md"):
        if (weights / name).is_file():
            out["declared_in"].append(name)
    out["note"] = ("As the weights folder declares them; the base model's own licence "
                   "(for Qwen2.5-VL-3B-Instruct, the Qwen research licence) applies to "
                   "users of the weights. Check both before clinical or commercial use.")
    return out


def import_sleepvlm(weights_dir: str | os.PathLike, prompt_file: str | os.PathLike | None,
                    out_dir: str | os.PathLike, *, variant: str = "fine",
                    copy: bool = False, name: str = "sleepvlm-3b") -> Path:
    """Write a SleepVLM bundle for ``weights_dir`` with the user's ``prompt_file``.

    ``variant``: ``fine`` (answers with a rationale; default mode ``rationale``) or
    ``coarse`` (rules and stage only; default mode ``fast``). ``copy`` puts the weights
    in the bundle (hard links where the disk allows) instead of pointing at them.
    """
    weights = Path(weights_dir).expanduser()
    if not weights.is_dir():
        raise ModelError(f"There is no weights folder at {weights}.")
    weights = weights.resolve()
    check_weights_folder(weights)
    config = json.loads((weights / "config.json").read_text(encoding="utf-8"))
    arch = (config.get("architectures") or ["?"])[0]
    if arch not in QWEN_VL_ARCHITECTURES:
        raise ModelError(f"{weights} holds a {arch}, not a Qwen2.5-VL model; SleepVLM is "
                         "Qwen2.5-VL-3B fine-tuned.")
    if prompt_file is None:
        raise ModelError(f"SleepVLM needs the system prompt it was trained with, which is "
                         f"not part of the weights in {weights}: give it with --prompt "
                         "(phase2_sft_fine.md from the SleepVLM repository, for example).")
    prompt_path = Path(prompt_file).expanduser()
    if not prompt_path.is_file():
        raise ModelError(f"There is no prompt file at {prompt_path}.")
    prompt = read_prompt_text(prompt_path, f"The prompt file {prompt_path}")
    check_prompt(prompt, str(prompt_path))
    if variant not in ("fine", "coarse"):
        raise ModelError(f"Unknown SleepVLM variant {variant!r}; use fine or coarse.")
    answer = AnswerFormat(format="json", stage_key="sleep_stage",
                          rationale_key="reasoning_text" if variant == "fine" else None,
                          rules_key="applicable_rules", max_new_tokens=1024,
                          default_mode="rationale" if variant == "fine" else "fast")
    layout = MessageLayout(prompt, tuple(("text", p["text"]) if "text" in p else
                                         ("image", p["image"]) for p in SLEEPVLM_USER),
                           system_file=PROMPT_FILE)
    out = Path(out_dir).expanduser().resolve()
    if out == weights or out in weights.parents:
        raise ModelError(f"Write the bundle to a new folder, not {out} (it holds the weights).")
    card = {
        "schema_version": CARD_SCHEMA_VERSION, "name": name, "version": variant,
        "architecture": arch, "labels": list(SLEEPVLM_LABELS),
        "render_spec": RenderSpec.load("sleepvlm").to_dict(),
        "layout": layout.to_card(), "answer": answer.to_card(),
        "weights": None if copy else str(weights), "base_model": None, "adapter": None,
        "synthetic_only": False,
        "training_data": "MASS (phase 1: SS2, SS4, SS5 waveform pre-training; phase 2: SS3 "
                         "with expert rationales, MASS-EX)",
        "metrics": {"reported": SLEEPVLM_REPORTED},
        "intended_use": "Decision support for scoring PSG with six channels like MASS "
                        "(F4, C4, O2, LOC, ROC, chin); every epoch reviewed by a technician. "
                        "Not a diagnosis.",
        "limitations": "Figures are the authors' own, on MASS; not re-validated by PSG Lens. "
                       "Studies unlike MASS (other montages, missing channels, children) may "
                       "stage worse. Fast mode reads the stage without the rationale the "
                       "model was trained to write first.",
        "licence": declared_licences(weights),
        "imported_from": {"weights": str(weights), "prompt": str(prompt_path.resolve()),
                          "variant": variant},
    }
    return _write_bundle(out, card, prompt, weights if copy else None)


def _write_bundle(out: Path, card: dict, prompt: str, copy_from: Path | None) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        (tmp / PROMPT_FILE).write_text(prompt, encoding="utf-8")
        if copy_from is not None:
            for f in copy_from.iterdir():
                if f.is_file() and f.name not in (CARD_FILE, PROMPT_FILE):
                    try:
                        os.link(f, tmp / f.name)
                    except OSError:
                        shutil.copy2(f, tmp / f.name)
        (tmp / CARD_FILE).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
        load_bundle(tmp)  # never publish a bundle we would refuse to load
        tmp.chmod(0o755)  # mkdtemp makes it owner-only; linked weights keep their modes
        for f in (PROMPT_FILE, CARD_FILE):
            (tmp / f).chmod(0o644)
        if out.exists() and not (out / CARD_FILE).is_file():
            raise ModelError(f"{out} exists and is not a model bundle; choose a new folder.")
        replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
