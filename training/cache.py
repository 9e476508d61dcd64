"""The image cache: every labelled epoch rendered once, with a manifest.

``python -m training build CONFIG`` renders each study's epochs with the config's
RenderSpec (the app's own ``app.core.signals.render``) into PNG files plus an index, in
parallel processes, resumably (a subject with a ``done.json`` is skipped).

Splits are by SUBJECT, never by epoch: neighbouring epochs of one night are nearly
the same picture, and an epoch-level split would leak them into the test set.

Layout::

    cache/manifest.json                 spec, sources, subjects per split, label counts
    cache/index.csv                     path, subject, split, epoch, label
    cache/subjects/<subject>/e00012.png
    cache/subjects/<subject>/done.json  that subject's rows (the resume marker)
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from app.core.scoring.stages import STAGE_LABELS
from app.core.signals.render import render_many, resolve_sources
from app.core.signals.render_spec import RenderSpec
from training.datasets import StudyRef, find_studies


@dataclass
class CacheArgs:
    """The ``cache`` part of a training config."""

    output_dir: str
    sources: list[dict]
    spec: dict | str = "clinical"
    val_fraction: float = 0.1
    test_fraction: float = 0.15
    split_seed: int = 0
    epochs_per_subject: int | None = None   # None: every scored epoch
    balance: float = 0.5                     # 0 uniform, 1 equal per stage
    drop_channel_prob: float = 0.0           # train only: a slot drawn as missing
    # channel subsets drawn per chunk of epochs (see apply_subset), e.g.
    # [{"name": "as recorded", "weight": 0.5}, {"name": "single EEG", "weight": 0.2,
    #   "keep_one_eeg": true}, {"name": "no chin", "weight": 0.1, "drop": ["chin"]}]
    subsets: list[dict] | None = None
    subset_chunk: int = 16
    workers: int = 2
    seed: int = 0
    extra: dict = field(default_factory=dict)


def spec_from_config(value: dict | str) -> RenderSpec:
    """A preset with overrides (``row_overrides``: slot -> RowSpec fields), a spec dict or
    a spec file."""
    import dataclasses

    if isinstance(value, str):
        return RenderSpec.load(value)
    value = dict(value)
    preset = value.pop("preset", None)
    rows = value.pop("row_overrides", {})
    spec = RenderSpec.preset(preset, **value) if preset else RenderSpec.from_dict(value)
    unknown = sorted(set(rows) - {r.slot for r in spec.rows})
    if unknown:
        raise ValueError(f"row_overrides name slot(s) {', '.join(unknown)} that the spec "
                         f"has no row for ({', '.join(r.slot for r in spec.rows)}).")
    if rows:
        spec = dataclasses.replace(spec, rows=tuple(
            dataclasses.replace(r, **rows.get(r.slot, {})) for r in spec.rows))
    return spec


def split_subjects(subjects: list[str], val_fraction: float, test_fraction: float,
                   seed: int) -> dict[str, str]:
    """Subject -> "train" | "val" | "test", deterministic for a seed."""
    order = sorted(set(subjects))
    np.random.default_rng(seed).shuffle(order)
    n = len(order)
    n_test = int(round(n * test_fraction))
    n_val = int(round(n * val_fraction))
    if n >= 3:
        n_test, n_val = max(n_test, 1 if test_fraction > 0 else 0), max(n_val, 1 if val_fraction > 0 else 0)
    out = {}
    for i, s in enumerate(order):
        out[s] = "test" if i < n_test else "val" if i < n_test + n_val else "train"
    return out


def choose_epochs(stages: np.ndarray, k: int | None, balance: float,
                  rng: np.random.Generator) -> np.ndarray:
    """Scored epochs to keep: all, or ``k`` drawn with p ~ count(stage)^-balance."""
    scored = np.nonzero((stages >= 0) & (stages <= 4))[0]
    if k is None or k >= scored.size:
        return scored
    counts = np.bincount(stages[scored], minlength=5).astype(float)
    p = counts[stages[scored]] ** -balance
    pick = rng.choice(scored, size=k, replace=False, p=p / p.sum())
    return np.sort(pick)


EEG_SLOTS = ("frontal", "central", "occipital")


def apply_subset(sources: list, slots: list[str], subset: dict,
                 rng: np.random.Generator) -> list:
    """The sources a channel subset leaves (None = drawn as missing).

    ``subset`` keys: ``keep`` (slots kept, the rest dropped), ``keep_one_eeg`` (one of the
    EEG slots present, chosen at random, and nothing else unless ``also`` names it),
    ``drop`` (slots dropped), ``drop_prob`` (each slot dropped with this chance). At least
    one EEG slot that the recording has is always kept: the model stages from EEG.
    """
    out = list(sources)
    present = [i for i, (s, src) in enumerate(zip(slots, sources))
               if s in EEG_SLOTS and src is not None]
    if subset.get("keep_one_eeg") and present:
        keep = {slots[int(rng.choice(present))], *subset.get("also", ())}
        out = [src if s in keep else None for s, src in zip(slots, out)]
    if "keep" in subset:
        out = [src if s in subset["keep"] else None for s, src in zip(slots, out)]
    for s in subset.get("drop", ()):
        out = [None if k == s else src for k, src in zip(slots, out)]
    if subset.get("drop_prob"):
        out = [None if rng.random() < subset["drop_prob"] else src for src in out]
    if present and not any(out[i] is not None for i in present):
        i = int(rng.choice(present))
        out[i] = sources[i]
    return out


def _draw_subset(subsets: list[dict], rng: np.random.Generator) -> dict:
    w = np.asarray([float(s.get("weight", 1.0)) for s in subsets])
    return subsets[int(rng.choice(len(subsets), p=w / w.sum()))]


def render_subject(ref: StudyRef, split: str, args: CacheArgs, root: str) -> list[dict]:
    """Render one subject's chosen epochs; return its index rows (resumable)."""
    from PIL import Image

    # one folder per recording: a subject may have several nights (Sleep-EDF, SHHS visits)
    study = str(ref.params.get("study", ref.subject_id))
    rel = Path("subjects") / ref.subject_id
    if study != ref.subject_id:
        rel = rel / "".join(c if c.isalnum() or c in "-_." else "_" for c in Path(study).name)
    folder = Path(root) / rel
    done = folder / "done.json"
    if done.exists():
        return json.loads(done.read_text())
    folder.mkdir(parents=True, exist_ok=True)
    spec = spec_from_config(args.spec)
    rec, hyp, _extra = ref.load()
    n = min(rec.n_epochs, hyp.n_epochs)
    seed = args.seed * 100003 + int.from_bytes(ref.subject_id.encode()[-4:], "little")
    rng = np.random.default_rng(seed)
    epochs = choose_epochs(hyp.stages[:n], args.epochs_per_subject, args.balance, rng)
    sources = resolve_sources(rec, spec)
    if split == "train" and args.drop_channel_prob > 0:
        # real files often lack a slot: teach the model that a dashed row means "absent"
        sources = [None if (s is not None and rng.random() < args.drop_channel_prob) else s
                   for s in sources]
        if all(s is None for s in sources[:3]):
            sources[1] = resolve_sources(rec, spec)[1]
    rows = []
    slots = [r.slot for r in spec.rows]
    montage = str(_extra.get("montage", ref.kind)) if isinstance(_extra, dict) else ref.kind
    step = args.subset_chunk if args.subsets else max(len(epochs), 1)
    for c0 in range(0, len(epochs), step):
        chunk = epochs[c0:c0 + step]
        subset = _draw_subset(args.subsets, rng) if args.subsets else {"name": "as recorded"}
        chunk_sources = apply_subset(sources, slots, subset, rng) if args.subsets else sources
        k = 0
        for batch in render_many(rec, spec, chunk, sources=chunk_sources, batch_size=64):
            for img in batch:
                e = int(chunk[k])
                name = f"e{e:05d}.png"
                Image.fromarray(np.ascontiguousarray(img)).save(folder / name, compress_level=1)
                rows.append({"path": (rel / name).as_posix(), "subject": ref.subject_id,
                             "split": split, "epoch": e, "label": STAGE_LABELS[hyp.stages[e]],
                             "montage": montage, "subset": subset.get("name", "")})
                k += 1
    tmp = done.with_suffix(".tmp")
    tmp.write_text(json.dumps(rows))
    os.replace(tmp, done)
    return rows


