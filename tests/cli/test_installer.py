"""The standalone app: ``build_installer.spec`` builds ``dist/psg-lens/`` and the frozen
program works on a machine with no Python on its PATH.

Slow (PyInstaller freezes torch, transformers and Qt: several minutes on 2 cores), so it
runs when ``CI`` is set (``.ci/run`` sets it) or ``PSG_LENS_TEST_INSTALLER=1``;
``PSG_LENS_FROZEN_DIST=dist/psg-lens`` tests an existing build instead of building one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXE = ".exe" if sys.platform == "win32" else ""

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (os.environ.get("CI") or os.environ.get("PSG_LENS_TEST_INSTALLER")
             or os.environ.get("PSG_LENS_FROZEN_DIST")),
        reason="builds the standalone app (minutes): set CI=1 or PSG_LENS_TEST_INSTALLER=1"),
]


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    given = os.environ.get("PSG_LENS_FROZEN_DIST")
    if given:
        return Path(given).resolve()
    pytest.importorskip("PyInstaller", reason="pip install -e .[installer]")
    tmp = tmp_path_factory.mktemp("installer")
    log = tmp / "pyinstaller.log"
    with log.open("w") as out:
        rc = subprocess.run(
            [sys.executable, "-m", "PyInstaller", "--noconfirm", "--distpath", str(tmp / "dist"),
             "--workpath", str(tmp / "work"), str(ROOT / "build_installer.spec")],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, timeout=3600).returncode
    assert rc == 0, "pyinstaller failed:\n" + "\n".join(log.read_text().splitlines()[-40:])
    return tmp / "dist" / "psg-lens"


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, str]:
    """No Python anywhere: an empty PATH, no PYTHON* variables, a fresh home."""
    tmp = tmp_path_factory.mktemp("no-python")
    (tmp / "bin").mkdir()
    (tmp / "home").mkdir()
    keep = ("LANG", "LC_ALL", "TZ", "USER", "LOGNAME")
    out = {k: v for k, v in os.environ.items() if k in keep}
    out.update(PATH=str(tmp / "bin"), HOME=str(tmp / "home"), QT_QPA_PLATFORM="offscreen",
               XDG_CONFIG_HOME=str(tmp / "home" / ".config"),
               XDG_DATA_HOME=str(tmp / "home" / ".local" / "share"),
               XDG_CACHE_HOME=str(tmp / "home" / ".cache"),
               XDG_RUNTIME_DIR=str(tmp / "home" / "run"),
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    (tmp / "home" / "run").mkdir(mode=0o700)
    assert shutil.which("python3", path=out["PATH"]) is None
    assert shutil.which("python", path=out["PATH"]) is None
    return out


def run(dist: Path, env: dict, *args: str, exe: str = "psg-lens", cwd: Path | None = None,
        timeout: float = 600) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(dist / f"{exe}{EXE}"), *args], env=env, cwd=cwd or dist.parent,
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, (f"{exe} {' '.join(args)} exited {proc.returncode}\n"
                                  f"stdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}")
    return proc


@pytest.fixture(scope="module")
def study(dist, env, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("study") / "night.edf"
    run(dist, env, "synth", "--hours", "0.1", "--seed", "3", "-o", str(path))
    return path


def test_the_folder_has_both_programs_and_the_resources(dist):
    internal = dist / "_internal"
    for exe in ("psg-lens", "psg-lens-gui"):
        assert (dist / f"{exe}{EXE}").is_file()
    assert (internal / "resources" / "models" / "default" / "model.safetensors").is_file()
    assert (internal / "resources" / "priors" / "stage_transitions.json").is_file()
    assert not list(internal.glob("_tkinter*")) and not (internal / "tkinter").exists()
    assert not (internal / "tests").exists() and not (internal / "pytest").exists()
    if sys.platform.startswith("linux"):
        assert (dist / "share" / "psg-lens.desktop").is_file()
        assert (dist / "install-desktop-entry.sh").is_file()


def test_version(dist, env):
    from app import __version__

    assert run(dist, env, "--version").stdout.strip() == f"psg-lens {__version__}"


def test_model_check_on_the_embedded_default(dist, env):
    model = dist / "_internal" / "resources" / "models" / "default"
    out = run(dist, env, "model", "check", str(model), "--device", "cpu").stdout
    assert "loaded psg-lens-default-tiny" in out and "label tokens:" in out
    assert "-> " in out


def test_score_writes_the_same_hypnogram_as_the_python_package(dist, env, study, tmp_path):
    import csv

    import numpy as np

    from app.core.inference.auto import AutoEngine
    from app.core.inference.engine import StageEngine
    from app.core.signals.recording import Recording
    from app.resources import resource_path

    def frozen(*extra: str) -> np.ndarray:
        out = tmp_path / "night.csv"
        run(dist, env, "score", str(study), "-o", str(out), "--quiet", *extra)
        rows = list(csv.DictReader(x for x in out.read_text().splitlines()
                                   if not x.startswith("#")))
        assert len(rows) == 12 and {r["stage"] for r in rows} <= {"W", "N1", "N2", "N3", "REM"}
        return np.array([[float(r[f"p_{s}"]) for s in ("W", "N1", "N2", "N3", "REM")]
                         for r in rows])

    engine = StageEngine(resource_path("models", "default"), device="cpu")
    rec = Recording.open(study)
    # the model alone, and the default (the embedded card fuses this montage with YASA)
    np.testing.assert_allclose(frozen("--engine", "vlm"), engine.score(rec).probabilities,
                               atol=1e-4)
    if (dist / "_internal" / "yasa").is_dir():
        np.testing.assert_allclose(frozen(), AutoEngine(engine).score(rec).probabilities,
                                   atol=1e-4)


@pytest.mark.parametrize("exe, args", [
    ("psg-lens", ["gui"]),          # the console program's gui command
    ("psg-lens-gui", []),           # what the desktop entry and the .edf association run
])
def test_gui_opens_a_study_offscreen_and_closes(dist, env, study, exe, args):
    out = run(dist, env, *args, str(study), "--quit-after", "0.5", exe=exe).stdout
    line = next(x for x in out.splitlines() if x.startswith("window shown"))
    assert "window shown: True" in line and "title: 'PSG Lens" in line
    assert f"study: {study.name}" in line and "epochs: 12" in line


@pytest.mark.parametrize("engine, scorer", [
    ("vlm", "psg-lens-default-tiny/"),  # the embedded model, in the GUI's worker thread
    ("yasa", "yasa/"),                  # the second opinion, in a spawned child process
])
def test_gui_scores_the_study_with_a_model(dist, env, study, engine, scorer):
    if engine == "yasa" and not (dist / "_internal" / "yasa").is_dir():
        pytest.skip("built with --no-yasa")
    out = run(dist, env, "gui", str(study), "--run-model", engine, "--quit-after", "0").stdout
    line = next(x for x in out.splitlines() if x.startswith("model run"))
    assert line.startswith(f"model run: {scorer}") and line.endswith("scored 12 of 12 epochs")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="freedesktop only")
def test_desktop_entry_and_edf_association_install_for_the_user(dist, tmp_path):
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path / "share"))
    subprocess.run(["bash", str(dist / "install-desktop-entry.sh")], env=env, check=True,
                   capture_output=True, timeout=60)
    entry = (tmp_path / "share" / "applications" / "psg-lens.desktop").read_text()
    assert f'Exec="{dist / "psg-lens-gui"}" %f' in entry
    assert "MimeType=application/x-edf;application/x-bdf;" in entry
    mime = (tmp_path / "share" / "mime" / "packages" / "psg-lens.xml").read_text()
    assert '<glob pattern="*.edf"/>' in mime
    assert (tmp_path / "share" / "icons" / "hicolor" / "512x512" / "apps" /
            "psg-lens.png").is_file()
    subprocess.run(["bash", str(dist / "install-desktop-entry.sh"), "--remove"], env=env,
                   check=True, capture_output=True, timeout=60)
    assert not (tmp_path / "share" / "applications" / "psg-lens.desktop").exists()
