"""Sleep-stage transition prior and a night model estimated from real expert hypnograms.

Regenerate the shipped file with::

    python -m app.core.scoring.priors ../shared/data/hypnograms

Two things are estimated from the same hypnograms:

* a first-order 5x5 transition matrix and an initial-state distribution (W, N1, N2, N3,
  REM = 0..4), used for HMM/Viterbi smoothing of model outputs;
* a *night model* for :func:`app.core.synth.sample_hypnogram`. A plain Markov chain gives
  geometric bout lengths (too many 1-2 epoch bouts, too few long N2/REM bouts) and no
  ultradian structure. We store instead an explicit-duration (semi-Markov) model whose
  parameters depend on the time of night (4 quarters of the sleep period): empirical bout
  length quantiles per stage and a "jump" matrix between different stages. That yields
  more N3 early and more REM late, as in real nights, without copying any real night into
  the project (``../shared/data`` must not be shipped).

Transitions or bouts touching -1 (not scored) are ignored. The DOD folders contribute all
5 scorers (each night then counts five times; averaging scorers is the point), Sleep-EDF
its single scorer.
"""

from __future__ import annotations

import datetime as _dt
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from app.resources import resource_path

LABELS = ("W", "N1", "N2", "N3", "REM")
N_STAGES = 5
N_BINS = 4  # quarters of the sleep period: enough for "N3 early, REM late"
QUANTILE_LEVELS = np.linspace(0.0, 1.0, 21)  # bout-length and latency quantiles stored
COMMAND = "python -m app.core.scoring.priors ../shared/data/hypnograms"
PRIOR_FILE = ("priors", "stage_transitions.json")
# Folders (relative to the hypnograms root) read by default, with the scorers they hold.
SOURCES = ("dod/dodh", "dod/dodo", "sleep-edf-json")
NIGHT_SOURCE = "dod/dodh"


def _read_hypnogram(path: Path) -> np.ndarray:
    values = np.asarray(json.loads(path.read_text()), dtype=int)
    if values.ndim != 1 or values.size == 0 or values.min() < -1 or values.max() > 4:
        raise ValueError(f"{path} is not a JSON list of stage codes -1..4.")
    return values


def _source_files(root: Path, source: str) -> list[Path]:
    folder = root / source
    return sorted(folder.rglob("*.json"))


