"""A hypnogram file laid on a study's epochs, for the commands that take one: never
silently (the numbers are in :mod:`app.core.scoring.fitting`)."""

from __future__ import annotations

import sys

from app.errors import PSGLensError


def fit_to_study(hyp, rec, name: str, fit: bool):
    """The hypnogram on the study's epochs; a mismatch is a sentence unless ``fit``."""
    from app.core.scoring.fitting import plan_fit

    if abs(hyp.epoch_sec - rec.epoch_sec) > 1e-6:
        raise PSGLensError(f"{name} has {hyp.epoch_sec:g}-s epochs and the study "
                           f"{rec.epoch_sec:g}-s ones; give a hypnogram in {rec.epoch_sec:g}-s "
                           "epochs.")
    plan = plan_fit(hyp, rec.start_time, rec.n_epochs, name=name)
    if plan.exact:
        return hyp
    if not fit:
        raise PSGLensError(f"{plan.sentence(name)} Pass --fit to do that, or give the "
                           "hypnogram of this study.")
    print(f"fitted {name} to the study: {plan.dropped} epoch(s) dropped, {plan.unscored} "
          "left unscored", file=sys.stderr)
    return hyp.align(rec.start_time, rec.duration_sec)
