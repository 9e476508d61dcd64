"""Channel names -> canonical names and roles.

Real montages name the same thing a dozen ways: "EEG C4-A1", "C4:M1", "C4_M1", "C4-M1"
and (in SHHS) plain "EEG" are all a central EEG against the contralateral mastoid. A name
is reduced to a canonical form (``canonical``): an electrode (``C4``: referential, the
reference not named), a derivation (``C4-M1``, ``Fpz-Cz``, ``C3-AVG``), an EOG (``E1``,
``E1-M2``, ``EOG horizontal``), a chin electrode (``Chin1``) or bipolar chin (``Chin``),
an ECG electrode (``ECG1``) or lead (``ECG``). The spellings come from the documented
montages of SHHS, MESA, CFS, CHAT, MrOS, WSC, HMC, CAP, ISRUC, MASS, DOD, Sleep-EDF,
DREAMS and common headbands; ``tests/signals/documented_montages.py`` cites each.

A few names mean different things in different archives ("EEG2" is C3-A2 in SHHS and
Cz-Oz in MESA); ``canonical`` takes the study's other channel names as ``context`` and
such names are flagged ``ambiguous`` so the app asks the technician once.

Body signals (airflow, nasal pressure, effort belts, SpO2, leg EMG, position) are found by
:func:`find_body_channels` from the names SHHS, MESA, CFS, CHAT, MrOS and clinical systems
use (``tests/detectors/documented_body_channels.py`` cites each).

Examples
--------
>>> canonical("EEG C4-A1"), canonical("LOC-A2"), canonical("EMG submental")
('C4-M1', 'E1-M2', 'Chin')
>>> canonical("C3_M2"), canonical("EEG F4"), canonical("EMG EMG1")
('C3-M2', 'F4', 'Chin1')
>>> detect_role("EOG(L)")
'EOG'
"""

from __future__ import annotations

import re
from collections.abc import Iterable

ROLES = ("EEG", "EOG", "EMG", "ECG", "RESP", "OTHER")

EEG_ELECTRODES = frozenset({
    "FP1", "FP2", "FPZ", "AF3", "AF4", "AF7", "AF8", "AFZ", "F1", "F2", "F3", "F4", "F5", "F6",
    "F7", "F8", "FZ", "FC1", "FC2", "FC3", "FC4", "FC5", "FC6", "FCZ", "C1", "C2", "C3", "C4",
    "C5", "C6", "CZ", "T3", "T4", "T5", "T6", "T7", "T8", "CP1", "CP2", "CP3", "CP4", "CP5",
    "CP6", "CPZ", "P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8", "PZ", "PO3", "PO4", "POZ",
    "O1", "O2", "OZ", "TP9", "TP10"})
# reference spellings -> canonical: ears/mastoids (A1 and M1 are used interchangeably in
# sleep montages), linked or computed linked ears (MASS CLE/LER), average
REFERENCES = {"A1": "M1", "A2": "M2", "M1": "M1", "M2": "M2", "CLE": "LE", "LER": "LE",
              "LE": "LE", "REF": "REF", "AVG": "AVG", "AV": "AVG", "CAR": "AVG"}
_EOG_ACTIVE = {"E1": "E1", "LOC": "E1", "EOG1": "E1", "LEOG": "E1", "EOGL": "E1",
               "E2": "E2", "ROC": "E2", "EOG2": "E2", "REOG": "E2", "EOGR": "E2"}
# chin electrodes: AASM Chin1 (above the mandible) / Chin2 / Chin3; CFS EMG1 centre,
# EMG2/EMG3 left/right; CHAT Cchin/Lchin/Rchin; MrOS "L Chin"/"R Chin"
_CHIN_SITES = {"CHIN1": "Chin1", "CHIN2": "Chin2", "CHIN3": "Chin3", "EMG1": "Chin1",
               "EMG2": "Chin2", "EMG3": "Chin3", "CCHIN": "Chin1", "LCHIN": "Chin2",
               "RCHIN": "Chin3", "RCHIIN": "Chin3", "L CHIN": "Chin2", "R CHIN": "Chin3"}
