"""Arrays saved beside the index (the vector and keyword copies), read without a second copy.

A copy is saved with ``numpy.savez``: a zip of ``.npy`` members, stored uncompressed.  Read
with ``numpy.load``, each member is a fresh array, and a copy made from them briefly holds
everything twice (at a million passages, 370 MB more at the peak).  Here a member is found
by its offset in the file instead, and either read straight into the array that keeps it
(``SavedArrays.read_into``) or left in the file and read a slice at a time
(``SavedArrays.rows``): an immutable copy, such as the keyword copy's postings, then costs
the process only the slices a search is using.  Those are read with ``pread``, not mapped:
a mapped page, once touched, counts in the process's resident memory (at a million
passages, fifty queries touched 258 MB of postings), while a page read sits in the
system's file cache, which the kernel shares and frees as it needs.  A member that is
compressed, cut short or not what its header says raises ``ValueError``.
"""

from __future__ import annotations

import io
import operator
import os
import struct
import weakref
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")  # a zip member's local header, 30 bytes
_LOCAL_MAGIC = b"PK\x03\x04"
# Windows cannot replace a file that is open, and a new copy is saved over the old one; it
# has no pread either.  There a member is read into memory instead of left in its file.
READ_IN_PLACE = os.name != "nt" and hasattr(os, "pread")


@dataclass(frozen=True, slots=True)
class Member:
    """Where one saved array lies in the file, and what it is."""

    offset: int  # of its first byte
    dtype: np.dtype
    shape: tuple[int, ...]
    by_columns: bool  # laid out in Fortran's order

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize


class SavedArrays:
    """The arrays of one saved copy, open for reading (use as a context manager)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: io.BufferedReader = open(path, "rb")  # noqa: SIM115 (closed by close)
        try:
            self.members = self._find_members()
        except (zipfile.BadZipFile, struct.error, EOFError, OSError) as error:
            self._file.close()
            raise ValueError(f"{path.name} is not a saved copy: {error}") from error
        except BaseException:
            self._file.close()
            raise

    def __enter__(self) -> SavedArrays:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._file.close()

    def read(self, name: str) -> np.ndarray:
        """A member as an array of its own (for the small ones)."""
        member = self._member(name)
        array = np.empty(member.shape, dtype=member.dtype)
        self.read_into(name, array)
        return array

    def read_into(self, name: str, out: np.ndarray) -> None:
        """Fill ``out`` (of the member's shape and type, laid out by rows) from the file."""
        member = self._member(name)
        if out.shape != member.shape or out.dtype != member.dtype:
            raise ValueError(f"{name}: saved as {member.shape} {member.dtype}")
        if member.by_columns and out.ndim > 1:  # as its transpose, laid out by rows
            transposed = np.empty(member.shape[::-1], dtype=member.dtype)
            self._read_rows(name, member, [transposed])
            out[...] = transposed.T
            return
        self._read_rows(name, member, [out] if out.flags.c_contiguous else list(out))

    def rows(self, name: str) -> FileRows | np.ndarray:
        """A member (laid out by rows) left in the file, read a slice of rows at a time;
        read into memory where a file cannot be kept open."""
        member = self._member(name)
        if member.by_columns and len(member.shape) > 1:
            raise ValueError(f"{name}: laid out by columns, not rows")
        if not READ_IN_PLACE or member.nbytes == 0 or not member.shape:
            return self.read(name)
        return FileRows(self.path, member)

    # -- internals -------------------------------------------------------------------

    def _read_rows(self, name: str, member: Member, rows: list[np.ndarray]) -> None:
        self._file.seek(member.offset)
        for row in rows:  # each contiguous (a slice of a 2-D array's columns, by rows)
            into = memoryview(row.reshape(-1).view(np.uint8))  # type: ignore[arg-type]
            if row.nbytes and self._file.readinto(into) != row.nbytes:
                raise ValueError(f"{name}: the file ends inside it")

    def _member(self, name: str) -> Member:
        try:
            return self.members[name]
        except KeyError:
            raise KeyError(f"{self.path.name} holds no {name}") from None

    def _find_members(self) -> dict[str, Member]:
        size = os.fstat(self._file.fileno()).st_size
        with zipfile.ZipFile(self._file) as archive:
            infos = archive.infolist()
        members = {}
        for info in infos:
            if info.compress_type != zipfile.ZIP_STORED or not info.filename.endswith(".npy"):
                raise ValueError(f"{info.filename}: not an array stored as is")
            member = self._read_member(info)
            if member.offset + member.nbytes > size:
                raise ValueError(f"{info.filename}: the file ends inside it")
            members[info.filename.removesuffix(".npy")] = member
        return members

    def _read_member(self, info: zipfile.ZipInfo) -> Member:
        self._file.seek(info.header_offset)
        header = _LOCAL_HEADER.unpack(self._file.read(_LOCAL_HEADER.size))
        if header[0] != _LOCAL_MAGIC:
            raise ValueError(f"{info.filename}: no zip header where the index says")
        name_length, extra_length = header[-2:]
        start = info.header_offset + _LOCAL_HEADER.size + name_length + extra_length
        self._file.seek(start)
        version = np.lib.format.read_magic(self._file)
        read_header = {
            (1, 0): np.lib.format.read_array_header_1_0,
            (2, 0): np.lib.format.read_array_header_2_0,
        }.get(version)
        if read_header is None:
            raise ValueError(f"{info.filename}: an array format this version cannot read")
        shape, fortran, dtype = read_header(self._file)
        if dtype.hasobject:
            raise ValueError(f"{info.filename}: holds Python objects")
        member = Member(self._file.tell(), dtype, tuple(shape), bool(fortran))
        if member.offset - start + member.nbytes > info.file_size:
            raise ValueError(f"{info.filename}: shorter than its header says")
        return member


class FileRows:
    """An array that stays in its saved file: indexing by a row or a slice of rows reads
    just those (``os.pread``, safe from several threads), as a read-only array.  The file
    is held open, so a copy saved over it later leaves this one reading the old file."""

    def __init__(self, path: Path, member: Member) -> None:
        self.shape = member.shape
        self.dtype = member.dtype
        self._offset = member.offset
        self._row_bytes = int(np.prod(member.shape[1:], dtype=np.int64)) * member.dtype.itemsize
        self._fd = os.open(path, os.O_RDONLY)
        weakref.finalize(self, os.close, self._fd)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key: int | slice) -> np.ndarray:
        if isinstance(key, slice):
            start, stop, step = key.indices(len(self))
            if step != 1:
                raise IndexError("rows are read in order, one slice at a time")
            count = max(stop - start, 0)
            return self._read(start, count).reshape((count, *self.shape[1:]))
        row = operator.index(key)
        row += len(self) if row < 0 else 0
        if not 0 <= row < len(self):
            raise IndexError(f"row {key} of {len(self)}")
        return self._read(row, 1).reshape(self.shape[1:])

    def _read(self, first: int, count: int) -> np.ndarray:
        size = count * self._row_bytes
        data = os.pread(self._fd, size, self._offset + first * self._row_bytes) if size else b""
        if len(data) != size:
            raise ValueError("the saved copy ends inside the rows asked for")
        return np.frombuffer(data, dtype=self.dtype)
