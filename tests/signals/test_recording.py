from __future__ import annotations

import numpy as np
import pytest
from conftest import write_edf

from app.core.signals.recording import Recording
from app.errors import ChannelError, StudyError, TruncatedStudyError

SHORT = "psg/sleep-edf-SC4001E0-first5min"


def test_real_sleep_edf_excerpt_matches_mne(shared_data):
    import mne

    path = shared_data / SHORT / "short_psg.edf"
    rec = Recording.open(path)
    assert rec.n_epochs == 10 and rec.duration_sec == 300
    assert rec.start_time.isoformat() == "1989-04-24T16:13:00"
    rates = {c.name: c.sfreq for c in rec.channels}
    assert rates["EEG Fpz-Cz"] == 100 and rates["Resp oro-nasal"] == 1  # mixed rates kept
    roles = {c.name: c.role for c in rec.channels}
    assert roles["EEG Fpz-Cz"] == "EEG" and roles["EOG horizontal"] == "EOG"
    assert roles["EMG submental"] == "EMG" and roles["Resp oro-nasal"] == "RESP"
    raw = mne.io.read_raw_edf(path, preload=False, verbose="error")
    for t0 in (0.0, 123.4):
        ours = rec.get_window(t0, t0 + 30, ["EEG Pz-Oz"])["EEG Pz-Oz"].data
        i0 = int(round(t0 * 100))
        theirs = raw.get_data(picks=["EEG Pz-Oz"], start=i0, stop=i0 + 3000)[0] * 1e6
        np.testing.assert_allclose(ours, theirs, atol=1e-9)


def test_bdf_reads_the_same_values_as_edf(shared_data):
    edf = Recording.open(shared_data / SHORT / "short_psg.edf")
    bdf = Recording.open(shared_data / SHORT / "short_psg.bdf")
    for name in ("EEG Fpz-Cz", "EOG horizontal", "Temp rectal"):
        a = edf.get_window(10, 70, [name])[name].data
        b = bdf.get_window(10, 70, [name])[name].data
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_header_fields_match_an_independent_reader(shared_data):
    import json

    ref = json.loads((shared_data / SHORT / "short_psg_header_reference.json").read_text())
    rec = Recording.open(shared_data / SHORT / "short_psg.edf")
    for sig, ch in zip(ref, rec.channels, strict=True):
        assert ch.name == sig["label"] and ch.sfreq == sig["sampling_frequency"]


def test_window_outside_the_recording_is_nan_padded(make_edf):
    rec = Recording.open(make_edf(seconds=60))
    w = rec.get_window(-5, 5, ["C4-M1"])["C4-M1"].data
    assert w.shape == (2560,) and np.isnan(w[:1280]).all() and np.isfinite(w[1280:]).all()


def test_partial_last_epoch_is_left_out_and_said(make_edf):
    rec = Recording.open(make_edf(seconds=95))
    assert rec.n_epochs == 3
    assert any("5.0 s" in note and "left out" in note for note in rec.notes)


def test_derivation_is_computed_by_subtraction(tmp_path):
    t = np.arange(60 * 128) / 128
    path = write_edf(tmp_path / "ref.edf", {"C4": (10 * np.sin(t), 128.0),
                                            "M1": (3 * np.cos(t), 128.0)})
    rec = Recording.open(path)
    (src,) = rec.fill_slots(["central"]).values()
    got = rec.get_window(0, 30, [src])["C4-M1"].data
    np.testing.assert_allclose(got, 10 * np.sin(t[:3840]) - 3 * np.cos(t[:3840]), atol=0.01)


def test_truncated_edf_gets_a_clear_sentence(make_edf, tmp_path):
    path = make_edf(seconds=60)
    data = path.read_bytes()
    cut = tmp_path / "cut.edf"
    cut.write_bytes(data[: len(data) - 5000])
    with pytest.raises(TruncatedStudyError, match="truncated.*promises 60 data records") as err:
        Recording.open(cut)
    assert "--truncated" in str(err.value) and "the window asks" in str(err.value)
    assert err.value.promised == 60 and err.value.available < 60
    assert isinstance(err.value, StudyError)
    rec = Recording.open(cut, allow_truncated=True)
    assert rec.duration_sec == err.value.available  # 1-s records: the complete ones
    assert any(f"only the {err.value.available} complete data records of the 60" in n
               for n in rec.notes)
    assert not any("truncated" in n for n in Recording.open(path).notes)