def build_cache(args: CacheArgs, progress=None) -> dict:
    """Render every source's studies into ``args.output_dir``; return the manifest."""
    root = Path(args.output_dir)
    root.mkdir(parents=True, exist_ok=True)
    spec = spec_from_config(args.spec)
    refs = [r for src in args.sources for r in find_studies(src)]
    splits = split_subjects([r.subject_id for r in refs], args.val_fraction,
                            args.test_fraction, args.split_seed)
    rows: list[dict] = []
    done = 0
    if args.workers > 1:
        with ProcessPoolExecutor(args.workers) as pool:
            futures = [pool.submit(render_subject, r, splits[r.subject_id], args, str(root))
                       for r in refs]
            for fut in as_completed(futures):
                rows.extend(fut.result())
                done += 1
                if progress:
                    progress(done, len(refs))
    else:
        for r in refs:
            rows.extend(render_subject(r, splits[r.subject_id], args, str(root)))
            done += 1
            if progress:
                progress(done, len(refs))
    rows.sort(key=lambda r: (r["split"], r["subject"], r["epoch"]))
    with open(root / "index.csv.tmp", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["path", "subject", "split", "epoch", "label",
                                          "montage", "subset"], restval="")
        w.writeheader()
        w.writerows(rows)
    os.replace(root / "index.csv.tmp", root / "index.csv")
    manifest = {
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "render_spec": spec.to_dict(),
        "args": asdict(args),
        "subjects": {s: sorted(k for k, v in splits.items() if v == s)
                     for s in ("train", "val", "test")},
        "label_counts": {s: {lab: sum(1 for r in rows if r["split"] == s and r["label"] == lab)
                             for lab in STAGE_LABELS} for s in ("train", "val", "test")},
        "n_images": len(rows),
    }
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return manifest


def read_index(cache_dir: str | Path, split: str | None = None) -> list[dict]:
    with open(Path(cache_dir) / "index.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return [r for r in rows if split is None or r["split"] == split]
