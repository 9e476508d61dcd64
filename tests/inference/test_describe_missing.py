"""What the app says when a study lacks rows of the model's picture."""

from __future__ import annotations

from app.core.inference.engine import describe_missing
from app.core.signals.channels import Source
from app.core.signals.render_spec import RenderSpec

SPEC = RenderSpec.preset("clinical")
SUBSETS = [
    {"name": "every channel", "slots": ["frontal", "central", "occipital", "e1", "e2", "chin"],
     "accuracy": 0.80, "data": "8 held-out nights"},
    {"name": "one central EEG", "slots": ["central"], "accuracy": 0.64,
     "data": "8 held-out nights"},
    {"name": "three EEG only", "slots": ["frontal", "central", "occipital"], "accuracy": 0.66,
     "data": "8 held-out nights"},
]


def _sources(present: set[str]) -> list:
    return [Source(r.label, r.label) if r.slot in present else None for r in SPEC.rows]


def test_an_exact_subset_is_quoted_with_the_full_montage_beside_it():
    text = describe_missing("night.edf", SPEC, _sources({"central"}), SUBSETS)
    assert text.startswith("night.edf has no channel for F4-M1, O2-M1, E1-M2, E2-M2, Chin")
    assert "With one central EEG the model's accuracy on held-out nights was 0.64" in text
    assert "(every channel: 0.80)" in text and "measured on 8 held-out nights" in text


def test_otherwise_the_largest_measured_subset_inside_what_the_study_has():
    text = describe_missing("n.edf", SPEC, _sources({"frontal", "central", "occipital", "e1"}),
                            SUBSETS)
    assert ("no measurement with exactly these channels; with three EEG only, a part of "
            "them, the model's accuracy on held-out nights was 0.66") in text


def test_without_measurements_it_says_so():
    text = describe_missing("n.edf", SPEC, _sources({"occipital"}), [])
    assert "The model card has no measurement with this set of channels." in text


COMPARISON = {"slots": ["central"], "model_accuracy": 0.61, "peer": "yasa/0.8.1",
              "peer_accuracy": 0.83, "command": "psg-lens score --engine yasa",
              "data": "6 synthetic nights with one central lead"}


def test_a_peer_measured_better_with_exactly_these_channels_is_named():
    text = describe_missing("n.edf", SPEC, _sources({"central"}), SUBSETS, [COMPARISON])
    assert ("on 6 synthetic nights with one central lead, yasa/0.8.1 was right on 0.83 of "
            "epochs and this model on 0.61; consider scoring this study with yasa/0.8.1 "
            "(psg-lens score --engine yasa)") in text
    assert "With one central EEG the model's accuracy on held-out nights was 0.64" in text


def test_no_peer_advice_for_other_channels_or_a_weaker_peer():
    other = describe_missing("n.edf", SPEC, _sources({"central", "e1"}), SUBSETS, [COMPARISON])
    weaker = describe_missing("n.edf", SPEC, _sources({"central"}), SUBSETS,
                              [{**COMPARISON, "peer_accuracy": 0.5}])
    assert "consider scoring" not in other and "consider scoring" not in weaker


def test_the_first_comparison_with_these_channels_decides():
    # nights recorded with only these leads come first in the card's list: when they
    # show the model ahead, a later comparison from dropped leads does not advise the peer
    ahead = {**COMPARISON, "peer_accuracy": 0.5}
    assert "consider scoring" not in describe_missing(
        "n.edf", SPEC, _sources({"central"}), SUBSETS, [ahead, COMPARISON])
    assert "consider scoring" in describe_missing(
        "n.edf", SPEC, _sources({"central"}), SUBSETS, [COMPARISON, ahead])


