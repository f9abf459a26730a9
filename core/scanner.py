"""Walking a watched folder to find the files Trove should know about."""

from __future__ import annotations

import errno
import os
import stat as stat_module
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from core.events import CancelToken
from core.ignore import IgnoreRules, Verdict
from core.privacy import PrivateRules
from core.store.records import FileStat, Folder

KindOf = Callable[[str], str | None]


@dataclass(frozen=True, slots=True)
class Skipped:
    """A file seen but not read, and why: it goes in the ledger as it is."""

    stat: FileStat
    state: str  # "excluded" or "failed"
    reason: str


@dataclass(frozen=True, slots=True)
class Unlisted(Skipped):
    """A folder that cannot be listed (no permission, a path too long for the OS): what
    the index knows below it is failed, not forgotten."""


# The ledger row of a folder that cannot be listed.
FOLDER_KIND = "folder"
UNLISTED = "this folder cannot be listed, so nothing below it is searchable: "


@dataclass(frozen=True, slots=True)
class _Rules:
    """The private rules, then the folder's ignore rules: no pattern can bring a private
    path back."""

    root: str
    private: PrivateRules
    ignore: IgnoreRules

    def check(self, path: str, is_dir: bool) -> Verdict | None:
        verdict = self.private.check(path, is_dir)
        return verdict or self.ignore.check(os.path.relpath(path, self.root), is_dir)


def unreachable(folder: str) -> str | None:
    """Why a watched folder cannot be scanned now, or None when it can.  A folder that
    has become a symbolic link (``mv docs docs.old; ln -s /elsewhere docs``) is not
    followed: the link could lead anywhere, and the person chose ``docs``, not where it
    now points."""
    if not os.path.isdir(folder):
        return "is not reachable (offline, unmounted or removed)"
    real = os.path.realpath(folder)
    if real != folder:
        return f"is now a symbolic link (to {real}), which Trove does not follow"
    return None


def scan_folder(
    folder: Folder,
    kind_of: KindOf,
    cancel: CancelToken | None = None,
    private: PrivateRules | None = None,
) -> Iterator[FileStat | Skipped]:
    """Every file below ``folder`` with a kind Trove reads, and the ones it leaves alone.

    Symbolic links are not followed: a link could lead out of the watched folder, or in a
    loop.  Private folders (``core.privacy``) and folders matched by the ignore rules are
    not entered; a folder holding ``pyvenv.cfg`` is a Python virtual environment and is
    not entered either.
    """
    return scan_targets(folder, [folder.path], kind_of, cancel, private)


def scan_targets(
    folder: Folder,
    targets: list[str],
    kind_of: KindOf,
    cancel: CancelToken | None = None,
    private: PrivateRules | None = None,
) -> Iterator[FileStat | Skipped]:
    """What a full scan of ``folder`` would yield at or below ``targets`` (changed files,
    or folders meaning everything below them): neither more nor less, so that a targeted
    pass settles them exactly as a full pass would."""
    private = private or PrivateRules()
    if private.enclosing(folder.path) is not None:
        return  # watched before Trove refused such folders: yield nothing, so it is forgotten
    rules = _Rules(folder.path, private, IgnoreRules.for_folder(folder.path, folder.ignore))
    stack: list[str] = []
    files_by_parent: dict[str, set[str]] = defaultdict(set)
    for target in targets:
        if target == folder.path:
            stack.append(target)
        elif _reachable(folder, os.path.dirname(target), rules):
            if _is_real_dir(target):
                if _entered(target, rules):
                    stack.append(target)
            else:
                files_by_parent[os.path.dirname(target)].add(target)
    # One listing per parent folder: a burst touches thousands of files in few folders.
    for parent, wanted in files_by_parent.items():
        yield from _scan_dir(folder, parent, rules, kind_of, stack, wanted)
    while stack:
        if cancel is not None and cancel.cancelled:
            return
        yield from _scan_dir(folder, stack.pop(), rules, kind_of, stack)