def _bouts(h: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run-length encode: (start, length, stage) of each run."""
    change = np.flatnonzero(np.diff(h)) + 1
    starts = np.concatenate(([0], change))
    lengths = np.diff(np.concatenate((starts, [h.size])))
    return starts, lengths, h[starts]


class _Accumulator:
    def __init__(self) -> None:
        self.counts = np.zeros((N_STAGES, N_STAGES), dtype=np.int64)
        self.initial = np.zeros(N_STAGES, dtype=np.int64)
        self.onset = np.zeros(N_STAGES, dtype=np.int64)
        self.jump = np.zeros((N_BINS, N_STAGES, N_STAGES), dtype=np.int64)
        self.bouts: list[list[list[int]]] = [[[] for _ in range(N_STAGES)] for _ in range(N_BINS)]
        self.latency: list[int] = []
        self.final_wake: list[int] = []
        self.epochs = 0

    def add(self, h: np.ndarray) -> None:
        self.epochs += h.size
        a, b = h[:-1], h[1:]
        ok = (a >= 0) & (b >= 0)
        np.add.at(self.counts, (a[ok], b[ok]), 1)
        scored = h[h >= 0]
        if scored.size:
            self.initial[scored[0]] += 1
        sleep = np.flatnonzero(h >= 1)
        if sleep.size == 0:
            return
        first, last = sleep[0], sleep[-1]
        self.onset[h[first]] += 1
        # Latency/final wake only when the record is scored up to sleep onset/end.
        if np.all(h[:first] >= 0):
            self.latency.append(int(first))
        if np.all(h[last + 1 :] >= 0):
            self.final_wake.append(int(h.size - 1 - last))
        period = h[first : last + 1]
        starts, lengths, stages = _bouts(period)
        bins = np.minimum((starts * N_BINS) // period.size, N_BINS - 1)
        for i, (bn, ln, st) in enumerate(zip(bins, lengths, stages)):
            if st < 0:
                continue
            self.bouts[bn][st].append(int(ln))
            if i + 1 < stages.size and stages[i + 1] >= 0:
                self.jump[bn, st, stages[i + 1]] += 1


def _normalise(counts: np.ndarray) -> np.ndarray:
    counts = np.asarray(counts, dtype=float)
    total = counts.sum(axis=-1, keepdims=True)
    # An unseen row falls back to uniform so the matrix stays stochastic.
    return np.where(total > 0, counts / np.where(total > 0, total, 1), 1.0 / counts.shape[-1])


def _quantiles(values: list[int]) -> list[float]:
    return [round(float(q), 2) for q in np.quantile(values, QUANTILE_LEVELS)]


def estimate_transition_prior(folder: str | Path) -> dict[str, Any]:
    """Estimate the transition prior and night model from a folder of hypnograms.

    Parameters
    ----------
    folder : str or Path
        The ``hypnograms`` folder of the shared data (with ``dod/dodh``, ``dod/dodo`` and
        ``sleep-edf-json`` inside). Any other folder of JSON stage lists also works: every
        ``*.json`` below it is read as one night.

    Returns
    -------
    dict
        JSON-ready: ``matrix``, ``counts``, ``initial``, ``sources``, ``night_model`` ...

    Examples
    --------
    >>> prior = estimate_transition_prior("../shared/data/hypnograms")  # doctest: +SKIP
    >>> len(prior["matrix"])  # doctest: +SKIP
    5
    """
    root = Path(folder)
    if not root.is_dir():
        raise ValueError(f"Hypnogram folder {root} does not exist; pass the shared "
                         "data's 'hypnograms' folder.")
    present = [s for s in SOURCES if (root / s).is_dir()]
    if present:
        groups = {s: _source_files(root, s) for s in present}
    else:
        groups = {".": sorted(root.rglob("*.json"))}
    acc = _Accumulator()
    # The night model describes a typical healthy night (demo, tests, synthetic data):
    # DOD-H (healthy adults, AASM, 5 scorers) when present. DOD-O (sleep apnea) and
    # Sleep-EDF (older and insomnia subjects, 30 min of wake kept at each end) have far
    # more and longer wake bouts (W 29-33% of epochs vs 12% in DOD-H).
    night_source = NIGHT_SOURCE if NIGHT_SOURCE in groups else None
    night = _Accumulator() if night_source else acc
    sources = []
    for name, files in groups.items():
        per_source = _Accumulator()
        for path in files:
            h = _read_hypnogram(path)
            acc.add(h)
            per_source.add(h)
            if name == night_source:
                night.add(h)
        sources.append({
            "folder": name,
            "files": len(files),
            "scorers": sorted({p.parent.name for p in files}) if name.startswith("dod") else ["1"],
            "epochs": per_source.epochs,
            "matrix": np.round(_normalise(per_source.counts), 5).tolist(),
        })
    if acc.counts.sum() == 0:
        raise ValueError(f"No scored hypnogram (*.json with stages 0..4) found under {root}.")
    return {
        "schema_version": 1,
        "labels": list(LABELS),
        "matrix": np.round(_normalise(acc.counts), 6).tolist(),
        "counts": acc.counts.tolist(),
        "initial": np.round(_normalise(acc.initial), 6).tolist(),
        "initial_counts": acc.initial.tolist(),
        "sources": sources,
        "created": _dt.date.today().isoformat(),
        "command": COMMAND,
        "notes": "Transitions touching -1 (not scored) ignored; DOD folders use all 5 "
                 "scorers (each night counted once per scorer).",
        "night_model": _night_model(night, night_source or "all"),
    }


def _night_model(acc: _Accumulator, source: str) -> dict[str, Any]:
    pooled = [sum((acc.bouts[b][s] for b in range(N_BINS)), []) for s in range(N_STAGES)]
    # Too few bouts in a quarter (e.g. N3 late) -> fall back to the whole night.
    bout_q = [[_quantiles(acc.bouts[b][s] if len(acc.bouts[b][s]) >= 30 else pooled[s] or [1])
               for s in range(N_STAGES)] for b in range(N_BINS)]
    return {
        "description": "Semi-Markov night: per quarter of the sleep period, bout-length "
                       "quantiles (epochs) per stage and jump probabilities between "
                       "different stages; sleep latency and final wake quantiles (epochs).",
        "source": source,
        "n_bins": N_BINS,
        "quantile_levels": [round(float(q), 3) for q in QUANTILE_LEVELS],
        "onset_stage": np.round(_normalise(acc.onset), 6).tolist(),
        "jump": np.round(_normalise(acc.jump), 6).tolist(),
        "jump_counts": acc.jump.tolist(),
        "bout_quantiles": bout_q,
        "bout_counts": [[len(acc.bouts[b][s]) for s in range(N_STAGES)] for b in range(N_BINS)],
        "latency_quantiles": _quantiles(acc.latency or [0]),
        "final_wake_quantiles": _quantiles(acc.final_wake or [0]),
    }


def load_prior_dict(path: str | Path | None = None) -> dict[str, Any]:
    """Read the prior JSON (default: the shipped ``resources/priors/stage_transitions.json``)."""
    path = Path(path) if path is not None else resource_path(*PRIOR_FILE)
    if not path.is_file():
        raise ValueError(f"Stage-transition prior {path} is missing; regenerate it with "
                         f"'{COMMAND}'.")
    return json.loads(path.read_text())


def load_transition_prior(
    path: str | Path | None = None,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Return ``(matrix 5x5, initial 5, meta)`` from the shipped prior.

    Rows of ``matrix`` and ``initial`` are renormalised to sum to 1 exactly.

    Examples
    --------
    >>> matrix, initial, meta = load_transition_prior()
    >>> matrix.shape, meta["labels"][0]
    ((5, 5), 'W')
    """
    prior = load_prior_dict(path)
    matrix = _normalise(np.asarray(prior["matrix"], dtype=float))
    initial = _normalise(np.asarray(prior["initial"], dtype=float))
    if matrix.shape != (N_STAGES, N_STAGES) or initial.shape != (N_STAGES,):
        raise ValueError("The stage-transition prior file is malformed; regenerate it with "
                         f"'{COMMAND}'.")
    meta = {k: v for k, v in prior.items() if k not in ("matrix", "initial")}
    return matrix, initial, meta


def sample_night(n_epochs: int, rng: np.random.Generator,
                 night_model: dict[str, Any] | None = None) -> np.ndarray:
    """Draw a stage sequence (0..4) of ``n_epochs`` from the semi-Markov night model.

    Wake before sleep onset and after the final awakening come from the real latency and
    final-wake quantiles, capped at 15% and 10% of the record so short records still
    sleep. Bout lengths are compressed for records shorter than a typical sleep period
    (850 epochs, about the median DOD-H sleep period) so a 20-minute record still shows
    a few stage changes. See :func:`app.core.synth.sample_hypnogram`.
    """
    nm = night_model if night_model is not None else load_prior_dict()["night_model"]
    levels = np.asarray(nm["quantile_levels"])

    def draw(quantiles: list[float], cap: float) -> int:
        # Inverse-CDF sampling, upper 10% cut off (very long waits are recording artefacts).
        value = np.interp(rng.uniform(0.0, 0.9), levels, quantiles)
        return int(min(round(value), cap))

    out = np.zeros(n_epochs, dtype=np.int64)
    if n_epochs < 3:
        return out
    latency = max(1, draw(nm["latency_quantiles"], 0.15 * n_epochs))
    final_wake = max(1, draw(nm["final_wake_quantiles"], 0.10 * n_epochs))
    period = n_epochs - latency - final_wake
    squeeze = min(1.0, np.sqrt(period / 850.0))
    jump = _normalise(np.asarray(nm["jump"]))  # stored rounded: renormalise
    onset = _normalise(np.asarray(nm["onset_stage"]))
    bouts = np.asarray(nm["bout_quantiles"])
    stage = int(rng.choice(N_STAGES, p=onset))
    pos = 0
    while pos < period:
        b = min(pos * N_BINS // period, N_BINS - 1)
        # Top 2% cut: the longest real bouts are mostly one-off long awakenings.
        length = np.interp(rng.uniform(0.0, 0.98), levels, bouts[b, stage]) * squeeze
        length = max(1, int(round(length)))
        out[latency + pos: latency + min(pos + length, period)] = stage
        pos += length
        stage = int(rng.choice(N_STAGES, p=jump[b, stage]))
    return out


def main(argv: list[str] | None = None) -> int:
    """Estimate the prior from a hypnogram folder and write the shipped JSON file."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) not in (1, 2):
        print(f"usage: {COMMAND} [output.json]", file=sys.stderr)
        return 2
    prior = estimate_transition_prior(argv[0])
    out = Path(argv[1]) if len(argv) == 2 else resource_path(*PRIOR_FILE)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(prior, indent=1) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
