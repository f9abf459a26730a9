"""Asking what to do about a damaged index."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget


def confirm_set_aside(parent: QWidget) -> bool:
    """Whether the person wants the damaged index moved aside and a new one started."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("Trove's index is damaged")
    box.setText("Trove's index file is damaged, so it cannot be searched.")
    box.setInformativeText(
        "Trove can move it aside and build a new index of your folders. The damaged file "
        "is kept next to the new one (nothing is deleted); your documents are not touched."
    )
    rebuild = box.addButton("Move aside and rebuild", QMessageBox.ButtonRole.AcceptRole)
    box.addButton("Not now", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(rebuild)
    box.exec()
    return box.clickedButton() is rebuild
