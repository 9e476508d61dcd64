"""Channel names -> roles, AASM derivations, and the slots a render spec fills.

Real montages name the same thing a dozen ways: "EEG C4-A1", "C4:M1", "C4-M1" and (in
SHHS) plain "EEG" are all a central EEG against the contralateral mastoid. We reduce a
name to a canonical form (``canonical``), give it a role, build AASM derivations by
subtraction when only referential channels exist (C4 and M1 -> C4-M1), and fill each
render slot with the best available source in AASM order of preference.

Examples
--------
>>> canonical("EEG C4-A1"), canonical("LOC-A2"), canonical("EMG submental")
('C4-M1', 'E1-M2', 'Chin')
>>> detect_role("EOG(L)")
'EOG'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

ROLES = ("EEG", "EOG", "EMG", "ECG", "RESP", "OTHER")

_EEG_ELECTRODES = {
    "FP1", "FP2", "FPZ", "AF3", "AF4", "AFZ", "F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8",
    "FZ", "FC1", "FC2", "FC3", "FC4", "FC5", "FC6", "FCZ", "C1", "C2", "C3", "C4", "C5", "C6",
    "CZ", "T3", "T4", "T5", "T6", "T7", "T8", "CP1", "CP2", "CP3", "CP4", "CP5", "CP6", "CPZ",
    "P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8", "PZ", "PO3", "PO4", "POZ", "O1", "O2", "OZ",
}
_REFERENCES = {"A1": "M1", "A2": "M2", "M1": "M1", "M2": "M2", "CLE": "LE", "LER": "LE",
               "LE": "LE", "REF": "REF", "AVG": "AVG"}
# Whole-name aliases (after normalising), the vendors' and datasets' spellings.
_WHOLE = {
    "EEG": "C4-M1",          # SHHS: EEG is C4-A1
    "EEG(SEC)": "C3-M2",     # SHHS: EEG(sec) is C3-A2
    "EEG2": "C3-M2",
    "EOG(L)": "E1", "EOGL": "E1", "EOG L": "E1", "EOG LEFT": "E1", "LEFT HORIZ": "E1",
    "EOG LEFT HORIZ": "E1", "LEOG": "E1", "L-EOG": "E1",
    "EOG(R)": "E2", "EOGR": "E2", "EOG R": "E2", "EOG RIGHT": "E2", "RIGHT HORIZ": "E2",
    "EOG RIGHT HORIZ": "E2", "REOG": "E2", "R-EOG": "E2",
    "EOG HORIZONTAL": "EOG horizontal", "HORIZONTAL": "EOG horizontal", "HEOG": "EOG horizontal",
    "EMG": "Chin", "SUBMENTAL": "Chin", "EMG SUBMENTAL": "Chin", "CHIN": "Chin",
    "CHIN EMG": "Chin", "EMG CHIN": "Chin", "X1": "Chin", "CHIN1-CHIN2": "Chin",
    "CHIN1-CHIN3": "Chin", "CHIN2-CHIN3": "Chin", "EMG1-EMG2": "Chin", "CHIN-EMG": "Chin",
    "ECG": "ECG", "EKG": "ECG", "ECG I": "ECG", "ECG II": "ECG", "ECGI": "ECG", "ECGII": "ECG",
    "X2": "ECG", "ECG1-ECG2": "ECG", "EKG1-EKG2": "ECG",
}
_EOG_ACTIVE = {"E1": "E1", "LOC": "E1", "EOG1": "E1", "E2": "E2", "ROC": "E2", "EOG2": "E2"}
_RESP = re.compile(r"(AIR|FLOW|THOR|ABD|RESP|CHEST|BELT|SPO2|SAO2|SNORE|PTAF|CANNULA|NASAL|"
                   r"PLETH|PULSE|EFFORT|OX)")
_LEG = re.compile(r"^(LAT|RAT|LLEG|RLEG|LEG|X3|X4|TIB|EMG LEG|LEG EMG)")


def _normalise(name: str) -> str:
    n = name.strip().upper().replace(":", "-").replace("_", " ")
    n = re.sub(r"\s*-\s*", "-", n)
    n = re.sub(r"\s+", " ", n)
    return n


def _strip_type_prefix(n: str) -> str:
    return re.sub(r"^(EEG|EOG|EMG|ECG|EKG) (?=\S)", "", n)


def canonical(name: str) -> str | None:
    """The canonical name of a channel ("EEG C4-A1" -> "C4-M1"), or None if unknown."""
    n = _normalise(name)
    if n in _WHOLE:
        return _WHOLE[n]
    bare = _strip_type_prefix(n)
    if bare in _WHOLE:
        return _WHOLE[bare]
    parts = bare.split("-")
    if len(parts) > 2:
        return None
    active, ref = parts[0], (parts[1] if len(parts) == 2 else None)
    ref_c = None
    if ref is not None:
        ref_c = _REFERENCES.get(ref) or _cased_electrode(ref)
        if ref_c is None:
            return None
    if active in _EOG_ACTIVE:
        base = _EOG_ACTIVE[active]
    elif active in _EEG_ELECTRODES:
        base = _cased_electrode(active)
    elif active in ("M1", "M2", "A1", "A2"):
        return _REFERENCES[active] if ref is None else None
    elif active in ("CHIN1", "CHIN2", "CHIN3"):
        base = active.capitalize()
    else:
        return None
    return base if ref_c is None else f"{base}-{ref_c}"


def _cased_electrode(e: str) -> str | None:
    if e in _EEG_ELECTRODES:
        return e[0] + e[1:].lower() if e.startswith("FP") else e[:-1] + e[-1].lower()
    if e in _EOG_ACTIVE:
        return _EOG_ACTIVE[e]
    return None


def detect_role(name: str) -> str:
    """EEG, EOG, EMG, ECG, RESP or OTHER, from the channel's name alone."""
    n = _normalise(name)
    c = canonical(name)
    if c is not None:
        head = c.split("-")[0]
        if head in ("E1", "E2") or c == "EOG horizontal":
            return "EOG"
        if c == "Chin" or head.startswith("Chin"):
            return "EMG"
        if c == "ECG":
            return "ECG"
        if c in ("M1", "M2"):
            return "OTHER"
        return "EEG"
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


