"""Starting the desktop app: the window first, everything heavy behind it.

Only Qt and the desktop's own light modules load on the window's thread before it is
shown; the index, the model and torch open on the engine's threads while the window is
already usable. One thing starts earlier, beside the window's building: a thread imports
the model's runtime and reads its tokenizer (``_read_model_ahead``).
A second launch for the same user and data folder builds nothing: it hands its search to
the running Trove (``desktop.instance``) and exits.
Set ``TROVE_STARTUP_PROBE=1`` to have the moments of start-up printed to stderr (the
start-up benchmark reads them); ``TROVE_STARTUP_PROBE=trace:50`` also prints every
thread's stack whenever the window's thread stalls for more than 50 ms.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QSocketNotifier, QThread, QTimer
from PySide6.QtWidgets import QApplication

from desktop import instance, theme
from desktop.instance import Listener, Request

if TYPE_CHECKING:
    from desktop.engine import Engine
    from desktop.window import MainWindow

log = logging.getLogger(__name__)

PROBE = "TROVE_STARTUP_PROBE"
# Signals that quit as the menu does (see _quit_on_signals).
QUIT_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# How long --self-test waits for the engine and the first results.
SELF_TEST_TIMEOUT_MS = 150_000


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv if argv is None else argv)
    options, _ = _parser().parse_known_args(args[1:])
    app = QApplication.instance() or QApplication(args)
    assert isinstance(app, QApplication)
    app.setApplicationName("Trove")
    listener = None
    if not options.self_test:  # a self-test checks this process's own window
        listener = _one_instance(options.search)
        if listener is None:
            return 0
    return _run(app, options, listener)


def _run(app: QApplication, options: argparse.Namespace, listener: Listener | None) -> int:
    from desktop.engine import Engine

    app.setQuitOnLastWindowClosed(False)  # the window may close into the tray
    threading.Thread(target=_read_model_ahead, name="trove-read-ahead", daemon=True).start()
    theme.apply_theme(app)
    engine = Engine()
    window = build(engine)
    window.show()
    _probe("window shown")
    QTimer.singleShot(0, engine.start)
    if options.self_test:
        _self_test(app, window, engine)
    if options.search:
        _search(window, options.search)
    if listener is not None:
        listener.requested.connect(lambda request: answer(window, request))
    app.aboutToQuit.connect(lambda: _stop(window, engine, listener))
    wake_up = _quit_on_signals(app)
    try:
        return app.exec()
    finally:
        signal.set_wakeup_fd(-1)
        for end in wake_up:
            end.close()


def _read_model_ahead() -> None:
    """While the window is built: import the model's runtime and read its tokenizer
    (``SentenceTransformerEmbedder.read_ahead``), which hold the GIL for tens of
    milliseconds each. Done by the model's loading once the window shows, they stalled
    it for up to 131 ms in the installed app; done now, they only delay its first
    drawing a little. The loading takes the tokenizer, and reports any problem itself."""
    try:
        from core.embedding import SentenceTransformerEmbedder
        from core.paths import Locations
        from core.settings import load_settings

        settings = load_settings(Locations.from_environment().settings)
        SentenceTransformerEmbedder.for_settings(settings).read_ahead()
    except Exception as exc:  # an optimisation: whatever fails here fails again, reported
        log.debug("model not read ahead: %s", exc)


def _one_instance(search: str | None) -> Listener | None:
    """This process's listener as the one Trove of this user and data folder; None once
    the launch went to the Trove already running."""
    from core.paths import Locations  # light: platformdirs only

    name = instance.channel_name(Locations.from_environment().data)
    listener = instance.start_or_hand_over(name, Request(search))
    if listener is None:
        _probe("handed over to the running Trove")
    return listener


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="trove-desktop", description="The Trove window.")
    parser.add_argument("--search", metavar="TEXT", help="open with TEXT searched for")
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="with --search: exit 0 once the window shows results, non-zero if it cannot",
    )
    return parser


def build(engine: Engine) -> MainWindow:
    """The window with its tray icon, wired to ``engine``."""
    from core.paths import Locations  # light: platformdirs only
    from desktop.window import MainWindow

    window = MainWindow(engine, Locations.from_environment().window_state)
    window.quit_requested.connect(quit_app)
    if os.environ.get(PROBE):
        _watch_start_up(window, engine)
    _tray(window, engine)
    return window


def _watch_start_up(window: MainWindow, engine: Engine) -> None:
    """Print the moments of start-up, how each answer was ranked, and the longest time
    the window's thread could not run so far (a heartbeat on it)."""
    from desktop.heartbeat import Heartbeat

    setting = os.environ.get(PROBE, "")
    trace_ms = setting.removeprefix("trace:") if setting.startswith("trace:") else ""
    heart = Heartbeat(window, int(trace_ms) / 1000 if trace_ms.isdigit() else None)
    heart.start()

    def stall() -> str:
        return f"(longest stall so far {heart.longest * 1000:.0f} ms)"

    def shown(count: int) -> None:
        answer = window.answer
        how = "meaning" if answer is not None and answer.by_meaning else "words"
        _probe(f"results shown {count} by {how} {stall()}")

    engine.searchable.connect(lambda: _probe(f"index open {stall()}"))
    engine.ready.connect(lambda: _probe(f"model ready {stall()}"))
    window.results_shown.connect(shown)


