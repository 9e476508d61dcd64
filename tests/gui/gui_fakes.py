"""Stand-ins the GUI tests share: a fake engine with peaked probabilities of known
stages, a bundle folder load_bundle accepts, the night's true stages."""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from app.core.signals.render_spec import RenderSpec

N = 30
SPEC = RenderSpec.preset("clinical", width=96, height=96)
TRUTH = np.resize([0, 0, 1, 2, 2, 2, 3, 3, 2, 4, 4, 2], N)


class FakeEngine:
    """Peaked probabilities of the true stages; every 6th epoch uncertain."""

    def __init__(self, request, *, delay: float = 0.0, batch: int = 8, fail_after=None,
                 shift: int = 0) -> None:
        self.request, self.delay, self.batch = request, delay, batch
        self.fail_after, self.shift = fail_after, shift
        self.name = f"fake-{request.kind}/1"
        self.notices: list[str] = []
        self.spec = SPEC if request.kind == "vlm" else None

    def probabilities(self, epochs: np.ndarray) -> np.ndarray:
        p = np.full((len(epochs), 5), 0.05, np.float32)
        p[np.arange(len(epochs)), (TRUTH[epochs] + self.shift) % 5] = 0.8
        p[epochs % 6 == 5] = [0.25, 0.2, 0.3, 0.15, 0.1]
        return p

    def predict(self, recording, *, epochs=None, progress=None, should_stop=None,
                sources=None):
        idx = np.arange(recording.n_epochs) if epochs is None else np.asarray(epochs)
        for k in range(0, len(idx), self.batch):
            if should_stop is not None and should_stop():
                return None
            if self.fail_after is not None and k >= self.fail_after:
                raise MemoryError()
            time.sleep(self.delay)
            chunk = idx[k:k + self.batch]
            yield SimpleNamespace(epochs=chunk, probabilities=self.probabilities(chunk),
                                  done=k + len(chunk), total=len(idx))
        return None


def fake_bundle(folder: Path, *, synthetic_only: bool = True) -> Path:
    """A folder load_bundle accepts (card + placeholder files); only fakes 'load' it."""
    folder.mkdir(parents=True, exist_ok=True)
    from safetensors.numpy import save_file

    # a well-formed (tiny) weights file: load_bundle checks its header, never its use
    save_file({"placeholder": np.zeros(1, np.float32)}, str(folder / "model.safetensors"))
    (folder / "config.json").write_text("{}")
    (folder / "preprocessor_config.json").write_text("{}")
    card = {"schema_version": 1, "name": "fake-bundle", "version": "1", "architecture": "x",
            "labels": ["W", "N1", "N2", "N3", "REM"], "prompt": "Classify the PSG.",
            "prompt_template": "USER: <image>\n{prompt} ASSISTANT:",
            "render_spec": SPEC.to_dict(), "synthetic_only": synthetic_only,
            "training_data": {"kind": "synthetic"}, "intended_use": "tests"}
    (folder / "model_card.json").write_text(json.dumps(card))
    return folder
