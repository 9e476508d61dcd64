"""Event names as files spell them, and the :class:`EventType` each one is.

Reading is forgiving: a name is compared lower-case with spelling variants folded
(apnoea and hypopnoea, artefact, underscores), NSRR's ``Name|Concept`` pairs are tried whole and by
either half, and a qualifier PSG Lens does not keep apart (a side, ``(ASDA)``, ``to
left``) is dropped before a second look; a name that still matches nothing is
``OTHER`` with its text, never dropped. Writing uses one spelling per format, or the
name the event was read with when that still means the same type (so a file's
``Limb movement - left|Limb Movement (Left)`` survives a round trip).

The NSRR and Profusion spellings are the SHHS/MESA ones listed by Luna's NSRR
harmonisation table (remnrem/luna-base, ``annot/nsrr-remap.cpp``, generated from NSRR's
``harm.annots``) and by torch_ecg's SHHS reader (DeepPSP/torch_ecg,
``torch_ecg/databases/nsrr_databases/shhs.py``: EventType values ``Respiratory|
Respiratory``, ``Arousals|Arousals``, ``Limb Movement|Limb Movement``, ``Stages|Stages``;
ScoredEvent children EventConcept, Start, Duration, SignalLocation, SpO2Nadir,
SpO2Baseline; Profusion's Name, Start, Duration, Input, LowestSpO2, Desaturation).

Examples
--------
>>> type_for_name("Obstructive apnea|Obstructive Apnea")
<EventType.OBSTRUCTIVE_APNEA: 'obstructive_apnea'>
>>> type_for_name("Limb Movement (Left)"), type_for_name("Snore") is None
(<EventType.LIMB_MOVEMENT: 'limb_movement'>, True)
"""

from __future__ import annotations

import re

from app.core.scoring.events import Event, EventType
from app.core.scoring.stages import UnknownStageError, parse_stage

T = EventType
_SYNONYMS: dict[EventType, tuple[str, ...]] = {
    T.OBSTRUCTIVE_APNEA: ("obstructive apnea", "apnea obstructive", "apnea-obstructive",
                          "apnea/obstructive", "oa"),
    T.CENTRAL_APNEA: ("central apnea", "apnea central", "apnea-central", "apnea/central",
                      "ca"),
    T.MIXED_APNEA: ("mixed apnea", "apnea mixed", "apnea-mixed", "apnea/mixed", "ma"),
    # an apnea whose kind the scorer did not give (NSRR's "Apnea|Apnea"): in the AHI
    T.APNEA: ("apnea", "apnoea", "unclassified apnea", "apnea unclassified",
              "apnea (unclassified)"),
    T.HYPOPNEA: ("hypopnea", "obstructive hypopnea", "central hypopnea", "mixed hypopnea",
                 "hypopnea obstructive", "hypopnea central"),
    T.RERA: ("rera", "respiratory effort related arousal",
             "respiratory effort-related arousal"),
    T.DESATURATION: ("spo2 desaturation", "sao2 desaturation", "desaturation",
                     "oxygen desaturation", "o2 desaturation", "desat"),
    # SHHS's "Arousal (ARO RES)" follows a scored apnea or hypopnea: an arousal, not a
    # RERA (counting it as one would count that breathing event twice in the RDI)
    T.AROUSAL: ("arousal", "arousals", "eeg arousal", "spontaneous arousal",
                "asda arousal", "external arousal", "respiratory arousal",
                "arousal resulting from respiratory effort",
                "arousal resulting from chin emg"),
    T.LIMB_MOVEMENT: ("limb movement", "leg movement", "lm"),
    T.PLM: ("plm", "periodic leg movement", "periodic limb movement", "plms"),
    T.POSITION_CHANGE: ("position change", "body position change", "position"),
    T.ARTIFACT: ("artifact", "signal artifact", "spo2 artifact", "respiratory artifact",
                 "tcco2 artifact", "etco2 artifact", "blood pressure artifact",
                 "proximal ph artifact", "distal ph artifact"),
}
_LOOKUP = {name: t for t, names in _SYNONYMS.items() for name in names}
_LOOKUP.update({t.value.replace("_", " "): t for t in EventType if t is not T.OTHER})
_LOOKUP.update({t.label.lower(): t for t in EventType if t is not T.OTHER})

_FOLD = ((re.compile(r"pnoea"), "pnea"), (re.compile(r"artefact"), "artifact"),
         (re.compile(r"[_\s]+"), " "))
# qualifiers a name may carry that PSG Lens does not keep apart (the name is kept)
_QUALIFIERS = (re.compile(r"\s*\([^()]*\)$"),
               re.compile(r"\s*-\s*(left|right)$"),
               re.compile(r"\s+to\s+(left|right|prone|supine|upright)$"),
               re.compile(r"[\s-]+(left|right|prone|supine|upright)$"))


def _fold(name: str) -> str:
    text = name.strip().lower()
    for pattern, repl in _FOLD:
        text = pattern.sub(repl, text)
    return text.strip()


