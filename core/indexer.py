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

from core.chunking import TITLE_TOKENS, chunk_document, passage_budget
from core.embedding import Embedder
from core.errors import ExtractionFailed
from core.events import CancelToken, Event, FileFailed, Finished, Notice, Progress, ScanDone
from core.extract.base import Category, Document
from core.lock import WriterLock
from core.scanner import KindOf, Skipped, scan_folder, scan_targets
from core.store import Chunk, FileRow, FileStat, Folder, Store
from core.watch.scope import targets_by_folder

Extract = Callable[[str], Document]
PLAN_BATCH = 500
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
    title: str
    text: str
    chunks: list[Chunk]
    inputs: list[str]


def prepare_passages(
    document: Document, name: str, embedder: Embedder, chunk_tokens: int, chunk_overlap: int
) -> tuple[str, str, list[Chunk], list[str]]:
    """A document's title, text, passages, and the texts the model embeds for them (each
    passage led by the title, so a passage deep in a file still says what file it is)."""
    title = (document.title or "").strip() or name_label(name)
    title_spans = embedder.token_spans(title)[:TITLE_TOKENS] if title else []
    if title_spans:
        title = title[: title_spans[-1][1]]
    budget = passage_budget(embedder.max_tokens, len(title_spans), chunk_tokens)
    chunked = chunk_document(
        document, embedder.token_spans, budget, min(chunk_overlap, budget // 4)
    )
    inputs = [
        f"{title}\n{c.text}" if title and not c.text.startswith(title) else c.text
        for c in chunked.chunks
    ]
    return title, chunked.text, chunked.chunks, inputs


def file_digest(path: str) -> str:
    digest = hashlib.blake2b(digest_size=20)
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def name_label(name: str) -> str:
    """A file name as words ("q3-budget_final.xlsx" -> "q3 budget final"), or "" if the
    name carries no words (a number, a hash)."""
    stem = os.path.splitext(name)[0].replace("_", " ").replace("-", " ").strip()
    return stem if any(ch.isalpha() for ch in stem) else ""


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
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.extract = extract
        self.kind_of = kind_of
        self.workers = max(1, workers)
        self.chunk_tokens = chunk_tokens
        self.chunk_overlap = chunk_overlap
        self.batch_chunks = batch_chunks
        self.lock = lock

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
            if not os.path.isdir(folder.path):
                yield Notice(f"{folder.path} is not reachable; its files are kept as they are")
                continue
            known, found_files = self._survey(
                folder, None if wanted is None else wanted[folder.id], cancel
            )
            for found in found_files:
                plan.seen += 1
                stat = found.stat if isinstance(found, Skipped) else found
                row = known.pop(stat.path, None)
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
            return self.store.files_in(folder.id), scan_folder(folder, self.kind_of, cancel)
        known = self.store.files_under(folder.id, targets)
        return known, scan_targets(folder, targets, self.kind_of, cancel)

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
        started = time.monotonic()
        total, files_done, chunks_done, indexed = len(plan.jobs), 0, 0, 0
        batch: list[Prepared] = []
        for job, outcome in self._read_ahead(plan.jobs, cancel):
            if isinstance(outcome, ExtractionFailed):
                failure = self._failed_reading(plan, job, outcome)
                if failure is not None:
                    yield failure
                files_done += 1
                continue
            batch.append(self._prepare(job, outcome))
            if sum(len(p.chunks) for p in batch) < self.batch_chunks:
                continue
            written, chunks = self._commit(plan, batch)
            files_done += len(batch)
            indexed += written
            chunks_done += chunks
            batch = []
            yield _progress(files_done, total, chunks_done, started, job.stat.path)
        if batch and not cancel.cancelled:
            written, chunks = self._commit(plan, batch)
            files_done += len(batch)
            indexed += written
            chunks_done += chunks
            yield _progress(files_done, total, chunks_done, started, batch[-1].job.stat.path)
        return indexed, chunks_done

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
        title, text, chunks, inputs = prepare_passages(
            document, job.stat.name, self.embedder, self.chunk_tokens, self.chunk_overlap
        )
        return Prepared(job, title, text, chunks, inputs)

    def _commit(self, plan: Plan, batch: list[Prepared]) -> tuple[int, int]:
        """Embed a batch of files and write them in one transaction; returns how many
        files were written and how many passages embedded (a file changed on disk while
        it was read is embedded but not written)."""
        inputs = [text for prepared in batch for text in prepared.inputs]
        vectors = self.embedder.embed_documents(inputs)
        offset = written = 0
        with self.store.transaction():
            for prepared in batch:
                job, count = prepared.job, len(prepared.chunks)
                offset += count
                if not count:
                    self._fail(plan, job.stat, Category.EMPTY, "the file holds no text")
                    continue
                if not _same_on_disk(job.stat):
                    continue  # changed while being read: stays pending, read again next run
                self.store.upsert_file(job.stat, "indexed", digest=job.digest, title=prepared.title)
                self.store.write_document(
                    job.file_id,
                    job.stat,
                    prepared.title,
                    prepared.text,
                    prepared.chunks,
                    vectors[offset - count : offset],
                )
                written += 1
        return written, offset


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


def _progress(files: int, total: int, chunks: int, started: float, current: str) -> Progress:
    elapsed = max(time.monotonic() - started, 1e-6)
    eta = (total - files) * elapsed / files if files else None
    return Progress(files, total, chunks, chunks / elapsed, eta, current)
