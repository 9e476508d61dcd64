"""What a model bundle's files must hold, checked before any model time.

- :func:`check_card_fields`: the model card's fields have the types the app uses them
  as (``image_normalisation`` three numbers each, ``std`` never 0, ``metrics`` an object,
  the input-check statistics numbers of matching sizes, ...). A wrong one is a
  ModelError naming the card, the field and the value, said at load time instead of a
  ValueError or AttributeError when a study is scored or ``model info`` prints.
- :func:`check_safetensors`: a weights file is a whole safetensors file (header, tensor
  table and data all there) without loading a tensor. Random bytes, a truncated copy
  or a zero-byte file is a sentence, not a SafetensorError from deep inside
  transformers. Nothing is ever unpickled.
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import numpy as np

from app.core.files.limits import parse_json
from app.errors import ModelError

#: safetensors refuses headers over 100 MB; so do we, before reading one
SAFETENSORS_MAX_HEADER = 100_000_000
_ADVICE = "Copy the model again, or save it again with save_pretrained(safe_serialization=True)."
_DTYPE_BYTES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1, "U16": 2, "I16": 2,
                "F16": 2, "BF16": 2, "U32": 4, "I32": 4, "F32": 4, "U64": 8, "I64": 8,
                "F64": 8}


def shown(value: object) -> str:
    """A value as the card's JSON has it ("abc", true, [0, 1]), cut to 60 characters."""
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


# -- the card -----------------------------------------------------------------------------
def check_card_fields(card: dict, source: str) -> None:
    """Raise a ModelError for the first card field of the wrong type (``source`` names
    the card in the message: "The model card of /path/bundle")."""
    def bad(field: str, want: str, value: object) -> ModelError:
        return ModelError(f"{source}: '{field}' must be {want}, not {shown(value)}.")

    for key in ("name", "architecture"):
        if not isinstance(card[key], str) or not card[key].strip():
            raise bad(key, "a non-empty text", card[key])
    if not isinstance(card["version"], str):
        raise bad("version", 'text such as "1.0.0"', card["version"])
    for key in ("base_model", "weights"):
        if card.get(key) is not None and not isinstance(card[key], str):
            raise bad(key, "a folder path or hub id (text) or null", card[key])
    adapter = card.get("adapter")
    if adapter is not None:
        if not isinstance(adapter, str) or not adapter.strip() or Path(adapter).is_absolute() \
                or ".." in Path(adapter).parts:  # the adapter travels with the bundle
            raise bad("adapter", "the name of a folder inside the bundle, or null", adapter)
    if "synthetic_only" in card and not isinstance(card["synthetic_only"], bool):
        raise bad("synthetic_only", "true or false (without quotes)", card["synthetic_only"])
    _check_normalisation(card.get("image_normalisation"), bad)
    _check_metrics(card.get("metrics"), bad)
    _check_input_check(card.get("input_check"), bad)


def _check_normalisation(norm: object, bad) -> None:
    if norm is None:
        return
    if not isinstance(norm, dict):
        raise bad("image_normalisation", "an object with mean and std", norm)
    for key in ("mean", "std"):
        v = norm.get(key)
        if v is None:
            continue
        if not isinstance(v, list) or len(v) != 3 or not all(_is_number(x) for x in v):
            raise bad(f"image_normalisation.{key}", "three numbers (red, green, blue)", v)
        if key == "std" and not all(x > 0 for x in v):  # the processor divides by it
            raise bad("image_normalisation.std", "three numbers above 0", v)


def _check_metrics(metrics: object, bad) -> None:
    if metrics is None:
        return
    if not isinstance(metrics, dict):
        raise bad("metrics", "an object", metrics)
    subsets = metrics.get("channel_subsets")
    if subsets is None:
        return
    if not isinstance(subsets, dict) or not isinstance(subsets.get("subsets", []), list):
        raise bad("metrics.channel_subsets", "an object with a 'subsets' list", subsets)
    for i, s in enumerate(subsets.get("subsets", []), 1):
        where = f"metrics.channel_subsets.subsets[{i}]"
        if not isinstance(s, dict):
            raise bad(where, "an object", s)
        if "slots" in s and (not isinstance(s["slots"], list)
                             or not all(isinstance(x, str) for x in s["slots"])):
            raise bad(f"{where}.slots", "a list of slot names", s["slots"])
        for key in ("accuracy", "kappa", "macro_f1"):
            if key in s and not (_is_number(s[key]) and -1 <= s[key] <= 1):
                raise bad(f"{where}.{key}", "a number between -1 and 1", s[key])
        if "peer" in s:
            peer = s["peer"]
            if not (isinstance(peer, dict) and isinstance(peer.get("name"), str)
                    and all(_is_number(peer.get(k)) and 0 <= peer[k] <= 1
                            for k in ("accuracy", "model_accuracy"))):
                raise bad(f"{where}.peer", "an object with the peer's name, its accuracy and "
                          "the model's (between 0 and 1)", peer)


def is_peer_comparison(c: object) -> bool:
    """A card's ``metrics.peer_comparisons`` entry with every figure of the right type.
    Entries that fail are left out rather than refused: they are advice in a notice, and
    a hand-edited one must neither stop the model loading nor break the notice."""
    return (isinstance(c, dict) and isinstance(c.get("slots"), list)
            and all(isinstance(x, str) for x in c["slots"])
            and _is_number(c.get("model_accuracy")) and _is_number(c.get("peer_accuracy"))
            and isinstance(c.get("peer"), str) and isinstance(c.get("data"), str)
            and isinstance(c.get("command", ""), str))


