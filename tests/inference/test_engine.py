"""StageEngine end to end on tiny random LLaVA / LLaVA-NeXT bundles, and the YASA engine."""

from __future__ import annotations

import numpy as np
import pytest
from models import adapter_bundle, cached, full_bundle, render_spec, study

from app.core.inference import engine as engine_mod
from app.core.inference.engine import StageEngine
from app.core.scoring.hypnogram import Source
from app.core.scoring.stages import Stage
from app.core.signals.recording import Recording
from app.core.signals.render import render_many
from app.errors import ModelError

N_EPOCHS = 8


@pytest.fixture(scope="module")
def rec(tmp_path_factory) -> Recording:
    return Recording.open(study(tmp_path_factory.mktemp("study") / "s.edf", N_EPOCHS))


@pytest.fixture(scope="module")
def llava(tmp_path_factory):
    return StageEngine(cached(full_bundle, tmp_path_factory), device="cpu", batch_size=8)


@pytest.fixture(scope="module")
def reference(llava, rec) -> np.ndarray:
    return llava.score(rec).probabilities


def test_scores_a_study_end_to_end(llava, rec, reference):
    hyp = llava.score(rec)
    assert hyp.n_epochs == N_EPOCHS and hyp.probabilities.shape == (N_EPOCHS, 5)
    assert np.allclose(hyp.probabilities.sum(axis=1), 1, atol=1e-5)
    assert np.array_equal(hyp.stages, hyp.probabilities.argmax(axis=1))
    assert hyp.source == Source.MODEL and (hyp.sources == int(Source.MODEL)).all()
    assert hyp.scorer == "tiny-llava-clinical/0.0.1"
    assert hyp.start_time == rec.start_time and hyp.epoch_sec == 30.0
    assert hyp.meta["stopped"] is False and hyp.meta["epochs_scored"] == N_EPOCHS
    assert np.allclose(hyp.probabilities, reference)


@pytest.mark.parametrize("batch_size", [1, 3, 8])
def test_results_do_not_depend_on_batch_size(llava, rec, reference, batch_size):
    llava.batch_size = batch_size
    try:
        got = llava.score(rec).probabilities
    finally:
        llava.batch_size = 8
    np.testing.assert_allclose(got, reference, atol=1e-5)


def test_generator_yields_batches_progress_and_returns_the_hypnogram(llava, rec):
    llava.batch_size = 3
    calls = []
    gen = llava.predict(rec, progress=lambda d, t: calls.append((d, t)))
    batches = []
    try:
        while True:
            batches.append(next(gen))
    except StopIteration as stop:
        hyp = stop.value
    finally:
        llava.batch_size = 8
    assert [len(b.epochs) for b in batches] == [3, 3, 2]
    assert calls == [(0, 8), (3, 8), (6, 8), (8, 8)]
    assert all(b.render_sec > 0 and b.model_sec > 0 for b in batches)
    assert np.array_equal(np.concatenate([b.epochs for b in batches]), np.arange(8))
    assert hyp.n_epochs == 8


def test_should_stop_stops_early_and_keeps_what_was_scored(llava, rec):
    llava.batch_size = 2
    seen = []
    gen = llava.predict(rec, should_stop=lambda: len(seen) >= 2)
    try:
        while True:
            seen.append(next(gen))
    except StopIteration as stop:
        hyp = stop.value
    finally:
        llava.batch_size = 8
    assert len(seen) == 2 and hyp.meta["stopped"] is True
    assert (hyp.stages[:4] >= 0).all() and (hyp.stages[4:] == Stage.UNSCORED).all()
    assert np.isnan(hyp.probabilities[4:]).all()
    assert (hyp.sources[4:] == int(Source.NONE)).all()


def test_a_subset_of_epochs(llava, rec, reference):
    hyp = llava.score(rec, epochs=[5, 1])
    np.testing.assert_allclose(hyp.probabilities[[1, 5]], reference[[1, 5]], atol=1e-5)
    assert (np.delete(hyp.stages, [1, 5]) == Stage.UNSCORED).all()


