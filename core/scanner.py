"""Walking a watched folder to find the files Trove should know about."""

from __future__ import annotations

import os
import stat as stat_module
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
    rules = IgnoreRules.for_folder(folder.path, folder.ignore)
    stack = [folder.path]
    while stack:
        if cancel is not None and cancel.cancelled:
            return
        yield from _scan_dir(folder, stack.pop(), rules, kind_of, stack)


def _scan_dir(
    folder: Folder, directory: str, rules: IgnoreRules, kind_of: KindOf, stack: list[str]
) -> Iterator[FileStat | Skipped]:
    try:
        entries = list(os.scandir(directory))
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
    verdict = rules.check(os.path.relpath(entry.path, folder.path), is_dir)
    if is_dir:
        if verdict is None and not os.path.exists(os.path.join(entry.path, "pyvenv.cfg")):
            stack.append(entry.path)
        return None
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
