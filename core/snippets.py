"""The passage shown with a result: cleaned for reading, led by the sentence that best
matches the query, query words marked.

The best sentence is the one holding the most query-word weight, a word weighing more
the fewer of the passage's sentences hold it (so "monthly" beats a "rent" said in every
clause).  The snippet starts at that sentence, so the answer is read whole, rather than
around the densest cluster of hits, which can end just before the answer.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from core.chunking import shifted_location
from core.markup import readable
from core.sentences import Span, sentence_spans, starts_mid_sentence
from core.terms import Terms

SNIPPET_CHARS = 320
ELLIPSIS = "…"
_WORD_SEARCH = 30  # characters searched for a space to cut at


@dataclass(frozen=True, slots=True)
class Snippet:
    text: str
    highlights: list[tuple[int, int]]  # character spans in ``text``
    start: int = 0  # where the shown text starts in the passage
    location: str = ""  # the passage's location, moved to the line the snippet starts on


def make_snippet(
    terms: Terms,
    passage: str,
    stems: frozenset[str],
    width: int = SNIPPET_CHARS,
    *,
    prose: bool = True,
    location: str = "",
) -> Snippet:
    """About ``width`` characters of ``passage`` to show, with ``stems`` marked.  Prose
    is cleaned of Markdown and HTML markup; code (``prose`` off) keeps it, and each of
    its lines counts as a sentence.  ``location`` is where the passage starts ("line
    120"): a snippet from further in names its own line."""
    shown = readable(passage, markup=prose)
    text = shown.text
    sentences = [(shown.index(a), shown.index(b)) for a, b in sentence_spans(passage, not prose)]
    sentences = [(a, b) for a, b in sentences if a < b]
    hits = [(a, b, stem) for a, b, stem in terms.positions(text) if stem in stems]
    # Passages overlap, so many open with the tail of a sentence: it is shown only if
    # it holds the best match, and then after an ellipsis.  Code gives no sign of a cut
    # line (lower case is the norm), so its first line is taken for one.
    tail = len(sentences) > 1 and (starts_mid_sentence(text) if prose else True)
    start, end = _window(text, sentences, hits, width, tail)
    prefix = ELLIPSIS if text[:start].strip() or (tail and start <= sentences[0][0]) else ""
    suffix = ELLIPSIS if text[end:].strip() else ""
    shift = start - len(prefix)
    marks = [(a - shift, b - shift) for a, b, _ in hits if a >= start and b <= end]
    offset = shown.origin[start]
    return Snippet(
        prefix + text[start:end] + suffix,
        marks,
        offset,
        shifted_location(location, passage, 0, offset),
    )


def _window(
    text: str, sentences: list[Span], hits: list[tuple[int, int, str]], width: int, tail: bool
) -> tuple[int, int]:
    if not sentences:
        return 0, _cut_end(text, [], 0, width)
    first = 1 if tail else 0
    best = _best_sentence(sentences, hits, first)
    if best < first:
        start = sentences[0][0]
    else:
        start = _lead_in(text, sentences[first:], best - first, hits, width)
    return start, _cut_end(text, sentences, start, width)


def _best_sentence(sentences: list[Span], hits: list[tuple[int, int, str]], first: int) -> int:
    """The sentence with the most query-word weight; with no query word in the passage
    (a match by meaning), the first whole sentence."""
    held = [{stem for a, b, stem in hits if s <= a and b <= e} for s, e in sentences]
    spread = Counter(stem for stems in held for stem in stems)
    if not spread:
        return first
    weight = {stem: math.log(1 + len(sentences) / n) for stem, n in spread.items()}
    scores = [sum(weight[stem] for stem in stems) for stems in held]
    return max(range(len(sentences)), key=lambda i: (scores[i], -i))


def _lead_in(
    text: str, sentences: list[Span], best: int, hits: list[tuple[int, int, str]], width: int
) -> int:
    """Where the snippet starts: at the best sentence, or the one before it when the best
    is short; earlier still when the passage ends before the snippet is full; inside the
    best sentence only when it is too long to reach its first query word."""
    start, end = sentences[best]
    if end - start > width:
        first_hit = next((a for a, _, _ in hits if start <= a < end), start)
        if first_hit > start + width * 4 // 5:
            return _word_start(text, first_hit - width // 5)
        return start
    if best > 0 and end - start < width // 3 and end - sentences[best - 1][0] <= width // 2:
        start = sentences[best - 1][0]
    fill_from = len(text.rstrip()) - width
    return min((a for a, _ in sentences if fill_from <= a <= start), default=start)


def _cut_end(text: str, sentences: list[Span], start: int, width: int) -> int:
    """Where the snippet ends: the passage's end if it is near, else the last sentence
    end in the final third of the room, else a word's end."""
    limit = start + width
    if limit >= len(text.rstrip()):
        return len(text.rstrip())
    ends = [e for _, e in sentences if start + width * 2 // 3 <= e <= limit]
    return ends[-1] if ends else _word_end(text, limit)


def _word_start(text: str, index: int) -> int:
    if index <= 0:
        return 0
    if text[index - 1] == " ":
        return index
    space = text.find(" ", index, index + _WORD_SEARCH)
    return space + 1 if space != -1 else index


def _word_end(text: str, index: int) -> int:
    if index >= len(text) or text[index] == " ":
        return index
    space = text.rfind(" ", index - _WORD_SEARCH, index)
    return space if space != -1 else index
