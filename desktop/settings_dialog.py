"""The settings dialog, and applying what it returns.

The dialog shows a ``Settings`` and hands back a validated copy; it saves nothing.  A new
model is loaded before the dialog closes (off the GUI thread), so a model that cannot be
used is refused in the dialog, with its reason, rather than failing a build later.
``apply_from_dialog`` is the one place that turns a new ``Settings`` into engine calls,
so a model change is always confirmed and always goes through a re-embedding.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from core.errors import ConfigError
from core.settings import DEFAULT_MODEL, Settings

if TYPE_CHECKING:
    from desktop.engine import Engine

DEFAULT_MODEL_LABEL = "Default (all-MiniLM-L6-v2, bundled)"
OTHER_MODEL_LABEL = "Other model…"
DEVICE_LABELS = {
    "auto": "Automatic",
    "cpu": "CPU",
    "cuda": "CUDA (NVIDIA)",
    "mps": "MPS (Apple)",
}
MAX_RECONCILE_MINUTES = 24 * 60

Confirm = Callable[[Settings, Settings], bool]  # (old, new) -> go ahead with the new model
CHECKING_TEXT = "Checking the model… (loading it takes a few seconds)"


def model_label(model: str) -> str:
    return "all-MiniLM-L6-v2 (bundled)" if model == DEFAULT_MODEL else model


def choose_model_folder(parent: QWidget) -> str:
    """Ask for a folder holding a model; "" when the person cancels."""
    return QFileDialog.getExistingDirectory(parent, "Choose the folder of a model")


def ask_model_change(parent: QWidget | None, old: Settings, new: Settings) -> bool:
    """Whether to re-embed every file with the new model (nothing else changes models)."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Change the language model?")
    box.setText(
        f"Re-embed every file with {model_label(new.model)}? "
        "The current index keeps answering until the new one is ready."
    )
    box.setInformativeText(f"Trove now uses {model_label(old.model)}.")
    go = box.addButton("Re-embed", QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    return box.clickedButton() is go


def report_switch_failure(parent: QWidget, message: str) -> None:
    """Tell the person a model change failed, without holding up the window: the
    current index keeps answering meanwhile."""
    box = QMessageBox(
        QMessageBox.Icon.Warning,
        "The model was not changed",
        message,
        QMessageBox.StandardButton.Ok,
        parent,
    )
    box.setInformativeText(
        "Trove keeps searching with the model it had. Choose another model in Settings "
        "to try again."
    )
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()


def apply_from_dialog(
    engine: Engine, old: Settings, new: Settings, confirm: Confirm, model: Any = None
) -> str:
    """Save ``new`` and apply it; a new model only after ``confirm(old, new)``, by a
    re-embedding (with ``model``, the dialog's loaded one, where given).  Returns a
    one-line status for the person."""
    if engine.trove is None:
        return "Settings not saved: the index is not open yet"
    if new == old:
        return "Settings unchanged"
    if new.model == old.model:
        return _saved(engine.apply_settings(new))
    kept = new.with_changes(model=old.model)
    if not confirm(old, new):
        # Saving the new model without re-embedding would leave an index the next
        # start refuses (its vectors come from the old model).
        return _saved(engine.apply_settings(kept), f"the model stays {model_label(old.model)}")
    later = engine.apply_settings(kept)
    engine.switch_model(new, model)
    return _saved(later, f"building the index for {model_label(new.model)} in the background")


def _saved(later: list[str], *notes: str) -> str:
    parts = ["Settings saved", *notes]
    if later:
        names = " and ".join(name.replace("_", " ") for name in later)
        change = "change applies" if len(later) == 1 else "changes apply"
        parts.append(f"the {names} {change} at the next start")
    return "; ".join(parts)


class SettingsDialog(QDialog):
    def __init__(
        self, settings: Settings, parent: QWidget | None = None, engine: Engine | None = None
    ) -> None:
        """With ``engine``, a new model is loaded (``Engine.check_model``) before the
        dialog accepts it."""
        super().__init__(parent)
        self._settings = settings
        self._engine = engine
        # A seam for tests: the Browse button's folder picker.
        self.choose_directory: Callable[[QWidget], str] = choose_model_folder
        # The new model, loaded, once the check has passed; the model being checked.
        self.checked: Any = None
        self._checking: str | None = None
        self._build()
        self._show(settings)
        self._connect()
        self._validate()

    # -- layout ------------------------------------------------------------------------

    def _build(self) -> None:
        self.setWindowTitle("Trove settings")
        self.setMinimumWidth(640)
        self.model = QComboBox(self)
        self.model.addItems([DEFAULT_MODEL_LABEL, OTHER_MODEL_LABEL])
        self.model_path = QLineEdit(self)
        self.model_path.setPlaceholderText(
            "A model's folder, or the id of one already downloaded (BAAI/bge-small-en-v1.5)"
        )
        self.browse = QPushButton("Browse…", self)
        other = QHBoxLayout()
        other.addWidget(self.model_path, 1)
        other.addWidget(self.browse)

        self.pictures = QLineEdit(self)
        self.pictures.setPlaceholderText(
            "Off; or a CLIP model's folder, or the id of one already downloaded"
        )
        self.browse_pictures = QPushButton("Browse…", self)
        pictures = QHBoxLayout()
        pictures.addWidget(self.pictures, 1)
        pictures.addWidget(self.browse_pictures)

        self.device = QComboBox(self)
        for value, label in DEVICE_LABELS.items():
            self.device.addItem(label, value)
        self.cores = QSpinBox(self)
        self.cores.setSpecialValueText("all cores")
        self.minutes = QSpinBox(self)
        self.minutes.setRange(1, MAX_RECONCILE_MINUTES)
        self.keep_running = QCheckBox(
            "Keep watching in the system tray when the window is closed", self
        )

        form = QFormLayout()
        form.addRow("Language model:", self.model)
        form.addRow("", other)
        form.addRow("", _hint("A new model re-reads every file; searches keep working."))
        form.addRow("Photos by what they show:", pictures)
        form.addRow(
            "",
            _hint(
                "A CLIP model finds photos without text (\u201cdog on a beach\u201d). "
                "Applies at the next start, which reads the pictures again."
            ),
        )
        form.addRow("Run the model on:", _left(self.device))
        form.addRow("", _hint("A device change applies at the next start."))
        form.addRow("Indexing may use:", _left(self.cores))
        form.addRow("Look at every folder in full every", _left(self.minutes))
        form.addRow("", _hint("This finds changes the system did not report."))
        form.addRow("", self.keep_running)

        self.error = QLabel(self)
        self.error.setWordWrap(True)
        self.error.setObjectName("errorText")
        self.error.hide()
        self.checking = QLabel(CHECKING_TEXT, self)
        self.checking.hide()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.checking)
        layout.addStretch(1)
        layout.addSpacing(8)
        layout.addWidget(self.buttons)

    def _show(self, settings: Settings) -> None:
        default = settings.model == DEFAULT_MODEL
        self.model.setCurrentIndex(0 if default else 1)
        self.model_path.setText("" if default else settings.model)
        self.pictures.setText(settings.picture_model)
        self.device.setCurrentIndex(max(0, self.device.findData(settings.device)))
        # Settings copied from a bigger machine keep their number rather than being cut.
        self.cores.setRange(0, max(os.cpu_count() or 1, settings.index_cores))
        self.cores.setValue(settings.index_cores)
        self.minutes.setValue(round(settings.reconcile_minutes))
        # The spin box holds whole minutes: an untouched fractional value is kept as is.
        self._shown_minutes = self.minutes.value()
        self.keep_running.setChecked(settings.keep_running)
        self._plurals()

    def _connect(self) -> None:
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.browse.clicked.connect(self._browse)
        self.browse_pictures.clicked.connect(self._browse_pictures)
        self.pictures.textChanged.connect(self._validate)
        self.model.currentIndexChanged.connect(self._validate)
        self.model_path.textChanged.connect(self._validate)
        self.device.currentIndexChanged.connect(self._validate)
        self.cores.valueChanged.connect(self._changed)
        self.minutes.valueChanged.connect(self._changed)
        self.keep_running.toggled.connect(self._validate)
        if self._engine is not None:
            self._engine.model_checked.connect(self._model_checked)

    # -- behaviour ---------------------------------------------------------------------

    def result_settings(self) -> Settings:
        """The settings as shown; raises ConfigError if they cannot be used."""
        minutes = float(self.minutes.value())
        if self.minutes.value() == self._shown_minutes:
            minutes = self._settings.reconcile_minutes
        return self._settings.with_changes(
            model=self._model(),
            picture_model=self._picture_model(),
            device=str(self.device.currentData()),
            index_cores=self.cores.value(),
            reconcile_minutes=minutes,
            keep_running=self.keep_running.isChecked(),
        )

    def _model(self) -> str:
        if self.model.currentIndex() == 0:
            return DEFAULT_MODEL
        text = self.model_path.text().strip()
        if not text:
            raise ConfigError("Enter a model: the folder that holds it, or its id")
        folder = os.path.expanduser(text)
        # An id ("org/name") is not checked here: only the model loader can tell.
        if (os.path.isabs(folder) or text.startswith((".", "~"))) and not os.path.isdir(folder):
            raise ConfigError(f"There is no folder at {text}")
        return text

    def _picture_model(self) -> str:
        text = self.pictures.text().strip()
        folder = os.path.expanduser(text)
        if (os.path.isabs(folder) or text.startswith((".", "~"))) and not os.path.isdir(folder):
            raise ConfigError(f"There is no folder at {text}")
        return text

    def _browse_pictures(self) -> None:
        folder = self.choose_directory(self)
        if folder:
            self.pictures.setText(folder)

    def _browse(self) -> None:
        folder = self.choose_directory(self)
        if folder:
            self.model.setCurrentIndex(1)
            self.model_path.setText(folder)

    def _changed(self) -> None:
        self._plurals()
        self._validate()

    def _plurals(self) -> None:
        self.cores.setSuffix(" core" if self.cores.value() == 1 else " cores")
        self.minutes.setSuffix(" minute" if self.minutes.value() == 1 else " minutes")

    def _validate(self) -> None:
        # Browse stays enabled: choosing a folder is a way of choosing "Other model".
        self.model_path.setEnabled(self.model.currentIndex() == 1)
        self._stop_checking()  # a check of what was shown before no longer answers
        try:
            self.result_settings()
        except ConfigError as error:
            self.error.setText(str(error))
            self.error.show()
            ok = False
        else:
            self.error.hide()
            ok = True
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(ok)

    def _ok(self) -> QPushButton:
        return self.buttons.button(QDialogButtonBox.StandardButton.Ok)

    def accept(self) -> None:
        try:
            settings = self.result_settings()
        except ConfigError:
            return  # OK is disabled then; Enter in a field must not get past it either
        if self._checking is not None:
            return  # OK is disabled while the model loads
        if settings.model == self._settings.model or self._engine is None:
            super().accept()
        else:
            self._check(settings, self._engine)

    def reject(self) -> None:
        self._stop_checking()
        super().reject()

    # -- checking a new model ----------------------------------------------------------

    def _check(self, settings: Settings, engine: Engine) -> None:
        self._checking = settings.model
        self.checked = None
        self.error.hide()
        self.checking.show()
        self._ok().setEnabled(False)
        engine.check_model(settings)

    def _model_checked(self, model: str, outcome: Any) -> None:
        if model != self._checking:
            return  # closed, or the model was changed while this one loaded
        self._stop_checking()
        if isinstance(outcome, BaseException):
            text = str(outcome) or type(outcome).__name__
            self.error.setText(text[:1].upper() + text[1:])
            self.error.show()
        else:
            self.checked = outcome
            super().accept()

    def _stop_checking(self) -> None:
        if self._checking is not None:
            self._checking = None
            self.checking.hide()
            self._ok().setEnabled(True)


def _left(field: QWidget) -> QHBoxLayout:
    """A short field at its own width: a spin box as wide as the dialog reads oddly."""
    field.setMinimumWidth(180)
    row = QHBoxLayout()
    row.addWidget(field)
    row.addStretch(1)
    return row


def _hint(text: str) -> QLabel:
    label = QLabel(text)
    label.setEnabled(False)  # the disabled colour reads as a quiet hint
    label.setWordWrap(True)
    return label
