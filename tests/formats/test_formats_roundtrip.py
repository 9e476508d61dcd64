"""Write every format, read it back, get the same night.

Each format keeps the stages; beyond them it keeps what ``FORMATS[name].carries`` says
(epoch length, start time, probabilities, scorer, per-epoch sources). Formats without a
code for Artifact (``dreem-json``: -1 is "not scored") map Artifact to Unscored, and the
test expects exactly that. Peers check that other tools read what we write: YASA reads
our YASA JSON and Profusion XML, MNE reads our EDF+ annotations.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.formats import FORMATS, detect_format, read_hypnogram, write_hypnogram
from app.core.scoring.hypnogram import Hypnogram, Source
from app.core.scoring.stages import ALL_STAGES, Stage
from app.errors import FormatError

FILE_NAMES = {"edf": "night.edf", "nsrr": "night-nsrr.xml", "profusion": "night-cmp.xml",
              "yasa-json": "night.json", "dreem-json": "night-dreem.json",
              "bids": "sub-01_task-sleep_events.tsv", "tsv": "night.tsv", "csv": "night.csv",
              "text": "night.txt"}
# (format, writer options): every format, plus the second label style where there is one
CASES = [(name, {}) for name in FORMATS] + [("text", {"labels": "int"}),
                                             ("edf", {"labels": "aasm"})]
CODES = [int(s) for s in ALL_STAGES]


@st.composite
def hypnograms(draw, max_epochs: int = 150) -> Hypnogram:
    n = draw(st.integers(1, max_epochs))
    # runs of stages, as in a real night, plus isolated Artifact/Unscored epochs
    stages = np.array(draw(st.lists(st.sampled_from(CODES), min_size=n, max_size=n)), np.int8)
    runs = draw(st.booleans())
    if runs:
        stages = np.repeat(stages[: max(1, n // 5)], 5)[:n]
        n = stages.size
    probs = None
    if draw(st.booleans()):
        seed = draw(st.integers(0, 2**32 - 1))
        probs = np.random.default_rng(seed).dirichlet(np.ones(5), n).astype(np.float32)
    start = draw(st.none() | st.datetimes(dt.datetime(1985, 1, 1), dt.datetime(2084, 12, 30))
                 .map(lambda t: t.replace(microsecond=0)))
    scorer = draw(st.text("abcXYZ019_-", min_size=0, max_size=12))
    sources = np.array(draw(st.lists(st.sampled_from([int(s) for s in Source]), min_size=n,
                                     max_size=n)), np.int8)
    epoch = draw(st.sampled_from([30.0, 30.0, 20.0, 5.0]))
    return Hypnogram(stages, epoch_sec=epoch, start_time=start, probabilities=probs,
                     scorer=scorer, sources=sources)


def _expected_stages(hyp: Hypnogram, name: str) -> np.ndarray:
    if "artifact" in FORMATS[name].carries:
        return hyp.stages
    # dreem-json has no Artifact code: the writer maps it to -1 (not scored)
    return np.where(hyp.stages == Stage.ARTIFACT, Stage.UNSCORED, hyp.stages)


def _roundtrip(hyp: Hypnogram, name: str, opts: dict, folder: Path) -> Hypnogram:
    path = folder / FILE_NAMES[name]
    write_hypnogram(hyp, path, format=name, **opts)
    assert detect_format(path) == name
    carries = FORMATS[name].carries
    epoch = None if "epoch_sec" in carries else hyp.epoch_sec
    back = read_hypnogram(path, epoch_sec=epoch)  # the format detected from the content
    assert back.meta["format"] == name
    return back


def _check(hyp: Hypnogram, back: Hypnogram, name: str) -> None:
    carries = FORMATS[name].carries
    np.testing.assert_array_equal(back.stages, _expected_stages(hyp, name))
    assert back.epoch_sec == hyp.epoch_sec
    if "start_time" in carries:
        assert back.start_time == hyp.start_time
    if "probabilities" in carries and hyp.probabilities is not None:
        np.testing.assert_allclose(back.probabilities, hyp.probabilities, atol=1e-5)
    else:
        assert back.probabilities is None
    unscored = hyp.stages == Stage.UNSCORED
    # EDF+ writes an unknown technician as "X", so a scorer named "X" reads as unknown;
    # CSV/TSV name the scorer on scored rows only, so a night nobody scored names nobody
    if "scorer" in carries and hyp.scorer and not (name == "edf" and hyp.scorer == "X") \
            and not ("sources" in carries and unscored.all()):
        assert back.scorer == hyp.scorer
    if "sources" in carries:  # an Unscored row claims no source
        np.testing.assert_array_equal(back.sources,
                                      np.where(unscored, Source.NONE, hyp.sources))
    assert back.meta["warnings"] == []


@pytest.mark.parametrize(("name", "opts"), CASES, ids=lambda c: str(c))
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hyp=hypnograms())
def test_roundtrip_random(name: str, opts: dict, hyp: Hypnogram) -> None:
    with tempfile.TemporaryDirectory() as folder:
        _check(hyp, _roundtrip(hyp, name, opts, Path(folder)), name)


@pytest.mark.parametrize("name", list(FORMATS))
def test_roundtrip_every_stage_once(name: str, tmp_path: Path) -> None:
    hyp = Hypnogram(np.array(CODES * 3, np.int8), start_time=dt.datetime(2020, 1, 2, 23),
                    scorer="tech-01",
                    probabilities=np.full((len(CODES) * 3, 5), 0.2, np.float32))
    _check(hyp, _roundtrip(hyp, name, {}, tmp_path), name)


def test_probabilities_left_out_on_request(tmp_path: Path) -> None:
    hyp = Hypnogram(np.zeros(4, np.int8), probabilities=np.full((4, 5), 0.2))
    for name in ("csv", "bids", "yasa-json"):
        path = tmp_path / FILE_NAMES[name]
        write_hypnogram(hyp, path, format=name, include_probabilities=False)
        assert read_hypnogram(path).probabilities is None


def test_timezone_aware_start_survives_csv_and_yasa(tmp_path: Path) -> None:
    start = dt.datetime(2023, 3, 26, 1, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    hyp = Hypnogram(np.array([0, 1, 2], np.int8), start_time=start)
    for name in ("csv", "yasa-json", "bids"):
        path = tmp_path / FILE_NAMES[name]
        write_hypnogram(hyp, path)
        assert read_hypnogram(path).start_time == start


def test_extension_picks_the_writer(tmp_path: Path) -> None:
    hyp = Hypnogram.from_labels(["W", "N2", "REM"])
    expect = {"a.csv": "csv", "a.tsv": "tsv", "a_events.tsv": "bids", "a.edf": "edf",
              "a.xml": "nsrr", "a.json": "yasa-json", "a.txt": "text"}
    for file, name in expect.items():
        write_hypnogram(hyp, tmp_path / file)
        assert detect_format(tmp_path / file) == name
        assert read_hypnogram(tmp_path / file).labels() == ["W", "N2", "REM"]


def test_text_labels_option(tmp_path: Path) -> None:
    hyp = Hypnogram.from_labels(["W", "N3", "REM", "Artifact", "Unscored"])
    write_hypnogram(hyp, tmp_path / "s.txt", labels="str")
    write_hypnogram(hyp, tmp_path / "i.txt", labels="int")
    assert (tmp_path / "s.txt").read_text().split() == ["W", "N3", "R", "Art", "Uns"]
    assert (tmp_path / "i.txt").read_text().split() == ["0", "3", "4", "-1", "-2"]
    with pytest.raises(FormatError, match="labels="):
        write_hypnogram(hyp, tmp_path / "x.txt", labels="roman")


# -- peers read what we write -------------------------------------------------------------
def test_yasa_reads_our_json_and_we_read_yasas(tmp_path: Path) -> None:
    yasa = pytest.importorskip("yasa")
    pd = pytest.importorskip("pandas")
    probs = np.random.default_rng(1).dirichlet(np.ones(5), 6).astype(np.float32)
    hyp = Hypnogram.from_labels(["W", "N1", "N2", "N3", "REM", "Artifact"], scorer="S1",
                                start_time=dt.datetime(2022, 1, 1, 23), probabilities=probs)
    write_hypnogram(hyp, tmp_path / "ours.json")
    theirs = yasa.Hypnogram.from_json(tmp_path / "ours.json")
    assert theirs.hypno.tolist() == ["WAKE", "N1", "N2", "N3", "REM", "ART"]
    assert theirs.scorer == "S1" and theirs.start == pd.Timestamp("2022-01-01 23:00")
    np.testing.assert_allclose(theirs.proba.to_numpy(), probs, atol=1e-5)

    y = yasa.Hypnogram(["W", "N2", "R", "UNS"], freq="20s", start="2021-06-01 22:00:00",
                       scorer="Rater", proba=pd.DataFrame(
                           np.full((4, 5), 0.2), columns=["WAKE", "N1", "N2", "N3", "REM"]))
    y.to_json(tmp_path / "yasa.json")
    back = read_hypnogram(tmp_path / "yasa.json")
    assert back.labels() == ["W", "N2", "REM", "Unscored"]
    assert back.epoch_sec == 20 and back.scorer == "Rater"
    assert back.start_time == dt.datetime(2021, 6, 1, 22)
    np.testing.assert_allclose(back.probabilities, 0.2)


def test_yasa_reads_our_profusion(tmp_path: Path) -> None:
    yasa = pytest.importorskip("yasa")
    hyp = Hypnogram.from_labels(["W", "N1", "N2", "N3", "REM", "N2"], epoch_sec=20)
    write_hypnogram(hyp, tmp_path / "cmp.xml", format="profusion")
    theirs = yasa.Hypnogram.from_profusion(tmp_path / "cmp.xml")
    assert theirs.hypno.tolist() == ["WAKE", "N1", "N2", "N3", "REM", "N2"]
    assert theirs.freq == "20s"


def test_mne_reads_our_edf(tmp_path: Path) -> None:
    mne = pytest.importorskip("mne")
    hyp = Hypnogram.from_labels(["W", "W", "N1", "N2", "N2", "N2", "N3", "REM", "Artifact",
                                 "Unscored"], start_time=dt.datetime(2001, 2, 3, 23, 1, 2))
    write_hypnogram(hyp, tmp_path / "n.edf")
    ann = mne.read_annotations(tmp_path / "n.edf")
    assert list(ann.description) == ["Sleep stage W", "Sleep stage 1", "Sleep stage 2",
                                     "Sleep stage 3", "Sleep stage R", "Movement time",
                                     "Sleep stage ?"]
    np.testing.assert_allclose(ann.onset, [0, 60, 90, 180, 210, 240, 270])
    np.testing.assert_allclose(ann.duration, [60, 30, 90, 30, 30, 30, 30])


# -- never a half-written file ------------------------------------------------------------
@pytest.mark.parametrize("existing", [False, True], ids=["new", "existing"])
def test_failed_write_leaves_target_untouched(tmp_path: Path, monkeypatch, existing) -> None:
    from app.core.formats import table

    target = tmp_path / "night.csv"
    if existing:
        target.write_text("stage\nW\n")
    calls = {"n": 0}
    real_row = table._row

    def failing_row(hyp, probs, i):  # fail halfway through the rows
        calls["n"] += 1
        if i == 5:
            raise RuntimeError("disk pulled out")
        return real_row(hyp, probs, i)

    monkeypatch.setattr(table, "_row", failing_row)
    with pytest.raises(RuntimeError):
        write_hypnogram(Hypnogram(np.zeros(10, np.int8)), target)
    assert calls["n"] == 6
    assert (target.read_text() == "stage\nW\n") if existing else not target.exists()
    assert [p.name for p in tmp_path.iterdir()] == (["night.csv"] if existing else [])


@pytest.mark.parametrize("existing", [False, True], ids=["new", "existing"])
def test_failed_edf_write_leaves_target_untouched(tmp_path: Path, monkeypatch, existing
                                                  ) -> None:
    import edfio

    target = tmp_path / "night.edf"
    hyp = Hypnogram.from_labels(["W", "N2", "REM"])
    if existing:
        write_hypnogram(hyp, target)
    before = target.read_bytes() if existing else None

    def half_write(self, path, *args, **kwargs):
        Path(path).write_bytes(b"0       partial header")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(edfio.Edf, "write", half_write)
    with pytest.raises(FormatError, match="No space left"):
        write_hypnogram(Hypnogram.from_labels(["N1"] * 5), target)
    assert (target.read_bytes() == before) if existing else not target.exists()
    assert len(list(tmp_path.iterdir())) == (1 if existing else 0)


def test_failed_replace_cleans_up(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "night.json"
    target.write_text("[0]")

    def no_replace(src, dst):
        raise PermissionError(13, "Permission denied", str(dst))

    monkeypatch.setattr(os, "replace", no_replace)
    with pytest.raises(FormatError, match="Permission denied"):
        write_hypnogram(Hypnogram.from_labels(["W", "N1"]), target)
    assert target.read_text() == "[0]"
    assert [p.name for p in tmp_path.iterdir()] == ["night.json"]


def test_bids_writes_sidecar_and_reads_it(tmp_path: Path) -> None:
    import json

    hyp = Hypnogram.from_labels(["W", "N2", "N2"], epoch_sec=20, scorer="tech")
    write_hypnogram(hyp, tmp_path / "sub-01_events.tsv")
    side = json.loads((tmp_path / "sub-01_events.json").read_text())
    assert side["trial_type"]["Levels"]["N2"] and side["PSGLens"]["EpochLength"] == 20
    (tmp_path / "sub-01_events.json").unlink()  # without the sidecar the runs still read
    back = read_hypnogram(tmp_path / "sub-01_events.tsv")
    assert back.labels() == ["W", "N2", "N2"] and back.epoch_sec == 20
