"""Window size, splitter positions and similar layout, remembered between runs.

Kept apart from the settings (what the user chose) in a small JSON file under the state
folder; losing it only costs the layout, so a broken file is ignored.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray
from PySide6.QtWidgets import QSplitter, QWidget

from core.paths import write_atomically


def load_state(path: Path) -> dict[str, Any]:
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def save_state(path: Path, state: dict[str, Any]) -> None:
    write_atomically(path, json.dumps(state, indent=1))


def restore_layout(path: Path | None, window: QWidget, splitters: dict[str, QSplitter]) -> bool:
    """Put ``window``'s geometry and ``splitters`` back as saved; False if no geometry
    was saved (the caller picks a size)."""
    state = load_state(path) if path else {}
    geometry = state.get("geometry")
    restored = isinstance(geometry, str) and window.restoreGeometry(
        QByteArray.fromBase64(geometry.encode())
    )
    for key, splitter in splitters.items():
        saved = state.get(key)
        if isinstance(saved, str):
            splitter.restoreState(QByteArray.fromBase64(saved.encode()))
    return restored


def save_layout(path: Path | None, window: QWidget, splitters: dict[str, QSplitter]) -> None:
    if not path:
        return
    state = {"geometry": _b64(window.saveGeometry())}
    state.update({key: _b64(splitter.saveState()) for key, splitter in splitters.items()})
    with contextlib.suppress(OSError):  # only the layout is lost
        save_state(path, state)


def _b64(data: QByteArray) -> str:
    return bytes(data.toBase64().data()).decode()
