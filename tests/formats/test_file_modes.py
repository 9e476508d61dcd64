"""Exports get the mode the user's umask gives a new file; a replaced file keeps its own."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WRITE = """
import os, sys
os.umask(int(sys.argv[2], 8))
from app.core.formats import write_hypnogram
from app.core.scoring.hypnogram import Hypnogram
write_hypnogram(Hypnogram.from_labels(["W", "N1", "N2"]), sys.argv[1])
"""


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")
@pytest.mark.parametrize("umask, mode", [("027", 0o640), ("022", 0o644), ("077", 0o600)])
def test_a_new_export_follows_the_umask(tmp_path, umask, mode):
    out = tmp_path / "night.csv"
    subprocess.run([sys.executable, "-c", WRITE, str(out), umask], cwd=ROOT, check=True)
    assert stat.S_IMODE(out.stat().st_mode) == mode


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")
def test_a_replaced_export_keeps_its_mode(tmp_path):
    out = tmp_path / "night.csv"
    out.write_text("old")
    out.chmod(0o604)
    subprocess.run([sys.executable, "-c", WRITE, str(out), "077"], cwd=ROOT, check=True)
    assert stat.S_IMODE(out.stat().st_mode) == 0o604 and "N1" in out.read_text()
