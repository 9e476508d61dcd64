"""User settings: a typed dataclass stored per user as JSON (platformdirs).

``PSG_LENS_CONFIG_DIR`` and ``PSG_LENS_DATA_DIR`` override the folders (tests use them).
A file written by a newer PSG Lens, or one that is damaged, never stops the app: unknown
keys are ignored, bad values fall back to the defaults, and the problem is reported in
``Settings.notes`` so the GUI can say so once.

Examples
--------
>>> s = Settings()
>>> s.stage_colors["REM"], s.theme
('#D55E00', 'light')
>>> Settings.from_dict({"low_confidence": 2}).low_confidence   # out of range: default
0.6
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from app.core.scoring.stage_colors import DEFAULT_STAGE_COLORS  # the one definition

SCHEMA_VERSION = 1
CONFIG_DIR_ENV = "PSG_LENS_CONFIG_DIR"
DATA_DIR_ENV = "PSG_LENS_DATA_DIR"
APP_NAME = "psg-lens"
MAX_RECENT = 10
WINDOWS_SEC = (30.0, 60.0, 300.0)


def config_dir() -> Path:
    override = os.environ.get(CONFIG_DIR_ENV)
    return Path(override) if override else Path(platformdirs.user_config_dir(APP_NAME))


def data_dir() -> Path:
    """The user data folder (demo study, sessions of read-only studies)."""
    override = os.environ.get(DATA_DIR_ENV)
    return Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME))


def settings_path() -> Path:
    return config_dir() / "settings.json"


@dataclass
class Settings:
    """Everything a user sets once and keeps.

    ``default_bundle`` empty means the embedded default model; ``device`` is what the
    stage engine gets ("auto", "cpu", "cuda", "mps").
    """

    schema_version: int = SCHEMA_VERSION
    scorer_name: str = ""
    scorer_id: str = ""
    default_bundle: str = ""
    device: str = "auto"
    batch_size: int = 16
    low_confidence: float = 0.6
    auto_advance: bool = True
    stage_colors: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_STAGE_COLORS))
    theme: str = "light"
    window_sec: float = 30.0
    show_context: bool = False
    filters_on: bool = True
    heatmap_opacity: float = 0.5
    explain_method: str = "ig"  # README, Explanations: near-ablation faithfulness, ~6x faster
    answer_mode: str = ""       # chat models (SleepVLM): "" the card's, rationale or fast
    # (name kept for saved settings) as `psg-lens score`: fused with YASA where the card
    # measured YASA, or both together, ahead of the model with the study's leads
    fuse_weak_leads: bool = True
    hypopnea_rule: str = "1A"   # AASM: 1A (3 % or arousal, recommended) or 1B (4 %)
    eeg_uv_per_mm: float = 0.0  # paper sensitivity of EEG/EOG rows (0: as the gains say)
    mm_per_s: float = 0.0       # paper timebase (0: the 30 s / 60 s / 5 min window)
    recent_files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list, compare=False, repr=False)

    # -- validation -------------------------------------------------------------------
    def __post_init__(self) -> None:
        self.notes = list(self.notes)
        checks = {
            "scorer_name": lambda v: isinstance(v, str),
            "scorer_id": lambda v: isinstance(v, str),
            "default_bundle": lambda v: isinstance(v, str),
            "device": lambda v: isinstance(v, str) and v.split(":")[0] in ("auto", "cpu",
                                                                           "cuda", "mps"),
            "batch_size": lambda v: isinstance(v, int) and 1 <= v <= 512,
            "low_confidence": lambda v: isinstance(v, (int, float)) and 0 < v < 1,
            "auto_advance": lambda v: isinstance(v, bool),
            "theme": lambda v: v in ("light", "dark"),
            "window_sec": lambda v: v in WINDOWS_SEC,
            "show_context": lambda v: isinstance(v, bool),
            "filters_on": lambda v: isinstance(v, bool),
            "heatmap_opacity": lambda v: isinstance(v, (int, float)) and 0 <= v <= 1,
            "explain_method": lambda v: v in ("ablation", "occlusion", "ig", "rollout"),
            "answer_mode": lambda v: v in ("", "rationale", "fast"),
            "fuse_weak_leads": lambda v: isinstance(v, bool),
            "hypopnea_rule": lambda v: v in ("1A", "1B"),
            "eeg_uv_per_mm": lambda v: isinstance(v, (int, float)) and 0 <= v <= 200,
            "mm_per_s": lambda v: isinstance(v, (int, float)) and 0 <= v <= 100,
        }
        for name, ok in checks.items():
            if not ok(getattr(self, name)):
                default = _default(name)
                self.notes.append(f"Setting {name}={getattr(self, name)!r} is not valid; "
                                  f"using {default!r}.")
                setattr(self, name, default)
        colors = dict(DEFAULT_STAGE_COLORS)
        if isinstance(self.stage_colors, dict):
            colors.update({k: v for k, v in self.stage_colors.items()
                           if k in colors and _is_color(v)})
        self.stage_colors = colors
        recent = self.recent_files if isinstance(self.recent_files, list) else []
        self.recent_files = [str(p) for p in recent if isinstance(p, str)][:MAX_RECENT]
        self.low_confidence = float(self.low_confidence)
        self.window_sec = float(self.window_sec)
        self.heatmap_opacity = float(self.heatmap_opacity)

    @property
    def scorer(self) -> str:
        """Who the edit log names: the ID, else the name, else '' (the OS user)."""
        return (self.scorer_id or self.scorer_name).strip()

    def add_recent(self, path: str | os.PathLike) -> None:
        p = str(Path(path).resolve())
        self.recent_files = [p] + [r for r in self.recent_files if r != p][: MAX_RECENT - 1]

    # -- JSON -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d.pop("notes")
        d["schema_version"] = SCHEMA_VERSION
        return d

    @classmethod
    def from_dict(cls, d: Any) -> Settings:
        if not isinstance(d, dict):
            return cls(notes=["The settings file does not hold a JSON object; defaults used."])
        known = {f.name for f in dataclasses.fields(cls)} - {"notes"}
        values = {k: v for k, v in d.items() if k in known}
        notes = []
        version = d.get("schema_version", SCHEMA_VERSION)
        if isinstance(version, int) and version > SCHEMA_VERSION:
            notes.append(f"The settings file is from a newer PSG Lens (schema {version}); "
                         "settings this version does not know are ignored.")
        values["schema_version"] = SCHEMA_VERSION
        return cls(**values, notes=notes)


def _default(name: str) -> Any:
    f = next(f for f in dataclasses.fields(Settings) if f.name == name)
    return f.default if f.default is not dataclasses.MISSING else f.default_factory()


def _is_color(v: Any) -> bool:
    return (isinstance(v, str) and len(v) == 7 and v.startswith("#")
            and all(c in "0123456789abcdefABCDEF" for c in v[1:]))


def load_settings(path: Path | None = None) -> Settings:
    """Read the user's settings; defaults when there is no file or it is damaged."""
    path = path or settings_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Settings()
    except OSError as err:
        return Settings(notes=[f"Cannot read {path} ({err.strerror}); defaults used."])
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return Settings(notes=[f"{path} is not valid JSON; defaults used."])
    return Settings.from_dict(data)


def save_settings(settings: Settings, path: Path | None = None) -> Path:
    """Write atomically (temp file + rename), so a crash never leaves half a file."""
    path = path or settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".settings-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(settings.to_dict(), f, indent=2)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
