"""The index database."""

from core.store.connection import atomic, connect, vec_version
from core.store.index import Store
from core.store.records import Chunk, FileRow, FileStat, Folder

__all__ = ["Chunk", "FileRow", "FileStat", "Folder", "Store", "atomic", "connect", "vec_version"]
