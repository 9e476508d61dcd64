"""Dataset adapters: each turns a source into study references (one per recording).

A :class:`StudyRef` is small and picklable, so the image cache can hand it to a worker
process that loads the recording and its hypnogram there. Subject ids decide the
train/validation/test split: epochs of one subject never straddle two splits.

Examples
--------
>>> from training.datasets import find_studies
>>> refs = find_studies({"type": "synthetic", "n_subjects": 3, "hours": 0.5, "seed": 7})
>>> [r.subject_id for r in refs]
['synth-0007', 'synth-0008', 'synth-0009']
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

ADAPTERS = {
    "synthetic": "training.datasets.synthetic",
}


@dataclass(frozen=True)
class StudyRef:
    """Where one scored recording comes from; ``load()`` opens it."""

    subject_id: str
    dataset: str
    kind: str
    params: dict = field(default_factory=dict, hash=False, compare=False)

    def load(self):
        """Return (Recording, Hypnogram, extra) where extra may hold e.g. planted events."""
        module = importlib.import_module(ADAPTERS[self.kind])
        return module.load(self)


def find_studies(source: dict) -> list[StudyRef]:
    """Study references for one ``sources`` entry of a training config."""
    kind = source.get("type")
    if kind not in ADAPTERS:
        raise ValueError(f"Unknown dataset type {kind!r}; known: {', '.join(ADAPTERS)}.")
    return importlib.import_module(ADAPTERS[kind]).find(source)


def register(kind: str, module: str) -> None:
    ADAPTERS[kind] = module