def _scan_dir(
    folder: Folder,
    directory: str,
    rules: _Rules,
    kind_of: KindOf,
    stack: list[str],
    wanted: set[str] | None = None,
) -> Iterator[FileStat | Skipped]:
    """The entries of ``directory`` (only those in ``wanted`` if given); the folders to
    enter go on ``stack``."""
    try:
        entries = [e for e in os.scandir(directory) if wanted is None or e.path in wanted]
    except OSError as error:
        if not _vanished(error):
            yield Unlisted(_folder_stat(folder, directory), "failed", UNLISTED + _why(error))
        return
    for entry in entries:
        try:
            found = _look(folder, entry, rules, kind_of, stack)
        except OSError as error:
            if _vanished(error):
                continue  # gone between listing and looking
            found = _unseen(folder, entry, kind_of, error)
        if found is not None:
            yield found


def _vanished(error: OSError) -> bool:
    return error.errno in (errno.ENOENT, errno.ENOTDIR)


def _unseen(
    folder: Folder, entry: os.DirEntry[str], kind_of: KindOf, error: OSError
) -> Skipped | None:
    """A listed entry that cannot be looked at (a path too long for the OS, a folder that
    cannot be entered): recorded with the reason, so it is not silently missing."""
    if entry.is_dir(follow_symlinks=False):
        return Unlisted(_folder_stat(folder, entry.path), "failed", UNLISTED + _why(error))
    kind = kind_of(entry.path)
    if kind is None:
        return None  # not a document: it would not be listed anyway
    stat = FileStat(_storable(entry.path), folder.id, 0, 0, kind)
    return Skipped(stat, "failed", f"Trove cannot look at it: {_why(error)}")


def _folder_stat(folder: Folder, directory: str) -> FileStat:
    return FileStat(_storable(directory), folder.id, 0, 0, FOLDER_KIND)


def _why(error: OSError) -> str:
    if error.errno == errno.ENAMETOOLONG:
        return "its path is longer than the system allows (move or rename it)"
    return (error.strerror or str(error)).lower()


def _look(
    folder: Folder,
    entry: os.DirEntry[str],
    rules: _Rules,
    kind_of: KindOf,
    stack: list[str],
) -> FileStat | Skipped | None:
    info = entry.stat(follow_symlinks=False)
    is_dir = stat_module.S_ISDIR(info.st_mode)
    if is_dir:
        if _entered(entry.path, rules):
            stack.append(entry.path)
        return None
    verdict = rules.check(entry.path, False)
    kind = kind_of(entry.path)
    if kind is None and not entry.is_symlink():
        return None  # not a document: pictures, programs, archives...
    found = FileStat(
        _storable(entry.path), folder.id, info.st_size, info.st_mtime_ns, kind or "link"
    )
    if found.path != entry.path:
        return Skipped(found, "failed", "the file name is not valid text (UTF-8); rename it")
    if verdict is not None:
        return Skipped(found, "excluded", verdict.rule)
    if entry.is_symlink():
        return Skipped(found, "excluded", "symbolic link: links are not followed")
    if not stat_module.S_ISREG(info.st_mode):
        return Skipped(found, "failed", f"not a regular file ({_special(info.st_mode)})")
    return found


def _entered(directory: str, rules: _Rules) -> bool:
    """Whether a scan goes into ``directory``, a real folder: not private, not ignored,
    and not a Python virtual environment."""
    if rules.check(directory, True) is not None:
        return False
    return not os.path.exists(os.path.join(directory, "pyvenv.cfg"))


def _reachable(folder: Folder, directory: str, rules: _Rules) -> bool:
    """Whether a full scan would enter ``directory`` (and every folder above it)."""
    while directory != folder.path:
        if not directory.startswith(folder.path):
            return False
        if not (_is_real_dir(directory) and _entered(directory, rules)):
            return False
        directory = os.path.dirname(directory)
    return True


def _is_real_dir(path: str) -> bool:
    try:
        return stat_module.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _storable(path: str) -> str:
    """``path`` itself, or a readable stand-in when the name holds bytes that are not
    UTF-8 (possible on Linux), which SQLite text cannot hold."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return os.fsencode(path).decode("utf-8", "backslashreplace")


def _special(mode: int) -> str:
    if stat_module.S_ISFIFO(mode):
        return "a named pipe"
    if stat_module.S_ISSOCK(mode):
        return "a socket"
    if stat_module.S_ISCHR(mode) or stat_module.S_ISBLK(mode):
        return "a device"
    return "a special file"
