"""The passage shown with a result: trimmed around the query's words, words marked."""

from __future__ import annotations

from dataclasses import dataclass

from core.terms import Terms

SNIPPET_CHARS = 320


@dataclass(frozen=True, slots=True)
class Snippet:
    text: str
    highlights: list[tuple[int, int]]  # character spans in ``text``


def make_snippet(
    terms: Terms, passage: str, stems: frozenset[str], width: int = SNIPPET_CHARS
) -> Snippet:
    hits = [(a, b) for a, b, stem in terms.positions(passage) if stem in stems]
    start, end = _window(passage, hits, width)
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(passage) else ""
    shift = start - len(prefix)
    body = passage[start:end]
    marks = [(a - shift, b - shift) for a, b in hits if a >= start and b <= end]
    return Snippet(prefix + body + suffix, marks)


def _window(passage: str, hits: list[tuple[int, int]], width: int) -> tuple[int, int]:
    """The ``width``-character stretch holding the most hits, cut at spaces."""
    if len(passage) <= width:
        return 0, len(passage)
    best_start, best_count = 0, 0
    for i, (a, _) in enumerate(hits):
        count = sum(1 for x, _ in hits[i:] if x < a + width)
        if count > best_count:
            best_start, best_count = max(0, a - width // 5), count
    start = _word_start(passage, min(best_start, len(passage) - width))
    end = _word_end(passage, min(len(passage), start + width))
    return start, end


def _word_start(text: str, index: int) -> int:
    if index <= 0:
        return 0
    space = text.find(" ", index, index + 30)
    return space + 1 if space != -1 else index


def _word_end(text: str, index: int) -> int:
    if index >= len(text):
        return len(text)
    space = text.rfind(" ", index - 30, index)
    return space if space != -1 else index
