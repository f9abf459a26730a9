"""Where Trove keeps its files.

By default the per-user folders of the operating system (through platformdirs).  When the
environment variable ``TROVE_HOME`` is set, everything (index, settings, cache, logs) lives
under that one folder instead; tests and portable installs use it.

The index holds the names and the text of the user's documents, so Trove's folders are
readable by their owner alone (0700, files 0600) whatever the umask.  The umask itself is
left alone: the programs the desktop app starts would inherit it.
"""

from __future__ import annotations

import glob
import os
import stat
import tempfile
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "Trove"
HOME_VARIABLE = "TROVE_HOME"
# Where a change of model builds its new index, inside the data folder.
NEXT_INDEX_FOLDER = "next-index"
PRIVATE_FOLDER = 0o700
PRIVATE_FILE = 0o600
# Trove's own files (the index with SQLite's files beside it and the writer lock, backups
# taken before migrating, settings, window layout).  Anything else in a TROVE_HOME is the
# user's and keeps its mode.
OWN_FILES = ("index.sqlite3*", "index.before-*", "settings.json", "window.json")


@dataclass(frozen=True, slots=True)
class Locations:
    data: Path
    config: Path
    cache: Path
    # Things remembered between runs that are neither settings nor data (window layout).
    state: Path | None = None

    @classmethod
    def from_environment(cls) -> Locations:
        home = os.environ.get(HOME_VARIABLE)
        if home:
            return cls.under(Path(home))
        return cls(
            data=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
            config=Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
            cache=Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)),
            state=Path(platformdirs.user_state_dir(APP_NAME, appauthor=False)),
        )

    @classmethod
    def under(cls, root: Path) -> Locations:
        """Everything in one folder, as ``TROVE_HOME`` asks."""
        root = root.expanduser().resolve()
        return cls(data=root, config=root, cache=root / "cache", state=root / "state")

    @property
    def database(self) -> Path:
        return self.data / "index.sqlite3"

    @property
    def settings(self) -> Path:
        return self.config / "settings.json"

    @property
    def window_state(self) -> Path:
        return (self.state or self.data) / "window.json"

    def own_folders(self) -> list[Path]:
        """The folders that are Trove's alone; never one above them (``~/.config``)."""
        folders = (self.data, self.config, self.cache, self.state, self.next_index)
        return list(dict.fromkeys(folder for folder in folders if folder is not None))

    @property
    def next_index(self) -> Path:
        return self.data / NEXT_INDEX_FOLDER

    def ensure(self) -> None:
        """Make Trove's folders, and make private again what an older Trove (or a copy
        made under another umask) left readable by others."""
        for folder in (self.data, self.config, self.cache):
            make_private_folder(folder)
        for folder in self.own_folders():
            keep_private(folder)


def make_private_folder(folder: Path) -> None:
    """Create ``folder`` for its owner alone.  Missing folders above it are made with the
    usual mode: they are not Trove's, and other programs may share them."""
    if folder.is_dir():
        return
    folder.parent.mkdir(parents=True, exist_ok=True)
    try:
        folder.mkdir(mode=PRIVATE_FOLDER)
    except FileExistsError:
        if not folder.is_dir():
            raise
        return  # another process made it a moment ago, and sets its mode
    _restrict(folder, PRIVATE_FOLDER)  # mkdir's mode passes through the umask


def create_private_file(path: Path) -> None:
    """Create ``path`` empty, for its owner alone, unless something is there already.

    Made before SQLite opens a new database: SQLite gives the -wal and -shm files beside
    it the database file's mode, so all three stay private.
    """
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))


def remove_abandoned(path: Path) -> None:
    """Remove what dead processes left on their way to writing ``path``: the files named
    ``<its name>.<pid>.<anything>`` that Trove's copies are written through, of processes
    that are gone (a crash in the middle of a save).  Where a process cannot be asked
    whether it lives (Windows), nothing is removed."""
    if os.name != "posix":
        return
    for left in path.parent.glob(f"{glob.escape(path.name)}.*.*"):
        pid = left.name.removeprefix(f"{path.name}.").split(".", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            left.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # no signal: only whether there is such a process
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's
        return True
    return True


def keep_private(folder: Path) -> None:
    """Set one of Trove's folders, and Trove's own files in it, to their private modes."""
    if os.name != "posix" or not folder.is_dir():
        return  # Windows keeps a user's profile private through its ACLs instead
    _restrict(folder, PRIVATE_FOLDER)
    for pattern in OWN_FILES:
        for path in folder.glob(pattern):
            if path.is_file():
                _restrict(path, PRIVATE_FILE)


def _restrict(path: Path, mode: int) -> None:
    if os.name != "posix":
        return
    # FAT drives and some network shares hold no modes (chmod fails or is ignored);
    # there the mount decides who reads, and Trove still works.
    with suppress(OSError):
        if stat.S_IMODE(path.stat().st_mode) != mode:
            path.chmod(mode)


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a crash leaves either the old file or the new
    one, never half of it.  The file is readable by its owner alone (mkstemp's mode)."""
    make_private_folder(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
