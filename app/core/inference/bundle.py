"""Model bundles: a folder with ``model_card.json`` plus Hugging Face files.

A bundle says everything needed to score a study the way its model was trained: the
render spec (the pictures), the prompt, the label words and the image normalisation
(in the processor saved with it). Loading is offline, safetensors only, and never runs
code shipped with a model. Writing a bundle is :mod:`app.core.inference.bundle_writer`.

Layout::

    bundle/
      model_card.json          name, version, architecture, labels, prompt, render spec ...
      config.json, model.safetensors, processor/tokenizer files   (full model)
      -- or --
      processor/tokenizer files + adapter/ (peft LoRA), base weights from card["base_model"]

Examples
--------
>>> b = load_bundle("resources/models/default")          # doctest: +SKIP
>>> b.name, b.labels, b.spec.width                       # doctest: +SKIP
('psg-lens-tiny', ('W', 'N1', 'N2', 'N3', 'REM'), 224)
>>> model, processor = b.load_model(device="cpu")        # doctest: +SKIP
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.core.files.limits import CARD_MAX_BYTES, MiB, load_json_file
from app.core.inference.bundle_checks import (
    check_card_fields,
    check_safetensors,
    fusion_figures,
    is_peer_comparison,
    subset_peer_comparison,
)
from app.core.inference.layout import AnswerFormat, MessageLayout
from app.core.inference.readout import first_line
from app.core.signals.render_spec import RenderSpec
from app.errors import ModelError, SpecError

CARD_FILE = "model_card.json"
CARD_SCHEMA_VERSION = 1
ADAPTER_DIR = "adapter"
REQUIRED_KEYS = ("schema_version", "name", "version", "architecture", "labels", "render_spec")
# a one-picture bundle asks its prompt through a template; a layout bundle has "layout"
PROMPT_KEYS = ("prompt", "prompt_template")
DEFAULT_LABELS = ("W", "N1", "N2", "N3", "REM")
DEFAULT_PROMPT = "Classify the PSG. Choose from: W, N1, N2, N3, REM."
DEFAULT_TEMPLATE = "USER: <image>\n{prompt} ASSISTANT:"
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")
PROCESSOR_FILES = ("processor_config.json", "preprocessor_config.json")
CONFIG_MAX_BYTES = 16 * MiB  # a Hugging Face config.json is kilobytes; 16 MiB is no config
_JSON_SYNTAX = "{where} is not valid JSON (line {line}: {msg})."


@dataclass
class Bundle:
    """A validated model bundle; weights are not loaded until :meth:`load_model`.

    Parameters
    ----------
    path : Path or None
        The bundle folder (None for a hub id given to :meth:`from_hf`).
    card : dict
        The model card.
    spec : RenderSpec
        How epochs are drawn for this model.
    labels : tuple of str
        The label words for W, N1, N2, N3, REM, in that order.
    prompt : str
        The full text given to the processor (template with the prompt filled in).

    Examples
    --------
    >>> b = load_bundle("my-bundle")                          # doctest: +SKIP
    >>> b.prompt                                              # doctest: +SKIP
    'USER: <image>\\nClassify the PSG. Choose from: W, N1, N2, N3, REM. ASSISTANT:'
    """

    path: Path | None
    card: dict
    spec: RenderSpec
    labels: tuple[str, ...]
    prompt: str
    ref: str = ""                      # what from_pretrained gets: a folder or a hub id
    allow_download: bool = False
    notices: list[str] = field(default_factory=list)
    layout: MessageLayout | None = None   # a multi-picture conversation (chat models)
    answer: AnswerFormat = field(default_factory=AnswerFormat)

    @property
    def name(self) -> str:
        return str(self.card.get("name", ""))

    @property
    def version(self) -> str:
        return str(self.card.get("version", ""))

    @property
    def scorer_id(self) -> str:
        return f"{self.name}/{self.version}" if self.version else self.name

    @property
    def display(self) -> str:
        return str(self.path) if self.path is not None else self.ref

    @property
    def temperature(self) -> float:
        """The calibration temperature from the card (1.0: uncalibrated)."""
        return float(self.card.get("calibration", {}).get("temperature", 1.0))

    @property
    def smoothing(self):
        """The card's fitted whole-night smoothing (a NightSmoothing), or None: not smoothed."""
        from app.core.inference.night_smoothing import NightSmoothing

        return NightSmoothing.from_card(self.card.get("smoothing"))

    @property
    def feature_reference(self):
        """The training statistics the input check compares epochs with, or None."""
        from app.core.signals.features import FeatureReference

        ref = self.card.get("input_check")
        return FeatureReference.from_dict(ref) if isinstance(ref, dict) else None

    @property
    def validated_subsets(self) -> list[dict]:
        """Channel subsets measured on held-out data (name, slots, accuracy, ...)."""
        return list(self.card.get("metrics", {}).get("channel_subsets", {}).get("subsets", []))

    @property
    def peer_comparisons(self) -> list[dict]:
        """The model against a peer scorer with one set of channels (slots,
        model_accuracy, peer, peer_accuracy, data, command): first the card's
        ``metrics.peer_comparisons`` (nights recorded with only those leads; entries of
        the wrong shape are left out), then the peer figures of the channel-subset table
        (the same leads kept from fully recorded nights)."""
        found = self.card.get("metrics", {}).get("peer_comparisons", [])
        explicit = [c for c in found if is_peer_comparison(c)] if isinstance(found, list) else []
        return explicit + [subset_peer_comparison(s) for s in self.validated_subsets
                           if "peer" in s and "slots" in s]

    @property
    def fusion(self) -> dict | None:
        """What bench/fusion.py measured fusing this model with a peer (weights by lead
        count, accuracies per lead set), or None when the card has no usable record."""
        return fusion_figures(self.card.get("metrics", {}).get("fusion"))

    @property
    def adapter_path(self) -> Path | None:
        adapter = self.card.get("adapter")
        return None if not adapter or self.path is None else self.path / adapter

    @property
    def base_ref(self) -> str:
        """Where the weights come from: the base model of an adapter bundle, else ``ref``."""
        if self.adapter_path is None:
            return self.ref
        return _resolve_base(self.path, self.card.get("base_model"), self.allow_download)

    # -- construction ------------------------------------------------------------------
    @classmethod
    def from_hf(cls, path_or_id: str | os.PathLike, *, spec: RenderSpec | str = "clinical",
                prompt: str = DEFAULT_PROMPT, prompt_template: str | None = None,
                labels: tuple[str, ...] = DEFAULT_LABELS, name: str | None = None,
                allow_download: bool = False) -> Bundle:
        """A plain Hugging Face folder or hub id, without a PSG Lens card.

        ``prompt_template=None`` uses the processor's chat template (one user turn: the
        image, then the prompt). Hub ids are read from the local cache unless
        ``allow_download`` is true.
        """
        spec = spec if isinstance(spec, RenderSpec) else RenderSpec.load(spec)
        ref = str(path_or_id)
        local = Path(ref).expanduser()
        path = local.resolve() if local.exists() else None
        if path is not None:
            if not path.is_dir():
                raise ModelError(f"{path} is a file; a Hugging Face model is a folder.")
            check_weights_folder(path)
        elif not allow_download and _hf_cached(ref) is None:
            raise ModelError(f"{ref} is neither a model folder nor in the local Hugging Face "
                             "cache; download it first, or allow downloading.")
        labels = _check_labels(tuple(labels), ref)
        config = _read_json(path / "config.json" if path is not None else _hf_cached(ref))
        _refuse_remote_code(config, ref)
        card = {"schema_version": CARD_SCHEMA_VERSION, "name": name or Path(ref).name or ref,
                "version": "", "architecture": (config.get("architectures") or ["?"])[0],
                "base_model": None, "adapter": None, "labels": list(labels), "prompt": prompt,
                "prompt_template": prompt_template, "render_spec": spec.to_dict(),
                "synthetic_only": False, "intended_use": "",
                "limitations": "Loaded without a PSG Lens model card: the render spec and "
                               "prompt were chosen by the user, not by whoever trained it."}
        bundle = cls(path, card, spec, labels, "", ref=str(path or ref),
                     allow_download=allow_download)
        if prompt_template is None:
            processor = bundle.load_processor()
            bundle.prompt = chat_prompt(processor, prompt)
        else:
            bundle.prompt = fill_template(prompt_template, prompt)
        return bundle

    # -- loading -----------------------------------------------------------------------
    def load_processor(self):
        """The processor saved with the bundle (tokenizer padding on the left)."""
        from transformers import AutoProcessor

        try:
            processor = AutoProcessor.from_pretrained(
                self.ref, local_files_only=not self.allow_download, trust_remote_code=False)
        except (OSError, ValueError, TypeError, KeyError, AttributeError, ImportError) as err:
            processor = self._pictures_only_processor(err)
        tokenizer = getattr(processor, "tokenizer", None)
        if tokenizer is None:
            raise ModelError(f"{self.display} has no tokenizer in its processor files.")
        tokenizer.padding_side = "left"  # the readout takes the last position
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        return processor

    def _pictures_only_processor(self, err: BaseException):
        """Qwen2-VL-family processors need torchvision for their video part; without it,
        the same processor less video (see :mod:`app.core.inference.qwen_processor`)."""
        from app.core.inference.qwen_processor import QWEN_VL_ARCHITECTURES, load_qwen_processor

        if self.card.get("architecture") not in QWEN_VL_ARCHITECTURES:
            raise ModelError(f"The processor of {self.display} cannot be loaded: "
                             f"{first_line(err)}") from err
        try:
            return load_qwen_processor(self.ref, local_files_only=not self.allow_download)
        except (OSError, ValueError, TypeError, KeyError) as err2:
            raise ModelError(f"The processor of {self.display} cannot be loaded: "
                             f"{first_line(err2)}") from err2

    def label_readout(self, tokenizer=None):
        """How the labels are read after the prompt (a ``LabelReadout``), or a ModelError
        when one forward pass cannot tell them apart."""
        from app.core.inference.readout import label_readout

        if self.layout is not None:
            from app.core.inference.chat_readout import ChatScorer

            processor = self.load_processor()
            return ChatScorer.plan(processor, self.layout, self.answer, self.labels,
                                   source=self.display)
        tokenizer = tokenizer if tokenizer is not None else self.load_processor().tokenizer
        return label_readout(tokenizer, self.prompt, self.labels, source=self.display)

    def load_model(self, device: str | None = "auto", dtype: Any = None,
                   quantize: str | None = None):
        """Load weights (and the LoRA adapter); returns ``(model, processor)`` in eval mode."""
        from app.core.inference.readout import load_weights

        processor = self.load_processor()
        image_token = getattr(processor, "image_token", None)
        if self.layout is not None:
            self._check_layout(processor)
        elif image_token and image_token not in self.prompt:
            raise ModelError(f"The prompt template of {self.display} has no {image_token} "
                             "placeholder, so the model would never see the image.")
        self._check_processor(processor)
        model = load_weights(self, device=device, dtype=dtype, quantize=quantize)
        return model, processor

    def _check_layout(self, processor) -> None:
        from app.core.inference.chat_readout import ChatScorer

        ChatScorer.plan(processor, self.layout, self.answer, self.labels, source=self.display)
        if getattr(processor, "image_processor", None) is None:
            raise ModelError(f"The processor of {self.display} has no image processor.")
        h, w = self.spec.height, self.spec.width
        ip = processor.image_processor
        patch = int(getattr(ip, "patch_size", 14) or 14) * int(getattr(ip, "merge_size", 1) or 1)
        min_px = int(getattr(ip, "min_pixels", 0) or (getattr(ip, "size", None) or {}).get(
            "shortest_edge", 0) or 0)
        if patch > 1 and (h % patch or w % patch):
            self.notices.append(f"The render spec draws {w}x{h} but the processor of "
                                f"{self.display} cuts pictures into {patch}-pixel tiles: it "
                                "resizes every picture before the model sees it.")
        if min_px and h * w < min_px:
            raise ModelError(f"The processor of {self.display} enlarges pictures under "
                             f"{min_px} pixels, and the render spec draws {w}x{h}: the "
                             "model would never see the picture as drawn. Use a spec the "
                             "processor takes as it is.")

    def _check_processor(self, processor) -> None:
        norm = self.card.get("image_normalisation") or {}
        ip = getattr(processor, "image_processor", None)
        if ip is not None and getattr(ip, "do_center_crop", False) and \
                self.spec.width != self.spec.height:
            # resize-then-centre-crop keeps the middle of a non-square render only
            self.notices.append(f"The processor centre-crops images but the render spec is "
                                f"{self.spec.width}x{self.spec.height}: the model sees "
                                "only the middle of each picture.")
        if not norm or ip is None:
            return
        for key in ("mean", "std"):
            mine, theirs = norm.get(key), getattr(ip, f"image_{key}", None)
            if mine is None or theirs is None:
                continue
            if any(abs(float(a) - float(b)) > 1e-4 for a, b in zip(mine, theirs)):
                self.notices.append(f"The card's image {key} {list(mine)} differs from the "
                                    f"processor's {list(theirs)}; the processor's is used.")

    def describe(self) -> dict:
        """A summary for ``psg-lens model info`` and the model manager."""
        spec = self.spec
        return {"name": self.name, "version": self.version, "path": self.display,
                "architecture": self.card.get("architecture"),
                "base_model": self.card.get("base_model"), "adapter": self.card.get("adapter"),
                "labels": list(self.labels), "prompt": self.card.get("prompt"),
                "layout": None if self.layout is None else {
                    "pictures": list(self.layout.offsets),
                    "system_prompt": (f"{self.layout.system_file} "
                                      f"({len(self.layout.system or '')} characters)"
                                      if self.layout.system_file else
                                      f"{len(self.layout.system or '')} characters"),
                    "answer": self.answer.describe(),
                    "default_mode": self.answer.default_mode},
                "render_spec": f"{spec.name} v{spec.version}: {spec.width}x{spec.height}, "
                               f"{len(spec.rows)} rows ({', '.join(r.slot for r in spec.rows)}), "
                               f"{spec.scaling} scaling, fold {spec.fold}, "
                               f"{spec.context_epochs} context epoch(s) a side",
                "image_normalisation": self.card.get("image_normalisation"),
                "training_data": self.card.get("training_data"),
                "metrics": self.card.get("metrics"),
                "intended_use": self.card.get("intended_use"),
                "limitations": self.card.get("limitations"),
                "synthetic_only": bool(self.card.get("synthetic_only", False)),
                "licence": self.card.get("licence")}


