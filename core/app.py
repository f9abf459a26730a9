"""The composition root: builds Trove's services from settings and hands them out.

The command line, the desktop app and the tests all go through ``Trove``; nothing below
it reaches for globals.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from core.embedding import DEFAULT_MODEL_ID, Embedder, SentenceTransformerEmbedder
from core.errors import ConfigError, ModelError
from core.events import CancelToken, Event
from core.extract import Document, ExtractionPool, Registry
from core.indexer import Indexer
from core.language import language_note
from core.lock import WriterLock
from core.passages import prepare_passages
from core.paths import Locations
from core.picture_model import ClipModel, PictureModel
from core.picture_search import looks_first
from core.privacy import PrivateRules
from core.search import Result, Searcher
from core.settings import Settings, load_settings, save_settings
from core.store import Folder, Store
from core.store.filters import Filters
from core.store.index import mean_direction
from core.terms import Terms


@dataclass(frozen=True, slots=True)
class Preview:
    """A document's text as indexed, and where one passage of it lies."""

    path: str
    text: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Status:
    database: Path
    folders: list[Folder]
    states: dict[str, int]
    chunks: int
    model: str | None
    dimension: int | None
    configured_model: str
    # The picture model set (core.picture_model), and how many pictures have its vector.
    picture_model: str | None = None
    pictures: int = 0


