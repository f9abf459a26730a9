"""What Office Open XML packages (.docx, .xlsx, .pptx) share: relationships, properties
and DrawingML text."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from .archive import Archive
from .xmltree import Element, attribute, descendants, first_text, local, parse


@dataclass(frozen=True, slots=True)
class Relationship:
    """One link from a part to another: its type ("slide", "notesSlide") and target part."""

    type: str
    target: str


def relationships(archive: Archive, part: str) -> dict[str, Relationship]:
    """The internal relationships of ``part`` by id; none when its .rels part is missing."""
    folder, name = posixpath.split(part)
    rels_part = posixpath.join(folder, "_rels", name + ".rels")
    data = archive.read_optional(rels_part)
    if data is None:
        return {}
    found: dict[str, Relationship] = {}
    for relation in descendants(parse(data, rels_part), "Relationship"):
        ident, target = attribute(relation, "Id"), attribute(relation, "Target")
        if not ident or not target or attribute(relation, "TargetMode") == "External":
            continue
        kind = (attribute(relation, "Type") or "").rpartition("/")[2]
        found[ident] = Relationship(kind, resolve(folder, target))
    return found


def relationship_id(element: Element) -> str:
    """The r:id attribute that links ``element`` to another part ("" when it has none).

    Not a plain "id": a slide list entry has both, and only r:id names a relationship.
    """
    for key, value in element.attrib.items():
        if key.startswith("{") and local(key) == "id":
            return value
    return ""


def resolve(folder: str, target: str) -> str:
    """The part a relationship target names, relative to the source part's folder."""
    if target.startswith("/"):
        return posixpath.normpath(target).lstrip("/")
    return posixpath.normpath(posixpath.join(folder, target)).lstrip("/")


def main_part(archive: Archive) -> str | None:
    """The package's main part (word/document.xml, xl/workbook.xml, ...), by relationship."""
    for relation in relationships(archive, "").values():
        if relation.type == "officeDocument" and archive.has(relation.target):
            return relation.target
    return None


def title(archive: Archive) -> str | None:
    """The title in the document's properties, if it has one."""
    data = archive.read_optional("docProps/core.xml")
    if data is None:
        return None
    return first_text(parse(data, "docProps/core.xml"), "title")


def paragraphs(body: Element) -> list[str]:
    """The text of each DrawingML paragraph (a:p) below ``body``, in order.

    Runs (a:t) join without spaces, as they sit inside words; line breaks and tabs keep
    their meaning.
    """
    found: list[str] = []
    for paragraph in descendants(body, "p"):
        parts: list[str] = []
        for node in paragraph.iter():
            name = local(node.tag)
            if name == "t":
                parts.append(node.text or "")
            elif name == "br":
                parts.append("\n")
            elif name == "tab":
                parts.append("\t")
        text = "".join(parts).strip()
        if text:
            found.append(text)
    return found