# -- validation --------------------------------------------------------------------------
def load_bundle(path: str | os.PathLike, *, check_tokenizer: bool = False,
                allow_download: bool = False) -> Bundle:
    """Validate a bundle folder without loading weights.

    ``check_tokenizer`` also loads the tokenizer and checks that the labels start with
    distinct tokens (cheap; the engine always checks it).
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise ModelError(f"There is no model bundle at {path}.")
    if not path.is_dir():
        raise ModelError(f"{path} is a file; a model bundle is a folder holding "
                         f"{CARD_FILE} and the model files.")
    path = path.resolve()
    card_path = path / CARD_FILE
    if not card_path.is_file():
        raise ModelError(f"{path} is not a PSG Lens model bundle: it has no {CARD_FILE}.")
    card = load_json_file(card_path, limit=CARD_MAX_BYTES, error=ModelError,
                          where=f"The model card of {path}", kind="a model card",
                          template=_JSON_SYNTAX)
    if not isinstance(card, dict):
        raise ModelError(f"The model card of {path} must be a JSON object.")
    missing = [k for k in REQUIRED_KEYS if k not in card]
    if missing:
        raise ModelError(f"The model card of {path} lacks required key(s): "
                         f"{', '.join(missing)}.")
    if card["schema_version"] != CARD_SCHEMA_VERSION:
        raise ModelError(f"The model card of {path} has schema_version "
                         f"{card['schema_version']!r}; this PSG Lens reads version "
                         f"{CARD_SCHEMA_VERSION}; update PSG Lens or re-export the bundle.")
    check_card_fields(card, f"The model card of {path}")
    try:
        spec = RenderSpec.from_dict(card["render_spec"], source=f"The render spec of {path}")
    except SpecError as err:
        raise ModelError(str(err)) from err
    labels = _check_labels(card["labels"], str(path))
    source = f"The model card of {path}"
    layout = None
    answer = AnswerFormat.from_card(card.get("answer"), source=source)
    if "layout" in card:
        layout = MessageLayout.from_card(card["layout"], path, source=source)
        if answer.format != "json":
            raise ModelError(f"{source} has a layout but no JSON answer format; a layout "
                             "bundle needs an 'answer' section with format 'json'.")
        prompt = ""
    else:
        prompt = _one_picture_prompt(card, path)
    _check_calibration(card, str(path))
    adapter = card.get("adapter")
    weights = _weights_folder(path, card.get("weights"), allow_download)
    if adapter:
        _check_adapter(path, card, allow_download)
    elif Path(weights).is_dir():
        check_weights_folder(Path(weights))
    if Path(weights).is_dir():
        _check_processor_files(Path(weights))
    bundle = Bundle(path, card, spec, labels, prompt, ref=weights,
                    allow_download=allow_download, layout=layout, answer=answer)
    if check_tokenizer:
        bundle.label_readout()
    return bundle


def _one_picture_prompt(card: dict, path: Path) -> str:
    missing = [k for k in PROMPT_KEYS if k not in card]
    if missing:
        raise ModelError(f"The model card of {path} lacks required key(s): "
                         f"{', '.join(missing)} (or a 'layout').")
    template = card["prompt_template"]
    if not isinstance(template, str) or "{prompt}" not in template:
        raise ModelError(f"The model card of {path} has a prompt_template without "
                         "'{prompt}'.")
    if not isinstance(card["prompt"], str) or not card["prompt"].strip():
        raise ModelError(f"The model card of {path} has an empty prompt.")
    return fill_template(template, card["prompt"])


def _weights_folder(bundle: Path, weights: object, allow_download: bool) -> str:
    """Where the full model is: the bundle itself, or the folder (absolute path, as the
    user gave it at import) or hub id the card's ``weights`` names."""
    if weights is None:
        return str(bundle)
    if not isinstance(weights, str) or not weights.strip():
        raise ModelError(f"The model card of {bundle}: 'weights' must be a folder path or a "
                         "hub id.")
    candidate = Path(weights).expanduser()
    if candidate.is_absolute():
        if not candidate.is_dir():
            raise ModelError(f"The weights of {bundle} were at {candidate}, which is not a "
                             "folder any more; move them back, or import the model again.")
        return str(candidate.resolve())
    if weights.startswith(".") or "\\" in weights or weights.count("/") != 1:
        raise ModelError(f"The model card of {bundle} points its weights at {weights!r}; "
                         "weights outside the bundle must be an absolute path or a hub id.")
    if not allow_download and _hf_cached(weights) is None:
        raise ModelError(f"The weights {weights} of {bundle} are not in the local Hugging "
                         "Face cache; download them first, or allow downloading.")
    return weights


