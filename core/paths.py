"""Where Trove keeps its files.

By default the per-user folders of the operating system (through platformdirs).  When the
environment variable ``TROVE_HOME`` is set, everything (index, settings, cache, logs) lives
under that one folder instead; tests and portable installs use it.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "Trove"
HOME_VARIABLE = "TROVE_HOME"


@dataclass(frozen=True, slots=True)
class Locations:
    data: Path
    config: Path
    cache: Path
    # Things remembered between runs that are neither settings nor data (window layout).
    state: Path | None = None

    @classmethod
    def from_environment(cls) -> Locations:
        home = os.environ.get(HOME_VARIABLE)
        if home:
            return cls.under(Path(home))
        return cls(
            data=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
            config=Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
            cache=Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)),
            state=Path(platformdirs.user_state_dir(APP_NAME, appauthor=False)),
        )

    @classmethod
    def under(cls, root: Path) -> Locations:
        """Everything in one folder, as ``TROVE_HOME`` asks."""
        root = root.expanduser().resolve()
        return cls(data=root, config=root, cache=root / "cache", state=root / "state")

    @property
    def database(self) -> Path:
        return self.data / "index.sqlite3"

    @property
    def settings(self) -> Path:
        return self.config / "settings.json"

    @property
    def window_state(self) -> Path:
        return (self.state or self.data) / "window.json"

    def ensure(self) -> None:
        for folder in (self.data, self.config, self.cache):
            folder.mkdir(parents=True, exist_ok=True)


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a crash leaves either the old file or the new
    one, never half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
