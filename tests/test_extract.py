"""Extractors and the registry, on real files written to tmp_path."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

import core.extract
from core.extract import Category, Document, Piece, Registry
from core.extract.pieces import MAX_PIECE_CHARS
from tests.extract_files import OLE, extract, failure, full_text

# ---------------------------------------------------------------- public API


def test_public_api_is_exported() -> None:
    expected = {"Registry", "Document", "Piece", "Category", "ExtractionPool"}
    assert expected <= set(core.extract.__all__)
    assert all(hasattr(core.extract, name) for name in expected)


# ---------------------------------------------------------------- text


def test_text_pieces_are_blocks_located_by_their_first_line(
    registry: Registry, tmp_path: Path
) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("alpha\nbeta\n\n\n  gamma  \r\ndelta\n\n", encoding="utf-8")
    document = extract(registry, path)
    assert document.pieces == [Piece("alpha\nbeta", "line 1"), Piece("  gamma  \ndelta", "line 5")]
    assert document.title is None


def test_gigantic_line_is_cut_into_pieces_that_keep_its_line(
    registry: Registry, tmp_path: Path
) -> None:
    words = " ".join(f"word{i}" for i in range(3000))  # about 25,000 characters
    path = tmp_path / "minified.js"
    path.write_text(f"// header\n\n{words}\n", encoding="utf-8")
    pieces = extract(registry, path).pieces
    assert pieces[0] == Piece("// header", "line 1")
    rest = pieces[1:]
    assert len(rest) >= 6
    assert all(piece.location == "line 3" for piece in rest)
    assert all(len(piece.text) <= MAX_PIECE_CHARS for piece in rest)
    assert "".join(piece.text for piece in rest).split() == words.split()


def test_long_block_parts_are_located_by_the_line_they_start_on(
    registry: Registry, tmp_path: Path
) -> None:
    lines = [f"row {n:04d} " + "x" * 60 for n in range(1, 301)]
    path = tmp_path / "table.log"
    path.write_text("\n".join(lines), encoding="utf-8")
    pieces = extract(registry, path).pieces
    assert len(pieces) >= 5
    for piece in pieces:
        number = int(piece.location.removeprefix("line "))
        assert piece.text.startswith(lines[number - 1])


SENTENCES = {
    "utf-16-be": "日本語のテキスト、改行あり。\nMixed with ASCII words and no byte order mark.",
    "utf-8": "Grüße aus Zürich — 東京, Москва and café crème.",
    "utf-8-sig": "Grüße aus Zürich — 東京, Москва and café crème.",
    "utf-16": "Grüße aus Zürich — 東京, Москва and café crème.",
    "utf-16-le": "Plain notes written by a Windows tool, with no byte order mark.",
    "utf-32": "Grüße aus Zürich — 東京, Москва and café crème.",
    "latin-1": "Le garçon a mangé une crème brûlée à Noël; très bon, déjà vu, naïve.",
    "cp1252": "“Smart quotes” cost €5 — a naïve café owner’s favourite façade.",
    "shift_jis": "日本語のテキストです。東京は大きな都市で、毎日たくさんの人が働いています。",
    "cp1251": "Привет! Это проверка кодировки: съешь же ещё этих мягких французских булок.",
}


@pytest.mark.parametrize("encoding", sorted(SENTENCES))
def test_text_in_any_common_encoding_reads_back(
    registry: Registry, tmp_path: Path, encoding: str
) -> None:
    sentence = SENTENCES[encoding]
    path = tmp_path / f"{encoding}.txt"
    path.write_bytes("\n".join([sentence] * 3).encode(encoding))
    assert sentence in full_text(extract(registry, path))


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("random.txt", bytes(range(256)) * 64, "binary"),
        ("tool.txt", b"\x7fELF\x02\x01\x01" + bytes(200), "ELF"),
        ("setup.txt", b"MZ\x90\x00\x03\x00\x00\x00" + bytes(200), "Windows executable"),
        ("photo.md", b"\x89PNG\r\n\x1a\n" + bytes(100), "PNG"),
        ("page.html", b"%PDF-1.4\n%...\n", "PDF"),
    ],
)
def test_binary_data_under_a_text_name_is_the_wrong_type(
    registry: Registry, tmp_path: Path, name: str, content: bytes, says: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    failed = failure(registry, path)
    assert failed.category == Category.WRONG_TYPE
    assert says in failed.reason


# ---------------------------------------------------------------- markdown

MARKDOWN = """\
---
title: front matter must not be indexed
---
Intro text before any heading.

# Trove Guide

