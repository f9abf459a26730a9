"""Walking a watched folder to find the files Trove should know about."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

from core.events import CancelToken
from core.ignore import IgnoreRules
from core.store.records import FileStat, Folder

KindOf = Callable[[str], str | None]


def scan_folder(
    folder: Folder, kind_of: KindOf, cancel: CancelToken | None = None
) -> Iterator[FileStat]:
    """Every file below ``folder`` that has a kind Trove reads, ignore rules applied.

    Symbolic links are not followed: a link could lead out of the watched folder, or in a
    loop.  A folder holding ``pyvenv.cfg`` is a Python virtual environment and skipped.
    """
    rules = IgnoreRules.for_folder(folder.path, folder.ignore)
    stack = [folder.path]
    while stack:
        if cancel is not None and cancel.cancelled:
            return
        yield from _scan_dir(folder, stack.pop(), rules, kind_of, stack)


def _scan_dir(
    folder: Folder, directory: str, rules: IgnoreRules, kind_of: KindOf, stack: list[str]
) -> Iterator[FileStat]:
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return  # unreadable or vanished: nothing below it can be indexed now
    for entry in entries:
        try:
            if entry.is_symlink():
                continue
            is_dir = entry.is_dir(follow_symlinks=False)
            relative = os.path.relpath(entry.path, folder.path)
            if rules.check(relative, is_dir) is not None:
                continue
            if is_dir:
                if not os.path.exists(os.path.join(entry.path, "pyvenv.cfg")):
                    stack.append(entry.path)
                continue
            if not entry.is_file(follow_symlinks=False):
                continue  # sockets, pipes, devices
            kind = kind_of(entry.path)
            if kind is None:
                continue
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue  # vanished between listing and looking
        yield FileStat(entry.path, folder.id, info.st_size, info.st_mtime_ns, kind)