_ECG_SITES = {"ECG1": "ECG1", "ECG2": "ECG2", "ECG3": "ECG3", "EKG1": "ECG1", "EKG2": "ECG2",
              "ECG L": "ECG1", "ECG R": "ECG2", "ECGL": "ECG1", "ECGR": "ECG2"}
# Whole-name aliases (after normalising): the vendors' and archives' spellings.
WHOLE = {
    "EEG": "C4-M1",          # SHHS: EEG is C4-A1
    "EEG(SEC)": "C3-M2", "EEG (SEC)": "C3-M2", "EEG SEC": "C3-M2",  # SHHS secondary EEG
    "EEG 2": "C3-M2",
    "EOG(L)": "E1", "EOG L": "E1", "EOG LEFT": "E1", "LEFT HORIZ": "E1", "EOG-L": "E1",
    "EOG LEFT HORIZ": "E1", "L-EOG": "E1", "L EOG": "E1",
    "EOG(R)": "E2", "EOG R": "E2", "EOG RIGHT": "E2", "RIGHT HORIZ": "E2", "EOG-R": "E2",
    "EOG RIGHT HORIZ": "E2", "R-EOG": "E2", "R EOG": "E2",
    "EOG HORIZONTAL": "EOG horizontal", "HORIZONTAL": "EOG horizontal",
    "HEOG": "EOG horizontal", "ROC-LOC": "EOG horizontal", "LOC-ROC": "EOG horizontal",
    "EMG": "Chin", "SUBMENTAL": "Chin", "EMG SUBMENTAL": "Chin", "CHIN": "Chin",
    "CHIN EMG": "Chin", "EMG CHIN": "Chin", "X1": "Chin", "CHIN-EMG": "Chin",
    "CCHIN L": "Chin", "CCHIN R": "Chin", "RCHIN L": "Chin", "X7-X6": "Chin",
    "ECG": "ECG", "EKG": "ECG", "ECG I": "ECG", "ECG II": "ECG", "ECGI": "ECG", "ECGII": "ECG",
    "X2": "ECG", "ECG L-ECG R": "ECG",
    "CZ2-A1": "Cz-M1",       # DREAMS: a second Cz-A1 channel
    # WSC site names that carry no derivation (luna maps them to these)
    "CENTRAL": "C3-M2", "L CENT": "C3-M2", "R CENT": "C4-M1", "FRONTAL": "F3-M2",
    "OCC": "O1-M2", "L OCC": "O1-M2",
}
# Whole names that mean different things in different archives, or say nothing of the
# derivation: the slot they fill is a guess for the technician to confirm.
AMBIGUOUS = frozenset({"EEG", "EEG(SEC)", "EEG (SEC)", "EEG SEC", "EEG 2", "EEG2", "EEG1",
                       "EEG3", "X1", "X2", "CENTRAL", "L CENT", "R CENT", "FRONTAL", "OCC",
                       "L OCC"})
# MESA numbers its EEGs: EEG1 Fz-Cz, EEG2 Cz-Oz, EEG3 C4-M1 (NSRR MESA montage page);
# SHHS uses EEG2 for its secondary C3-A2 (NSRR SHHS montage page, CSDP).
_MESA = {"EEG1": "Fz-Cz", "EEG2": "Cz-Oz", "EEG3": "C4-M1"}
_RESP = re.compile(r"(AIR|FLOW|THOR|ABD|RESP|CHEST|BELT|SPO2|SAO2|SNORE|PTAF|CANNULA|NASAL|"
                   r"PLETH|PULSE|EFFORT|OX|TORACE|ADDOME)")
_LEG = re.compile(r"^(LAT|RAT|LLEG|RLEG|LEG|X3|X4|TIB|EMG LEG|LEG EMG|DX1|SX1)")
_TOKEN = r"(?:FP[12Z]|AF[34Z78]|[FCPTO][1-8Z]|FC[1-6Z]|CP[1-6Z]|PO[34Z]|TP9|TP10|A[12]|M[12]" \
         r"|E[12]|LOC|ROC|EOG[12]|CHIN[123]|EMG[123]|CLE|LER|LE|AVG|REF)"


