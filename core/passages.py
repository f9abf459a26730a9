"""A document made ready for the model: its title, its text as stored, its passages and
the texts the model embeds for them."""

from __future__ import annotations

import os
from dataclasses import dataclass

from core.chunking import TITLE_TOKENS, chunk_document, passage_budget
from core.embedding import Embedder
from core.extract.base import Document
from core.store.records import Chunk


@dataclass(frozen=True, slots=True)
class Passages:
    """A document ready for the model: its title, its text as stored, its passages, and
    the texts the model embeds for them."""

    title: str
    text: str
    chunks: list[Chunk]
    inputs: list[str]
    complete: bool = True  # False: the passage limit left the rest of the file out
    taken_ns: int | None = None  # a photo's moment, for date filters (Document.taken)


def prepare_passages(
    document: Document,
    name: str,
    embedder: Embedder,
    chunk_tokens: int,
    chunk_overlap: int,
    limit: int | None = None,
) -> Passages:
    """A document's passages (at most ``limit``), each embedded led by the title, so a
    passage deep in a file still says what file it is."""
    title = (document.title or "").strip() or name_label(name)
    title_spans = embedder.token_spans(title)[:TITLE_TOKENS] if title else []
    if title_spans:
        title = title[: title_spans[-1][1]]
    budget = passage_budget(embedder.max_tokens, len(title_spans), chunk_tokens)
    chunked = chunk_document(
        document, embedder.token_spans, budget, min(chunk_overlap, budget // 4), limit
    )
    inputs = [
        f"{title}\n{c.text}" if title and not c.text.startswith(title) else c.text
        for c in chunked.chunks
    ]
    taken = int(document.taken.timestamp() * 1e9) if document.taken else None
    return Passages(title, chunked.text, chunked.chunks, inputs, chunked.complete, taken)


def name_label(name: str) -> str:
    """A file name as words ("q3-budget_final.xlsx" -> "q3 budget final"), or "" if the
    name carries no words (a number, a hash)."""
    stem = os.path.splitext(name)[0].replace("_", " ").replace("-", " ").strip()
    return stem if any(ch.isalpha() for ch in stem) else ""
