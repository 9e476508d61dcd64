"""Heatmaps for a SleepVLM-shaped model: Qwen2.5-VL patch rows mapped back to where they
sit in the target and context pictures, by integrated gradients or occlusion."""

from __future__ import annotations

import numpy as np
import pytest
from models import cached, sleepvlm_bundle, sleepvlm_study

from app.core.explain import explain_epoch
from app.core.explain.chat import patch_positions, rows_to_map
from app.core.explain.methods import ExplainError
from app.core.inference.engine import StageEngine
from app.core.signals.recording import Recording


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    return StageEngine(cached(sleepvlm_bundle, tmp_path_factory, False), device="cpu",
                       mode="fast", batch_size=16)


@pytest.fixture(scope="module")
def rec(tmp_path_factory):
    return Recording.open(sleepvlm_study(tmp_path_factory.mktemp("ex") / "n.edf", 5))


def test_patch_rows_map_back_to_where_they_were_in_the_picture(engine):
    processor = engine.processor
    picture = np.zeros((224, 448, 3), np.uint8)
    picture[5 * 14:6 * 14, 17 * 14:18 * 14] = 255          # patch (y=5, x=17) alone is white
    out = processor.image_processor(images=[picture], return_tensors="pt")
    rows = out["pixel_values"].float().mean(dim=1).numpy()
    grid = out["image_grid_thw"][0].tolist()
    assert grid == [1, 16, 32]
    pos = patch_positions(grid, 2)
    assert tuple(pos[int(rows.argmax())]) == (5, 17)
    heat = rows_to_map(rows - rows.min(), grid, 2, 14)
    assert heat.shape == (224, 448)
    ys, xs = np.nonzero(heat == heat.max())
    assert (ys.min(), ys.max(), xs.min(), xs.max()) == (70, 83, 238, 251)


@pytest.mark.parametrize("method", ["ig", "occlusion"])
def test_a_heatmap_for_the_target_and_each_context_picture(engine, rec, method):
    ex = explain_epoch(engine, rec, 2, method=method, cache=False)
    assert ex.heatmap.shape == (224, 448) and np.isfinite(ex.heatmap).all()
    assert 0 <= ex.heatmap.min() and ex.heatmap.max() <= 1
    assert ex.context_offsets == [-1, 1] and len(ex.context_heatmaps) == 2
    assert all(h.shape == (224, 448) for h in ex.context_heatmaps)
    assert ex.channel_importance.sum() == pytest.approx(1, abs=1e-5)
    assert len(ex.row_labels) == 6 and ex.row_labels[1] == "C4"
    assert any("empty rationale" in n for n in ex.notices)
    assert abs(float(ex.probabilities.sum()) - 1) < 1e-4


def test_methods_a_multi_picture_model_has_not_are_refused(engine, rec):
    with pytest.raises(ExplainError, match="ig or occlusion"):
        explain_epoch(engine, rec, 2, method="rollout", cache=False)
    with pytest.raises(ExplainError, match="context only"):
        explain_epoch(engine, rec, 0, cache=False)
