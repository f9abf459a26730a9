"""The preview pane: the selected file's text, the matched passage marked and in view.

The text comes from the index (what Trove read), so a preview needs no reader and works
for a file on a drive that is offline.  A very long text is cut to a window around the
passage: laying out megabytes on the GUI thread would freeze the window.
"""

from __future__ import annotations

import html
import os
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap, QResizeEvent, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QSizePolicy, QTextEdit, QVBoxLayout, QWidget

from desktop import theme

# Characters shown at most; the passage sits in the middle of what is shown.
MAX_CHARS = 200_000
# A picture (a photo, a scanned page) takes at most this share of the pane's height.
PICTURE_SHARE = 0.45


class PreviewPane(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("previewPane")
        self.title = QLabel()
        self.title.setObjectName("previewTitle")
        self.title.setWordWrap(True)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setObjectName("previewText")
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        # The photo or scanned page the text was read from, above the text.
        self.picture = QLabel()
        self.picture.setObjectName("previewPicture")
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.picture.hide()
        self._image: QImage | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.picture)
        layout.addWidget(self.text, 1)
        self.passage: tuple[int, int] = (0, 0)  # in the shown text, after any cut
        self.clear()

    def clear(self, message: str = "Select a result to see its text here.") -> None:
        self.title.setText(message)
        self.text.clear()
        self.passage = (0, 0)
        self.show_picture(None)

    def show_picture(self, image: QImage | None) -> None:
        """Show the picture the text was read from (scaled to the pane), or none."""
        self._image = image
        self.picture.setVisible(image is not None)
        self._fit_picture()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_picture()

    def _fit_picture(self) -> None:
        if self._image is None:
            self.picture.clear()
            return
        tallest = max(48, int(self.height() * PICTURE_SHARE))
        scaled = QPixmap.fromImage(self._image).scaled(
            max(48, self.width()),
            tallest,
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        self.picture.setPixmap(scaled)
        self.picture.setFixedHeight(scaled.height())

    def show_preview(
        self, preview: Any, location: str = "", marks: list[tuple[int, int]] | None = None
    ) -> None:
        """Show ``core.app.Preview``; mark its passage and, inside it, ``marks``: the
        query's words, as character spans in the passage (``Trove.marks``)."""
        text, start, end = preview.text, preview.start, preview.end
        offset = 0
        if len(text) > MAX_CHARS:
            offset = max(0, min(len(text) - MAX_CHARS, (start + end) // 2 - MAX_CHARS // 2))
            text = text[offset : offset + MAX_CHARS]
        start, end = max(0, start - offset), max(0, end - offset)
        # A lone carriage return would start a new block and shift every offset after it.
        text = text.replace("\r", " ")
        name = os.path.basename(preview.path)
        cut = " (part of a long text)" if offset or len(preview.text) > MAX_CHARS else ""
        self.title.setText(f"<b>{html.escape(name)}</b>  {html.escape(location)}{cut}")
        self.title.setToolTip(preview.path)
        self.text.setPlainText(text)
        self.passage = (start, end)
        self._mark(text, start, end, marks or [])

    def _mark(self, text: str, start: int, end: int, marks: list[tuple[int, int]]) -> None:
        if end <= start:
            self.text.moveCursor(QTextCursor.MoveOperation.Start)
            return
        background, foreground = theme.match_colors(self.palette())
        tint = theme.passage_tint(self.palette())
        to_qt = _Utf16(text)
        selections = [self._selection(to_qt(start), to_qt(end), tint, None)]
        for first, last in marks:
            if start + last <= end:
                begin, finish = to_qt(start + first), to_qt(start + last)
                selections.append(self._selection(begin, finish, background, foreground, True))
        self.text.setExtraSelections(selections)
        cursor = self.text.textCursor()
        cursor.setPosition(to_qt(start))
        self.text.setTextCursor(cursor)
        self.text.centerCursor()

    def _selection(
        self, start: int, end: int, background: Any, foreground: Any, bold: bool = False
    ) -> QTextEdit.ExtraSelection:
        selection = QTextEdit.ExtraSelection()
        cursor = self.text.textCursor()
        cursor.setPosition(start)
        cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        selection.cursor = cursor  # type: ignore[attr-defined]
        fmt = QTextCharFormat()
        fmt.setBackground(background)
        if foreground is not None:
            fmt.setForeground(foreground)
        if bold:
            fmt.setFontWeight(700)
        selection.format = fmt  # type: ignore[attr-defined]
        return selection


class _Utf16:
    """Python string offsets (code points) to Qt's (UTF-16 units): they differ after
    any character outside the Basic Multilingual Plane, such as an emoji."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._plain = text.isascii() or max(text) < "\U00010000"

    def __call__(self, index: int) -> int:
        if self._plain:
            return index
        return len(self._text[:index].encode("utf-16-le")) // 2
