"""Building the desktop app for a test: a real engine on the test's TROVE_HOME, the real
main window, and a clean shutdown however the test ends."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from pytestqt.qtbot import QtBot

from core.paths import Locations
from core.settings import Settings, save_settings
from desktop.engine import Engine
from desktop.window import MainWindow


@contextmanager
def running_app(
    qtbot: QtBot, embedder: Any, *, ready: bool = True, **settings: Any
) -> Iterator[MainWindow]:
    """The main window over an engine started on ``embedder``; waits until the model is
    ready unless told not to."""
    locations = Locations.from_environment()
    save_settings(Settings(extract_workers=1).with_changes(**settings), locations.settings)
    engine = Engine(embedder=embedder)
    window = MainWindow(engine, locations.window_state)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    try:
        if ready:
            with qtbot.waitSignal(engine.ready, timeout=60_000):
                engine.start()
            qtbot.waitUntil(lambda: window.folders is not None, timeout=10_000)
        else:
            engine.start()
        yield window
    finally:
        window.hide()
        engine.shutdown()


def search(qtbot: QtBot, window: MainWindow, text: str, timeout: int = 30_000) -> list[Any]:
    """Type ``text`` into the search box as a person would and wait for its results."""
    window.search.box.clear()
    with qtbot.waitSignal(window.results_shown, timeout=timeout):
        qtbot.keyClicks(window.search.box, text)
    return window.results.results()


def wait_for(qtbot: QtBot, condition: Callable[[], bool], timeout: int = 60_000) -> None:
    qtbot.waitUntil(condition, timeout=timeout)


class SlowEmbedder:
    """Wraps an embedder and takes ``delay_s`` per batch it embeds: indexing that lasts
    long enough to pause it in the middle, without a real model."""

    def __init__(self, inner: Any, delay_s: float) -> None:
        self.inner = inner
        self.delay_s = delay_s
        self.model_id = inner.model_id
        self.dimension = inner.dimension
        self.max_tokens = inner.max_tokens

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        spans: list[tuple[int, int]] = self.inner.token_spans(text)
        return spans

    def embed_documents(self, texts: Any) -> Any:
        time.sleep(self.delay_s)
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> Any:
        return self.inner.embed_query(text)
