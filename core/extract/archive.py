"""ZIP-based documents (Office, OpenDocument, EPUB), read without trusting the archive.

A document is a ZIP of parts.  A hostile one can declare, or actually hold, gigabytes
of zeros in a few kilobytes (a decompression bomb), or millions of tiny entries.  Every
limit is checked on what the archive declares when it is opened, and again on the bytes
actually inflated, chunk by chunk, so that a lying header cannot get past it.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from core.errors import ExtractionFailed

from .base import Category, size_label

MB = 1024 * 1024
_CHUNK_BYTES = 1 * MB
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# Office stores a password-protected file as a compound file holding this stream.
_ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")
# What zipfile raises on a damaged archive; its seeks to offsets a broken header gives
# fail with "Invalid argument" (an OSError) or a negative-seek ValueError.
_DAMAGED = (zipfile.BadZipFile, zlib.error, EOFError, ValueError, struct.error, OSError)


@dataclass(frozen=True, slots=True)
class ZipLimits:
    """How much a document's archive may unpack to before it counts as a bomb."""

    max_entries: int = 20_000
    max_total_bytes: int = 1024 * MB  # declared by all entries, and inflated by Trove
    max_entry_bytes: int = 256 * MB  # any one part Trove reads
    # Real documents compress about 10:1 and repetitive spreadsheets 100:1; zeros reach
    # 1000:1.  Small parts may compress very well without being a threat, so the ratio
    # only counts above a floor.
    max_ratio: int = 200
    ratio_floor_bytes: int = 20 * MB


class Archive:
    """An open document archive whose parts are read in bounded chunks.

    Every read counts against one budget (``max_total_bytes``), so a document whose
    parts all point at the same large part cannot make Trove inflate it a thousand times.
    """

    def __init__(self, path: Path, limits: ZipLimits | None = None) -> None:
        self.limits = limits or ZipLimits()
        file = path.open("rb")  # an error here is about the file, not its contents
        try:
            self._zip = zipfile.ZipFile(file)
            self._file = file
        except _DAMAGED as error:
            file.close()
            raise ExtractionFailed(Category.CORRUPT, f"the file is damaged ({error})") from None
        except NotImplementedError as error:
            file.close()
            raise ExtractionFailed(
                Category.CORRUPT, f"the archive is damaged or of an unknown kind ({error})"
            ) from None
        self._entries = {info.filename: info for info in self._zip.infolist()}
        # Office and EPUB readers treat part names without regard to case.
        self._folded = {name.lower(): info for name, info in self._entries.items()}
        self._inflated = 0
        try:
            self._check_declared()
        except ExtractionFailed:
            self.close()
            raise

    def __enter__(self) -> Archive:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._zip.close()
        self._file.close()

    def has(self, name: str) -> bool:
        return self._info(name) is not None

    def names(self) -> list[str]:
        return list(self._entries)

    def read(self, name: str) -> bytes:
        """The whole part ``name``; a missing part means the document is damaged."""
        return b"".join(self.chunks(name))

    def read_optional(self, name: str) -> bytes | None:
        return self.read(name) if self.has(name) else None

    def chunks(self, name: str) -> Iterator[bytes]:
        """The part ``name`` in chunks, stopping the moment it inflates past a limit."""
        info = self._info(name)
        if info is None:
            raise ExtractionFailed(Category.CORRUPT, f"the document lacks its part {name}")
        self._check_entry(info)
        seen = 0
        try:
            with self._zip.open(info) as stream:
                while chunk := stream.read(_CHUNK_BYTES):
                    seen += len(chunk)
                    self._inflated += len(chunk)
                    self._check_inflated(info, seen)
                    yield chunk
        except _DAMAGED as error:
            raise ExtractionFailed(
                Category.CORRUPT, f"its part {info.filename} is damaged ({error})"
            ) from None
        except NotImplementedError as error:
            raise ExtractionFailed(
                Category.UNSUPPORTED,
                f"its part {info.filename} uses an unusual compression ({error})",
            ) from None
        except RuntimeError as error:
            # zipfile's way of saying the entry is encrypted with a ZIP password.
            if "encrypted" not in str(error):
                raise
            raise ExtractionFailed(
                Category.PASSWORD, "the archive is protected with a password"
            ) from None

    def _info(self, name: str) -> zipfile.ZipInfo | None:
        name = name.lstrip("/")
        return self._entries.get(name) or self._folded.get(name.lower())

    def _check_declared(self) -> None:
        limits = self.limits
        if len(self._entries) > limits.max_entries:
            raise _bomb(f"it holds {len(self._entries):,} files")
        unpacked = sum(info.file_size for info in self._entries.values())
        packed = sum(info.compress_size for info in self._entries.values())
        if unpacked > limits.max_total_bytes:
            raise _bomb(
                f"it declares {size_label(unpacked)} uncompressed, more than the "
                f"{size_label(limits.max_total_bytes)} allowed"
            )
        if unpacked > limits.ratio_floor_bytes and unpacked > limits.max_ratio * max(packed, 1):
            declared, stored = size_label(unpacked), size_label(packed)
            raise _bomb(f"it declares {declared} uncompressed from {stored}")

    def _check_entry(self, info: zipfile.ZipInfo) -> None:
        limits = self.limits
        ratio_floor = limits.ratio_floor_bytes
        if info.file_size > ratio_floor and info.file_size > limits.max_ratio * max(
            info.compress_size, 1
        ):
            raise _bomb(f"{info.filename} declares {size_label(info.file_size)} uncompressed")
        if info.file_size > limits.max_entry_bytes:
            raise ExtractionFailed(
                Category.TOO_LARGE,
                f"its part {info.filename} is {size_label(info.file_size)}, more than the "
                f"{size_label(limits.max_entry_bytes)} Trove reads",
            )

    def _check_inflated(self, info: zipfile.ZipInfo, seen: int) -> None:
        limits = self.limits
        if seen > max(info.file_size, 0) or seen > limits.max_entry_bytes:
            raise _bomb(f"{info.filename} inflates past the size its header declares")
        if self._inflated > limits.max_total_bytes:
            raise _bomb(f"reading it inflated more than {size_label(limits.max_total_bytes)}")


def refuse_ole(path: Path, expected: str, legacy: str) -> None:
    """Refuse a compound (OLE) file before it is read as a ZIP.

    Office saves password-protected documents of every kind this way, and its legacy
    formats (.doc, .xls, .ppt) are compound files too.
    """
    with path.open("rb") as file:
        if file.read(len(OLE_MAGIC)) != OLE_MAGIC:
            return
        rest = file.read()
    if _ENCRYPTED_STREAM in rest:
        raise ExtractionFailed(Category.PASSWORD, "the document is protected with a password")
    raise ExtractionFailed(
        Category.WRONG_TYPE, f"it is a {legacy} or other legacy Office file, not {expected}"
    )


def _bomb(what: str) -> ExtractionFailed:
    return ExtractionFailed(Category.CORRUPT, f"it looks like a decompression bomb ({what})")
