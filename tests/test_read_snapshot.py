"""A search sees one state of the index: the writer dropping a file's passages between
the search's queries (a file changed and waits to be read again) cannot break it."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.search import Searcher
from tests.conftest import open_trove, run_index, write
from tests.fakes import FakeEmbedder


def test_a_search_is_not_broken_by_a_write_between_its_queries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = tmp_path / "docs"
    note = write(docs, "glacier.txt", "Notes about glacier caves and ice tunnels.")
    writer = open_trove(FakeEmbedder())
    writer.add_folder(docs)
    run_index(writer)
    reader = writer.reader()
    rank = Searcher._rank

    def rank_after_a_write(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        row = writer.store.file_by_path(str(note))
        assert row is not None
        with writer.store.transaction():
            writer.store.drop_content(row.id)  # what a change to the file does meanwhile
        return rank(self, *args, **kwargs)

    monkeypatch.setattr(Searcher, "_rank", rank_after_a_write)
    try:
        results = reader.search("glacier caves", 3)
        assert [r.path for r in results] == [str(note)]
        assert "glacier" in results[0].snippet.lower()
        monkeypatch.undo()
        assert reader.search("glacier caves", 3) == []  # the next search sees the change
    finally:
        reader.close()
        writer.close()
