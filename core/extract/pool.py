"""Extraction in worker processes, so a hung or crashing parser costs one file only.

Each worker is a spawned process serving one file at a time over a pipe.  A worker that
overruns the time limit is killed; one that dies (segfault, memory limit) is replaced
on next use.  Workers start on first use and stop on ``close()``.
"""

from __future__ import annotations

import contextlib
import importlib
import queue
import signal
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from multiprocessing import get_context
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from core.errors import ExtractionFailed

from .base import Category, Document, Piece
from .registry import Registry

if TYPE_CHECKING:
    from core.settings import Settings

DEFAULT_REGISTRY = "core.extract.registry:Registry.default"
# Starting a worker imports Python and the parsers; that must not count against the
# time limit of the file it was started for.
_STARTUP_TIMEOUT_S = 60.0
_STOP_TIMEOUT_S = 2.0


@dataclass(frozen=True, slots=True)
class _Spec:
    timeout_s: float
    memory_mb: int
    max_bytes: int
    registry_factory: str
    # Text handed back per file: the rest of a huge document stays in the worker.
    max_chars: int | None = None
    # Keyword arguments for the factory, as (name, value) pairs (settings that reach the
    # readers: OCR on or off, its page cap).
    registry_options: tuple[tuple[str, object], ...] = ()


class ExtractionPool:
    """Runs ``Registry.extract`` in ``workers`` processes (0: inline, in the caller).

    ``extract`` is thread-safe: call it from up to ``workers`` threads at once; further
    callers wait for a free worker.  ``registry_factory`` names a zero-argument callable
    as "module:attribute" so that spawned workers can import it.
    """

    def __init__(
        self,
        workers: int,
        timeout_s: float,
        memory_mb: int,
        max_bytes: int,
        registry_factory: str = DEFAULT_REGISTRY,
        max_chars: int | None = None,
        registry_options: dict[str, object] | None = None,
    ) -> None:
        if workers < 0:
            raise ValueError(f"workers must be 0 or more, not {workers}")
        options = tuple(sorted((registry_options or {}).items()))
        self._spec = _Spec(timeout_s, memory_mb, max_bytes, registry_factory, max_chars, options)
        self._workers = [_Worker(self._spec) for _ in range(workers)]
        self._idle: queue.SimpleQueue[_Worker] = queue.SimpleQueue()
        for worker in self._workers:
            self._idle.put(worker)
        self._inline: Registry | None = None
        self._inline_lock = threading.Lock()
        self._reading: dict[str, _Worker] = {}  # path -> the worker reading it
        self._closed = False

    @classmethod
    def for_settings(cls, settings: Settings, workers: int) -> ExtractionPool:
        """``workers`` processes with the settings' time, memory and size limits."""
        return cls(
            workers,
            settings.extract_timeout_s,
            settings.extract_memory_mb,
            settings.max_file_mb * 1024 * 1024,
            max_chars=settings.max_chars_per_file,
            registry_options={
                "ocr": settings.ocr,
                "ocr_pages": settings.ocr_max_pages,
                "thumbnails": bool(settings.picture_model),
            },
        )

    @property
    def workers(self) -> int:
        """How many files can be read at once (0: inline, one at a time)."""
        return len(self._workers)

    def extract(self, path: Path) -> Document:
        """The text of ``path``; raises ExtractionFailed for any file that has none."""
        if self._closed:
            raise RuntimeError("the extraction pool is closed")
        if not self._workers:
            return self._extract_inline(path)
        worker = self._idle.get()
        self._reading[str(path)] = worker
        try:
            return worker.extract(path)
        finally:
            self._reading.pop(str(path), None)
            self._idle.put(worker)

    def pages_read(self, path: str) -> int:
        """How many pages or pictures of ``path`` OCR has read so far, while it is being
        read (0 otherwise): what progress shows of a long scan."""
        worker = self._reading.get(path)
        return worker.pages if worker is not None else 0

    def interrupt(self) -> None:
        """Stop the extractions in progress now (a cancelled run wants no more reads):
        their workers are killed, to be replaced on next use, and their callers get
        ExtractionFailed.  Callable from any thread."""
        for worker in self._workers:
            worker.interrupt()

    def close(self) -> None:
        """Stop every worker, after the extractions in progress finish."""
        if self._closed:
            return
        self._closed = True
        stopped = []
        for _ in self._workers:
            worker = self._idle.get()
            worker.stop()
            stopped.append(worker)
        # Threads still waiting for a worker get a closed one and a clear error.
        for worker in stopped:
            self._idle.put(worker)

    def __enter__(self) -> ExtractionPool:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def _extract_inline(self, path: Path) -> Document:
        # Parsers such as PDFium are not thread-safe; inline runs take turns.
        with self._inline_lock:
            if self._inline is None:
                self._inline = _registry(self._spec)
            return truncated(self._inline.extract(path, self._spec.max_bytes), self._spec.max_chars)


