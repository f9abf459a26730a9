"""What this computer must offer Trove: a data folder it can write, room on that disk, and
(on Linux) the system libraries the window's X11 platform needs.

``trove doctor`` runs these before anything opens the index, so they work on a machine
where Trove cannot start at all, and each failure says what to install or change.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import sys
import tempfile
from pathlib import Path

from core.errors import ConfigError

# Below this much free space the index may not fit, and SQLite fails mid-write.
MIN_FREE_BYTES = 500 * 1024**2

# The libraries Qt's X11 (xcb) platform loads from the system, and the Debian/Ubuntu
# package of each: a minimal system lacks several, and without them the window aborts.
# installer/debian_depends.py derives the .deb's dependencies from the frozen app itself;
# this table is what `doctor` can tell a person on any Linux.
QT_XCB_LIBRARIES = {
    "libxcb.so.1": "libxcb1",
    "libX11.so.6": "libx11-6",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
}


def check_data_folder(folder: Path) -> str:
    """The folder exists (or can be made) and a file can be written in it."""
    # Imported here: the .deb build reads QT_XCB_LIBRARIES with a Python that has none of
    # Trove's dependencies (platformdirs, which core.paths needs).
    from core.paths import make_private_folder

    try:
        make_private_folder(folder)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".trove-write-check-"):
            pass
    except OSError as exc:
        raise ConfigError(
            f"cannot write in {folder} ({exc.strerror or exc}); make it writable, or point "
            "TROVE_HOME at a folder you own"
        ) from None
    return f"{folder} is writable"


def check_free_space(folder: Path, minimum: int | None = None) -> str:
    minimum = MIN_FREE_BYTES if minimum is None else minimum
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    free = shutil.disk_usage(existing).free
    if free < minimum:
        raise ConfigError(
            f"only {_megabytes(free)} free on the disk holding {folder}; Trove needs at least "
            f"{_megabytes(minimum)} for its index: free some space or set TROVE_HOME elsewhere"
        )
    return f"{_megabytes(free)} free on the disk holding {folder}"


def check_window_libraries(libraries: dict[str, str] | None = None) -> str:
    """Every library in ``libraries`` (soname -> package) loads; Linux only."""
    if not sys.platform.startswith("linux"):
        return f"nothing to check on {sys.platform}"
    wanted = QT_XCB_LIBRARIES if libraries is None else libraries
    missing = [name for name in wanted if not _loads(name)]
    if missing:
        packages = " ".join(dict.fromkeys(wanted[name] for name in missing))
        raise ConfigError(
            f"the window cannot open without {', '.join(missing)}; "
            f"on Debian or Ubuntu: sudo apt install {packages}"
        )
    return f"{len(wanted)} of {len(wanted)} libraries for Qt's X11 platform found"


def has_display() -> bool:
    """A screen to open the window on (X11 or Wayland), as far as the environment says."""
    if not sys.platform.startswith("linux"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _loads(soname: str) -> bool:
    try:
        ctypes.CDLL(soname, mode=os.RTLD_LAZY | os.RTLD_LOCAL)
    except OSError:
        return False
    return True


def _megabytes(size: int) -> str:
    return f"{size / 1024**3:.1f} GB" if size >= 1024**3 else f"{size // 1024**2} MB"
