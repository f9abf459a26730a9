"""Helpers for the format tests: build small real files, read them through the registry."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from core.errors import ExtractionFailed
from core.extract import Document, Registry
from core.extract.pieces import MAX_PIECE_CHARS

MB = 1024 * 1024
LIMIT = 50 * MB


def extract(registry: Registry, path: Path, max_bytes: int = LIMIT) -> Document:
    document = registry.extract(path, max_bytes)
    for piece in document.pieces:
        assert piece.text.strip()
        assert len(piece.text) <= MAX_PIECE_CHARS
    return document


def failure(registry: Registry, path: Path, max_bytes: int = LIMIT) -> ExtractionFailed:
    with pytest.raises(ExtractionFailed) as caught:
        registry.extract(path, max_bytes)
    return caught.value


def by_location(document: Document) -> dict[str, str]:
    """Text per location, pieces of the same location joined."""
    found: dict[str, str] = {}
    for piece in document.pieces:
        found[piece.location] = (found.get(piece.location, "") + "\n" + piece.text).strip()
    return found


def full_text(document: Document) -> str:
    return "\n".join(piece.text for piece in document.pieces)


# The signature of OLE compound files: Office 97-2003 documents, and encrypted Office files.
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def ole_file(path: Path, stream: str) -> Path:
    """A minimal compound file naming ``stream`` (``WordDocument``: a Word 97 file;
    ``EncryptedPackage``: a password-protected .docx or .xlsx)."""
    path.write_bytes(OLE + bytes(504) + stream.encode("utf-16-le") + bytes(512))
    return path


def write_zip(path: Path, parts: dict[str, str | bytes]) -> Path:
    """A ZIP with ``parts`` in order; a "mimetype" part is stored uncompressed, as ODF
    and EPUB require."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            method = zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED
            archive.writestr(name, data, compress_type=method)
    return path


def add_zeros(path: Path, name: str, megabytes: int) -> None:
    """Append a part of ``megabytes`` of zeros, written in chunks (a real bomb)."""
    chunk = bytes(MB)
    with (
        zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive,
        archive.open(name, "w", force_zip64=True) as member,
    ):
        for _ in range(megabytes):
            member.write(chunk)
