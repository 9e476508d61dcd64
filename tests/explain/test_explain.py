"""Explanations on tiny random LLaVA bundles (64 px, 16-px patches): shapes, mapping,
a toy model with a known answer, cancelling, caching, rollout, the CLI, faithfulness."""

from __future__ import annotations

import types
import warnings

import numpy as np
import pytest
from models import cached, full_bundle

from app.cli import main
from app.core.explain import (
    METHODS,
    ExplainCancelled,
    ExplainCostWarning,
    ExplainError,
    clear_cache,
    estimate_cost,
    explain_epoch,
    explain_image,
)
from app.core.explain import api as api_mod
from app.core.explain import faithfulness as fa
from app.core.explain.mapping import Region, patch_scores, top_regions
from app.core.inference.engine import StageEngine
from app.core.scoring.stages import Stage
from app.core.signals.recording import Recording
from app.core.signals.render import render_epoch
from app.core.synth import synthesize
from app.errors import StudyError

STAGES = [0, 2, 2, 3, 4]
HOT = (1, 2)  # the toy model's patch (row, column) on the 4x4 grid


@pytest.fixture(scope="module")
def synth():
    return synthesize(np.array(STAGES), seed=5, sfreq=128.0)


@pytest.fixture(scope="module")
def rec(synth) -> Recording:
    return synth.to_recording()


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    return StageEngine(cached(full_bundle, tmp_path_factory), device="cpu", batch_size=8)


@pytest.fixture(autouse=True)
def _fresh_cache():
    clear_cache()
    yield
    clear_cache()


class RegionModel:
    """Stands in for the LLaVA: the N2 logit is the ink inside one patch, nothing else."""

    def __init__(self, engine, patch=HOT, size=16):
        import torch

        self.config = types.SimpleNamespace(
            vision_config=types.SimpleNamespace(patch_size=size, _attn_implementation="sdpa"))
        self.n2 = engine.readout.first_ids[2]
        self.vocab = max(engine.readout.first_ids) + 1
        self.box = (slice(patch[0] * size, (patch[0] + 1) * size),
                    slice(patch[1] * size, (patch[1] + 1) * size))
        self.torch = torch

    def __call__(self, pixel_values, logits_to_keep=1, **_):
        ink = -pixel_values[..., self.box[0], self.box[1]].mean(dim=(-3, -2, -1))
        logits = self.torch.zeros(pixel_values.shape[0], 1, self.vocab)
        logits[:, 0, self.n2] = 4.0 * ink
        return types.SimpleNamespace(logits=logits)


@pytest.fixture
def toy(engine, monkeypatch):
    monkeypatch.setattr(engine, "model", RegionModel(engine))
    return engine


# -- every method ----------------------------------------------------------------------
@pytest.mark.parametrize("method", METHODS)
def test_every_method_maps_to_the_picture_channels_and_seconds(engine, rec, method):
    ex = explain_epoch(engine, rec, 1, method=method)
    spec = engine.spec
    assert ex.heatmap.shape == ex.image.shape[:2] == (spec.height, spec.width)
    assert ex.raw.shape == ex.heatmap.shape and ex.heatmap.dtype == np.float32
    assert np.isfinite(ex.heatmap).all() and ex.heatmap.min() >= 0 and ex.heatmap.max() <= 1
    assert ex.channel_importance.shape == (len(spec.rows),)
    assert ex.channel_importance.sum() == pytest.approx(1.0, abs=1e-5)
    assert ex.time_importance.shape == (len(spec.rows), 30)
    assert np.allclose(ex.time_importance.sum(axis=1), ex.channel_importance, atol=1e-6)
    assert ex.probabilities.sum() == pytest.approx(1.0, abs=1e-5)
    assert ex.stage == ex.predicted and ex.method == method and ex.epoch == 1
    assert ex.row_labels[:3] == ["F4-M1", "C4-M1", "O2-M1"]
    assert all(isinstance(r, str) and " s" in r for r in ex.top_regions)
    assert ex.seconds > 0 and "channel" in ex.table()


def test_probabilities_match_the_engine(engine, rec):
    ex = explain_epoch(engine, rec, 2, method="rollout")
    img = render_epoch(rec, engine.spec, 2)
    assert np.array_equal(ex.image, img)
    np.testing.assert_allclose(ex.probabilities, engine.probabilities([img])[0], atol=1e-5)


def test_llava_next_pixel_crops(tmp_path_factory, rec):
    eng = StageEngine(cached(full_bundle, tmp_path_factory, arch="llava_next"), device="cpu")
    for method in ("ablation", "ig"):
        ex = explain_epoch(eng, rec, 0, method=method, stage="W")
        assert ex.heatmap.shape == (64, 64) and np.isfinite(ex.heatmap).all()
        assert ex.stage == Stage.W


