"""Handing files to the rest of the desktop: open with the default application, show
in the file manager.

Both start another program and return at once.  What goes wrong is told to ``failed``
as one line naming the file and the reason, so the window can say it: a file that is
gone, no program to open files at all, or one that found no application for this kind
of file.  The last is known only once the opener exits, so on Linux and macOS the
opener is watched from a thread of its own and ``failed`` may be called from there (a Qt
signal's ``emit`` suits).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices

Failed = Callable[[str], None]

# An opener still running after this long has handed the file over: the generic
# xdg-open runs the application itself, in the foreground, until it is closed.
SETTLE_S = 15.0
# How long the file manager may take to answer the request to show a file.
REVEAL_REPLY_MS = 3000
NO_APPLICATION = "no application is set up to open it"
NO_OPENER = "no program to open files is installed (xdg-open or gio)"
# "gio: file:///home/a/x.xyz: Failed to find…", "xdg-open: no method available…"
_PROGRAM_PREFIX = re.compile(r"^[\w.-]+: (?:file://\S*: )?")


def open_file(path: str, failed: Failed) -> None:
    """Open ``path`` with the application the system associates with it."""
    what = f"Could not open {os.path.basename(path)}"
    if not os.path.lexists(path):
        failed(f"{what}: it is no longer in {os.path.dirname(path)}")
    elif sys.platform == "darwin":
        _watch([["open", path]], what, failed)
    else:
        _open(path, what, failed)


def reveal_file(path: str, failed: Failed) -> None:
    """Show ``path`` selected in the file manager (its folder, where selecting is not
    possible)."""
    what = f"Could not show {os.path.basename(path)} in its folder"
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        failed(f"{what}: {folder} is no longer there")
    elif sys.platform == "win32":
        # Explorer's exit status means nothing: only a failure to start it is known.
        _start(["explorer", f"/select,{os.path.normpath(path)}"], what, failed)
    elif sys.platform == "darwin":
        _watch([["open", "-R", path]], what, failed)
    elif shutil.which("dbus-send"):
        # Most Linux file managers answer the freedesktop FileManager1 D-Bus interface;
        # where none does, the folder is opened instead.
        openers = _openers(folder)
        why = None if openers else f"no file manager answered, and {NO_OPENER}"
        _watch([_show_items(path), *openers], what, failed, why)
    else:
        _open(folder, what, failed)


def _open(target: str, what: str, failed: Failed) -> None:
    """Open a file or folder: with the desktop's opener where there is one, whose exit
    says whether an application took it, else through Qt."""
    openers = _openers(target) if sys.platform != "win32" else []
    if openers:
        _watch(openers, what, failed)
    elif not QDesktopServices.openUrl(QUrl.fromLocalFile(target)):
        failed(f"{what}: {NO_OPENER if sys.platform != 'win32' else NO_APPLICATION}")


def _openers(target: str) -> list[list[str]]:
    """xdg-open finds the desktop's own opener; gio where xdg-utils is missing."""
    if shutil.which("xdg-open"):
        return [["xdg-open", target]]
    if shutil.which("gio"):
        return [["gio", "open", target]]
    return []


def _show_items(path: str) -> list[str]:
    return [
        "dbus-send",
        "--session",
        "--print-reply",  # waits for the answer, so a missing file manager is an error
        f"--reply-timeout={REVEAL_REPLY_MS}",
        "--dest=org.freedesktop.FileManager1",
        "--type=method_call",
        "/org/freedesktop/FileManager1",
        "org.freedesktop.FileManager1.ShowItems",
        f"array:string:{QUrl.fromLocalFile(path).toString()}",
        "string:",
    ]


def _watch(
    commands: Sequence[list[str]], what: str, failed: Failed, why: str | None = None
) -> None:
    """Run ``commands`` one after the other, on a thread, until one hands the file over;
    if none does, tell ``failed`` ``why`` (by default, why the last one did not)."""

    def run() -> None:
        reason = NO_OPENER
        for command in commands:
            outcome = _run(command)
            if outcome is None:
                return
            reason = outcome
        failed(f"{what}: {why or reason}")

    threading.Thread(target=run, name="trove-open", daemon=True).start()


def _run(command: list[str]) -> str | None:
    """None once ``command`` has handed the file over (or is still at it after
    ``SETTLE_S``); otherwise why it did not."""
    try:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # the application outlives Trove
        )
    except OSError as error:
        return f"{command[0]} could not start: {error.strerror or error}"
    try:
        _, errors = process.communicate(timeout=SETTLE_S)
    except subprocess.TimeoutExpired:
        _drain(process)
        return None
    if process.returncode == 0:
        return None
    return _reason(errors.decode(errors="replace"), command[0], process.returncode)


def _drain(process: subprocess.Popen[bytes]) -> None:
    """Read what an application opened in the foreground writes, so it never blocks on
    a full pipe, and wait for it, so it leaves no zombie."""
    assert process.stderr is not None
    while process.stderr.read(1 << 16):
        pass
    process.wait()


def _reason(errors: str, program: str, status: int) -> str:
    """The opener's last line of complaint, without its own name and the file's URL."""
    lines = [line.strip() for line in errors.splitlines() if line.strip()]
    if not lines:
        return f"{program} stopped with status {status}"
    if program == "xdg-open" and status == 3:  # "no method available for opening"
        return NO_APPLICATION
    return _PROGRAM_PREFIX.sub("", lines[-1])


def _start(command: list[str], what: str, failed: Failed) -> None:
    try:
        subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
    except OSError as error:
        failed(f"{what}: {command[0]} could not start: {error.strerror or error}")
