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
    "doc": ("legacy Word documents (.doc)", "save it as .docx to index it", ("doc", "dot")),
    "xls": ("legacy Excel workbooks (.xls)", "save it as .xlsx", ("xls", "xlt")),
    "ppt": ("legacy PowerPoint files (.ppt)", "save it as .pptx", ("ppt", "pps", "pot")),
    "xlsx": ("Excel workbooks", "", ("xlsx", "xlsm", "xltx")),
    "pptx": ("PowerPoint presentations", "", ("pptx", "pptm", "ppsx", "potx")),
    "odt": ("OpenDocument text files", "", ("odt", "ott")),
    "ods": ("OpenDocument spreadsheets", "", ("ods", "ots")),
    "odp": ("OpenDocument presentations", "", ("odp", "otp")),
    "epub": ("EPUB e-books", "", ("epub",)),
    "eml": ("e-mail messages", "", ("eml", "msg")),
    "mbox": ("mailbox files", "", ("mbox",)),
    "rtf": ("RTF documents", "", ("rtf",)),
}
