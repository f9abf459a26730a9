"""``trove doctor --self-test``: every part of Trove working together, where it is installed.

It runs in a new temporary Trove home and never touches the person's own index. In order,
it opens a new index with sqlite-vec, loads the model and embeds a sentence, reads a PDF,
a DOCX and a photographed note (by OCR) in an extraction worker process, indexes them,
answers a paraphrase through sqlite-vec, watches the folder until a newly written file is
searchable, asks ``trove mcp`` in its own process the paraphrase as an AI assistant would,
and opens the window in its own process, waiting until the window shows a search's
results. Each part gives one ``Outcome``; a part that needs an earlier one that failed is
reported as not run.
"""

from __future__ import annotations

import importlib.resources
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.app import Trove
from core.embedding import SentenceTransformerEmbedder
from core.events import Finished, Notice
from core.paths import HOME_VARIABLE, Locations
from core.picture_model import ClipModel
from core.settings import Settings
from core.store import vec_version

if TYPE_CHECKING:
    from core.search import Result
    from core.watch.watcher import Batch

# What the fixtures say, and questions that match them by meaning.
PHOTO = "ladder_note.jpg"
FIXTURES = {
    "lighthouse.pdf": "fog signal",
    "supplier_terms.docx": "bank transfer",
    PHOTO: "return the borrowed ladder",  # a photographed note: OCR
}
NOTE = ("tomatoes.txt", "Tomato plants want six hours of direct sun and deep watering.")
PARAPHRASE = ("when do we settle bills from vendors", "supplier_terms.docx")
WATCHED = ("bicycle.txt", "Oil the bicycle chain once a month and after every rainy ride.")
WATCHED_QUERY = "how often should I lubricate my bike"
WINDOW_QUERY = "who notes down the foghorn at the lighthouse"

WATCH_TIMEOUT_S = 60.0
WINDOW_TIMEOUT_S = 180.0
MCP_TIMEOUT_S = 120.0


@dataclass(frozen=True, slots=True)
class Outcome:
    part: str
    ok: bool
    detail: str
    # Worth knowing but no failure: the part is not needed for what this machine does.
    warning: bool = False

    @property
    def label(self) -> str:
        return "FAIL" if not self.ok else "warn" if self.warning else "ok"


class SelfTestFailed(Exception):
    """A part did not do what it should; the message says what it did instead."""


