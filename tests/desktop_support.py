"""Building the desktop app for a test: a real engine on the test's TROVE_HOME, the real
main window, and a clean shutdown however the test ends."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, TypeVar

from pytestqt.qtbot import QtBot

from core.paths import Locations
from core.settings import Settings, save_settings
from desktop.engine import Engine
from desktop.window import MainWindow

T = TypeVar("T")


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


@contextmanager
def started_engine(qtbot: QtBot, timeout: int = 30_000) -> Iterator[Engine]:
    """An engine on the stand-in model, with one extraction worker whatever the machine
    (quicker to start, same behaviour), ready; shut down however the test ends."""
    from tests.fakes import FakeEmbedder

    save_settings(Settings(extract_workers=1), Locations.from_environment().settings)
    engine = Engine(embedder=FakeEmbedder())
    try:
        with qtbot.waitSignal(engine.ready, timeout=timeout):
            engine.start()
        yield engine
    finally:
        engine.shutdown()


def search(qtbot: QtBot, window: MainWindow, text: str, timeout: int = 30_000) -> list[Any]:
    """Type ``text`` into the search box as a person would and wait for its results."""
    window.search.box.clear()
    with qtbot.waitSignal(window.results_shown, timeout=timeout):
        qtbot.keyClicks(window.search.box, text)
    return window.results.results()


def search_everything(
    qtbot: QtBot, window: MainWindow, text: str, timeout: int = 30_000
) -> list[Any]:
    """``search``, then "Show weaker matches": every candidate, below the floor too."""
    search(qtbot, window, text, timeout)
    with qtbot.waitSignal(window.results_shown, timeout=timeout):
        window.run_query(replace(window.search.query(), everything=True))
    return window.results.results()


def read_now(qtbot: QtBot, engine: Engine, job: Callable[[Any], T], timeout: int = 30_000) -> T:
    """What ``job`` returns on the engine's read thread, as the app would read it."""
    box: list[Any] = []
    engine.read(job, box.append, box.append)
    qtbot.waitUntil(lambda: bool(box), timeout=timeout)
    assert not isinstance(box[0], BaseException), box[0]
    return box[0]


def wait_for(qtbot: QtBot, condition: Callable[[], bool], timeout: int = 60_000) -> None:
    qtbot.waitUntil(condition, timeout=timeout)
