"""The core stays Qt-free: app.core, app.cli (outside gui/demo) and training never import
PySide6, pyqtgraph or app.gui, neither in their source nor at import time."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
QT = ("PySide6", "pyqtgraph", "app.gui", "shiboken6")
GUI_COMMANDS = {"gui.py", "demo.py"}


def _qt_free_files() -> list[Path]:
    files = [*sorted((ROOT / "app" / "core").rglob("*.py")), ROOT / "app" / "cli.py",
             *sorted((ROOT / "training").rglob("*.py"))]
    files += [p for p in sorted((ROOT / "app" / "commands").glob("*.py"))
              if p.name not in GUI_COMMANDS]
    return files


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


@pytest.mark.parametrize("path", _qt_free_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_qt_imports_in_source(path):
    bad = [n for n in _imports(path) if n.split(".")[0] in ("PySide6", "pyqtgraph", "shiboken6")
           or n == "app.gui" or n.startswith("app.gui.")]
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_importing_the_core_and_cli_loads_no_qt():
    core = ROOT / "app" / "core"
    modules = sorted({"app." + ".".join(p.relative_to(ROOT / "app").with_suffix("").parts)
                      .removesuffix(".__init__") for p in core.rglob("*.py")})
    code = ("import sys, importlib\n"
            f"for m in {modules!r} + ['app.cli', 'training.finetune', 'training.cache']:\n"
            "    importlib.import_module(m)\n"
            "from app.cli import build_parser; build_parser()\n"
            f"bad = [m for m in sys.modules if m.split('.')[0] in {QT[:2]!r} or m.startswith('app.gui')]\n"
            "print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         check=True)
    assert out.stdout.strip() == "", f"Qt loaded by the core: {out.stdout}"


def _private_imports(path: Path) -> list[str]:
    """Names starting with an underscore imported from another of our modules."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 \
                and node.module.split(".")[0] in ("app", "training"):
            bad += [f"{node.module}.{a.name}" for a in node.names
                    if a.name.startswith("_") and not a.name.startswith("__")]
    return bad


@pytest.mark.parametrize("path", sorted((ROOT / "app").rglob("*.py"))
                         + sorted((ROOT / "training").rglob("*.py")),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_imports_another_modules_private_names(path):
    bad = _private_imports(path)
    assert not bad, f"{path.relative_to(ROOT)} imports private names {bad}"


def test_core_is_grouped_by_concept():
    """app/core holds packages by concept, not a flat room of modules."""
    flat = sorted(p.name for p in (ROOT / "app" / "core").glob("*.py") if p.name != "__init__.py")
    assert flat == ["report.py", "workspace.py"], flat
    for pkg in ("signals", "scoring", "synth", "formats", "inference", "explain", "files"):
        assert (ROOT / "app" / "core" / pkg / "__init__.py").is_file(), pkg