class _Worker:
    """One worker process and the parent's end of its pipe; used by one thread at a time."""

    def __init__(self, spec: _Spec) -> None:
        self._spec = spec
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self._stopped = False
        self._busy = False  # a file has been sent and its reply not received
        self.pages = 0  # pages of the file being read that OCR has read, as it said

    def extract(self, path: Path) -> Document:
        if self._stopped:
            raise RuntimeError("the extraction pool is closed")
        if self._process is not None and not self._process.is_alive():
            self._discard()  # it died while idle (killed from outside)
        conn = self._connection()
        self._busy = True
        self.pages = 0
        try:
            return self._exchange(conn, path)
        finally:
            self._busy = False

    def interrupt(self) -> None:
        """Kill the process if it is reading a file; called from another thread, so the
        thread that uses this worker is the one that reaps it (``_reply`` sees EOF)."""
        process = self._process
        if self._busy and process is not None:
            with contextlib.suppress(ValueError, OSError):  # closed or gone meanwhile
                process.kill()

    def _exchange(self, conn: Connection, path: Path) -> Document:
        try:
            conn.send(str(path))
        except OSError:
            # It died just now, between the check and the send; start over once.
            self._discard()
            conn = self._connection()
            conn.send(str(path))
        # The limit is on silence: a reader working through a long scan says after each
        # page that it moves on (its page cap bounds the whole).
        while True:
            if not conn.poll(self._spec.timeout_s):
                self._discard()
                raise ExtractionFailed(
                    Category.TIMEOUT, f"reading it took longer than {self._spec.timeout_s:g} s"
                )
            document = self._reply(conn)
            if document is not None:
                return document

    def stop(self) -> None:
        self._stopped = True
        if self._conn is not None and self._process is not None:
            with contextlib.suppress(OSError):
                self._conn.send(None)
            self._process.join(_STOP_TIMEOUT_S)
        self._discard()

    def _reply(self, conn: Connection) -> Document | None:
        """The worker's answer; None when it only said that it is still at work."""
        try:
            reply = conn.recv()
        except (EOFError, OSError):
            reason = self._death_reason()
            self._discard()
            raise ExtractionFailed(Category.CRASHED, reason) from None
        status, payload = reply[0], reply[1:]
        if status == "alive":
            self.pages = int(payload[0])
            return None
        if status == "retire":
            self._discard()
        if status == "ok":
            return _unpack(payload)
        raise ExtractionFailed(payload[0], payload[1])

    def _connection(self) -> Connection:
        if self._conn is None:
            self._start()
        assert self._conn is not None
        return self._conn

    def _start(self) -> None:
        context = get_context("spawn")  # never fork: the parent may hold torch and threads
        parent, child = context.Pipe()
        args = (child, self._spec)
        process = context.Process(target=serve, args=args, name="trove-extract", daemon=True)
        process.start()
        child.close()
        self._process, self._conn = process, parent
        self._await_ready(parent)

    def _await_ready(self, conn: Connection) -> None:
        if not conn.poll(_STARTUP_TIMEOUT_S):
            self._discard()
            raise ExtractionFailed(
                Category.CRASHED, f"the reader did not start within {_STARTUP_TIMEOUT_S:g} s"
            )
        try:
            ready = conn.recv()
        except (EOFError, OSError):
            ready = ("error", self._death_reason())
        if ready[0] != "ready":
            # A factory that cannot be imported or built is a bug, not a file problem.
            self._discard()
            raise RuntimeError(f"an extraction worker could not start: {ready[1]}")

    def _death_reason(self) -> str:
        code = None
        if self._process is not None:
            self._process.join(_STOP_TIMEOUT_S)
            code = self._process.exitcode
        if code is not None and code < 0:
            name = _signal_name(-code)
            if -code == signal.SIGKILL:
                return f"the reader was killed ({name}), perhaps for using too much memory"
            return f"the reader crashed ({name})"
        return f"the reader stopped unexpectedly (exit status {code})"

    def _discard(self) -> None:
        """Kill and reap the process, so no zombie is left; a new one starts on next use."""
        if self._process is not None:
            if self._process.is_alive():
                self._process.kill()
            self._process.join()
            self._process.close()
        if self._conn is not None:
            self._conn.close()
        self._process, self._conn = None, None


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _registry(spec: _Spec) -> Registry:
    return load_factory(spec.registry_factory)(**dict(spec.registry_options))


