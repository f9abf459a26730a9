"""The desktop app's bridge to the core: threads in, signals out.

Three threads do the work and the GUI thread only asks and listens:

- the read thread opens the index, loads the model and answers searches, similar files
  and previews, each on the read-only connection of ``Trove.reader``;
- the watcher's thread is the one writer: it follows the folders and indexes, and runs
  the app's own writes (adding a folder, retrying failures) between its passes;
- a switch thread builds the index for another model while the current one answers;
  a check thread first loads that model, for the Settings dialog to accept or refuse.

Core modules are imported on those threads, not here, so the window is up before numpy,
SQLite or torch are loaded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import CancelledError
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from PySide6.QtCore import QObject, Qt, Signal

from desktop.pictures import Pictures
from desktop.tasks import OnError, Tasks

if TYPE_CHECKING:
    from core.answering import AnswerServer, Reply, Request
    from core.app import Trove
    from core.embedding import Embedder
    from core.events import CancelToken
    from core.model_switch import ModelSwitch
    from core.paths import Locations
    from core.settings import Settings
    from core.watch.watcher import Watcher

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Query:
    text: str
    types: tuple[str, ...] = ()
    folder: str | None = None
    since: datetime | None = None
    limit: int = 50
    everything: bool = False  # also the results below the relevance floor


@dataclass(frozen=True, slots=True)
class Answer:
    """A search's results, and how they were found."""

    query: Query
    results: list[Any]
    by_meaning: bool  # False: by words only, while the model loads
    language_note: str | None = None  # the query's language is not one the model reads


