"""Event detectors: desaturations, apneas, hypopneas, limb movements and PLM series, arousals.

Each detector is one module and returns a list of
:class:`~app.core.scoring.events.Event` with ``source=DETECTOR``, a confidence (0.5 at
the rule's threshold, 1 well past it: an order to review them in, not a probability),
the channels it read and, in ``detail``, the values it measured so a technician can
check each one against the traces. Rules are the AASM Manual's (v2.6/v3; each module
cites its rule and says how it measures it).

Detectors propose; they never score. Their events are counted apart from the
technician's (:mod:`app.core.scoring.event_indices`).

Channels are found through the alias table
(:func:`app.core.signals.aliases.find_body_channels`). A study without what a detector
needs skips that detector with one sentence (:class:`DetectorSkipped`); the others run.
Signals are read in chunks and reduced on the way (:mod:`.reading`), so an 8-h study is
never loaded whole at its own rate.

Examples
--------
>>> import numpy as np
>>> from app.core.signals.recording import Recording
>>> rec = Recording.from_signals([("C4-M1", np.zeros(60000), 100.0, "uV")])
>>> result = detect_events(rec)
>>> result.events, result.skipped[0][:40]
([], 'No SpO2 channel: desaturations were not ')
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from app.core.detectors.apnea import detect_apneas
from app.core.detectors.arousal import detect_arousals
from app.core.detectors.desaturation import detect_desaturations
from app.core.detectors.hypopnea import check_rule, detect_hypopneas
from app.core.detectors.limb import detect_limb_movements, plm_series
from app.core.detectors.reading import DetectorSkipped
from app.core.scoring.events import Event, sort_events
from app.core.scoring.hypnogram import Hypnogram
from app.core.signals.aliases import find_body_channels
from app.core.signals.recording import Recording

__all__ = ["DETECTORS", "DetectionResult", "DetectorSkipped", "detect_events"]

DETECTORS = ("desaturation", "apnea", "arousal", "hypopnea", "limb")


@dataclass
class DetectionResult:
    """What the detectors proposed, and what they could not do."""

    events: list[Event]
    skipped: list[str] = field(default_factory=list)     # one sentence per skipped detector
    notes: list[str] = field(default_factory=list)       # what a technician should know
    channels: dict[str, str | None] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"events": [e.to_dict() for e in self.events], "skipped": list(self.skipped),
                "notes": list(self.notes), "channels": dict(self.channels),
                "seconds": {k: round(v, 3) for k, v in self.seconds.items()}}


def detect_events(rec: Recording, hypnogram: Hypnogram | None = None, *,
                  hypopnea_rule: str = "1A",
                  detectors: tuple[str, ...] = DETECTORS) -> DetectionResult:
    """Run the detectors on a study.

    Parameters
    ----------
    rec : Recording
        The study (read lazily, channel by channel).
    hypnogram : Hypnogram, optional
        Sleep stages, epoch 0 at the recording's start; arousals need it (and with them
        rule-1A hypopneas confirmed by an arousal).
    hypopnea_rule : {"1A", "1B"}
        AASM hypopnea rule: 3 % desaturation or arousal (recommended), or 4 % desaturation.
    detectors : tuple of str
        Which of :data:`DETECTORS` to run.
    """
    rule = check_rule(hypopnea_rule)
    out = DetectionResult([], channels=find_body_channels(rec.ch_names))
    found: dict[str, list[Event] | None] = {}

    def run(name: str, func: Callable[[], list[Event]]) -> list[Event] | None:
        if name not in detectors:
            return None
        t0 = time.perf_counter()
        try:
            events = func()
        except DetectorSkipped as err:
            out.skipped.append(str(err))
            return None
        finally:
            out.seconds[name] = time.perf_counter() - t0
        return events

    found["desaturation"] = run("desaturation", lambda: detect_desaturations(rec, drop_pct=3.0))
    found["apnea"] = run("apnea", lambda: detect_apneas(rec, notes=out.notes))
    found["arousal"] = run("arousal", lambda: detect_arousals(rec, hypnogram, notes=out.notes))
    found["hypopnea"] = run("hypopnea", lambda: detect_hypopneas(
        rec, desaturations=found["desaturation"], arousals=found["arousal"],
        apneas=found["apnea"] or [], rule=rule))
    respiratory = (found["apnea"] or []) + (found["hypopnea"] or [])
    found["limb"] = run("limb", lambda: plm_series(detect_limb_movements(rec, notes=out.notes),
                                                   respiratory))
    out.events = sort_events(e for events in found.values() if events for e in events)
    return out
