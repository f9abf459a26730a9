"""`trove index --rebuild` builds the new index first and swaps it in only when complete:
a model that does not load, a failing or cancelled build leave the index as it was."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.app import Trove
from core.errors import ModelError
from core.events import CancelToken, Finished, Progress
from core.model_switch import rebuild
from core.settings import Settings, save_settings
from tests.conftest import open_trove, run_index, write
from tests.fakes import FakeEmbedder

TROVE = str(Path(sys.executable).parent / "trove")


class UnloadableModel(FakeEmbedder):
    """A model reference that points nowhere: loading it fails."""

    @property
    def dimension(self) -> int:
        raise ModelError("cannot load the model '/no/such/model': not found")


@pytest.fixture
def indexed(tmp_path: Path) -> Trove:
    docs = tmp_path / "docs"
    for n in range(12):
        write(docs, f"note{n}.txt", f"Note {n} about harbour ferries and tide tables. " * 20)
    trove = open_trove(FakeEmbedder())
    trove.add_folder(docs)
    run_index(trove)
    return trove


def _passages(trove: Trove) -> int:
    return trove.store.chunk_count()


def test_a_model_that_does_not_load_leaves_the_index_as_it_was(indexed: Trove) -> None:
    before = _passages(indexed)
    broken = Trove(
        indexed.locations, indexed.settings, indexed.store, UnloadableModel(), indexed.registry
    )
    with pytest.raises(ModelError):
        list(rebuild(broken))
    assert before > 0 and _passages(indexed) == before
    assert indexed.search("harbour ferries")
    assert not indexed.locations.next_index.exists()


def test_a_cancelled_rebuild_leaves_the_index_as_it_was(indexed: Trove) -> None:
    before = _passages(indexed)
    cancel = CancelToken()
    for event in rebuild(indexed, cancel):
        if isinstance(event, Progress):
            cancel.cancel()
    assert _passages(indexed) == before
    assert not indexed.locations.next_index.exists()


def test_a_complete_rebuild_replaces_the_index(indexed: Trove) -> None:
    before = _passages(indexed)
    events = list(rebuild(indexed))
    assert isinstance(events[-1], Finished) and events[-1].files_indexed == 12
    assert _passages(indexed) == before
    assert indexed.search("harbour ferries")


@pytest.mark.model
def test_the_cli_rebuild_with_a_mistyped_model_path_keeps_every_passage(
    indexed: Trove, trove_home: Path
) -> None:
    before = _passages(indexed)
    indexed.close()
    save_settings(Settings(model="/no/such/model-folder"), trove_home / "settings.json")
    env = dict(os.environ, TROVE_HOME=str(trove_home), HF_HUB_OFFLINE="1")
    done = subprocess.run(
        [TROVE, "index", "--rebuild"], capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "/no/such/model-folder" in done.stderr
    reopened = open_trove(FakeEmbedder())
    try:
        assert _passages(reopened) == before
    finally:
        reopened.close()
