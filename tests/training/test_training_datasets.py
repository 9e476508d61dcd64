"""Dataset adapters, each on small files written in that dataset's exact layout.

PSGs are short synthetic nights (``app.core.synth``, 15-30 min at 100 Hz); hypnograms are
written with the app's own writers, or are real files from ../shared/data where they fit.
"""

from __future__ import annotations

import datetime as dt
import shutil
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from app.core.formats import read_hypnogram, write_hypnogram
from app.core.scoring.hypnogram import Hypnogram
from app.core.scoring.stages import Stage
from training.datasets import (
    DatasetError,
    crop_wake,
    find_studies,
    fit_to_recording,
    relabel_by_time,
)

START = dt.datetime(2024, 3, 1, 22, 30, 0)


@cache
def _study(seed: int, montage: str = "aasm", hours: float = 0.25, stages: tuple | None = None,
           start: dt.datetime = START):
    from app.core.synth import synthesize

    study = synthesize(np.asarray(stages) if stages else None,
                       hours=None if stages else hours, seed=seed, sfreq=100.0,
                       montage=montage)
    study.start_time = start
    return study


def psg(path: Path, seed: int, montage: str = "aasm", **kw) -> np.ndarray:
    """Write a synthetic PSG at ``path`` (any extension); return its true stages."""
    from app.core.synth import write_edf

    study = _study(seed, montage, **kw)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.edf")
    write_edf(study, tmp)
    tmp.replace(path)
    return study.stages.astype(np.int8)


def hyp_of(stages, epoch_sec: float = 30.0, start=START, **kw) -> Hypnogram:
    return Hypnogram(np.asarray(stages, np.int8), epoch_sec=epoch_sec, start_time=start, **kw)


def loaded(source: dict):
    refs = find_studies(source)
    return refs, [r.load() for r in refs]


# -- shared helpers -------------------------------------------------------------------
class _Rec:
    def __init__(self, n_epochs: int, start=START):
        self.n_epochs, self.start_time, self.duration_sec = n_epochs, start, n_epochs * 30.0


def test_fit_to_recording_resamples_20s_epochs_like_hypnogram_resample():
    rng = np.random.default_rng(0)
    stages = rng.integers(0, 5, 90)               # 30 min of 20-s epochs
    out = fit_to_recording(hyp_of(stages, 20.0), _Rec(60))
    expected = hyp_of(stages, 20.0).resample(10.0).resample(30.0).stages
    assert out.epoch_sec == 30.0 and out.n_epochs == 60
    np.testing.assert_array_equal(out.stages, expected)
    by_time = relabel_by_time([(i * 20.0, 20.0, int(s)) for i, s in enumerate(stages)], 60)
    np.testing.assert_array_equal(by_time.stages, expected)


def test_fit_to_recording_crops_pads_and_shifts():
    stages = np.array([0, 1, 2, 3, 4, 2, 2, 0])
    later = START + dt.timedelta(seconds=60)      # the hypnogram starts 2 epochs late
    out = fit_to_recording(hyp_of(stages, start=later), _Rec(6))
    assert out.labels() == ["Unscored", "Unscored", "W", "N1", "N2", "N3"]
    off_grid = fit_to_recording(hyp_of(stages), _Rec(8), offset_sec=7.0)
    assert off_grid.labels() == hyp_of(stages).labels()  # each epoch's 23 s outweigh 7 s


def test_fit_to_recording_says_when_dates_do_not_overlap():
    far = START - dt.timedelta(days=3000)
    with pytest.raises(DatasetError, match="offset_sec: 0"):
        fit_to_recording(hyp_of([0, 2, 2], start=far), _Rec(3))


def test_relabel_by_time_leaves_thin_coverage_unscored():
    out = relabel_by_time([(0.0, 10.0, 2), (40.0, 20.0, 4)], 3, min_fraction=0.5)
    assert out.labels() == ["Unscored", "REM", "Unscored"]  # 10 s of N2 is too little


