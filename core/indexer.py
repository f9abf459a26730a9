"""Bringing the index in line with the watched folders.

A run has two phases.  Planning walks every folder, compares each file with what the
index remembers (size and mtime first, then a content hash) and settles everything that
needs no model: unchanged files, renamed or moved files (their vectors move with them),
copies (they reuse the original's vectors) and deleted files.  Embedding then reads the
remaining files in worker processes a few files ahead of the model and commits passages
and vectors in batches, so a killed run resumes where it stopped.

A run may be targeted: given the paths that changed (files, or folders meaning "all
below"), planning looks only there, with the same settling rules, and never deletes a
file outside them.  The watcher runs targeted passes.  Every run holds the writer lock.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections import deque
from collections.abc import Callable, Collection, Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from core.embedding import Embedder
from core.errors import ExtractionFailed
from core.events import CancelToken, Event, FileFailed, Finished, Notice, Progress, ScanDone
from core.extract.base import Category, Document
from core.lock import WriterLock
from core.passages import Passages, prepare_passages
from core.privacy import PrivateRules
from core.scanner import (
    UNLISTED,
    KindOf,
    Skipped,
    Unlisted,
    scan_folder,
    scan_targets,
    unreachable,
)
from core.store import FileRow, FileStat, Folder, Store
from core.store.index import mean_direction
from core.watch.scope import targets_by_folder

Extract = Callable[[str], Document]
PLAN_BATCH = 500
CHANGING_REASON = "it changed while it was being read; it is read again once it changes next"
READ_AHEAD_FILES = 32


@dataclass(slots=True)
class Job:
    file_id: int
    stat: FileStat
    digest: str


@dataclass(slots=True)
class Plan:
    jobs: list[Job] = field(default_factory=list)
    seen: int = 0
    unchanged: int = 0
    moved_ids: set[int] = field(default_factory=set)
    copied: int = 0
    deleted: int = 0
    failures: list[FileFailed] = field(default_factory=list)


@dataclass(slots=True)
class Prepared:
    job: Job
    passages: Passages


def file_digest(path: str) -> str:
    digest = hashlib.blake2b(digest_size=20)
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


class Indexer:
    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        extract: Extract,
        kind_of: KindOf,
        *,
        lock: WriterLock,
        workers: int = 2,
        chunk_tokens: int = 200,
        chunk_overlap: int = 40,
        batch_chunks: int = 256,
        max_passages: int = 5000,
        private: PrivateRules | None = None,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.extract = extract
        self.kind_of = kind_of
        self.workers = max(1, workers)
        self.chunk_tokens = chunk_tokens
        self.chunk_overlap = chunk_overlap
        self.batch_chunks = batch_chunks
        self.max_passages = max_passages
        self.lock = lock
        self.private = private or PrivateRules()

    def run(
        self, cancel: CancelToken | None = None, targets: Collection[str] | None = None
    ) -> Iterator[Event]:
        """Bring the index in line with the folders, or only with ``targets`` if given.

        Raises ``IndexLocked`` (on the first step) when another writer holds the lock.
        """
        with self.lock:
            yield from self._run(cancel or CancelToken(), targets)

    def _run(self, cancel: CancelToken, targets: Collection[str] | None) -> Iterator[Event]:
        started = time.monotonic()
        plan = Plan()
        yield from self._plan(plan, cancel, targets)
        yield ScanDone(
            plan.seen,
            plan.unchanged,
            len(plan.jobs),
            len(plan.moved_ids),
            plan.copied,
            plan.deleted,
        )
        indexed = chunks = 0
        if plan.jobs and not cancel.cancelled:
            indexed, chunks = yield from self._embed(plan, cancel)
        yield Finished(
            files_indexed=indexed,
            files_failed=len(plan.failures),
            chunks_embedded=chunks,
            elapsed_s=time.monotonic() - started,
            cancelled=cancel.cancelled,
            failures=plan.failures,
        )

    # -- planning --------------------------------------------------------------------

    def _plan(
        self, plan: Plan, cancel: CancelToken, targets: Collection[str] | None
    ) -> Iterator[Event]:
        changed: list[tuple[FileStat | Skipped, FileRow | None]] = []
        missing: list[FileRow] = []
        folders = self.store.folders()
        wanted = None if targets is None else targets_by_folder(targets, folders)
        for folder in folders:
            if wanted is not None and folder.id not in wanted:
                continue
            why = unreachable(folder.path)
            if why is not None:
                yield Notice(f"{folder.path} {why}; its files are kept as they are")
                continue
            known, found_files = self._survey(
                folder, None if wanted is None else wanted[folder.id], cancel
            )
            for found in found_files:
                plan.seen += 1
                stat = found.stat if isinstance(found, Skipped) else found
                row = known.pop(stat.path, None)
                if isinstance(found, Unlisted):
                    self._unlisted(plan, found, known)
                if row is not None and row.unchanged(stat) and _settled_state(row, found):
                    plan.unchanged += 1
                else:
                    changed.append((found, row))
            missing.extend(known.values())
        if cancel.cancelled:
            return
        gone = {row.hash: row for row in missing if row.hash and row.state == "indexed"}
        for start in range(0, len(changed), PLAN_BATCH):
            with self.store.transaction():
                for found, row in changed[start : start + PLAN_BATCH]:
                    if isinstance(found, Skipped):
                        self._skip(found, row)
                    else:
                        self._settle(plan, found, row, gone)
        leftover = [row.id for row in missing if row.id not in plan.moved_ids]
        with self.store.transaction():
            self.store.delete_files(leftover)
        plan.deleted = len(leftover)

    def _survey(
        self, folder: Folder, targets: list[str] | None, cancel: CancelToken
    ) -> tuple[dict[str, FileRow], Iterator[FileStat | Skipped]]:
        """What the index remembers and what is on disk, in the whole folder or below the
        targets only: files remembered but not found are deleted, so both sides must cover
        exactly the same ground."""
        if targets is None:
            scan = scan_folder(folder, self.kind_of, cancel, self.private)
            return self.store.files_in(folder.id), scan
        known = self.store.files_under(folder.id, targets)
        return known, scan_targets(folder, targets, self.kind_of, cancel, self.private)

    def _settle(
        self, plan: Plan, stat: FileStat, row: FileRow | None, gone: dict[str, FileRow]
    ) -> None:
        try:
            digest = file_digest(stat.path)
        except OSError as exc:
            self._fail(plan, stat, Category.UNREADABLE, exc.strerror or str(exc))
            return
        if row is not None and row.hash == digest and row.state == "indexed":
            self.store.touch_file(row.id, stat)
            plan.unchanged += 1
            return
        moved = gone.pop(digest, None)
        if moved is not None:
            if row is not None:
                self.store.delete_files([row.id])
            self.store.move_file(moved, stat)
            plan.moved_ids.add(moved.id)
            return
        source = self.store.indexed_with_hash(digest)
        if source is not None and (row is None or source.id != row.id):
            file_id = self.store.upsert_file(
                stat, "indexed", digest=digest, title=self.store.title_of(source.id)
            )
            self.store.copy_document(source.id, file_id, stat)
            plan.copied += 1
            return
        file_id = self.store.upsert_file(stat, "pending", digest=digest)
        plan.jobs.append(Job(file_id, stat, digest))

    def _unlisted(self, plan: Plan, folder: Unlisted, known: dict[str, FileRow]) -> None:
        """The files the index knows below a folder that cannot be listed now are failed
        (their text leaves the index, their rows stay), not taken for deleted."""
        plan.failures.append(FileFailed(folder.stat.path, Category.UNREADABLE, folder.reason))
        below = [path for path in known if path.startswith(os.path.join(folder.stat.path, ""))]
        reason = f"the folder it is in cannot be listed: {folder.reason.removeprefix(UNLISTED)}"
        with self.store.transaction():
            for path in below:
                row = known.pop(path)
                # Size unknown (-1): once the folder opens, the file is read again.
                stat = FileStat(row.path, row.folder_id, -1, row.mtime_ns, row.kind)
                self._fail(plan, stat, Category.UNREADABLE, reason)

    def _skip(self, skipped: Skipped, row: FileRow | None) -> None:
        """Record a file Trove leaves alone; whatever it held before leaves the index."""
        if row is not None:
            self.store.delete_files([row.id])
        category = "excluded" if skipped.state == "excluded" else Category.UNREADABLE
        self.store.upsert_file(
            skipped.stat, skipped.state, category=category, reason=skipped.reason
        )

    def _fail(self, plan: Plan, stat: FileStat, category: str, reason: str) -> None:
        state = "unsupported" if category == Category.UNSUPPORTED else "failed"
        self.store.upsert_file(stat, state, category=category, reason=reason)
        plan.failures.append(FileFailed(stat.path, category, reason))

    # -- reading and embedding -------------------------------------------------------

    def _embed(self, plan: Plan, cancel: CancelToken) -> Generator[Event, None, tuple[int, int]]:
        self.store.bind_model(self.embedder.model_id, self.embedder.dimension)
        tally = _Tally(len(plan.jobs))
        batch: list[Prepared] = []
        for job, outcome in self._read_ahead(plan.jobs, cancel):
            if isinstance(outcome, ExtractionFailed):
                failure = self._failed_reading(plan, job, outcome)
                if failure is not None:
                    yield failure
                tally.files += 1
                continue
            prepared = self._prepare(job, outcome)
            if len(prepared.passages.chunks) > self.batch_chunks:
                yield from self._flush(plan, batch, tally)
                batch = []
                yield from self._commit_large(plan, prepared, tally, cancel)
                continue
            batch.append(prepared)
            if sum(len(p.passages.chunks) for p in batch) >= self.batch_chunks:
                yield from self._flush(plan, batch, tally)
                batch = []
        if not cancel.cancelled:
            yield from self._flush(plan, batch, tally)
        return tally.indexed, tally.chunks

    def _flush(self, plan: Plan, batch: list[Prepared], tally: _Tally) -> Iterator[Event]:
        if not batch:
            return
        written, chunks = self._commit(plan, batch)
        tally.files += len(batch)
        tally.indexed += written
        tally.chunks += chunks
        yield tally.progress(batch[-1].job.stat.path)

    def _failed_reading(self, plan: Plan, job: Job, failure: ExtractionFailed) -> FileFailed | None:
        with self.store.transaction():
            if not os.path.lexists(job.stat.path):
                # Deleted while queued or being read: gone, not failed.
                self.store.delete_files([job.file_id])
                return None
            self._fail(plan, job.stat, failure.category, failure.reason)
        return plan.failures[-1]

    def _read_ahead(
        self, jobs: list[Job], cancel: CancelToken
    ) -> Iterator[tuple[Job, Document | ExtractionFailed]]:
        """Extract files on worker threads, a few ahead of the consumer, in order."""
        # Futures run on the pool's threads whether or not this generator is resumed, so
        # files keep being read while the consumer sits in the model; the window must be
        # deep enough to cover a whole batch, yet bounded, since each holds a document.
        window = max(self.workers * 4, READ_AHEAD_FILES)
        with ThreadPoolExecutor(self.workers, thread_name_prefix="trove-read") as pool:
            queue: deque[tuple[Job, Future[Document]]] = deque()
            pending = iter(jobs)
            for job in pending:
                queue.append((job, pool.submit(self.extract, job.stat.path)))
                if len(queue) < window:
                    continue
                yield _settled(*queue.popleft())
                if cancel.cancelled:
                    break
            while queue and not cancel.cancelled:
                yield _settled(*queue.popleft())
            for _, future in queue:
                future.cancel()

    def _prepare(self, job: Job, document: Document) -> Prepared:
        passages = prepare_passages(
            document,
            job.stat.name,
            self.embedder,
            self.chunk_tokens,
            self.chunk_overlap,
            self.max_passages,
        )
        return Prepared(job, passages)

    def _commit(self, plan: Plan, batch: list[Prepared]) -> tuple[int, int]:
        """Embed a batch of files and write them in one transaction; returns how many
        files were written and how many passages embedded (a file changed on disk while
        it was read is embedded but not written)."""
        inputs = [text for prepared in batch for text in prepared.passages.inputs]
        vectors = self.embedder.embed_documents(inputs)
        offset = written = 0
        with self.store.transaction():
            for job, passages in ((p.job, p.passages) for p in batch):
                count = len(passages.chunks)
                offset += count
                if not count:
                    self._fail(plan, job.stat, Category.EMPTY, "the file holds no text")
                elif self._keep(plan, job, passages):
                    self.store.write_document(
                        job.file_id,
                        job.stat,
                        passages.title,
                        passages.text,
                        passages.chunks,
                        vectors[offset - count : offset],
                    )
                    written += 1
        return written, offset

    def _commit_large(
        self, plan: Plan, prepared: Prepared, tally: _Tally, cancel: CancelToken
    ) -> Iterator[Event]:
        """A file of more passages than a batch: embedded and committed a batch at a
        time, so memory stays that of one batch and a killed run keeps what was done (the
        file stays pending until its last batch, and is read afresh next run)."""
        job, passages = prepared.job, prepared.passages
        direction = np.zeros(self.embedder.dimension, dtype=np.float64)
        for start in range(0, len(passages.chunks), self.batch_chunks):
            if cancel.cancelled:
                with self.store.transaction():
                    self.store.drop_content(job.file_id)  # half a file is not kept
                return
            stop = start + self.batch_chunks
            vectors = self.embedder.embed_documents(passages.inputs[start:stop])
            direction += vectors.sum(axis=0)
            with self.store.transaction():
                if start == 0:
                    self.store.write_text(job.file_id, passages.text)
                self.store.add_passages(
                    job.file_id, job.stat, passages.title, passages.chunks[start:stop], vectors
                )
            tally.chunks += len(vectors)
            yield tally.progress(job.stat.path)
        tally.files += 1
        with self.store.transaction():
            if self._keep(plan, job, passages):
                self.store.write_file_vector(job.file_id, job.stat, mean_direction(direction[None]))
                tally.indexed += 1

    def _keep(self, plan: Plan, job: Job, passages: Passages) -> bool:
        """Mark a freshly embedded file indexed, unless it changed while it was read."""
        if not _same_on_disk(job.stat):
            # What was read is already out of date.  Recorded with the size and time it
            # had when planned, so the next run (or the watcher's event for the next
            # write) sees a change and reads it again.
            self._fail(plan, job.stat, Category.CHANGING, CHANGING_REASON)
            return False
        note = None
        if not passages.complete:
            note = (
                f"only its first {len(passages.chunks):,} passages are searchable: the "
                f"limit per file is the max_passages_per_file setting ({self.max_passages:,})"
            )
        self.store.upsert_file(
            job.stat,
            "indexed",
            digest=job.digest,
            title=passages.title,
            category=Category.PARTIAL if note else None,
            reason=note,
        )
        return True


@dataclass(slots=True)
class _Tally:
    """How far the embedding phase has gone, for progress events."""

    total: int
    started: float = field(default_factory=time.monotonic)
    files: int = 0
    chunks: int = 0
    indexed: int = 0

    def progress(self, current: str) -> Progress:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        eta = (self.total - self.files) * elapsed / self.files if self.files else None
        return Progress(self.files, self.total, self.chunks, self.chunks / elapsed, eta, current)


def _same_on_disk(stat: FileStat) -> bool:
    try:
        now = os.stat(stat.path, follow_symlinks=False)
    except OSError:
        return False
    return now.st_size == stat.size and now.st_mtime_ns == stat.mtime_ns


def _settled_state(row: FileRow, found: FileStat | Skipped) -> bool:
    """Whether the index already holds the final word on an unchanged file."""
    if isinstance(found, Skipped):
        return row.state == found.state
    return row.state in ("indexed", "failed", "unsupported")


def _settled(job: Job, future: Future[Document]) -> tuple[Job, Document | ExtractionFailed]:
    try:
        return job, future.result()
    except ExtractionFailed as exc:
        return job, exc
