"""psg-lens score: stage one study (``-o``) or many (``--out-dir``) with a model or YASA.

Many studies are resumable (a study whose output exists is skipped) and shard across
processes under ``accelerate launch`` (or any launcher setting RANK/WORLD_SIZE): process
``rank`` scores studies ``i`` with ``i % world_size == rank``. Outputs appear only when
complete (written in a temp folder, then renamed), so Ctrl-C never leaves half a file.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from app.commands.output_place import writable_file, writable_folder
from app.errors import ModelError, PSGLensError, StudyError

STUDY_SUFFIXES = (".edf", ".bdf", ".rec", ".fif", ".vhdr", ".set")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("score", help="stage studies with a model bundle (or YASA)",
                       description="Stage every 30-s epoch of a study. Decision support "
                                   "only: a technician reviews the result.")
    p.add_argument("studies", nargs="+", metavar="STUDY",
                   help="PSG file(s), or folders of them (with --out-dir)")
    p.add_argument("-o", "--output", help="hypnogram file for one study "
                   "(.csv, .tsv, .xml, .edf, .json, .txt)")
    p.add_argument("--out-dir", help="folder for one hypnogram per study (resumable)")
    p.add_argument("--format", help="output format with --out-dir (default csv)")
    p.add_argument("--engine", choices=("auto", "vlm", "yasa", "fused"), default="auto",
                   help="auto (default): the model bundle, fused with YASA for a study whose "
                        "leads are ones the model's card measured YASA, or the two "
                        "together, reading better than the model alone; "
                        "vlm: the model alone; yasa: YASA's classifier; fused: both, "
                        "each epoch's stage from the product of their probabilities")
    p.add_argument("--fusion-weight", type=float, default=None, metavar="W",
                   help="when fused (--engine fused, or auto where it fuses): the model's "
                        "weight, 0 (YASA alone) to 1 (the model alone); default the one "
                        "bench/fusion.py fitted")
    p.add_argument("--model", help="model bundle folder (default: the embedded model)")
    p.add_argument("--hf", action="store_true",
                   help="--model is a plain Hugging Face folder or hub id without a card")
    p.add_argument("--render-spec", default="clinical",
                   help="with --hf: render preset or spec JSON (default clinical)")
    p.add_argument("--prompt", help="with --hf: the prompt (default the paper's)")
    p.add_argument("--allow-download", action="store_true",
                   help="with --hf: let Hugging Face download a hub id")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda[:N] or mps")
    p.add_argument("--dtype", help="float32, float16 or bfloat16 (default: by device)")
    p.add_argument("--quantize", choices=("4bit", "8bit"), help="bitsandbytes (CUDA only)")
    p.add_argument("--batch-size", type=int, default=16, help="epochs per forward pass")
    p.add_argument("--mode", choices=("rationale", "fast"),
                   help="models that answer in JSON (SleepVLM): write the rationale, then "
                        "read the stage (rationale), or read the stage at once with the "
                        "rationale left empty (fast, an approximation); default: the card's")
    night = p.add_mutually_exclusive_group()
    night.add_argument("--no-smooth", action="store_true",
                       help="each epoch's stage from its own picture alone (by default a "
                            "model whose card has a fitted 'smoothing', as the embedded one "
                            "does, stages each epoch given the whole night)")
    night.add_argument("--smooth", action="store_true",
                       help="the Viterbi path (most probable stage sequence) over each "
                            "epoch's own probabilities with the stage-transition prior, "
                            "for any model")
    p.add_argument("--prior-weight", type=float, default=1.0,
                   help="with --smooth: strength of the prior (default 1)")
    p.add_argument("--cross-check", action="store_true",
                   help="also stage the night with YASA (trained on real PSG) and note each "
                        "epoch the two stage differently, for review; no stage changes")
    p.add_argument("--truncated", action="store_true",
                   help="score the complete part of an EDF/BDF that ends before the records "
                        "its header promises (a copy cut short, a recorder that stopped)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def default_model_path() -> Path:
    try:
        from app.resources import resource_path
    except ImportError:
        return Path(__file__).resolve().parents[2] / "resources" / "models" / "default"
    return resource_path("models", "default")


def make_engine(args: argparse.Namespace):
    """The engine the arguments ask for (loads the model once for every study)."""
    if args.engine == "yasa":
        from app.core.inference.yasa_engine import YasaEngine

        return YasaEngine()
    if args.engine == "fused":
        from app.core.inference.fusion import FusedEngine

        return FusedEngine(_model_engine(args, smooth=False), weight=args.fusion_weight)
    own = (getattr(args, "no_smooth", False) or getattr(args, "smooth", False))
    model = _model_engine(args, smooth=not own)
    if args.engine == "vlm" or own or args.hf or getattr(args, "cross_check", False):
        return model  # these options are about the model's own stages
    from app.core.inference.auto import AutoEngine

    return AutoEngine(model, weight=getattr(args, "fusion_weight", None))


def _model_engine(args: argparse.Namespace, *, smooth: bool):
    from app.core.inference.bundle import Bundle
    from app.core.inference.engine import StageEngine

    if args.hf:
        if not args.model:
            raise ModelError("--hf needs --model with a Hugging Face folder or hub id.")
        kw = {"prompt": args.prompt} if args.prompt else {}
        bundle = Bundle.from_hf(args.model, spec=args.render_spec,
                                allow_download=args.allow_download, **kw)
    else:
        bundle = args.model or default_model_path()
        if not args.model and not Path(bundle).is_dir():
            raise ModelError(f"The embedded default model is not installed (no bundle at "
                             f"{bundle}); pass a model bundle with --model BUNDLE.")
    return StageEngine(bundle, device=args.device, dtype=args.dtype,
                       batch_size=args.batch_size, quantize=args.quantize,
                       mode=getattr(args, "mode", None), smooth=smooth)


def shard_info(env: Mapping[str, str] | None = None) -> tuple[int, int]:
    """``(rank, world_size)`` of this process: RANK/WORLD_SIZE (torchrun, accelerate),
    MPI variables, or accelerate's PartialState; ``(0, 1)`` when not launched."""
    env = os.environ if env is None else env
    for rank_key, size_key in (("RANK", "WORLD_SIZE"),
                               ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"),
                               ("PMI_RANK", "PMI_SIZE")):
        if size_key in env:
            try:
                rank, world = int(env.get(rank_key, "0")), int(env[size_key])
            except ValueError:
                raise PSGLensError(f"{rank_key}={env.get(rank_key)!r} and {size_key}="
                                   f"{env[size_key]!r} must be whole numbers.") from None
            if world < 1 or not 0 <= rank < world:
                raise PSGLensError(f"{rank_key}={rank} is outside 0..{size_key}-1 "
                                   f"({world}).")
            return rank, world
    if any(k.startswith("ACCELERATE_") for k in env) and importlib.util.find_spec("accelerate"):
        from accelerate import PartialState

        state = PartialState()
        return int(state.process_index), int(state.num_processes)
    return 0, 1


