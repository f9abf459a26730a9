"""PowerPoint presentations (.pptx): the text of each slide, then its speaker notes.

Slides come in the order of the presentation's slide list, which is the order people
see them in, not the order of the slide parts' names.  Within a slide, titles come
first, then the other shapes from top to bottom and left to right.
"""

from __future__ import annotations

import re
from pathlib import Path

from .archive import Archive, ZipLimits, refuse_ole
from .base import Document, Piece
from .ooxml import Relationship, main_part, paragraphs, relationship_id, relationships, title
from .package import expect
from .pieces import split_long
from .xmltree import Element, attribute, children, descendants, local, parse

_PRESENTATION = "ppt/presentation.xml"
_TITLES = frozenset({"title", "ctrTitle"})
# Placeholders on a notes page that repeat the slide or the page furniture.
_NOT_NOTES = frozenset({"sldImg", "sldNum", "hdr", "ftr", "dt"})
_SHAPES = frozenset({"sp", "graphicFrame", "grpSp"})
_SLIDE_PART = re.compile(r"ppt/slides/slide(\d+)\.xml")


class PptxExtractor:
    kind = "pptx"

    def __init__(self, limits: ZipLimits | None = None) -> None:
        self.limits = limits

    def extract(self, path: Path) -> Document:
        refuse_ole(path, "a PowerPoint presentation", "legacy PowerPoint (.ppt) file")
        with Archive(path, self.limits) as archive:
            expect(archive, frozenset({"pptx"}), "a PowerPoint presentation")
            pieces: list[Piece] = []
            first_title: str | None = None
            for number, part in enumerate(_slide_parts(archive), start=1):
                slide = parse(archive.read(part), part)
                links = relationships(archive, part)
                texts = _slide_texts(slide) + _diagram_texts(archive, links)
                _add(pieces, texts, f"slide {number}")
                _add(pieces, _notes_texts(archive, links), f"slide {number} notes")
                if number == 1:
                    first_title = _title_text(slide)
            return Document(pieces, title(archive) or first_title)


def _add(pieces: list[Piece], lines: list[str], where: str) -> None:
    pieces.extend(Piece(run, where) for run in split_long("\n".join(lines)))


def _slide_parts(archive: Archive) -> list[str]:
    """The slide parts in presentation order; by part number if the list is unusable."""
    part = main_part(archive) or _PRESENTATION
    links = relationships(archive, part)
    ordered: list[str] = []
    if archive.has(part):
        for slide in descendants(parse(archive.read(part), part), "sldId"):
            link = links.get(relationship_id(slide))
            if link is not None and archive.has(link.target) and link.target not in ordered:
                ordered.append(link.target)
    if ordered:
        return ordered
    numbered = [(m, name) for name in archive.names() if (m := _SLIDE_PART.fullmatch(name))]
    return [name for match, name in sorted(numbered, key=lambda item: int(item[0].group(1)))]


def _slide_texts(slide: Element) -> list[str]:
    shapes = _shapes(slide)
    titles = [shape for shape in shapes if _placeholder(shape) in _TITLES]
    others = [shape for shape in shapes if _placeholder(shape) not in _TITLES]
    positions = [_position(shape) for shape in others]
    if all(position is not None for position in positions):
        # Rows of shapes: a shape a little lower than its neighbour still reads beside it.
        others = [s for _, s in sorted(zip(positions, others, strict=True), key=_reading_key)]
    return [text for shape in titles + others for text in _shape_texts(shape)]


def _shape_texts(shape: Element) -> list[str]:
    """A shape's paragraphs; a table's rows as their cells joined by " | "."""
    table = next(descendants(shape, "tbl"), None)
    if table is None:
        return paragraphs(shape)
    rows = (
        [" ".join(paragraphs(cell)) for cell in children(row, "tc")]
        for row in children(table, "tr")
    )
    return [line for line in (" | ".join(filter(None, cells)) for cells in rows) if line]


def _notes_texts(archive: Archive, links: dict[str, Relationship]) -> list[str]:
    for link in links.values():
        if link.type == "notesSlide" and archive.has(link.target):
            notes = parse(archive.read(link.target), link.target)
            shapes = [s for s in _shapes(notes) if _placeholder(s) not in _NOT_NOTES]
            return [text for shape in shapes for text in _shape_texts(shape)]
    return []


def _diagram_texts(archive: Archive, links: dict[str, Relationship]) -> list[str]:
    """The text of SmartArt diagrams, which lives in a part of its own."""
    texts: list[str] = []
    for link in links.values():
        if link.type == "diagramData" and archive.has(link.target):
            texts.extend(paragraphs(parse(archive.read(link.target), link.target)))
    return texts


def _shapes(root: Element) -> list[Element]:
    """The top-level shapes of the slide's shape tree (groups count as one shape)."""
    tree = next(descendants(root, "spTree"), None)
    if tree is None:
        return []
    return [shape for shape in tree if local(shape.tag) in _SHAPES]


def _placeholder(shape: Element) -> str | None:
    for holder in descendants(shape, "ph"):
        return attribute(holder, "type") or "body"
    return None


def _position(shape: Element) -> tuple[int, int] | None:
    for offset in descendants(shape, "off"):
        try:
            return int(attribute(offset, "y") or 0), int(attribute(offset, "x") or 0)
        except ValueError:
            return None
    return None


def _reading_key(item: tuple[tuple[int, int] | None, Element]) -> tuple[int, int]:
    position = item[0] or (0, 0)
    band = 457_200  # half an inch in EMU
    return position[0] // band, position[1]


def _title_text(slide: Element) -> str | None:
    for shape in _shapes(slide):
        if _placeholder(shape) in _TITLES:
            text = " ".join(paragraphs(shape))
            return text or None
    return None
