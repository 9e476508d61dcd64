"""``python -m app``: the CLI; with no arguments, the GUI."""

import sys

from app.cli import main

if __name__ == "__main__":
    sys.exit(main())
