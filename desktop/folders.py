"""The folders dialog: which folders Trove watches, how far each is indexed, what each
one ignores, and which of its files were skipped (``desktop.skipped`` lists them).

Every change goes through the engine (on the watcher's thread); the dialog only asks and
then shows what the index says once the engine reports the change, so the table never
claims more than the index holds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from core.privacy import PRIVATE_RULES, summary
from desktop import theme
from desktop.skipped import SkippedDialog
from desktop.widgets import Throttle, read_only_table

if TYPE_CHECKING:
    from core.app import Trove
    from core.store.records import Folder
    from desktop.engine import Engine

# Indexing reports progress many times a second; the counts need not follow that closely.
REFRESH_THROTTLE_MS = 1000
COLUMNS = ("Folder", "Indexed", "Pending", "Failed", "Excluded", "Unsupported")
COUNT_TIPS = (
    "Files whose text is searchable",
    "Files waiting to be read",
    "Files Trove could not read (Files that could not be read… lists them)",
    "Files a private rule or an ignore pattern keeps out",
    "Files in a format Trove cannot read yet",
)
PathRole = Qt.ItemDataRole.UserRole + 1


@dataclass(frozen=True, slots=True)
class FolderRow:
    path: str
    ignore: str
    indexed: int
    pending: int
    failed: int
    excluded: int = 0
    unsupported: int = 0

    @property
    def counts(self) -> tuple[int, int, int, int, int]:
        """In the order of the table's columns."""
        return (self.indexed, self.pending, self.failed, self.excluded, self.unsupported)

    @property
    def skipped(self) -> int:
        return self.excluded + self.unsupported


def folder_rows(
    folders: Sequence[Folder], counts: Mapping[str, Mapping[str, int]]
) -> list[FolderRow]:
    """One row per watched folder, with its file counts (0 for a state it has none in)."""
    rows = []
    for folder in folders:
        states = counts.get(folder.path, {})
        rows.append(
            FolderRow(
                folder.path,
                folder.ignore,
                states.get("indexed", 0),
                states.get("pending", 0),
                states.get("failed", 0),
                states.get("excluded", 0),
                states.get("unsupported", 0),
            )
        )
    return rows


def _read_folders(trove: Trove) -> list[FolderRow]:
    return folder_rows(trove.folders(), trove.folder_counts())


def _read_allowed(trove: Trove) -> tuple[str, ...]:
    return trove.settings.allowed_private_files


def choose_directory(parent: QWidget) -> str:
    """Ask for a folder; "" when the person cancels."""
    return QFileDialog.getExistingDirectory(parent, "Add a folder to Trove")


def confirm_remove(parent: QWidget, path: str) -> bool:
    answer = QMessageBox.question(
        parent,
        "Stop watching this folder?",
        f"Stop watching {path}?\n\n"
        "Its files leave Trove's index, so searches no longer find them. "
        "The files themselves stay on disk: nothing is deleted.",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
        QMessageBox.StandardButton.Cancel,
    )
    return answer == QMessageBox.StandardButton.Yes


