"""The GUI thread never waits: a heartbeat timer on it must keep beating while a few
hundred files are indexed with the real model and the results refresh as they arrive."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from desktop.heartbeat import Heartbeat
from tests.conftest import write
from tests.desktop_support import running_app, wait_for

MAX_STALL_S = 0.100
FILES = 300

TOPICS = (
    "watering houseplants and repotting a fig",
    "the quarterly budget of the marketing team",
    "a trip to Lisbon with trams and custard tarts",
    "tuning a bicycle derailleur before a race",
    "the lease clause about rent increases",
    "baking sourdough bread with a cold proof",
)


@pytest.mark.model
def test_the_window_stays_responsive_while_indexing(
    qtbot: QtBot, real_embedder: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "notes"
    for i in range(FILES):
        topic = TOPICS[i % len(TOPICS)]
        body = f"Note {i} on {topic}. " + " ".join(f"{topic} detail {j}." for j in range(12))
        write(folder, f"{i // 50:02}/note_{i:03}.md", f"# {topic.title()} {i}\n\n{body}\n")
    with running_app(qtbot, real_embedder) as window:
        heart = Heartbeat()
        heart.start()
        window.add_folder(str(folder))
        window.search.box.setText("repotting a fig tree")
        window.search.search_now()
        wait_for(qtbot, lambda: window.file_count == FILES, 300_000)
        heart.stop()
        print(f"\nlongest GUI-thread stall while indexing {FILES} files: "
              f"{heart.longest * 1000:.1f} ms over {heart.beats} beats")  # fmt: skip
        assert heart.beats > 100  # the heartbeat really ran through the indexing
        assert window.results.rowCount() > 0
        assert heart.longest < MAX_STALL_S


def test_a_stalled_window_thread_gets_every_threads_stack_printed(
    qtbot: QtBot, capfd: pytest.CaptureFixture[str]
) -> None:
    """The diagnostic behind TROVE_STARTUP_PROBE=trace:MS: a beat that comes late has the
    fault handler print where each thread was, while the stall lasts."""
    heart = Heartbeat(trace_after=0.05)
    heart.start()
    qtbot.waitUntil(lambda: heart.beats >= 3)
    time.sleep(0.3)  # holds the window's thread, as a stall does
    qtbot.waitUntil(lambda: heart.beats >= 5)
    heart.stop()
    printed = capfd.readouterr().err
    assert "Timeout" in printed
    assert "in test_a_stalled_window_thread_gets_every_threads_stack_printed" in printed


def test_a_steady_heartbeat_prints_nothing(qtbot: QtBot, capfd: pytest.CaptureFixture[str]) -> None:
    heart = Heartbeat(trace_after=0.5)
    heart.start()
    qtbot.waitUntil(lambda: heart.beats >= 20)
    heart.stop()
    time.sleep(0.6)  # past the deadline: stop() cancelled it
    assert "Timeout" not in capfd.readouterr().err
