"""Make docs/screenshot.png: the main window over the sample folder, with results.

    .venv/bin/python docs/make_screenshot.py [--dark] [--out docs/screenshot.png]

Runs without a screen (Qt's offscreen platform), in a throw-away TROVE_HOME, with the
real default model.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
QUERY = "how frequently does my indoor ficus tree need a drink"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshot.png")
    parser.add_argument("--dark", action="store_true", help="the dark theme")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    with tempfile.TemporaryDirectory(prefix="trove-shot-") as home:
        os.environ["TROVE_HOME"] = home
        return shoot(args.out, args.dark)


def shoot(out: Path, dark: bool) -> int:
    from PySide6.QtCore import QEventLoop, Qt
    from PySide6.QtWidgets import QApplication

    from desktop import theme
    from desktop.engine import Engine
    from desktop.main import build

    app = QApplication(["trove"])
    theme.apply_theme(app)
    if dark:
        app.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Dark)
    engine = Engine()
    window = build(engine)
    window.resize(1180, 740)
    window.show()
    engine.start()

    def wait(condition, seconds: float = 180.0) -> None:  # type: ignore[no-untyped-def]
        end = time.monotonic() + seconds
        while not condition():
            if time.monotonic() > end:
                raise SystemExit("timed out waiting for the window")
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)

    wait(lambda: engine.is_ready and window.folders is not None)
    window.add_folder(str(REPO / "resources" / "sample"))
    wait(lambda: window.file_count == 18)
    window.search.box.setText(QUERY)
    window.search.search_now()
    wait(lambda: window.results.rowCount() > 0)
    window.list.setFocus()
    window.list.setCurrentIndex(window.results.index(0))
    wait(lambda: window.preview.passage != (0, 0) and window.similar.rowCount() > 0)
    for _ in range(20):
        app.processEvents()
    window.grab().save(str(out))
    print(f"saved {out}")
    window.hide()
    engine.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
