"""How the command line shows results, status and progress."""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from typing import IO, Any

from core.events import Progress
from core.search import Result

BOLD, RESET = "\033[1m", "\033[0m"


def result_json(result: Result) -> dict[str, Any]:
    return {
        "path": result.path,
        "score": result.score,
        "snippet": result.snippet,
        "location": result.location,
        "highlights": [list(span) for span in result.highlights],
        "kind": result.kind,
        "modified": datetime.fromtimestamp(result.mtime_ns / 1e9).isoformat(timespec="seconds"),
        "passage_id": result.chunk_id,
    }


def print_json(value: object, out: IO[str]) -> None:
    out.write(json.dumps(value, ensure_ascii=False) + "\n")


def print_results(results: list[Result], out: IO[str]) -> None:
    if not results:
        out.write("No matching files.\n")
        return
    color = out.isatty()
    for rank, result in enumerate(results, 1):
        where = f"  ({result.location})" if result.location else ""
        out.write(f"{rank:>2}. {result.path}{where}  {result.score:.3f}\n")
        out.write(f"    {_marked(result, color)}\n")


def _marked(result: Result, color: bool) -> str:
    text, parts, last = result.snippet, [], 0
    for start, end in result.highlights:
        parts.append(text[last:start])
        parts.append(f"{BOLD}{text[start:end]}{RESET}" if color else text[start:end])
        last = end
    parts.append(text[last:])
    return " ".join("".join(parts).split())


class ProgressLine:
    """A one-line progress bar on a terminal, an occasional line elsewhere."""

    def __init__(self, out: IO[str] = sys.stderr, every_s: float = 5.0) -> None:
        self.out = out
        self.tty = out.isatty()
        self.every_s = every_s
        self._last = 0.0

    def show(self, event: Progress) -> None:
        now = time.monotonic()
        if (
            not self.tty
            and now - self._last < self.every_s
            and event.files_done < event.files_total
        ):
            return
        self._last = now
        share = event.files_done / event.files_total if event.files_total else 1.0
        bar = "#" * int(share * 30)
        eta = f", {_duration(event.eta_s)} left" if event.eta_s else ""
        line = (
            f"[{bar:<30}] {event.files_done}/{event.files_total} files, "
            f"{event.chunks_per_s:.1f} passages/s{eta}"
        )
        self.out.write(f"\r{line}\033[K" if self.tty else line + "\n")
        self.out.flush()

    def done(self) -> None:
        if self.tty:
            self.out.write("\n")


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds // 60 % 60:02d}m"
