"""psg-lens info STUDY: channels, roles, derivations, duration, epochs."""

from __future__ import annotations

import argparse
import json

from app.core.signals.channels import SLOTS
from app.core.signals.recording import Recording


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="describe a PSG study: channels, roles, slots, epochs")
    p.add_argument("study", help="EDF, EDF+, BDF or another file MNE reads")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.add_argument("--truncated", action="store_true",
                   help="open a truncated EDF, reading the complete records only")
    p.set_defaults(func=run)


def describe(rec: Recording) -> dict:
    slots = rec.fill_slots(["frontal", "central", "occipital", "e1", "e2", "chin", "ecg"])
    return {
        "file": str(rec.path),
        "start_time": rec.start_time.isoformat() if rec.start_time else None,
        "duration_sec": rec.duration_sec,
        "epochs": rec.n_epochs,
        "epoch_sec": rec.epoch_sec,
        "channels": [{"name": c.name, "role": c.role, "sfreq": c.sfreq, "unit": c.unit}
                     for c in rec.channels],
        "slots": {SLOTS[k].label: (None if s is None else
                                   {"source": s.plus if s.minus is None else f"{s.plus} - {s.minus}",
                                    "quality": s.quality}) for k, s in slots.items()},
        "notes": rec.notes,
    }


def run(args: argparse.Namespace) -> int:
    rec = Recording.open(args.study, allow_truncated=args.truncated)
    d = describe(rec)
    if args.json:
        print(json.dumps(d, indent=2))
        return 0
    hours = d["duration_sec"] / 3600
    print(f"{rec.path.name}: {hours:.2f} h ({d['duration_sec']:.0f} s), {d['epochs']} epochs "
          f"of {d['epoch_sec']:g} s, start {d['start_time'] or 'unknown'}")
    print(f"\n{'channel':<22}{'role':<7}{'rate':>9}  unit")
    for c in d["channels"]:
        print(f"{c['name']:<22}{c['role']:<7}{c['sfreq']:>7g}Hz  {c['unit']}")
    print("\nAASM slots (what the model will see):")
    for label, s in d["slots"].items():
        text = "missing (drawn as a dashed line)" if s is None else \
            f"{s['source']}  [{s['quality']}]"
        print(f"  {label:<8} <- {text}")
    for note in d["notes"]:
        print(f"note: {note}")
    return 0
