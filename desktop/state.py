"""Window size, splitter positions and similar layout, remembered between runs.

Kept apart from the settings (what the user chose) in a small JSON file under the state
folder; losing it only costs the layout, so a broken file is ignored.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from core.paths import write_atomically


def load_state(path: Path) -> dict[str, Any]:
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def save_state(path: Path, state: dict[str, Any]) -> None:
    write_atomically(path, json.dumps(state, indent=1))