def test_bundle_is_rendered_with_its_own_spec(tmp_path_factory, rec, monkeypatch):
    eng = StageEngine(cached(full_bundle, tmp_path_factory, preset="paper"), device="cpu")
    assert eng.spec.name == "paper" and eng.spec.width == 64
    specs, given = [], []
    real_render, real_inputs = engine_mod.render_many, eng._inputs

    def spy_render(recording, spec, *a, **k):
        specs.append(spec)
        return real_render(recording, spec, *a, **k)

    def spy_inputs(images):
        given.append(np.array(images))
        return real_inputs(images)

    monkeypatch.setattr(engine_mod, "render_many", spy_render)
    monkeypatch.setattr(eng, "_inputs", spy_inputs)
    eng.score(rec)
    assert specs == [eng.spec]
    mine = np.concatenate(list(render_many(rec, eng.spec, batch_size=64)))
    assert np.array_equal(np.concatenate(given), mine)
    default = np.concatenate(list(render_many(rec, render_spec("clinical"))))
    assert not np.array_equal(mine, default)


def test_llava_next_bundle(tmp_path_factory, rec):
    eng = StageEngine(cached(full_bundle, tmp_path_factory, arch="llava_next"), device="cpu",
                      batch_size=3)
    p1 = eng.score(rec).probabilities
    eng.batch_size = 1
    p2 = eng.score(rec).probabilities
    assert type(eng.model).__name__ == "LlavaNextForConditionalGeneration"
    assert np.allclose(p1.sum(axis=1), 1, atol=1e-5)
    np.testing.assert_allclose(p1, p2, atol=1e-5)


def test_adapter_bundle_matches_the_in_memory_lora_model(tmp_path_factory, rec):
    from app.core.inference.readout import prepare_inputs, stage_probabilities

    path, peft_model = cached(adapter_bundle, tmp_path_factory)
    eng = StageEngine(path, device="cpu")
    got = eng.score(rec).probabilities
    images = np.concatenate(list(render_many(rec, eng.spec)))
    inputs = prepare_inputs(eng.processor, images, eng.bundle.prompt, "cpu", eng.dtype)
    want = stage_probabilities(peft_model, inputs, eng.readout)
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_out_of_memory_halves_the_batch_and_says_so(llava, rec, reference, monkeypatch):
    import torch

    from app.core.inference import readout

    real = readout.stage_probabilities

    def flaky(model, inputs, ids):
        if inputs["pixel_values"].shape[0] > 2:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB")
        return real(model, inputs, ids)

    monkeypatch.setattr(readout, "stage_probabilities", flaky)
    llava.batch_size = 8
    try:
        got = llava.score(rec).probabilities
        assert llava.batch_size == 2
        assert any("Out of memory" in n and "batch size 2" in n for n in llava.notices)
    finally:
        llava.batch_size = 8
        llava.notices.clear()
    np.testing.assert_allclose(got, reference, atol=1e-5)


def test_generate_raw_is_text(llava, rec):
    image = next(render_many(rec, llava.spec, [0]))[0]
    assert isinstance(llava.generate_raw(image, max_new_tokens=3), str)


def test_bad_arguments(tmp_path_factory):
    path = cached(full_bundle, tmp_path_factory)
    with pytest.raises(ModelError, match="batch size must be at least 1"):
        StageEngine(path, device="cpu", batch_size=0)
    with pytest.raises(ModelError, match="quantization needs the bitsandbytes|CUDA GPU only"):
        StageEngine(path, device="cpu", quantize="4bit")
    with pytest.raises(ModelError, match="Unknown dtype"):
        StageEngine(path, device="cpu", dtype="int3")


def test_cpu_device_defaults_to_float32():
    import torch

    from app.core.inference.readout import resolve_device

    assert resolve_device("cpu") == (torch.device("cpu"), torch.float32)
    assert resolve_device("cpu", "bf16")[1] == torch.bfloat16
    if not torch.cuda.is_available():
        with pytest.raises(ModelError, match="no CUDA GPU is available"):
            resolve_device("cuda")


