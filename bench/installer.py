"""The standalone app: size of ``dist/psg-lens/`` and start-up time to the first window.

    pyinstaller build_installer.spec && python bench/installer.py [--dist dist/psg-lens]

Start-up is measured from launching the process to the window reporting itself shown
with a study open (``gui STUDY --quit-after 0`` prints that line once the event loop
runs), for the frozen program and, as the peer in the same run, for the same command
from the Python install (``python -m app``). Each is run ``--runs`` times; the median
is printed. The first frozen run is reported apart: it is the one a cold disk cache sees.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def biggest(internal: Path, n: int = 12) -> list[tuple[str, int]]:
    sizes = [(p.name, folder_size(p) if p.is_dir() else p.stat().st_size)
             for p in internal.iterdir()]
    return sorted(sizes, key=lambda x: -x[1])[:n]


def time_to_window(cmd: list[str], env: dict) -> float:
    """Seconds from launch to the 'window shown' line (the process is then let finish)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True)
    shown, what = None, ""
    for line in proc.stdout:
        if line.startswith("window shown") and shown is None:
            shown, what = time.perf_counter() - t0, line
    proc.wait(timeout=120)
    if shown is None or not what.startswith("window shown: True") or proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} did not show its window with the study "
                         f"(exit {proc.returncode}): {what.strip()}")
    return shown


def median(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[len(xs) // 2] if len(xs) % 2 else 0.5 * (xs[len(xs) // 2 - 1] + xs[len(xs) // 2])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dist", default=str(ROOT / "dist" / "psg-lens"))
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args()
    dist = Path(args.dist).resolve()
    exe = dist / ("psg-lens.exe" if sys.platform == "win32" else "psg-lens")
    if not exe.is_file():
        raise SystemExit(f"No build at {dist}: run `pyinstaller build_installer.spec` first.")
    total = folder_size(dist)
    print(f"dist/psg-lens: {total / 2**20:.0f} MiB in "
          f"{sum(1 for q in dist.rglob('*') if q.is_file())} files")
    print("largest parts of _internal/:")
    for name, size in biggest(dist / "_internal"):
        print(f"  {name:32s} {size / 2**20:7.1f} MiB")

    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    with tempfile.TemporaryDirectory() as tmp:
        study = Path(tmp) / "night.edf"
        subprocess.run([str(exe), "synth", "--hours", "1", "-o", str(study)], env=env,
                       check=True, capture_output=True)
        gui = ["gui", str(study), "--quit-after", "0"]
        frozen = [time_to_window([str(exe), *gui], env) for _ in range(args.runs + 1)]
        source = [time_to_window([sys.executable, "-m", "app", *gui], env)
                  for _ in range(args.runs)]
    f, s = median(frozen[1:]), median(source)
    print(f"start-up to the first window with a 1-h study open (median of {args.runs}):")
    print(f"  frozen dist/psg-lens   {f:6.2f} s   (first, cold run: {frozen[0]:.2f} s)")
    print(f"  python -m app (peer)   {s:6.2f} s")
    print(f"  ratio frozen / python: {f / s:.2f}x")


if __name__ == "__main__":
    main()
