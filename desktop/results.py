"""The results list: one row per file, drawn by a delegate.

A row shows the file's type icon, name, folder, modified date, how strong the match is
(the same scale for every query), and the matching passage with the query's words marked and
where in the file it is (page, slide, line).
"""

from __future__ import annotations

import html
import os
from datetime import datetime
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
)
from PySide6.QtGui import (
    QAbstractTextDocumentLayout,
    QFont,
    QFontMetrics,
    QPainter,
    QPalette,
    QTextDocument,
)
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from desktop import theme
from desktop.pictures import Pictures

ResultRole = Qt.ItemDataRole.UserRole + 1
Index = QModelIndex | QPersistentModelIndex


class ResultsModel(QAbstractListModel):
    """Holds ``core.search.Result`` objects (typed loosely: the GUI thread never imports
    the core's search module, which pulls in numpy)."""

    def __init__(self) -> None:
        super().__init__()
        self._results: list[Any] = []

    def set_results(self, results: list[Any]) -> None:
        self.beginResetModel()
        self._results = list(results)
        self.endResetModel()

    def results(self) -> list[Any]:
        return list(self._results)

    def result(self, row: int) -> Any | None:
        return self._results[row] if 0 <= row < len(self._results) else None

    def row_of(self, path: str) -> int:
        return next((i for i, r in enumerate(self._results) if r.path == path), -1)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._results)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        result = self.result(index.row())
        if result is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return os.path.basename(result.path)
        if role == Qt.ItemDataRole.ToolTipRole:
            return result.path
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{os.path.basename(result.path)}, {result.location}: {result.snippet}"
        if role == ResultRole:
            return result
        return None


def marked_html(text: str, spans: list[tuple[int, int]], background: str, color: str) -> str:
    """``text`` as HTML with ``spans`` (character offsets) marked.  A mark sets its own
    text colour: on a selected row the text is the selection's (white), unreadable on
    the mark's pale yellow."""
    out, at = [], 0
    for start, end in sorted(spans):
        if start < at or end <= start:
            continue
        out.append(html.escape(text[at:start]))
        out.append(f'<span style="background-color:{background}; color:{color}">')
        out.append(html.escape(text[start:end]) + "</span>")
        at = end
    out.append(html.escape(text[at:]))
    return "".join(out).replace("\n", " ")


def when(mtime_ns: int) -> str:
    moment = datetime.fromtimestamp(mtime_ns / 1e9)
    today = datetime.now().date()
    if moment.date() == today:
        return moment.strftime("today %H:%M")
    if moment.year == today.year:
        return moment.strftime("%d %b")
    return moment.strftime("%d %b %Y")


