"""Walking a watched folder to find the files Trove should know about."""

from __future__ import annotations

import os
import stat as stat_module
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from core.events import CancelToken
from core.ignore import IgnoreRules
from core.store.records import FileStat, Folder

KindOf = Callable[[str], str | None]


@dataclass(frozen=True, slots=True)
class Skipped:
    """A file seen but not read, and why: it goes in the ledger as it is."""

    stat: FileStat
    state: str  # "excluded" or "failed"
    reason: str


def scan_folder(
    folder: Folder, kind_of: KindOf, cancel: CancelToken | None = None
) -> Iterator[FileStat | Skipped]:
    """Every file below ``folder`` with a kind Trove reads, and the ones it leaves alone.

    Symbolic links are not followed: a link could lead out of the watched folder, or in a
    loop.  Folders matched by the ignore rules are not entered; a folder holding
    ``pyvenv.cfg`` is a Python virtual environment and is not entered either.
    """
    return scan_targets(folder, [folder.path], kind_of, cancel)


def scan_targets(
    folder: Folder, targets: list[str], kind_of: KindOf, cancel: CancelToken | None = None
) -> Iterator[FileStat | Skipped]:
    """What a full scan of ``folder`` would yield at or below ``targets`` (changed files,
    or folders meaning everything below them): neither more nor less, so that a targeted
    pass settles them exactly as a full pass would."""
    rules = IgnoreRules.for_folder(folder.path, folder.ignore)
    stack: list[str] = []
    files_by_parent: dict[str, set[str]] = defaultdict(set)
    for target in targets:
        if target == folder.path:
            stack.append(target)
        elif _reachable(folder, os.path.dirname(target), rules):
            if _is_real_dir(target):
                if _entered(folder, target, rules):
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
    rules: IgnoreRules,
    kind_of: KindOf,
    stack: list[str],
    wanted: set[str] | None = None,
) -> Iterator[FileStat | Skipped]:
    """The entries of ``directory`` (only those in ``wanted`` if given); the folders to
    enter go on ``stack``."""
    try:
        entries = [e for e in os.scandir(directory) if wanted is None or e.path in wanted]
    except OSError:
        return  # unreadable or vanished: nothing below it can be indexed now
    for entry in entries:
        try:
            found = _look(folder, entry, rules, kind_of, stack)
        except OSError:
            continue  # vanished between listing and looking
        if found is not None:
            yield found


def _look(
    folder: Folder,
    entry: os.DirEntry[str],
    rules: IgnoreRules,
    kind_of: KindOf,
    stack: list[str],
) -> FileStat | Skipped | None:
    info = entry.stat(follow_symlinks=False)
    is_dir = stat_module.S_ISDIR(info.st_mode)
    if is_dir:
        if _entered(folder, entry.path, rules):
            stack.append(entry.path)
        return None
    verdict = rules.check(os.path.relpath(entry.path, folder.path), False)
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


def _entered(folder: Folder, directory: str, rules: IgnoreRules) -> bool:
    """Whether a scan goes into ``directory``, a real folder: not ignored, and not a
    Python virtual environment."""
    if rules.check(os.path.relpath(directory, folder.path), True) is not None:
        return False
    return not os.path.exists(os.path.join(directory, "pyvenv.cfg"))


def _reachable(folder: Folder, directory: str, rules: IgnoreRules) -> bool:
    """Whether a full scan would enter ``directory`` (and every folder above it)."""
    while directory != folder.path:
        if not directory.startswith(folder.path):
            return False
        if not (_is_real_dir(directory) and _entered(folder, directory, rules)):
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
