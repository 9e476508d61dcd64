"""Montage: the rows a technician looks at, each a derivation of the study's channels.

A :class:`Montage` is an ordered list of :class:`MontageRow`. A row is one study channel
alone (``plus`` with no ``reference``), a subtraction ``plus - reference[0]``, or ``plus``
minus the mean of several channels (linked mastoids ``(M1+M2)/2``, an average
reference); each row has its own high-pass and low-pass and can be hidden. One 50- or
60-Hz notch applies to the whole montage. Montages are immutable: every edit
(:meth:`Montage.added`, :meth:`~Montage.moved`, :meth:`~Montage.shown`,
:meth:`~Montage.with_filters`, :meth:`~Montage.with_notch`) returns a new one, so a
refused edit leaves the montage on screen as it was.

A montage names channels as a study spells them. :meth:`Montage.for_study` checks it
against one recording (every channel present, no channel subtracted from itself, one
sampling rate per derivation, high-pass below Nyquist) and, for a named montage saved on
another study, finds a channel by its canonical name (``M2`` is the study's ``A2``).
Rows are read through :meth:`Recording.get_window` one window at a time
(:func:`app.core.signals.montage_reading.read_montage`); re-referencing helpers live in
:mod:`app.core.signals.montage_reference`.

Examples
--------
>>> m = Montage((MontageRow("C4", ("M1",)), MontageRow("E1", ("M2",), role="EOG")))
>>> [r.label for r in m.rows]
['C4-M1', 'E1-M2']
>>> m = m.with_filters("C4-M1", highpass_hz=0.5, lowpass_hz=30.0).with_notch(50)
>>> m.row("C4-M1").highpass_hz, m.notch_hz
(0.5, 50.0)
>>> m.moved("E1-M2", 0).shown("C4-M1", False).labels(visible_only=True)
['E1-M2']
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from app.core.signals.aliases import canonical, detect_role
from app.errors import PSGLensError

MONTAGE_VERSION = 1
#: Mains frequencies a notch may remove (Hz): 50 in Europe, Asia, Africa and Oceania,
#: 60 in the Americas and parts of Japan.
NOTCH_CHOICES = (50.0, 60.0)
KEEP = object()  # "leave this filter as it is" in :meth:`Montage.with_filters`


class MontageError(PSGLensError, ValueError):
    """A montage or one of its rows cannot be shown as asked."""


def short_name(channel: str) -> str:
    """How a derivation label names a channel: its canonical name ("EEG A2" -> "M2"),
    or the name as the study spells it when PSG Lens does not know it."""
    return canonical(channel) or channel


def derivation_label(plus: str, reference: tuple[str, ...] = ()) -> str:
    """The label of ``plus`` minus ``reference``: "C3-M2", "C3-(M1+M2)/2", "C3-AVG".

    Examples
    --------
    >>> derivation_label("EEG C3", ("A2",)), derivation_label("C3", ("M1", "M2"))
    ('C3-M2', 'C3-(M1+M2)/2')
    >>> derivation_label("EEG C3"), derivation_label("C3", ("F3", "C3", "C4", "O1"))
    ('EEG C3', 'C3-AVG')
    """
    if not reference:
        return plus
    head = short_name(plus)
    if len(reference) == 1:
        return f"{head}-{short_name(reference[0])}"
    if len(reference) <= 3:
        return f"{head}-({'+'.join(short_name(r) for r in reference)})/{len(reference)}"
    return f"{head}-AVG"


def _hz(value: object, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not math.isfinite(value) or value <= 0:
        raise MontageError(f"{what} must be a frequency in Hz above 0 (or off), not "
                           f"{value!r}.")
    return float(value)


def band_text(highpass_hz: float | None, lowpass_hz: float | None) -> str:
    """A row's filter in words: "0.3-35 Hz", "above 10 Hz", "below 35 Hz", "unfiltered"."""
    if highpass_hz and lowpass_hz:
        return f"{highpass_hz:g}-{lowpass_hz:g} Hz"
    if highpass_hz:
        return f"above {highpass_hz:g} Hz"
    if lowpass_hz:
        return f"below {lowpass_hz:g} Hz"
    return "unfiltered"


