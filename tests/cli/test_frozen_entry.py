"""The frozen app's entry script (packaging/psg_lens_entry.py), tested unfrozen: which
command each executable runs, and the stream guard of windowed builds."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ENTRY = Path(__file__).resolve().parents[2] / "packaging" / "psg_lens_entry.py"


@pytest.fixture
def entry():
    spec = importlib.util.spec_from_file_location("psg_lens_entry", ENTRY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # the __main__ block does not run on import
    return module


@pytest.mark.parametrize("exe, argv, want", [
    ("psg-lens", [], []),                                  # the CLI alone opens the window
    ("psg-lens", ["score", "a.edf"], ["score", "a.edf"]),
    ("psg-lens-gui", [], ["gui"]),
    ("psg-lens-gui", ["/data/night.edf"], ["gui", "/data/night.edf"]),  # file association
    ("psg-lens-gui.exe", ["C:\\night.edf"], ["gui", "C:\\night.edf"]),
    ("psg-lens-gui", ["--version"], ["--version"]),
    ("psg-lens-gui", ["demo"], ["demo"]),
])
def test_each_executable_runs_its_command(entry, monkeypatch, exe, argv, want):
    monkeypatch.setattr(sys, "executable", f"/opt/psg-lens/{exe}")
    assert entry._arguments(list(argv)) == want


def test_windowed_build_without_streams_logs_to_a_file(entry, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(sys, "stdout", None)
    monkeypatch.setattr(sys, "stderr", None)
    entry._guard_streams()
    try:
        print("hello from a windowed build")
        print("a warning", file=sys.stderr)
        sys.stdout.flush()
        logs = list(tmp_path.rglob("psg-lens-gui.log"))
        assert len(logs) == 1
        assert logs[0].read_text().splitlines() == ["hello from a windowed build", "a warning"]
    finally:
        stream = sys.stdout
        monkeypatch.undo()
        stream.close()


def test_console_streams_are_left_alone(entry, monkeypatch):
    out, err = sys.stdout, sys.stderr
    entry._guard_streams()
    assert sys.stdout is out and sys.stderr is err


@pytest.mark.parametrize("frozen, message", [
    (False, "install it with 'pip install yasa'"),
    (True, "This PSG Lens build was made without YASA"),  # pip means nothing to a build
])
def test_second_opinion_without_yasa_says_what_to_do(monkeypatch, frozen, message):
    import importlib.metadata

    from app.errors import PSGLensError

    workers = pytest.importorskip("app.gui.workers")

    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", missing)
    monkeypatch.setattr(sys, "frozen", frozen, raising=False)
    with pytest.raises(PSGLensError, match=message):
        workers.SubprocessYasa()
