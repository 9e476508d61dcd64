"""EDF/BDF headers are checked field by field: a damaged field is one sentence that names
the field (and the signal) and the value it holds, never a traceback or a silent open."""

from __future__ import annotations

from pathlib import Path

import pytest
from models import study

from app.core.signals.recording import Recording
from app.errors import StudyError

_SIGNAL_FIELDS = (("label", 16), ("transducer", 80), ("unit", 8), ("pmin", 8), ("pmax", 8),
                  ("dmin", 8), ("dmax", 8), ("prefilter", 80), ("samples", 8), ("reserved", 32))


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> bytes:
    return study(tmp_path_factory.mktemp("edf") / "ok.edf", 2).read_bytes()


def _with(raw: bytes, value: str, *, offset: int | None = None, width: int = 8,
          signal_field: str | None = None, signal: int = 0) -> bytes:
    b = bytearray(raw)
    if signal_field is not None:
        n = int(raw[252:256])
        offset = 256
        for name, w in _SIGNAL_FIELDS:
            if name == signal_field:
                offset, width = offset + signal * w, w
                break
            offset += n * w
    b[offset:offset + width] = value.encode().ljust(width)
    return bytes(b)


@pytest.mark.parametrize("value, words", [
    ("one", "duration of a data record reads 'one', not a number of seconds"),
    ("nan", "duration of a data record reads 'nan'"),
    ("inf", "duration of a data record reads 'inf'"),
    ("-1", "duration of a data record reads '-1'"),
    ("0", "data record reads 0 s, which only an annotations-only file may have"),
])
def test_record_duration(good, tmp_path, value, words):
    path = tmp_path / "bad.edf"
    path.write_bytes(_with(good, value, offset=244))
    with pytest.raises(StudyError, match=words):
        Recording.open(path)


def test_number_of_records(good, tmp_path):
    path = tmp_path / "bad.edf"
    path.write_bytes(_with(good, "-5", offset=236))
    with pytest.raises(StudyError, match="number of data records reads -5"):
        Recording.open(path)
    path.write_bytes(_with(good, "99999999", offset=236))
    with pytest.raises(StudyError, match="promises 99999999 data records"):
        Recording.open(path)
    path.write_bytes(_with(good, "-1", offset=236))  # "unknown": the file's size decides
    assert Recording.open(path).n_epochs == 2


@pytest.mark.parametrize("field, value, words", [
    ("samples", "-3", "signal 'F4-M1' has -3 samples per data record"),
    ("samples", "0", "signal 'F4-M1' has 0 samples per data record"),
    ("samples", "many", "samples per record of signal 'F4-M1' field reads"),
    ("pmin", "nan", "physical minimum of signal 'F4-M1' reads 'nan', not a number"),
    ("pmax", "inf", "physical maximum of signal 'F4-M1' reads 'inf'"),
    ("dmin", "x", "digital minimum of signal 'F4-M1' reads 'x'"),
    ("dmin", "100", "digital minimum 100 above its maximum -5"),
])
def test_signal_fields(good, tmp_path, field, value, words):
    raw = _with(good, "-5", signal_field="dmax") if field == "dmin" and value == "100" else good
    path = tmp_path / "bad.edf"
    path.write_bytes(_with(raw, value, signal_field=field))
    with pytest.raises(StudyError, match=words):
        Recording.open(path)


def test_physical_minimum_equal_to_maximum(good, tmp_path):
    n = int(good[252:256])
    pmin_at = 256 + n * (16 + 80 + 8)
    pmin = good[pmin_at:pmin_at + 8].decode().strip()
    path = tmp_path / "bad.edf"
    path.write_bytes(_with(good, pmin, signal_field="pmax"))
    with pytest.raises(StudyError, match=f"physical minimum equal to its maximum \\({pmin}"):
        Recording.open(path)


def test_the_sentence_names_the_file(good, tmp_path):
    path = Path(tmp_path / "night 3.edf")
    path.write_bytes(_with(good, "one", offset=244))
    with pytest.raises(StudyError, match=r"^night 3.edf has a damaged EDF header"):
        Recording.open(path)


def test_a_study_that_shrinks_or_changes_while_open_is_a_sentence_not_sigbus(tmp_path):
    # reading a memory-mapped page past the end of a shrunk file kills the process with
    # SIGBUS; the reader checks the file before each read instead
    import os

    import numpy as np
    from conftest import write_edf

    path = write_edf(tmp_path / "copying.edf",
                     {"EEG C4-M1": (np.zeros(100 * 600), 100.0)})
    rec = Recording.open(path)
    assert rec.get_window(500, 530)["EEG C4-M1"].data.shape == (3000,)
    full = path.stat().st_size
    with open(path, "r+b") as f:
        f.truncate(full // 3)  # a copy in progress, or a sync client rewriting it
    with pytest.raises(StudyError, match="shrank while it was open.*copy may still"):
        rec.get_window(500, 530)
    with open(path, "r+b") as f:  # the same size again, other contents
        f.truncate(full)
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    rec2 = Recording.open(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 3 * 10**9))
    with pytest.raises(StudyError, match="changed on disk while it was open"):
        rec2.get_window(0, 30)
    path.unlink()
    with pytest.raises(StudyError, match="moved or deleted while open"):
        rec2.get_window(0, 30)
