"""Writing model bundles: a whole bundle saved atomically, and a card edited in place.

Reading and checking a bundle is :mod:`app.core.inference.bundle`; every bundle written
here is loaded with it before it is published, so nothing is saved that the app would
refuse.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from app.core.inference.bundle import (
    ADAPTER_DIR,
    CARD_FILE,
    CARD_SCHEMA_VERSION,
    DEFAULT_LABELS,
    DEFAULT_PROMPT,
    DEFAULT_TEMPLATE,
    load_bundle,
)
from app.core.signals.render_spec import RenderSpec
from app.errors import ModelError


def save_bundle(out_dir: str | os.PathLike, model, processor, card: dict, *,
                extra_files: dict[str, Path] | None = None) -> Path:
    """Write a bundle atomically (temp folder, validated, then renamed into place).

    ``extra_files`` (name in the bundle -> file) are copied in first (a layout's prompt).

    A ``peft.PeftModel`` is saved as its adapter only (``adapter/``); the card must then
    name the ``base_model`` (a hub id, or a path absolute or relative to the bundle).
    """
    out = Path(out_dir).expanduser().resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    card = dict(card)
    spec = card.get("render_spec")
    if isinstance(spec, RenderSpec):
        card["render_spec"] = spec.to_dict()
    card.setdefault("schema_version", CARD_SCHEMA_VERSION)
    card.setdefault("labels", list(DEFAULT_LABELS))
    if "layout" not in card:
        card.setdefault("prompt", DEFAULT_PROMPT)
        card.setdefault("prompt_template", DEFAULT_TEMPLATE)
    card.setdefault("base_model", None)
    card.setdefault("adapter", None)
    ip = getattr(processor, "image_processor", None)
    if ip is not None and "image_normalisation" not in card:
        card["image_normalisation"] = {"mean": [float(v) for v in ip.image_mean],
                                       "std": [float(v) for v in ip.image_std]}
    is_peft = _is_peft(model)
    inner = model.get_base_model() if is_peft else model
    card.setdefault("architecture", type(inner).__name__)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        for name, src in (extra_files or {}).items():
            shutil.copy2(src, tmp / name)
        _save_files(model, processor, card, tmp, is_peft)
        load_bundle(tmp)  # never publish a bundle we would refuse to load
        # mkdtemp and some writers make owner-only files; a bundle is meant to be shared
        for p in [tmp, *tmp.rglob("*")]:
            p.chmod(0o755 if p.is_dir() else 0o644)
        replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _save_files(model, processor, card: dict, tmp: Path, is_peft: bool) -> None:
    from app.core.inference.readout import quiet_loading

    with quiet_loading():
        if is_peft:
            if not card.get("base_model"):
                raise ModelError("An adapter bundle needs card['base_model'] (a hub id or a "
                                 "path to the base model).")
            card["adapter"] = ADAPTER_DIR
            model.save_pretrained(tmp / ADAPTER_DIR, safe_serialization=True)
        else:
            card["adapter"] = None
            model.save_pretrained(tmp, safe_serialization=True)
        processor.save_pretrained(tmp)
    # a relative base_model resolves the same from tmp: it is a sibling of the target
    (tmp / CARD_FILE).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")


def replace_dir(src: Path, dst: Path) -> None:
    """Put folder ``src`` at ``dst``, an existing ``dst`` swapped out, then removed."""
    if not dst.exists():
        os.replace(src, dst)
        return
    old = dst.with_name(f".{dst.name}.old-{os.getpid()}")
    os.replace(dst, old)
    os.replace(src, dst)
    shutil.rmtree(old, ignore_errors=True)


def _is_peft(model) -> bool:
    try:
        from peft import PeftModel
    except ImportError:
        return False
    return isinstance(model, PeftModel)


@contextmanager
def editing_card(bundle: str | os.PathLike) -> Iterator[dict]:
    """Read a bundle's card, let the block change it, write it back atomically (the
    training steps and benchmarks that record their figures in the card)."""
    path = Path(bundle) / CARD_FILE
    card = json.loads(path.read_text())
    yield card
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(card, indent=2) + "\n")
    tmp.replace(path)