def _check_calibration(card: dict, source: str) -> None:
    cal = card.get("calibration", {})
    if not isinstance(cal, dict):
        raise ModelError(f"The model card of {source}: 'calibration' must be an object.")
    t = cal.get("temperature", 1.0)
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not (0.05 <= t <= 50):
        raise ModelError(f"The model card of {source} has calibration temperature {t!r}; it "
                         "must be a number between 0.05 and 50.")
    try:
        from app.core.inference.night_smoothing import NightSmoothing

        NightSmoothing.from_card(card.get("smoothing"))
    except (TypeError, ValueError) as err:
        raise ModelError(f"The model card of {source} has a 'smoothing' section PSG Lens "
                         f"cannot use: {err}") from err
    ref = card.get("input_check")
    if ref is not None:
        slots = ref.get("slots") if isinstance(ref, dict) else None
        if not isinstance(slots, dict) or not all(
                isinstance(v, dict) and {"mean", "cov", "threshold"} <= set(v)
                for v in slots.values()):
            raise ModelError(f"The model card of {source} has an 'input_check' section that "
                             "is not training statistics (slots with mean, cov, threshold).")


def check_weights_folder(folder: Path) -> None:
    """Refuse pickle-only weights and custom code; require safetensors weights."""
    files = [p.name for p in folder.iterdir() if p.is_file()]
    has_safe = any(f.endswith(".safetensors") for f in files)
    pickles = sorted(f for f in files if f.endswith(PICKLE_SUFFIXES))
    if not has_safe and pickles:
        raise ModelError(f"{folder} holds its weights only in pickle format "
                         f"({', '.join(pickles)}); PSG Lens loads safetensors only, because "
                         "unpickling can run code: re-save it with "
                         "save_pretrained(safe_serialization=True).")
    if not has_safe:
        raise ModelError(f"{folder} has no model weights (model.safetensors).")
    if "config.json" not in files:
        raise ModelError(f"{folder} has no config.json, so the model cannot be built.")
    for name in sorted(f for f in files if f.endswith(".safetensors")):
        check_safetensors(folder / name)
    _refuse_remote_code(_read_json(folder / "config.json"), str(folder))