@dataclass(frozen=True)
class Source:
    """What fills a slot: one channel, or ``plus - minus`` computed by subtraction."""

    name: str           # as shown to the user, e.g. "C4-M1" or "EEG C4-A1"
    plus: str           # channel name in the file
    minus: str | None = None
    quality: str = "exact"   # exact | substitute | derived | guessed | user

    @property
    def is_derived(self) -> bool:
        return self.minus is not None


@dataclass(frozen=True)
class Slot:
    key: str
    label: str
    role: str
    preferences: tuple[str, ...]   # canonical names, best first


# AASM order of preference; a later entry is an acceptable substitute.
SLOTS: dict[str, Slot] = {s.key: s for s in (
    Slot("frontal", "F4-M1", "EEG", ("F4-M1", "F3-M2", "F4-LE", "F3-LE", "Fz-Cz", "Fpz-Cz",
                                     "F4-M2", "F3-M1", "Fz-M1", "Fp2-M1", "Fp1-M2")),
    Slot("central", "C4-M1", "EEG", ("C4-M1", "C3-M2", "C4-LE", "C3-LE", "Cz-Oz", "C3-M1",
                                     "Cz-M1", "C4-M2", "Cz-M2", "C4", "C3", "Cz")),
    Slot("occipital", "O2-M1", "EEG", ("O2-M1", "O1-M2", "O2-LE", "O1-LE", "Pz-Oz", "O2-M2",
                                       "O1-M1", "Oz-M1", "Oz-Cz", "O2", "O1")),
    Slot("e1", "E1-M2", "EOG", ("E1-M2", "E1-M1", "E1-LE", "E1", "EOG horizontal")),
    Slot("e2", "E2-M2", "EOG", ("E2-M2", "E2-M1", "E2-LE", "E2")),
    Slot("chin", "Chin", "EMG", ("Chin",)),
    Slot("ecg", "ECG", "ECG", ("ECG",)),
    # the paper's single-row-per-type layout
    Slot("eeg", "EEG", "EEG", ("C4-M1", "C3-M2", "C4-LE", "C3-LE", "F4-M1", "F3-M2",
                               "Fpz-Cz", "Fz-Cz", "Cz-Oz", "O2-M1", "O1-M2", "Pz-Oz")),
    Slot("eog", "EOG", "EOG", ("E1-M2", "E1-M1", "E1", "EOG horizontal", "E2-M2", "E2-M1",
                               "E2")),
    Slot("emg", "EMG", "EMG", ("Chin",)),
)}

