"""What the desktop app reads through ``Trove``: previews, per-folder counts, similar
files for a file outside the index, the reader connection."""

from __future__ import annotations

from pathlib import Path

import apsw
import pytest

from core.app import Trove
from core.errors import ConfigError
from tests.conftest import run_index, write


@pytest.fixture
def indexed(fake_trove: Trove, tmp_path: Path) -> Trove:
    folder = tmp_path / "docs"
    write(folder, "kites.txt", "Flying kites on a windy beach. " * 80 + "The red kite won.")
    write(folder, "bread.md", "# Bread\n\nA sourdough loaf with a long cold proof.")
    (folder / "broken.docx").write_bytes(b"not a word document")
    fake_trove.add_folder(folder)
    run_index(fake_trove)
    return fake_trove


def test_a_preview_is_the_indexed_text_with_the_passage_span(indexed: Trove) -> None:
    result = indexed.search("red kite won", 1)[0]
    preview = indexed.preview(result.file_id, result.chunk_id)
    assert preview is not None and preview.path == result.path
    assert "red kite won" in preview.text[preview.start : preview.end]
    whole = indexed.preview(result.file_id)
    assert whole is not None and (whole.start, whole.end) == (0, 0)
    assert indexed.preview(999_999) is None


def test_counts_per_folder_and_failures(indexed: Trove, tmp_path: Path) -> None:
    counts = indexed.folder_counts()
    assert counts == {str(tmp_path / "docs"): {"indexed": 2, "failed": 1}}
    ((path, category, reason),) = indexed.failures()
    assert path.endswith("broken.docx") and category and reason


def test_similar_files_for_a_file_outside_the_index(indexed: Trove, tmp_path: Path) -> None:
    outside = write(tmp_path / "elsewhere", "note.txt", "Which kite flies best on a windy beach?")
    found = indexed.similar_to_file(outside, 5)
    assert found and found[0].path.endswith("kites.txt")
    inside = indexed.similar_to_file(tmp_path / "docs" / "bread.md", 5)
    assert all(not r.path.endswith("bread.md") for r in inside)
    (tmp_path / "elsewhere" / "song.mp3").write_bytes(b"ID3\x04\x00")
    with pytest.raises(ConfigError, match="does not read"):
        indexed.similar_to_file(tmp_path / "elsewhere" / "song.mp3")
    with pytest.raises(ConfigError, match="not a file"):
        indexed.similar_to_file(tmp_path / "missing.txt")


def test_ignore_patterns_can_be_replaced_and_cleared(indexed: Trove, tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    assert indexed.set_ignore(folder, "*.md\nbuild/").ignore == "*.md\nbuild/"
    indexed.set_ignore(folder, "")
    assert indexed.folders()[0].ignore == ""


def test_the_reader_sees_committed_writes_and_cannot_write(indexed: Trove, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    reader = indexed.reader()
    try:
        assert reader.search("sourdough")[0].path.endswith("bread.md")
        with pytest.raises(apsw.ReadOnlyError):  # a misuse, not a user's mistake
            reader.add_folder(other)
    finally:
        reader.close()
