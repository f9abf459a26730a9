"""Trove's exception tree.

    TroveError
    ├── ConfigError            settings or command-line input that cannot be used
    ├── StoreError             the index database cannot be used as it is
    │   ├── SchemaTooNew       written by a newer Trove
    │   ├── ModelMismatch      built with another embedding model; needs a rebuild
    │   ├── IndexLocked        another process is writing the index
    │   ├── IndexDamaged       the file is not a sound SQLite database any more
    │   └── DiskFull           the disk holding the index has no room left
    ├── ModelError             the embedding model cannot be found or loaded
    └── ExtractionFailed       one file could not be read; carries a category and a reason

Known conditions raise one of these with a message a person can act on.  Anything
else is a bug and is left to surface as one.
"""

from __future__ import annotations


class TroveError(Exception):
    """Base of every error Trove raises on purpose."""


class ConfigError(TroveError):
    """A setting, path or argument that cannot be used."""


class StoreError(TroveError):
    """The index database cannot be opened or used."""


class SchemaTooNew(StoreError):
    """The database was written by a newer version of Trove."""


class ModelMismatch(StoreError):
    """The index holds vectors from a different embedding model."""

    def __init__(self, stored: str, stored_dim: int, wanted: str, wanted_dim: int | None) -> None:
        self.stored, self.stored_dim = stored, stored_dim
        self.wanted, self.wanted_dim = wanted, wanted_dim
        super().__init__(
            f"the index was built with model {stored!r} ({stored_dim} dimensions) but the "
            f"settings ask for {wanted!r}; rebuild it with `trove index --rebuild`"
        )


class IndexLocked(StoreError):
    """Another process holds the writer lock."""


class IndexDamaged(StoreError):
    """The index file is corrupt or not a database: it is moved aside, never deleted."""

    def __init__(self, path: object, detail: str) -> None:
        self.path, self.detail = path, detail
        super().__init__(
            f"the index at {path} is damaged ({detail}); `trove repair` moves it aside "
            "(nothing is deleted) and starts a new one for your folders"
        )


class DiskFull(StoreError):
    """A write found no room on the disk; what was committed before it stays."""

    def __init__(self, path: object) -> None:
        self.path = path
        super().__init__(
            f"the disk holding {path} is full; free some space and run Trove again: "
            "what was indexed so far is kept and indexing resumes where it stopped"
        )


class ModelError(TroveError):
    """The embedding model cannot be found or loaded."""


class ExtractionFailed(TroveError):
    """One file could not be turned into text.

    ``category`` is a short, stable label (see ``core.extract.base.Category``);
    ``reason`` is a sentence a person understands.
    """

    def __init__(self, category: str, reason: str) -> None:
        self.category = category
        self.reason = reason
        super().__init__(f"{category}: {reason}")
