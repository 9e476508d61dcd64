"""Writing a synthetic study as EDF+ (every channel at its own rate, stages annotated)."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

import numpy as np

from app.core.synth.clinical import edf_annotations
from app.core.synth.night import SynthStudy, synthesize
from app.core.synth.planting import EventIndices

EDF_STAGE_TEXT = ("Sleep stage W", "Sleep stage N1", "Sleep stage N2", "Sleep stage N3",
                  "Sleep stage R")


def write_edf(study: SynthStudy, path: str | Path) -> Path:
    """Write ``study`` as an EDF+ file with stage annotations.

    Each signal gets a symmetric physical range just wider than its data (so the 16-bit
    quantisation step is max|x| / 32767), units 'uV' ('%' for SpO2), and the annotation
    channel holds "Lights off", one "Sleep stage ..." per bout of ``study.scored_stages``
    (AASM names, W/N1/N2/N3/R; unscored epochs as "Sleep stage ?"), the planted clinical events of ``study.truth``
    ("Obstructive Apnea", "SpO2 desaturation", "Arousal", "Limb Movement (Left)", ...:
    :func:`app.core.synth.clinical.edf_annotations`) and "Lights on".

    Examples
    --------
    >>> import tempfile, os
    >>> study = synthesize([0, 2, 4], seed=0, sfreq=100.0)
    >>> out = write_edf(study, os.path.join(tempfile.mkdtemp(), "s.edf"))
    >>> out.suffix
    '.edf'
    """
    import edfio

    path = Path(path)
    if not path.parent.is_dir():
        raise ValueError(f"Folder {path.parent} does not exist; create it or choose another path.")
    signals = []
    for ch in study.channels:
        x = ch.data
        peak = float(np.max(np.abs(x))) if x.size else 1.0
        lim = float(np.ceil(max(peak, 1.0) * 1.001 * 100) / 100)  # 2 decimals, >= data
        signals.append(edfio.EdfSignal(
            x.astype(np.float64), sampling_frequency=ch.sfreq, label=ch.name,
            transducer_type="synthetic", physical_dimension=ch.unit,
            physical_range=(-lim, lim)))
    ep = study.epoch_sec
    scored = study.scored_stages  # what a scorer would give, not the drive (synth.scored)
    change = np.flatnonzero(np.diff(scored)) + 1
    starts = np.concatenate(([0], change))
    ends = np.concatenate((change, [scored.size]))
    text = {k: v for k, v in enumerate(EDF_STAGE_TEXT)} | {-1: "Sleep stage ?"}
    annotations = [edfio.EdfAnnotation(0.0, None, "Lights off")]
    annotations += [edfio.EdfAnnotation(float(a * ep), float((b - a) * ep),
                                        text[int(scored[a])]) for a, b in zip(starts, ends)]
    annotations += [edfio.EdfAnnotation(float(on), None if d is None else float(d), text)
                    for on, d, text in edf_annotations(study.truth)]
    annotations.append(edfio.EdfAnnotation(float(study.stages.size * ep), None, "Lights on"))
    subj = study.subject
    birth = _dt.date(study.start_time.year - subj["age"], 1, 1)
    whole = all(float(c.sfreq).is_integer() for c in study.channels)
    record = 1.0 if whole else ep
    edf = edfio.Edf(
        signals,
        patient=edfio.Patient(code=f"SYNTH-{subj['seed']}", sex="M" if subj["male"] else "F",
                              birthdate=birth, name="Synthetic_Subject"),
        recording=edfio.Recording(startdate=study.start_time.date(),
                                  hospital_administration_code="PSG-Lens",
                                  investigator_technician_code="synth",
                                  equipment_code="app.core.synth"),
        starttime=study.start_time.time(), data_record_duration=record,
        annotations=annotations)
    edf.write(path)
    return path


def make_study_file(path: str | Path, *, hours: float = 8, seed: int = 0, montage: str = "aasm",
                    stages: np.ndarray | None = None, sfreq: float = 256.0,
                    varied: bool = False, indices: EventIndices | None = None) -> SynthStudy:
    """Synthesize a night and write it to ``path`` as EDF+; returns the study.

    ``stages`` overrides ``hours`` when given; ``indices`` plants clinical events (see
    :func:`app.core.synth.synthesize`).

    Examples
    --------
    >>> import tempfile, os
    >>> s = make_study_file(os.path.join(tempfile.mkdtemp(), "n.edf"), hours=0.1, sfreq=100.0)
    >>> s.n_epochs
    12
    """
    study = synthesize(stages, hours=None if stages is not None else hours, seed=seed,
                       sfreq=sfreq, montage=montage, varied=varied, indices=indices)
    write_edf(study, path)
    return study
