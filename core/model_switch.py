"""Changing the embedding model without a gap in search, and without losing the index.

Vectors of two models cannot be compared, so another model means embedding every passage
again.  A ``ModelSwitch`` builds the new index in a second database; the current one keeps
answering searches and following changes meanwhile.  When the build is complete the
caller closes the current index and ``finish`` renames the new one over it.  Whatever
changed on disk during the build is caught by the reconcile the watcher runs when it
starts again, as after any restart.  ``rebuild`` (``trove index --rebuild``) is the same
build in the foreground: a model that does not load, or a build that fails or is
cancelled, leaves the current index exactly as it was.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from core.app import Trove
from core.embedding import Embedder, SentenceTransformerEmbedder
from core.errors import StoreError
from core.events import CancelToken, Event, Finished
from core.paths import make_private_folder
from core.settings import Settings
from core.store import Folder, Store
from core.store.connection import fold_log
from core.store.mirror import VECTOR_COPY
from core.store.words import WORD_COPY

WAL_FILES = ("-wal", "-shm", "-journal")


class ModelSwitch:
    def __init__(
        self,
        trove: Trove,
        settings: Settings,
        folders: list[Folder],
        embedder: Embedder | None = None,
    ) -> None:
        """``folders``: what the new index covers, read by the caller from the current
        index (the switch itself never touches the connection another thread writes)."""
        self.trove = trove
        self.settings = settings
        self.folders = folders
        self.embedder = embedder or SentenceTransformerEmbedder.for_settings(settings)
        self.locations = replace(trove.locations, data=trove.locations.next_index)

    @property
    def database(self) -> Path:
        return self.locations.database

    def build(self, cancel: CancelToken | None = None) -> Iterator[Event]:
        """Index every folder with the new model into the second database.  A build
        that fails leaves nothing behind: a half-built index is of no use to anyone."""
        self.discard()  # what an abandoned switch left
        make_private_folder(self.locations.data)
        store = Store.open(self.database)
        building = Trove(
            self.locations,
            self.settings,
            store,
            self.embedder,
            self.trove.registry,
            self.trove.pictures,
        )
        failed = True
        try:
            with building.lock, store.transaction():
                for folder in self.folders:
                    store.add_folder(folder.path, folder.ignore, folder.poll)
            yield from building.index(cancel)
            failed = False
        finally:
            building.close()
            if failed:
                self.discard()

    def finish(self) -> None:
        """Put the new index in place of the current one, whose connections (and the
        watcher's) the caller has closed.  The rename is atomic: a crash leaves one
        index or the other, never a mix."""
        _settle(self.database)
        current = self.trove.locations.database
        for suffix in (*WAL_FILES, VECTOR_COPY, WORD_COPY):
            # A leftover log of the old index would be replayed into the new one.
            Path(f"{current}{suffix}").unlink(missing_ok=True)
        os.replace(self.database, current)
        self.discard()  # the new index's copy of its vectors goes too: it is rebuilt

    def discard(self) -> None:
        shutil.rmtree(self.locations.data, ignore_errors=True)


def check_model(settings: Settings) -> SentenceTransformerEmbedder:
    """The model ``settings`` names, loaded from this computer alone (the bundled one,
    a folder, or one the hub's cache already holds), ready to build with.  A change of
    model is checked with it before anything else happens, so a made-up id or a folder
    without a model is refused at once, with a one-line ModelError, instead of failing
    the build or waiting on a network this machine may not have."""
    embedder = SentenceTransformerEmbedder.for_settings(settings, local_only=True)
    _ = embedder.dimension  # loads the model
    return embedder


def rebuild(trove: Trove, cancel: CancelToken | None = None) -> Iterator[Event]:
    """Read and embed every file again with ``trove``'s model into a new index, then put
    it in place of the current one, which stays untouched until then."""
    with trove.lock:  # nothing else writes the current index meanwhile
        _ = trove.embedder.dimension  # a model that cannot load fails before any work
        switch = ModelSwitch(trove, trove.settings, trove.folders(), trove.embedder)
        finished = None
        try:
            for event in switch.build(cancel):
                finished = event if isinstance(event, Finished) else finished
                yield event
        except BaseException:
            switch.discard()
            raise
        if finished is None or finished.cancelled:
            switch.discard()
            return
        trove.store.close()
        switch.finish()
        trove.reopen()


def _settle(database: Path) -> None:
    """Fold the write-ahead log into the database file, so the file alone is complete."""
    fold_log(database)
    leftovers = [s for s in WAL_FILES if Path(f"{database}{s}").exists()]
    if leftovers:
        raise StoreError(f"the new index at {database} is still in use; not switching")