def test_crop_wake_keeps_margin_around_sleep():
    stages = [0] * 100 + [2] * 10 + [0] * 100
    out = crop_wake(hyp_of(stages), margin_min=30)    # 60 epochs either side
    kept = np.flatnonzero(out.stages >= 0)
    assert kept[0] == 40 and kept[-1] == 169
    assert crop_wake(hyp_of(stages), None).n_epochs == 210


# -- generic ----------------------------------------------------------------------------
def test_generic_pairs_by_name_in_every_format(tmp_path):
    root = tmp_path / "lab"
    truth = {}
    truth["P1_night01"] = psg(root / "P1_night01.edf", 1)
    write_hypnogram(hyp_of(truth["P1_night01"]), root / "p1_NIGHT01.csv")
    truth["P1_night02"] = psg(root / "P1_night02-PSG.edf", 2)
    write_hypnogram(hyp_of(truth["P1_night02"]), root / "P1_night02_hypnogram.edf")
    truth["P2_night01"] = psg(root / "site-b" / "P2_night01.edf", 3)
    write_hypnogram(hyp_of(truth["P2_night01"]), root / "site-b" / "P2_night01.xml")
    psg(root / "lonely.edf", 4)
    with pytest.warns(UserWarning, match="lonely.edf"):
        refs, out = loaded({"type": "generic", "root": str(root),
                            "subject_pattern": r"^(P\d+)_"})
    assert sorted(r.params["study"] for r in refs) == sorted(truth)
    assert sorted(r.subject_id for r in refs) == ["P1", "P1", "P2"]  # a patient's nights
    for rec, hyp, extra in out:
        assert hyp.n_epochs == rec.n_epochs and hyp.epoch_sec == 30.0
        np.testing.assert_array_equal(hyp.stages, truth[extra["study"]][: rec.n_epochs])


def test_generic_manifest_with_subjects_and_relative_paths(tmp_path):
    stages = psg(tmp_path / "raw" / "a.edf", 5)
    (tmp_path / "scores").mkdir()
    write_hypnogram(hyp_of(stages), tmp_path / "scores" / "x.txt", labels="str")
    (tmp_path / "pairs.csv").write_text("psg,hypnogram,subject\nraw/a.edf,scores/x.txt,P01\n")
    refs, [(rec, hyp, _)] = loaded({"type": "generic", "manifest": str(tmp_path / "pairs.csv")})
    assert refs[0].subject_id == "P01"
    np.testing.assert_array_equal(hyp.stages, stages)
    (tmp_path / "bad.csv").write_text("psg,hypnogram\nraw/missing.edf,scores/x.txt\n")
    with pytest.raises(DatasetError, match="line 2"):
        find_studies({"type": "generic", "manifest": str(tmp_path / "bad.csv")})


def test_generic_input_errors_are_sentences(tmp_path):
    with pytest.raises(DatasetError, match="either 'root'"):
        find_studies({"type": "generic", "root": "a", "manifest": "b"})
    with pytest.raises(DatasetError, match="unknown option"):
        find_studies({"type": "generic", "root": str(tmp_path), "recursiv": False})
    with pytest.raises(DatasetError, match="does not exist"):
        find_studies({"type": "generic", "root": str(tmp_path / "nope")})
    stages = psg(tmp_path / "n.edf", 6)
    write_hypnogram(hyp_of(stages), tmp_path / "n.csv")
    write_hypnogram(hyp_of(stages), tmp_path / "n.tsv")
    with pytest.raises(DatasetError, match="several hypnograms"):
        find_studies({"type": "generic", "root": str(tmp_path)})


# -- Sleep-EDF --------------------------------------------------------------------------
def _sleep_edf_hypnogram(stages, path: Path, lead_wake: int = 0, tail: int = 40):
    """Sleep-EDF style: wake before, the night, then a long 'Sleep stage ?' tail."""
    full = np.concatenate([np.zeros(lead_wake), stages, np.full(tail, -1)]).astype(np.int8)
    write_hypnogram(hyp_of(full), path, labels="sleep-edf")


