"""``accelerate launch`` with two processes on CPU (DDP over gloo), on a tiny model.

accelerate 1.x's ``--cpu --num_processes 2`` starts ONE process unless an MPI hostfile
is given (its simple launcher ignores the count), so a two-process CPU run goes through
the torchrun launcher with CPU forced: ``ACCELERATE_USE_CPU=1 accelerate launch
--multi_gpu --num_processes 2``. Every test checks that two ranks really ran: accelerate's
checkpoint holds one ``random_states_<rank>.pkl`` per process.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from models import tiny_spec

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
LAUNCH = ["--multi_gpu", "--num_processes", "2", "--num_machines", "1",
          "--mixed_precision", "no", "--dynamo_backend", "no"]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    from training.cache import CacheArgs, build_cache

    out = tmp_path_factory.mktemp("acc") / "cache"
    build_cache(CacheArgs(output_dir=str(out), spec={"preset": "clinical", "width": 64,
                                                      "height": 64},
                          sources=[{"type": "synthetic", "n_subjects": 3, "hours": 0.1,
                                    "seed": 900, "sfreq": 100.0}],
                          epochs_per_subject=8, workers=1))
    return out


def launch(tmp: Path, cache: Path, **finetune) -> tuple[subprocess.CompletedProcess, Path]:
    if shutil.which("accelerate") is None:
        pytest.skip("the accelerate command is not on PATH")
    out = tmp / "train"
    cfg = {"finetune": {"cache_dir": str(cache), "output_dir": str(out),
                        "model": {"init": "tiny",
                                  "tiny": dataclasses.asdict(tiny_spec("llava", 64))},
                        "batch_size": 2, "max_steps": 2, "eval_every": 2,
                        "eval_max_images": 4, **finetune}}
    path = tmp / "config.json"
    path.write_text(json.dumps(cfg))
    env = {**os.environ, "ACCELERATE_USE_CPU": "1", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    cmd = [shutil.which("accelerate"), "launch", *LAUNCH, "-m", "training", "finetune",
           str(path)]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    return proc, out


def ranks(out: Path) -> list[str]:
    return sorted(p.name for p in (out / "checkpoint").glob("random_states_*.pkl"))


def test_two_process_lora_run_trains_saves_and_resumes(tmp_path, cache_dir):
    proc, out = launch(tmp_path, cache_dir, method="lora", vision="frozen")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert ranks(out) == ["random_states_0.pkl", "random_states_1.pkl"]
    log = json.loads((out / "train_log.json").read_text())
    assert log["steps"] == 2 and len(log["log"]) == 1
    assert (out / "best" / "adapter_model.safetensors").is_file()
    assert proc.stdout.count("eval step 2") == 1        # printed by the main process only
    # a longer budget picks the run up from its checkpoint, in both processes
    proc, out = launch(tmp_path, cache_dir, method="lora", vision="frozen", max_steps=3)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "resumed at step 2" in proc.stdout
    assert json.loads((out / "train_log.json").read_text())["steps"] == 3


# full training of the vision tower under DDP: with vision_feature_layer=-2 the last vision
# layer gets no gradient, so DDP needs find_unused_parameters (finetune.py sets it)
def test_two_process_full_training_of_the_vision_tower(tmp_path, cache_dir):
    proc, out = launch(tmp_path, cache_dir, method="full", vision="full")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert ranks(out) == ["random_states_0.pkl", "random_states_1.pkl"]

