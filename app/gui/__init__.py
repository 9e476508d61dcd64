"""The PySide6 + pyqtgraph scoring workstation (the only place Qt is imported).

Importing this package first works around a PySide6 6.12.0 bug on Python < 3.12: calls
that return a singleton drop a reference to it -- every ``Signal.emit`` one reference to
``True``, every ``processEvents``/``repaint``/``QAction.trigger`` one to ``None``
(measured: 100 calls, 100 references fewer; 6.11.3 does not). The singletons are not
immortal before Python 3.12, so after a few thousand calls -- seconds of pyqtgraph
redraws -- the interpreter aborts with "bool_dealloc" or "none_dealloc". When a probe
shows the leak, we give True, False and None the huge reference count Python 3.12 gives
every immortal object.
"""

from __future__ import annotations

import sys


def _singletons_leak(n: int = 64) -> bool:
    """True when Qt calls lose references to True, False or None."""
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        ping = Signal(object)

    probe = _Probe()
    watched = (True, False, None)
    before = [sys.getrefcount(o) for o in watched]
    for _ in range(n):
        probe.ping.emit(0)            # returns True
        probe.setObjectName("probe")  # returns None
        probe.signalsBlocked()        # returns False
    after = [sys.getrefcount(o) for o in watched]
    return any(b - a >= n // 2 for b, a in zip(before, after))


def _immortalise_singletons() -> list[str]:
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return []  # immortal singletons: nothing can reach zero
    try:
        leaking = _singletons_leak()
    except ImportError:  # Qt-free use of app.gui.trace_data
        return []
    if not leaking:
        return []
    import ctypes

    for obj in (True, False, None):
        # ob_refcnt is the first field of every CPython object
        ctypes.c_ssize_t.from_address(id(obj)).value += 1 << 40
    return ["True", "False", "None"]


PATCHED_SINGLETONS = _immortalise_singletons()