def test_sleep_edf_layout_subjects_nights_and_wake_crop(tmp_path):
    root = tmp_path / "sleep-edf"
    sc = root / "sleep-cassette"
    # a 'day' of 80 wake epochs then a short night: wake beyond 30 min (60 epochs) is cropped
    night = np.array([0, 1, 2, 2, 3, 3, 2, 4, 4, 2, 1, 0] * 2)
    day = tuple(int(s) for s in np.concatenate([np.zeros(80, int), night, np.zeros(70, int)]))
    truth = psg(sc / "SC4001E0-PSG.edf", 10, "sleep-edf", stages=day)
    _sleep_edf_hypnogram(truth, sc / "SC4001EC-Hypnogram.edf")
    psg(sc / "SC4002E0-PSG.edf", 11, "sleep-edf")
    _sleep_edf_hypnogram(_study(11, "sleep-edf").stages, sc / "SC4002EC-Hypnogram.edf")
    psg(sc / "SC4011E0-PSG.edf", 12, "sleep-edf")
    _sleep_edf_hypnogram(_study(12, "sleep-edf").stages, sc / "SC4011EH-Hypnogram.edf")
    st = root / "sleep-telemetry"
    psg(st / "ST7011J0-PSG.edf", 13, "sleep-edf")
    _sleep_edf_hypnogram(_study(13, "sleep-edf").stages, st / "ST7011JP-Hypnogram.edf")
    refs, out = loaded({"type": "sleep-edf", "root": str(root)})
    subjects = {r.params["study"]: r.subject_id for r in refs}
    assert subjects == {"SC4001": "sleep-edf-SC00", "SC4002": "sleep-edf-SC00",
                        "SC4011": "sleep-edf-SC01", "ST7011": "sleep-edf-ST01"}
    rec, hyp, _ = out[[r.params["study"] for r in refs].index("SC4001")]
    assert hyp.n_epochs == rec.n_epochs == len(truth)  # the '?' tail is cropped away
    first, last = 81, 80 + len(night) - 2              # first/last sleep epoch
    expected = truth.copy()
    expected[: first - 60] = -1
    expected[last + 61:] = -1
    np.testing.assert_array_equal(hyp.stages, expected)
    only_sc = find_studies({"type": "sleep-edf", "root": str(root), "subsets": ["SC"],
                            "wake_margin_min": None})
    assert len(only_sc) == 3 and only_sc[0].params["wake_margin_min"] is None


def test_sleep_edf_missing_hypnogram_is_reported(tmp_path):
    psg(tmp_path / "SC4001E0-PSG.edf", 1, "sleep-edf")
    with pytest.raises(DatasetError, match="no \\*-Hypnogram.edf"):
        find_studies({"type": "sleep-edf", "root": str(tmp_path)})


def test_sleep_edf_real_hypnogram_beside_a_synthetic_psg(tmp_path, shared_data):
    """A real telemetry hypnogram with a synthetic PSG from its start, 30 min long."""
    src = shared_data / "hypnograms" / "sleep-edf-hypnogram-edf"
    files = sorted(src.glob("ST*-Hypnogram.edf"))
    if not files:
        pytest.skip(f"no Sleep-EDF telemetry hypnograms in {src}")
    real = read_hypnogram(files[0], unknown="unscored")
    root = tmp_path / "sleep-edf" / "sleep-telemetry"
    stages = tuple(int(s) if s >= 0 else 0 for s in real.stages[:60])
    name = files[0].name[:7] + "0-PSG.edf"
    psg(root / name, 20, "sleep-edf", stages=stages, start=real.start_time)
    shutil.copy(files[0], root / files[0].name)
    [ref] = find_studies({"type": "sleep-edf", "root": str(tmp_path / "sleep-edf")})
    rec, hyp, _ = ref.load()
    assert ref.subject_id == f"sleep-edf-ST{files[0].name[3:5]}"
    expected = crop_wake(hyp_of(real.stages[:60]), 30).stages
    np.testing.assert_array_equal(hyp.stages, expected)