Welcome to [the guide](https://example.com/guide) with ![a diagram](d.png).

## Installation

Run the **installer**.

```sh
# not a heading, just a shell comment
./install.sh
```

Setup
-----

### Linux

Use the AppImage.
"""


def test_markdown_sections_are_located_by_heading(registry: Registry, tmp_path: Path) -> None:
    path = tmp_path / "guide.md"
    path.write_text(MARKDOWN, encoding="utf-8")
    document = extract(registry, path)
    assert document.title == "Trove Guide"
    by_location = {piece.location: piece.text for piece in document.pieces}
    assert list(by_location) == ["line 4", "Trove Guide", "Installation", "Setup", "Setup › Linux"]
    assert by_location["line 4"] == "Intro text before any heading."
    assert "Welcome to the guide with a diagram." in by_location["Trove Guide"]
    assert "https://" not in full_text(document)
    assert "front matter" not in full_text(document)
    assert "# not a heading, just a shell comment" in by_location["Installation"]
    assert "Run the installer." in by_location["Installation"]
    assert by_location["Setup › Linux"] == "Linux\n\nUse the AppImage."


# ---------------------------------------------------------------- html

HTML = """\
<!doctype html>
<html><head><meta charset="windows-1251"><title>Отчёт за год</title>
<style>body { color: red }</style><script>var hidden = "script text";</script></head>
<body>
<nav><a href="/">Home</a> | <a href="/about">Menu entry</a></nav>
<header>Site banner</header>
<p>Opening words.</p>
<h1>Главная</h1><p>Первый   абзац
текста.</p>
<h2>Details</h2><ul><li>one</li><li>two</li></ul>
<form><input value="x"><button>Send form</button></form>
<footer>Copyright footer</footer>
</body></html>
"""


def test_html_keeps_readable_text_and_drops_page_furniture(
    registry: Registry, tmp_path: Path
) -> None:
    path = tmp_path / "page.html"
    path.write_bytes(HTML.encode("cp1251"))
    document = extract(registry, path)
    assert document.title == "Отчёт за год"
    text = full_text(document)
    furniture = ["script text", "color: red", "Menu entry", "Site banner", "Send form", "footer"]
    assert [item for item in furniture if item in text] == []
    assert [piece.location for piece in document.pieces] == ["", "Главная", "Details"]
    assert document.pieces[0].text == "Opening words."
    assert document.pieces[1].text == "Главная\n\nПервый абзац текста."
    assert document.pieces[2].text == "Details\n\none\ntwo"


def test_xhtml_encoding_comes_from_the_xml_declaration(registry: Registry, tmp_path: Path) -> None:
    path = tmp_path / "chapter.xhtml"
    markup = '<?xml version="1.0" encoding="koi8-r"?><html><body><p>Съешь же ещё</p></body></html>'
    path.write_bytes(markup.encode("koi8-r"))
    assert full_text(extract(registry, path)) == "Съешь же ещё"


def test_html_title_falls_back_to_the_first_h1(registry: Registry, tmp_path: Path) -> None:
    path = tmp_path / "bare.htm"
    path.write_text("<h1>Only  a heading</h1><p>and a line</p>", encoding="utf-8")
    assert extract(registry, path).title == "Only a heading"


# ---------------------------------------------------------------- registry


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("notes.TXT", "text"),
        ("data.csv", "csv"),
        ("data.TSV", "csv"),
        ("README", "text"),
        ("main.py", "code"),
        ("Makefile", "code"),
        ("Dockerfile", "code"),
        ("config.yaml", "code"),
        ("guide.md", "markdown"),
        ("page.htm", "html"),
        ("paper.pdf", "pdf"),
        ("letter.docx", "docx"),
        ("old.doc", "doc"),
        ("sheet.xlsx", "xlsx"),
        ("deck.pptx", "pptx"),
        ("notes.odt", "odt"),
        ("budget.ods", "ods"),
        ("talk.odp", "odp"),
        ("book.epub", "epub"),
        ("letter.eml", "email"),
        ("archive.mbox", "email"),
        ("memo.rtf", "rtf"),
        ("outlook.msg", "msg"),
        ("photo.png", "image"),
        ("scan.TIFF", "image"),
        ("song.mp3", None),
        ("tool.exe", None),
        ("archive.tar.gz", None),
    ],
)
def test_kind_of_by_extension_or_name(registry: Registry, name: str, kind: str | None) -> None:
    assert registry.kind_of(Path("/any/where") / name) == kind
    assert registry.is_indexable(Path(name)) is (kind is not None)


def test_extensions_for_a_kind_or_an_extension(registry: Registry) -> None:
    assert registry.extensions_for("markdown") == {"md", "markdown", "mdown", "mkd", "mkdn"}
    assert {"py", "json", "sh"} <= registry.extensions_for("code")
    assert registry.extensions_for(".MD") == {"md"}
    assert registry.extensions_for("pdf") == {"pdf"}
    assert registry.extensions_for("email") == {"eml", "mbox"}
    assert registry.extensions_for("csv") == {"csv", "tsv"}
    assert registry.extensions_for("nonsense") == frozenset()


@pytest.mark.parametrize(
    ("name", "advice"),
    [
        ("old.doc", "save it as .docx"),
        ("sheet.xls", "save it as .xlsx"),
        ("deck.ppt", "save it as .pptx"),
        ("binary.xlsb", "save it as .xlsx"),
        ("outlook.msg", "save it as .eml"),
    ],
)
def test_known_but_unread_formats_are_unsupported(
    registry: Registry, tmp_path: Path, name: str, advice: str
) -> None:
    path = tmp_path / name
    path.write_bytes(OLE + bytes(600))
    failed = failure(registry, path)
    assert failed.category == Category.UNSUPPORTED
    assert advice in failed.reason


def test_unknown_extension_is_unsupported(registry: Registry, tmp_path: Path) -> None:
    path = tmp_path / "song.mp3"
    path.write_bytes(b"ID3\x04\x00" + bytes(64))
    assert failure(registry, path).category == Category.UNSUPPORTED


def test_too_large_is_refused_before_reading(registry: Registry, tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_text("word " * 1000, encoding="utf-8")
    failed = failure(registry, path, max_bytes=1000)
    assert failed.category == Category.TOO_LARGE
    assert extract(registry, path, max_bytes=5000).pieces


def test_vanished_file_is_unreadable(registry: Registry, tmp_path: Path) -> None:
    failed = failure(registry, tmp_path / "gone.txt")
    assert failed.category == Category.UNREADABLE
    assert "no longer exists" in failed.reason


def test_folder_with_a_file_name_is_unreadable(registry: Registry, tmp_path: Path) -> None:
    path = tmp_path / "folder.txt"
    path.mkdir()
    assert failure(registry, path).category == Category.UNREADABLE


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes need POSIX")
def test_named_pipe_is_unreadable_instead_of_blocking(registry: Registry, tmp_path: Path) -> None:
    path = tmp_path / "pipe.txt"
    os.mkfifo(path)
    assert failure(registry, path).category == Category.UNREADABLE


def test_permission_denied_is_unreadable(registry: Registry, tmp_path: Path) -> None:
    path = tmp_path / "private.txt"
    path.write_text("secret", encoding="utf-8")
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as a user who can read any file (root)")
        failed = failure(registry, path)
        assert failed.category == Category.UNREADABLE
        assert "permission denied" in failed.reason
    finally:
        path.chmod(0o600)


class _Denied:
    kind = "denied"

    def extract(self, path: Path) -> Document:
        raise PermissionError(13, "Permission denied", str(path))


def test_permission_error_while_reading_is_unreadable(tmp_path: Path) -> None:
    # The chmod test above cannot run as root; this one reaches the same handling.
    registry = Registry()
    registry.register(_Denied(), ["locked"])
    path = tmp_path / "file.locked"
    path.write_text("content", encoding="utf-8")
    failed = failure(registry, path)
    assert failed.category == Category.UNREADABLE
    assert "permission denied" in failed.reason


def test_empty_and_blank_files_have_no_text(registry: Registry, tmp_path: Path) -> None:
    empty, blank = tmp_path / "empty.txt", tmp_path / "blank.md"
    empty.write_bytes(b"")
    blank.write_text("\n   \n\t\n", encoding="utf-8")
    assert failure(registry, empty).category == Category.EMPTY
    assert failure(registry, blank).category == Category.EMPTY


class _Broken:
    kind = "broken"

    def extract(self, path: Path) -> Document:
        raise ValueError("library bug on this file")


def test_unexpected_extractor_error_is_a_recorded_crash(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    registry = Registry()
    registry.register(_Broken(), ["brk"])
    path = tmp_path / "file.brk"
    path.write_text("content", encoding="utf-8")
    with caplog.at_level(logging.ERROR, logger="core.extract.registry"):
        failed = failure(registry, path)
    assert failed.category == Category.CRASHED
    assert "ValueError: library bug on this file" in failed.reason
    assert any(record.exc_info for record in caplog.records)
