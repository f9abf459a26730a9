"""The window's search in its first minute and at its edges: answers by words while the
model loads, re-ranked by meaning without moving the selected row, the "no good match"
state, and the preview and similar panels following the search."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QStyleOptionViewItem
from pytestqt.qtbot import QtBot

from desktop import answers
from tests.conftest import indexed_sample
from tests.desktop_support import running_app, search, wait_for

pytestmark = pytest.mark.model


class GatedEmbedder:
    """The real model behind a gate: its first query (the engine's warm-up, which is when
    the app loads the model) waits until the test opens the gate."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.gate = threading.Event()
        self.queries: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def embed_query(self, text: str) -> np.ndarray:
        self.gate.wait(60)
        self.queries.append(text)
        return self.inner.embed_query(text)  # type: ignore[no-any-return]

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.gate.wait(60)
        return self.inner.embed_documents(texts)  # type: ignore[no-any-return]


@pytest.fixture
def indexed(tmp_path: Path, real_embedder: Any) -> Path:
    return indexed_sample(real_embedder, tmp_path)


def names(results: list[Any]) -> list[str]:
    return [os.path.basename(r.path) for r in results]


def test_words_answer_while_the_model_loads_then_meaning_reranks_in_place(
    qtbot: QtBot, real_embedder: Any, indexed: Path
) -> None:
    gated = GatedEmbedder(real_embedder)
    with running_app(qtbot, gated, ready=False) as window:
        window.search.box.setText("rent")
        with qtbot.waitSignal(window.results_shown, timeout=30_000):
            window.search.search_now()
        assert not window.engine.is_ready and gated.queries == []
        words = window.results.results()
        assert window.answer.by_meaning is False and len(words) >= 2
        assert "lease" in " ".join(names(words))
        assert answers.BY_WORDS in window.summary.text()

        window.list.setFocus()
        window.list.setCurrentIndex(window.results.index(1))
        chosen = window.selected()
        top = window.list.visualRect(window.list.currentIndex()).top()

        with qtbot.waitSignal(window.results_shown, timeout=60_000):
            gated.gate.set()
        assert window.answer.by_meaning is True
        assert answers.BY_WORDS not in window.summary.text()
        # The row under the reader's eyes stayed where it was, and still selected.
        assert window.selected().path == chosen.path
        assert window.list.visualRect(window.list.currentIndex()).top() == top
        assert window.list.selectionModel().isSelected(window.list.currentIndex())


def test_a_query_typed_before_the_index_opens_is_answered_once_it_does(
    qtbot: QtBot, real_embedder: Any, indexed: Path
) -> None:
    gated = GatedEmbedder(real_embedder)
    with running_app(qtbot, gated, ready=False) as window:
        with qtbot.waitSignal(window.results_shown, timeout=30_000):
            window.search.box.setText("sourdough")
            window.search.search_now()
        assert names(window.results.results())[0] == "sourdough_recipe.md"
        assert window.answer.by_meaning is False
        gated.gate.set()
        wait_for(qtbot, lambda: window.engine.is_ready, 60_000)


def test_nonsense_gets_no_good_match_naming_the_filters_with_ways_out(
    qtbot: QtBot, real_embedder: Any, indexed: Path
) -> None:
    with running_app(qtbot, real_embedder) as window:
        window.search.types.setCurrentIndex(1)  # PDF only
        window.search.box.setText("zxqv blorft quuxle wibbergast")
        with qtbot.waitSignal(window.results_shown, timeout=30_000):
            window.search.search_now()
        assert window.results.rowCount() == 0
        message = window.message.text()
        assert "No good match" in message and "PDF" in message
        assert answers.CLEAR_FILTERS in message and answers.SHOW_ALL in message

        with qtbot.waitSignal(window.results_shown, timeout=30_000):
            window.message.linkActivated.emit(answers.CLEAR_FILTERS)
        assert window.search.filter_names() == []
        assert "PDF" not in window.message.text()

        with qtbot.waitSignal(window.results_shown, timeout=30_000):
            window.message.linkActivated.emit(answers.SHOW_ALL)
        assert window.results.rowCount() > 0  # the weak ones, asked for
        assert "weaker" in window.summary.text()