def load_factory(spec: str) -> Callable[..., Registry]:
    """Resolve "package.module:Class.method" to the callable it names."""
    module_name, _, attribute = spec.partition(":")
    target: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        target = getattr(target, part)
    factory: Callable[..., Registry] = target
    return factory


def serve(conn: Connection, spec: _Spec) -> None:
    """Worker process main loop: receive a path, send back a reply, until told to stop."""
    # Ctrl+C reaches the whole process group; the parent decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        registry = _registry(spec)
    except Exception:
        conn.send(("error", traceback.format_exc()))
        return
    _limit_memory(spec.memory_mb)
    pages = [0]  # read by OCR in the current file

    def page_read() -> None:
        pages[0] += 1
        conn.send(("alive", pages[0]))

    if registry.ocr is not None:
        registry.ocr.progress = page_read
    conn.send(("ready",))
    while True:
        try:
            path = conn.recv()
        except EOFError:
            return
        if path is None:
            return
        pages[0] = 0
        reply = _run(registry, Path(path), spec)
        conn.send(reply)
        if reply[0] == "retire":
            return


def _run(registry: Registry, path: Path, spec: _Spec) -> tuple[Any, ...]:
    try:
        document = registry.extract(path, spec.max_bytes)
        return ("ok", *_pack(truncated(document, spec.max_chars)))
    except ExtractionFailed as failure:
        return ("failed", failure.category, failure.reason)
    except MemoryError:
        # The heap may be in a poor state after this; the worker leaves after replying.
        return ("retire", Category.CRASHED, f"reading it needed more than {spec.memory_mb} MB")


def truncated(document: Document, max_chars: int | None) -> Document:
    """The document, or its first ``max_chars`` characters, marked as cut short."""
    if max_chars is None or document.char_count <= max_chars:
        return document
    pieces, room = [], max_chars
    for piece in document.pieces:
        if room <= 0:
            break
        pieces.append(
            piece if len(piece.text) <= room else Piece(piece.text[:room], piece.location)
        )
        room -= len(piece.text)
    return replace(document, pieces=pieces, truncated=True)


# A Document crosses the pipe as plain tuples: pickling a million Piece dataclasses
# (a long log file) takes several times longer than pickling their strings.
def _pack(document: Document) -> tuple[Any, ...]:
    pieces = [(piece.text, piece.location) for piece in document.pieces]
    return document.title, pieces, document.truncated, document.taken, document.thumbnail


def _unpack(payload: tuple[Any, ...]) -> Document:
    title, pieces, cut, taken, thumbnail = payload
    return Document(
        [Piece(text, location) for text, location in pieces], title, cut, taken, thumbnail
    )


def _limit_memory(memory_mb: int) -> None:
    """Cap the worker's address space where the OS supports it (Linux); else do nothing."""
    try:
        import resource
    except ImportError:
        return
    limit = memory_mb * 1024 * 1024
    try:
        _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ValueError, OSError, AttributeError):
        return
