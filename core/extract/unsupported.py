"""Formats Trove recognizes by name but cannot read (yet)."""

from __future__ import annotations

from pathlib import Path

from core.errors import ExtractionFailed

from .base import Category, Document


class UnsupportedFormat:
    """Stands in for a missing extractor, so such files are recorded with a clear reason
    instead of being skipped without a word."""

    def __init__(self, kind: str, name: str, advice: str = "") -> None:
        self.kind = kind
        self.name = name
        self.advice = advice

    def extract(self, path: Path) -> Document:
        reason = f"Trove cannot read {self.name} yet"
        if self.advice:
            reason += f"; {self.advice}"
        raise ExtractionFailed(Category.UNSUPPORTED, reason)


# kind -> (name for people, advice, extensions).  A later extractor takes over a kind
# by registering the same extensions.
KNOWN: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "doc": ("Word 97-2003 documents (.doc)", "save it as .docx to index it", ("doc", "dot")),
    "xls": ("Excel 97-2003 workbooks (.xls)", "save it as .xlsx to index it", ("xls", "xlt")),
    "ppt": (
        "PowerPoint 97-2003 presentations (.ppt)",
        "save it as .pptx to index it",
        ("ppt", "pps", "pot"),
    ),
    "xlsb": ("binary Excel workbooks (.xlsb)", "save it as .xlsx to index it", ("xlsb",)),
    "msg": ("Outlook messages (.msg)", "save it as .eml to index it", ("msg",)),
    "pages": ("Apple Pages documents", "export it as .docx to index it", ("pages",)),
    "numbers": ("Apple Numbers spreadsheets", "export it as .xlsx to index it", ("numbers",)),
    "key": ("Apple Keynote presentations", "export it as .pptx to index it", ("key",)),
    # Read where pillow-heif is installed (core.extract.image), which the installed app
    # is not.
    "heic": (
        "HEIC photos here",
        "it needs the pillow-heif package (Trove installed from source with `[heic]`), "
        "or convert it to JPEG",
        ("heic", "heif"),
    ),
}
