"""Chin tone drawn relative to the night (RowSpec.night_reference_uv)."""

from __future__ import annotations

import dataclasses

import numpy as np

from app.core.signals.levels import epoch_rms, night_gain
from app.core.signals.recording import Recording
from app.core.signals.render import render_epoch, resolve_sources
from app.core.signals.render_spec import RenderSpec
from app.core.synth import synthesize

STAGES = np.array([0] * 6 + [2] * 10 + [3] * 6 + [4] * 8 + [0] * 2)


def _relative(spec: RenderSpec, ref: float = 12.0) -> RenderSpec:
    return dataclasses.replace(spec, rows=tuple(
        dataclasses.replace(r, night_reference_uv=ref) if r.slot == "chin" else r
        for r in spec.rows))


def _scaled(study, k: float) -> Recording:
    return Recording.from_signals([(c.name, c.data * (k if c.kind == "emg" else 1.0), c.sfreq,
                                    c.unit) for c in study.channels],
                                  start_time=study.start_time)


def test_gain_undoes_an_amplifier_calibration_and_keeps_rem_lowest():
    study = synthesize(STAGES, seed=3, sfreq=128.0)
    spec = _relative(RenderSpec.preset("clinical"))
    chin = next(r for r in spec.rows if r.slot == "chin")
    drawn = []
    for k in (0.3, 1.0, 3.0):
        rec = _scaled(study, k)
        src = resolve_sources(rec, spec)[5]
        assert src.gain == night_gain(rec, src, chin)
        rms = epoch_rms(rec, src, chin) * src.gain
        drawn.append(rms)
        assert np.isclose(np.percentile(rms, 90), 12.0, rtol=0.02)
        assert np.median(rms[STAGES == 4]) < 0.5 * np.median(rms[STAGES == 0])
    assert np.allclose(drawn[0], drawn[2], rtol=1e-4)  # the picture no longer depends on k


def test_physical_rows_are_untouched_and_the_check_sees_microvolts():
    from app.core.signals.quality import check_recording

    study = synthesize(STAGES, seed=3, sfreq=128.0)
    rec = _scaled(study, 40.0)  # 40x too large: the check must still see it
    spec = RenderSpec.preset("clinical")
    assert all(s.gain == 1.0 for s in resolve_sources(rec, spec) if s is not None)
    rel = _relative(spec)
    srcs = resolve_sources(rec, rel)
    assert srcs[5].gain <= 0.1  # at its floor: a 40x calibration error
    assert np.array_equal(render_epoch(rec, spec, 3), render_epoch(rec, spec, 3))
    rep = check_recording(rec, rel, srcs)
    assert any(p.kind == "amplitude" and p.slot == "chin" for p in rep.problems)


def test_a_short_all_wake_envelope_reads_as_tone_not_atonia(shared_data):
    rec = Recording.open(shared_data / "psg" / "sleep-edf-SC4001E0-first5min" / "short_psg.edf")
    spec = _relative(RenderSpec.preset("clinical"))
    src = resolve_sources(rec, spec)[5]
    assert src.plus == "EMG submental" and 2.0 < src.gain < 5.0  # ~3.5 uV -> 12 uV
    img = render_epoch(rec, spec, 3)
    band = img[5 * 56: 6 * 56]
    red = ((band[..., 0] > 120) & (band[..., 1] < 80)).sum(axis=0)
    assert np.median(red) >= 8  # a thick band: tone