class SelfTest:
    """The parts, run in order against a Trove home in ``root`` (which must be empty).

    ``window`` is the command that starts the desktop app (without its options), or None
    where there is no desktop app to try.
    """

    def __init__(self, root: Path, window: list[str] | None) -> None:
        self.root = root
        self.locations = Locations.under(root / "home")
        self.folder = root / "documents"
        self.window = window
        self.trove: Trove | None = None

    def parts(self) -> list[tuple[str, Callable[[], str]]]:
        return [
            ("database", self.check_database),
            ("model", self.check_model),
            ("extraction", self.check_extraction),
            ("index", self.check_index),
            ("sqlite-vec", self.check_knn),
            ("pictures", self.check_pictures),
            ("watcher", self.check_watcher),
            ("assistants", self.check_mcp),
            ("window", self.check_window),
        ]

    def run(self) -> Iterator[Outcome]:
        failed: str | None = None
        try:
            for name, part in self.parts():
                if failed is not None:
                    yield Outcome(name, False, f"not run: it needs {failed}, which failed")
                    continue
                started = time.monotonic()
                try:
                    detail = part()
                except Exception as exc:  # the self-test reports every failure, bugs too
                    failed = name
                    yield Outcome(name, False, _one_line(exc))
                else:
                    yield Outcome(name, True, f"{detail} ({time.monotonic() - started:.1f} s)")
        finally:
            self._close()

    # -- the parts -------------------------------------------------------------------

    def check_database(self) -> str:
        self.locations.ensure()
        # One extraction worker is enough here and keeps the check light; the model is
        # loaded by the next part, on first use.
        settings = Settings(extract_workers=1)
        embedder = SentenceTransformerEmbedder.for_settings(settings)
        self.trove = Trove.open(self.locations, settings=settings, embedder=embedder)
        return f"a new index opens with sqlite-vec {vec_version(self.trove.store.conn)}"

    def check_model(self) -> str:
        embedder = self._trove().embedder
        vector = embedder.embed_query("a sentence to check that the model answers")
        if vector.shape != (embedder.dimension,) or not np.isfinite(vector).all():
            raise SelfTestFailed(f"the model returned a vector of shape {vector.shape}")
        if abs(float(np.linalg.norm(vector)) - 1.0) > 1e-3:
            raise SelfTestFailed("the model's vectors are not of unit length")
        device = getattr(embedder, "device", "its device")
        backend = getattr(embedder, "backend_in_use", "")
        runs = f"{device} with {backend}" if backend else device
        return f"{embedder.model_id} embeds on {runs} ({embedder.dimension} dimensions)"

    def check_extraction(self) -> str:
        trove = self._trove()
        self._write_documents()
        with trove.extraction_pool(workers=1) as pool:
            for name, phrase in FIXTURES.items():
                document = pool.extract(self.folder / name)
                text = " ".join(piece.text for piece in document.pieces)
                if phrase not in text:
                    raise SelfTestFailed(f"{name} was read as {text[:80]!r}")
        return "a PDF, a DOCX and a photographed note (by OCR) read in a worker process"

    def check_index(self) -> str:
        trove = self._trove()
        trove.add_folder(self.folder)
        finished = [e for e in trove.index() if isinstance(e, Finished)]
        states = trove.store.state_counts()
        if not finished or states.get("indexed", 0) != len(FIXTURES) + 1:
            raise SelfTestFailed(f"files by state after indexing: {states}")
        return f"{states['indexed']} files, {trove.store.chunk_count()} passages"

    def check_knn(self) -> str:
        trove = self._trove()
        query, expected = PARAPHRASE
        results = trove.search(query, limit=3)
        self._expect_first(results, expected, query)
        return f"nearest passages by meaning rank {expected} first"

    def check_pictures(self) -> str:
        """Search by what pictures show: a CLIP model the app carries for this check
        (tiny, random weights: tests/tiny_clip.py) embeds the photographed note from the
        thumbnail a worker made, and its vector is found again by a text."""
        trove = self._trove()
        fixtures = importlib.resources.files("resources") / "selftest" / "tiny-clip"
        with importlib.resources.as_file(fixtures) as folder:
            trove.settings = trove.settings.with_changes(picture_model=str(folder))
            trove.pictures = ClipModel.for_settings(trove.settings)
            assert trove.pictures is not None
            notices = [e.message for e in trove.index() if isinstance(e, Notice)]
            held = trove.store.pictures.holders()
            photo = trove.store.file_by_path(str(self.folder / PHOTO))
            if photo is None or held != {photo.id}:
                said = f" ({'; '.join(notices)})" if notices else ""
                raise SelfTestFailed(f"pictures with a vector: {sorted(held)}{said}")
            found = trove.store.pictures.nearest(trove.pictures.embed_text("a note"), 1)
            if [file_id for file_id, _ in found] != [photo.id]:
                raise SelfTestFailed(f"a text found {found} among the pictures")
            dimension = trove.pictures.dimension
        return f"a photo embedded by a CLIP model ({dimension} dimensions) and found by a text"

    def check_watcher(self) -> str:
        from core.watch.watcher import Batch, Watcher, WatchOptions

        trove = self._trove()
        batches: queue.SimpleQueue[Batch] = queue.SimpleQueue()
        watcher = Watcher(trove, WatchOptions(quiet_s=0.2, max_wait_s=1.0))
        watcher.start(lambda event: batches.put(event) if isinstance(event, Batch) else None)
        try:
            # The first pass looks at every folder; the file must come after it, so that
            # only a change event can bring it in.
            self._wait_for(batches, lambda batch: batch.reason == "start")
            name, text = WATCHED
            written = time.monotonic()
            (self.folder / name).write_text(text, encoding="utf-8")
            self._wait_for(batches, lambda batch: batch.indexed > 0)
            delay = time.monotonic() - written
        finally:
            watcher.stop()
        self._expect_first(trove.search(WATCHED_QUERY, limit=3), name, WATCHED_QUERY)
        return f"a new file was indexed {delay:.1f} s after it was written"

    def check_mcp(self) -> str:
        """``trove mcp`` in its own process, asked by meaning over MCP's JSON-RPC."""
        env = {**os.environ, HOME_VARIABLE: str(self.locations.data)}
        server = subprocess.Popen(
            mcp_command(),
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            result = _mcp_search(server, PARAPHRASE[0])
        finally:
            server.kill()
            server.communicate()
        names = [os.path.basename(found["path"]) for found in result.get("results", [])]
        if not names or names[0] != PARAPHRASE[1]:
            raise SelfTestFailed(f"over MCP, {PARAPHRASE[0]!r} ranked {names} first")
        return f"an assistant's search over MCP ranks {names[0]} first"

    def check_window(self) -> str:
        if self.window is None:
            raise SelfTestFailed("the desktop app is not installed")
        self._close()  # the window's engine takes the index over
        env = {**os.environ, HOME_VARIABLE: str(self.locations.data)}
        platform = env.get("QT_QPA_PLATFORM")
        if not platform and not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")):
            platform = env["QT_QPA_PLATFORM"] = "offscreen"
        command = [*self.window, "--self-test", "--search", WINDOW_QUERY]
        try:
            done = subprocess.run(
                command, env=env, capture_output=True, text=True, timeout=WINDOW_TIMEOUT_S
            )
        except subprocess.TimeoutExpired:
            raise SelfTestFailed(f"the window gave no answer in {WINDOW_TIMEOUT_S:.0f} s") from None
        if done.returncode != 0:
            lines = (done.stderr or done.stdout).strip().splitlines()
            raise SelfTestFailed(
                f"the window exited with {done.returncode}: {lines[-1] if lines else 'no output'}"
            )
        shown = done.stdout.strip().splitlines()
        return shown[-1] if shown else f"shown ({platform or 'default platform'})"

    # -- helpers ---------------------------------------------------------------------

    def _trove(self) -> Trove:
        if self.trove is None:
            raise SelfTestFailed("Trove is not open")
        return self.trove

    def _write_documents(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        fixtures = importlib.resources.files("resources") / "selftest"
        for name in FIXTURES:
            with importlib.resources.as_file(fixtures / name) as source:
                shutil.copyfile(source, self.folder / name)
        name, text = NOTE
        (self.folder / name).write_text(text, encoding="utf-8")

    @staticmethod
    def _wait_for(batches: queue.SimpleQueue[Batch], wanted: Callable[[Batch], bool]) -> None:
        deadline = time.monotonic() + WATCH_TIMEOUT_S
        while (left := deadline - time.monotonic()) > 0:
            try:
                if wanted(batches.get(timeout=left)):
                    return
            except queue.Empty:
                break
        raise SelfTestFailed(f"the watcher indexed nothing new in {WATCH_TIMEOUT_S:.0f} s")

    @staticmethod
    def _expect_first(results: list[Result], expected: str, query: str) -> None:
        names = [os.path.basename(result.path) for result in results]
        if not names or names[0] != expected:
            raise SelfTestFailed(f"{query!r} ranked {names} instead of {expected} first")

    def _close(self) -> None:
        if self.trove is not None:
            self.trove.close()
            self.trove = None


def window_command() -> list[str] | None:
    """How to start the desktop app from here: the ``trove-desktop`` beside a frozen
    ``trove``, otherwise ``trove gui`` through this same Python."""
    if getattr(sys, "frozen", False):
        me = Path(sys.executable)
        desktop = me.with_name("trove-desktop" + me.suffix)
        return [str(desktop)] if desktop.exists() else [str(me), "gui"]
    return [sys.executable, "-m", "core.cli", "gui"]


def mcp_command() -> list[str]:
    if getattr(sys, "frozen", False):
        return [sys.executable, "mcp"]
    return [sys.executable, "-m", "core.cli", "mcp"]


def _mcp_search(server: subprocess.Popen[str], query: str) -> dict[str, Any]:
    """Say hello to an MCP server on stdio as a client does, then call its search tool;
    the tool's structured result."""
    messages: queue.SimpleQueue[str] = queue.SimpleQueue()
    assert server.stdin is not None and server.stdout is not None
    stdout = server.stdout

    def listen() -> None:
        for line in stdout:
            messages.put(line)

    threading.Thread(target=listen, daemon=True).start()
    hello = {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "self-test", "version": "1"},
    }
    call = {"name": "search", "arguments": {"query": query, "limit": 3}}
    for message in (
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": hello},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": call},
    ):
        server.stdin.write(json.dumps(message) + "\n")
    server.stdin.flush()
    deadline = time.monotonic() + MCP_TIMEOUT_S
    while (left := deadline - time.monotonic()) > 0:
        try:
            reply = json.loads(messages.get(timeout=left))
        except queue.Empty:
            break
        if reply.get("id") == 2:
            result = reply.get("result") or {}
            if "error" in reply or result.get("isError"):
                raise SelfTestFailed(f"the MCP search failed: {reply.get('error') or result}")
            return dict(result.get("structuredContent") or {})
    raise SelfTestFailed(f"the MCP server gave no answer in {MCP_TIMEOUT_S:.0f} s")


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if isinstance(exc, SelfTestFailed) else f"{type(exc).__name__}: {text}"
