"""Scoring: stages, hypnograms, the session store, statistics and agreement.

``stages`` (codes and label mappings), ``hypnogram`` (one stage per epoch, with its
source), ``session`` and ``study_identity`` (the SQLite scoring session), ``stats``
(AASM statistics), ``agreement`` (kappa, F1, consensus) and ``priors`` (the stage
transition prior estimated from real hypnograms).
"""
