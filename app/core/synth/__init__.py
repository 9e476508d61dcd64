"""Synthetic, labelled polysomnography with planted events (tests, demo, default model).

Each 30-s epoch's signals follow its stage (AASM Manual v2.6 definitions): posterior alpha,
blinks and high chin tone in W; theta, slow eye movements and vertex waves in N1;
spindles and K-complexes in N2; frontal high-amplitude delta in N3; low-voltage mixed
activity, sawtooth waves, rapid eye movements and atonia in REM. The night is made
electrode by electrode and recorded through a montage (:mod:`.montages`: AASM, Sleep-EDF
cassette, SHHS, DREAMS, single-channel, referential, headband, ...) and a lab
(:mod:`.acquisition`); ``varied=True`` draws the person and the lab from real-world
spread for training. Every discrete event is recorded as a :class:`PlantedEvent`.

``indices=EventIndices(apnea=..., plm=..., arousal=...)`` also plants clinical events
(:mod:`.clinical`: apneas, hypopneas, desaturations, arousals, limb movements, position
changes) with the channels that show them, as ground truth for event detectors: they
are ``study.truth`` (:class:`app.core.scoring.events.Event` records) and EDF+
annotations in the written file.

Everything is drawn from one ``numpy.random.Generator`` seeded by ``seed``: the same
seed gives byte-identical arrays and EDF files.

Modules: ``physiology`` (stage tables, the subject), ``electrodes`` (fields),
``montages`` (channel recipes), ``acquisition`` (the lab), ``noise``, ``events`` and
``body`` (signal building blocks), ``night`` (:func:`synthesize`), ``edf_out``; for
clinical events ``planting`` (indices, timeline), ``respiratory``, ``arousals``, ``limbs``
and ``clinical`` (the plan, its channels and its truth).

Examples
--------
>>> study = synthesize(hours=0.25, seed=1, sfreq=100.0)
>>> study.ch_names[:3], study.data.shape
(['F4-M1', 'C4-M1', 'O2-M1'], (7, 90000))
"""

from app.core.synth.clinical import ANNOTATION, POSITIONS, edf_annotations
from app.core.synth.edf_out import EDF_STAGE_TEXT, make_study_file, write_edf
from app.core.synth.events import PlantedEvent
from app.core.synth.montages import MONTAGES, ChannelRecipe, montage_names
from app.core.synth.night import SynthChannel, SynthStudy, sample_hypnogram, synthesize
from app.core.synth.planting import EventIndices, SynthEventError

__all__ = ["ANNOTATION", "EDF_STAGE_TEXT", "MONTAGES", "POSITIONS", "ChannelRecipe",
           "EventIndices", "PlantedEvent", "SynthChannel", "SynthEventError", "SynthStudy",
           "edf_annotations", "make_study_file", "montage_names", "sample_hypnogram",
           "synthesize", "write_edf"]