class FoldersDialog(QDialog):
    def __init__(self, engine: Engine, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._engine = engine
        self._rows: list[FolderRow] = []
        # The folder whose patterns the editor shows, and the text it was given for it.
        self._patterns_folder: str | None = None
        self._patterns_loaded = ""
        # Seams for tests (and for a platform that wants another picker): plain callables.
        self.choose_directory: Callable[[QWidget], str] = choose_directory
        self.confirm_remove: Callable[[QWidget, str], bool] = confirm_remove
        self._soon = Throttle(REFRESH_THROTTLE_MS, self.refresh, self)
        self._skipped: SkippedDialog | None = None  # made when first asked for
        self._build()
        self._connect()

    # -- layout ------------------------------------------------------------------------

    def _build(self) -> None:
        self.setWindowTitle("Watched folders")
        self.resize(720, 520)
        self.table = read_only_table(COLUMNS, self)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, len(COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)

        self.empty_hint = QLabel("No folders yet. Add one and Trove starts reading it.", self)
        self.empty_hint.setEnabled(False)  # the disabled colour reads as a quiet hint
        self.add_button = QPushButton(theme.icon("folder-add"), "Add folder…", self)
        self.remove_button = QPushButton(theme.icon("remove"), "Remove", self)
        self.skipped_button = QPushButton("Show skipped files…", self)
        self.skipped_button.setToolTip(
            "The selected folder's excluded and unsupported files, and why each is skipped"
        )
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        buttons.addWidget(self.skipped_button)

        self.patterns_label = QLabel("Ignore patterns", self)
        self.patterns = QPlainTextEdit(self)
        self.patterns.setPlaceholderText(
            "One pattern per line, as in .gitignore, for example:\n*.log\nnode_modules/\n/drafts"
        )
        self.patterns.setMaximumHeight(120)
        self.save_patterns = QPushButton("Save patterns", self)
        save_row = QHBoxLayout()
        save_row.addStretch(1)
        save_row.addWidget(self.save_patterns)
        # No pattern can bring these back, so the person should see them beside the patterns.
        self.private_note = QLabel(self)
        self.private_note.setWordWrap(True)
        self.private_note.setToolTip("\n".join(rule.describe() for rule in PRIVATE_RULES))
        self._show_allowed(())

        self.error = QLabel(self)
        self.error.setWordWrap(True)
        self.error.setObjectName("errorText")
        self.error.hide()
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        close.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.empty_hint)
        layout.addLayout(buttons)
        layout.addSpacing(8)
        layout.addWidget(self.patterns_label)
        layout.addWidget(self.patterns)
        layout.addLayout(save_row)
        layout.addWidget(self.private_note)
        layout.addWidget(self.error)
        layout.addWidget(close)
        self._selection_changed()

    def _connect(self) -> None:
        self.add_button.clicked.connect(self._add)
        self.remove_button.clicked.connect(self._remove)
        self.skipped_button.clicked.connect(self.show_skipped)
        self.save_patterns.clicked.connect(self._save_patterns)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.patterns.textChanged.connect(self._patterns_edited)
        self._engine.folders_changed.connect(self.refresh)
        self._engine.index_changed.connect(self._soon.soon)
        # A pass that only failed files writes no passages, so index_changed stays quiet.
        self._engine.pass_finished.connect(self._soon.soon)

    # -- reading -----------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.refresh()

    def refresh(self) -> None:
        self._soon.cancel()
        if self.isVisible():  # a hidden dialog catches up when it is shown again
            self._engine.read(
                _read_folders, self._show_rows, self._show_error, latest="folders-dialog"
            )
            self._engine.read(_read_allowed, self._show_allowed, latest="folders-allowed")

    def _show_rows(self, rows: list[FolderRow]) -> None:
        if not isValid(self):  # closed and deleted while the read ran
            return
        selected = self.selected_path()
        self._rows = rows
        self.table.setRowCount(len(rows))
        for index, row in enumerate(rows):
            self._fill_row(index, row)
            if row.path == selected:
                self.table.selectRow(index)
        self.empty_hint.setVisible(not rows)
        self._selection_changed()

    def _show_allowed(self, allowed: Sequence[str]) -> None:
        if not isValid(self):
            return
        text = f"Never read, whatever the patterns say: {summary()}."
        if allowed:
            text += f"\nRead all the same, as you allowed: {', '.join(allowed)}."
        self.private_note.setText(text)

    def _fill_row(self, index: int, row: FolderRow) -> None:
        name = QTableWidgetItem(theme.icon("folder"), row.path)
        name.setToolTip(row.path)
        name.setData(PathRole, row.path)
        self.table.setItem(index, 0, name)
        for column, count in enumerate(row.counts, start=1):
            item = QTableWidgetItem(f"{count:,}")
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            item.setToolTip(COUNT_TIPS[column - 1])
            if column == 3 and count:
                item.setIcon(theme.icon("warning"))
            self.table.setItem(index, column, item)

    def selected_path(self) -> str | None:
        items = self.table.selectedItems()
        return str(items[0].data(PathRole)) if items else None

    def _selected_row(self) -> FolderRow | None:
        path = self.selected_path()
        return next((row for row in self._rows if row.path == path), None)

    # -- the ignore patterns of the selected folder ------------------------------------

    def _selection_changed(self) -> None:
        row = self._selected_row()
        self.remove_button.setEnabled(row is not None)
        self.skipped_button.setEnabled(row is not None and row.skipped > 0)
        self.patterns.setEnabled(row is not None)
        text = self.patterns.toPlainText()
        if row is None:
            self.patterns_label.setText("Ignore patterns (select a folder)")
            self._load_patterns(None, "")
        elif row.path != self._patterns_folder or text in (self._patterns_loaded, row.ignore):
            # Another folder, nothing typed yet, or the typing was saved: show what the
            # index holds.  Unsaved typing in the same folder survives a refresh.
            self.patterns_label.setText(f"Ignore patterns for {row.path}")
            self._load_patterns(row.path, row.ignore)
        self._patterns_edited()

    def _load_patterns(self, path: str | None, text: str) -> None:
        self._patterns_folder, self._patterns_loaded = path, text
        if self.patterns.toPlainText() != text:
            self.patterns.setPlainText(text)

    def _patterns_edited(self) -> None:
        row = self._selected_row()
        edited = row is not None and self.patterns.toPlainText() != row.ignore
        self.save_patterns.setEnabled(edited)

    # -- skipped files -----------------------------------------------------------------

    def show_skipped(self) -> None:
        """List the selected folder's skipped files, each with its reason."""
        row = self._selected_row()
        if row is None:
            return
        if self._skipped is None:
            self._skipped = SkippedDialog(self._engine, self)
        self._skipped.show_folder(row.path)

    # -- changes -----------------------------------------------------------------------

    def _add(self) -> None:
        path = self.choose_directory(self)
        if path:
            self._clear_error()
            self._engine.add_folder(path, on_error=self._show_error)

    def _remove(self) -> None:
        path = self.selected_path()
        if path is not None and self.confirm_remove(self, path):
            self._clear_error()
            self._engine.remove_folder(path, on_error=self._show_error)

    def _save_patterns(self) -> None:
        row = self._selected_row()
        if row is not None:
            self._clear_error()
            text = self.patterns.toPlainText()
            self._engine.set_ignore(row.path, text, on_error=self._show_error)

    def _show_error(self, error: BaseException) -> None:
        if isValid(self):
            self.error.setText(str(error) or type(error).__name__)
            self.error.show()

    def _clear_error(self) -> None:
        self.error.clear()
        self.error.hide()