def test_sleep_edf_real_psg_excerpt_and_its_hypnogram(tmp_path, shared_data):
    """The real SC4001E0 first 5 min with its real 24-h hypnogram: aligned and cropped."""
    src = shared_data / "psg" / "sleep-edf-SC4001E0-first5min"
    if not (src / "short_psg.edf").is_file():
        pytest.skip(f"{src} has no short_psg.edf")
    root = tmp_path / "sleep-cassette"
    root.mkdir()
    shutil.copy(src / "short_psg.edf", root / "SC4001E0-PSG.edf")
    shutil.copy(src / "SC4001EC-Hypnogram.edf", root / "SC4001EC-Hypnogram.edf")
    [ref] = find_studies({"type": "sleep-edf", "root": str(tmp_path)})
    rec, hyp, _ = ref.load()
    assert ref.subject_id == "sleep-edf-SC00"
    assert rec.n_epochs == hyp.n_epochs == 10 and hyp.labels() == ["W"] * 10


# -- ISRUC ------------------------------------------------------------------------------
def _isruc_codes(stages) -> list[int]:
    return [5 if s == 4 else int(s) for s in stages]


def _isruc_subject(folder: Path, seed: int, scorer2_changes: int = 3) -> np.ndarray:
    n = folder.name
    truth = psg(folder / f"{n}.rec", seed)
    codes = _isruc_codes(truth) + [0] * 30        # ISRUC files run past the recording
    (folder / f"{n}_1.txt").write_text("\n".join(map(str, codes)) + "\n\n")
    other = list(codes)
    for i in range(scorer2_changes):
        other[i] = 2 if other[i] != 2 else 3
    (folder / f"{n}_2.txt").write_text("\n".join(map(str, other)) + "\n")
    return truth


def test_isruc_layout_scorers_and_consensus(tmp_path):
    root = tmp_path / "isruc" / "subgroup1"
    truth = {n: _isruc_subject(root / n, 30 + int(n)) for n in ("1", "2")}
    refs, out = loaded({"type": "isruc", "root": str(tmp_path / "isruc")})
    assert [r.subject_id for r in refs] == ["isruc-subgroup1-1", "isruc-subgroup1-2"]
    for ref, (rec, hyp, _) in zip(refs, out, strict=True):
        assert rec.path.suffix == ".rec" and hyp.n_epochs == rec.n_epochs
        np.testing.assert_array_equal(hyp.stages, truth[ref.params["study"][-1]])
    hyp2 = loaded({"type": "isruc", "root": str(root), "scorer": 2})[1][0][1]
    assert not np.array_equal(hyp2.stages[:3], truth["1"][:3])
    _, [(_, cons, _), _] = loaded({"type": "isruc", "root": str(root), "scorer": "consensus"})
    assert (cons.stages[:3] == Stage.UNSCORED).all()
    np.testing.assert_array_equal(cons.stages[3:], truth["1"][3:])


def test_isruc_input_errors(tmp_path):
    _isruc_subject(tmp_path / "7", 37)
    (tmp_path / "7" / "7_2.txt").unlink()
    with pytest.raises(DatasetError, match="scorer consensus"):
        find_studies({"type": "isruc", "root": str(tmp_path), "scorer": "consensus"})
    with pytest.raises(DatasetError, match="must be 1, 2"):
        find_studies({"type": "isruc", "root": str(tmp_path), "scorer": 3})


# -- MASS -------------------------------------------------------------------------------
def _base_edf(path: Path, events, start=START, extra=()):
    import edfio

    text = {0: "Sleep stage W", 1: "Sleep stage 1", 2: "Sleep stage 2", 3: "Sleep stage 3",
            4: "Sleep stage R", -1: "Sleep stage ?"}
    anns = [edfio.EdfAnnotation(o, d, text[int(s)]) for o, d, s in events]
    anns += [edfio.EdfAnnotation(o, d, t) for o, d, t in extra]
    edf = edfio.Edf([], annotations=sorted(anns, key=lambda a: a.onset),
                    starttime=start.time(), recording=edfio.Recording(startdate=start.date()))
    edf.write(path)


