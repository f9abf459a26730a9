"""Passages fit the model's window exactly, overlap, and map back to the text."""

from __future__ import annotations

import pytest

from core.chunking import chunk_document, passage_budget
from core.embedding import SentenceTransformerEmbedder
from core.extract.base import Document, Piece
from tests.fakes import FakeEmbedder

pytestmark = pytest.mark.model


def _long_document() -> Document:
    sentence = (
        "The committee reviewed the quarterly figures for the northern depot, "
        "noting unusually high humidity readings in storage bay {n}. "
    )
    body = "".join(sentence.format(n=n) for n in range(120))
    return Document(
        [
            Piece("Preface.\nShort intro line.", "line 1"),
            Piece(body, "line 4"),
            Piece("Signed, the board.", "page 9"),
        ]
    )


def test_passages_never_exceed_the_models_window(
    real_embedder: SentenceTransformerEmbedder,
) -> None:
    title = "Quarterly depot report with a deliberately long and wordy title " * 4
    title_tokens = real_embedder.token_spans(title)[:24]
    title = title[: title_tokens[-1][1]]
    budget = passage_budget(real_embedder.max_tokens, len(title_tokens), 400)
    chunked = chunk_document(_long_document(), real_embedder.token_spans, budget, 40)
    assert len(chunked.chunks) > 5
    for chunk in chunked.chunks:
        model_input = f"{title}\n{chunk.text}"
        # + 2: the model's own start and end tokens
        assert len(real_embedder.token_spans(model_input)) + 2 <= real_embedder.max_tokens


def test_offsets_locations_and_overlap() -> None:
    fake = FakeEmbedder()
    document = _long_document()
    chunked = chunk_document(document, fake.token_spans, 50, 10)
    for chunk in chunked.chunks:
        assert chunked.text[chunk.start : chunk.end] == chunk.text
    first, second = chunked.chunks[0], chunked.chunks[1]
    assert first.location == "line 1"
    assert second.start < first.end, "consecutive passages overlap"
    assert chunked.chunks[-1].location == "page 9" or chunked.chunks[-1].text.endswith("board.")
    # A passage that starts deep in the "line 4" piece names its own line.
    assert all(c.location.startswith(("line ", "page ")) for c in chunked.chunks)


def test_line_locations_follow_the_text() -> None:
    lines = "\n".join(f"line number {n} of the file" for n in range(1, 301))
    chunked = chunk_document(Document([Piece(lines, "line 1")]), FakeEmbedder().token_spans, 40, 0)
    for chunk in chunked.chunks:
        first_line = int(chunk.location.split()[1])
        assert lines.count("\n", 0, chunk.start) + 1 == first_line


def test_empty_document_has_no_passages() -> None:
    assert chunk_document(Document([]), FakeEmbedder().token_spans, 50, 10).chunks == []


@pytest.mark.parametrize("words", [230, 410, 999])
def test_no_short_tail_passage(words: int) -> None:
    fake = FakeEmbedder()
    document = Document([Piece(" ".join(f"w{i}" for i in range(words)))])
    sizes = [
        len(fake.token_spans(c.text))
        for c in chunk_document(document, fake.token_spans, 200, 40).chunks
    ]
    assert max(sizes) <= 200
    assert min(sizes) >= 0.75 * max(sizes), sizes