@pytest.mark.parametrize("content, message", [
    (b"hello, this is not a PSG", "not an EDF/BDF file"),
    (b"%PDF-1.4" + b"x" * 400, "not an EDF or BDF file"),
])
def test_not_a_psg_file(tmp_path, content, message):
    p = tmp_path / "bad.edf"
    p.write_bytes(content)
    with pytest.raises(StudyError, match=message):
        Recording.open(p)


def test_unknown_format_goes_through_mne_and_fails_clearly(tmp_path):
    p = tmp_path / "notes.txt"
    p.write_text("just some text")
    with pytest.raises(StudyError, match="not a PSG file PSG Lens can read"):
        Recording.open(p)


def test_edf_with_no_eeg(tmp_path):
    path = write_edf(tmp_path / "resp.edf", {"Airflow": (np.zeros(3000), 100.0),
                                             "Thorax": (np.ones(3000), 100.0)})
    with pytest.raises(ChannelError, match="no EEG channel.*Airflow, Thorax"):
        Recording.open(path)


def test_hypnogram_file_opened_as_a_study(shared_data):
    with pytest.raises(StudyError, match="only annotations"):
        Recording.open(shared_data / SHORT / "SC4001EC-Hypnogram.edf")


def test_duplicate_channel_names(make_edf):
    path = make_edf(**{"C4-M1": 128.0, "E1-M2": 128.0})
    data = bytearray(path.read_bytes())
    data[256 + 16: 256 + 32] = b"C4-M1".ljust(16)  # rename the second label
    path.write_bytes(bytes(data))
    with pytest.raises(ChannelError, match="more than one channel named 'C4-M1'"):
        Recording.open(path)


def test_epoch_out_of_range(make_edf):
    rec = Recording.open(make_edf(seconds=60))
    with pytest.raises(StudyError, match="Epoch 2 is out of range.*0 to 1"):
        rec.check_epoch(2)


def _write_edf_plus_d(path, onsets, sf=10, record_sec=1.0):
    """A minimal EDF+D: one EEG signal + annotations, records at the given onsets."""
    n = int(sf * record_sec)
    ann_n = 30  # 60 bytes of TAL per record
    labels = ["EEG C4-M1", "EDF Annotations"]
    hdr = b"0       " + b"X X X X".ljust(80) + b"Startdate 01-JAN-2020 X X X".ljust(80)
    hdr += b"01.01.20" + b"22.00.00" + str(256 * 3).encode().ljust(8)
    hdr += b"EDF+D".ljust(44) + str(len(onsets)).encode().ljust(8)
    hdr += str(record_sec).encode().ljust(8) + b"2".ljust(4)
    fields = [[lab.ljust(16) for lab in labels], [" " * 80] * 2, ["uV".ljust(8), " " * 8],
              ["-100".ljust(8), "-1".ljust(8)], ["100".ljust(8), "1".ljust(8)],
              ["-32768".ljust(8)] * 2, ["32767".ljust(8)] * 2, [" " * 80] * 2,
              [str(n).ljust(8), str(ann_n).ljust(8)], [" " * 32] * 2]
    for f in fields:
        hdr += "".join(f).encode()
    body = b""
    for i, onset in enumerate(onsets):
        samples = np.full(n, 500 * (i + 1), "<i2")
        when = f"{onset:f}".rstrip("0").rstrip(".")  # TALs have no exponents
        tal = f"+{when}\x14\x14\x00".encode().ljust(2 * ann_n, b"\x00")
        body += samples.tobytes() + tal
    path.write_bytes(hdr + body)
    return path


def test_discontinuous_edf_places_records_at_their_onsets(tmp_path):
    path = _write_edf_plus_d(tmp_path / "d.edf", [*range(0, 20), *range(40, 70)])
    rec = Recording.open(path)
    assert rec.duration_sec == 70 and any("discontinuous" in n for n in rec.notes)
    x = rec.get_window(0, 70, ["EEG C4-M1"])["EEG C4-M1"].data
    assert np.isfinite(x[:200]).all() and np.isnan(x[200:400]).all()
    assert np.isfinite(x[400:]).all() and x[405] > x[195]


@pytest.mark.parametrize("onsets, words", [
    ([*range(0, 20), *range(10, 30)], "data record 21 starts at 10 s, before record 20"),
    ([*range(0, 20), 19.5, *range(21, 40)], "record 21 starts at 19.5 s"),
    ([*range(0, 40), 30 * 86400], "starts 30 days after the first"),
])
def test_discontinuous_onsets_going_backwards_overlapping_or_absurd_are_refused(
        tmp_path, onsets, words):
    path = _write_edf_plus_d(tmp_path / "d.edf", onsets)
    with pytest.raises(StudyError, match=words):
        Recording.open(path)
