"""Handing files to the rest of the desktop: open with the default application, show
in the file manager.  Both start another program and return at once."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices


def open_file(path: str) -> bool:
    """Open ``path`` with the application the system associates with it."""
    return QDesktopServices.openUrl(QUrl.fromLocalFile(path))


def reveal_file(path: str) -> bool:
    """Show ``path`` selected in the file manager (its folder, where selecting is not
    possible)."""
    if sys.platform == "win32":
        return _start(["explorer", f"/select,{os.path.normpath(path)}"])
    if sys.platform == "darwin":
        return _start(["open", "-R", path])
    # Most Linux file managers answer the freedesktop FileManager1 D-Bus interface.
    if shutil.which("dbus-send") and _start(
        [
            "dbus-send",
            "--session",
            "--dest=org.freedesktop.FileManager1",
            "--type=method_call",
            "/org/freedesktop/FileManager1",
            "org.freedesktop.FileManager1.ShowItems",
            f"array:string:{QUrl.fromLocalFile(path).toString()}",
            "string:",
        ]
    ):
        return True
    return QDesktopServices.openUrl(QUrl.fromLocalFile(os.path.dirname(path)))


def _start(command: list[str]) -> bool:
    try:
        subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
    except OSError:
        return False
    return True
