"""What Trove answers to other programs: an AI assistant over MCP (core.mcp_server) and
a ``trove search`` asking a running Trove (core.answering).

Read-only by construction: the index is opened through a read-only connection, the
only files it reads are those in the index (by their text as indexed, never the file on
disk), and every size a caller chooses is bounded.  Bad input raises ``RequestError``
with a sentence for the caller; nothing here writes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.app import Trove
from core.dates import HINT, parse_since
from core.errors import ConfigError
from core.paths import Locations
from core.search import Result

MAX_LIMIT = 50  # results a call may ask for
MAX_READ = 20_000  # characters of text one read returns
READ_PASSAGES = 3  # passages one read by passage number returns, from that one on


class RequestError(ConfigError):
    """A request that cannot be answered as asked: the message says why."""


@dataclass(frozen=True, slots=True)
class Passage:
    """One passage of a file as indexed: its place in the file's text."""

    number: int  # 1 for the file's first passage
    chunk_id: int
    start: int
    end: int


class Service:
    """Search, similar files, reading indexed text and the index's state, for callers
    outside the process.  Not thread-safe: one call at a time."""

    def __init__(self, trove: Trove) -> None:
        self.trove = trove

    @classmethod
    def open(cls, locations: Locations | None = None) -> Service:
        locations = locations or Locations.from_environment()
        if not locations.database.exists():
            raise ConfigError(
                f"there is no index at {locations.database}; "
                "add a folder with `trove add FOLDER`, then `trove index`"
            )
        return cls(Trove.open(locations, readonly=True))

    def close(self) -> None:
        self.trove.close()

    def warm(self) -> None:
        """Load the model now, so that the first search does not wait for it."""
        self.trove.embedder.embed_query("warm up")

    # -- the calls -------------------------------------------------------------------

    def search(
        self,
        query: str,
        limit: int = 10,
        *,
        types: list[str] | None = None,
        folder: str | None = None,
        since: str | None = None,
        everything: bool = False,
    ) -> list[dict[str, Any]]:
        """The files that match ``query`` best, each with its best passage."""
        if not isinstance(query, str) or not query.strip():
            raise RequestError("the query is empty")
        results = self.trove.search(
            query,
            _limit(limit),
            types=types or None,
            folder=_folder(folder) if folder else None,
            since=_since(since) if since else None,
            floor=not everything,
        )
        return self._results(results)

    def similar(self, path: str, limit: int = 10) -> list[dict[str, Any]]:
        """The indexed files nearest in meaning to an indexed file."""
        row = self._indexed(path)
        return self._results(self.trove.similar(row.path, _limit(limit)))

    def read(
        self,
        path: str,
        *,
        passage: int | None = None,
        start: int | None = None,
        end: int | None = None,
    ) -> dict[str, Any]:
        """Text of an indexed file as Trove extracted it: from passage ``passage`` (and
        the next ones), or characters ``start`` to ``end``; at most ``MAX_READ``."""
        row = self._indexed(path)
        text = self.trove.store.texts.document(row.id) or ""
        passages = self.passages(row.id)
        if passage is not None:
            if start is not None or end is not None:
                raise RequestError("give either a passage or a start and end, not both")
            if not 1 <= _whole(passage, "passage") <= len(passages):
                raise RequestError(f"{row.path} has passages 1 to {len(passages)}")
            shown = passages[passage - 1 : passage - 1 + READ_PASSAGES]
            start, end = shown[0].start, shown[-1].end
        start = _whole(0 if start is None else start, "start")
        end = _whole(len(text) if end is None else end, "end")
        if not 0 <= start <= end:
            raise RequestError("start and end must satisfy 0 <= start <= end")
        end = min(end, len(text), start + MAX_READ)
        return {
            "path": row.path,
            "start": start,
            "end": end,
            "length": len(text),
            "passages": len(passages),
            "more": end < len(text),
            "text": text[start:end],
        }

    def status(self) -> dict[str, Any]:
        status = self.trove.status()
        return {
            "index": str(status.database),
            "folders": [folder.path for folder in status.folders],
            "files": status.states,
            "passages": status.chunks,
            "model": status.model or status.configured_model,
            "dimensions": status.dimension,
        }

    # -- helpers ---------------------------------------------------------------------

    def passages(self, file_id: int) -> list[Passage]:
        spans = self.trove.store.passage_spans(file_id)
        return [Passage(n, chunk, start, end) for n, (chunk, start, end) in enumerate(spans, 1)]

    def _indexed(self, path: str) -> Any:
        """The index's row of ``path``, which must be an indexed file in a watched
        folder; anything else is refused with the same words, whether it exists or not."""
        if not isinstance(path, str) or not path or "\x00" in path:
            raise RequestError("give the path of a file in Trove's index")
        real = os.path.realpath(os.path.expanduser(path))
        row = self.trove.store.file_by_path(real)
        watched = {folder.id for folder in self.trove.folders()}
        if row is None or row.state != "indexed" or row.folder_id not in watched:
            raise RequestError(f"{path} is not a file in Trove's index")
        return row

    def _results(self, results: list[Result]) -> list[dict[str, Any]]:
        """Results as JSON, with the matched passage's number in its file (for ``read``):
        one query per file."""
        numbers = {
            p.chunk_id: p.number
            for file_id in {r.file_id for r in results}
            for p in self.passages(file_id)
        }
        return [_result(r, numbers.get(r.chunk_id)) for r in results]


def _result(result: Result, passage: int | None) -> dict[str, Any]:
    return {
        "path": result.path,
        "title": os.path.basename(result.path),
        "score": round(result.relevance, 4),
        "location": result.location,
        "passage": passage,
        "text": result.snippet,
        "kind": result.kind,
        "modified": datetime.fromtimestamp(result.mtime_ns / 1e9).isoformat(timespec="seconds"),
    }


def _limit(limit: object) -> int:
    number = _whole(limit, "limit")
    if not 1 <= number <= MAX_LIMIT:
        raise RequestError(f"limit must be between 1 and {MAX_LIMIT}, not {number}")
    return number


def _whole(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise RequestError(f"{name} must be a whole number")
    return value


def _folder(folder: str) -> str:
    if not isinstance(folder, str) or "\x00" in folder:
        raise RequestError("folder must be a path")
    return os.path.expanduser(folder)


def _since(value: object) -> datetime:
    if not isinstance(value, str):
        raise RequestError(f"since must be a date; {HINT}")
    try:
        return parse_since(value)
    except ValueError as exc:
        raise RequestError(str(exc)) from None
