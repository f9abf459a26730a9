"""Which watched folder each changed path belongs to, and the fewest paths that cover a
batch of changes (a folder target means everything below it).  The scan below those
targets is `core.scanner.scan_targets`.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable

from core.store.records import Folder


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
