"""``psg-lens`` command line. Qt is imported only by the ``gui`` and ``demo`` commands.

Each subcommand lives in ``app/commands/<name>.py`` with ``register(subparsers)`` and a
``run(args) -> int``. Errors a user can fix are printed as one sentence, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from app import __version__
from app.errors import PSGLensError

COMMANDS = ("info", "check", "render", "synth", "convert", "stats", "events", "annotations",
            "spectrogram", "agree", "report", "score", "model", "explain", "gui", "demo")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="psg-lens",
        description="PSG Lens: sleep scoring with a local vision-language model. "
                    "Decision support only, not a diagnosis.")
    parser.add_argument("--version", action="version", version=f"psg-lens {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"app.commands.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"app.commands.{name}":
                raise
            continue  # a command that is not built yet is simply not offered
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        if "gui" in sub_names(parser):
            args = parser.parse_args(["gui"])
        else:
            parser.print_help()
            return 0
    try:
        return int(args.func(args) or 0)
    except PSGLensError as err:
        print(f"psg-lens {args.command}: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `psg-lens stats x | head`: the reader left, not an error
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print(f"psg-lens {args.command}: stopped; nothing half-written was kept.",
              file=sys.stderr)
        return 130
    except Exception as err:  # a bug: one sentence here, the traceback in the log
        from app.crash_log import log_exception, unexpected

        path = log_exception(f"psg-lens {' '.join(argv if argv is not None else sys.argv[1:])}")
        print(f"psg-lens {args.command}: error: {unexpected(err, path)}", file=sys.stderr)
        return 3


def sub_names(parser: argparse.ArgumentParser) -> set[str]:
    for action in parser._subparsers._group_actions if parser._subparsers else ():
        return set(action.choices)
    return set()


if __name__ == "__main__":
    sys.exit(main())
