"""Splitting a document into passages measured in the model's own tokens.

A passage never exceeds what the model reads (sentence-transformers silently drops the
rest), consecutive passages overlap, and each keeps its character span in the document's
text so a match can be highlighted where it is.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from core.extract.base import Document
from core.store.records import Chunk

Span = tuple[int, int]
Tokenize = Callable[[str], list[Span]]

PIECE_SEPARATOR = "\n\n"
TITLE_TOKENS = 24
# Room for the model's own [CLS]/[SEP] and the separator between title and passage.
RESERVED_TOKENS = 4
_LINE_LABEL = re.compile(r"line (\d+)")
_SENTENCE_END = re.compile(r"[.!?:;]['\")\]]?\s*$")


@dataclass(frozen=True, slots=True)
class ChunkedDocument:
    text: str
    chunks: list[Chunk]
    # False when the passage limit cut the document short: ``text`` then ends where the
    # last passage ends.
    complete: bool = True


def passage_budget(max_tokens: int, title_tokens: int, wanted: int) -> int:
    """How many tokens a passage may hold once the title shares the model's window."""
    return max(16, min(wanted, max_tokens - RESERVED_TOKENS - title_tokens))


def join_pieces(document: Document) -> tuple[str, list[int]]:
    """The document's whole text and where each piece starts in it."""
    starts, parts, offset = [], [], 0
    for piece in document.pieces:
        starts.append(offset)
        parts.append(piece.text)
        offset += len(piece.text) + len(PIECE_SEPARATOR)
    return PIECE_SEPARATOR.join(parts), starts


def chunk_document(
    document: Document, tokenize: Tokenize, size: int, overlap: int, limit: int | None = None
) -> ChunkedDocument:
    """The document's passages; at most ``limit`` of them, and then only as much of the
    text is tokenized as those passages can hold, so a huge file costs no more memory
    than ``limit`` passages do."""
    text, starts = join_pieces(document)
    spans = _token_spans(document, starts, tokenize, None if limit is None else limit * size)
    chunks: list[Chunk] = []
    begin = 0
    while begin < len(spans):
        if limit is not None and len(chunks) >= limit:
            return ChunkedDocument(text[: chunks[-1].end], chunks, complete=False)
        end = _cut(text, spans, begin, balanced_window(len(spans) - begin, size, overlap))
        first, last = spans[begin][0], spans[end - 1][1]
        piece = bisect.bisect_right(starts, first) - 1
        location = shifted_location(document.pieces[piece].location, text, starts[piece], first)
        chunks.append(Chunk(len(chunks), first, last, location, text[first:last]))
        if end >= len(spans):
            break
        begin = max(end - overlap, begin + 1)
    return ChunkedDocument(text, chunks, complete=not document.truncated)


def balanced_window(tokens: int, size: int, overlap: int) -> int:
    """A window no longer than ``size`` that covers ``tokens`` in as few passages as
    ``size`` allows, all of about the same length.

    Plain fixed windows leave a short tail passage (a 230-token note becomes 200 + 70),
    and a fragment makes a poor vector and an inflated bm25 score.
    """
    if tokens <= size:
        return size
    count = math.ceil((tokens - overlap) / (size - overlap))
    return min(size, math.ceil((tokens + (count - 1) * overlap) / count) + 1)


def shifted_location(label: str, text: str, start: int, offset: int) -> str:
    """The location of ``text[offset:]``, given that ``text[start:]`` is at ``label``:
    "line N" moves on by the line breaks between them; other labels stay."""
    match = _LINE_LABEL.fullmatch(label)
    if match is None:
        return label
    return f"line {int(match.group(1)) + text.count(chr(10), start, offset)}"


def _token_spans(
    document: Document, starts: list[int], tokenize: Tokenize, most: int | None
) -> list[Span]:
    # Tokenizing piece by piece keeps memory flat on huge documents and never lets a
    # token straddle two pieces.  Past ``most`` tokens (and one more, which tells that
    # the text goes on) the rest would never reach a passage.
    spans: list[Span] = []
    for piece, start in zip(document.pieces, starts, strict=True):
        spans.extend((start + a, start + b) for a, b in tokenize(piece.text) if b > a)
        if most is not None and len(spans) > most:
            return spans[: most + 1]
    return spans


def _cut(text: str, spans: list[Span], begin: int, size: int) -> int:
    """End (exclusive) of the passage starting at token ``begin``: a natural break if
    one lies in the last third of the window, else the full window."""
    end = min(begin + size, len(spans))
    if end == len(spans):
        return end
    floor = begin + (2 * size) // 3
    best, best_rank = end, 0
    for i in range(end, floor, -1):
        gap = text[spans[i - 1][1] : spans[i][0]]
        rank = 3 if "\n\n" in gap else 2 if "\n" in gap else 0
        if rank == 0 and _SENTENCE_END.search(text[spans[i - 1][0] : spans[i][0]]):
            rank = 1
        if rank > best_rank:
            best, best_rank = i, rank
            if rank == 3:
                break
    return best
