"""What a first run shows: Trove in one sentence and a way to add the first folder."""

from __future__ import annotations

import os

from PySide6.QtCore import QStandardPaths, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from desktop import theme


def documents_folder() -> str | None:
    """The user's Documents folder, if there is one."""
    path = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    return path if path and os.path.isdir(path) else None


class EmptyState(QWidget):
    add_folder = Signal(str)  # the suggested folder, accepted
    choose_folder = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("emptyState")
        self.suggestion = documents_folder()
        title = QLabel("Find your files by what they mean")
        title.setObjectName("emptyTitle")
        text = QLabel(
            "Trove reads the documents in the folders you choose, on this computer only, "
            "and finds them when you describe what you need in your own words."
        )
        text.setObjectName("emptyHint")
        text.setWordWrap(True)
        text.setMaximumWidth(520)
        self.suggest = QPushButton(theme.icon("folder-add"), "")
        self.suggest.setDefault(True)
        self.suggest.clicked.connect(self._suggested)
        other = QPushButton(theme.icon("folder"), "Choose a folder…")
        other.clicked.connect(self.choose_folder)
        if self.suggestion:
            home = os.path.expanduser("~")
            shown = (
                self.suggestion.replace(home, "~", 1)
                if self.suggestion.startswith(home)
                else self.suggestion
            )
            self.suggest.setText(f"Add your Documents folder ({shown})")
        else:
            self.suggest.hide()
            other.setDefault(True)
        layout = QVBoxLayout(self)
        layout.addStretch(2)
        layout.addWidget(title, 0, Qt.AlignmentFlag.AlignHCenter)
        # A wrapped label given an alignment is laid out at its one-line size hint, which
        # cuts its lines in half; centred by stretches instead, it gets the height its
        # width needs.
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(text, 10)
        row.addStretch(1)
        layout.addLayout(row)
        for widget in (self.suggest, other):
            layout.addWidget(widget, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(3)
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)

    def _suggested(self) -> None:
        if self.suggestion:
            self.add_folder.emit(self.suggestion)
