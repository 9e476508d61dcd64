"""Re-referencing a montage: contralateral mastoid, linked mastoids, average reference.

Re-referencing rebuilds rows whose channel was recorded against the amplifier's
reference (an electrode alone: ``C3``, ``EEG F4``, ``E1``):

- ``contralateral``: the AASM recommended montage: each EEG electrode against the
  mastoid of the other side (C3 -> M2, C4 -> M1, O1 -> M2), both eyes against M2 (E1-M2,
  E2-M2, as the AASM recommends and the channel slots use); midline electrodes (Fz, Cz,
  Oz) take M1, the alias table's first choice (:mod:`app.core.signals.channels`).
- ``linked``: against the mean of both mastoids, ``(M1+M2)/2``.
- ``average``: EEG rows against the mean of every EEG electrode the study records at the
  row's sampling rate (the row's own included, as a common average reference is); at
  least three are needed. EOG rows keep their reference.

Rows recorded as a derivation (``C4-M1`` in the file), and rows of other signals (chin,
ECG, respiration), keep theirs; the notes returned say which EEG/EOG rows did. A
mastoid is any channel the alias table reads as one (``A1``, ``EEG M1``). Filters,
visibility and order are kept.

Examples
--------
>>> import numpy as np
>>> from app.core.signals.montage import Montage, MontageRow
>>> from app.core.signals.recording import Recording
>>> rec = Recording.from_arrays(np.zeros((5, 3000)), ["C3", "C4", "O1", "A1", "A2"], 100.0)
>>> m = Montage((MontageRow("C3"), MontageRow("C4"), MontageRow("O1")))
>>> rereference(m, rec, "contralateral")[0].labels()
['C3-M2', 'C4-M1', 'O1-M2']
>>> rereference(m, rec, "linked")[0].labels()
['C3-(M1+M2)/2', 'C4-(M1+M2)/2', 'O1-(M1+M2)/2']
>>> rereference(m, rec, "average")[0].row(0).reference
('C3', 'C4', 'O1')
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from app.core.signals.aliases import canonical
from app.core.signals.montage import Montage, MontageError, MontageRow, short_name

SCHEMES = ("contralateral", "linked", "average")
_MASTOIDS = ("M1", "M2")
_MIN_AVERAGE = 3


def _electrode(name: str, names: list[str]) -> str | None:
    """The canonical electrode a channel records against the amplifier's reference
    ("EEG C3" -> "C3"); None for derivations, mastoids and non-EEG/EOG channels."""
    c = canonical(name, names)
    if c is None or "-" in c or c in (*_MASTOIDS, "LE") or c.startswith(("Chin", "ECG")) \
            or c == "EOG horizontal":
        return None
    return c


def _contralateral(electrode: str) -> str:
    if electrode in ("E1", "E2"):
        return "M2"  # AASM: E1-M2 and E2-M2, the eyes' recommended derivations
    last = electrode[-1]
    if last.isdigit():
        return "M2" if int(last) % 2 else "M1"  # odd numbers are left-sided
    return "M1"  # midline


def _mastoids(recording) -> dict[str, str]:
    names = list(recording.ch_names)
    found: dict[str, str] = {}
    for n in names:
        c = canonical(n, names)
        if c in _MASTOIDS and c not in found:
            found[c] = n
    return found


def _missing(what: str, needs: str, recording) -> MontageError:
    names = list(recording.ch_names)
    shown = ", ".join(names[:12]) + (f" and {len(names) - 12} more" if len(names) > 12 else "")
    return MontageError(f"{what} needs {needs}, which the study does not record; it has "
                        f"{shown}.")


def rereference(montage: Montage, recording, scheme: str,
                rows: Iterable[int | str] | None = None) -> tuple[Montage, list[str]]:
    """The montage re-referenced by ``scheme`` (see the module), and notes on the rows
    that kept their reference.

    Parameters
    ----------
    montage : Montage
        Naming ``recording``'s channels (see :meth:`Montage.for_study`).
    recording : Recording
        The study: its channel names, roles and sampling rates.
    scheme : {"contralateral", "linked", "average"}
    rows : positions or labels, optional
        Only these rows (default: every row).

    Raises
    ------
    MontageError
        For an unknown scheme, or a reference the study does not record (no M2 for
        C3-M2; fewer than three EEG electrodes for an average).
    """
    if scheme not in SCHEMES:
        raise MontageError(f"There is no {scheme!r} reference; choose one of "
                           f"{', '.join(SCHEMES)}.")
    names = list(recording.ch_names)
    wanted = None if rows is None else {montage.index(r) for r in rows}
    mastoids = _mastoids(recording)
    out: list[MontageRow] = []
    notes: list[str] = []
    for i, row in enumerate(montage.rows):
        if wanted is not None and i not in wanted or row.role not in ("EEG", "EOG"):
            out.append(row)
            continue
        electrode = _electrode(row.plus, names)
        if electrode is None:
            notes.append(f"{row.label} is recorded as a derivation in the study; it keeps "
                         "its reference.")
            out.append(row)
            continue
        if scheme == "average" and row.role != "EEG":
            notes.append(f"{row.label} is an EOG row; an average of the EEG is no reference "
                         "for it, so it keeps its own.")
            out.append(row)
            continue
        ref, label = _reference(scheme, row, electrode, mastoids, recording)
        out.append(dataclasses.replace(row, reference=ref, label=label))
    # two rows may now be one derivation (C3-M1 and C3-M2 both become C3-M2): the first stays
    return Montage(tuple(_unique(out, notes)), montage.notch_hz, montage.name), notes


def _reference(scheme: str, row: MontageRow, electrode: str, mastoids: dict[str, str],
               recording) -> tuple[tuple[str, ...], str]:
    head = short_name(row.plus)
    if scheme == "contralateral":
        side = _contralateral(electrode)
        if side not in mastoids:
            raise _missing(f"The contralateral reference of {electrode}", f"a {side} mastoid "
                           f"channel ({side} or A{side[1]})", recording)
        return (mastoids[side],), f"{head}-{side}"
    if scheme == "linked":
        lacking = [m for m in _MASTOIDS if m not in mastoids]
        if lacking:
            raise _missing("A linked-mastoid reference", f"both mastoids (M1 and M2; no "
                           f"{' or '.join(lacking)} is recorded)", recording)
        return (mastoids["M1"], mastoids["M2"]), f"{head}-(M1+M2)/2"
    names = list(recording.ch_names)
    rate = recording.channel(row.plus).sfreq
    eeg = [c.name for c in recording.channels if c.role == "EEG" and c.sfreq == rate
           and _electrode(c.name, names) is not None]
    if len(eeg) < _MIN_AVERAGE:
        found = ", ".join(eeg) or "none"
        raise MontageError(f"An average reference needs at least {_MIN_AVERAGE} EEG electrodes "
                           f"recorded against the amplifier's reference at {rate:g} Hz; this "
                           f"study has {len(eeg)} ({found}).")
    return tuple(eeg), f"{head}-AVG"


def _unique(rows: list[MontageRow], notes: list[str]) -> list[MontageRow]:
    out, seen = [], set()
    for r in rows:
        if r.label in seen:
            notes.append(f"{r.label} is shown once; the second row named {r.label} is left "
                         "out.")
            continue
        seen.add(r.label)
        out.append(r)
    return out
