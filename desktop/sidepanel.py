"""The right side of the window: the selected file's text, and the files like it.

Both are read off the GUI thread through the engine; only the newest request of each kind
is answered, so moving quickly through the results never queues stale previews.
"""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtWidgets import QLabel, QListView, QSplitter, QVBoxLayout, QWidget

from desktop.engine import Engine
from desktop.preview import PreviewPane
from desktop.results import ResultDelegate, ResultsModel

# Rows of the similar-files panel that stay in view however the window is sized.
SIMILAR_ROWS = 3
COUNT = 8  # similar files asked for
PICTURE_SIZE = 900  # pixels on the longer side of a picture in the preview
Marks = list[tuple[int, int]]


class SidePanel(QSplitter):
    open_requested = Signal(str)  # a similar file double-clicked: open it

    def __init__(self, engine: Engine, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Vertical, parent)
        self.engine = engine
        self.preview = PreviewPane()
        self.similar_title = QLabel("Similar files")
        self.similar_title.setObjectName("similarTitle")
        self.similar = ResultsModel()
        self.similar_list = QListView()
        self.similar_list.setObjectName("similarList")
        self.similar_list.setModel(self.similar)
        compact = ResultDelegate(compact=True)
        self.similar_list.setItemDelegate(compact)
        rows = SIMILAR_ROWS * compact.row_height(self.similar_list.font())
        self.similar_list.setMinimumHeight(rows + 2 * self.similar_list.frameWidth() + 4)
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.similar_title)
        column.addWidget(self.similar_list, 1)
        self.addWidget(self.preview)
        self.addWidget(box)
        self.setStretchFactor(0, 2)
        self.setStretchFactor(1, 1)
        self.similar_list.doubleClicked.connect(self._open_similar)
        self.similar_list.selectionModel().currentChanged.connect(self._similar_selected)
        self._query = ""
        self._shown: tuple[str, int, str] | None = None  # the result previewed, and for what
        self._pictured: Any = None  # the result whose picture the preview waits for
        engine.pictures.ready.connect(self._picture_arrived)

    def show_result(self, result: Any, query: str) -> None:
        """The preview of a result of ``query``, and the files similar to it."""
        shown = (result.path, result.chunk_id, query)
        # A refresh while indexing selects the same result again: keep its preview and
        # its similar files, and where the reader has scrolled to.
        if shown == self._shown:
            return
        self._shown, self._query = shown, query
        self.show_preview(result)
        self.load_similar(result.path)

    def clear_preview(self) -> None:
        self._shown = self._pictured = None  # a picture arriving late stays away
        self.preview.clear()

    def clear(self) -> None:
        """Empty both: what they showed belongs to another search."""
        self.clear_preview()
        self.similar.set_results([])
        self.similar_title.setText("Similar files")
        self.similar_title.setToolTip("")

    def similar_result(self) -> Any | None:
        return self.similar.result(self.similar_list.currentIndex().row())

    # -- the preview -----------------------------------------------------------------

    def show_preview(self, result: Any) -> None:
        self._pictured = result
        self.preview.show_picture(self.engine.pictures.get(result, PICTURE_SIZE))
        query = self._query
        file_id, chunk_id, location = result.file_id, result.chunk_id, result.location

        def read(trove: Any) -> tuple[Any, Marks]:
            preview = trove.preview(file_id, chunk_id)
            if preview is None or not query:
                return preview, []
            return preview, trove.marks(query, preview.text[preview.start : preview.end])

        def shown(found: tuple[Any, Marks]) -> None:
            preview, marks = found
            if preview is None:
                self.preview.clear("This file's text is no longer in the index.")
            else:
                self.preview.show_preview(preview, location, marks)

        self.engine.read(read, shown, self._preview_failed, latest="preview")

    def _picture_arrived(self, path: str, location: str) -> None:
        shown = self._pictured
        if shown is not None and (shown.path, shown.location) == (path, location):
            self.preview.show_picture(self.engine.pictures.get(shown, PICTURE_SIZE))

    def _preview_failed(self, error: BaseException) -> None:
        self.preview.clear(f"No preview: {error}")

    # -- similar files ---------------------------------------------------------------

    def load_similar(self, path: str, *, any_file: bool = False) -> None:
        """Files similar to an indexed file or (``any_file``) to one read and embedded now."""
        if any_file:
            self.similar_title.setText(f"Reading {os.path.basename(path)}…")
        self.engine.read(
            lambda t: t.similar_to_file(path, COUNT) if any_file else t.similar(path, COUNT),
            lambda found: self._show_similar(path, found),
            lambda error: self._similar_failed(error),
            latest="similar",
        )

    def _show_similar(self, path: str, found: list[Any]) -> None:
        self.similar.set_results(found)
        name = os.path.basename(path)
        self.similar_title.setText(
            f"Similar to {name}" if found else f"Nothing similar to {name} yet"
        )
        self.similar_title.setToolTip(path)

    def _similar_failed(self, error: BaseException) -> None:
        self.similar.set_results([])
        self.similar_title.setText(f"Similar files: {error}")

    def _similar_selected(self, current: QModelIndex, _previous: QModelIndex) -> None:
        result = self.similar.result(current.row())
        if result is not None:
            self._shown = None  # the result's own preview is to be shown again on return
            self.show_preview(result)

    def _open_similar(self, index: QModelIndex) -> None:
        result = self.similar.result(index.row())
        if result is not None:
            self.open_requested.emit(result.path)