def normalise(name: str) -> str:
    """Upper case, one space, ``-`` between the two ends of a derivation.

    ``C4:A1``, ``C4_A1`` and ``C4 - A1`` become ``C4-A1``; ``EEG_O2-M1`` becomes
    ``EEG O2-M1``; spaces inside words such as ``L CHIN`` are kept.
    """
    n = name.strip().upper().replace(":", "-")
    n = re.sub(rf"(?<![A-Z0-9])({_TOKEN})_({_TOKEN})(?![A-Z0-9])", r"\1-\2", n)
    n = n.replace("_", " ")
    n = re.sub(r"\s*-\s*", "-", n)
    return re.sub(r"\s+", " ", n)


def _strip_type_prefix(n: str) -> str:
    return re.sub(r"^(EEG|EOG|EMG|ECG|EKG) (?=\S)", "", n)


def _cased_electrode(e: str) -> str | None:
    if e in EEG_ELECTRODES:
        if e.startswith("FP"):
            return "Fp" + e[2:].lower()          # Fp1, Fpz
        if e[:2] in ("AF", "FC", "CP", "PO", "TP"):
            return e[:2] + e[2:].lower()          # AF7, FCz, TP10
        return e[:-1] + e[-1].lower()             # C4, Cz
    if e in _EOG_ACTIVE:
        return _EOG_ACTIVE[e]
    return None


def _context_alias(n: str, context: frozenset[str] | None) -> str | None:
    if n in _MESA and context is not None and "EEG" not in context \
            and ({"EEG1", "EEG3"} & context):
        return _MESA[n]
    if n == "EEG2":
        return "C3-M2"  # SHHS
    return None


def canonical(name: str, context: Iterable[str] | None = None) -> str | None:
    """The canonical name of a channel ("EEG C4-A1" -> "C4-M1"), or None if unknown.

    ``context`` is the study's channel names, for names whose meaning depends on the
    archive ("EEG2").
    """
    n = normalise(name)
    ctx = frozenset(normalise(c) for c in context) if context is not None else None
    for cand in (n, _strip_type_prefix(n)):
        alias = _context_alias(cand, ctx)
        if alias:
            return alias
        if cand in WHOLE:
            return WHOLE[cand]
        if cand in _CHIN_SITES:
            return _CHIN_SITES[cand]
        if cand in _ECG_SITES:
            return _ECG_SITES[cand]
    bare = _strip_type_prefix(n)
    parts = bare.split("-")
    if len(parts) > 2:
        return None
    if len(parts) == 2 and parts[0] in _CHIN_SITES and parts[1] in _CHIN_SITES:
        return "Chin"          # Chin1-Chin2, EMG1-EMG2, Lchin-Cchin
    if len(parts) == 2 and parts[0] in _ECG_SITES and (parts[1] in _ECG_SITES
                                                        or parts[1] in REFERENCES):
        return "ECG"           # ECG1-ECG2, EKG1-AVG
    active, ref = parts[0], (parts[1] if len(parts) == 2 else None)
    ref_c = None
    if ref is not None:
        ref_c = REFERENCES.get(ref) or _cased_electrode(ref)
        if ref_c is None:
            return None
    if active in _EOG_ACTIVE:
        base = _EOG_ACTIVE[active]
    elif active in EEG_ELECTRODES:
        base = _cased_electrode(active)
    elif active in ("M1", "M2", "A1", "A2"):
        return REFERENCES[active] if ref is None else None
    else:
        return None
    return base if ref_c is None else f"{base}-{ref_c}"


def is_ambiguous(name: str) -> bool:
    """True for generic names whose derivation the name does not say (SHHS "EEG")."""
    n = normalise(name)
    return n in AMBIGUOUS or _strip_type_prefix(n) in AMBIGUOUS