class ResultDelegate(QStyledItemDelegate):
    """Draws a result in three lines; ``compact`` (the similar-files panel) in two.  With
    ``pictures``, a photo or a scanned page shows a thumbnail in place of its icon."""

    PAD = 8
    ICON = 32
    THUMBNAIL = 48

    def __init__(self, compact: bool = False, pictures: Pictures | None = None) -> None:
        super().__init__()
        self.compact = compact
        self.pictures = pictures
        self._doc = QTextDocument()
        self._doc.setDocumentMargin(0)

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        return QSize(200, self.row_height(option.font))  # type: ignore[attr-defined]

    def row_height(self, font: QFont) -> int:
        lines = 2 if self.compact else 4
        return self.PAD * 2 + QFontMetrics(font).lineSpacing() * lines + 4

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        result = index.data(ResultRole)
        if result is None:
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""  # type: ignore[attr-defined]
        style = opt.widget.style() if opt.widget else None  # type: ignore[attr-defined]
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)  # type: ignore[attr-defined]
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)  # type: ignore[attr-defined]
        palette: QPalette = opt.palette  # type: ignore[attr-defined]
        rect: QRect = opt.rect  # type: ignore[attr-defined]
        painter.save()
        try:
            self._paint(painter, rect, palette, selected, result, index)
        finally:
            painter.restore()

    def _paint(
        self,
        painter: QPainter,
        rect: QRect,
        palette: QPalette,
        selected: bool,
        result: Any,
        index: Index,
    ) -> None:
        pad, size = self.PAD, self.ICON if not self.compact else 24
        text_role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        dim_role = (
            QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.PlaceholderText
        )
        column = size if self.pictures is None else max(size, self.THUMBNAIL)
        corner = QRect(rect.left() + pad, rect.top() + pad, column, column)
        if not self._thumbnail(painter, corner, result):
            theme.kind_icon(result.kind).paint(
                painter, QRect(corner.left(), corner.top(), size, size)
            )
        left = rect.left() + pad * 2 + column
        width = rect.right() - left - pad
        font = painter.font()
        metrics = QFontMetrics(font)
        line = metrics.lineSpacing()
        top = rect.top() + pad

        # Line 1: name (bold), then date and the relevance bar at the right.
        date = when(result.mtime_ns) if result.mtime_ns else ""
        bar_w = 44
        date_w = metrics.horizontalAdvance(date) + pad
        bold = painter.font()
        bold.setBold(True)
        painter.setFont(bold)
        painter.setPen(palette.color(text_role))
        name_w = width - bar_w - date_w - pad
        name = QFontMetrics(bold).elidedText(
            os.path.basename(result.path), Qt.TextElideMode.ElideMiddle, name_w
        )
        painter.drawText(QRect(left, top, name_w, line), Qt.AlignmentFlag.AlignVCenter, name)
        painter.setFont(font)
        painter.setPen(palette.color(dim_role))
        painter.drawText(
            QRect(rect.right() - pad - bar_w - date_w, top, date_w, line),
            Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
            date,
        )
        self._relevance(
            painter,
            QRect(rect.right() - pad - bar_w + 6, top + line // 2 - 3, bar_w - 6, 6),
            palette,
            selected,
            result,
        )
        painter.setPen(palette.color(dim_role))

        # Line 2: folder (and, compact, the location).
        folder = os.path.dirname(result.path)
        if self.compact:
            folder = f"{result.location} · {folder}" if result.location else folder
        painter.drawText(
            QRect(left, top + line, width, line),
            Qt.AlignmentFlag.AlignVCenter,
            metrics.elidedText(folder, Qt.TextElideMode.ElideMiddle, width),
        )
        if self.compact:
            return

        # Lines 3-4: the passage, words of the query marked, led by its location.
        background, mark_text = theme.match_colors(palette)
        location = f"<b>{html.escape(result.location)}</b> · " if result.location else ""
        body = marked_html(result.snippet, result.highlights, background.name(), mark_text.name())
        color = palette.color(text_role).name()
        self._doc.setDefaultFont(font)
        self._doc.setTextWidth(width)
        self._doc.setHtml(f'<div style="color:{color}">{location}{body}</div>')
        painter.save()
        painter.translate(left, top + line * 2 + 2)
        clip = QRect(0, 0, width, line * 2)
        painter.setClipRect(clip)
        context = QAbstractTextDocumentLayout.PaintContext()
        context.clip = clip
        self._doc.documentLayout().draw(painter, context)
        painter.restore()

    def _thumbnail(self, painter: QPainter, box: QRect, result: Any) -> bool:
        """Draw the result's picture scaled into ``box``, if it has one drawn already
        (it is asked for otherwise, and the row drawn again once it comes)."""
        if self.pictures is None:
            return False
        image = self.pictures.get(result, self.THUMBNAIL * 2)  # sharp on a 2x screen
        if image is None:
            return False
        scaled = image.size().scaled(box.size(), Qt.AspectRatioMode.KeepAspectRatio)
        target = QRect(box.topLeft(), scaled)
        target.moveCenter(box.center())
        painter.drawImage(target, image)
        return True

    def _relevance(
        self,
        painter: QPainter,
        bar: QRect,
        palette: QPalette,
        selected: bool,
        result: Any,
    ) -> None:
        """A bar filled by the result's relevance, which means the same for every query:
        a half-full bar is as good a match whatever was asked."""
        share = max(0.05, min(1.0, float(getattr(result, "relevance", 0.0))))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(palette.color(QPalette.ColorRole.Mid))
        painter.drawRoundedRect(bar, 3, 3)
        fill = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Highlight
        painter.setBrush(palette.color(fill))
        painter.drawRoundedRect(
            QRect(bar.left(), bar.top(), int(bar.width() * share), bar.height()), 3, 3
        )
