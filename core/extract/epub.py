"""EPUB e-books: chapters in reading (spine) order, each located by its title.

container.xml names the package document (OPF); its spine lists the chapters, its
manifest where they are, and its table of contents (EPUB 3 nav or EPUB 2 NCX) what
they are called.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from core.errors import ExtractionFailed

from .archive import Archive, ZipLimits
from .base import Category, Document, Piece
from .decoding import decode
from .html import declared_charset
from .html import parse as parse_html
from .ooxml import resolve
from .package import NAMES, expect
from .xmltree import Element, attribute, children, descendants, first_text, parse

_CONTAINER = "META-INF/container.xml"
_ENCRYPTION = "META-INF/encryption.xml"
# Fonts are "encrypted" by these algorithms only to tie them to the book; the text is
# readable.  Anything else encrypting a content document is DRM.
_FONT_OBFUSCATION = frozenset({
    "http://www.idpf.org/2008/embedding",
    "http://ns.adobe.com/pdf/enc#RC",
})  # fmt: skip
_TEXT_TYPES = frozenset({"application/xhtml+xml", "text/html", "application/x-dtbook+xml"})
_MAX_TITLE_CHARS = 150


@dataclass(frozen=True, slots=True)
class _Item:
    part: str
    media_type: str
    properties: str


class EpubExtractor:
    kind = "epub"

    def __init__(self, limits: ZipLimits | None = None) -> None:
        self.limits = limits

    def extract(self, path: Path) -> Document:
        with Archive(path, self.limits) as archive:
            expect(archive, frozenset({"epub"}), NAMES["epub"])
            refuse_drm(archive)
            opf_part = _package_part(archive)
            opf = parse(archive.read(opf_part), opf_part)
            manifest = _manifest(opf, posixpath.dirname(opf_part))
            titles = _toc_titles(archive, opf, manifest)
            pieces: list[Piece] = []
            for number, item in enumerate(_spine(opf, manifest), start=1):
                pieces.extend(_chapter(archive, item, titles.get(item.part), number))
            return Document(pieces, first_text(opf, "title"))


def refuse_drm(archive: Archive) -> None:
    """An encryption.xml that covers more than fonts means the text is locked."""
    data = archive.read_optional(_ENCRYPTION)
    if data is None:
        return
    for encrypted in descendants(parse(data, _ENCRYPTION), "EncryptedData"):
        method = next(descendants(encrypted, "EncryptionMethod"), None)
        algorithm = attribute(method, "Algorithm") if method is not None else None
        if algorithm not in _FONT_OBFUSCATION:
            raise ExtractionFailed(Category.PASSWORD, "the e-book is protected by DRM")


def _package_part(archive: Archive) -> str:
    container = parse(archive.read(_CONTAINER), _CONTAINER)
    for rootfile in descendants(container, "rootfile"):
        part = unquote(attribute(rootfile, "full-path") or "")
        if part and archive.has(part):
            return part
    raise ExtractionFailed(Category.CORRUPT, "the e-book lacks its package document (OPF)")


def _manifest(opf: Element, folder: str) -> dict[str, _Item]:
    items: dict[str, _Item] = {}
    for item in descendants(opf, "item"):
        ident, href = attribute(item, "id"), attribute(item, "href")
        if ident and href:
            part = resolve(folder, unquote(href.partition("#")[0]))
            items[ident] = _Item(part, attribute(item, "media-type") or "", _props(item))
    return items


def _spine(opf: Element, manifest: dict[str, _Item]) -> list[_Item]:
    """The text documents of the spine, without the navigation document (a contents list)."""
    found: list[_Item] = []
    for spine in descendants(opf, "spine"):
        for ref in children(spine, "itemref"):
            item = manifest.get(attribute(ref, "idref") or "")
            if item and _is_chapter(item) and item not in found:
                found.append(item)
    return found


def _is_chapter(item: _Item) -> bool:
    return item.media_type in _TEXT_TYPES and "nav" not in item.properties.split()


def _chapter(archive: Archive, item: _Item, title: str | None, number: int) -> list[Piece]:
    if not archive.has(item.part):
        return []
    data = archive.read(item.part)
    document = parse_html(decode(data, declared_charset(data)))
    where = (title or _first_heading(document) or f"chapter {number}")[:_MAX_TITLE_CHARS]
    return [Piece(piece.text, where) for piece in document.pieces]


def _first_heading(document: Document) -> str | None:
    """The chapter's first heading, which the HTML reader uses as a location."""
    return next((piece.location for piece in document.pieces if piece.location), None)


def _toc_titles(archive: Archive, opf: Element, manifest: dict[str, _Item]) -> dict[str, str]:
    """Chapter titles by part, from the EPUB 3 nav document or else the EPUB 2 NCX."""
    for item in manifest.values():
        if "nav" in item.properties.split() and archive.has(item.part):
            titles = _nav_titles(archive, item.part)
            if titles:
                return titles
    ncx = next((i for i in manifest.values() if i.media_type == "application/x-dtbncx+xml"), None)
    if ncx is not None and archive.has(ncx.part):
        return _ncx_titles(archive, ncx.part)
    return {}


def _nav_titles(archive: Archive, part: str) -> dict[str, str]:
    from selectolax.lexbor import LexborHTMLParser

    data = archive.read(part)
    tree = LexborHTMLParser(decode(data, declared_charset(data)))
    folder = posixpath.dirname(part)
    titles: dict[str, str] = {}
    for link in tree.css("nav a[href]"):
        href = str(link.attributes.get("href") or "")
        _remember(titles, folder, href, link.text())
    return titles


def _ncx_titles(archive: Archive, part: str) -> dict[str, str]:
    root = parse(archive.read(part), part)
    folder = posixpath.dirname(part)
    titles: dict[str, str] = {}
    for point in descendants(root, "navPoint"):
        label = next(descendants(point, "navLabel"), None)
        content = next(children(point, "content"), None)
        if label is not None and content is not None:
            _remember(titles, folder, attribute(content, "src") or "", "".join(label.itertext()))
    return titles


def _remember(titles: dict[str, str], folder: str, href: str, text: str) -> None:
    """Keep the first title that points into each part (later ones are its sections)."""
    text = " ".join(text.split())
    path = unquote(href.partition("#")[0])
    if text and path and "://" not in path:
        titles.setdefault(resolve(folder, path), text)


def _props(item: Element) -> str:
    return attribute(item, "properties") or ""