def shard(items: Sequence, rank: int, world: int) -> list:
    """The items this process owns: index ``i`` with ``i % world == rank``."""
    return [x for i, x in enumerate(items) if i % world == rank]


def discover(paths: Sequence[str], out_dir: Path | None = None) -> list[tuple[Path, Path]]:
    """``(study, output stem relative to the out dir)`` for files and folders, sorted."""
    found: list[tuple[Path, Path]] = []
    out_dir = out_dir.resolve() if out_dir is not None else None
    for text in paths:
        p = Path(text).expanduser()
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if (f.is_file() and f.suffix.lower() in STUDY_SUFFIXES
                        and not f.stem.lower().endswith("hypnogram")
                        and (out_dir is None or out_dir not in f.resolve().parents)):
                    found.append((f, f.relative_to(p).with_suffix("")))
        elif p.exists():
            found.append((p, Path(p.stem)))
        else:
            raise StudyError(f"There is no file or folder at {p}.")
    if not found:
        raise StudyError(f"No PSG files ({', '.join(STUDY_SUFFIXES)}) found in "
                         f"{', '.join(paths)}.")
    seen: dict[Path, Path] = {}
    for study, rel in found:
        if rel in seen and seen[rel] != study:
            raise StudyError(f"{seen[rel]} and {study} would write the same output; score "
                             "them into different --out-dir folders.")
        seen[rel] = study
    return found


def answers_name(target: Path) -> str:
    """The sidecar with a chat model's rationales: ``night.csv`` -> ``night.answers.jsonl``."""
    return f"{target.stem}.answers.jsonl"