def detect_role(name: str, context: Iterable[str] | None = None) -> str:
    """EEG, EOG, EMG, ECG, RESP or OTHER, from the channel's name alone."""
    n = normalise(name)
    c = canonical(name, context)
    if c is not None:
        head = c.split("-")[0]
        if head in ("E1", "E2") or c == "EOG horizontal":
            return "EOG"
        if c == "Chin" or head.startswith("Chin"):
            return "EMG"
        if c == "ECG" or head.startswith("ECG"):
            return "ECG"
        if c in ("M1", "M2", "LE"):
            return "OTHER"
        if head in ("TP9", "TP10") and "-" not in c:
            return "OTHER"  # behind-the-ear references of headbands
        return "EEG"
    body = body_role(name)
    if body in ("leg_left", "leg_right", "leg"):
        return "EMG"
    if body in ("flow", "pressure", "thorax", "abdomen", "spo2"):
        return "RESP"
    if n.startswith("EOG"):
        return "EOG"
    if _LEG.match(n) or n.startswith("EMG"):
        return "EMG"
    if n.startswith(("ECG", "EKG")):
        return "ECG"
    if n.startswith("EEG"):
        return "EEG"
    if _RESP.search(n):
        return "RESP"
    return "OTHER"


# -- body channels: airflow, effort, oximetry, legs, position --------------------------
# Whole-name spellings (matched after ``normalise``), best first within a role. Sources (cited in
# tests/detectors/documented_body_channels.py): the NSRR montage pages of SHHS, MESA, CFS,
# CHAT and MrOS, NSRR's luna alias files, and public readers of those archives.
BODY_ROLES = ("flow", "pressure", "thorax", "abdomen", "spo2", "leg_left", "leg_right", "leg",
              "position")
BODY_LABELS = {"flow": "oronasal thermal airflow", "pressure": "nasal pressure",
               "thorax": "thorax effort", "abdomen": "abdomen effort", "spo2": "SpO2",
               "leg_left": "left leg EMG", "leg_right": "right leg EMG", "leg": "leg EMG",
               "position": "body position", "pleth": "plethysmogram"}
BODY_NAMES: dict[str, tuple[str, ...]] = {
    # SHHS1 records two thermistors: "New Air" (ProTech) and "Airflow" (NSRR page)
    "flow": ("Airflow", "Flow", "Thermistor", "New Air", "NewAir", "new A/F", "Therm",
             "Thermal", "Flow Therm", "Thermal Flow", "Airflow Thermal", "Thermal Airflow",
             "Oronasal", "Oro-nasal", "Resp oro-nasal", "Oronasal Flow", "Air Flow",
             "Oral Airflow", "Aux_AC", "TFlow", "TFlo", "Flow Patient"),
    "pressure": ("Nasal Pressure", "PTAF", "Pres", "Nasal Pres", "Nas_Pres", "Flow Pres",
                 "Cannula Flow", "Cannula", "Nasal Cannula", "Pressure Airflow", "Nasal",
                 "CFlow", "CFlo", "NPre"),
    "thorax": ("Thorax", "Thor RES", "Thor", "Thoracic", "Chest", "Thor Effort", "Thorax Effort",
               "Thoracic Effort", "Chest Effort", "Effort THO", "Effort Thor", "Effort Thorax",
               "RIP Thorax", "RIP Thor", "RIP Chest", "Chest RES", "THO", "RC", "Torace"),
    "abdomen": ("Abdomen", "Abdo RES", "Abdo", "ABD", "Abdominal", "Abdo Effort", "ABD Effort",
                "Abdominal Effort", "Abdomen Effort", "Effort ABD", "Effort Abdomen",
                "RIP Abdomen", "RIP ABD", "ABD RES", "ABDM", "Addome"),
    "spo2": ("SpO2", "SaO2", "SpO2 %", "SPO2-BB", "Sp02", "Sa02", "OSAT", "O2 Sat", "O2Sat"),
    "leg_left": ("Leg L", "LAT", "L Leg", "LLeg", "Left Leg", "Leg Left", "L-Leg",
                 "LLeg1-LLeg2", "LLeg2-LLeg1", "Tib L", "L Tib", "SX1-SX2"),
    "leg_right": ("Leg R", "RAT", "R Leg", "RLeg", "Right Leg", "Leg Right", "R-Leg",
                  "RLeg1-RLeg2", "RLeg2-RLeg1", "Tib R", "R Tib", "DX1-DX2"),
    "leg": ("Leg", "Legs", "Leg EMG", "LLeg-RLeg", "PLM"),
    "position": ("Position", "Pos", "Body Position", "Body Pos", "Body", "BPos", "PosSensor",
                 "Position Sensor", "HPos"),
    # the pulse waveform: recognised so it is never taken for a saturation
    "pleth": ("Pleth", "PlethWV", "RD-Pleth", "PlethNellcor", "PPG"),
}
_BODY_INDEX = {normalise(n): (role, rank) for role, names in BODY_NAMES.items()
               for rank, n in enumerate(names)}