def test_mass_layout_30s_off_grid_and_20s_epochs(tmp_path):
    root = tmp_path / "mass"
    truth3 = psg(root / "SS3" / "01-03-0001 PSG.edf", 40)
    # SS3-style: 30-s epochs whose grid starts 7 s into the recording
    _base_edf(root / "SS3" / "01-03-0001 Base.edf",
              [(7.0 + 30 * i, 30.0, s) for i, s in enumerate(truth3[:-1])],
              extra=[(100.0, 3.0, "EEG arousal")])
    truth1 = psg(root / "SS1" / "01-01-0001 PSG.edf", 41)
    fine = np.repeat(truth1, 3)                    # 10-s pieces of the true 30-s stages
    twenty = fine[::2]                             # SS1-style 20-s epochs
    _base_edf(root / "SS1" / "01-01-0001 Base.edf",
              [(20.0 * i, 20.0, s) for i, s in enumerate(twenty)])
    refs, out = loaded({"type": "mass", "root": str(root)})
    by = {r.subject_id: o for r, o in zip(refs, out, strict=True)}
    assert set(by) == {"mass-01-01-0001", "mass-01-03-0001"}
    _, hyp3, extra3 = by["mass-01-03-0001"]
    np.testing.assert_array_equal(hyp3.stages[: len(truth3) - 1], truth3[:-1])
    assert extra3["annotation_epoch_sec"] == [30.0]
    _, hyp1, extra1 = by["mass-01-01-0001"]
    expected = hyp_of(twenty, 20.0).resample(10.0).resample(30.0).stages
    np.testing.assert_array_equal(hyp1.stages[: len(expected)], expected)
    assert extra1["annotation_epoch_sec"] == [20.0]
    assert len(find_studies({"type": "mass", "root": str(root), "subsets": ["SS1"]})) == 1


def test_mass_missing_base_file(tmp_path):
    psg(tmp_path / "SS2" / "01-02-0001 PSG.edf", 42)
    with pytest.raises(DatasetError, match="Base.edf"):
        find_studies({"type": "mass", "root": str(tmp_path)})


# -- SHHS / NSRR ------------------------------------------------------------------------
def test_shhs_nsrr_layout_visits_share_a_subject(tmp_path):
    root = tmp_path / "shhs" / "polysomnography"
    truth = {}
    for i, stem in enumerate(("shhs1-200001", "shhs1-200002", "shhs2-200001")):
        visit = stem.split("-")[0]
        truth[stem] = psg(root / "edfs" / visit / f"{stem}.edf", 50 + i)
        xml = root / "annotations-events-nsrr" / visit / f"{stem}-nsrr.xml"
        xml.parent.mkdir(parents=True, exist_ok=True)
        # NSRR de-identifies dates: a start far from the EDF's must not matter
        write_hypnogram(hyp_of(truth[stem], start=dt.datetime(1985, 1, 1, 21, 0)), xml)
    refs, out = loaded({"type": "shhs", "root": str(root)})
    assert [r.subject_id for r in refs] == ["shhs-200001", "shhs-200002", "shhs-200001"]
    for ref, (rec, hyp, _) in zip(refs, out, strict=True):
        np.testing.assert_array_equal(hyp.stages, truth[ref.params["study"]][: rec.n_epochs])
    assert len(find_studies({"type": "nsrr", "root": str(root), "cohort": "shhs",
                             "visits": ["shhs2"]})) == 1
    (root / "annotations-events-nsrr" / "shhs1" / "shhs1-200002-nsrr.xml").unlink()
    with pytest.raises(DatasetError, match="have no annotations-events-nsrr XML"):
        find_studies({"type": "shhs", "root": str(root)})


# -- app sessions -----------------------------------------------------------------------
def _session(study: Path, n_epochs: int):
    from app.core.scoring.session import ScoringSession

    return ScoringSession.open(study, n_epochs=n_epochs, who="tech-01")


