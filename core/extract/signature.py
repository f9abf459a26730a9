"""Recognizing a file's real format from its first bytes, whatever its name says."""

from __future__ import annotations

# (format, human name, magic bytes at offset 0)
_MAGIC: tuple[tuple[str, str, bytes], ...] = (
    ("zip", "ZIP archive (or an Office/OpenDocument file)", b"PK\x03\x04"),
    ("zip", "ZIP archive", b"PK\x05\x06"),
    ("ole", "legacy Office or other compound file", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"),
    ("elf", "program (ELF executable)", b"\x7fELF"),
    ("macho", "program (Mach-O executable)", b"\xcf\xfa\xed\xfe"),
    ("macho", "program (Mach-O executable)", b"\xce\xfa\xed\xfe"),
    ("macho", "program (Mach-O executable)", b"\xca\xfe\xba\xbe"),
    ("png", "PNG image", b"\x89PNG\r\n\x1a\n"),
    ("jpeg", "JPEG image", b"\xff\xd8\xff"),
    ("gif", "GIF image", b"GIF87a"),
    ("gif", "GIF image", b"GIF89a"),
    ("gzip", "gzip archive", b"\x1f\x8b"),
    ("7z", "7-Zip archive", b"7z\xbc\xaf\x27\x1c"),
    ("rar", "RAR archive", b"Rar!\x1a\x07"),
    ("sqlite", "SQLite database", b"SQLite format 3\x00"),
    ("rtf", "RTF document", b"{\\rtf"),
)

NAMES: dict[str, str] = {fmt: name for fmt, name, _ in _MAGIC} | {
    "pdf": "PDF document",
    "exe": "program (Windows executable)",
}


def sniff(head: bytes) -> str | None:
    """The format the first bytes of a file announce, or None for no known signature.

    ``head`` is the first few KB of the file.
    """
    for fmt, _name, magic in _MAGIC:
        if head.startswith(magic):
            return fmt
    if head.lstrip(b"\x00\t\n\r\f ").startswith(b"%PDF-"):
        return "pdf"
    # "MZ" alone is too common at the start of real text; a PE header has zero bytes.
    if head.startswith(b"MZ") and b"\x00" in head[:64]:
        return "exe"
    return None
