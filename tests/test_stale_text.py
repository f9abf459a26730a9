"""A file whose current content is not indexed has nothing left in the index: no passage,
no vector, no words, no preview text (issue: old secrets stayed searchable after a file
failed on re-read)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from core.app import Trove
from tests.conftest import open_trove, run_index, write
from tests.fakes import FakeEmbedder

SECRET = "my bank password is zqstale42"


def _empty(path: Path) -> None:
    path.write_text("")


def _binary(path: Path) -> None:
    path.write_bytes(b"\x00\x01\x02\xff" * 4096)


def _too_large(path: Path) -> None:
    path.write_text("lorem ipsum " * 200_000)  # 2.4 MB, over the 1 MB limit set below


def _unreadable(path: Path) -> None:
    path.write_text(SECRET + " and now more words")
    path.chmod(0)


def _refused(path: str) -> str:
    raise PermissionError(13, "Permission denied", path)


CHANGES: dict[str, Callable[[Path], None]] = {
    "empty": _empty,
    "binary": _binary,
    "too large": _too_large,
    "unreadable": _unreadable,
}


def _content_rows(trove: Trove, path: Path) -> dict[str, int]:
    row = trove.store.file_by_path(str(path))
    assert row is not None
    counts = {}
    for table, key in (("chunks", "file_id"), ("texts", "file_id"), ("file_vec", "file_id")):
        found = trove.store.conn.execute(
            f"SELECT count(*) FROM {table} WHERE {key} = ?", (row.id,)
        ).fetchone()
        counts[table] = int(found[0])
    counts["chunk_fts"] = int(
        trove.store.conn.execute(
            "SELECT count(*) FROM chunk_fts WHERE chunk_fts MATCH 'zqstale42'"
        ).fetchone()[0]
    )
    return counts


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_file_that_fails_on_reread_leaves_the_index(
    tmp_path: Path, change: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = tmp_path / "docs"
    note = write(docs, "note.txt", SECRET)
    trove = open_trove(FakeEmbedder(), max_file_mb=1)
    try:
        trove.add_folder(docs)
        run_index(trove)
        assert [r.path for r in trove.search("zqstale42")] == [str(note)]

        CHANGES[change](note)
        os.utime(note, ns=(1, 10**18))  # a new mtime even on a coarse clock
        if change == "unreadable" and os.geteuid() == 0:
            # Root reads files whatever their mode: refuse the read as the OS would.
            monkeypatch.setattr("core.indexer.file_digest", _refused)
        finished, _ = run_index(trove)

        assert finished.files_failed == 1
        assert trove.search("zqstale42") == []
        assert _content_rows(trove, note) == dict.fromkeys(
            ("chunks", "texts", "file_vec", "chunk_fts"), 0
        )
    finally:
        note.chmod(0o600)
        trove.close()


def test_a_changed_file_shows_no_old_text_while_it_waits_to_be_read(tmp_path: Path) -> None:
    """A run cancelled after planning leaves the file pending: its old text is gone."""
    from core.events import CancelToken, ScanDone

    docs = tmp_path / "docs"
    note = write(docs, "note.txt", SECRET)
    trove = open_trove(FakeEmbedder())
    try:
        trove.add_folder(docs)
        run_index(trove)
        note.write_text("a shopping list: bread, milk, apples")
        os.utime(note, ns=(1, 10**18))
        cancel = CancelToken()
        for event in trove.index(cancel):
            if isinstance(event, ScanDone):
                cancel.cancel()
        assert trove.store.file_by_path(str(note)).state == "pending"  # type: ignore[union-attr]
        assert trove.search("zqstale42") == []
        assert trove.store.texts.document(trove.store.file_by_path(str(note)).id) is None  # type: ignore[union-attr]
    finally:
        trove.close()


def test_a_file_always_being_written_is_counted_as_failed_and_read_again_later(
    tmp_path: Path,
) -> None:
    """The summary never says "0 failed" while a file stays unindexed; once the writer
    stops, the next run indexes it."""
    from core.extract.base import Category
    from core.indexer import Indexer

    docs = tmp_path / "docs"
    log = write(docs, "growing.log", "first line of a log that keeps growing\n")
    trove = open_trove(FakeEmbedder())
    try:
        trove.add_folder(docs)

        def read_while_written(path: str):  # type: ignore[no-untyped-def]
            document = trove.registry.extract(Path(path), 1 << 20)
            with open(path, "a", encoding="utf-8") as handle:
                handle.write("another line\n")  # the writer is faster than the reader
            os.utime(path, ns=(1, os.stat(path).st_mtime_ns + 1_000_000))
            return document

        indexer = Indexer(
            trove.store, trove.embedder, read_while_written, trove._kind_of, lock=trove.lock
        )
        finished = list(indexer.run())[-1]
        assert finished.files_failed == 1  # type: ignore[union-attr]
        assert [f[:2] for f in trove.failures()] == [(str(log), Category.CHANGING)]
        assert trove.search("growing") == []

        finished, _ = run_index(trove)  # the writer has stopped
        assert (finished.files_indexed, finished.files_failed) == (1, 0)
        assert [r.path for r in trove.search("growing")] == [str(log)]
    finally:
        trove.close()
