"""Turning files into text: one extractor per format, a registry, and a process pool.

Registry.default().extract(path, max_bytes)  -> Document or ExtractionFailed
ExtractionPool(...).extract(path)            -> the same, in a worker process
"""

from .base import Category, Document, Extractor, Piece
from .pool import ExtractionPool
from .registry import Registry

__all__ = ["Category", "Document", "ExtractionPool", "Extractor", "Piece", "Registry"]
