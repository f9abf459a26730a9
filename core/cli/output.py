"""How the command line shows results, status and progress."""

from __future__ import annotations

import json
import os
import re
import sys
import textwrap
import time
from collections.abc import Sequence
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any

from core.events import Progress
from core.privacy import OWN_FOLDERS_LABEL, PRIVATE_RULES, summary

if TYPE_CHECKING:
    from core.search import Result

BOLD, RESET = "\033[1m", "\033[0m"
WIDTH = 88
INDENT = " " * 10  # under the values of `trove status`, after "Private:  "

# What a terminal may take as part of a control sequence: C0 controls (ESC, BEL, ...),
# DEL and C1 controls (0x9b is CSI, 0x9d OSC).  Lone surrogates are the bytes of a file
# name that is not UTF-8; written as they are they would crash a UTF-8 stream.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# What json.dumps leaves raw with ensure_ascii=False, yet is no text for a terminal.
_UNSAFE_IN_JSON = re.compile(r"[\x7f-\x9f\ud800-\udfff]")
_SPACE = re.compile(r"\s+")


def result_json(result: Result) -> dict[str, Any]:
    return {
        "path": result.path,
        "score": result.score,
        "relevance": result.relevance,
        "snippet": result.snippet,
        "location": result.location,
        "highlights": [list(span) for span in result.highlights],
        "kind": result.kind,
        "modified": datetime.fromtimestamp(result.mtime_ns / 1e9).isoformat(timespec="seconds"),
        "passage_id": result.chunk_id,
    }


def printable(text: str) -> str:
    """``text`` made safe to write to a terminal: every control character is shown as
    an escape (``\\x1b``), and a byte of a name that is not UTF-8 as ``\\xff``.

    Shown rather than replaced by U+FFFD, so that two names differing only there stay
    distinct and the user can still find (and rename) the file, as ``ls -b`` allows.
    """
    return _UNSAFE.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # os.fsdecode's stand-in for an undecodable byte
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def print_json(value: object, out: IO[str]) -> None:
    # JSON escapes C0 controls itself; C1 controls and lone surrogates get the same
    # \uXXXX form, which parses back to exactly the same string.
    text = json.dumps(value, ensure_ascii=False)
    out.write(_UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n")


def print_results(results: list[Result], out: IO[str]) -> None:
    if not results:
        out.write("No matching files.\n")
        return
    color = out.isatty()
    for rank, result in enumerate(results, 1):
        where = f"  ({result.location})" if result.location else ""
        # Relevance, not the score: it means the same for every query (core.relevance).
        line = f"{rank:>2}. {printable(result.path)}{printable(where)}  {result.relevance:.2f}"
        out.write(line + "\n")
        out.write(f"    {_marked(result, color)}\n")


def _marked(result: Result, color: bool) -> str:
    """The snippet on one line, its matches in bold on a terminal: the only escapes in
    it are Trove's own."""
    text, parts, last = result.snippet, [], 0
    for start, end in result.highlights:
        parts.append(_one_line(text[last:start]))
        match = _one_line(text[start:end])
        parts.append(f"{BOLD}{match}{RESET}" if color else match)
        last = end
    parts.append(_one_line(text[last:]))
    return " ".join("".join(parts).split())


def _one_line(text: str) -> str:
    # White space first, so line breaks become spaces rather than visible escapes.
    return printable(_SPACE.sub(" ", text))


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
        if event.reading and event.pages_read:
            name = printable(os.path.basename(event.current))
            line += f", reading {name}: OCR page {event.pages_read}"
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


def private_lines(allowed: Sequence[str]) -> str:
    """What Trove never reads, and the single files the user allowed, for `trove status`."""
    rules = f"never read: {summary()} (`trove allow --help` lists them)"
    text = textwrap.fill(rules, WIDTH, initial_indent="Private:  ", subsequent_indent=INDENT)
    for number, path in enumerate(allowed):
        text += f"\n{'Allowed:  ' if number == 0 else INDENT}{printable(path)}"
    return text + "\n"


def private_rules_help() -> str:
    """Every private rule with its patterns, for `trove allow --help`."""
    lines = [
        textwrap.fill(
            rule.describe(),
            WIDTH,
            initial_indent="  ",
            subsequent_indent="      ",
            break_on_hyphens=False,  # keeps service-account*.json whole
        )
        for rule in PRIVATE_RULES
    ]
    own = f"  {OWN_FOLDERS_LABEL}: its data, settings, cache and state folders"
    return "Never read, whatever the ignore patterns say:\n" + "\n".join([*lines, own])