def test_the_count_and_comparable_bars(qtbot: QtBot, real_embedder: Any, indexed: Path) -> None:
    with running_app(qtbot, real_embedder) as window:
        results = search(qtbot, window, "how often should I water my fig plant")
        assert window.summary.text().startswith(f"{len(results)} file")
        assert names(results)[0] == "houseplants.md"
        strong = results[0].relevance
        weak = search(qtbot, window, "fig")
        # A bar means the same across queries: not every first result is full.
        assert strong > 0.5 and all(0.0 <= r.relevance <= 1.0 for r in weak)


def test_selection_preview_and_similar_follow_the_search(
    qtbot: QtBot, real_embedder: Any, indexed: Path
) -> None:
    with running_app(qtbot, real_embedder) as window:
        window.activateWindow()
        wait_for(qtbot, lambda: QApplication.focusWidget() is window.search.box, 5_000)
        search(qtbot, window, "rent paid by the tenant each month")
        qtbot.keyClick(window.search.box, Qt.Key.Key_Down)
        first = window.list.currentIndex()
        # The first Down selects the row it moves to (it was current, but not highlighted).
        assert first.row() == 0 and window.list.selectionModel().isSelected(first)
        wait_for(qtbot, lambda: window.preview.passage != (0, 0), 10_000)
        wait_for(qtbot, lambda: window.similar.rowCount() > 0, 10_000)

        # The preview marks the query's words as the keyword index matches them: no
        # small words ("the" was marked all over the text), the rest by stem.
        marked = {
            mark.cursor.selectedText().lower() for mark in window.preview.text.extraSelections()[1:]
        }
        assert {"rent", "tenant", "month"} <= marked and not marked & {"the", "by", "each"}

        # Another search: the old file's preview and similar files go with it.
        found = search(qtbot, window, "sourdough starter feeding schedule")
        assert window.selected() is None or window.selected().path in {r.path for r in found}
        assert window.preview.passage == (0, 0) and window.similar.rowCount() == 0
        assert window.similar_title.text() == "Similar files"

        qtbot.keyClick(window.search.box, Qt.Key.Key_Down)
        wait_for(qtbot, lambda: window.preview.passage != (0, 0), 10_000)
        window.search.box.setFocus()
        qtbot.keyClick(window.search.box, Qt.Key.Key_Escape)
        assert window.search.box.text() == "" and window.preview.passage == (0, 0)
        assert window.similar.rowCount() == 0


def test_the_similar_panel_shows_several_rows(qtbot: QtBot, real_embedder: Any) -> None:
    with running_app(qtbot, real_embedder) as window:
        for width, height in ((1100, 720), window.minimumSize().toTuple()):
            window.resize(width, height)
            qtbot.waitUntil(lambda: window.similar_list.height() > 0)
            option = QStyleOptionViewItem()
            option.initFrom(window.similar_list)
            delegate = window.similar_list.itemDelegate()
            row = delegate.sizeHint(option, window.similar.index(0)).height()
            assert window.similar_list.viewport().height() >= 3 * row, (width, height)


def test_a_question_in_another_language_says_the_model_reads_english(
    qtbot: QtBot, real_embedder: Any, indexed: Path
) -> None:
    with running_app(qtbot, real_embedder) as window:
        window.search.box.setText("Wie oft muss ich die Pflanze im Winter gießen")
        with qtbot.waitSignal(window.results_shown, timeout=30_000):
            window.search.search_now()
        shown = window.summary.text() if window.results.rowCount() else window.message.text()
        assert "English" in shown
        search(qtbot, window, "how often should I water my fig plant")
        assert "English" not in window.summary.text()