def _check_adapter(path: Path, card: dict, allow_download: bool) -> None:
    adapter = path / str(card["adapter"])
    if not (adapter / "adapter_config.json").is_file():
        raise ModelError(f"The model card of {path} names adapter folder "
                         f"{card['adapter']!r}, which has no adapter_config.json.")
    if not (adapter / "adapter_model.safetensors").is_file():
        pickles = sorted(p.name for p in adapter.glob("*") if p.name.endswith(PICKLE_SUFFIXES))
        if pickles:
            raise ModelError(f"The adapter of {path} is in pickle format only "
                             f"({', '.join(pickles)}); PSG Lens loads safetensors only, "
                             "because unpickling can run code.")
        raise ModelError(f"The adapter of {path} has no adapter_model.safetensors.")
    check_safetensors(adapter / "adapter_model.safetensors")
    if not card.get("base_model"):
        raise ModelError(f"The model card of {path} has an adapter but no base_model to "
                         "apply it to.")
    base = _resolve_base(path, card["base_model"], allow_download)
    if Path(base).is_dir():
        check_weights_folder(Path(base))


def _resolve_base(bundle: Path, base: str | None, allow_download: bool) -> str:
    if not base:
        raise ModelError(f"The model card of {bundle} has no base_model.")
    candidate = Path(base).expanduser()
    if not candidate.is_absolute() and ".." in Path(base).parts:
        raise ModelError(f"The model card of {bundle} points its base model at {base!r}, "
                         "outside the bundle; a base model outside the bundle must be an "
                         "absolute path or a hub id.")
    candidate = candidate if candidate.is_absolute() else bundle / candidate
    if candidate.is_dir():
        return str(candidate.resolve())
    looks_like_path = base.startswith((".", "/", "~")) or "\\" in base or base.count("/") != 1
    if looks_like_path:
        raise ModelError(f"The base model of {bundle} ({base}) is not a folder at "
                         f"{candidate}; put the base model there or edit the card.")
    if not allow_download and _hf_cached(base) is None:
        raise ModelError(f"The base model {base} of {bundle} is not in the local Hugging "
                         "Face cache; download it first, or allow downloading.")
    return base


