"""Bringing the index in line with the watched folders.

A run has two phases.  Planning walks every folder, compares each file with what the
index remembers (size and mtime first, then a content hash) and settles everything that
needs no model: unchanged files, renamed or moved files (their vectors move with them),
copies (they reuse the original's vectors) and deleted files.  Embedding then reads the
remaining files in worker processes a few files ahead of the model and commits passages
and vectors in batches, so a killed run resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections import deque
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from core.chunking import TITLE_TOKENS, chunk_document, passage_budget
from core.embedding import Embedder
from core.errors import ExtractionFailed
from core.events import CancelToken, Event, FileFailed, Finished, Notice, Progress, ScanDone
from core.extract.base import Category, Document
from core.scanner import KindOf, scan_folder
from core.store import Chunk, FileRow, FileStat, Store

Extract = Callable[[str], Document]
PLAN_BATCH = 500


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

    def run(self, cancel: CancelToken | None = None) -> Iterator[Event]:
        cancel = cancel or CancelToken()
        started = time.monotonic()
        plan = Plan()
        yield from self._plan(plan, cancel)
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

    def _plan(self, plan: Plan, cancel: CancelToken) -> Iterator[Event]:
        changed: list[tuple[FileStat, FileRow | None]] = []
        missing: list[FileRow] = []
        for folder in self.store.folders():
            if not os.path.isdir(folder.path):
                yield Notice(f"{folder.path} is not reachable; its files are kept as they are")
                continue
            known = self.store.files_in(folder.id)
            for stat in scan_folder(folder, self.kind_of, cancel):
                plan.seen += 1
                row = known.pop(stat.path, None)
                if row is not None and row.unchanged(stat) and row.state != "pending":
                    plan.unchanged += 1
                else:
                    changed.append((stat, row))
            missing.extend(known.values())
        if cancel.cancelled:
            return
        gone = {row.hash: row for row in missing if row.hash and row.state == "indexed"}
        for start in range(0, len(changed), PLAN_BATCH):
            with self.store.transaction():
                for stat, row in changed[start : start + PLAN_BATCH]:
                    self._settle(plan, stat, row, gone)
        leftover = [row.id for row in missing if row.id not in plan.moved_ids]
        with self.store.transaction():
            self.store.delete_files(leftover)
        plan.deleted = len(leftover)

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
                with self.store.transaction():
                    self._fail(plan, job.stat, outcome.category, outcome.reason)
                yield plan.failures[-1]
                files_done += 1
                continue
            batch.append(self._prepare(job, outcome))
            if sum(len(p.chunks) for p in batch) < self.batch_chunks:
                continue
            chunks_done += self._commit(plan, batch)
            files_done, indexed, batch = files_done + len(batch), indexed + len(batch), []
            yield _progress(files_done, total, chunks_done, started, job.stat.path)
        if batch and not cancel.cancelled:
            chunks_done += self._commit(plan, batch)
            files_done, indexed = files_done + len(batch), indexed + len(batch)
            yield _progress(files_done, total, chunks_done, started, batch[-1].job.stat.path)
        return indexed, chunks_done

    def _read_ahead(
        self, jobs: list[Job], cancel: CancelToken
    ) -> Iterator[tuple[Job, Document | ExtractionFailed]]:
        """Extract files on worker threads, a few ahead of the consumer, in order."""
        window = self.workers * 4
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
        title = (document.title or "").strip() or name_label(job.stat.name)
        title_spans = self.embedder.token_spans(title)[:TITLE_TOKENS] if title else []
        if title_spans:
            title = title[: title_spans[-1][1]]
        budget = passage_budget(self.embedder.max_tokens, len(title_spans), self.chunk_tokens)
        chunked = chunk_document(
            document, self.embedder.token_spans, budget, min(self.chunk_overlap, budget // 4)
        )
        inputs = [
            f"{title}\n{c.text}" if title and not c.text.startswith(title) else c.text
            for c in chunked.chunks
        ]
        return Prepared(job, title, chunked.text, chunked.chunks, inputs)

    def _commit(self, plan: Plan, batch: list[Prepared]) -> int:
        """Embed a batch of files and write them in one transaction."""
        inputs = [text for prepared in batch for text in prepared.inputs]
        vectors = self.embedder.embed_documents(inputs)
        offset = 0
        with self.store.transaction():
            for prepared in batch:
                job, count = prepared.job, len(prepared.chunks)
                if not count:
                    self._fail(plan, job.stat, Category.EMPTY, "the file holds no text")
                    continue
                self.store.upsert_file(job.stat, "indexed", digest=job.digest, title=prepared.title)
                self.store.write_document(
                    job.file_id,
                    job.stat,
                    prepared.title,
                    prepared.text,
                    prepared.chunks,
                    vectors[offset : offset + count],
                )
                offset += count
        return offset


def _settled(job: Job, future: Future[Document]) -> tuple[Job, Document | ExtractionFailed]:
    try:
        return job, future.result()
    except ExtractionFailed as exc:
        return job, exc


def _progress(files: int, total: int, chunks: int, started: float, current: str) -> Progress:
    elapsed = max(time.monotonic() - started, 1e-6)
    eta = (total - files) * elapsed / files if files else None
    return Progress(files, total, chunks, chunks / elapsed, eta, current)
