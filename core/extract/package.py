"""What a ZIP-based document really is, whatever its name says.

Office, OpenDocument and EPUB files all begin with the ZIP signature, so a workbook
renamed .docx or a plain archive renamed .epub can only be told apart by the parts
inside.
"""

from __future__ import annotations

import posixpath

from core.errors import ExtractionFailed

from .archive import Archive
from .base import Category
from .ooxml import main_part
from .xmltree import attribute, descendants, parse

# What each kind of package is called in a reason ("it is an Excel workbook, not ...").
NAMES = {
    "docx": "a Word document",
    "xlsx": "an Excel workbook",
    "xlsb": "a binary Excel workbook (.xlsb)",
    "pptx": "a PowerPoint presentation",
    "ooxml": "an Office document",
    "odt": "an OpenDocument text document",
    "ods": "an OpenDocument spreadsheet",
    "odp": "an OpenDocument presentation",
    "odg": "an OpenDocument drawing",
    "odf": "an OpenDocument file",
    "epub": "an EPUB e-book",
}
_OFFICE_MAIN_PARTS = {
    "word/document.xml": "docx",
    "xl/workbook.xml": "xlsx",
    "xl/workbook.bin": "xlsb",
    "ppt/presentation.xml": "pptx",
}
_OPENDOCUMENT = "application/vnd.oasis.opendocument."
_OPENDOCUMENT_KINDS = {
    "text": "odt",
    "spreadsheet": "ods",
    "presentation": "odp",
    "graphics": "odg",
}


def identify(archive: Archive) -> str | None:
    """The kind of document in ``archive`` (a key of NAMES), or None for a plain ZIP."""
    mimetype = _mimetype(archive)
    if mimetype is not None:
        return _kind_of_mimetype(mimetype)
    if archive.has("[Content_Types].xml"):
        return _office_kind(archive)
    if archive.has("META-INF/container.xml"):
        return "epub"
    return None


def expect(archive: Archive, kinds: frozenset[str], what: str) -> str:
    """The package's kind, which must be one of ``kinds``; ``what`` names them in reasons."""
    found = identify(archive)
    if found in kinds:
        assert found is not None
        return found
    if found is None:
        raise ExtractionFailed(Category.WRONG_TYPE, f"it is a plain ZIP archive, not {what}")
    if found == "ooxml" and kinds & set(_OFFICE_MAIN_PARTS.values()):
        raise ExtractionFailed(Category.CORRUPT, "the document lacks its main part")
    raise ExtractionFailed(Category.WRONG_TYPE, f"it is {NAMES[found]}, not {what}")


def _mimetype(archive: Archive) -> str | None:
    """The media type an OpenDocument or EPUB package declares, if it declares one."""
    if archive.has("mimetype"):
        head = archive.read("mimetype")[:200]
        return head.decode("ascii", errors="replace").strip()
    if archive.has("META-INF/manifest.xml") and archive.has("content.xml"):
        manifest = parse(archive.read("META-INF/manifest.xml"), "META-INF/manifest.xml")
        for entry in descendants(manifest, "file-entry"):
            if attribute(entry, "full-path") == "/":
                return attribute(entry, "media-type")
    return None


def _kind_of_mimetype(mimetype: str) -> str | None:
    if mimetype == "application/epub+zip":
        return "epub"
    if not mimetype.startswith(_OPENDOCUMENT):
        return None
    family = mimetype.removeprefix(_OPENDOCUMENT).split("-")[0]
    return _OPENDOCUMENT_KINDS.get(family, "odf")


def _office_kind(archive: Archive) -> str:
    for part, kind in _OFFICE_MAIN_PARTS.items():
        if archive.has(part):
            return kind
    # A producer may name the main part differently; the package's relationships say.
    main = main_part(archive)
    name = posixpath.basename(main or "").lower()
    for part, kind in _OFFICE_MAIN_PARTS.items():
        if name == posixpath.basename(part):
            return kind
    return "ooxml"
