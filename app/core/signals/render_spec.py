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
from dataclasses import dataclass, field
from pathlib import Path

from app.core.signals.channels import SLOTS
from app.errors import SpecError

SPEC_VERSION = 1
SLEEPVLM_SLOTS = ("frontal", "central", "occipital", "e1", "e2", "chin")

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
        rows = tuple(r if isinstance(r, RowSpec) else _row_from_dict(r) for r in self.rows)
        object.__setattr__(self, "rows", rows)
        for name in ("background", "context_background", "grid_minor_color",
                     "grid_major_color", "missing_color"):
            object.__setattr__(self, name, tuple(int(v) for v in getattr(self, name)))
        self.validate()

    def validate(self) -> None:
        def bad(msg: str) -> SpecError:
            return SpecError(f"Render spec {self.name!r}: {msg}")

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
            raise bad("context_epochs must be 0-5.")
        if self.line_width < 1 or self.epoch_sec <= 0:
            raise bad("line_width must be >= 1 and epoch_sec > 0.")
        for r in self.rows:
            if r.slot not in SLOTS:
                raise bad(f"row slot {r.slot!r} is unknown; known: {', '.join(SLOTS)}.")
            if r.kind not in KIND_DEFAULTS:
                raise bad(f"row kind {r.kind!r} must be one of {', '.join(KIND_DEFAULTS)}.")
            if r.full_scale_uv <= 0:
                raise bad(f"row {r.slot} full_scale_uv must be positive.")
            if r.night_reference_uv is not None and not r.night_reference_uv > 0:
                raise bad(f"row {r.slot} night_reference_uv must be positive or null.")

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
            try:
                text = p.read_text(encoding="utf-8")
            except OSError as err:
                raise SpecError(f"Cannot read render spec {p}: {err.strerror}.") from err
            return cls.from_json(text, source=str(p))
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
        if int(d.get("version", SPEC_VERSION)) > SPEC_VERSION:
            raise SpecError(f"{source} is render-spec version {d['version']}, newer than this "
                            f"PSG Lens understands ({SPEC_VERSION}); update PSG Lens.")
        try:
            return cls(**{**d, "rows": tuple(d.get("rows", ()))})
        except TypeError as err:
            raise SpecError(f"{source} is not a valid render spec: {err}.") from err

    @classmethod
    def from_json(cls, text: str, *, source: str = "render spec") -> RenderSpec:
        try:
            d = json.loads(text)
        except json.JSONDecodeError as err:
            raise SpecError(f"{source} is not valid JSON (line {err.lineno}: {err.msg}).") from err
        return cls.from_dict(d, source=source)

    def with_filled(self, filled: dict[str, str]) -> RenderSpec:
        return dataclasses.replace(self, filled=dict(filled))

    @property
    def window_sec(self) -> float:
        """Seconds drawn across one image (the scored epoch plus its context)."""
        return self.epoch_sec * (1 + 2 * self.context_epochs)


def _row_from_dict(d: dict) -> RowSpec:
    if not isinstance(d, dict):
        raise SpecError("Each render-spec row must be a JSON object.")
    known = {f.name for f in dataclasses.fields(RowSpec)}
    unknown = sorted(set(d) - known)
    if unknown:
        raise SpecError(f"A render-spec row has unknown field(s) {', '.join(unknown)}; "
                        f"known: {', '.join(sorted(known))}.")
    if "slot" not in d:
        raise SpecError("A render-spec row has no 'slot'.")
    d = dict(d)
    if "color" in d:
        d["color"] = tuple(int(v) for v in d["color"])
    return RowSpec(**d)
