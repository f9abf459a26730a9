"""User settings: a typed, versioned record saved atomically as JSON."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from core.errors import ConfigError
from core.paths import write_atomically

SETTINGS_VERSION = 1
DEFAULT_MODEL = "default"
DEVICES = ("auto", "cpu", "cuda", "mps")
BACKENDS = ("auto", "torch", "openvino")


@dataclass(frozen=True, slots=True)
class Settings:
    version: int = SETTINGS_VERSION
    # "default" is the bundled all-MiniLM-L6-v2; otherwise a folder path or a model id.
    model: str = DEFAULT_MODEL
    device: str = "auto"
    # What runs the model: "openvino" (CPU only, without torch once the model has been
    # converted into the cache folder, on first use), "torch", or "auto": OpenVINO on a
    # computer without a GPU for torch, falling back to torch if the model won't convert.
    backend: str = "auto"
    # Documents go to the model in groups of this many passages.
    embed_batch: int = 32
    # Passage length in model tokens (capped by the model's own limit) and overlap.
    chunk_tokens: int = 200
    chunk_overlap: int = 40
    # Extraction runs in worker processes; 0 means "choose from the number of cores".
    extract_workers: int = 0
    extract_timeout_s: float = 60.0
    extract_memory_mb: int = 2048
    max_file_mb: int = 100
    # Read the text in pictures and in scanned PDF pages (core.ocr), at most this many
    # pages of one file (each costs about a second).
    ocr: bool = True
    ocr_max_pages: int = 50
    # Search pictures by what they show: a sentence-transformers CLIP model (a folder,
    # or the id of one already downloaded); "" leaves it off (core.picture_model).
    picture_model: str = ""
    # Passages kept of one file (about 750,000 words: any book); the rest of a larger
    # file is left out and the file is listed as partly indexed.
    max_passages_per_file: int = 5000
    # Passages embedded and committed together; a killed run loses at most one batch.
    commit_every: int = 256
    # The watcher looks at every folder in full this often, for changes the OS missed.
    reconcile_minutes: float = 15.0
    # How many cores indexing may use (the model's threads and the readers); 0: all.
    index_cores: int = 0
    # Desktop app: closing the window keeps Trove watching, from the system tray.
    keep_running: bool = False
    # Single files a private rule matched that the user wants read all the same (absolute
    # paths; `trove allow FILE`).  Never folders: see core.privacy.
    allowed_private_files: tuple[str, ...] = ()

    def validated(self) -> Settings:
        if self.device not in DEVICES:
            raise ConfigError(f"device must be one of {', '.join(DEVICES)}, not {self.device!r}")
        if self.backend not in BACKENDS:
            raise ConfigError(f"backend must be one of {', '.join(BACKENDS)}, not {self.backend!r}")
        positive = (
            "embed_batch",
            "chunk_tokens",
            "extract_timeout_s",
            "max_file_mb",
            "max_passages_per_file",
            "commit_every",
            "reconcile_minutes",
        )
        for name in positive:
            if getattr(self, name) <= 0:
                raise ConfigError(f"setting {name} must be positive")
        if self.index_cores < 0:
            raise ConfigError("setting index_cores must be 0 (all) or a number of cores")
        if not 0 <= self.chunk_overlap < self.chunk_tokens // 2:
            raise ConfigError("chunk_overlap must be between 0 and half of chunk_tokens")
        if not all(isinstance(p, str) and os.path.isabs(p) for p in self.allowed_private_files):
            raise ConfigError("allowed_private_files must list absolute paths of files")
        return self

    @property
    def max_chars_per_file(self) -> int:
        """How much text a reader hands over for one file: more than the passage limit
        can use (a token is rarely over 12 characters), so only what would be left out
        anyway is cut, and a huge file never crosses into the indexer whole."""
        return self.max_passages_per_file * self.chunk_tokens * 12

    def with_changes(self, **changes: Any) -> Settings:
        return replace(self, **changes).validated()


def load_settings(path: Path) -> Settings:
    """Read settings, falling back to defaults for anything missing."""
    if not path.exists():
        return Settings()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read settings file {path}: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"settings file {path} does not hold a JSON object")
    if int(raw.get("version", SETTINGS_VERSION)) > SETTINGS_VERSION:
        raise ConfigError(f"settings file {path} was written by a newer Trove")
    known = {f.name: f.type for f in fields(Settings)}
    values = {k: v for k, v in raw.items() if k in known and k != "version"}
    if isinstance(values.get("allowed_private_files"), list):  # JSON has no tuples
        values["allowed_private_files"] = tuple(values["allowed_private_files"])
    try:
        return Settings(**values).validated()
    except TypeError as exc:
        raise ConfigError(f"settings file {path}: {exc}") from exc


def save_settings(settings: Settings, path: Path) -> None:
    """Write settings so that a crash leaves either the old file or the new one."""
    write_atomically(path, json.dumps(asdict(settings), indent=2, sort_keys=True) + "\n")
