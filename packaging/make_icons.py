"""Draw the PSG Lens icon (a hypnogram in a lens) and write it for every platform.

``python packaging/make_icons.py`` writes ``resources/icons/psg-lens.png`` (512 px, Linux
and the window icon), ``psg-lens.ico`` (Windows, 16-256 px) and ``psg-lens.icns``
(macOS). The files are committed; rerun only to change the drawing.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parents[1] / "resources" / "icons"
# W, REM, N1, N2, N3 as the hypnogram's rows (top to bottom), the app's stage colours
STEPS = [0, 2, 3, 4, 4, 3, 1, 3, 4, 3, 1, 1, 3, 2, 1, 1, 0]
ROW_COLOURS = ["#d9a400", "#c0392b", "#6fa8dc", "#3d85c6", "#0b3d91"]


def draw(size: int = 512) -> Image.Image:
    s = size / 512
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle([16 * s, 16 * s, 496 * s, 496 * s], radius=96 * s, fill="#1d2733")
    d.ellipse([64 * s, 64 * s, 448 * s, 448 * s], fill="#f4f1ea", outline="#9fb4c7",
              width=max(1, round(14 * s)))
    left, right, top, step = 132 * s, 380 * s, 166 * s, 46 * s
    w = (right - left) / len(STEPS)
    pts = []
    for i, row in enumerate(STEPS):
        y = top + row * step
        pts += [(left + i * w, y), (left + (i + 1) * w, y)]
    for i, row in enumerate(STEPS):  # coloured stage bars under the line
        y = top + row * step
        d.rectangle([left + i * w, y, left + (i + 1) * w, y + 10 * s], fill=ROW_COLOURS[row])
    d.line(pts, fill="#1d2733", width=max(1, round(9 * s)), joint="curve")
    return img


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    big = draw(1024)
    big.resize((512, 512), Image.LANCZOS).save(OUT / "psg-lens.png")
    big.save(OUT / "psg-lens.ico", sizes=[(16, 16), (24, 24), (32, 32), (48, 48),
                                          (64, 64), (128, 128), (256, 256)])
    big.save(OUT / "psg-lens.icns")
    for p in sorted(OUT.iterdir()):
        print(f"{p.relative_to(OUT.parents[1])}: {p.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