def fusion_figures(found: object) -> dict | None:
    """A card's ``metrics.fusion`` (what bench/fusion.py fitted: the model's weight with
    one EEG lead and with several, the temperature of the fused probabilities, and per
    lead set the fused, model and peer accuracy)
    if every figure has the right type, else None: a hand-edited section falls back to
    the default weight rather than stopping the model loading."""
    if not isinstance(found, dict) or not isinstance(found.get("peer"), str):
        return None
    weights = found.get("weights")
    if not (isinstance(weights, dict) and set(weights) == {"one EEG lead", "several leads"}
            and all(_is_number(w) and 0 <= w <= 1 for w in weights.values())):
        return None
    t = found.get("temperature", 1.0)
    if not (_is_number(t) and 0.25 <= t <= 10):
        return None
    results = found.get("results", [])
    if not isinstance(results, list) or not all(
            isinstance(r, dict) and isinstance(r.get("slots"), list)
            and all(isinstance(x, str) for x in r["slots"]) and isinstance(r.get("name"), str)
            and all(_is_number(r.get(k)) and 0 <= r[k] <= 1
                    for k in ("fused", "model", "peer"))
            for r in results):
        return None
    return found


def subset_peer_comparison(subset: dict) -> dict:
    """A checked channel-subset entry's peer figures (whole nights, the model as ``score``
    stages them) as a peer comparison."""
    peer = subset["peer"]
    return {"slots": list(subset["slots"]), "model_accuracy": peer["model_accuracy"],
            "peer": peer["name"], "peer_accuracy": peer["accuracy"],
            "data": str(peer.get("data", subset.get("data", ""))),
            "command": "psg-lens score --engine yasa" if peer["name"].startswith("yasa/")
            else ""}


def _check_input_check(ref: object, bad) -> None:
    """The input check's training statistics: per slot a mean vector, its covariance
    (square, same size, invertible) and a positive distance threshold."""
    if ref is None:
        return
    slots = ref.get("slots") if isinstance(ref, dict) else None
    if not isinstance(slots, dict):
        raise bad("input_check", "training statistics (an object with 'slots')", ref)
    for slot, stats in slots.items():
        where = f"input_check.slots.{slot}"
        if not isinstance(stats, dict) or not {"mean", "cov", "threshold"} <= set(stats):
            raise bad(where, "an object with mean, cov and threshold", stats)
        mean, cov, threshold = stats["mean"], stats["cov"], stats["threshold"]
        if not isinstance(mean, list) or not mean or not all(_is_number(x) for x in mean):
            raise bad(f"{where}.mean", "a list of numbers", mean)
        n = len(mean)
        if not isinstance(cov, list) or len(cov) != n or not all(
                isinstance(r, list) and len(r) == n and all(_is_number(x) for x in r)
                for r in cov):
            raise bad(f"{where}.cov", f"{n} rows of {n} numbers (the size of its mean)", cov)
        try:
            np.linalg.inv(np.asarray(cov, np.float64))
        except np.linalg.LinAlgError:
            raise bad(f"{where}.cov", "an invertible covariance matrix", cov) from None
        if not (_is_number(threshold) and threshold > 0):
            raise bad(f"{where}.threshold", "a number above 0", threshold)


# -- weights ------------------------------------------------------------------------------
def check_safetensors(file: Path) -> None:
    """Refuse a weights file that is not a whole safetensors file, reading its header only."""
    def bad(why: str) -> ModelError:
        return ModelError(f"{file} is not a usable safetensors file: {why}. {_ADVICE}")

    try:
        size = file.stat().st_size
        with open(file, "rb") as f:
            head = f.read(8)
            n = struct.unpack("<Q", head)[0] if len(head) == 8 else None
            header = f.read(n) if n is not None and n <= min(size - 8,
                                                             SAFETENSORS_MAX_HEADER) else b""
    except OSError as e:
        raise ModelError(f"Cannot read the weights {file}: {e.strerror or e}.") from None
    if size == 0:
        raise bad("it is empty (0 bytes)")
    if n is None:
        raise bad(f"it is only {size} bytes long")
    if n > SAFETENSORS_MAX_HEADER or n > size - 8:
        raise bad("its first bytes are not a safetensors header (random or other data, or "
                  "a file cut off near its start)")
    try:
        text = header.decode("utf-8")
    except UnicodeDecodeError:
        raise bad("its header is not text") from None
    table = parse_json(text, where=f"{file}", error=ModelError, kind="a safetensors header",
                       template="{where} is not a usable safetensors file: its header is "
                                "not JSON ({msg}). " + _ADVICE)
    if not isinstance(table, dict):
        raise bad("its header is not a table of tensors")
    data = size - 8 - n
    end = 0
    for name, t in table.items():
        if name == "__metadata__":
            continue
        offsets = t.get("data_offsets") if isinstance(t, dict) else None
        shape = t.get("shape") if isinstance(t, dict) else None
        if not (isinstance(offsets, list) and len(offsets) == 2
                and all(isinstance(o, int) and o >= 0 for o in offsets)
                and offsets[0] <= offsets[1] and isinstance(shape, list)
                and all(isinstance(d, int) and d >= 0 for d in shape)):
            raise bad(f"its entry for tensor {name!r} is damaged")
        width = _DTYPE_BYTES.get(t.get("dtype"))
        if width is not None and width * math.prod(shape) != offsets[1] - offsets[0]:
            raise bad(f"tensor {name!r} does not fill its {offsets[1] - offsets[0]} bytes")
        end = max(end, offsets[1])
    if end > data:
        raise bad(f"it is cut off: its tensors need {end + 8 + n} bytes but the file has "
                  f"{size}")
    if end < data:
        raise bad(f"it has {data - end} bytes after its last tensor")
