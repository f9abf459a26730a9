"""Make docs/screenshot.png: the main window over the sample folder, with results.

    .venv/bin/python docs/make_screenshot.py [--dark] [--out docs/screenshot.png]
    .venv/bin/python docs/make_screenshot.py --pictures --out docs/screenshot-pictures.png

``--pictures`` adds a folder of photographed and scanned pages (those of
benchmarks/ocr_quality.py) and asks for one of them, whose picture the preview shows.

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
PICTURES_QUERY = "when can I go for a swim again"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshot.png")
    parser.add_argument("--dark", action="store_true", help="the dark theme")
    parser.add_argument("--pictures", action="store_true", help="with scans and photos")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    with tempfile.TemporaryDirectory(prefix="trove-shot-") as scratch:
        os.environ["TROVE_HOME"] = str(Path(scratch) / "home")
        pictures = None
        if args.pictures:  # outside Trove's own folder, which it never reads
            pictures = Path(scratch) / "Scans and photos"
            pictures.mkdir()
            sys.path.insert(0, str(REPO))
            from benchmarks.ocr_quality import PICTURES, save

            for picture in PICTURES:
                save(picture, pictures)
        return shoot(args.out, args.dark, pictures)


def shoot(out: Path, dark: bool, pictures: Path | None = None) -> int:
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
                raise SystemExit(
                    f"timed out waiting for the window ({window.file_count} files indexed)"
                )
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)

    wait(lambda: engine.is_ready and window.folders is not None)
    window.add_folder(str(REPO / "resources" / "sample"))
    wait(lambda: window.file_count == 18)
    query = QUERY
    if pictures is not None:
        window.add_folder(str(pictures))
        wait(lambda: window.file_count == 18 + len(list(pictures.iterdir())))
        query = PICTURES_QUERY
    window.search.box.setText(query)
    window.search.search_now()
    wait(lambda: window.results.rowCount() > 0)
    window.list.setFocus()
    window.list.setCurrentIndex(window.results.index(0))
    wait(lambda: window.preview.passage != (0, 0) and window.similar.rowCount() > 0)
    if pictures is not None:
        wait(lambda: window.preview.picture.isVisible())
    for _ in range(20):
        app.processEvents()
    window.grab().save(str(out))
    print(f"saved {out}")
    window.hide()
    engine.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