# -- a toy model with a known answer ------------------------------------------------
@pytest.mark.parametrize("method", ["ablation", "occlusion", "ig"])
def test_importance_lands_on_the_only_patch_that_matters(toy, rec, method):
    ex = explain_epoch(toy, rec, 1, method=method, stage="N2")
    scores = patch_scores(ex.heatmap, 16, "mean")
    # occlusion's 2-patch windows smear by a patch: at an edge a neighbour ties with it
    assert scores[HOT] == pytest.approx(scores.max())
    if method != "occlusion":
        assert np.unravel_index(scores.argmax(), scores.shape) == HOT
    if method == "ablation":  # nothing else changes the output at all
        others = np.delete(scores.reshape(-1), HOT[0] * 4 + HOT[1])
        assert np.abs(others).max() < 1e-6 and scores[HOT] == pytest.approx(1.0)


def test_why_not_another_stage_is_a_different_map(toy, rec):
    ex = explain_epoch(toy, rec, 1, method="ablation", stage="N3")
    # ink there raises N2, so it only lowers N3: nothing raised N3
    assert ex.stage == Stage.N3 and ex.heatmap.max() == 0
    assert any("No part of the picture" in n for n in ex.notices)
    assert ex.top_regions == [] and ex.channel_importance.sum() == pytest.approx(1.0)


# -- cancelling, caching, cost ---------------------------------------------------------
def test_should_stop_cancels_and_nothing_is_cached(engine, rec):
    calls = []

    def stop() -> bool:
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(ExplainCancelled, match="cancelled"):
        explain_epoch(engine, rec, 0, method="ablation", should_stop=stop,
                      perturbations_per_eval=2)
    assert len(api_mod._cache) == 0


def test_progress_reaches_the_total(engine, rec):
    seen = []
    explain_epoch(engine, rec, 0, method="ablation", perturbations_per_eval=4,
                  progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (17, 17) and all(d <= t for d, t in seen)


def test_cache_hit_returns_the_same_object_without_recomputing(engine, rec, monkeypatch):
    first = explain_epoch(engine, rec, 3, method="occlusion")
    monkeypatch.setattr(api_mod, "run", lambda *a, **k: pytest.fail("recomputed"))
    assert explain_epoch(engine, rec, 3, method="occlusion") is first
    with pytest.raises(pytest.fail.Exception):
        explain_epoch(engine, rec, 3, method="occlusion", stage="N1")  # another key
    img = render_epoch(rec, engine.spec, 3)
    monkeypatch.undo()
    a = explain_image(engine, img, method="rollout")
    assert explain_image(engine, img, method="rollout") is a


def test_long_runs_warn_with_an_estimate_and_can_be_declined(engine, rec, monkeypatch):
    est = estimate_cost(engine, "ablation")
    assert est.forward_passes == 17 and est.seconds > 0 and est.warning is None
    monkeypatch.setattr(api_mod, "WARN_SECONDS", 0.0)
    asked = []
    with pytest.warns(ExplainCostWarning, match="pictures through the model"), \
            pytest.raises(ExplainCancelled):
        explain_epoch(engine, rec, 0, confirm=lambda e: asked.append(e) or False)
    assert asked and asked[0].method == "ablation"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExplainCostWarning)
        ex = explain_epoch(engine, rec, 0, method="ig", confirm=lambda e: True)
    assert any("will take about" in n for n in ex.notices)


# -- bad input -----------------------------------------------------------------------
def test_bad_input_is_one_clear_sentence(engine, rec):
    with pytest.raises(ExplainError, match="Unknown explanation method 'gradcam'"):
        explain_epoch(engine, rec, 0, method="gradcam")
    with pytest.raises(ExplainError, match="Unknown stage 'N5'"):
        explain_epoch(engine, rec, 0, stage="N5")
    with pytest.raises(ExplainError, match="Unknown stage"):
        explain_epoch(engine, rec, 0, stage="Artifact")
    with pytest.raises(StudyError, match="out of range"):
        explain_epoch(engine, rec, len(STAGES))
    with pytest.raises(ExplainError, match="render spec draws 64x64"):
        explain_image(engine, np.zeros((32, 32, 3), np.uint8))


def test_rollout_switches_an_sdpa_tower_to_eager_and_back(engine, rec):
    vcfg = engine.model.config.vision_config
    assert vcfg._attn_implementation == "sdpa"
    ex = explain_epoch(engine, rec, 0, method="rollout")
    assert vcfg._attn_implementation == "sdpa" and ex.heatmap.max() == pytest.approx(1.0)
    assert ex.raw.sum() == pytest.approx(16 * 16, rel=1e-4)  # patch shares painted per pixel


def test_rollout_without_attentions_says_so(engine, rec, monkeypatch):
    monkeypatch.setattr(engine.model, "set_attn_implementation", lambda *_: None)
    with pytest.raises(ExplainError, match="does not return attention weights"):
        explain_epoch(engine, rec, 0, method="rollout")


# -- CLI -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def study_file(tmp_path_factory):
    from models import study

    return study(tmp_path_factory.mktemp("explain") / "night.edf", 4)


