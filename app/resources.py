"""Locate files under the project's ``resources/`` folder, in a checkout or a frozen build."""

from __future__ import annotations

import sys
from pathlib import Path


def resources_root() -> Path:
    """Return the ``resources`` folder.

    A PyInstaller build unpacks data next to the executable and exposes that folder as
    ``sys._MEIPASS``; a source checkout keeps ``resources/`` beside the ``app`` package.

    Examples
    --------
    >>> resources_root().name
    'resources'
    """
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen) / "resources"
    return Path(__file__).resolve().parents[1] / "resources"


def resource_path(*parts: str) -> Path:
    """Return the path of a resource, e.g. ``resource_path("priors", "stage_transitions.json")``.

    The path is returned whether or not the file exists, so callers can give their own
    error message.

    Examples
    --------
    >>> resource_path("priors", "stage_transitions.json").name
    'stage_transitions.json'
    """
    return resources_root().joinpath(*parts)
