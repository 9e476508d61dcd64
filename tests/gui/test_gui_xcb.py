"""The real window on a real X display (Xvfb, Qt's xcb plugin), not offscreen: a
desktop-less install missing the xcb libraries fails here, as it would for a user."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("xvfb-run") is None,
                    reason="needs xvfb-run (./scripts/install.sh --dev installs it)")
def test_the_window_opens_with_the_xcb_plugin_under_xvfb(tmp_path):
    from models import study

    path = study(tmp_path / "night.edf", 4)
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    env.update(QT_QPA_PLATFORM="xcb", PSG_LENS_CONFIG_DIR=str(tmp_path / "config"),
               PSG_LENS_DATA_DIR=str(tmp_path / "data"))
    proc = subprocess.run(
        ["xvfb-run", "-a", "-s", "-screen 0 1280x800x24", sys.executable, "-m", "app", "gui",
         str(path), "--quit-after", "2"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    out = proc.stdout + proc.stderr
    assert "Could not load the Qt platform plugin" not in out, out[-2000:]
    assert proc.returncode == 0, out[-2000:]
    assert "PSG Lens" in out and "night.edf" in out
