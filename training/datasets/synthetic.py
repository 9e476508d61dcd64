"""Synthetic studies from ``app.core.synth``, varied the way real archives are.

Each subject draws its own night (stage sequence sampled as real hypnograms are),
montage (``montages``: weights over :data:`app.core.synth.montages.MONTAGES` - AASM,
Sleep-EDF cassette, SHHS, DREAMS, single-channel excerpts, referential, headbands, ...),
and, for a ``varied`` share of subjects, a person and a lab drawn from real-world spread
(:func:`app.core.synth.synthesize` ``varied=True``), so no two subjects look alike.

Source options: ``n_subjects``, ``hours``, ``seed``, ``sfreq``, ``montages``, ``varied``
(share of subjects, 0-1), ``older`` (share of the varied subjects drawn aged
``older_ages``, default 65-85: the default model read old sleepers' N2 as N1, and more
of them in training helped; see the README), ``quiet_wake`` (share of the varied subjects
awake quietly: less beta, scalp muscle and alpha in W, as real Sleep-EDF wake is; see
:func:`app.core.synth.physiology.draw_quiet_wake`).
"""

from __future__ import annotations

import numpy as np

from app.core.scoring.hypnogram import Hypnogram, Source
from app.core.synth.night import check_ages
from training.datasets import DatasetError, StudyRef, check_keys

DEFAULT_MONTAGES = {"aasm": 0.7, "sleep-edf": 0.3}
OLDER_AGES = (65, 85)


def find(source: dict) -> list[StudyRef]:
    from app.core.synth.montages import MONTAGES

    check_keys(source, ("n_subjects", "hours", "seed", "sfreq", "montages", "varied", "older",
                        "older_ages", "quiet_wake"))
    n = int(source.get("n_subjects", 10))
    seed0 = int(source.get("seed", 0))
    montages = source.get("montages", DEFAULT_MONTAGES)
    unknown = sorted(set(montages) - set(MONTAGES))
    if unknown:
        raise DatasetError(f"Unknown synthetic montage(s) {', '.join(unknown)}; known: "
                           f"{', '.join(MONTAGES)}.")
    varied = float(source.get("varied", 0.0))
    if not 0.0 <= varied <= 1.0:
        raise DatasetError(f"varied is the share of varied subjects (0-1), not {varied}.")
    older = float(source.get("older", 0.0))
    if not 0.0 <= older <= 1.0:
        raise DatasetError(f"older is the share of varied subjects drawn old (0-1), not {older}.")
    quiet = float(source.get("quiet_wake", 0.0))
    if not 0.0 <= quiet <= 1.0:
        raise DatasetError(f"quiet_wake is the share of varied subjects awake quietly (0-1), "
                           f"not {quiet}.")
    try:
        older_ages = check_ages(source.get("older_ages", OLDER_AGES))
    except ValueError as err:
        raise DatasetError(f"older_ages: {err}") from None
    names, weights = list(montages), np.asarray(list(montages.values()), float)
    rng = np.random.default_rng(seed0)
    quiet_rng = np.random.default_rng([seed0, 1])  # its own: every other draw stays as it was
    refs = []
    for i in range(n):
        seed = seed0 + i
        montage = str(rng.choice(names, p=weights / weights.sum()))
        is_varied = bool(rng.random() < varied)
        # drawn only when asked for, so existing configs keep every subject they had
        ages = older_ages if older and is_varied and rng.random() < older else None
        quiet_wake = bool(quiet and is_varied and quiet_rng.random() < quiet)
        params = {"seed": seed, "hours": float(source.get("hours", 8.0)),
                  "montage": montage, "sfreq": float(source.get("sfreq", 256.0)),
                  "varied": is_varied, "ages": None if ages is None else list(ages)}
        if quiet_wake:  # only where drawn: the held-out subjects cards name stay as named
            params["quiet_wake"] = True
        refs.append(StudyRef(f"synth-{seed:04d}", source.get("name", "synthetic"), "synthetic",
                             params))
    return refs


def load(ref: StudyRef):
    from app.core.synth import synthesize

    p = ref.params
    study = synthesize(hours=p["hours"], seed=p["seed"], montage=p["montage"], sfreq=p["sfreq"],
                       varied=bool(p.get("varied", False)), ages=p.get("ages"),
                       quiet_wake=bool(p.get("quiet_wake", False)))
    rec = study.to_recording(name=ref.subject_id)
    # the stages a scorer would give (N3 only with its slow waves), not the drive
    hyp = Hypnogram(study.scored_stages[: rec.n_epochs], start_time=study.start_time,
                    scorer="synthetic ground truth (AASM N3 rule)", source=Source.IMPORTED)
    return rec, hyp, {"events": study.events, "montage": p["montage"],
                      "acquisition": study.acquisition}
