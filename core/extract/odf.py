"""OpenDocument text (.odt) and presentations (.odp), read from content.xml.

Spreadsheets (.ods) share the container checks here and are read in ``ods``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from core.errors import ExtractionFailed

from .archive import Archive, ZipLimits
from .base import Category, Document, Piece
from .package import NAMES, expect
from .pieces import Outline, Sections, split_long
from .xmltree import Element, attribute, descendants, first_text, local, parse

# Elements whose text a reader never sees as part of the flow: change tracking keeps
# deleted text, indexes and tables of contents repeat headings, and the rest is markup.
_SKIPPED = frozenset({
    "tracked-changes", "table-of-content", "alphabetical-index", "illustration-index",
    "object-index", "user-index", "bibliography", "sequence-decls", "variable-decls",
    "user-field-decls", "forms", "note-citation", "title", "desc", "page-thumbnail",
})  # fmt: skip
# Blocks anchored inside a paragraph (footnotes, comments, text boxes): read after it.
_ANCHORED = frozenset({"note", "annotation", "frame"})
_MAX_SPACES = 100
OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
DRAW = "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"


@dataclass(frozen=True, slots=True)
class Block:
    """A paragraph, heading (level >= 1; 0 for the Title style) or table row."""

    text: str
    level: int | None = None


class OdfExtractor:
    """One extractor per OpenDocument kind: "odt", "ods" or "odp"."""

    def __init__(self, kind: str, limits: ZipLimits | None = None) -> None:
        self.kind = kind
        self.limits = limits

    def extract(self, path: Path) -> Document:
        with Archive(path, self.limits) as archive:
            expect(archive, frozenset({self.kind}), NAMES[self.kind])
            refuse_encrypted(archive)
            title = _meta_title(archive)
            if self.kind == "ods":
                from .ods import read_spreadsheet

                return Document(read_spreadsheet(archive), title)
            content = parse(archive.read("content.xml"), "content.xml")
        if self.kind == "odp":
            return _presentation(content, title)
        return _text(content, title)


def refuse_encrypted(archive: Archive) -> None:
    """OpenDocument encrypts each part on its own and says so in the manifest."""
    data = archive.read_optional("META-INF/manifest.xml")
    if data is None:
        return
    manifest = parse(data, "META-INF/manifest.xml")
    if next(descendants(manifest, "encryption-data"), None) is not None:
        raise ExtractionFailed(Category.PASSWORD, "the document is protected with a password")


def blocks(nodes: Iterable[Element]) -> Iterator[Block]:
    """The paragraphs, headings and table rows in ``nodes`` and below, in reading order."""
    stack = list(reversed(list(nodes)))
    while stack:
        node = stack.pop()
        name = local(node.tag)
        if name in _SKIPPED:
            continue
        if name in ("p", "h"):
            text, anchored = inline(node)
            yield Block(text, _level(node, name))
            stack.extend(reversed(anchored))
        elif name == "table":
            yield Block("\n".join(filter(None, map(row_text, table_rows(node)))))
        else:
            stack.extend(reversed(node))


def inline(paragraph: Element) -> tuple[str, list[Element]]:
    """The text of one paragraph, and the blocks anchored in it (notes, comments, frames)."""
    parts = [paragraph.text or ""]
    anchored: list[Element] = []
    stack: list[Element | str] = list(reversed(paragraph))
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            parts.append(item)
            continue
        if item.tail:
            stack.append(item.tail)
        name = local(item.tag)
        if name in _ANCHORED:
            anchored.append(item)
        elif name == "s":
            parts.append(" " * _count(attribute(item, "c")))
        elif name == "tab":
            parts.append("\t")
        elif name == "line-break":
            parts.append("\n")
        elif name not in _SKIPPED:
            parts.append(item.text or "")
            stack.extend(reversed(item))
    return "".join(parts).strip(), anchored


def table_rows(table: Element) -> Iterator[Element]:
    """The rows of ``table``, inside row groups too, but not those of tables nested in it."""
    stack = list(reversed(table))
    while stack:
        node = stack.pop()
        name = local(node.tag)
        if name == "table-row":
            yield node
        elif name in ("table-header-rows", "table-rows", "table-row-group"):
            stack.extend(reversed(node))


def row_text(row: Element) -> str:
    """A table row as its non-empty cells joined by " | "."""
    cells = (cell_text(cell) for cell in row if local(cell.tag) == "table-cell")
    return " | ".join(text for text in cells if text)


def cell_text(cell: Element) -> str:
    """Every paragraph of a table cell on one line, nested tables included; comments not."""
    texts: list[str] = []
    stack = list(reversed(cell))
    while stack:
        node = stack.pop()
        name = local(node.tag)
        if name in ("p", "h"):
            texts.append(inline(node)[0])
        elif name not in _SKIPPED and name != "annotation":
            stack.extend(reversed(node))
    return " ".join(text for text in texts if text)


def _text(content: Element, title: str | None) -> Document:
    sections = Sections()
    outline = Outline(title_level=0)
    paragraphs = 0
    for body in content.iter(f"{{{OFFICE}}}text"):
        for block in blocks(body):
            if not block.text:
                continue
            paragraphs += 1
            if block.level is None:
                sections.add(block.text, f"paragraph {paragraphs}")
                continue
            if title is None and block.level <= 1:
                title = block.text
            sections.heading(outline.enter(block.level, block.text), block.text)
    return Document(sections.pieces(), title)


def _presentation(content: Element, title: str | None) -> Document:
    pieces: list[Piece] = []
    for number, page in enumerate(content.iter(f"{{{DRAW}}}page"), start=1):
        notes = [node for node in page if local(node.tag) == "notes"]
        slide = [node for node in page if local(node.tag) != "notes"]
        for where, nodes in ((f"slide {number}", slide), (f"slide {number} notes", notes)):
            text = "\n".join(block.text for block in blocks(nodes) if block.text)
            pieces.extend(Piece(run, where) for run in split_long(text))
        if title is None:
            title = _slide_title(page)
    return Document(pieces, title)


def _slide_title(page: Element) -> str | None:
    for frame in page:
        if attribute(frame, "class") == "title":
            text = " ".join(block.text for block in blocks([frame]) if block.text)
            return text or None
    return None


def _level(node: Element, name: str) -> int | None:
    if name == "h":
        return max(1, min(_count(attribute(node, "outline-level")), 10))
    return 0 if attribute(node, "style-name") == "Title" else None


def _count(value: str | None) -> int:
    try:
        return max(1, min(int(value or 1), _MAX_SPACES))
    except ValueError:
        return 1


def _meta_title(archive: Archive) -> str | None:
    data = archive.read_optional("meta.xml")
    if data is None:
        return None
    return first_text(parse(data, "meta.xml"), "title")
