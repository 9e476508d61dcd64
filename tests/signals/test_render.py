from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from app.core.signals.recording import Recording
from app.core.signals.render import extract, layout, render, render_epoch, render_many
from app.core.signals.render_spec import RenderSpec, RowSpec
from app.errors import SpecError

SF = 128.0


def _rows(spec: RenderSpec, seed: int = 0, sf: float = SF) -> list:
    rng = np.random.default_rng(seed)
    n = int((spec.window_sec + 2 * spec.filter_pad_sec) * sf)
    t = np.arange(n) / sf
    return [(rng.normal(0, 10, n) + 30 * np.sin(2 * np.pi * (1 + i) * t), sf)
            for i in range(len(spec.rows))]


def _digest(img: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(img).tobytes()).hexdigest()[:16]


# Golden images: a change here is a change to what every trained model sees, so it
# must come with a new render-spec version (and retrained bundles).
GOLDEN_HASHES = {
    "clinical": "763dea0993428107",
    "paper": "501967666a62c3c5",
    "clinical-fold3-context1": "b43c8a04dd05b495",
}


def _golden_specs() -> dict[str, RenderSpec]:
    return {"clinical": RenderSpec.preset("clinical"),
            "paper": RenderSpec.preset("paper"),
            "clinical-fold3-context1": RenderSpec.preset("clinical", fold=3, context_epochs=1)}


@pytest.mark.parametrize("name", list(GOLDEN_HASHES))
def test_golden_images(name):
    spec = _golden_specs()[name]
    rows = _rows(spec)
    rows[-1] = None  # a missing channel is part of the picture
    img = render(rows, spec)
    assert img.shape == (spec.height, spec.width, 3) and img.dtype == np.uint8
    assert _digest(img) == GOLDEN_HASHES[name]


def test_render_is_deterministic_to_the_byte():
    spec = RenderSpec.preset("clinical")
    a, b = render(_rows(spec), spec), render(_rows(spec), spec)
    assert _digest(a) == _digest(b)


def _distinct_spec(**kw) -> RenderSpec:
    colours = [(200, 0, 0), (0, 200, 0), (0, 0, 200), (200, 200, 0), (0, 200, 200), (90, 0, 90)]
    base = RenderSpec.preset("clinical", **kw)
    rows = tuple(RowSpec(**{**r.__dict__, "color": c}) for r, c in zip(base.rows, colours,
                                                                         strict=True))
    return RenderSpec(**{**base.__dict__, "rows": rows, "grid": False})


def _pixels_of(img: np.ndarray, colour) -> np.ndarray:
    return np.all(img == np.asarray(colour, np.uint8), axis=-1)


samples = arrays(np.float64, st.integers(1, 200).map(lambda k: k),
                 elements=st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                                    st.just(0.0)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), scaling=st.sampled_from(["physical", "minmax"]))
def test_any_input_renders_and_stays_inside_its_row(data, scaling):
    spec = _distinct_spec(scaling=scaling, width=64, height=96)
    n = int((spec.window_sec + 2 * spec.filter_pad_sec) * 4)
    rows = []
    for _ in spec.rows:
        base = data.draw(samples)
        rows.append((np.resize(base, n), 4.0) if data.draw(st.booleans()) else None)
    img = render(rows, spec)
    lay = layout(spec)
    for i, r in enumerate(spec.rows):
        ys = np.nonzero(_pixels_of(img, r.color).any(axis=1))[0]
        assert np.all(lay.row_of_y[ys] == i)


def test_flat_nan_and_huge_rows_are_drawn_sanely():
    spec = _distinct_spec()
    n = int((spec.window_sec + 2 * spec.filter_pad_sec) * SF)
    rows = _rows(spec)
    rows[0] = (np.zeros(n), SF)                 # flat: a line in the middle
    rows[1] = (np.full(n, np.nan), SF)          # no data: nothing drawn
    rows[2] = (np.full(n, 1e12) * np.sign(np.sin(np.arange(n))), SF)  # huge: clipped
    img = render(rows, spec)
    lay = layout(spec)
    band0 = np.nonzero(lay.row_of_y == 0)[0]
    flat_rows = np.nonzero(_pixels_of(img, spec.rows[0].color).any(axis=1))[0]
    assert len(flat_rows) <= 2 and abs(flat_rows.mean() - band0.mean()) <= 1
    assert not _pixels_of(img, spec.rows[1].color).any()
    huge = np.nonzero(_pixels_of(img, spec.rows[2].color).any(axis=1))[0]
    assert set(huge) <= set(np.nonzero(lay.row_of_y == 2)[0])