@dataclass(frozen=True)
class MontageRow:
    """One displayed row: ``plus`` minus the mean of ``reference`` (none: ``plus`` alone).

    Parameters
    ----------
    plus : str
        The study channel drawn, as the study names it.
    reference : tuple of str
        Channels subtracted: none (the channel as recorded), one (``plus - B``) or several
        (``plus`` minus their mean: linked mastoids, an average reference, which may
        include ``plus`` itself).
    label : str
        The row's name on screen; "" makes one with :func:`derivation_label`.
    role : str
        EEG, EOG, EMG, ECG, RESP or OTHER ("" reads it from ``plus``'s name); it sets the
        row's scale.
    slot : str or None
        The AASM slot the row fills (``"central"``...), None for other rows.
    highpass_hz, lowpass_hz : float or None
        The row's filter (None: off). A high-pass must lie below the low-pass.
    visible : bool
        False hides the row without removing it.
    """

    plus: str
    reference: tuple[str, ...] = ()
    label: str = ""
    role: str = ""
    slot: str | None = None
    highpass_hz: float | None = None
    lowpass_hz: float | None = None
    visible: bool = True

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if not isinstance(self.plus, str) or not self.plus.strip():
            raise MontageError(f"A montage row needs a channel to show, not {self.plus!r}.")
        ref = (self.reference,) if isinstance(self.reference, str) else self.reference
        if not isinstance(ref, (list, tuple)) or not all(isinstance(r, str) and r.strip()
                                                         for r in ref):
            raise MontageError(f"The reference of {self.plus} must be channel names, not "
                               f"{self.reference!r}.")
        set_(self, "reference", tuple(ref))
        set_(self, "label", str(self.label or derivation_label(self.plus, self.reference)))
        set_(self, "role", str(self.role or detect_role(self.plus)))
        set_(self, "visible", bool(self.visible))
        dupes = sorted({r for r in self.reference if self.reference.count(r) > 1})
        if dupes:
            raise MontageError(f"{self.label}: its reference lists {dupes[0]} more than once; "
                               "name each reference channel once.")
        if self.reference == (self.plus,):
            raise MontageError(f"{self.label} subtracts {self.plus} from itself, which leaves "
                               "a flat line; choose another reference channel.")
        hp = _hz(self.highpass_hz, f"The high-pass of {self.label}")
        lp = _hz(self.lowpass_hz, f"The low-pass of {self.label}")
        if hp is not None and lp is not None and hp >= lp:
            raise MontageError(f"{self.label}: its high-pass ({hp:g} Hz) is not below its "
                               f"low-pass ({lp:g} Hz), so no frequency would pass; lower the "
                               "high-pass or raise the low-pass.")
        set_(self, "highpass_hz", hp)
        set_(self, "lowpass_hz", lp)

    @property
    def channels(self) -> tuple[str, ...]:
        """Every study channel the row reads, ``plus`` first."""
        return (self.plus, *(r for r in self.reference if r != self.plus))

    @property
    def band(self) -> str:
        return band_text(self.highpass_hz, self.lowpass_hz)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["reference"] = list(self.reference)
        return d

    @classmethod
    def from_dict(cls, d: object) -> MontageRow:
        if not isinstance(d, dict):
            raise MontageError(f"A stored montage row must be a JSON object, not {d!r:.60}.")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise MontageError(f"A stored montage row has unknown field(s) "
                               f"{', '.join(unknown)}; known: {', '.join(sorted(known))}.")
        return cls(**d)


