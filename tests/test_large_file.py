"""One huge accepted file costs bounded memory: the reader hands over only what the
passage limit can use, passages are committed a batch at a time within the file, and a
file cut short says so in the ledger."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.cli.main import main
from core.events import Progress
from core.extract import ExtractionPool
from core.extract.base import Category, Document, Piece
from core.extract.pool import truncated
from core.settings import Settings
from tests.conftest import open_trove, run_index, write
from tests.fakes import FakeEmbedder

LINE = "The tide tables for the northern harbour list every ferry crossing of the week.\n"


def _big(root: Path, lines: int) -> Path:
    return write(root, "huge.log", LINE * lines)


def test_a_file_over_the_passage_limit_is_partly_indexed_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = tmp_path / "docs"
    huge = _big(docs, 4000)  # about 60,000 tokens: hundreds of passages
    write(docs, "small.txt", "A short note about lemon cake.")
    trove = open_trove(FakeEmbedder(), max_passages_per_file=30, commit_every=8)
    try:
        trove.add_folder(docs)
        finished, _ = run_index(trove)
        row = trove.store.file_by_path(str(huge))
        assert row is not None and row.state == "indexed"
        passages = trove.store.conn.execute(
            "SELECT count(*), max(end) FROM chunks WHERE file_id = ?", (row.id,)
        ).fetchone()
        note = trove.store.conn.execute(
            "SELECT category, reason FROM files WHERE id = ?", (row.id,)
        ).fetchone()
        stored = trove.store.texts.document(row.id)
    finally:
        trove.close()
    assert (finished.files_indexed, finished.files_failed) == (2, 0)
    assert passages[0] == 30
    assert note[0] == Category.PARTIAL and "first 30 passages" in note[1]
    assert stored is not None and len(stored) == passages[1] < huge.stat().st_size // 10
    assert main(["status", "--failed"]) == 0
    listed = capsys.readouterr().out
    assert f"Partly indexed (1):\n{huge}\n    only its first 30 passages" in listed


def test_a_large_file_is_committed_a_batch_at_a_time(tmp_path: Path) -> None:
    """Progress moves inside the file, and each batch is in the index before the next
    is embedded (the file is pending until its last batch)."""
    docs = tmp_path / "docs"
    huge = _big(docs, 1500)
    trove = open_trove(FakeEmbedder(), commit_every=16)
    committed: list[int] = []
    try:
        trove.add_folder(docs)
        for event in trove.index():
            if isinstance(event, Progress) and event.files_done == 0:
                committed.append(trove.store.chunk_count())
        row = trove.store.file_by_path(str(huge))
        total = trove.store.chunk_count()
    finally:
        trove.close()
    assert row is not None and row.state == "indexed"
    landed = sorted(set(committed) - {0})
    assert len(landed) >= 5  # passages landed while the file was still being embedded
    assert committed == sorted(committed) and landed[0] >= 16 and landed[-1] < total


def test_a_cancelled_large_file_leaves_no_half(tmp_path: Path) -> None:
    from core.events import CancelToken

    docs = tmp_path / "docs"
    huge = _big(docs, 1500)
    trove = open_trove(FakeEmbedder(), commit_every=16)
    cancel = CancelToken()
    try:
        trove.add_folder(docs)
        for event in trove.index(cancel):
            if isinstance(event, Progress):
                cancel.cancel()
        row = trove.store.file_by_path(str(huge))
        assert row is not None and row.state == "pending"
        assert trove.store.chunk_count() == 0
        assert trove.store.texts.document(row.id) is None
        finished, _ = run_index(trove)  # and the next run does it whole
        assert finished.files_indexed == 1
    finally:
        trove.close()


def test_the_reader_hands_over_no_more_text_than_the_limit_can_use(tmp_path: Path) -> None:
    huge = _big(tmp_path, 20_000)  # 1.6 MB
    settings = Settings(max_passages_per_file=10, chunk_tokens=50)
    with ExtractionPool.for_settings(settings, workers=1) as pool:
        document = pool.extract(huge)
    assert document.truncated
    assert document.char_count == settings.max_chars_per_file == 6000


def test_truncation_keeps_whole_pieces_then_cuts_one() -> None:
    document = Document([Piece("a" * 10, "line 1"), Piece("b" * 10, "line 2")], "T")
    cut = truncated(document, 15)
    assert [p.text for p in cut.pieces] == ["a" * 10, "b" * 5]
    assert cut.truncated and cut.title == "T"
    assert truncated(document, 20) is document