def write_atomic(hyp, target: Path, fmt: str) -> None:
    """Write in a temp folder beside ``target``, then rename (sidecars first, main last)."""
    from app.core.formats import write_hypnogram

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".psglens-tmp-", dir=target.parent))
    try:
        write_hypnogram(hyp, tmp / target.name, format=fmt)
        answers = hyp.meta.get("answers")
        if answers:  # what a chat model wrote per epoch, one JSON object a line
            with open(tmp / answers_name(target), "w", encoding="utf-8") as fh:
                for epoch, a in sorted(answers.items(), key=lambda kv: int(kv[0])):
                    fh.write(json.dumps({"epoch": int(epoch), **a}, ensure_ascii=False) + "\n")
        for f in sorted(tmp.iterdir(), key=lambda f: f.name == target.name):
            os.replace(f, target.parent / f.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def score_study(engine, study: Path, args: argparse.Namespace):
    """Open, score (with a progress bar on stderr) and optionally smooth one study."""
    from tqdm import tqdm

    from app.core.inference.engine import drain
    from app.core.signals.recording import Recording

    rec = Recording.open(study, allow_truncated=getattr(args, "truncated", False))
    if not args.quiet:  # e.g. a truncated file: which part of the night is scored
        for note in rec.notes:
            print(f"note: {note}", file=sys.stderr)
    bar = tqdm(total=rec.n_epochs, unit="epoch", desc=study.name, file=sys.stderr,
               disable=args.quiet, leave=False, dynamic_ncols=True)

    def progress(done: int, total: int) -> None:
        bar.update(done - bar.n)

    try:
        hyp = drain(engine.predict(rec, progress=progress))
    finally:
        bar.close()
    if args.smooth:
        from app.core.inference.smoothing import smooth_hypnogram

        hyp = smooth_hypnogram(hyp, prior_weight=args.prior_weight)
    if getattr(args, "cross_check", False):
        from app.core.inference.yasa_engine import cross_check_with_yasa

        hyp = cross_check_with_yasa(rec, hyp)
    return hyp


def _report(hyp, study: Path, target: Path, quiet: bool) -> None:
    if quiet:
        return
    t = hyp.meta
    rate = ""
    busy = t.get("render_sec", 0) + t.get("preprocess_sec", 0) + t.get("model_sec", 0)
    if busy > 0:
        rate = f" at {hyp.n_epochs / busy:.1f} epochs/s"
    print(f"{study.name}: {hyp.n_epochs} epochs scored by {hyp.scorer}{rate} -> {target}",
          file=sys.stderr)
    for note in t.get("notices", []):
        print(f"note: {note}", file=sys.stderr)
    if t.get("smoothing"):
        print(f"note: {t['probabilities_from'].split('; ', 1)[-1]}; it changed "
              f"{t['smoothing']['changed']} of {hyp.n_epochs} stages (--no-smooth: each "
              "epoch alone).", file=sys.stderr)
    if t.get("fusion"):
        f = t["fusion"]
        print(f"note: {t['probabilities_from'].split('; ', 1)[-1]}; it changed "
              f"{f['changed']} of {hyp.n_epochs} of the model's own stages.", file=sys.stderr)
    if t.get("answers"):
        gave_none = sum(1 for a in t["answers"].values() if a["stage"] is None)
        print(f"{t.get('mode')} mode: the model's answers per epoch -> "
              f"{target.parent / answers_name(target)}"
              + (f"; {gave_none} epoch(s) with no stage in the answer" if gave_none else ""),
              file=sys.stderr)
        if t.get("approximation"):
            print(f"note: {t['approximation']}", file=sys.stderr)
    check = t.get("input_check")
    if check:
        problems = check.get("problems", [])
        for p in problems[:12]:
            print(f"check: {p['sentence']}", file=sys.stderr)
        if len(problems) > 12:
            print(f"check: ... and {len(problems) - 12} more (psg-lens check {study} lists "
                  "them all).", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from app.core.formats import FORMATS, format_for_path

    if args.batch_size < 1:
        raise ModelError(f"--batch-size must be at least 1, not {args.batch_size}.")
    if not (0.0 <= args.prior_weight <= 10.0):  # NaN fails too
        raise PSGLensError(f"--prior-weight must be between 0 (no smoothing prior) and 10, "
                           f"not {args.prior_weight:g}.")
    if args.cross_check and args.engine == "yasa":
        raise PSGLensError("--cross-check compares the model's stages with YASA's; with "
                           "--engine yasa there is no model to compare. Drop one of them.")
    if args.cross_check and args.engine == "fused":
        raise PSGLensError("--cross-check flags where the model and YASA differ; with "
                           "--engine fused YASA is already part of every stage. Drop one "
                           "of them.")
    fusion_weight = getattr(args, "fusion_weight", None)
    if fusion_weight is not None:
        if args.engine not in ("fused", "auto"):
            raise PSGLensError(f"--fusion-weight sets the model's share when it is fused "
                               f"with YASA, which --engine {args.engine} never is; use "
                               "--engine fused or drop it.")
        from app.core.inference.fusion import check_weight

        check_weight(fusion_weight)  # before the model is loaded
    if args.engine == "fused" and args.no_smooth:
        raise PSGLensError("--engine fused always starts from each picture's own "
                           "probabilities; --no-smooth adds nothing. Drop it.")
    if args.output and args.out_dir:
        raise PSGLensError("Give either -o FILE (one study) or --out-dir DIR (many), not both.")
    if not args.output and not args.out_dir:
        raise PSGLensError("Say where to write: -o FILE for one study, or --out-dir DIR.")
    if args.output:
        if len(args.studies) != 1 or Path(args.studies[0]).is_dir():
            raise PSGLensError("-o writes one study's hypnogram; for several studies or a "
                               "folder use --out-dir.")
        target = Path(args.output)
        fmt = args.format or format_for_path(target)  # unknown extension: fail before scoring
        writable_file(target, "the hypnogram")
        study = Path(args.studies[0])
        if not study.is_file():
            raise StudyError(f"There is no file at {study}.")
        engine = make_engine(args)
        hyp = score_study(engine, study, args)
        write_atomic(hyp, target, fmt)
        _report(hyp, study, target, args.quiet)
        return 0
    return _run_many(args, FORMATS)


def _run_many(args: argparse.Namespace, formats: Mapping) -> int:
    fmt = args.format or "csv"
    if fmt not in formats:
        raise PSGLensError(f"Unknown format {fmt!r}; known formats: {', '.join(formats)}.")
    ext = formats[fmt].extensions[0]
    out_dir = writable_folder(args.out_dir, "the hypnograms")
    studies = discover(args.studies, out_dir)
    rank, world = shard_info()
    mine = shard(studies, rank, world)
    todo, skipped = [], 0
    for study, rel in mine:
        target = out_dir / rel.parent / f"{rel.name}{ext}"
        if target.resolve() == study.resolve():
            raise StudyError(f"The output for {study} would overwrite the study itself; "
                             "choose another --out-dir or --format.")
        if target.exists():
            skipped += 1
        else:
            todo.append((study, target))
    where = f" (process {rank + 1} of {world})" if world > 1 else ""
    if not args.quiet:
        print(f"{len(mine)} of {len(studies)} studies are this process's{where}: "
              f"{len(todo)} to score, {skipped} already done.", file=sys.stderr)
    failures: list[tuple[Path, str]] = []
    engine = make_engine(args) if todo else None
    for study, target in todo:
        try:
            hyp = score_study(engine, study, args)
            write_atomic(hyp, target, fmt)
        except PSGLensError as err:  # one bad study must not stop the night's batch
            failures.append((study, str(err)))
            print(f"{study}: error: {err}", file=sys.stderr)
            continue
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as err:  # a bug on one study: logged, and the batch goes on
            from app.crash_log import log_exception, unexpected

            failures.append((study, unexpected(err, log_exception(f"score {study}"))))
            print(f"{study}: error: {failures[-1][1]}", file=sys.stderr)
            continue
        _report(hyp, study, target, args.quiet)
    failed = len(failures)
    if not args.quiet:
        print(f"done{where}: {len(todo) - failed} scored, {skipped} skipped, {failed} failed.",
              file=sys.stderr)
    if failures:  # the summary a technician reads the next morning
        print("failed:", file=sys.stderr)
        for study, why in failures:
            print(f"  {study}: {why}", file=sys.stderr)
    return 1 if failed else 0
