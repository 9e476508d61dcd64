"""Light and dark themes: the Qt palette and the colours the plots use.

Stage colours come from the user's settings (Okabe-Ito by default, colour-blind-safe);
the rest is fixed per theme. Widgets receive a :class:`Theme` in ``__init__``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.core.scoring.stage_colors import DEFAULT_STAGE_COLORS
from app.core.scoring.stages import Stage


def hex_rgb(color: str) -> tuple[int, int, int]:
    c = color.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


@dataclass(frozen=True)
class Theme:
    name: str
    background: str
    foreground: str
    muted: str                 # secondary text, axes
    panel: str                 # window / panel background
    grid_minor: str
    grid_major: str
    context: str               # background of the neighbouring epochs
    accent: str                # cursor, selection
    heat: tuple[int, int, int]  # saliency hue
    mark_low: str              # low-confidence marks
    mark_disagree: str         # disagreement marks
    banner_warn: str
    banner_info: str
    traces: dict[str, str]     # per role
    stage_colors: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_STAGE_COLORS))

    def stage_color(self, stage: Stage | int) -> str:
        return self.stage_colors[Stage(int(stage)).label]

    def trace_color(self, role: str) -> str:
        return self.traces.get(role, self.traces["OTHER"])

    def with_stage_colors(self, colors: dict[str, str]) -> Theme:
        from dataclasses import replace

        return replace(self, stage_colors={**DEFAULT_STAGE_COLORS, **colors})


LIGHT = Theme(
    name="light", background="#FFFFFF", foreground="#1A1A1A", muted="#5F6368",
    panel="#F3F3F3", grid_minor="#EDEDED", grid_major="#C8C8C8", context="#F0F0F0",
    accent="#0057B8", heat=(230, 60, 20), mark_low="#8A6D00", mark_disagree="#C0392B",
    banner_warn="#FFF1C2", banner_info="#E3EEFB",
    traces={"EEG": "#101870", "EOG": "#006838", "EMG": "#A81818", "ECG": "#682888",
            "RESP": "#4D4D4D", "OTHER": "#4D4D4D"},
)

DARK = Theme(
    name="dark", background="#16181C", foreground="#E6E6E6", muted="#A0A4AA",
    panel="#202329", grid_minor="#24272D", grid_major="#3A3F47", context="#262A32",
    accent="#5AA9FF", heat=(255, 170, 0), mark_low="#F0E442", mark_disagree="#FF7A66",
    banner_warn="#4A3B00", banner_info="#1B2F4A",
    traces={"EEG": "#9CC4FF", "EOG": "#7FD8A8", "EMG": "#FF9C8C", "ECG": "#D2A8F0",
            "RESP": "#BDBDBD", "OTHER": "#BDBDBD"},
)

THEMES = {"light": LIGHT, "dark": DARK}


def get_theme(name: str, stage_colors: dict[str, str] | None = None) -> Theme:
    theme = THEMES.get(name, LIGHT)
    return theme.with_stage_colors(stage_colors) if stage_colors else theme


def apply_palette(app, theme: Theme) -> None:
    """Fusion style with a palette from ``theme`` (Qt imported here only)."""
    from PySide6.QtGui import QColor, QPalette

    app.setStyle("Fusion")
    p = QPalette()
    c = QColor
    roles = {
        QPalette.Window: theme.panel, QPalette.WindowText: theme.foreground,
        QPalette.Base: theme.background, QPalette.AlternateBase: theme.panel,
        QPalette.ToolTipBase: theme.background, QPalette.ToolTipText: theme.foreground,
        QPalette.Text: theme.foreground, QPalette.Button: theme.panel,
        QPalette.ButtonText: theme.foreground, QPalette.Highlight: theme.accent,
        QPalette.HighlightedText: "#FFFFFF", QPalette.Link: theme.accent,
        QPalette.PlaceholderText: theme.muted,
    }
    for role, color in roles.items():
        p.setColor(role, c(color))
    for role in (QPalette.WindowText, QPalette.Text, QPalette.ButtonText):
        p.setColor(QPalette.Disabled, role, c(theme.muted))
    app.setPalette(p)
