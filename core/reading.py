"""Reading files a few ahead of the model, in worker threads that wait on the
extraction pool's processes, and stopping at once when the run is cancelled."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from itertools import islice

from core.errors import ExtractionFailed
from core.events import CancelToken
from core.extract.base import Document
from core.feed import Job

Extract = Callable[[str], Document]
Outcome = Document | ExtractionFailed | None
READ_AHEAD_FILES = 32
# While the next file is still being read, the consumer hears of it this often: to say
# what it waits for, or to see a cancel.
READ_TICK_S = 0.5


def read_ahead(
    extract: Extract,
    jobs: list[Job],
    workers: int,
    cancel: CancelToken,
    interrupt: Callable[[], None],
) -> Iterator[tuple[Job, Outcome]]:
    """Each job with its document (or why it has none), in order; (job, None) every
    ``READ_TICK_S`` while that job's file is still being read.  Once cancelled, the reads
    not started are dropped and those under way stopped with ``interrupt``."""
    # Futures run on the pool's threads whether or not this generator is resumed, so
    # files keep being read while the consumer sits in the model; the window is
    # bounded, since each holds a document.
    window = max(workers * 4, READ_AHEAD_FILES)
    with ThreadPoolExecutor(workers, thread_name_prefix="trove-read") as pool:
        queue: deque[tuple[Job, Future[Document]]] = deque()
        pending = iter(jobs)
        try:
            while not cancel.cancelled:
                for job in islice(pending, window - len(queue)):
                    queue.append((job, pool.submit(extract, job.stat.path)))
                if not queue:
                    return
                job, future = queue[0]
                if not wait([future], READ_TICK_S).done:
                    yield job, None
                    continue
                queue.popleft()
                yield _settled(job, future)
        finally:
            for _, future in queue:
                future.cancel()
            if cancel.cancelled:
                interrupt()


def _settled(job: Job, future: Future[Document]) -> tuple[Job, Outcome]:
    try:
        return job, future.result()
    except ExtractionFailed as exc:
        return job, exc
