"""The status bar's indexing activity, fed the events the engine passes on: movement
inside a large file, and a pause that says "Pausing…" until indexing has stopped."""

from __future__ import annotations

from dataclasses import replace

from pytestqt.qtbot import QtBot

from core.events import Progress
from desktop.activity import IndexActivity, _describe


def activity(qtbot: QtBot) -> IndexActivity:
    widget = IndexActivity()
    qtbot.addWidget(widget)
    widget.show()
    return widget


def inside(done: int, eta_s: float | None = None) -> Progress:
    return Progress(11, 277, done, 80.0, eta_s, "/docs/big.pdf", done, 4800)


def test_a_large_file_shows_its_passages_and_moves_the_bar(qtbot: QtBot) -> None:
    shown = activity(qtbot)
    shown.progressed(inside(1200, eta_s=130))
    assert shown.label.text() == (
        "Indexing 11 of 277 files · big.pdf: 1,200 of 4,800 passages · about 2 min left"
    )
    before = shown.bar.value()
    shown.progressed(inside(2400))
    assert shown.bar.value() > before and shown.bar.isVisible()
    assert shown.busy  # while it counts, the count is here

    shown.progressed(Progress(12, 277, 4800, 80.0, None, "/docs/scan.pdf", reading=True))
    assert shown.label.text() == "Indexing 12 of 277 files · reading scan.pdf"


def test_pausing_until_the_watcher_has_stopped_then_paused(qtbot: QtBot) -> None:
    shown = activity(qtbot)
    shown.pause.setEnabled(True)
    shown.progressed(inside(1200))
    with qtbot.waitSignal(shown.pause_toggled) as toggled:
        shown.pause.click()
    assert toggled.args == [True]
    assert shown.label.text() == "Pausing…"
    shown.progressed(inside(1300))  # the pass's last step
    shown.rested(paused=False)  # news from before the click
    assert shown.label.text() == "Pausing…"
    shown.rested(paused=True)
    assert shown.label.text() == "Paused" and not shown.bar.isVisible() and not shown.busy

    shown.pause.click()
    assert shown.label.text() == "Resuming…"
    shown.rested(paused=True)  # news from before the click
    assert shown.label.text() == "Resuming…"
    shown.progressed(Progress(11, 277, 0, 0.0, None))
    assert shown.label.text() == "Indexing 11 of 277 files"
    shown.rested(paused=False)
    assert shown.label.text() == "Up to date"


def test_progress_names_the_pages_of_a_scan_read_so_far() -> None:
    reading = Progress(3, 10, 40, 2.0, None, "/inbox/boiler_scan.pdf", reading=True)
    assert _describe(reading) == "Indexing 3 of 10 files · reading boiler_scan.pdf"
    later = replace(reading, pages_read=4)
    assert _describe(later) == (
        "Indexing 3 of 10 files · reading boiler_scan.pdf (OCR: 4 pages so far)"
    )