def test_sessions_only_technician_epochs_are_labels(tmp_path):
    root = tmp_path / "studies"
    truth = psg(root / "P01_night1.edf", 60)
    n = truth.size
    with _session(root / "P01_night1.edf", n) as s:
        s.add_model_run("tiny/0.1", "{}", probabilities=np.full((n, 5), 0.2, np.float32))
        s.set_stages(range(0, 5), truth[:5], kind="accept")       # confirmed
        s.set_stage(10, Stage.N3)                                  # corrected
        s.set_stage(11, Stage.N1)
        s.undo()                                                   # ... and taken back
        s.set_stages([20, 21], [2, 2], kind="import")              # imported, not reviewed
    psg(root / "P02_night1.edf", 61)
    with _session(root / "P02_night1.edf", n):
        pass                                                       # opened, never scored
    with pytest.warns(UserWarning, match="P02_night1.edf.psglens"):
        refs, [(rec, hyp, extra)] = loaded({"type": "sessions", "root": str(root),
                                            "subject_pattern": r"^(P\d+)_"})
    assert refs[0].subject_id == "P01" and extra["n_labelled"] == 6
    expected = np.full(n, -1, np.int8)
    expected[:5], expected[10] = truth[:5], Stage.N3
    np.testing.assert_array_equal(hyp.stages, expected)
    with pytest.warns(UserWarning):
        _, [(_, with_imported, _)] = loaded({"type": "sessions", "root": str(root),
                                             "include_imported": True})
    assert with_imported.labels()[20:22] == ["N2", "N2"]


def test_sessions_read_while_the_app_holds_the_session(tmp_path):
    study = tmp_path / "night.edf"
    truth = psg(study, 62)
    with _session(study, truth.size) as s:
        s.set_stages(range(truth.size), truth, kind="accept")
        refs, [(rec, hyp, _)] = loaded({"type": "sessions",
                                        "paths": [str(s.path)]})
        assert s.can_undo()                     # the app's session is untouched and usable
    assert refs[0].subject_id == "night"
    np.testing.assert_array_equal(hyp.stages, truth)


def test_sessions_refuse_a_changed_study(tmp_path):
    study = tmp_path / "night.edf"
    truth = psg(study, 63)
    with _session(study, truth.size) as s:
        s.set_stage(0, Stage.W)
    psg(study, 63, start=START + dt.timedelta(hours=1))  # re-exported: another header
    with pytest.raises(DatasetError, match="accept_changed"):
        find_studies({"type": "sessions", "root": str(tmp_path)})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(find_studies({"type": "sessions", "root": str(tmp_path),
                                 "accept_changed": True})) == 1


# -- through the image cache ------------------------------------------------------------
def test_generic_source_builds_an_image_cache(tmp_path):
    from training.cache import CacheArgs, build_cache, read_index

    root = tmp_path / "lab"
    truths = {}
    for i in range(3):
        truths[f"n{i}"] = psg(root / f"n{i}.edf", 70 + i)
        write_hypnogram(hyp_of(truths[f"n{i}"]), root / f"n{i}.csv")
    args = CacheArgs(output_dir=str(tmp_path / "cache"),
                     sources=[{"type": "generic", "root": str(root)}],
                     spec={"preset": "clinical", "width": 64, "height": 64},
                     epochs_per_subject=6, workers=1)
    manifest = build_cache(args)
    rows = read_index(args.output_dir)
    assert manifest["n_images"] == len(rows) == 18
    assert {r["subject"] for r in rows} == set(truths)
    for r in rows:
        assert r["label"] == Stage(int(truths[r["subject"]][int(r["epoch"])])).label


def test_two_nights_of_one_subject_both_reach_the_cache(tmp_path):
    from training.cache import CacheArgs, build_cache, read_index

    sc = tmp_path / "sleep-cassette"
    for night, seed in (("1", 80), ("2", 81)):
        psg(sc / f"SC400{night}E0-PSG.edf", seed, "sleep-edf")
        _sleep_edf_hypnogram(_study(seed, "sleep-edf").stages, sc / f"SC400{night}EC-Hypnogram.edf")
    args = CacheArgs(output_dir=str(tmp_path / "cache"),
                     sources=[{"type": "sleep-edf", "root": str(tmp_path),
                               "wake_margin_min": None}],
                     spec={"preset": "clinical", "width": 64, "height": 64},
                     epochs_per_subject=None, workers=1)
    build_cache(args)
    rows = read_index(args.output_dir)
    assert len({r["path"] for r in rows}) == len(rows) == 2 * 30
