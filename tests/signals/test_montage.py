"""Montages: rows as derivations of the study's channels, edits that return new montages,
re-referencing, per-row filters and the notch, rows read lazily through get_window, kept
per study (session) and per user (montages.json), bad input as one sentence that changes
nothing, and the comparison with a model's render spec."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from app.core.scoring.stages import Stage
from app.core.signals.montage import Montage, MontageError, MontageRow
from app.core.signals.montage_library import (
    delete_named_montage,
    load_named_montages,
    save_named_montage,
)
from app.core.signals.montage_reading import default_montage, new_row, read_montage, read_row
from app.core.signals.montage_reference import rereference
from app.core.signals.montage_spec import spec_differences
from app.core.signals.recording import Recording
from app.core.signals.render import filter_signal
from app.core.signals.render_spec import RenderSpec, RowSpec
from app.core.workspace import Workspace

SF = 256.0
SECONDS = 120
NAMES = ["EEG F3", "EEG C3", "EEG C4", "EEG O1", "EEG Cz", "A1", "A2", "EOG E1", "EOG E2",
         "EEG C4-A1", "EMG Chin"]


def _signals(seconds: int = SECONDS) -> list[tuple[str, np.ndarray, float, str]]:
    rng = np.random.default_rng(7)
    n = int(seconds * SF)
    out = [(name, rng.normal(0, 10 + i, n), SF, "uV") for i, name in enumerate(NAMES)]
    out.append(("EEG Pz", rng.normal(0, 10, seconds * 100), 100.0, "uV"))  # another rate
    return out


@pytest.fixture(scope="module")
def rec() -> Recording:
    return Recording.from_signals(_signals())


def _data(rec: Recording, name: str, t0: float, t1: float) -> np.ndarray:
    return rec.get_window(t0, t1, [name])[name].data


def one_sentence(err: pytest.ExceptionInfo) -> str:
    msg = str(err.value)
    assert "\n" not in msg and msg.endswith("."), msg
    assert not re.search(r"[.;]\s+[A-Z][a-z]+ [a-z]", msg.replace("e.g.", "")), msg
    return msg


# -- the model and its edits -------------------------------------------------------------
def test_rows_are_named_by_their_derivation_and_edits_return_new_montages():
    m = Montage((MontageRow("EEG C3", ("A2",)), MontageRow("EEG C4", ("A1", "A2")),
                 MontageRow("EOG E1"), MontageRow("EEG O1", ("EEG F3", "EEG C3", "EEG C4",
                                                             "EEG O1"))))
    assert m.labels() == ["C3-M2", "C4-(M1+M2)/2", "EOG E1", "O1-AVG"]
    assert [r.role for r in m.rows] == ["EEG", "EEG", "EOG", "EEG"]
    edited = (m.moved("EOG E1", 0).shown("C3-M2", False)
              .with_filters(1, highpass_hz=0.5, lowpass_hz=30.0).with_notch(60)
              .added(MontageRow("EEG Cz", ("A1",)), at=1).removed("O1-AVG"))
    assert edited.labels() == ["EOG E1", "Cz-M1", "C3-M2", "C4-(M1+M2)/2"]
    assert edited.labels(visible_only=True) == ["EOG E1", "Cz-M1", "C4-(M1+M2)/2"]
    assert (edited.row("C3-M2").highpass_hz, edited.row("C3-M2").lowpass_hz) == (0.5, 30.0)
    assert edited.notch_hz == 60.0
    assert m.labels() == ["C3-M2", "C4-(M1+M2)/2", "EOG E1", "O1-AVG"]  # untouched
    assert m.notch_hz is None and m.row("C3-M2").visible
    # a filter left out is kept; None switches it off
    assert edited.with_filters("C3-M2", lowpass_hz=None).row("C3-M2").highpass_hz == 0.5
    assert edited.with_filters("C3-M2", lowpass_hz=None).row("C3-M2").lowpass_hz is None
    assert Montage.from_dict(json.loads(json.dumps(edited.to_dict()))) == edited


@pytest.mark.parametrize("make, words", [
    (lambda: MontageRow("EEG C3", ("EEG C3",)), "subtracts EEG C3 from itself"),
    (lambda: MontageRow("C3", ("M1", "M1")), "lists M1 more than once"),
    (lambda: MontageRow("C3", ("M2",), highpass_hz=40.0, lowpass_hz=35.0),
     "high-pass (40 Hz) is not below its low-pass (35 Hz)"),
    (lambda: MontageRow("C3", highpass_hz=-1.0), "must be a frequency in Hz above 0"),
    (lambda: MontageRow("C3", lowpass_hz=float("nan")), "must be a frequency in Hz above 0"),
    (lambda: Montage((MontageRow("C3"),), notch_hz=55), "55 Hz removes no mains hum"),
    (lambda: Montage((MontageRow("C3"),), notch_hz=True), "removes no mains hum"),
    (lambda: Montage((MontageRow("C3", ("M2",)), MontageRow("EEG C3", ("A2",)))),
     "already has a row named C3-M2"),
    (lambda: Montage((MontageRow("C3"),)).moved(4, 0), "has 1 rows; there is no row 4"),
    (lambda: Montage((MontageRow("C3"),)).shown("O2-M1"), "has no row O2-M1"),
    (lambda: Montage.from_dict({"version": 9, "rows": []}), "saved by a newer PSG Lens"),
    (lambda: Montage.from_dict({"rows": [{"plus": "C3", "colour": 1}]}), "unknown field"),
])
def test_bad_montages_are_one_sentence(make, words):
    with pytest.raises(MontageError) as err:
        make()
    assert words in one_sentence(err)


def test_the_notch_takes_50_or_60_hz():
    assert Montage((), 50).notch_hz == 50.0 and Montage((), 60.0).notch_hz == 60.0
    assert Montage((), None).notch_hz is None


# -- one study ----------------------------------------------------------------------------
def test_a_montage_fits_a_study_by_exact_or_canonical_channel_names(rec):
    m = Montage((MontageRow("C3", ("M2",)), MontageRow("EEG C4", ("A1",))))
    fitted = m.for_study(rec)
    assert [r.channels for r in fitted.rows] == [("EEG C3", "A2"), ("EEG C4", "A1")]
    assert fitted.labels() == m.labels()  # the names on screen do not change


@pytest.mark.parametrize("row, words", [
    (MontageRow("EEG C3", ("M3",)), "C3-M3: the study has no channel M3; it has EEG F3, "
                                     "EEG C3, EEG C4, EEG O1, EEG Cz, A1, A2, EOG E1, EOG E2, "
                                     "EEG C4-A1, EMG Chin, EEG Pz."),
    (MontageRow("C3", ("EEG C3",)), "subtracts EEG C3 from itself (the study has one channel"),
    (MontageRow("EEG Pz", ("A1",)), "EEG Pz is sampled at 100 Hz and A1 at 256 Hz"),
    (MontageRow("EEG Pz", highpass_hz=60.0), "high-pass (60 Hz) is at or above 50 Hz"),
])
def test_a_montage_the_study_cannot_show_is_one_sentence(rec, row, words):
    with pytest.raises(MontageError) as err:
        Montage((row,)).for_study(rec)
    assert words in one_sentence(err)


def test_the_default_montage_is_the_aasm_slots_then_every_other_channel(rec):
    m = default_montage(rec, rec.fill_slots(["frontal", "central", "occipital", "e1", "e2",
                                             "chin", "ecg"]))
    assert m.labels()[:6] == ["F3-M2", "C4-M1", "O1-M2", "E1-M2", "E2-M2", "Chin"]
    assert m.row("C4-M1").channels == ("EEG C4-A1",)  # the recorded derivation first
    # a channel a derivation uses as its reference is not shown again alone (A2 here)
    assert set(m.labels()[6:]) == {"EEG C3", "EEG Cz", "EEG Pz", "A1", "EEG C4"}
    assert (m.row("C4-M1").highpass_hz, m.row("C4-M1").lowpass_hz) == (0.3, 35.0)
    assert (m.row("Chin").highpass_hz, m.row("Chin").lowpass_hz) == (10.0, 100.0)
    assert m.row("C4-M1").slot == "central" and m.row("EEG Cz").slot is None
    assert m.for_study(rec) == m


def test_an_emg_envelope_gets_no_filter_it_cannot_hold():
    rec = Recording.from_signals([("EEG Fpz-Cz", np.zeros(3000), 100.0, "uV"),
                                  ("EMG submental", np.zeros(30), 1.0, "uV")])
    row = new_row(rec, "EMG submental")
    assert (row.role, row.highpass_hz, row.lowpass_hz) == ("EMG", None, None)
    # a 200-Hz chin: 100 Hz lies above 0.9 x Nyquist, where the renderer applies no edge
    rec = Recording.from_signals([("EEG C3", np.zeros(6000), 200.0, "uV"),
                                  ("EMG Chin", np.zeros(6000), 200.0, "uV")])
    assert new_row(rec, "EMG Chin").lowpass_hz is None


# -- reading ------------------------------------------------------------------------------
def test_a_row_reads_its_derivation_unfiltered_exactly(rec):
    t0, t1 = 10.0, 40.0
    c3, a1, a2 = (_data(rec, n, t0, t1) for n in ("EEG C3", "A1", "A2"))
    eeg = [_data(rec, n, t0, t1) for n in ("EEG F3", "EEG C3", "EEG C4", "EEG O1")]
    m = Montage((MontageRow("C3", ("M2",)), MontageRow("C3", ("M1", "M2")),
                 MontageRow("EEG C3"), MontageRow("EEG C3", ("EEG F3", "EEG C3", "EEG C4",
                                                             "EEG O1")))).for_study(rec)
    got = read_montage(rec, m, t0, t1, filtered=False)
    assert [s.row.label for s in got] == m.labels()
    assert all(s.data.dtype == np.float32 and s.data.size == 30 * 256 for s in got)
    np.testing.assert_allclose(got[0].data, c3 - a2, rtol=1e-6)
    np.testing.assert_allclose(got[1].data, c3 - (a1 + a2) / 2, rtol=1e-5)
    np.testing.assert_allclose(got[2].data, c3, rtol=1e-6)
    np.testing.assert_allclose(got[3].data, c3 - np.mean(eeg, axis=0), rtol=1e-5, atol=1e-4)
    assert (got[0].t0, got[0].sfreq, got[0].unit) == (t0, SF, "uV")


def test_a_filtered_row_is_the_renderers_filter_on_a_padded_window(rec):
    row = MontageRow("EEG C3", ("A2",), highpass_hz=0.5, lowpass_hz=30.0)
    got = read_row(rec, row, 30.0, 60.0, notch_hz=50.0)
    padded = _data(rec, "EEG C3", 25.0, 65.0) - _data(rec, "A2", 25.0, 65.0)
    want = filter_signal(padded, SF, 0.5, 30.0, 50.0)[5 * 256: 35 * 256]
    np.testing.assert_array_equal(got.data, want)


def test_the_notch_removes_mains_hum():
    t = np.arange(60 * 256) / SF
    rec = Recording.from_signals([("C3", 20 * np.sin(2 * np.pi * 50 * t)
                                   + 20 * np.sin(2 * np.pi * 6 * t), SF, "uV")])
    row = MontageRow("C3")

    def power(x: np.ndarray, hz: float) -> float:
        spec = np.abs(np.fft.rfft(x)) ** 2
        return float(spec[int(round(hz * x.size / SF))])

    plain = read_row(rec, row, 20.0, 40.0).data
    notched = read_row(rec, row, 20.0, 40.0, notch_hz=50.0).data
    assert power(notched, 50) < power(plain, 50) / 1000  # more than 30 dB down
    assert power(notched, 6) > 0.9 * power(plain, 6)     # the EEG stays


def test_rows_are_read_lazily_window_by_window_and_hidden_rows_not_at_all(rec, monkeypatch):
    m = Montage((MontageRow("EEG C3", ("A2",)), MontageRow("EEG O1", visible=False),
                 MontageRow("EEG C4", ("A1", "A2"))))
    asked = []
    real = rec.get_window

    def spy(t0, t1, channels=None):
        asked.append((t0, t1, [getattr(c, "plus", c) for c in channels]))
        return real(t0, t1, channels)

    monkeypatch.setattr(rec, "get_window", spy)
    from app.core.signals.montage_reading import iter_montage

    rows = iter_montage(rec, m, 0.0, 30.0, filtered=False)
    assert asked == []  # nothing read until a row is asked for
    next(rows)
    assert asked == [(0.0, 30.0, ["EEG C3"])]
    list(rows)
    assert asked[1] == (0.0, 30.0, ["EEG C4", "A1", "A2"]) and len(asked) == 2


# -- re-referencing -----------------------------------------------------------------------
def test_contralateral_linked_and_average_references():
    rec = Recording.from_signals([(n, np.zeros(3000), 100.0, "uV") for n in
                                  ("EEG C3", "EEG C4", "EEG Cz", "EEG O1", "M1", "EEG A2",
                                   "E1", "E2", "EEG F4-M1", "Chin1")])
    m = Montage(tuple(new_row(rec, n) for n in ("EEG C3", "EEG C4", "EEG Cz", "EEG O1", "E1",
                                                  "E2", "EEG F4-M1", "Chin1")))
    contra, notes = rereference(m, rec, "contralateral")
    assert contra.labels() == ["C3-M2", "C4-M1", "Cz-M1", "O1-M2", "E1-M2", "E2-M2",
                               "EEG F4-M1", "Chin1"]
    assert contra.row("C3-M2").channels == ("EEG C3", "EEG A2")
    assert contra.row("C3-M2").highpass_hz == 0.3  # filters kept
    assert notes == ["EEG F4-M1 is recorded as a derivation in the study; it keeps its "
                     "reference."]
    linked, _ = rereference(m, rec, "linked", rows=["EEG C3"])
    assert linked.labels()[:2] == ["C3-(M1+M2)/2", "EEG C4"]
    assert linked.row(0).reference == ("M1", "EEG A2")
    avg, notes = rereference(m, rec, "average")
    assert avg.row(0).label == "C3-AVG"
    assert avg.row(0).reference == ("EEG C3", "EEG C4", "EEG Cz", "EEG O1")
    assert avg.row("E1").reference == () and any("E1 is an EOG row" in n for n in notes)
    # re-referenced twice: the second scheme replaces the first
    assert rereference(contra, rec, "linked")[0].row(0).label == "C3-(M1+M2)/2"


def test_two_rows_that_become_one_derivation_are_shown_once():
    rec = Recording.from_signals([(n, np.zeros(3000), 100.0, "uV") for n in
                                  ("C3", "M1", "M2")])
    m = Montage((MontageRow("C3", ("M1",)), MontageRow("C3", ("M2",))))
    out, notes = rereference(m, rec, "contralateral")
    assert out.labels() == ["C3-M2"] and "C3-M2 is shown once" in notes[0]


@pytest.mark.parametrize("names, scheme, words", [
    (("C3", "M1"), "contralateral", "The contralateral reference of C3 needs a M2 mastoid "
                                    "channel (M2 or A2), which the study does not record"),
    (("C3", "A1"), "linked", "needs both mastoids (M1 and M2; no M2 is recorded)"),
    (("C3", "C4", "A1"), "average", "at least 3 EEG electrodes recorded against the "
                                    "amplifier's reference at 100 Hz; this study has 2 (C3, C4)"),
    (("C3",), "bipolar", "There is no 'bipolar' reference"),
])
def test_a_reference_the_study_cannot_give_is_one_sentence(names, scheme, words):
    rec = Recording.from_signals([(n, np.zeros(3000), 100.0, "uV") for n in names])
    with pytest.raises(MontageError) as err:
        rereference(Montage((MontageRow("C3"),)), rec, scheme)
    assert words in one_sentence(err)


# -- the model's picture ------------------------------------------------------------------
def test_differences_from_the_models_render_spec_in_words(rec):
    spec = RenderSpec(rows=(RowSpec.for_slot("central"), RowSpec.for_slot("e1")),
                      notch_hz=50.0)
    same = Montage((MontageRow("EEG C4-A1", highpass_hz=0.3, lowpass_hz=35.0),
                    MontageRow("EOG E1", ("A2",), role="EOG", highpass_hz=0.3,
                               lowpass_hz=35.0)), notch_hz=50)
    assert spec_differences(same, spec, rec) == []
    # the same electrodes named the other way: C4 minus A1 is the file's C4-A1
    assert spec_differences(same.replaced(0, MontageRow("EEG C4", ("A1",), highpass_hz=0.3,
                                                        lowpass_hz=35.0)), spec, rec) == []
    other = same.replaced(0, MontageRow("EEG C4", ("EEG Cz",), highpass_hz=0.3,
                                        lowpass_hz=35.0))
    assert spec_differences(other, spec, rec) == [
        "The model was trained on C4-M1; the screen shows C4-Cz."]
    assert spec_differences(same.shown(1, False), spec, rec) == [
        "The model reads E1-M2; the screen hides it."]
    assert spec_differences(same.removed(1), spec, rec) == [
        "The model reads E1-M2; the screen does not show it."]
    assert spec_differences(same.with_filters(0, highpass_hz=0.5, lowpass_hz=30.0).with_notch(
        None), spec, rec) == [
        "C4-M1: the model's picture is filtered 0.3-35 Hz; the screen filtered 0.5-30 Hz.",
        "The model's picture has a 50-Hz notch; the screen has none."]


def test_a_substitute_says_what_the_model_reads_in_the_slot():
    rec = Recording.from_signals([(n, np.zeros(7680), 256.0, "uV") for n in
                                  ("C3", "M2", "Cz")])
    spec = RenderSpec(rows=(RowSpec.for_slot("central"),))
    screen = Montage((MontageRow("C3", ("Cz",), highpass_hz=0.3, lowpass_hz=35.0),))
    assert spec_differences(screen, spec, rec) == [
        "The model was trained on C4-M1 (here C3-M2); the screen shows C3-Cz."]


# -- kept per study and per user ----------------------------------------------------------
@pytest.fixture
def ws(tmp_path):
    from conftest import write_edf

    rng = np.random.default_rng(3)
    chans = {n: (rng.normal(0, 20, 240 * 256), 256.0) for n in
             ("EEG C3", "EEG C4", "EEG O1", "A1", "A2", "EOG E1", "EMG Chin")}
    w = Workspace.open(write_edf(tmp_path / "night.edf", chans), who="tech-01")
    yield w
    if not w.session.closed:
        w.close()


def test_the_studys_montage_is_kept_in_its_session_and_touches_no_stage(ws):
    ws.score(Stage.N2, 3)
    before, events = ws.technician.stages.copy(), ws.scored_events
    seen = []
    ws.events.montage.connect(lambda ev: seen.append(ev.montage.labels()))
    assert not ws.has_own_montage and ws.montage == ws.default_montage()
    notes = ws.rereference("contralateral")
    kept = ws.set_montage(ws.montage.with_notch(50).shown("Chin", False))
    assert notes == [] and kept.labels() == ["C4-M1", "O1-M2", "E1-M2", "Chin", "C3-M2"]
    assert kept.row("C3-M2").channels == ("EEG C3", "A2") and len(seen) == 2
    path = ws.path
    ws.close()
    again = Workspace.open(path, who="tech-01")
    try:
        assert again.has_own_montage and again.montage == kept
        assert again.montage.notch_hz == 50.0
        assert [s.row.label for s in again.read_montage(0.0, 30.0)] == [
            "C4-M1", "O1-M2", "E1-M2", "C3-M2"]
        assert (again.technician.stages == before).all() and again.scored_events == events
        assert again.reset_montage() == again.default_montage()
        assert not again.has_own_montage
    finally:
        again.close()


def test_a_refused_montage_changes_nothing(ws):
    ws.score(Stage.REM, 5)
    kept = ws.set_montage(ws.montage.moved(1, 0))
    stages = ws.technician.stages.copy()
    with pytest.raises(MontageError) as err:
        ws.set_montage(kept.added(MontageRow("EEG C3", ("M3",))))
    assert "the study has no channel M3" in one_sentence(err)
    with pytest.raises(MontageError):
        ws.rereference("linked", rows=["no such row"])
    assert ws.montage == kept and (ws.technician.stages == stages).all()


def test_a_kept_montage_that_no_longer_fits_gives_way_to_the_default(ws):
    ws.session.set_state("montage", Montage((MontageRow("EEG Fz", ("A1",)),)).to_dict())
    assert ws.montage == ws.default_montage()
    assert sum("no longer fits" in n for n in ws.notes) == 1
    assert ws.montage == ws.default_montage()  # asked again: noted once
    assert sum("no longer fits" in n for n in ws.notes) == 1


def test_the_screen_versus_the_active_runs_picture(ws):
    assert ws.montage_differences() == []  # no run
    ws.start_run("fake", RenderSpec.preset("clinical"))
    ws.set_montage(Montage((new_row(ws.recording, "EEG C4", ["EEG C3"]),)))
    said = ws.montage_differences()
    assert "The model was trained on C4-M1; the screen shows C4-C3." in said


def test_named_montages_are_kept_per_user_and_fit_other_studies(ws, tmp_path, monkeypatch):
    monkeypatch.setenv("PSG_LENS_CONFIG_DIR", str(tmp_path / "config"))
    ws.rereference("linked")
    path = ws.save_montage_as("  Linked mastoids ")
    assert path == tmp_path / "config" / "montages.json"
    ws.reset_montage()
    assert list(ws.named_montages()) == ["Linked mastoids"]
    # another study spells its channels otherwise: found by canonical name
    other = Recording.from_signals([(n, np.zeros(30 * 256), 256.0, "uV") for n in
                                    ("C3", "C4", "O1", "M1", "M2", "E1", "Chin")])
    stored, _ = load_named_montages(path)
    fitted = stored["Linked mastoids"].for_study(other)
    assert fitted.row("C3-(M1+M2)/2").channels == ("C3", "M1", "M2")
    assert "C3-(M1+M2)/2" in ws.use_named_montage("Linked mastoids").labels()
    with pytest.raises(MontageError) as err:
        ws.use_named_montage("AASM")
    assert "no saved montage named 'AASM'; saved: Linked mastoids" in one_sentence(err)
    assert delete_named_montage("Linked mastoids", path) and not load_named_montages(path)[0]


def test_a_damaged_montage_file_costs_only_what_is_damaged(tmp_path):
    path = tmp_path / "montages.json"
    good = Montage((MontageRow("C3", ("M2",)),)).to_dict()
    newer = {"version": 2, "rows": [], "layout": "grid"}
    path.write_text(json.dumps({"version": 1, "montages": {"ok": good, "newer": newer,
                                                           "bad": {"rows": [{"plus": ""}]}}}))
    found, notes = load_named_montages(path)
    assert list(found) == ["ok"] and len(notes) == 2
    save_named_montage("another", found["ok"], path)
    stored = json.loads(path.read_text())["montages"]
    assert stored["newer"] == newer and set(stored) == {"ok", "newer", "bad", "another"}
    path.write_text("{not json")
    assert load_named_montages(path)[0] == {} and "not read" in load_named_montages(path)[1][0]
    save_named_montage("fresh", found["ok"], path)
    assert (tmp_path / "montages.json.damaged").read_text() == "{not json"
    assert list(load_named_montages(path)[0]) == ["fresh"]
    with pytest.raises(MontageError) as err:
        save_named_montage("   ", found["ok"], path)
    assert "needs a name" in one_sentence(err)
