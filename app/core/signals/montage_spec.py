"""Does the screen show what the model reads? A montage compared with a render spec.

A model bundle's render spec fixes the rows of the picture the model reads, which
channel fills each (:func:`app.core.signals.render.resolve_sources`) and how each is
filtered. **The model's picture never follows the technician's montage**: it keeps the
spec's derivations and filters, because a model read outside what it was trained on is
not the model that was measured. The trace view may show anything; this module says,
in words the viewer can display beside the model's picture, where the two differ:

- a derivation: "The model was trained on C4-M1; the screen shows C4-Cz."
- a row the screen does not show: "The model reads O2-M1; the screen hides it."
- a filter: "C4-M1: the model's picture is filtered 0.3-35 Hz; the screen 0.5-30 Hz."
- the notch: "The model's picture has a 50-Hz notch; the screen has none."

Nothing is said where they are the same. Two rows are the same derivation when they
name the same electrodes (by canonical name: ``EEG C4-A1`` in the file is ``C4`` minus
``M1``); filters are compared as the channel's sampling rate lets them act.

Examples
--------
>>> import numpy as np
>>> from app.core.signals.montage import Montage, MontageRow
>>> from app.core.signals.recording import Recording
>>> from app.core.signals.render_spec import RenderSpec, RowSpec
>>> rec = Recording.from_arrays(np.zeros((3, 3000)), ["C4", "M1", "Cz"], 100.0)
>>> spec = RenderSpec(rows=(RowSpec.for_slot("central"),))
>>> spec_differences(Montage((MontageRow("C4", ("Cz",), highpass_hz=0.3,
...                                      lowpass_hz=35.0),)), spec, rec)
['The model was trained on C4-M1; the screen shows C4-Cz.']
>>> spec_differences(Montage((MontageRow("C4", ("M1",), highpass_hz=0.3,
...                                      lowpass_hz=35.0),)), spec, rec)
[]
"""

from __future__ import annotations

from collections.abc import Mapping

from app.core.signals.aliases import canonical
from app.core.signals.channels import SLOTS, Source
from app.core.signals.montage import Montage, MontageRow, band_text
from app.core.signals.render import resolve_sources, usable_filters
from app.core.signals.render_spec import RenderSpec

_Key = tuple[str, frozenset[str]]


def derivation_key(plus: str, reference: tuple[str, ...], names: list[str]) -> _Key:
    """(active electrode, reference electrodes) by canonical name: what a row measures.

    Examples
    --------
    >>> derivation_key("EEG C4-A1", (), ["EEG C4-A1"]) == derivation_key("C4", ("M1",), [])
    True
    """
    def canon(n: str) -> str:
        return canonical(n, names) or n

    head = canon(plus)
    if not reference and "-" in head:  # a derivation recorded as one channel
        active, ref = head.split("-", 1)
        return active, frozenset({ref})
    return head, frozenset(canon(r) for r in reference)


def _source_key(src: Source, names: list[str]) -> _Key:
    return derivation_key(src.plus, (src.minus,) if src.minus else (), names)


def _row_key(row: MontageRow, names: list[str]) -> _Key:
    return derivation_key(row.plus, row.reference, names)


def spec_differences(montage: Montage, spec: RenderSpec, recording,
                     override: Mapping[str, str] | None = None) -> list[str]:
    """Where the screen (``montage``) differs from the model's picture (``spec``), one
    sentence each; [] when the screen shows what the model reads.

    Parameters
    ----------
    montage : Montage
        The technician's montage, naming ``recording``'s channels.
    spec : RenderSpec
        The render spec of the model run shown.
    recording : Recording
        The study (which channel fills each of the spec's rows, and its sampling rate).
    override : mapping, optional
        The study's channel mapping (slot -> channel), as the model run used it.
    """
    names = list(recording.ch_names)
    out: list[str] = []
    shown = [(r, _row_key(r, names)) for r in montage.rows]
    for row_spec, src in zip(spec.rows, resolve_sources(recording, spec, override)):
        if src is None:
            continue  # the model's row is empty too: nothing on screen to compare
        trained = row_spec.label or SLOTS[row_spec.slot].label
        reads = src.name if src.name == trained else f"{trained} (here {src.name})"
        key = _source_key(src, names)
        same = [r for r, k in shown if k == key]
        visible = [r for r in same if r.visible]
        if visible:
            sfreq = recording.channel(src.plus).sfreq
            model_band = band_text(*usable_filters(row_spec.highpass_hz, row_spec.lowpass_hz,
                                                   sfreq))
            screen_band = band_text(*usable_filters(visible[0].highpass_hz,
                                                    visible[0].lowpass_hz, sfreq))
            if model_band != screen_band:
                out.append(f"{src.name}: the model's picture is {_filtered(model_band)}; the "
                           f"screen {_filtered(screen_band)}.")
            continue
        if same:
            out.append(f"The model reads {reads}; the screen hides it.")
            continue
        other = [r for r, k in shown if k[0] == key[0] and r.visible]
        if other:
            out.append(f"The model was trained on {reads}; the screen shows "
                       f"{', '.join(r.label for r in other)}.")
        else:
            out.append(f"The model reads {reads}; the screen does not show it.")
    out += _notch(spec.notch_hz, montage.notch_hz)
    return out


def _filtered(band: str) -> str:
    return "unfiltered" if band == "unfiltered" else f"filtered {band}"


def _notch(model: float | None, screen: float | None) -> list[str]:
    if model == screen:
        return []
    if screen is None:
        return [f"The model's picture has a {model:g}-Hz notch; the screen has none."]
    if model is None:
        return [f"The screen has a {screen:g}-Hz notch; the model's picture has none."]
    return [f"The screen's notch is at {screen:g} Hz; the model's picture's at {model:g} Hz."]