class Engine(QObject):
    status = Signal(str)  # what is loading or running, for the status bar
    searchable = Signal()  # the index is open: searches answer, by words until ``ready``
    ready = Signal()  # the index is open and the model loaded: searching is instant
    failed = Signal(str)  # the index or the model could not be opened at all
    damaged = Signal(str)  # the index file is damaged: offer to set it aside (``repair``)
    notice = Signal(str)  # something the user should know, that stops nothing
    switch_failed = Signal(str)  # a model change failed: why (the current index stays)
    model_checked = Signal(str, object)  # (model, loaded Embedder or the error why not)
    writable = Signal(bool)  # False: another process indexes; this window only searches
    scanned = Signal(object)  # core.events.ScanDone of a pass
    progress = Signal(object)  # core.events.Progress
    file_failed = Signal(object)  # core.events.FileFailed
    pass_finished = Signal(object)  # core.watch.watcher.Batch
    index_changed = Signal()  # passages were written or files left: results may differ
    folders_changed = Signal()
    paused_changed = Signal(bool)
    resting = Signal(bool)  # the watcher indexes nothing now: True paused, False up to date

    def __init__(
        self,
        locations: Locations | None = None,
        *,
        embedder: Embedder | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._locations = locations
        self._embedder = embedder
        self.reads = Tasks("trove-read", self)
        self.pictures = Pictures(self)  # of results: photos, scanned pages
        # The model loads on its own thread, so searches by words answer meanwhile.
        self._loading = Tasks("trove-model", self)
        self._switching = Tasks("trove-switch", self)
        self._checking = Tasks("trove-model-check", self)  # not behind a build under way
        self.trove: Trove | None = None
        self._reader: Trove | None = None
        self._watcher: Watcher | None = None
        self._answering: AnswerServer | None = None
        self._latest: dict[str, int] = {}
        self._switch_cancel: CancelToken | None = None
        self.is_ready = False
        # Set on the model's thread once it can embed: a search that starts after it
        # ranks by meaning, even if ``ready`` has not reached the GUI thread yet.
        self._model_loaded = False

    # -- starting and stopping -------------------------------------------------------

    def start(self) -> None:
        self.status.emit("Opening the index…")
        self.reads.run(self._open, self._opened, self._failed)

    def _open(self) -> None:
        from core.app import Trove
        from core.cli.answers import serve_answers
        from core.paths import Locations
        from core.search import prepare

        locations = self._locations or Locations.from_environment()
        trove = Trove.open(locations, embedder=self._embedder)
        self.trove, self._reader = trove, trove.reader()
        prepare()  # before the model's libraries load: see core.search.prepare
        # `trove search` asks this process, which has (or soon has) its model loaded.
        self._answering = serve_answers(locations, self._answer)

    def _answer(self, request: Request) -> Reply:
        """Another process's search (on the answering thread), run on the read thread
        after the window's own; an error reply makes that process answer by itself."""
        from core.cli.answers import ANSWER_WAIT_S, answer

        if not self._model_loaded:  # it would hold up the window's searches by words
            return {"error": "the model is loading"}

        def job() -> Reply:
            reader = self._reader
            return answer(reader, request) if reader is not None else {"error": "closing"}

        try:
            return self.reads.run(job).result(timeout=ANSWER_WAIT_S)
        except (CancelledError, FutureTimeout):
            return {"error": "not answered in time"}

    def _opened(self, _: None) -> None:
        self.folders_changed.emit()
        self.searchable.emit()
        self.status.emit("Loading the language model…")
        self._loading.run(self._load_model, self._loaded, self._failed)

    def _load_model(self) -> str | None:
        """Load the model, then start watching: the watcher's first pass would only wait
        for the model, and meanwhile slow its loading down."""
        from core.errors import IndexLocked
        from core.preload import model_loading
        from core.watch.watcher import Watcher, WatchOptions

        trove = self.trove
        assert trove is not None
        with model_loading(torch=getattr(trove.embedder, "needs_torch", True)):
            trove.embedder.embed_query("warm up")
        self._model_loaded = True
        if trove.pictures is not None:
            self._load_picture_model(trove)
        minutes = trove.settings.reconcile_minutes
        watcher = Watcher(trove, WatchOptions(reconcile_every_s=minutes * 60))
        try:
            watcher.start(self._on_event)
        except IndexLocked as exc:
            return str(exc)
        self._watcher = watcher
        return None

    def _load_picture_model(self, trove: Trove) -> None:
        """Load the picture model (core.picture_model) now rather than at the first
        search; one that does not load is said once, and search goes on without it."""
        from core.errors import ModelError
        from core.preload import model_loading

        assert trove.pictures is not None
        try:
            with model_loading(torch=True):
                trove.pictures.embed_text("warm up")
        except ModelError as error:
            self.notice.emit(f"Pictures are not searched by what they show: {error}")

    def _loaded(self, locked: str | None) -> None:
        self.is_ready = True
        self.writable.emit(locked is None)
        if locked:
            self.notice.emit(f"Search only: {locked}")
        self.status.emit("Ready")
        self.ready.emit()

    def _failed(self, error: BaseException) -> None:
        from core.errors import IndexDamaged

        log.error("the engine did not start", exc_info=error)
        self.status.emit(f"Trove could not start: {error}")
        if isinstance(error, IndexDamaged):
            self.damaged.emit(str(error))
        else:
            self.failed.emit(str(error))

    def repair(self) -> None:
        """Move the damaged index aside (kept, not deleted), start a new one for the
        same folders, and start again on it."""

        def set_aside() -> None:
            from core.paths import Locations
            from core.store.damage import set_aside

            locations = self._locations or Locations.from_environment()
            recovery = set_aside(locations.database)
            self.notice.emit(f"The damaged index was kept as {recovery.moved_to}")

        self.status.emit("Setting the damaged index aside…")
        self.reads.run(set_aside, lambda _: self.start(), self._failed)

    def shutdown(self) -> None:
        """Stop watching and close the index (blocks: call it with the window hidden)."""
        self.cancel_switch()
        self._switching.shutdown()
        self._checking.shutdown()
        self._loading.shutdown()
        self.pictures.shutdown()
        self.reads.run(self._close).result()
        self.reads.shutdown()

    def _close(self) -> None:
        self.is_ready = self._model_loaded = False
        answering, self._answering = self._answering, None
        if answering is not None:
            answering.stop()
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.pause()  # stops the pass under way after its batch
            try:
                watcher.stop()
            except Exception:
                log.exception("the watcher stopped with an error")
        for trove in (self._reader, self.trove):
            if trove is not None:
                trove.close()
        self._reader = self.trove = None

    # -- reading ---------------------------------------------------------------------

    def read(
        self,
        job: Callable[[Trove], T],
        on_done: Callable[[T], None],
        on_error: OnError | None = None,
        *,
        latest: str | None = None,
    ) -> None:
        """Run ``job`` with the read-only Trove.  With ``latest``, a job is skipped, and
        its outcome dropped, once a newer job of the same name was asked for."""
        ticket = 0
        if latest is not None:
            ticket = self._latest[latest] = self._latest.get(latest, 0) + 1

        def current() -> bool:
            return latest is None or self._latest.get(latest) == ticket

        def run() -> tuple[bool, Any]:
            if not current() or self._reader is None:
                return False, None
            return True, job(self._reader)

        def done(outcome: tuple[bool, Any]) -> None:
            ran, value = outcome
            if ran and current():
                on_done(value)

        def failed(error: BaseException) -> None:
            if current() and on_error is not None:
                on_error(error)

        self.reads.run(run, done, failed)

    def search(self, query: Query, on_done: Callable[[Answer], None], on_error: OnError) -> None:
        """Rank by meaning once the model is loaded; until then by words alone, at once."""

        def job(trove: Trove) -> Answer:
            by_meaning = self._model_loaded
            results = trove.search(
                query.text,
                query.limit,
                types=list(query.types) or None,
                folder=query.folder,
                since=query.since,
                meaning=by_meaning,
                # By words alone, relevance is low for a question worded unlike the file
                # (no meaning to add): every word match shows, labelled as such, until
                # the model ranks them and the floor applies.
                floor=by_meaning and not query.everything,
            )
            return Answer(query, results, by_meaning, trove.language_note(query.text))

        self.read(job, on_done, on_error, latest="search")

    # -- writing (on the watcher's thread) -------------------------------------------

    def write(
        self,
        job: Callable[[Trove], T],
        on_done: Callable[[T], None] | None = None,
        on_error: OnError | None = None,
    ) -> None:
        watcher, trove = self._watcher, self.trove
        if not self.is_ready:  # still opening or loading: write once the watcher runs
            self.ready.connect(
                lambda: self.write(job, on_done, on_error), Qt.ConnectionType.SingleShotConnection
            )
            return
        if watcher is None or trove is None:
            if on_error is not None:
                from core.errors import IndexLocked

                on_error(IndexLocked("another Trove process is updating the index"))
            return
        self.reads.follow(watcher.submit(lambda: job(trove)), on_done, on_error)

    def add_folder(self, path: str, ignore: str = "", on_error: OnError | None = None) -> None:
        self.write(lambda t: t.add_folder(path, ignore), self._folders_done, on_error)

    def remove_folder(self, path: str, on_error: OnError | None = None) -> None:
        def removed(_: object) -> None:
            self._folders_done(None)
            self.index_changed.emit()

        self.write(lambda t: t.remove_folder(path), removed, on_error)

    def set_ignore(self, path: str, patterns: str, on_error: OnError | None = None) -> None:
        self.write(lambda t: t.set_ignore(path, patterns), self._folders_done, on_error)

    def retry_failed(self, on_done: Callable[[int], None] | None = None) -> None:
        def retried(count: int) -> None:
            if self._watcher is not None:
                self._watcher.reconcile(reason="retry")
            if on_done is not None:
                on_done(count)

        self.write(lambda t: t.retry_failed(), retried)

    def _folders_done(self, _: object) -> None:
        self.folders_changed.emit()

    # -- pausing ---------------------------------------------------------------------

    @property
    def paused(self) -> bool:
        return self._watcher is not None and self._watcher.paused

    def set_paused(self, paused: bool) -> None:
        if self._watcher is None or paused == self._watcher.paused:
            return
        if paused:
            self._watcher.pause()
        else:
            self._watcher.resume()
        self.paused_changed.emit(paused)

    # -- settings --------------------------------------------------------------------

    def apply_settings(self, settings: Settings) -> list[str]:
        """Save ``settings`` and apply what can change while running; returns the names
        of those that wait for a restart.  A new model goes through ``switch_model``."""
        from core.settings import save_settings

        trove, watcher = self.trove, self._watcher
        if trove is None:
            return []
        path = trove.locations.settings
        self.reads.run(lambda: save_settings(settings, path), on_error=self._save_failed)
        later = [
            name
            for name in ("device", "backend", "picture_model")
            if getattr(settings, name) != getattr(trove.settings, name)
        ]
        trove.settings = settings
        embedder = trove.embedder
        if hasattr(embedder, "threads"):
            embedder.threads = settings.index_cores
        if watcher is not None:
            watcher.set_reconcile_every(settings.reconcile_minutes * 60)
        return later

    def _save_failed(self, error: BaseException) -> None:
        self.notice.emit(f"The settings could not be saved: {error}")

    def check_model(self, settings: Settings) -> None:
        """Load the model ``settings`` names from this computer, then tell
        ``model_checked``: the loaded model (to hand to ``switch_model``) or why not."""

        def check() -> Embedder:
            from core.model_switch import check_model

            return check_model(settings)

        model = settings.model
        self._checking.run(
            check,
            lambda loaded: self.model_checked.emit(model, loaded),
            lambda error: self.model_checked.emit(model, error),
        )

    def switch_model(self, settings: Settings, embedder: Embedder | None = None) -> None:
        """Build the index for ``settings.model`` while the current one keeps answering,
        then swap it in and save ``settings``."""
        if self.trove is None:
            return
        self.read(lambda t: t.folders(), lambda folders: self._build(settings, folders, embedder))

    def _build(self, settings: Settings, folders: list[Any], embedder: Embedder | None) -> None:
        from core.events import CancelToken
        from core.model_switch import ModelSwitch

        if self.trove is None:
            return
        switch = ModelSwitch(self.trove, settings, folders, embedder)
        cancel = self._switch_cancel = CancelToken()
        model = settings.model
        self.status.emit(f"Building the index for {model}…")

        def build() -> bool:
            from core.events import Progress

            for event in switch.build(cancel):
                if isinstance(event, Progress):
                    done, total = f"{event.files_done:,}", f"{event.files_total:,}"
                    self.status.emit(f"Building the index for {model}: {done} of {total} files")
            return not cancel.cancelled

        self._switching.run(
            build, lambda ok: self._swap(switch, ok), lambda e: self._switch_failed(model, e)
        )

    def cancel_switch(self) -> None:
        if self._switch_cancel is not None:
            self._switch_cancel.cancel()

    def _swap(self, switch: ModelSwitch, complete: bool) -> None:
        self._switch_cancel = None
        if not complete:
            switch.discard()
            self.status.emit("Model change cancelled; the current index stays")
            return
        self.is_ready = False
        self.status.emit("Switching to the new index…")

        def swap() -> None:
            from core.settings import save_settings

            self._close()
            switch.finish()
            save_settings(switch.settings, switch.trove.locations.settings)
            self._embedder = switch.embedder

        def swapped(_: None) -> None:
            self.notice.emit(f"Now searching with {switch.settings.model}")
            self.start()

        self.reads.run(swap, swapped, self._failed)

    def _switch_failed(self, model: str, error: BaseException) -> None:
        # The build has removed its half-built index (ModelSwitch.build).
        log.error("the index for %s could not be built", model, exc_info=error)
        self._switch_cancel = None
        self.status.emit("The model change failed; the current index stays")
        self.switch_failed.emit(f"The index for {model} could not be built: {error}")

    # -- the watcher's events (on its thread; signals cross to the GUI thread) -------

    def _on_event(self, event: object) -> None:
        from core.events import FileFailed, Notice, Progress, ScanDone
        from core.watch.watcher import Batch, Resting

        if isinstance(event, Progress):
            self.progress.emit(event)
            if not event.reading:  # a file being read has changed nothing yet
                self.index_changed.emit()
        elif isinstance(event, Resting):
            self.resting.emit(event.paused)
        elif isinstance(event, ScanDone):
            self.scanned.emit(event)
        elif isinstance(event, FileFailed):
            self.file_failed.emit(event)
        elif isinstance(event, Notice):
            self.notice.emit(event.message)
        elif isinstance(event, Batch):
            self.pass_finished.emit(event)
            if event.indexed or event.deleted or event.moved or event.copied:
                self.index_changed.emit()