def _check_processor_files(path: Path) -> None:
    if not any((path / f).is_file() for f in PROCESSOR_FILES):
        raise ModelError(f"{path} has no processor files ({PROCESSOR_FILES[0]}); save the "
                         "processor with the model.")


def _check_labels(labels: Any, source: str) -> tuple[str, ...]:
    if (not isinstance(labels, (list, tuple)) or len(labels) != len(DEFAULT_LABELS)
            or not all(isinstance(x, str) and x.strip() for x in labels)):
        raise ModelError(f"The labels of {source} must be five words, for W, N1, N2, N3 and "
                         f"REM in that order (got {labels!r}).")
    if len(set(labels)) != len(labels):
        raise ModelError(f"The labels of {source} must be distinct (got {list(labels)}).")
    return tuple(labels)


def _refuse_remote_code(config: dict, source: str) -> None:
    def walk(d: Any) -> bool:
        if isinstance(d, dict):
            if "auto_map" in d or d.get("trust_remote_code"):
                return True
            return any(walk(v) for v in d.values())
        return False

    if walk(config):
        raise ModelError(f"The config.json of {source} asks to run custom code "
                         "(auto_map/trust_remote_code); PSG Lens never runs code shipped "
                         "with a model.")


def _read_json(path: Path | None) -> dict:
    if path is None or not path.exists():
        return {}
    data = load_json_file(path, limit=CONFIG_MAX_BYTES, error=ModelError, where=str(path),
                          kind="a model's config.json", template=_JSON_SYNTAX)
    return data if isinstance(data, dict) else {}


def _hf_cached(repo_id: str, filename: str = "config.json") -> Path | None:
    """The file from the local Hugging Face cache, or None (never downloads)."""
    try:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(repo_id, filename)
    except Exception:  # no hub client, or an invalid repo id: simply not cached
        return None
    return Path(found) if isinstance(found, str) else None


def fill_template(template: str, prompt: str) -> str:
    # str.replace, not format: templates hold other braces (Jinja, JSON examples)
    return template.replace("{prompt}", prompt)


def chat_prompt(processor, prompt: str) -> str:
    """The prompt text a processor's chat template makes for one image + ``prompt``."""
    messages = [{"role": "user", "content": [{"type": "image"},
                                             {"type": "text", "text": prompt}]}]
    if getattr(processor, "chat_template", None):
        return processor.apply_chat_template(messages, add_generation_prompt=True)
    image_token = getattr(processor, "image_token", "<image>")
    return fill_template(DEFAULT_TEMPLATE.replace("<image>", image_token), prompt)
