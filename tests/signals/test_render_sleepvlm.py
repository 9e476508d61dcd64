"""The sleepvlm picture matches SleepVLM's own renderer on its reference pictures.

../shared/data/reference/sleepvlm-render holds, per case, the inputs (microvolts, per
channel rate) and the pictures SleepVLM's renderer drew from them. Bar (issue 13): on
every epoch at least two from either end, mean absolute difference <= 3.0 of 255 and
<= 1 % of pixels off by more than 64.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from app.core.signals.recording import Recording
from app.core.signals.render import render, render_epoch, render_many
from app.core.signals.render_spec import RenderSpec
from app.errors import SpecError

NAMES = {"F4": "F4-M1", "C4": "C4-M1", "O2": "O2-M1", "LOC": "E1-M2", "ROC": "E2-M2",
         "Chin": "Chin1-Chin2"}
CASES = ("synth", "synth-sleepedf", "nap", "nap-nochin")


def _case(shared_data, case: str):
    folder = shared_data / "reference" / "sleepvlm-render" / case
    info = json.loads((folder / "case.json").read_text())
    d = np.load(folder / "inputs.npz")
    sigs = [(NAMES[c], d[f"{c}__data"], float(d[f"{c}__fs"]), "uV")
            for c in info["channels_top_to_bottom"]]
    return folder, info, Recording.from_signals(sigs, name=f"{case}.edf")


@pytest.mark.parametrize("case", CASES)
def test_matches_the_reference_pictures(shared_data, case):
    folder, info, rec = _case(shared_data, case)
    spec = RenderSpec.preset("sleepvlm")
    epochs = list(range(2, info["n_epochs"] - 2))
    got = np.concatenate(list(render_many(rec, spec, epochs, batch_size=64)))
    for e, img in zip(epochs, got):
        ref = np.asarray(Image.open(folder / f"epoch_{e:03d}.png").convert("RGB"), float)
        diff = np.abs(img.astype(float) - ref)
        assert img.shape == (224, 448, 3)
        assert diff.mean() <= 3.0, (case, e, diff.mean())
        assert (diff.max(axis=-1) > 64).mean() <= 0.01, (case, e)


def test_missing_channels_leave_no_band_and_one_epoch_equals_the_batch(shared_data):
    _, info, rec = _case(shared_data, "synth-sleepedf")
    spec = RenderSpec.preset("sleepvlm")
    assert info["channels_top_to_bottom"] == ["F4", "O2", "LOC", "Chin"]
    one = render_epoch(rec, spec, 5)
    many = next(render_many(rec, spec, [4, 5, 6]))
    assert np.array_equal(one, many[1])
    colours = {tuple(c) for c in one.reshape(-1, 3)[::7]}
    assert (0, 255, 0) not in colours and (255, 0, 255) not in colours  # no C4, no ROC band


def test_the_spec_is_fixed_and_other_specs_are_unchanged():
    spec = RenderSpec.preset("sleepvlm")
    assert (spec.width, spec.height, spec.renderer) == (448, 224, "sleepvlm")
    with pytest.raises(SpecError, match="preset unchanged"):
        RenderSpec.preset("sleepvlm", width=224)
    with pytest.raises(ValueError, match="whole recording"):
        render([None] * 6, spec)
    assert RenderSpec.preset("clinical").renderer == "psglens"


def test_a_100_hz_recording_is_drawn_without_the_notch_it_cannot_hold():
    from app.core.signals.render_sleepvlm import prepare_channel

    rng = np.random.default_rng(0)
    x = rng.normal(0, 20, 100 * 90)
    y = prepare_channel(x, 100.0, "C4")          # 50 Hz is the Nyquist frequency here
    assert y.shape == x.shape and np.isfinite(y).all()
    rec = Recording.from_signals([("C4-M1", x, 100.0, "uV")], name="s.edf")
    assert render_epoch(rec, RenderSpec.preset("sleepvlm"), 1).shape == (224, 448, 3)