def _match(text: str) -> EventType | None:
    if text in _LOOKUP:
        return _LOOKUP[text]
    for pattern in _QUALIFIERS:
        text = pattern.sub("", text).strip()
    return _LOOKUP.get(text)


def type_for_name(name: str) -> EventType | None:
    """The event type a file's name means, or None when PSG Lens does not know it."""
    text = _fold(name)
    if not text:
        return None
    found = _match(text)
    if found is None and "|" in text:  # NSRR "Name|Concept": either half will do
        for half in text.split("|"):
            found = _match(half.strip())
            if found is not None:
                break
    return found


# -- stage annotations inside event files ----------------------------------------------
_STAGE_PREFIX = re.compile(r"^\s*(sleep[\s_-]*)?stage\b", re.IGNORECASE)
# words parse_stage takes for a stage that, alone in an event file, are not one
_NOT_STAGES = {"artifact", "artefact", "art", "a", "sdo artifact", "nan", "none", "unknown"}


def is_stage_name(name: str) -> bool:
    """Whether an annotation names a sleep stage (the hypnogram readers' business).

    Examples
    --------
    >>> is_stage_name("Sleep stage N2"), is_stage_name("Arousal"), is_stage_name("Artifact")
    (True, False, False)
    """
    if _STAGE_PREFIX.match(name):
        return True
    try:
        parse_stage(name.strip())
    except UnknownStageError:
        return False
    return _fold(name) not in _NOT_STAGES


# -- writing ------------------------------------------------------------------------------
#: (EventType, EventConcept) per type. Position and artefact types are PSG Lens's choice
#: where the lists above name no EventType; readers go by the concept anyway.
NSRR = {
    T.OBSTRUCTIVE_APNEA: ("Respiratory|Respiratory", "Obstructive apnea|Obstructive Apnea"),
    T.CENTRAL_APNEA: ("Respiratory|Respiratory", "Central apnea|Central Apnea"),
    T.MIXED_APNEA: ("Respiratory|Respiratory", "Mixed apnea|Mixed Apnea"),
    T.APNEA: ("Respiratory|Respiratory", "Apnea|Apnea"),
    T.HYPOPNEA: ("Respiratory|Respiratory", "Hypopnea|Hypopnea"),
    T.RERA: ("Respiratory|Respiratory", "Respiratory effort related arousal|RERA"),
    T.DESATURATION: ("Respiratory|Respiratory", "SpO2 desaturation|SpO2 desaturation"),
    T.AROUSAL: ("Arousals|Arousals", "Arousal|Arousal ()"),
    T.LIMB_MOVEMENT: ("Limb Movement|Limb Movement", "Limb movement|Limb Movement"),
    T.PLM: ("Limb Movement|Limb Movement", "Periodic leg movement|PLM"),
    T.POSITION_CHANGE: ("Position|Position", "Body position change|Body position change"),
    T.ARTIFACT: ("Artifacts|Artifacts", "Signal artifact|SIGNAL-ARTIFACT"),
    T.OTHER: ("Technician Notes|Technician Notes", ""),
}
PROFUSION = {
    T.OBSTRUCTIVE_APNEA: "Obstructive Apnea", T.CENTRAL_APNEA: "Central Apnea",
    T.MIXED_APNEA: "Mixed Apnea", T.APNEA: "Apnea", T.HYPOPNEA: "Hypopnea", T.RERA: "RERA",
    T.DESATURATION: "SpO2 desaturation", T.AROUSAL: "Arousal ()",
    T.LIMB_MOVEMENT: "Limb Movement", T.PLM: "PLM", T.POSITION_CHANGE: "Position change",
    T.ARTIFACT: "Signal artifact",
}
#: EDF+ annotation texts (what clinical exports write; the brief's AASM names).
EDF = {
    T.OBSTRUCTIVE_APNEA: "Obstructive Apnea", T.CENTRAL_APNEA: "Central Apnea",
    T.MIXED_APNEA: "Mixed Apnea", T.APNEA: "Apnea", T.HYPOPNEA: "Hypopnea", T.RERA: "RERA",
    T.DESATURATION: "SpO2 desaturation", T.AROUSAL: "Arousal",
    T.LIMB_MOVEMENT: "Limb movement", T.PLM: "Periodic limb movement",
    T.POSITION_CHANGE: "Position change", T.ARTIFACT: "Artifact",
}


def name_for(ev: Event, table: dict[EventType, str], *, nsrr: bool = False) -> str:
    """The name to write ``ev`` under: the name it was read with (``detail["name"]``)
    when it still means the event's type, else the table's; ``OTHER`` writes its text."""
    read_as = str(ev.detail.get("name") or "")
    if read_as and ("|" in read_as) == nsrr and type_for_name(read_as) is ev.type:
        return read_as
    if ev.type is T.OTHER:
        text = ev.text.strip() or "Unnamed event"
        return text if not nsrr or "|" in text else f"{text}|{text}"
    return table[ev.type]


def other_text(name: str) -> str:
    """What an unknown name keeps as its text: NSRR's ``X|X`` is just ``X``."""
    left, sep, right = name.partition("|")
    return left.strip() if sep and left.strip() == right.strip() else name.strip()
