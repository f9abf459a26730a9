"""Bringing the index in line with the watched folders.

A run has two phases.  Planning walks every folder, compares each file with what the
index remembers (size and mtime first, then a content hash) and settles everything that
needs no model: unchanged files, renamed or moved files (their vectors move with them),
copies (they reuse the original's vectors) and deleted files.  Embedding then reads the
remaining files in worker processes a few files ahead of the model (core.reading), hands
the model their passages in short steps (core.feed) and writes each file once all its
passages are embedded, a large one a batch at a time: a killed run resumes where it
stopped, and a cancel is answered within a step.

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
from dataclasses import dataclass, field

from core.embedding import Embedder
from core.errors import ExtractionFailed
from core.events import CancelToken, Event, FileFailed, Finished, Notice, ScanDone
from core.extract.base import Category, Document
from core.feed import Job, Pace, Tally, Writing, hand_out, take, waiting
from core.lock import WriterLock
from core.passages import Passages, prepare_passages
from core.picture_index import PictureIndexing
from core.picture_model import PictureModel
from core.privacy import PrivateRules
from core.reading import Extract, read_ahead
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
from core.watch.scope import targets_by_folder

PLAN_BATCH = 500
CHANGING_REASON = "it changed while it was being read; it is read again once it changes next"


@dataclass(slots=True)
class Plan:
    jobs: list[Job] = field(default_factory=list)
    seen: int = 0
    unchanged: int = 0
    moved_ids: set[int] = field(default_factory=set)
    copied: int = 0
    deleted: int = 0
    failures: list[FileFailed] = field(default_factory=list)


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
        interrupt: Callable[[], None] | None = None,
        pages_read: Callable[[str], int] | None = None,
        pictures: PictureModel | None = None,
    ) -> None:
        """``interrupt`` stops the reads under way when a run is cancelled, and
        ``pages_read`` tells how far OCR is into a file being read (the extraction
        pool's); ``pictures``: the model that embeds pictures by what they show
        (core.picture_model), if one is set."""
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
        self.interrupt = interrupt or (lambda: None)
        self.pages_read = pages_read or (lambda path: 0)
        self.pace = Pace(batch_chunks)
        self.pictures = PictureIndexing(store, pictures)

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
        self.pictures.start()
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
        if self.pictures.problem:
            yield Notice(self.pictures.problem)
        self.store.settle_vector_log()
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
                if row is not None and row.unchanged(stat) and self._settled(row, found):
                    plan.unchanged += 1
                else:
                    changed.append((found, row))
            missing.extend(known.values())
        if cancel.cancelled:
            return
        gone = {row.hash: row for row in missing if row.hash and row.state == "indexed"}
        self._settle_all(plan, changed, gone, cancel)
        if cancel.cancelled:
            return  # what is not settled yet is looked at again next time
        leftover = [row.id for row in missing if row.id not in plan.moved_ids]
        with self.store.transaction():
            self.store.delete_files(leftover)
        plan.deleted = len(leftover)

    def _settle_all(
        self,
        plan: Plan,
        changed: list[tuple[FileStat | Skipped, FileRow | None]],
        gone: dict[str, FileRow],
        cancel: CancelToken,
    ) -> None:
        """Hash and settle the files that changed, in batches; a cancel stops between
        files (each file's settling is whole on its own)."""
        for start in range(0, len(changed), PLAN_BATCH):
            with self.store.transaction():
                for found, row in changed[start : start + PLAN_BATCH]:
                    if cancel.cancelled:
                        return
                    if isinstance(found, Skipped):
                        self._skip(found, row)
                    else:
                        self._settle(plan, found, row, gone)

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
        if (
            row is not None
            and row.hash == digest
            and row.state == "indexed"
            and not self.pictures.wants(row)
        ):
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

    def _settled(self, row: FileRow, found: FileStat | Skipped) -> bool:
        """Whether the index already holds the final word on an unchanged file: a
        picture still waiting for its vector from a picture model is read again."""
        return _settled_state(row, found) and not self.pictures.wants(row)

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
        tally = Tally(len(plan.jobs))
        queue: deque[Writing] = deque()
        for job, outcome in read_ahead(
            self.extract, plan.jobs, self.workers, cancel, self.interrupt
        ):
            if outcome is None:  # still being read: embed what is here meanwhile
                if waiting(queue) and not cancel.cancelled:
                    yield from self._step(plan, queue, tally)
                else:
                    yield tally.reading(job.stat.path, self.pages_read(job.stat.path))
            elif isinstance(outcome, ExtractionFailed):
                yield from self._failed_reading(plan, job, outcome, tally)
            else:
                queue.append(self._prepare(job, outcome))
                while waiting(queue) >= self.pace.size and not cancel.cancelled:
                    yield from self._step(plan, queue, tally)
        while queue and not cancel.cancelled:
            yield from self._step(plan, queue, tally)
        self._abandon(queue)
        if tally.files != tally.reported:
            yield tally.progress()  # where it stopped
        return tally.indexed, tally.chunks

    def _step(self, plan: Plan, queue: deque[Writing], tally: Tally) -> Iterator[Event]:
        """Embed the next passages in line, as many as take about ``STEP_S``, then write
        the files they complete (and a large file's passages so far, a batch at a time):
        between two steps a pause is seen and progress moves, even inside one file."""
        pieces = take(queue, self.pace.size)
        inputs = [text for piece in pieces for text in piece.inputs]
        if inputs:
            started = time.monotonic()
            vectors = self.embedder.embed_documents(inputs)
            self.pace.measure(len(inputs), time.monotonic() - started)
            hand_out(pieces, vectors)
            tally.chunks += len(inputs)
        with self.store.transaction():
            while queue and queue[0].left == 0:
                self._finish(plan, queue.popleft(), tally)
            if queue and queue[0].unwritten >= self.batch_chunks:
                self._write_part(queue[0])  # memory stays that of one batch
        yield tally.progress(pieces[-1].writing if pieces else None)

    def _finish(self, plan: Plan, writing: Writing, tally: Tally) -> None:
        """Write a file whose passages are all embedded, and mark it indexed."""
        job, passages = writing.job, writing.passages
        tally.files += 1
        if not writing.total:
            self._fail(plan, job.stat, Category.EMPTY, "the file holds no text")
            return
        if writing.written:  # a large file: its last passages, then its own vector
            self._write_part(writing)
            if not self._keep(plan, job, passages):
                return
            self.store.write_file_vector(job.file_id, writing.direction())
        elif self._keep(plan, job, passages):
            vectors = writing.take()
            self.store.write_document(
                job.file_id, job.stat, passages.title, passages.text, passages.chunks, vectors
            )
        else:
            return
        tally.indexed += 1
        if writing.picture is not None:
            self.pictures.write(job.file_id, writing.picture)

    def _write_part(self, writing: Writing) -> None:
        """Write a large file's passages embedded so far; the file stays pending until
        its last ones, so a killed run reads it afresh next time."""
        job, passages = writing.job, writing.passages
        if not writing.written:
            self.store.write_text(job.file_id, passages.text)
        start = writing.written
        vectors = writing.take()
        chunks = passages.chunks[start : start + len(vectors)]
        self.store.add_passages(job.file_id, job.stat, passages.title, chunks, vectors)

    def _abandon(self, queue: deque[Writing]) -> None:
        """Cancelled: the files not finished stay pending, and a file partly written is
        taken out again (half a file is not kept)."""
        partial = [writing for writing in queue if writing.written]
        if partial:
            with self.store.transaction():
                for writing in partial:
                    self.store.drop_content(writing.job.file_id)

    def _failed_reading(
        self, plan: Plan, job: Job, failure: ExtractionFailed, tally: Tally
    ) -> Iterator[Event]:
        tally.files += 1
        with self.store.transaction():
            if not os.path.lexists(job.stat.path):
                # Deleted while queued or being read: gone, not failed.
                self.store.delete_files([job.file_id])
                return
            self._fail(plan, job.stat, failure.category, failure.reason)
        yield plan.failures[-1]

    def _prepare(self, job: Job, document: Document) -> Writing:
        passages = prepare_passages(
            document,
            job.stat.name,
            self.embedder,
            self.chunk_tokens,
            self.chunk_overlap,
            self.max_passages,
        )
        return Writing(job, passages, picture=self.pictures.embed(document))

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
        self.store.set_taken(job.file_id, passages.taken_ns)
        return True


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
