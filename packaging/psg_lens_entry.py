"""Entry point of the frozen app (``build_installer.spec``): one program, two executables.

``psg-lens`` is the console program (every CLI command; alone, it opens the window).
``psg-lens-gui`` is the same program built without a console (Windows, macOS): it opens
the window, with a study if it is given a path (what the file association passes).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from pathlib import Path


def _guard_streams() -> None:
    """A windowed build has no console: ``sys.stdout``/``sys.stderr`` are None there, and
    the first print (argparse, tqdm, a warning) would raise. Send them to a log file the
    technician can send us (or to nowhere when even that cannot be opened)."""
    if sys.stdout is not None and sys.stderr is not None:
        return
    try:
        from platformdirs import user_log_dir

        folder = Path(user_log_dir("psg-lens", appauthor=False))
        folder.mkdir(parents=True, exist_ok=True)
        stream = open(folder / "psg-lens-gui.log", "a", encoding="utf-8", buffering=1)  # noqa: SIM115
    except OSError:
        stream = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115
    if sys.stdout is None:
        sys.stdout = stream
    if sys.stderr is None:
        sys.stderr = stream


def _arguments(argv: list[str]) -> list[str]:
    """``psg-lens-gui [STUDY]`` means ``psg-lens gui [STUDY]``."""
    if not Path(sys.executable).stem.lower().startswith("psg-lens-gui"):
        return argv
    from app.cli import COMMANDS

    if argv and (argv[0] in COMMANDS or argv[0].startswith("-")):
        return argv
    return ["gui", *argv]


if __name__ == "__main__":
    # a spawned child (the YASA second opinion runs in one) starts here too: let
    # multiprocessing take it over before any argument is parsed
    multiprocessing.freeze_support()
    _guard_streams()
    from app.cli import main

    sys.exit(main(_arguments(sys.argv[1:])))
