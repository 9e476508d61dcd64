"""RenderSpec: how an epoch becomes the picture a model reads (versioned, JSON).

A model bundle carries its spec, so the app draws exactly what the model was trained on.

Examples
--------
>>> spec = RenderSpec.preset("clinical")
>>> [r.slot for r in spec.rows]
['frontal', 'central', 'occipital', 'e1', 'e2', 'chin']
>>> RenderSpec.from_json(spec.to_json()) == spec
True
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.core.files.limits import CARD_MAX_BYTES, epoch_sec_problem, load_json_file, parse_json
from app.core.signals.channels import SLOTS
from app.errors import SpecError

SPEC_VERSION = 1
SLEEPVLM_SLOTS = ("frontal", "central", "occipital", "e1", "e2", "chin")
SPEC_KIND = "a render spec"  # what size and nesting messages say the file should be
COLOUR_FIELDS = ("background", "context_background", "grid_minor_color", "grid_major_color",
                 "missing_color")
_JSON_SYNTAX = "{where} is not valid JSON (line {line}: {msg})."

# Per signal type: default full scale (+-uV filling half a row), AASM filters, colour.
KIND_DEFAULTS: dict[str, dict] = {
    "eeg": dict(full_scale_uv=50.0, highpass_hz=0.3, lowpass_hz=35.0, color=(16, 24, 112)),
    "eog": dict(full_scale_uv=50.0, highpass_hz=0.3, lowpass_hz=35.0, color=(0, 104, 56)),
    "emg": dict(full_scale_uv=40.0, highpass_hz=10.0, lowpass_hz=100.0, color=(168, 24, 24)),
    "ecg": dict(full_scale_uv=1000.0, highpass_hz=0.3, lowpass_hz=70.0, color=(104, 40, 136)),
}


@dataclass(frozen=True)
class RowSpec:
    """One channel row: the slot it shows and how it is filtered, scaled and coloured."""

    slot: str
    kind: str = "eeg"
    label: str = ""
    full_scale_uv: float = 50.0
    highpass_hz: float | None = 0.3
    lowpass_hz: float | None = 35.0
    color: tuple[int, int, int] = (16, 24, 112)
    # None: physical microvolts. A number: drawn so the recording's 90th percentile of
    # per-epoch rms reads as this many uV rms (chin tone relative to the night; levels.py)
    night_reference_uv: float | None = None

    @classmethod
    def for_slot(cls, slot: str, **overrides) -> RowSpec:
        kind = SLOTS[slot].role.lower()
        values = dict(KIND_DEFAULTS[kind], slot=slot, kind=kind, label=SLOTS[slot].label)
        values.update(overrides)
        return cls(**values)


@dataclass(frozen=True)
class RenderSpec:
    """Everything that decides the pixels of an epoch image.

    Parameters
    ----------
    width, height : int
        Image size in pixels (the model's input size: 336 for LLaVA-NeXT-7B).
    rows : tuple of RowSpec
        Channel rows top to bottom.
    scaling : {"physical", "minmax"}
        ``physical``: each row's ``full_scale_uv`` fills half the row, larger values are
        clipped to the row. ``minmax``: every epoch's own range fills the row (the paper).
    fold : int
        Draw each channel as ``fold`` stacked rows, each a 1/fold slice of the time span
        (3 -> 10-s rows), tripling the time resolution.
    context_epochs : int
        Neighbouring epochs drawn on each side of the scored one, on a tinted background.
    missing : {"dashed", "blank", "omit"}
        How a slot with no channel is drawn: a flat grey dashed line the model can
        learn to ignore, or nothing; rows never shift up to fill a gap. ``omit`` (the
        ``sleepvlm`` renderer only): the present channels share the height.
    renderer : {"psglens", "sleepvlm"}
        ``psglens``: PSG Lens' own renderer (:mod:`app.core.signals.render`).
        ``sleepvlm``: SleepVLM's picture exactly (:mod:`app.core.signals.render_sleepvlm`);
        its geometry, rows, colours and filters are fixed by that model.
    """

    name: str = "custom"
    version: int = SPEC_VERSION
    width: int = 336
    height: int = 336
    rows: tuple[RowSpec, ...] = ()
    scaling: str = "physical"
    fold: int = 1
    context_epochs: int = 0
    epoch_sec: float = 30.0
    line_width: int = 1
    background: tuple[int, int, int] = (255, 255, 255)
    context_background: tuple[int, int, int] = (238, 238, 238)
    grid: bool = True
    grid_minor_sec: float = 1.0
    grid_major_sec: float = 5.0
    grid_minor_color: tuple[int, int, int] = (236, 236, 236)
    grid_major_color: tuple[int, int, int] = (200, 200, 200)
    missing: str = "dashed"
    missing_color: tuple[int, int, int] = (150, 150, 150)
    notch_hz: float | None = None
    filter_pad_sec: float = 5.0
    renderer: str = "psglens"
    # which channel filled each slot when this spec was used (recorded, not required)
    filled: dict[str, str] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        # types first, each field by name: a JSON file gives strings, floats and lists
        # where ints, booleans and colours belong, and those fail much later otherwise
        bad = self._bad
        set_ = object.__setattr__
        rows = self.rows
        if isinstance(rows, (str, bytes, dict)) or not isinstance(rows, (list, tuple)):
            raise bad(f"rows must be a list of channel rows, not {shown(rows)}.")
        set_(self, "rows", tuple(_checked_row(i, r, bad) for i, r in enumerate(rows, 1)))
        for name in ("name", "scaling", "missing", "renderer"):
            set_(self, name, _text(bad, name, getattr(self, name)))
        for name in ("version", "width", "height", "fold", "context_epochs", "line_width"):
            set_(self, name, _whole(bad, name, getattr(self, name)))
        set_(self, "grid", _flag(bad, "grid", self.grid))
        for name in ("epoch_sec", "grid_minor_sec", "grid_major_sec"):
            set_(self, name, _number(bad, name, getattr(self, name)))
        set_(self, "notch_hz", _number(bad, "notch_hz", self.notch_hz, none=True))
        set_(self, "filter_pad_sec", _number(bad, "filter_pad_sec", self.filter_pad_sec,
                                             positive=False))
        for name in COLOUR_FIELDS:
            set_(self, name, _colour(bad, name, getattr(self, name)))
        if not isinstance(self.filled, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in self.filled.items()):
            raise bad(f"filled must map slot names to channel names, not {shown(self.filled)}.")
        self.validate()

    def _bad(self, msg: str) -> SpecError:
        err = SpecError(f"Render spec {self.name!r}: {msg}")
        err.detail = msg  # from_dict words it with the file it came from instead
        return err

    def validate(self) -> None:
        bad = self._bad
        if self.version < 1:
            raise bad(f"version must be 1 or more, not {self.version}.")
        if self.version > SPEC_VERSION:
            raise bad(f"it is version {self.version}, newer than this PSG Lens understands "
                      f"({SPEC_VERSION}); update PSG Lens.")
        if not (16 <= self.width <= 4096 and 16 <= self.height <= 4096):
            raise bad(f"image size {self.width}x{self.height} must be 16-4096 pixels a side.")
        if not self.rows:
            raise bad("it has no channel rows.")
        if self.scaling not in ("physical", "minmax"):
            raise bad(f"scaling must be 'physical' or 'minmax', not {self.scaling!r}.")
        if self.renderer not in ("psglens", "sleepvlm"):
            raise bad(f"renderer must be 'psglens' or 'sleepvlm', not {self.renderer!r}.")
        if self.renderer == "sleepvlm":
            slots = tuple(r.slot for r in self.rows)
            if (self.width, self.height, slots, self.missing, self.context_epochs,
                    self.fold) != (448, 224, SLEEPVLM_SLOTS, "omit", 0, 1):
                raise bad("the sleepvlm renderer draws SleepVLM's picture exactly (448x224, "
                          f"rows {', '.join(SLEEPVLM_SLOTS)}, missing channels omitted, no "
                          "context or fold); use the 'sleepvlm' preset unchanged.")
        elif self.missing not in ("dashed", "blank"):
            raise bad(f"missing must be 'dashed' or 'blank', not {self.missing!r}.")
        if not 1 <= self.fold <= 12 or len(self.rows) * self.fold * 4 > self.height:
            raise bad(f"fold={self.fold} with {len(self.rows)} rows leaves under 4 px a row.")
        if not 0 <= self.context_epochs <= 5:
            raise bad(f"context_epochs must be 0-5, not {self.context_epochs}.")
        if self.line_width < 1:
            raise bad(f"line_width must be at least 1 pixel, not {self.line_width}.")
        if (why := epoch_sec_problem(self.epoch_sec)) is not None:
            raise bad(f"epoch_sec {self.epoch_sec:g} {why}.")
        for r in self.rows:
            if r.slot not in SLOTS:
                raise bad(f"row slot {r.slot!r} is unknown; known: {', '.join(SLOTS)}.")
            if r.kind not in KIND_DEFAULTS:
                raise bad(f"row kind {r.kind!r} must be one of {', '.join(KIND_DEFAULTS)}.")

    # -- presets ----------------------------------------------------------------------
    @classmethod
    def preset(cls, name: str, **overrides) -> RenderSpec:
        """``paper`` (arXiv 2509.22810) or ``clinical`` (AASM montage, physical scale)."""
        if name == "paper":
            rows = tuple(RowSpec.for_slot(s, highpass_hz=None, lowpass_hz=None)
                         for s in ("eeg", "eog", "emg", "ecg"))
            base = dict(name="paper", rows=rows, scaling="minmax", grid=False)
        elif name == "clinical":
            rows = tuple(RowSpec.for_slot(s) for s in
                         ("frontal", "central", "occipital", "e1", "e2", "chin"))
            base = dict(name="clinical", rows=rows, scaling="physical")
        elif name == "sleepvlm":
            # SleepVLM's picture (Deng et al. 2026): 448x224, black, F4 C4 O2 LOC ROC Chin
            labels = ("F4", "C4", "O2", "LOC", "ROC", "Chin")
            colors = ((255, 255, 0), (0, 255, 0), (255, 0, 0), (0, 255, 255), (255, 0, 255),
                      (0, 0, 255))
            rows = tuple(RowSpec.for_slot(s, label=lab, color=c, highpass_hz=hp, lowpass_hz=lp,
                                          full_scale_uv=40.0 if s == "chin" else 50.0)
                         for s, lab, c, (hp, lp) in zip(
                             SLEEPVLM_SLOTS, labels, colors,
                             [(0.3, 35.0)] * 5 + [(10.0, 100.0)], strict=True))
            base = dict(name="sleepvlm", rows=rows, width=448, height=224, renderer="sleepvlm",
                        missing="omit", background=(0, 0, 0), notch_hz=50.0,
                        grid_minor_color=(64, 64, 64), grid_major_color=(64, 64, 64))
        else:
            raise SpecError(f"Unknown render preset {name!r}; use 'paper', 'clinical', "
                            "'sleepvlm' or a spec JSON file.")
        base.update(overrides)
        return cls(**base)

    @classmethod
    def load(cls, name_or_path: str | Path) -> RenderSpec:
        """A preset name or a JSON file path."""
        p = Path(name_or_path)
        if p.suffix.lower() == ".json" or p.exists():
            d = load_json_file(p, limit=CARD_MAX_BYTES, error=SpecError, where=str(p),
                               kind=SPEC_KIND, template=_JSON_SYNTAX)
            return cls.from_dict(d, source=str(p))
        return cls.preset(str(name_or_path))

    # -- JSON -------------------------------------------------------------------------
    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["rows"] = [dataclasses.asdict(r) for r in self.rows]
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, d: dict, *, source: str = "render spec") -> RenderSpec:
        if not isinstance(d, dict):
            raise SpecError(f"{source} must hold a JSON object.")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise SpecError(f"{source} has unknown field(s) {', '.join(unknown)}; "
                            f"known fields: {', '.join(sorted(known))}.")
        version = d.get("version", SPEC_VERSION)
        if isinstance(version, int) and not isinstance(version, bool) and \
                version > SPEC_VERSION:  # said before any field this version cannot read
            raise SpecError(f"{source} is render-spec version {version}, newer than this "
                            f"PSG Lens understands ({SPEC_VERSION}); update PSG Lens.")
        try:
            return cls(**d)
        except SpecError as err:
            detail = getattr(err, "detail", None)
            if detail is None:
                raise
            raise SpecError(f"{source}: {detail}") from None
        except (TypeError, ValueError) as err:  # a check above missed a case: still a sentence
            raise SpecError(f"{source} is not a valid render spec: {err}.") from err

    @classmethod
    def from_json(cls, text: str, *, source: str = "render spec") -> RenderSpec:
        d = parse_json(text, where=source, error=SpecError, kind=SPEC_KIND,
                       template=_JSON_SYNTAX)
        return cls.from_dict(d, source=source)

    def with_filled(self, filled: dict[str, str]) -> RenderSpec:
        return dataclasses.replace(self, filled=dict(filled))

    @property
    def window_sec(self) -> float:
        """Seconds drawn across one image (the scored epoch plus its context)."""
        return self.epoch_sec * (1 + 2 * self.context_epochs)


def _row_from_dict(d: object, where: str, bad) -> RowSpec:
    if not isinstance(d, dict):
        raise bad(f"{where} must be a JSON object with a slot, not {shown(d)}.")
    known = {f.name for f in dataclasses.fields(RowSpec)}
    unknown = sorted(set(d) - known)
    if unknown:
        raise bad(f"{where} has unknown field(s) {', '.join(unknown)}; known: "
                  f"{', '.join(sorted(known))}.")
    if "slot" not in d:
        raise bad(f"{where} has no 'slot'.")
    return RowSpec(**d)


def _checked_row(i: int, row: object, bad) -> RowSpec:
    """Row ``i`` (1-based) as a RowSpec whose every field has the right type."""
    where = f"row {i}"
    if not isinstance(row, RowSpec):
        row = _row_from_dict(row, where, bad)
    slot = _text(bad, f"{where} slot", row.slot)
    where = f"row {i} ({slot})"
    hp = _number(bad, f"{where} highpass_hz", row.highpass_hz, none=True)
    lp = _number(bad, f"{where} lowpass_hz", row.lowpass_hz, none=True)
    if hp is not None and lp is not None and hp >= lp:  # no band would pass
        raise bad(f"{where} highpass_hz {hp:g} must be below its lowpass_hz {lp:g}.")
    return dataclasses.replace(
        row, slot=slot, kind=_text(bad, f"{where} kind", row.kind),
        label=_text(bad, f"{where} label", row.label),
        full_scale_uv=_number(bad, f"{where} full_scale_uv", row.full_scale_uv),
        highpass_hz=hp, lowpass_hz=lp, color=_colour(bad, f"{where} color", row.color),
        night_reference_uv=_number(bad, f"{where} night_reference_uv",
                                   row.night_reference_uv, none=True))


# -- field types: each message names the field and shows the value as the file has it --
def shown(value: object) -> str:
    """A value as it reads in the JSON file ("red", true, [1, 2]), cut to 60 characters."""
    try:
        text = json.dumps(value.tolist() if isinstance(value, np.ndarray) else value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_number(v: object) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def _text(bad, name: str, v: object) -> str:
    if not isinstance(v, str):
        raise bad(f"{name} must be text, not {shown(v)}.")
    return v


def _whole(bad, name: str, v: object) -> int:
    if not _is_number(v) or not math.isfinite(v) or not float(v).is_integer():
        raise bad(f"{name} must be a whole number, not {shown(v)}.")
    return int(v)


def _flag(bad, name: str, v: object) -> bool:
    if not isinstance(v, (bool, np.bool_)):
        raise bad(f"{name} must be true or false (without quotes), not {shown(v)}.")
    return bool(v)


def _number(bad, name: str, v: object, *, positive: bool = True, none: bool = False
            ) -> float | None:
    if v is None and none:
        return None
    ok = _is_number(v) and math.isfinite(v) and (v > 0 if positive else v >= 0)
    if not ok:
        want = "a positive number" if positive else "a number, 0 or more"
        raise bad(f"{name} must be {want}{' or null' if none else ''}, not {shown(v)}.")
    return float(v)


def _colour(bad, name: str, v: object) -> tuple[int, int, int]:
    """Three whole numbers 0-255: the renderer paints them into uint8 pixels as they are."""
    items = list(v) if isinstance(v, (list, tuple, np.ndarray)) else None
    if items is None or len(items) != 3 or not all(
            _is_number(c) and math.isfinite(c) and float(c).is_integer() and 0 <= c <= 255
            for c in items):
        raise bad(f"{name} must be three whole numbers 0-255 (red, green, blue) such as "
                  f"[16, 24, 112], not {shown(v)}.")
    return tuple(int(c) for c in items)