def quit_app() -> None:
    """Leave Trove, whatever its windows say.  ``QApplication.quit`` only asks: it closes
    every window first and gives up if one stays, and with "keep running" on the main
    window answers a close by hiding into the tray.  Then Quit merely hid the window and
    the process stayed, whenever the tray icon's own X11 window had not been closed
    before it.  ``exit`` ends every event loop (a modal dialog's too) and cannot be
    refused; the layout is saved and the engine stopped on ``aboutToQuit``."""
    # With no event loop running there is nothing to end, and exit() would make every
    # later loop return at once (a script or test driving the window, a closing one).
    if QThread.currentThread().loopLevel() > 0:
        QApplication.exit(0)


def _tray(window: MainWindow, engine: Engine) -> None:
    from desktop.tray import Tray

    tray = Tray(engine, window)
    # Wired even where no tray shows: its menu can still be driven, by tests too.
    tray.search_requested.connect(window.bring_up)
    tray.quit_requested.connect(quit_app)
    if tray.available():
        tray.show()
    window.tray = tray


def _search(window: MainWindow, text: str) -> None:
    window.search.box.setText(text)
    window.search.search_now()


def answer(window: MainWindow, request: Request) -> None:
    """A later launch's request: come forward (from the tray or minimised), and search."""
    window.bring_up()
    if request.search:
        _search(window, request.search)
    _probe(f"brought forward, searching {request.search!r}")


def _self_test(app: QApplication, window: MainWindow, engine: Engine) -> None:
    """Exit 0 once the shown window lists results; 1 if the engine fails, 2 on time-out."""
    started = time.monotonic()

    def shown(count: int) -> None:
        handle = window.windowHandle()
        if count > 0 and handle is not None and handle.isExposed():
            print(
                f"the window ({app.platformName()}) showed {count} results "
                f"{time.monotonic() - started:.1f} s after it opened",
                flush=True,
            )
            app.exit(0)

    def failed(message: str) -> None:
        print(f"the window's engine failed: {message}", file=sys.stderr, flush=True)
        app.exit(1)

    def timed_out() -> None:
        print("the window showed no results in time", file=sys.stderr, flush=True)
        app.exit(2)

    window.results_shown.connect(shown)
    engine.failed.connect(failed)
    QTimer.singleShot(SELF_TEST_TIMEOUT_MS, timed_out)


def _stop(window: MainWindow, engine: Engine, listener: Listener | None) -> None:
    if listener is not None:
        listener.close()  # a launch from now on starts a new Trove, not this one
    window.save_layout()
    window.hide()
    if window.tray is not None:
        window.tray.hide()  # type: ignore[attr-defined]
    engine.shutdown()
    _probe("stopped")


def _quit_on_signals(app: QApplication) -> tuple[socket.socket, socket.socket]:
    """Quit as the menu does on SIGTERM (logging out, ``kill``) and SIGINT (Ctrl+C where
    ``trove gui`` was started), so the engine still closes the index.  Python runs its
    signal handlers only when it next runs Python code, which it may never do while Qt
    waits for events: the signal's byte on a socket wakes Qt's loop instead.  Returns the
    sockets, to be kept open while the app runs."""
    ours, theirs = socket.socketpair()
    for end in (ours, theirs):
        end.setblocking(False)
    signal.set_wakeup_fd(theirs.fileno())
    for number in QUIT_SIGNALS:
        signal.signal(number, lambda *_: None)  # the wake-up byte does the work
    notifier = QSocketNotifier(ours.fileno(), QSocketNotifier.Type.Read, app)
    notifier.activated.connect(lambda *_: _woken(ours))
    return ours, theirs


def _woken(ours: socket.socket) -> None:
    try:
        ours.recv(64)
    except BlockingIOError:
        return
    # A second Ctrl+C, while the engine is still stopping, ends Trove at once.
    for number in QUIT_SIGNALS:
        signal.signal(number, signal.SIG_DFL)
    quit_app()


def _probe(moment: str) -> None:
    if os.environ.get(PROBE):
        print(f"trove-probe {time.time():.4f} {moment}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
