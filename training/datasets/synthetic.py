"""Synthetic studies from ``app.core.synth``, varied the way real archives are.

Each subject draws its own night (stage sequence sampled as real hypnograms are),
montage (a full AASM montage, or the Sleep-EDF pair Fpz-Cz/Pz-Oz with one EOG) and
physiology from its seed, so no two subjects look alike.
"""

from __future__ import annotations

import numpy as np

from app.core.scoring.hypnogram import Hypnogram, Source
from training.datasets import StudyRef

DEFAULT_MONTAGES = {"aasm": 0.7, "sleep-edf": 0.3}


def find(source: dict) -> list[StudyRef]:
    n = int(source.get("n_subjects", 10))
    seed0 = int(source.get("seed", 0))
    montages = source.get("montages", DEFAULT_MONTAGES)
    names, weights = list(montages), np.asarray(list(montages.values()), float)
    rng = np.random.default_rng(seed0)
    refs = []
    for i in range(n):
        seed = seed0 + i
        montage = str(rng.choice(names, p=weights / weights.sum()))
        refs.append(StudyRef(f"synth-{seed:04d}", source.get("name", "synthetic"), "synthetic",
                             {"seed": seed, "hours": float(source.get("hours", 8.0)),
                              "montage": montage, "sfreq": float(source.get("sfreq", 256.0))}))
    return refs


def load(ref: StudyRef):
    from app.core.synth import synthesize

    p = ref.params
    study = synthesize(hours=p["hours"], seed=p["seed"], montage=p["montage"], sfreq=p["sfreq"])
    rec = study.to_recording(name=ref.subject_id)
    hyp = Hypnogram(study.stages[: rec.n_epochs], start_time=study.start_time,
                    scorer="synthetic ground truth", source=Source.IMPORTED)
    return rec, hyp, {"events": study.events}