def test_missing_row_is_a_dashed_line_and_rows_do_not_shift():
    spec = _distinct_spec()
    rows = _rows(spec)
    rows[1] = None
    img = render(rows, spec)
    lay = layout(spec)
    grey = _pixels_of(img, spec.missing_color)
    ys = np.nonzero(grey.any(axis=1))[0]
    assert len(ys) == 1 and lay.row_of_y[ys[0]] == 1
    assert 0.3 < grey[ys[0]].mean() < 0.7  # dashed, not solid
    ys2 = np.nonzero(_pixels_of(img, spec.rows[2].color).any(axis=1))[0]
    assert np.all(lay.row_of_y[ys2] == 2)


def test_layout_maps_pixels_to_channel_and_time_and_back():
    spec = RenderSpec.preset("clinical", fold=3, context_epochs=1)
    lay = layout(spec)
    assert len(lay.bands) == 18
    assert lay.bands[0].t0 == -30 and lay.bands[2].t1 == 60
    row, t = lay.pixel_to_channel_time(lay.bands[4].y0, 0)  # row 1, second fold
    assert row == 1 and 0 <= t < 0.2
    mask = lay.channel_time_to_pixels(2, 12.0, 14.0)
    assert mask.any() and np.all(lay.row_of_y[np.nonzero(mask.any(axis=1))[0]] == 2)
    grid, edges = lay.channel_time_grid(mask.astype(float))
    assert grid.shape == (6, 90) and edges[0] == -30
    assert set(np.nonzero(grid.sum(axis=0))[0]) == {42, 43}  # 12-14 s after onset


def test_context_epochs_are_tinted():
    spec = RenderSpec.preset("clinical", context_epochs=1, grid=False)
    img = render([None] * 6, spec)
    left, middle = img[5, 2], img[5, spec.width // 2]
    assert tuple(left) == spec.context_background and tuple(middle) == spec.background


def test_batch_and_single_render_give_identical_bytes(make_edf):
    rec = Recording.open(make_edf(seconds=300, **{"F4-M1": 256.0, "C4-M1": 256.0,
                                                  "E1-M2": 256.0, "Chin1-Chin2": 256.0}))
    spec = RenderSpec.preset("clinical", context_epochs=1)
    batch = np.concatenate(list(render_many(rec, spec, batch_size=4)))
    assert batch.shape[0] == rec.n_epochs == 10
    for e in (0, 3, 9):
        assert _digest(batch[e]) == _digest(render_epoch(rec, spec, e))


def test_extract_reads_the_padded_window(make_edf):
    rec = Recording.open(make_edf(seconds=120))
    spec = RenderSpec.preset("clinical")
    rows = extract(rec, spec, 1)
    central = rows[1]
    assert central[1] == 256.0 and central[0].shape == (int(40 * 256),)
    assert rows[0] is None  # no frontal channel in this file


def test_spec_json_round_trip_and_errors(tmp_path):
    spec = RenderSpec.preset("paper", context_epochs=1)
    assert RenderSpec.from_json(spec.to_json()) == spec
    d = json.loads(spec.to_json())
    with pytest.raises(SpecError, match="unknown field.*colour_map"):
        RenderSpec.from_dict({**d, "colour_map": 1})
    with pytest.raises(SpecError, match="newer than this PSG Lens"):
        RenderSpec.from_dict({**d, "version": 99})
    with pytest.raises(SpecError, match="not valid JSON"):
        RenderSpec.from_json("{nope")
    with pytest.raises(SpecError, match="Unknown render preset"):
        RenderSpec.load("fancy")
    path = tmp_path / "s.json"
    path.write_text(spec.to_json())
    assert RenderSpec.load(path) == spec
