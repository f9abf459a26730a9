"""A targeted pass: the part of a watched folder that a set of changed paths covers.

A target is a path that changed: a file, or a folder (meaning "everything below it").
The targeted scan must see exactly what a full scan of the folder would see below those
targets, neither more (ignored folders, virtual environments, symbolic links are not
entered) nor less, so that a targeted pass settles them exactly as a full pass would.
"""

from __future__ import annotations

import os
import stat as stat_module
from collections import defaultdict
from collections.abc import Iterable, Iterator

from core.events import CancelToken
from core.ignore import IgnoreRules
from core.scanner import KindOf, Skipped, _look, _scan_dir
from core.store.records import FileStat, Folder


def targets_by_folder(paths: Iterable[str], folders: list[Folder]) -> dict[int, list[str]]:
    """The changed paths grouped by the watched folder that holds them, each group
    reduced to its outermost paths (a folder target covers what lies below it)."""
    grouped: dict[int, set[str]] = defaultdict(set)
    for path in paths:
        for folder in folders:
            if path == folder.path or path.startswith(os.path.join(folder.path, "")):
                grouped[folder.id].add(path)
                break
    return {folder_id: _outermost(found) for folder_id, found in grouped.items()}


def scan_targets(
    folder: Folder, targets: list[str], kind_of: KindOf, cancel: CancelToken | None = None
) -> Iterator[FileStat | Skipped]:
    """What a full scan of ``folder`` would yield at or below ``targets``."""
    rules = IgnoreRules.for_folder(folder.path, folder.ignore)
    stack: list[str] = []
    files_by_parent: dict[str, set[str]] = defaultdict(set)
    for target in targets:
        if target == folder.path:
            stack.append(target)
        elif _reachable(folder, os.path.dirname(target), rules):
            if _is_real_dir(target):
                if _enterable(folder, target, rules):
                    stack.append(target)
            else:
                files_by_parent[os.path.dirname(target)].add(target)
    for parent, wanted in files_by_parent.items():
        yield from _scan_some(folder, parent, wanted, rules, kind_of, stack)
    while stack:
        if cancel is not None and cancel.cancelled:
            return
        yield from _scan_dir(folder, stack.pop(), rules, kind_of, stack)


def _scan_some(
    folder: Folder,
    parent: str,
    wanted: set[str],
    rules: IgnoreRules,
    kind_of: KindOf,
    stack: list[str],
) -> Iterator[FileStat | Skipped]:
    # One listing per parent folder: a burst touches thousands of files in few folders.
    try:
        entries = [entry for entry in os.scandir(parent) if entry.path in wanted]
    except OSError:
        return
    for entry in entries:
        try:
            found = _look(folder, entry, rules, kind_of, stack)
        except OSError:
            continue
        if found is not None:
            yield found


def _reachable(folder: Folder, directory: str, rules: IgnoreRules) -> bool:
    """Whether a full scan would enter ``directory`` (and every folder above it)."""
    while directory != folder.path:
        if not directory.startswith(folder.path) or not _enterable(folder, directory, rules):
            return False
        directory = os.path.dirname(directory)
    return True


def _enterable(folder: Folder, directory: str, rules: IgnoreRules) -> bool:
    if not _is_real_dir(directory):
        return False
    if rules.check(os.path.relpath(directory, folder.path), True) is not None:
        return False
    return not os.path.exists(os.path.join(directory, "pyvenv.cfg"))


def _is_real_dir(path: str) -> bool:
    try:
        return stat_module.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _outermost(paths: set[str]) -> list[str]:
    kept: set[str] = set()
    for path in sorted(paths, key=len):  # parents are shorter than what lies below them
        if not _covered(path, kept):
            kept.add(path)
    return sorted(kept)


def _covered(path: str, targets: set[str]) -> bool:
    while True:
        if path in targets:
            return True
        parent = os.path.dirname(path)
        if parent == path:
            return False
        path = parent
