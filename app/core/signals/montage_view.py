"""The montage half of the workspace: the rows the technician sees, kept per study.

:class:`~app.core.workspace.Workspace` inherits :class:`MontageView`; it supplies
``recording``, ``session``, ``events`` (its emitters, ``montage`` among them),
``notes``, ``read_only``, ``slot_sources``, ``channel_map``, ``view``,
``visible_span`` and ``active_run``.

The study's montage is stored in its session (``set_state("montage", ...)``, on disk
before :meth:`MontageView.set_montage` returns); without one the default montage is
shown (:func:`~app.core.signals.montage_reading.default_montage`: the AASM slots as the
channel mapping fills them, then every other channel), and it follows the mapping. A
study open read-only keeps its montage for as long as it is open. A montage is checked
against the study before it is kept (:meth:`Montage.for_study`); a refused one is a
:class:`~app.core.signals.montage.MontageError` sentence and changes nothing, and no
montage change ever touches a stage or an event. Named montages are the user's
(:mod:`app.core.signals.montage_library`).

Examples
--------
>>> ws = Workspace.open("night.edf")                                  # doctest: +SKIP
>>> ws.set_montage(ws.montage.with_notch(50).shown("M2", False))       # doctest: +SKIP
>>> notes = ws.rereference("contralateral")                           # doctest: +SKIP
>>> [(s.row.label, s.data.size) for s in ws.read_montage()][:1]       # doctest: +SKIP
[('F4-M1', 7680)]
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from app.core.signals.montage import Montage, MontageError
from app.core.signals.montage_library import load_named_montages, save_named_montage
from app.core.signals.montage_reading import RowSignal, default_montage, read_montage
from app.core.signals.montage_reference import rereference
from app.core.signals.montage_spec import spec_differences

__all__ = ["MontageView"]

STATE_KEY = "montage"


class MontageView:
    """The study's montage (a mixin of the workspace; see the module)."""

    # -- the montage shown -------------------------------------------------------------
    def default_montage(self) -> Montage:
        """The AASM slots (the channel mapping applied), then every other channel."""
        return default_montage(self.recording, self.slot_sources())

    @property
    def montage(self) -> Montage:
        """The montage shown: the technician's for this study, else the default.

        A stored montage that no longer fits the study (a channel renamed in a
        re-export) gives way to the default, and the notes say so once.

        Examples
        --------
        >>> ws.montage.labels()[:3]  # doctest: +SKIP
        ['F4-M1', 'C4-M1', 'O2-M1']
        """
        memory = getattr(self, "_montage_memory", None)
        if memory is not None:
            return memory
        stored = self.session.get_state(STATE_KEY)
        if stored is None:
            return self.default_montage()
        try:
            return Montage.from_dict(stored).for_study(self.recording)
        except MontageError as err:
            if not getattr(self, "_montage_noted", False):
                self._montage_noted = True
                self.notes.append(f"The montage kept for this study no longer fits it ({err}); "
                                  "the default montage is shown.")
            return self.default_montage()

    @property
    def has_own_montage(self) -> bool:
        """True when the technician set a montage for this study (not the default)."""
        return getattr(self, "_montage_memory", None) is not None or \
            self.session.get_state(STATE_KEY) is not None

    def set_montage(self, montage: Montage) -> Montage:
        """Show ``montage`` for this study from now on (checked first; on disk when this
        returns). Returns it as kept, channels named as the study names them.

        Examples
        --------
        >>> ws.set_montage(ws.montage.moved("E1-M2", 0))  # doctest: +SKIP
        Montage(rows=(MontageRow(plus='E1', ...), ...), notch_hz=None, name='')
        """
        if not isinstance(montage, Montage):
            raise MontageError(f"A montage is a list of rows, not a {type(montage).__name__}.")
        checked = montage.for_study(self.recording)
        if self.read_only:
            self._montage_memory = checked
        else:
            self.session.set_state(STATE_KEY, checked.to_dict())
        self.events.montage(montage=checked)
        return checked

    def reset_montage(self) -> Montage:
        """Go back to the default montage (which follows the channel mapping again)."""
        self._montage_memory = None
        if not self.read_only:
            self.session.set_state(STATE_KEY, None)
        montage = self.default_montage()
        self.events.montage(montage=montage)
        return montage

    def rereference(self, scheme: str, rows: Iterable[int | str] | None = None) -> list[str]:
        """Re-reference the montage (``"contralateral"``, ``"linked"``, ``"average"``;
        see :mod:`app.core.signals.montage_reference`) and keep it; returns the notes on
        rows that kept their reference.

        Examples
        --------
        >>> ws.rereference("linked")  # doctest: +SKIP
        ['E1-M2 is recorded as a derivation in the study; it keeps its reference.']
        """
        montage, notes = rereference(self.montage, self.recording, scheme, rows)
        self.set_montage(montage)
        return notes

    # -- reading -----------------------------------------------------------------------
    def read_montage(self, t0: float | None = None, t1: float | None = None, *,
                     filtered: bool | None = None, hidden: bool = False) -> list[RowSignal]:
        """Samples of every visible row over [t0, t1) seconds (default: the span on
        screen), filtered when the view's filters are on (``filtered`` overrides).

        Examples
        --------
        >>> [s.row.label for s in ws.read_montage(0.0, 30.0)][:2]  # doctest: +SKIP
        ['F4-M1', 'C4-M1']
        """
        if t0 is None or t1 is None:
            t0, t1 = self.visible_span()
        filtered = self.view.filters if filtered is None else bool(filtered)
        return read_montage(self.recording, self.montage, float(t0), float(t1),
                            filtered=filtered, hidden=hidden)

    def montage_differences(self, run_id: int | None = None) -> list[str]:
        """How the screen differs from the picture the model of run ``run_id`` (default:
        the active run) reads, one sentence each; [] when it shows the same, or when the
        run has no picture (YASA). The model's picture keeps its own derivations.

        Examples
        --------
        >>> ws.montage_differences()  # doctest: +SKIP
        ['The model was trained on C4-M1; the screen shows C4-Cz.']
        """
        run = self.active_run if run_id is None else self.run(run_id)
        if run is None or run.spec is None:
            return []
        return spec_differences(self.montage, run.spec, self.recording,
                                self.channel_map or None)

    # -- the user's named montages -------------------------------------------------------
    def named_montages(self) -> dict[str, Montage]:
        """The user's saved montages by name (unreadable ones are left out, with a note)."""
        found, notes = load_named_montages()
        for note in notes:
            if note not in self.notes:
                self.notes.append(note)
        return found

    def save_montage_as(self, name: str) -> Path:
        """Keep the montage shown under ``name`` for every study (in the user's
        ``montages.json``); returns the file."""
        return save_named_montage(name, self.montage)

    def use_named_montage(self, name: str) -> Montage:
        """Show the saved montage ``name`` on this study (its channels found by canonical
        name); a channel the study lacks is a sentence and the montage shown stays."""
        found = self.named_montages()
        if name not in found:
            raise MontageError(f"There is no saved montage named {name!r}; saved: "
                               f"{', '.join(found) or 'none'}.")
        return self.set_montage(found[name])
