"""Shared fixtures: an isolated TROVE_HOME, folders of real files, the real model once."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.app import Trove
from core.embedding import SentenceTransformerEmbedder
from core.extract import Registry
from core.paths import Locations
from core.settings import Settings
from tests.fakes import FakeEmbedder

# Widgets are tested without a screen (CI has none); set before Qt starts.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
# The sample folder shipped with Trove doubles as the everyday-documents test fixture.
SAMPLE = REPO / "resources" / "sample"


@pytest.fixture(autouse=True)
def trove_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own TROVE_HOME, so nothing touches the user's real index."""
    home = tmp_path / "trove-home"
    monkeypatch.setenv("TROVE_HOME", str(home))
    return home


@pytest.fixture(scope="module")
def registry() -> Registry:
    return Registry.default()


@pytest.fixture(scope="session")
def real_embedder() -> SentenceTransformerEmbedder:
    """The default model, loaded once for the whole run."""
    embedder = SentenceTransformerEmbedder()
    _ = embedder.model
    return embedder


def open_trove(embedder: object, **settings: object) -> Trove:
    base = Settings(extract_workers=1).with_changes(**settings)
    return Trove.open(Locations.from_environment(), settings=base, embedder=embedder)  # type: ignore[arg-type]


@pytest.fixture
def fake_trove() -> Iterator[Trove]:
    trove = open_trove(FakeEmbedder())
    yield trove
    trove.close()


def write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def run_index(trove: Trove, **options: object):  # type: ignore[no-untyped-def]
    from core.events import Finished

    events = list(trove.index(**options))  # type: ignore[arg-type]
    finished = events[-1]
    assert isinstance(finished, Finished)
    return finished, events


def indexed_sample(embedder: object, parent: Path) -> Path:
    """A copy of the sample folder in ``parent``, indexed with ``embedder`` in this test's
    TROVE_HOME and closed again; returns the folder."""
    folder = parent / "sample"
    shutil.copytree(SAMPLE, folder)
    trove = open_trove(embedder)
    trove.add_folder(folder)
    run_index(trove)
    trove.close()
    return folder


def settled_index(docs: Path) -> Path:
    """Index ``docs`` with the stand-in model and close it with its log folded in: the
    index file alone, ready to be damaged on purpose.  Returns the file."""
    trove = open_trove(FakeEmbedder())
    trove.add_folder(docs)
    run_index(trove)
    trove.close()  # the last connection to close folds the log into the file
    database = Locations.from_environment().database
    for suffix in ("-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    return database


def dead_pid() -> int:
    """The id of a process that has exited."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def garble_header(database: Path) -> None:
    with open(database, "r+b") as handle:
        handle.write(b"this is not an SQLite header at all!")
