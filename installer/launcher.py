"""The frozen app's one entry point.

It runs as ``trove`` (the command line) or ``trove-desktop`` (the window), and tells which
from the name it was started under: on Linux ``trove-desktop`` is a link to ``trove``; on
Windows and macOS it is a second executable, without a console, built from this script.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from pathlib import Path

DESKTOP = "trove-desktop"


def main() -> int:
    # Extraction runs in spawned worker processes; in a frozen app each worker starts as
    # this executable again, and must be turned into a worker before anything else runs.
    multiprocessing.freeze_support()
    # Nothing in the bundle needs the model hub's telemetry, whatever model is chosen.
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    restore_library_path()
    if Path(sys.argv[0]).stem.lower() == DESKTOP:
        from desktop.main import main as desktop_main

        return desktop_main(sys.argv)
    from core.cli import main as cli_main

    return cli_main()


def restore_library_path() -> None:
    """Give programs this one starts (a PDF viewer, the file manager) the system's library
    path, not the bundle's: PyInstaller's loader points LD_LIBRARY_PATH at the bundle, and
    a system Qt program started with it would load this bundle's Qt and crash. This
    process is not affected: its loader read the variable when it started."""
    original = os.environ.pop("LD_LIBRARY_PATH_ORIG", None)
    if original is not None:
        os.environ["LD_LIBRARY_PATH"] = original
    elif getattr(sys, "frozen", False):
        os.environ.pop("LD_LIBRARY_PATH", None)


if __name__ == "__main__":
    sys.exit(main())
