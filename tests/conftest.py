"""Shared fixtures: small EDF files written by the tests themselves, and ../shared/data."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"../shared/data not found at {SHARED_DATA}: real-data tests need the "
                    "project's shared data folder beside the checkout")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path_factory, monkeypatch):
    """Never write sessions or settings into the real user folders during tests."""
    monkeypatch.setenv("PSG_LENS_DATA_DIR", str(tmp_path_factory.mktemp("psglens-data")))


def write_edf(path: Path, signals: dict[str, tuple[np.ndarray, float]], *,
              unit: str = "uV", start: dt.datetime | None = None) -> Path:
    """Write a plain EDF+ file with edfio: {label: (data, sfreq)}."""
    from edfio import Edf, EdfSignal

    sigs = []
    for label, (data, sf) in signals.items():
        lo, hi = float(np.min(data)), float(np.max(data))
        if hi - lo < 1e-6:
            lo, hi = lo - 1, hi + 1
        sigs.append(EdfSignal(np.asarray(data, float), sf, label=label,
                              physical_dimension=unit, physical_range=(lo, hi)))
    edf = Edf(sigs, data_record_duration=1.0)
    start = start or dt.datetime(2024, 3, 1, 22, 30, 0)
    edf.startdate = start.date()
    edf.starttime = start.time()
    edf.write(path)
    return path


@pytest.fixture
def make_edf(tmp_path):
    def make(name: str = "study.edf", seconds: int = 95, **channels) -> Path:
        rng = np.random.default_rng(0)
        names = channels or {"C4-M1": 256.0, "E1-M2": 256.0, "Chin1-Chin2": 256.0}
        sigs = {k: (rng.normal(0, 20, int(seconds * sf)), sf) for k, sf in names.items()}
        return write_edf(tmp_path / name, sigs)
    return make


@pytest.fixture
def tiny_study(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A file a scoring session can identify (an EDF-like header), data folder isolated."""
    monkeypatch.setenv("PSG_LENS_DATA_DIR", str(tmp_path / "data"))
    path = tmp_path / "night.edf"
    path.write_bytes(b"0".ljust(256, b" ") + b"\x01" * 2000)
    return path


# -- GUI: a window with a fresh copy of the module's ``study_master`` open ---------------
@pytest.fixture
def scoring_window(qtbot, study_master, tmp_path, monkeypatch):
    """The main window (fake engine, fake bundle) with a copy of ``study_master`` open.

    Each test module defines ``study_master`` (its own synthetic night)."""
    pytest.importorskip("pytestqt")
    from gui_fakes import FakeEngine, fake_bundle

    from app.config import Settings
    from app.gui.app import create_window

    monkeypatch.setenv("PSG_LENS_CONFIG_DIR", str(tmp_path / "config"))
    study = tmp_path / "night.edf"
    study.write_bytes(study_master.read_bytes())
    s = Settings(default_bundle=str(fake_bundle(tmp_path / "bundle")), scorer_id="tech-gui")
    w = create_window(s, engine_factory=FakeEngine)
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    qtbot.waitExposed(w)
    assert w.c.open_study(study)
    yield w
    w.close()
