"""Signals: reading studies, naming channels, and drawing epochs.

``edf_reader`` (the memory-mapped EDF/BDF reader), ``recording`` (a study opened lazily),
``channels`` (names -> roles and AASM slots), ``render_spec`` and ``render`` (THE
signal-to-image function).
"""
