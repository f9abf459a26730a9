"""What a search may be limited to: file types, one folder tree, recent files."""

from __future__ import annotations

from dataclasses import dataclass

from core.store.records import folder_prefix_bounds


@dataclass(frozen=True, slots=True)
class Filters:
    """Limits a search to some file types, one folder tree, or recent files."""

    exts: frozenset[str] = frozenset()
    folder: str | None = None
    since_s: int | None = None

    @property
    def empty(self) -> bool:
        return not self.exts and not self.folder and self.since_s is None

    def file_sql(self) -> tuple[str, list[object]]:
        """SQL conditions on the files table (as ``fi``), each after an AND, and their
        parameters."""
        clauses: list[str] = []
        params: list[object] = []
        if self.exts:
            clauses.append(f"fi.ext IN ({','.join('?' * len(self.exts))})")
            params.extend(sorted(self.exts))
        if self.folder:
            low, high = folder_prefix_bounds(self.folder)
            clauses.append("fi.dir >= ? AND fi.dir < ?")
            params.extend([low, high])
        if self.since_s is not None:
            # A photo's date is when it was taken, a copy's or an edit's notwithstanding.
            clauses.append("coalesce(fi.taken_ns, fi.mtime_ns) >= ?")
            params.append(self.since_s * 1_000_000_000)
        return "".join(f" AND {c}" for c in clauses), params
