"""Starting the desktop app: the window first, everything heavy behind it.

Only Qt and the desktop's own light modules load before the window is shown; the index,
the model and torch open on the engine's threads while the window is already usable.
Set ``TROVE_STARTUP_PROBE=1`` to have the moments of start-up printed to stderr (the
start-up benchmark reads them).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from desktop import theme
from desktop.engine import Engine
from desktop.window import MainWindow

PROBE = "TROVE_STARTUP_PROBE"
# How long --self-test waits for the engine and the first results.
SELF_TEST_TIMEOUT_MS = 150_000


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv if argv is None else argv)
    options, _ = _parser().parse_known_args(args[1:])
    app = QApplication.instance() or QApplication(args)
    assert isinstance(app, QApplication)
    app.setApplicationName("Trove")
    app.setQuitOnLastWindowClosed(False)  # the window may close into the tray
    theme.apply_theme(app)
    engine = Engine()
    window = build(engine)
    window.show()
    _probe("window shown")
    QTimer.singleShot(0, engine.start)
    if options.self_test:
        _self_test(app, window, engine)
    if options.search:
        window.search.box.setText(options.search)
        window.search.search_now()
    app.aboutToQuit.connect(lambda: _stop(window, engine))
    return app.exec()


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

    window = MainWindow(engine, Locations.from_environment().window_state)
    window.quit_requested.connect(QApplication.quit)
    if os.environ.get(PROBE):
        engine.ready.connect(lambda: _probe("model ready"))
        window.results_shown.connect(lambda n: _probe(f"results shown {n}"))
    _tray(window, engine)
    return window


def _tray(window: MainWindow, engine: Engine) -> None:
    from desktop.tray import Tray

    tray = Tray(engine, window)
    if tray.available():
        tray.search_requested.connect(window.bring_up)
        tray.quit_requested.connect(QApplication.quit)
        tray.show()
    window.tray = tray


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


def _stop(window: MainWindow, engine: Engine) -> None:
    window.hide()
    engine.shutdown()


def _probe(moment: str) -> None:
    if os.environ.get(PROBE):
        print(f"trove-probe {time.time():.4f} {moment}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