def test_cli_writes_the_overlay_and_prints_the_table(engine, study_file, tmp_path, capsys):
    from PIL import Image

    out = tmp_path / "why.png"
    rc = main(["explain", str(study_file), "--epoch", "3", "--model", str(engine.bundle.path),
               "--device", "cpu", "--stage", "N3", "--zoom", "2", "--quiet", "-o", str(out)])
    text = capsys.readouterr().out
    assert rc == 0 and "explained N3 with ablation" in text and "C4-M1" in text
    assert "epoch 3:" in text  # numbered as the window and the CSV number it
    assert "share" in text and "%" in text
    assert Image.open(out).size[1] == 128


@pytest.mark.parametrize("argv, message", [
    (["--method", "lime"], "Unknown explanation method 'lime'"),
    (["--stage", "deep"], "Unknown stage 'deep'"),
    (["--epoch", "40"], "Epoch 40 is out of range"),
    (["--epoch", "0"], "epochs are numbered from 1"),
    (["-o", "why.txt"], "not a picture file name"),
])
def test_cli_bad_input(engine, study_file, tmp_path, capsys, argv, message):
    base = {"--epoch": "1", "-o": str(tmp_path / "x.png")}
    extra = dict(zip(argv[::2], argv[1::2]))
    args = [a for kv in {**base, **extra}.items() for a in kv]
    rc = main(["explain", str(study_file), "--model", str(engine.bundle.path), "--quiet",
               *args])
    err = capsys.readouterr().err
    assert rc == 2 and message in err and "Traceback" not in err
    assert err.count("\n") == 1


def test_cli_rollout_without_attentions(engine, study_file, tmp_path, capsys, monkeypatch):
    from app.commands import explain as cmd

    def no_attention_engine(args):
        eng = StageEngine(args.model, device="cpu")
        eng.model.set_attn_implementation = lambda *_: None
        return eng

    monkeypatch.setattr(cmd, "make_engine", no_attention_engine)
    rc = main(["explain", str(study_file), "--epoch", "1", "--method", "rollout", "--model",
               str(engine.bundle.path), "--quiet", "-o", str(tmp_path / "r.png")])
    err = capsys.readouterr().err
    assert rc == 2 and "does not return attention weights" in err


# -- faithfulness (the bench's measures, small) ------------------------------------
def test_deletion_and_insertion_favour_the_true_patch(toy, rec):
    ex = explain_epoch(toy, rec, 1, method="ablation", stage="N2")
    good = fa.order_from_scores(ex.patch_scores)
    bad = good[::-1]
    kw = dict(stage=2, patch=16, background=toy.spec.background, steps=16)
    cg = fa.deletion_insertion(toy, ex.image, good, **kw)
    cb = fa.deletion_insertion(toy, ex.image, bad, **kw)
    assert cg.deletion[0] == pytest.approx(ex.probabilities[2], abs=1e-5)
    assert cg.deletion_auc < cb.deletion_auc and cg.insertion_auc > cb.insertion_auc


def test_pointing_game_and_randomisation(engine, synth, rec):
    spec = engine.spec
    channels = ["F4-M1", "C4-M1", "O2-M1", "E1-M2", "E2-M2", "Chin1-Chin2"]
    epoch = next(e for e, s in enumerate(STAGES) if s == 2 and any(
        ev.epoch == e and ev.kind in fa.DEFINING_EVENTS[2] for ev in synth.events))
    mask = fa.event_mask(synth.events, epoch, spec, channels, fa.DEFINING_EVENTS[2])
    assert mask.any() and mask.mean() < 1
    hot = np.zeros((4, 4))
    ids = np.argwhere(mask)[0] // 16
    hot[tuple(ids)] = 1.0
    pg = fa.pointing_game(hot, mask, 16)
    assert pg.hit and 0 < pg.area <= pg.chance <= 1
    assert fa.pointing_game(hot, np.zeros_like(mask), 16) is None
    assert fa.rank_correlation(np.arange(16.0), np.arange(16.0)) == pytest.approx(1.0)
    assert np.isnan(fa.rank_correlation(np.ones(16), np.arange(16.0)))


def test_reinitialised_weights_change_the_map(tmp_path_factory, rec):
    path = cached(full_bundle, tmp_path_factory)
    a = StageEngine(path, device="cpu")
    b = StageEngine(path, device="cpu")
    fa.reinitialise(b.model, seed=3)
    ea = explain_epoch(a, rec, 1, method="ig", stage="N2")
    eb = explain_epoch(b, rec, 1, method="ig", stage="N2")
    assert ea is not eb and not np.allclose(ea.raw, eb.raw)


def test_regions_in_words():
    grid = np.zeros((2, 30))
    grid[1, 12:14] = 0.4
    grid[0, 3] = 0.2
    regs = top_regions(grid, np.arange(30.0), ["F4-M1", "C4-M1"])
    assert [r.text for r in regs] == ["C4-M1, 12-14 s", "F4-M1, 3-4 s"]
    assert Region(0, "E1-M2", -5, -3, 0.1).text == "E1-M2, previous epoch 25-27 s"
