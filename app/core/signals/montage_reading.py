"""A montage on one study: the default rows, and the samples of each row, one window at a time.

:func:`default_montage` is what the trace view showed before montages existed: the AASM
slots as the channel mapping fills them, then every other channel by role, each with
its type's AASM filter (0.3-35 Hz EEG/EOG, 10-100 Hz EMG, 0.3-70 Hz ECG) where the
channel's sampling rate can hold it. :func:`read_montage` reads a window of every
visible row through :meth:`~app.core.signals.recording.Recording.get_window` (nothing
else is read) and filters it with the renderer's own
:func:`~app.core.signals.render.filter_signal`, notch included, so a row filtered like
a model's row looks like it.

Examples
--------
>>> import numpy as np
>>> from app.core.signals.recording import Recording
>>> rec = Recording.from_arrays(np.random.default_rng(0).normal(0, 20, (3, 9000)),
...                             ["C4", "M1", "M2"], 100.0)
>>> m = default_montage(rec, rec.fill_slots(["central"]))
>>> m.labels()
['C4-M1', 'M2']
>>> [(s.row.label, s.data.shape) for s in read_montage(rec, m, 0.0, 30.0)]
[('C4-M1', (3000,)), ('M2', (3000,))]
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from app.core.signals.channels import ROLES, SLOTS, Source
from app.core.signals.montage import Montage, MontageRow
from app.core.signals.recording import is_voltage
from app.core.signals.render import filter_signal, usable_filters
from app.core.signals.render_spec import KIND_DEFAULTS

FILTER_PAD_SEC = 5.0  # as the renderer: the filter's wrap-around decays inside it


@dataclass
class RowSignal:
    """The samples of one montage row over a window."""

    row: MontageRow
    t0: float         # seconds from the recording's start of the first sample
    sfreq: float
    data: np.ndarray  # float32, physical units (microvolts for voltages), filtered if asked
    unit: str


def default_filters(role: str, sfreq: float) -> tuple[float | None, float | None]:
    """The AASM filter of a role ("EEG", "EMG", ...) as a ``sfreq`` channel can hold it."""
    d = KIND_DEFAULTS.get(role.lower())
    if d is None:
        return None, None
    hp, lp = usable_filters(d["highpass_hz"], d["lowpass_hz"], sfreq)
    return hp, lp


def new_row(recording, plus: str, reference: Iterable[str] = (), *, label: str = "",
            role: str = "", slot: str | None = None) -> MontageRow:
    """A row of ``plus`` minus ``reference`` with its role's AASM filter (what "add a
    row" gives before the technician changes it).

    Examples
    --------
    >>> import numpy as np
    >>> from app.core.signals.recording import Recording
    >>> rec = Recording.from_arrays(np.zeros((2, 3000)), ["C3", "M2"], 100.0)
    >>> r = new_row(rec, "C3", ["M2"])
    >>> r.label, r.highpass_hz, r.lowpass_hz
    ('C3-M2', 0.3, 35.0)
    """
    ch = recording.channel(plus)
    role = role or ch.role
    hp, lp = (default_filters(role, ch.sfreq) if is_voltage(ch.unit) or not ch.unit.strip()
              else (None, None))
    return MontageRow(plus, tuple(reference), label, role, slot, hp, lp)


def default_montage(recording, slot_sources: Mapping[str, Source | None], *,
                    notch_hz: float | None = None) -> Montage:
    """The slots of ``slot_sources`` in its order (the workspace gives the AASM montage,
    the channel mapping applied), then the other channels by role."""
    rows, used = [], set()
    for key, src in slot_sources.items():
        if src is None:
            continue
        ref = (src.minus,) if src.minus else ()
        row = new_row(recording, src.plus, ref, label=src.name, role=SLOTS[key].role,
                      slot=key)
        if row.label not in {r.label for r in rows}:
            rows.append(row)
        used.update(n for n in (src.plus, src.minus) if n)
    order = {r: i for i, r in enumerate(ROLES)}
    rest = sorted((c for c in recording.channels if c.name not in used),
                  key=lambda c: order.get(c.role, len(order)))
    taken = {r.label for r in rows}
    for ch in rest:  # a channel named like a derived slot row ("C4-M1") is told apart
        label = f"{ch.name} (channel {ch.index + 1})" if ch.name in taken else ""
        rows.append(new_row(recording, ch.name, label=label))
    return Montage(tuple(rows), notch_hz)


def read_row(recording, row: MontageRow, t0: float, t1: float, *,
             notch_hz: float | None = None, filtered: bool = True,
             pad_sec: float = FILTER_PAD_SEC) -> RowSignal:
    """Samples of one row over [t0, t1) seconds (NaN outside the recording).

    ``row`` names the study's own channels (see :meth:`Montage.for_study`). With
    ``filtered``, the window is read ``pad_sec`` wider on each side, filtered (the row's
    band and ``notch_hz``) and cropped, as the renderer does.
    """
    ch = recording.channel(row.plus)
    hp, lp = usable_filters(row.highpass_hz, row.lowpass_hz, ch.sfreq)
    notch = notch_hz if notch_hz and notch_hz < 0.95 * ch.sfreq / 2 else None
    want = filtered and bool(hp or lp or notch)
    pad = pad_sec if want else 0.0
    a, b = t0 - pad, t1 + pad
    if len(row.reference) <= 1:
        src = Source(row.label, row.plus, row.reference[0] if row.reference else None)
        x = recording.get_window(a, b, [src])[row.label].data
    else:  # plus minus the mean of several channels: linked mastoids, average reference
        win = recording.get_window(a, b, row.channels)
        refs = np.stack([win[c].data for c in row.reference])
        x = win[row.plus].data - refs.mean(axis=0)
    if want:
        x = filter_signal(x, ch.sfreq, hp, lp, notch)
        p = int(round(pad * ch.sfreq))
        x = x[p: p + int(round((t1 - t0) * ch.sfreq))]
    unit = "uV" if is_voltage(ch.unit) else ch.unit
    return RowSignal(row, float(t0), ch.sfreq, np.asarray(x, np.float32), unit)


def iter_montage(recording, montage: Montage, t0: float, t1: float, *, filtered: bool = True,
                 hidden: bool = False, pad_sec: float = FILTER_PAD_SEC
                 ) -> Iterator[RowSignal]:
    """Each visible row's window in montage order, read only when the next is asked for
    (``hidden=True``: hidden rows too). The montage must fit ``recording``."""
    for row in montage.rows:
        if row.visible or hidden:
            yield read_row(recording, row, t0, t1, notch_hz=montage.notch_hz,
                           filtered=filtered, pad_sec=pad_sec)


def read_montage(recording, montage: Montage, t0: float, t1: float, *, filtered: bool = True,
                 hidden: bool = False, pad_sec: float = FILTER_PAD_SEC) -> list[RowSignal]:
    """:func:`iter_montage` as a list."""
    return list(iter_montage(recording, montage, t0, t1, filtered=filtered, hidden=hidden,
                             pad_sec=pad_sec))