@dataclass(frozen=True)
class Montage:
    """An ordered list of rows and one mains notch (None, 50 or 60 Hz); see the module."""

    rows: tuple[MontageRow, ...] = ()
    notch_hz: float | None = None
    name: str = ""

    def __post_init__(self) -> None:
        rows = tuple(r if isinstance(r, MontageRow) else MontageRow.from_dict(r)
                     for r in self.rows)
        object.__setattr__(self, "rows", rows)
        seen: set[str] = set()
        for r in rows:
            if r.label in seen:
                raise MontageError(f"The montage already has a row named {r.label}; give the "
                                   "new row another name or change that row instead.")
            seen.add(r.label)
        notch = self.notch_hz
        if notch is not None:
            if isinstance(notch, bool) or not isinstance(notch, (int, float)) or \
                    float(notch) not in NOTCH_CHOICES:
                raise MontageError(f"A notch of {notch!r} Hz removes no mains hum; choose 50 Hz "
                                   "(Europe, Asia, Africa, Oceania) or 60 Hz (the Americas), "
                                   "or no notch.")
            object.__setattr__(self, "notch_hz", float(notch))

    # -- reading the rows -------------------------------------------------------------
    def labels(self, *, visible_only: bool = False) -> list[str]:
        return [r.label for r in self.rows if r.visible or not visible_only]

    @property
    def visible_rows(self) -> tuple[MontageRow, ...]:
        return tuple(r for r in self.rows if r.visible)

    def index(self, row: int | str) -> int:
        """The position of ``row`` (a position from 0, or a label); a sentence if absent."""
        if isinstance(row, str):
            for i, r in enumerate(self.rows):
                if r.label == row:
                    return i
            raise MontageError(f"The montage has no row {row}; its rows are "
                               f"{', '.join(self.labels()) or 'none'}.")
        if isinstance(row, bool) or not isinstance(row, int) or not 0 <= row < len(self.rows):
            raise MontageError(f"The montage has {len(self.rows)} rows; there is no row "
                               f"{row!r} (rows count from 0 here).")
        return row

    def row(self, row: int | str) -> MontageRow:
        return self.rows[self.index(row)]

    # -- edits: each returns a new montage ----------------------------------------------
    def _with_rows(self, rows: list[MontageRow]) -> Montage:
        return dataclasses.replace(self, rows=tuple(rows))

    def added(self, row: MontageRow, at: int | None = None) -> Montage:
        """``row`` inserted at position ``at`` (default: last)."""
        rows = list(self.rows)
        rows.insert(len(rows) if at is None else max(0, min(int(at), len(rows))), row)
        return self._with_rows(rows)

    def removed(self, row: int | str) -> Montage:
        rows = list(self.rows)
        del rows[self.index(row)]
        return self._with_rows(rows)

    def replaced(self, row: int | str, new: MontageRow) -> Montage:
        rows = list(self.rows)
        rows[self.index(row)] = new
        return self._with_rows(rows)

    def moved(self, row: int | str, to: int) -> Montage:
        """``row`` moved to position ``to`` (clipped to the first or last place)."""
        rows = list(self.rows)
        item = rows.pop(self.index(row))
        rows.insert(max(0, min(int(to), len(rows))), item)
        return self._with_rows(rows)

    def shown(self, row: int | str, visible: bool = True) -> Montage:
        """``row`` shown (or, with ``visible=False``, hidden)."""
        return self.replaced(row, dataclasses.replace(self.row(row), visible=bool(visible)))

    def with_filters(self, row: int | str, *, highpass_hz: object = KEEP,
                     lowpass_hz: object = KEEP) -> Montage:
        """``row`` with a new high-pass and/or low-pass (None switches one off)."""
        old = self.row(row)
        hp = old.highpass_hz if highpass_hz is KEEP else highpass_hz
        lp = old.lowpass_hz if lowpass_hz is KEEP else lowpass_hz
        return self.replaced(row, dataclasses.replace(old, highpass_hz=hp, lowpass_hz=lp))

    def with_notch(self, notch_hz: float | None) -> Montage:
        return dataclasses.replace(self, notch_hz=notch_hz)

    # -- one study ----------------------------------------------------------------------
    def for_study(self, recording) -> Montage:
        """This montage with every channel named as ``recording`` names it, checked.

        A channel the study lacks under that exact name is found by its canonical name
        when exactly one channel has it (a montage saved as ``C3 - M2`` fits a study
        that records ``EEG C3`` and ``A2``). Raises :class:`MontageError` for a channel
        the study lacks, a channel subtracted from itself, channels of different sampling
        rates in one derivation, or a high-pass at or above a row's Nyquist frequency.

        Examples
        --------
        >>> import numpy as np
        >>> from app.core.signals.recording import Recording
        >>> rec = Recording.from_arrays(np.zeros((3, 3000)), ["EEG C3", "A1", "A2"], 100.0)
        >>> Montage((MontageRow("C3", ("M2",)),)).for_study(rec).rows[0].channels
        ('EEG C3', 'A2')
        >>> Montage((MontageRow("C3", ("Cz",)),)).for_study(rec)
        Traceback (most recent call last):
        ...
        app.core.signals.montage.MontageError: C3-Cz: the study has no channel Cz; it has EEG C3, A1, A2.
        """
        names = list(recording.ch_names)
        rows = []
        for r in self.rows:
            plus = _find(r.plus, names, r.label)
            ref = tuple(_find(c, names, r.label) for c in r.reference)
            if ref == (plus,):
                raise MontageError(f"{r.label} subtracts {plus} from itself (the study has one "
                                   f"channel for both), which leaves a flat line; choose "
                                   "another reference channel.")
            if len(set(ref)) != len(ref):
                raise MontageError(f"{r.label}: its reference names one study channel twice; "
                                   "name each reference channel once.")
            rate = recording.channel(plus).sfreq
            for c in ref:
                other = recording.channel(c).sfreq
                if other != rate:
                    raise MontageError(f"{r.label}: {plus} is sampled at {rate:g} Hz and {c} at "
                                       f"{other:g} Hz, so they cannot be subtracted; choose a "
                                       f"reference recorded at {rate:g} Hz.")
            if r.highpass_hz is not None and r.highpass_hz >= rate / 2:
                raise MontageError(f"{r.label}: its high-pass ({r.highpass_hz:g} Hz) is at or "
                                   f"above {rate / 2:g} Hz, half the {rate:g}-Hz sampling rate, "
                                   "so nothing would pass; lower it or switch it off.")
            rows.append(dataclasses.replace(r, plus=plus, reference=ref))
        return self._with_rows(rows)

    # -- JSON ---------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"version": MONTAGE_VERSION, "name": self.name, "notch_hz": self.notch_hz,
                "rows": [r.to_dict() for r in self.rows]}

    @classmethod
    def from_dict(cls, d: object) -> Montage:
        """The inverse of :meth:`to_dict`; anything wrong is a :class:`MontageError`."""
        if not isinstance(d, dict):
            raise MontageError(f"A stored montage must be a JSON object, not {d!r:.60}.")
        version = d.get("version", MONTAGE_VERSION)
        if not isinstance(version, int) or version > MONTAGE_VERSION:
            raise MontageError(f"The montage was saved by a newer PSG Lens (version "
                               f"{version!r}); update PSG Lens to use it.")
        rows = d.get("rows")
        if not isinstance(rows, list):
            raise MontageError("A stored montage has no list of rows.")
        try:
            return cls(tuple(MontageRow.from_dict(r) for r in rows), d.get("notch_hz"),
                       str(d.get("name", "")))
        except TypeError as err:  # a field of the wrong shape the checks above missed
            raise MontageError(f"A stored montage cannot be read ({err}).") from None


def _find(name: str, names: list[str], label: str) -> str:
    """The study's channel for ``name``: itself, else the one channel of its canonical name."""
    if name in names:
        return name
    want = canonical(name, names)
    if want is not None:
        hits = [n for n in names if canonical(n, names) == want]
        if len(hits) == 1:
            return hits[0]
    shown = ", ".join(names[:12]) + (f" and {len(names) - 12} more" if len(names) > 12 else "")
    raise MontageError(f"{label}: the study has no channel {name}; it has {shown}.")