class Trove:
    def __init__(
        self,
        locations: Locations,
        settings: Settings,
        store: Store,
        embedder: Embedder,
        registry: Registry,
        pictures: PictureModel | None = None,
    ) -> None:
        """``pictures``: the model that reads pictures (core.picture_model), or None
        when pictures are not searched by what they show."""
        self.locations = locations
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self.registry = registry
        self.pictures = pictures
        self.lock = WriterLock.beside(locations.database)
        self._searcher: Searcher | None = None

    @classmethod
    def open(
        cls,
        locations: Locations | None = None,
        *,
        settings: Settings | None = None,
        embedder: Embedder | None = None,
        readonly: bool = False,
    ) -> Trove:
        """Trove on the index ``locations`` name; ``readonly`` through a connection that
        cannot write, for a process that only answers (it never makes the index)."""
        locations = locations or Locations.from_environment()
        if not readonly:
            locations.ensure()
        settings = settings or load_settings(locations.settings)
        store = Store.open(locations.database, readonly=readonly)
        embedder = embedder or SentenceTransformerEmbedder.for_settings(settings)
        pictures = ClipModel.for_settings(settings)
        return cls(locations, settings, store, embedder, Registry.default(), pictures)

    def reader(self) -> Trove:
        """A Trove on its own read-only connection, sharing this one's model: for a
        thread that searches while this one writes (WAL lets both run at once)."""
        store = Store.open(self.locations.database, readonly=True)
        return Trove(
            self.locations, self.settings, store, self.embedder, self.registry, self.pictures
        )

    def close(self) -> None:
        if self._searcher is not None:
            self._searcher.close()
        self.store.close()

    def reopen(self) -> None:
        """Open the index file again: after another one was put in its place."""
        self.close()
        self.store = Store.open(self.locations.database)
        self._searcher = None

    def __enter__(self) -> Trove:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- folders ---------------------------------------------------------------------

    def add_folder(self, path: str | Path, ignore: str = "", *, poll: bool = False) -> Folder:
        """Watch a folder.  ``poll`` for network shares and removable drives, which send
        no change events.  Private folders and Trove's own are refused (core.privacy)."""
        folder = _real_dir(path)
        refusal = self.private_rules().refusal(folder)
        if refusal is not None:
            raise ConfigError(refusal)
        with self.lock, self.store.transaction():
            return self.store.add_folder(folder, ignore, poll)

    def remove_folder(self, path: str | Path) -> int:
        folder = self._folder(path)
        with self.lock:
            return self.store.remove_folder(folder)

    def set_ignore(self, path: str | Path, patterns: str) -> Folder:
        """Replace a folder's ignore patterns (gitignore style, one per line)."""
        folder = self._folder(path)
        with self.lock, self.store.transaction():
            self.store.set_folder_ignore(folder.id, patterns)
        return Folder(folder.id, folder.path, patterns, folder.poll)

    def folders(self) -> list[Folder]:
        return self.store.folders()

    def folder_counts(self) -> dict[str, dict[str, int]]:
        """Per folder path, how many of its files are indexed, pending, failed..."""
        counts = self.store.folder_counts()
        return {folder.path: counts.get(folder.id, {}) for folder in self.store.folders()}

    def _folder(self, path: str | Path) -> Folder:
        wanted = os.path.realpath(os.path.expanduser(str(path)))
        for folder in self.store.folders():
            if folder.path == wanted:
                return folder
        raise ConfigError(f"{path} is not a watched folder")

    # -- indexing --------------------------------------------------------------------

    def index(self, cancel: CancelToken | None = None) -> Iterator[Event]:
        """Bring the index in line with the folders.  Another model means building a new
        index: ``core.model_switch.rebuild``."""
        with self.lock:
            self.store.check_model(self.embedder.model_id)
            with self.extraction_pool() as pool:
                yield from self.indexer(pool).run(cancel)

    def indexer(self, pool: ExtractionPool) -> Indexer:
        """An indexer reading through ``pool`` and writing under this Trove's lock."""
        return Indexer(
            self.store,
            self.embedder,
            lambda path: pool.extract(Path(path)),
            self._kind_of,
            workers=max(1, pool.workers),
            chunk_tokens=self.settings.chunk_tokens,
            chunk_overlap=self.settings.chunk_overlap,
            batch_chunks=self.settings.commit_every,
            max_passages=self.settings.max_passages_per_file,
            lock=self.lock,
            private=self.private_rules(),
            interrupt=pool.interrupt,
            pages_read=pool.pages_read,
            pictures=self.pictures,
        )

    def retry_failed(self) -> int:
        """Forget failures so the next run reads those files again."""
        with self.lock, self.store.transaction():
            return self.store.retry_failed()

    def extraction_workers(self) -> int:
        if self.settings.extract_workers > 0:
            return self.settings.extract_workers
        # Leave a core to the model: extraction overlaps embedding rather than fighting it.
        cores = self.settings.index_cores or os.cpu_count() or 2
        return max(1, min(4, cores - 1))

    def extraction_pool(self, workers: int | None = None) -> ExtractionPool:
        """Worker processes that read files, with the settings' time and memory limits."""
        return ExtractionPool.for_settings(self.settings, workers or self.extraction_workers())

    # -- privacy ---------------------------------------------------------------------

    def private_rules(self) -> PrivateRules:
        """What no scan reads: the maintained list and Trove's own folders, less the
        single files the user allowed."""
        return PrivateRules.for_trove(self.locations, self.settings.allowed_private_files)

    def allow_private_file(self, path: str | Path, *, allow: bool = True) -> str:
        """Let the next scans read one file a private rule matched (``allow=False`` takes
        that back); saved in the settings.  Returns the file's real path."""
        real = os.path.realpath(os.path.expanduser(str(path)))
        allowed = self.settings.allowed_private_files
        if allow:
            refusal = self.private_rules().allowance_refusal(real)
            if refusal is not None:
                raise ConfigError(refusal)
        elif real not in allowed:
            raise ConfigError(f"{path} is not among the allowed files")
        kept = [p for p in allowed if p != real] + ([real] if allow else [])
        self.settings = self.settings.with_changes(allowed_private_files=tuple(sorted(kept)))
        save_settings(self.settings, self.locations.settings)
        return real

    def _kind_of(self, path: str) -> str | None:
        return self.registry.kind_of(Path(path))

    # -- searching -------------------------------------------------------------------

    @property
    def searcher(self) -> Searcher:
        if self._searcher is None:
            self.store.check_model(self.embedder.model_id)
            self._searcher = Searcher(self.store, self.embedder, pictures=self.pictures)
        return self._searcher

    def search(
        self,
        text: str,
        limit: int = 20,
        *,
        types: list[str] | None = None,
        folder: str | Path | None = None,
        since: datetime | None = None,
        floor: bool = True,
        meaning: bool = True,
    ) -> list[Result]:
        """Files for ``text``, best first.  ``floor=False`` shows weak matches too;
        ``meaning=False`` never touches the model (keywords and identifiers only), so it
        answers while the model is still loading."""
        filters = self.filters(types, folder, since)
        return self.searcher.search(text, limit, filters, floor=floor, meaning=meaning)

    def language_note(self, text: str) -> str | None:
        """A line to show when ``text`` is in a language the model reads poorly
        (core.language); none for a model other than the English default."""
        return language_note(text) if self.embedder.model_id == DEFAULT_MODEL_ID else None

    def similar(self, path: str | Path, limit: int = 10) -> list[Result]:
        return self.searcher.similar(os.path.realpath(os.path.expanduser(str(path))), limit)

    def more_like_passage(self, chunk_id: int, limit: int = 10) -> list[Result]:
        return self.searcher.more_like_passage(chunk_id, limit)

    def similar_to_file(self, path: str | Path, limit: int = 10) -> list[Result]:
        """Indexed files similar to any file, indexed or not (read and embedded now)."""
        real = os.path.realpath(os.path.expanduser(str(path)))
        row = self.store.file_by_path(real)
        if row is not None and row.state == "indexed":
            return self.similar(real, limit)
        if not os.path.isfile(real):
            raise ConfigError(f"{path} is not a file")
        if self.registry.kind_of(Path(real)) is None:
            raise ConfigError(f"Trove does not read files like {os.path.basename(real)}")
        # A file from anywhere may be hostile: read it in a worker process, with limits.
        with self.extraction_pool(workers=1) as pool:
            document = pool.extract(Path(real))
        inputs = prepare_passages(
            document,
            os.path.basename(real),
            self.embedder,
            self.settings.chunk_tokens,
            self.settings.chunk_overlap,
            self.settings.max_passages_per_file,
        ).inputs
        if not inputs:
            raise ConfigError(f"{path} holds no text to compare")
        vector = mean_direction(self.embedder.embed_documents(inputs))
        alike = self.searcher.similar_to_vector(vector, limit)
        look = self._picture_vector(document)
        if look is None:
            return alike
        return looks_first(self.searcher.similar_to_picture(look, limit), alike, limit)

    def _picture_vector(self, document: Document) -> np.ndarray | None:
        """What a picture from anywhere shows, for "similar", if a picture model is set
        and loads."""
        if self.pictures is None or document.thumbnail is None:
            return None
        try:
            return np.asarray(self.pictures.embed_pictures([document.thumbnail])[0])
        except ModelError:
            return None  # said when it was loaded; similar by text still answers

    def preview(self, file_id: int, chunk_id: int = 0) -> Preview | None:
        """The indexed text of a file, with the span of one of its passages (0, 0 if
        none is given): what a preview pane shows without reading the file again."""
        path = self.store.file_path(file_id)
        text = self.store.texts.document(file_id)
        if path is None or text is None:
            return None
        span = self.store.chunk_span(chunk_id) if chunk_id else None
        start, end = (span[1], span[2]) if span and span[0] == file_id else (0, 0)
        return Preview(path, text, start, end)

    def marks(self, query: str, text: str) -> list[tuple[int, int]]:
        """Character spans in ``text`` of the query's words, matched as the keyword index
        matches them (by stem, small words left out): what the preview marks."""
        terms = Terms(self.store.conn)
        stems = terms.query(query).all_stems
        return [(start, end) for start, end, stem in terms.positions(text) if stem in stems]

    def failures(self) -> list[tuple[str, str, str]]:
        """(path, category, reason) of every file that could not be read."""
        return self.store.failures()

    def skipped(self, folder: str | Path) -> list[tuple[str, str, str]]:
        """(path, state, reason) of the files in a watched folder that Trove leaves
        unread: "excluded" by a private rule or a pattern, or "unsupported"."""
        return self.store.skipped(self._folder(folder).id)

    def filters(
        self, types: list[str] | None, folder: str | Path | None, since: datetime | None
    ) -> Filters:
        exts: set[str] = set()
        for value in types or []:
            for name in value.split(","):
                covered = self.registry.extensions_for(name.strip())
                if not covered:
                    raise ConfigError(
                        f"unknown file type {name.strip()!r}; use a kind (text, code, markdown, "
                        "html, pdf, docx) or an extension Trove reads, such as md or py"
                    )
                exts.update(covered)
        return Filters(
            exts=frozenset(exts),
            folder=_real_dir(folder) if folder else None,
            since_s=_epoch_s(since) if since else None,
        )

    # -- reporting -------------------------------------------------------------------

    def status(self) -> Status:
        binding = self.store.model_binding()
        return Status(
            database=self.locations.database,
            folders=self.store.folders(),
            states=self.store.state_counts(),
            chunks=self.store.chunk_count(),
            model=binding[0] if binding else None,
            dimension=binding[1] if binding else None,
            configured_model=self.embedder.model_id,
            picture_model=self.pictures.model_id if self.pictures else None,
            pictures=self.store.pictures.count() if self.pictures else 0,
        )


# File times are compared in nanoseconds, as SQLite's 64-bit integers: 1677 to 2262.
_EPOCH_S_RANGE = (-(2**63) // 10**9 + 1, (2**63 - 1) // 10**9)


def _epoch_s(moment: datetime) -> int:
    """``moment`` in seconds since 1970, for a filter: a date before 1677 keeps every
    file and one after 2262 none, rather than overflowing."""
    try:
        seconds = moment.timestamp()
    except (OverflowError, OSError, ValueError):
        # The local-time functions refuse the year 1 (and, on Windows, any date before
        # 1970); counted without the time zone, such a date is off by hours at most.
        seconds = (moment.replace(tzinfo=None) - datetime(1970, 1, 1)).total_seconds()
    low, high = _EPOCH_S_RANGE
    return int(min(max(seconds, low), high))


def _real_dir(path: str | Path) -> str:
    resolved = os.path.realpath(os.path.expanduser(str(path)))
    if not os.path.isdir(resolved):
        raise ConfigError(f"{path} is not a folder")
    return resolved