# Referential pairs we subtract when a bipolar channel is absent (AASM 2.6 montage).
_DERIVABLE = {"F4-M1": ("F4", "M1"), "C4-M1": ("C4", "M1"), "O2-M1": ("O2", "M1"),
              "F3-M2": ("F3", "M2"), "C3-M2": ("C3", "M2"), "O1-M2": ("O1", "M2"),
              "E1-M2": ("E1", "M2"), "E2-M2": ("E2", "M2"), "Chin": ("Chin1", "Chin2")}


def available_sources(ch_names: Iterable[str]) -> dict[str, Source]:
    """Canonical name -> Source for every channel and every derivation we can build."""
    names = list(ch_names)
    out: dict[str, Source] = {}
    for n in names:
        c = canonical(n)
        if c is not None and c not in out:
            out[c] = Source(c, n)
    for target, (a, b) in _DERIVABLE.items():
        if target not in out and a in out and b in out and not out[a].is_derived:
            out[target] = Source(target, out[a].plus, out[b].plus, quality="derived")
    return out


def fill_slots(slot_keys: Iterable[str], ch_names: Iterable[str],
               override: Mapping[str, str] | None = None) -> dict[str, Source | None]:
    """Choose the source for each slot; None where nothing acceptable exists.

    ``override`` maps a slot key to a channel name in the file, or to "A - B" for a
    subtraction; it is the user's choice and wins over the alias table.
    """
    names = list(ch_names)
    sources = available_sources(names)
    out: dict[str, Source | None] = {}
    for key in slot_keys:
        if key not in SLOTS:
            raise KeyError(f"Unknown channel slot {key!r}; known: {', '.join(SLOTS)}")
        if override and override.get(key):
            out[key] = parse_override(override[key], names)
            continue
        slot = SLOTS[key]
        out[key] = None
        for rank, pref in enumerate(slot.preferences):
            src = sources.get(pref)
            if src is not None:
                quality = src.quality if rank == 0 else "substitute"
                if _normalise(src.plus) in ("EEG", "EEG(SEC)", "EEG2", "X1", "X2"):
                    quality = "guessed"  # ambiguous generic names: ask the user
                out[key] = Source(src.name, src.plus, src.minus, quality)
                break
    return out


def parse_override(text: str, ch_names: list[str]) -> Source:
    """Parse a user mapping: a channel name, or "A - B" (spaces around the minus)."""
    from app.errors import ChannelError

    if text in ch_names:
        return Source(text, text, quality="user")
    if " - " in text:
        a, b = (t.strip() for t in text.split(" - ", 1))
        missing = [x for x in (a, b) if x not in ch_names]
        if not missing:
            return Source(f"{a}-{b}", a, b, quality="user")
    raise ChannelError(f"The channel mapping names {text!r}, which is not a channel of this "
                       f"study (it has: {', '.join(ch_names)}).")
