"""The main window: search box and filters, results, preview, similar files.

A view with its behaviour kept thin: every question to the index goes through the
``Engine`` and comes back in a callback on the GUI thread.  Nothing here waits.
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

from PySide6.QtCore import (
    QEvent,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPoint,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QKeyEvent,
    QKeySequence,
    QShortcut,
)
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QLabel,
    QListView,
    QMainWindow,
    QMenu,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from desktop import answers, state, system, theme
from desktop.activity import IndexActivity
from desktop.damage import confirm_set_aside
from desktop.emptystate import EmptyState
from desktop.engine import Engine, Query
from desktop.results import ResultDelegate, ResultsModel
from desktop.searchbar import SearchBar
from desktop.sidepanel import SidePanel
from desktop.widgets import Throttle

# After the index changes, results are searched again at most this often.
REFRESH_MS = 1500
# Below this the results, the preview and the status bar crush into each other.
MIN_SIZE = (640, 420)


class MainWindow(QMainWindow):
    quit_requested = Signal()
    results_shown = Signal(int)  # a search's results are on screen (how many)
    # Opening or showing a file failed (from the opener's thread): what and why.
    open_failed = Signal(str)

    def __init__(self, engine: Engine, state_path: Any = None) -> None:
        super().__init__()
        self.engine = engine
        self.state_path = state_path
        self.keep_running = False  # closing hides the window (the tray keeps Trove)
        self.setWindowTitle("Trove")
        self.setWindowIcon(theme.icon("trove"))
        self.setMinimumSize(*MIN_SIZE)
        self.setAcceptDrops(True)
        self.folders: list[str] | None = None  # None: not known yet
        self.file_count = 0
        self._query = Query("")
        self._searchable = False  # the index is open: searches by words answer
        self.answer: Any = None  # the Answer on screen
        self._dialogs: dict[str, QWidget] = {}  # made on first use, then shown again
        self.tray: QObject | None = None
        self._build()
        self._connect()
        self._restore()

    # -- layout ----------------------------------------------------------------------

    def _build(self) -> None:
        self.search = SearchBar()
        self.results = ResultsModel()
        self.list = QListView()
        self.list.setObjectName("resultList")
        self.list.setModel(self.results)
        self.list.setItemDelegate(ResultDelegate(pictures=self.engine.pictures))
        self.engine.pictures.ready.connect(lambda *_: self.list.viewport().update())
        self.list.setUniformItemSizes(True)
        self.list.setVerticalScrollMode(QListView.ScrollMode.ScrollPerPixel)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.message = QLabel()
        self.message.setObjectName("resultMessage")
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.RichText)
        self.message.linkActivated.connect(self._message_link)
        self.summary = QLabel()
        self.summary.setObjectName("resultSummary")
        self.summary.setWordWrap(True)
        listed = QWidget()
        column = QVBoxLayout(listed)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addWidget(self.summary)
        column.addWidget(self.list, 1)
        self.result_stack = QStackedWidget()
        self.result_stack.addWidget(self.message)
        self.result_stack.addWidget(listed)

        self.side = SidePanel(self.engine)
        # The side panel's parts, by the names the rest of the window (and tests) use.
        self.preview = self.side.preview
        self.similar, self.similar_list = self.side.similar, self.side.similar_list
        self.similar_title = self.side.similar_title
        self.split = QSplitter(Qt.Orientation.Horizontal)
        self.split.addWidget(self.result_stack)
        self.split.addWidget(self.side)
        self.split.setStretchFactor(0, 1)
        self.split.setStretchFactor(1, 1)
        self.split.setChildrenCollapsible(False)

        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(10, 10, 10, 6)
        layout.addWidget(self.search)
        layout.addWidget(self.split, 1)
        self.empty = EmptyState()
        self.pages = QStackedWidget()
        self.pages.addWidget(page)
        self.pages.addWidget(self.empty)
        self.setCentralWidget(self.pages)

        self.status_text = QLabel("Starting…")
        self.status_text.setObjectName("statusLabel")
        self.activity = IndexActivity()
        self.statusBar().addWidget(self.status_text, 1)
        self.statusBar().addPermanentWidget(self.activity)
        self._actions()
        self._refresh = Throttle(REFRESH_MS, self._refresh_now, self)
        self._show_message()
        for view in (self.list, self.similar_list):
            view.installEventFilter(self)

    def _actions(self) -> None:
        menu = self.menuBar().addMenu("&Trove")
        self._action(menu, "Add folder…", "folder-add", self.choose_folder)
        self._action(menu, "Folders…", "folder", self.show_folders, "Ctrl+Shift+F")
        self._action(menu, "Find files similar to a file…", "similar", self.choose_similar)
        self._action(menu, "Files that could not be read…", "warning", self.show_failures)
        menu.addSeparator()
        settings_key = _key(QKeySequence.StandardKey.Preferences, "Ctrl+,")
        self._action(menu, "Settings…", "settings", self.show_settings, settings_key)
        menu.addSeparator()
        quit_key = _key(QKeySequence.StandardKey.Quit, "Ctrl+Q")
        self._action(menu, "Quit", "", self.quit_requested.emit, quit_key)
        selected = self.menuBar().addMenu("&File")
        self.open_action = self._action(selected, "Open", "open", self.open_selected)
        self.reveal_action = self._action(
            selected, "Show in folder", "reveal", self.reveal_selected, "Ctrl+Return"
        )
        self.similar_action = self._action(
            selected, "Find similar files", "similar", self.similar_to_selected, "Ctrl+Shift+S"
        )
        self._action(selected, "Copy path", "", self.copy_path, "Ctrl+Shift+C")
        help_menu = self.menuBar().addMenu("&Help")
        self._action(help_menu, "Keyboard shortcuts", "", self.show_shortcuts, "F1")
        self._action(help_menu, "About Trove", "", self.show_about)
        # What each shortcut does (whatsThis) is what the Keyboard shortcuts list shows.
        for sequence in ("Ctrl+F", "Ctrl+L"):
            QShortcut(QKeySequence(sequence), self, self.focus_search).setWhatsThis("Search")
        escape = QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.clear_search)
        escape.setWhatsThis("Clear the search")

    def _action(self, menu: QMenu, text: str, icon: str, slot: Any, keys: Any = None) -> QAction:
        action = QAction(text, self)
        if icon:
            action.setIcon(theme.icon(icon))
        if keys is not None:
            action.setShortcut(QKeySequence(keys))
        action.triggered.connect(lambda _=False: slot())
        menu.addAction(action)
        return action

    def _connect(self) -> None:
        engine = self.engine
        engine.status.connect(self.status_text.setText)
        engine.notice.connect(self._notice)
        engine.searchable.connect(self._index_opened)
        engine.ready.connect(self._ready)
        engine.failed.connect(self._failed)
        engine.damaged.connect(self._damaged)
        engine.switch_failed.connect(self._switch_failed)
        self.open_failed.connect(self._notice)
        engine.folders_changed.connect(self._load_folders)
        engine.index_changed.connect(self._index_changed)
        engine.progress.connect(self.activity.progressed)
        engine.pass_finished.connect(self._pass_finished)
        engine.resting.connect(self._resting)
        engine.paused_changed.connect(self.activity.set_paused)
        engine.writable.connect(self.activity.pause.setEnabled)
        self.activity.pause_toggled.connect(engine.set_paused)
        self.activity.failures_clicked.connect(self.show_failures)
        self.search.query_changed.connect(self.run_query)
        self.search.down.connect(self._into_results)
        self.list.selectionModel().currentChanged.connect(self._selected)
        self.list.doubleClicked.connect(lambda _: self.open_selected())
        self.list.customContextMenuRequested.connect(self._context_menu)
        self.side.open_requested.connect(self.open_file)
        self.empty.add_folder.connect(self.add_folder)
        self.empty.choose_folder.connect(self.choose_folder)

    # -- searching -------------------------------------------------------------------

    def run_query(self, query: Query) -> None:
        if not answers.same_search(query, self._query):
            self._clear_panels()
        self._query = query
        if not query.text:
            self.results.set_results([])
            self._show_message()
            self.results_shown.emit(0)
            return
        if not self._searchable:  # _index_opened runs it
            self._show_message("Searching… (the index is opening)")
            return
        self.engine.search(query, self._show_answer, self._search_failed)

    def _show_answer(self, answer: Any) -> None:
        self.answer = answer
        results = answer.results
        kept = self._replace_results(results)
        if not kept:
            self._clear_panels()
        if not results:
            self._show_message(answers.nothing_found(answer, self.search.filter_names()), rich=True)
        else:
            self.summary.setText(answers.summary(answer))
            self.result_stack.setCurrentIndex(1)
        self.results_shown.emit(len(results))

    def _replace_results(self, results: list[Any]) -> bool:
        """Show ``results`` keeping the selected file selected, at the same height in
        the list, so a re-ranking does not move it from under the cursor.  False when
        the selected file is no longer among them."""
        current = self.selected()
        if current is None:
            self.results.set_results(results)
            return False
        old = self.list.visualRect(self.list.currentIndex()).top()
        self.results.set_results(results)
        row = self.results.row_of(current.path)
        if row < 0:
            return False
        index = self.results.index(row)
        self.list.setCurrentIndex(index)
        bar = self.list.verticalScrollBar()
        bar.setValue(bar.value() + self.list.visualRect(index).top() - old)
        return True

    def _search_failed(self, error: BaseException) -> None:
        self._show_message(f"The search failed: {error}")

    def _show_message(self, text: str | None = None, *, rich: bool = False) -> None:
        if text is None:
            if self.folders == []:
                text = "Add a folder to search it."
            elif self.file_count:
                count = f"{self.file_count:,}"
                text = f"Type what you are looking for: Trove ranks {count} files by meaning."
            else:
                text = "Type what you are looking for."
        self.message.setText(text if rich else answers.plain(text))
        self.result_stack.setCurrentWidget(self.message)

    def _message_link(self, link: str) -> None:
        if link == answers.CLEAR_FILTERS:
            self.search.clear_filters()
        elif link == answers.SHOW_ALL:
            self.run_query(replace(self._query, everything=True))

    def _clear_panels(self) -> None:
        self.side.clear()

    def _index_changed(self) -> None:
        self._refresh.soon()

    def _refresh_now(self) -> None:
        self._count_files()
        if self._query.text and self._searchable:
            self.engine.search(self._query, self._show_answer, self._search_failed)

    # -- the selected result ---------------------------------------------------------

    def selected(self) -> Any | None:
        return self.results.result(self.list.currentIndex().row())

    def _selected(self, current: QModelIndex, _previous: QModelIndex) -> None:
        result = self.results.result(current.row())
        if result is None:
            self.side.clear_preview()
        else:
            self.side.show_result(result, self._query.text)

    def find_similar(self, path: str) -> None:
        """Files similar to any file, dropped on the window or chosen in a dialog."""
        self.side.load_similar(path, any_file=True)

    def open_selected(self) -> None:
        result = self.selected()
        if result is not None:
            system.open_file(result.path, self.open_failed.emit)

    def reveal_selected(self) -> None:
        result = self.selected()
        if result is not None:
            system.reveal_file(result.path, self.open_failed.emit)

    def similar_to_selected(self) -> None:
        result = self.selected()
        if result is not None:
            self.similar_list.setFocus()
            self.side.load_similar(result.path)

    def copy_path(self) -> None:
        result = self.selected()
        if result is not None:
            QGuiApplication.clipboard().setText(result.path)

    def _open_similar(self) -> None:
        result = self.side.similar_result()
        if result is not None:
            self.open_file(result.path)

    def open_file(self, path: str) -> None:
        system.open_file(path, self.open_failed.emit)

    def _context_menu(self, point: QPoint) -> None:
        if self.selected() is None:
            return
        menu = QMenu(self)
        for action in (self.open_action, self.reveal_action, self.similar_action):
            menu.addAction(action)
        menu.exec(self.list.viewport().mapToGlobal(point))
        menu.deleteLater()

    # -- keyboard --------------------------------------------------------------------

    def focus_search(self) -> None:
        self.search.box.setFocus()
        self.search.box.selectAll()

    def clear_search(self) -> None:
        self.search.clear()
        self._clear_panels()
        self.search.box.setFocus()

    def _into_results(self) -> None:
        if self.results.rowCount():
            self.list.setFocus()
            current = self.list.currentIndex()
            # A new list can come with its first row current but not selected: select it,
            # so what is highlighted is what the preview shows.
            index = current if current.isValid() else self.results.index(0)
            self.list.selectionModel().setCurrentIndex(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect
            )

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if isinstance(event, QKeyEvent) and watched in (self.list, self.similar_list):
            if event.type() != QEvent.Type.KeyPress:
                return False
            key, mods = event.key(), event.modifiers()
            plain = (
                mods == Qt.KeyboardModifier.NoModifier or mods == Qt.KeyboardModifier.KeypadModifier
            )
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and plain:
                if watched is self.list:
                    self.open_selected()
                else:
                    self._open_similar()
                return True
            if (
                key == Qt.Key.Key_Up
                and watched is self.list
                and self.list.currentIndex().row() <= 0
            ):
                self.focus_search()
                return True
        return super().eventFilter(watched, event)

    # -- folders, failures, settings --------------------------------------------------

    def add_folder(self, path: str) -> None:
        self.status_text.setText(f"Adding {path}…")
        self.engine.add_folder(path, on_error=lambda e: self._notice(f"Could not add {path}: {e}"))

    def choose_folder(self) -> None:
        start = self.empty.suggestion or os.path.expanduser("~")
        path = QFileDialog.getExistingDirectory(self, "Add a folder to Trove", start)
        if path:
            self.add_folder(path)

    def choose_similar(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Find files similar to…", os.path.expanduser("~")
        )
        if path:
            self.find_similar(path)

    def show_folders(self) -> None:
        from desktop.folders import FoldersDialog

        self._dialog("folders", lambda: FoldersDialog(self.engine, self))

    def show_failures(self) -> None:
        from desktop.failures import FailuresDialog

        self._dialog("failures", lambda: FailuresDialog(self.engine, self))

    def show_settings(self) -> None:
        from desktop.settings_dialog import SettingsDialog, apply_from_dialog, ask_model_change

        trove = self.engine.trove
        if trove is None:
            return
        old = trove.settings
        dialog = SettingsDialog(old, self, self.engine)
        if dialog.exec():
            new = dialog.result_settings()
            self.keep_running = new.keep_running
            message = apply_from_dialog(
                self.engine, old, new, lambda a, b: ask_model_change(self, a, b), dialog.checked
            )
            self.status_text.setText(message)
        dialog.deleteLater()

    def show_shortcuts(self) -> None:
        from desktop.help import ShortcutsDialog

        self._dialog("shortcuts", lambda: ShortcutsDialog(self))

    def show_about(self) -> None:
        from desktop.help import about_box

        self._dialog("about", lambda: about_box(self))

    def _dialog(self, name: str, make: Any) -> None:
        if name not in self._dialogs:
            self._dialogs[name] = make()
        dialog = self._dialogs[name]
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()

    def _load_folders(self) -> None:
        self.engine.read(lambda t: [f.path for f in t.folders()], self._folders_loaded)

    def _folders_loaded(self, paths: list[str]) -> None:
        self.folders = paths
        self.search.set_folders(paths)
        self.pages.setCurrentIndex(1 if not paths else 0)
        if paths:
            self.focus_search()
        self._count_files()

    def _count_files(self) -> None:
        def counted(states: dict[str, int]) -> None:
            self.file_count = states.get("indexed", 0)
            folders = len(self.folders or [])
            if folders and self.engine.is_ready:
                plural = "s" if folders != 1 else ""
                # While indexing, the activity counts files: one count, not two.
                count = "" if self.activity.busy else f" · {self.file_count:,} files indexed"
                self.status_text.setText(f"Watching {folders} folder{plural}{count}")
            self.activity.set_failed(states.get("failed", 0))
            if not self._query.text:
                self._show_message()

        self.engine.read(lambda t: t.store.state_counts(), counted, latest="counts")

    def _pass_finished(self, batch: Any) -> None:
        self._count_files()

    def _resting(self, paused: bool) -> None:
        self.activity.rested(paused)
        self._count_files()

    def _index_opened(self) -> None:
        """The index is open: a query typed meanwhile is answered by its words now."""
        self._searchable = True
        if self._query.text:
            self.run_query(self._query)

    def _ready(self) -> None:
        trove = self.engine.trove
        self.keep_running = bool(trove and trove.settings.keep_running)
        answer = self.answer
        if self._query.text and (answer is None or not answer.by_meaning):
            self.run_query(self._query)  # ranked by meaning now

    def _failed(self, message: str) -> None:
        self._show_message(f"Trove could not open its index or its model:\n{message}")

    def _damaged(self, message: str) -> None:
        self._show_message(f"Trove's index is damaged:\n{message}")
        if confirm_set_aside(self):
            self._show_message("Starting a new index for your folders…")
            self.engine.repair()
        else:
            self._show_message(
                f"Trove's index is damaged and was left as it is:\n{message}\n"
                "Open Trove again to be offered the repair."
            )

    def _notice(self, message: str) -> None:
        self.statusBar().showMessage(message, 10_000)

    def _switch_failed(self, message: str) -> None:
        from desktop.settings_dialog import report_switch_failure

        report_switch_failure(self, message)

    # -- dropping a file: find similar ------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile() and os.path.isfile(urls[0].toLocalFile()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile():
            event.acceptProposedAction()
            self.find_similar(urls[0].toLocalFile())

    # -- remembering the layout ------------------------------------------------------

    def _restore(self) -> None:
        if not state.restore_layout(self.state_path, self, self._splitters()):
            self.resize(1100, 720)

    def save_layout(self) -> None:
        state.save_layout(self.state_path, self, self._splitters())

    def _splitters(self) -> dict[str, QSplitter]:
        return {"split": self.split, "side": self.side}

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_layout()
        if self.keep_running and self.isVisible() and _tray_available():
            event.ignore()
            self.hide()
            return
        event.accept()
        self.quit_requested.emit()

    def bring_up(self) -> None:
        """Show, raise and put the cursor in the search box (tray, second launch)."""
        self.setWindowState(self.windowState() & ~Qt.WindowState.WindowMinimized)
        self.show()
        self.raise_()
        self.activateWindow()
        self.focus_search()


def _key(standard: QKeySequence.StandardKey, fallback: str) -> QKeySequence:
    """The platform's key for ``standard``, or ``fallback`` where it has none (Linux has
    no Preferences key, and the offscreen platform not even a Quit key)."""
    keys = QKeySequence(standard)
    return keys if not keys.isEmpty() else QKeySequence(fallback)


def _tray_available() -> bool:
    from PySide6.QtWidgets import QSystemTrayIcon

    return QApplication.instance() is not None and QSystemTrayIcon.isSystemTrayAvailable()