# -- YASA ------------------------------------------------------------------------------------
def test_yasa_engine_scores_in_our_column_order(tmp_path):
    pytest.importorskip("yasa")
    from app.core.inference.yasa_engine import YasaEngine

    rec = Recording.open(study(tmp_path / "y.edf", 12, seed=3))
    eng = YasaEngine()
    chans = eng.channels(rec)
    assert chans["eeg"].name == "C4-M1" and chans["eog"].name == "E1-M2"
    assert chans["emg"] is not None
    hyp = eng.score(rec)
    assert hyp.probabilities.shape == (12, 5)
    assert np.allclose(hyp.probabilities.sum(axis=1), 1, atol=1e-5)
    assert hyp.scorer.startswith("yasa/") and hyp.source == Source.MODEL


def test_yasa_engine_needs_an_eeg_it_can_use(tmp_path):
    pytest.importorskip("yasa")
    from conftest import write_edf

    from app.core.inference.yasa_engine import YasaEngine

    rng = np.random.default_rng(0)
    path = write_edf(tmp_path / "t.edf", {"T3-T5": (rng.normal(0, 20, 60 * 100), 100.0),
                                          "E1-M2": (rng.normal(0, 20, 60 * 100), 100.0)})
    with pytest.raises(ModelError, match="no central, frontal or occipital EEG for YASA"):
        YasaEngine().score(Recording.open(path))


def test_yasa_engine_reads_only_the_eeg_slots_it_is_given(tmp_path):
    # the card's channel-subset comparisons score YASA as if only the subset's leads
    # had been recorded: a frontal-only comparison must not read the central lead
    pytest.importorskip("yasa")
    from app.core.inference.yasa_engine import YasaEngine

    rec = Recording.open(study(tmp_path / "y.edf", 4, seed=3))
    assert YasaEngine(eeg_slots=("frontal",)).channels(rec)["eeg"].name == "F4-M1"
    assert YasaEngine(eeg_slots=("occipital", "frontal")).channels(rec)["eeg"].name == "O2-M1"
    with pytest.raises(ModelError, match="cannot be one"):
        YasaEngine(eeg_slots=("chin",))


def test_yasa_engine_says_which_eeg_it_lacked(tmp_path):
    pytest.importorskip("yasa")
    from conftest import write_edf

    from app.core.inference.yasa_engine import YasaEngine

    rng = np.random.default_rng(0)
    path = write_edf(tmp_path / "t.edf", {"C4-M1": (rng.normal(0, 20, 60 * 100), 100.0)})
    with pytest.raises(ModelError, match="has no frontal EEG for YASA"):
        YasaEngine(eeg_slots=("frontal",)).score(Recording.open(path))


def test_yasa_missing_is_a_clear_error(monkeypatch):
    import sys

    from app.core.inference.yasa_engine import YasaEngine

    monkeypatch.setitem(sys.modules, "yasa", None)
    with pytest.raises(ModelError, match="needs the yasa package"):
        YasaEngine()


def test_llava_onevision_bundle(tmp_path_factory, rec):
    """OneVision's processor needs torchvision (its video processor): skipped without it."""
    from models import onevision_bundle

    try:
        path = cached(onevision_bundle, tmp_path_factory)
    except (AttributeError, ImportError, ValueError) as err:
        pytest.skip(f"a LLaVA-OneVision processor cannot be built here: {err}")
    eng = StageEngine(path, device="cpu", batch_size=3)
    hyp = eng.score(rec)
    assert type(eng.model).__name__ == "LlavaOnevisionForConditionalGeneration"
    assert np.allclose(hyp.probabilities.sum(axis=1), 1, atol=1e-5)


def test_notices_belong_to_the_study_they_were_about(llava, rec):
    # the GUI keeps one engine for every study it opens: a study missing a channel must
    # not leave its notice on the next study's run
    from app.core.inference.engine import resolve_sources

    sources = resolve_sources(rec, llava.spec, None)
    llava.score(rec, epochs=[0], sources=[None if i == 1 else s for i, s in enumerate(sources)])
    assert any("drawn dashed" in n for n in llava.notices)
    llava.score(rec, epochs=[0])
    assert not any("drawn dashed" in n for n in llava.notices)
    assert llava.notices == list(llava.bundle.notices)