# electrodes recorded separately: their difference is the leg derivation (CHAT LLeg1/LLeg2,
# CAP DX1/DX2 destro = right, SX1/SX2 sinistro = left)
_LEG_PAIRS = {"leg_left": (("LLEG1", "LLEG2"), ("SX1", "SX2")),
              "leg_right": (("RLEG1", "RLEG2"), ("DX1", "DX2"))}


def body_role(name: str) -> str | None:
    """The body signal a channel carries (a key of :data:`BODY_NAMES`), or None.

    A type prefix is ignored ("EMG LAT", "Resp Thorax"), as are spaces and case.

    Examples
    --------
    >>> body_role("THOR RES"), body_role("new A/F"), body_role("Pres"), body_role("Leg L")
    ('thorax', 'flow', 'pressure', 'leg_left')
    >>> body_role("Pleth"), body_role("EEG C4-M1")
    ('pleth', None)
    """
    hit = _body_hit(name)
    return None if hit is None else hit[0]


def _body_hit(name: str) -> tuple[str, int] | None:
    """(role, rank of the spelling) for a body channel name."""
    n = normalise(name)
    for cand in (n, re.sub(r"^(EMG|RESP|RES|EFFORT|BELT) (?=\S)", "", n)):
        if cand in _BODY_INDEX:
            return _BODY_INDEX[cand]
    return None


def find_body_channels(ch_names: Iterable[str]) -> dict[str, str | None]:
    """Which channel carries each body signal of :data:`BODY_ROLES` (None: not recorded).

    A value is a channel name, or ``"A - B"`` when the signal is the difference of two
    recorded electrodes (CHAT's LLeg1 and LLeg2); :func:`app.core.signals.channels.parse_override`
    reads both forms. When several channels carry one signal, the spelling listed first
    in :data:`BODY_NAMES` wins.

    Examples
    --------
    >>> found = find_body_channels(["EEG", "AIRFLOW", "THOR RES", "ABDO RES", "SaO2",
    ...                             "POSITION"])
    >>> found["flow"], found["thorax"], found["spo2"], found["pressure"]
    ('AIRFLOW', 'THOR RES', 'SaO2', None)
    >>> find_body_channels(["LLeg1", "LLeg2", "RAT"])["leg_left"]
    'LLeg1 - LLeg2'
    """
    names = list(ch_names)
    best: dict[str, tuple[int, str]] = {}
    for name in names:
        hit = _body_hit(name)
        if hit is not None and hit[0] != "pleth" and (hit[0] not in best or hit[1] < best[hit[0]][0]):
            best[hit[0]] = (hit[1], name)
    out: dict[str, str | None] = {r: (best[r][1] if r in best else None) for r in BODY_ROLES}
    by_norm = {normalise(n): n for n in names}
    for role, pairs in _LEG_PAIRS.items():
        for a, b in pairs:
            if out[role] is None and a in by_norm and b in by_norm:
                out[role] = f"{by_norm[a]} - {by_norm[b]}"
    return out
