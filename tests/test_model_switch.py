"""Changing the model: the new index is built beside the old one, which keeps
answering, and replaces it in one step."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.app import Trove
from core.errors import ModelMismatch
from core.model_switch import ModelSwitch
from core.paths import Locations
from tests.conftest import open_trove, run_index, write
from tests.fakes import FakeEmbedder


def test_the_old_index_answers_during_the_build_and_the_new_one_takes_over(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "docs"
    write(folder, "kites.txt", "Flying kites on a windy beach.")
    write(folder, "bread.md", "# Bread\n\nA sourdough loaf with a long cold proof.")
    old = open_trove(FakeEmbedder(model_id="test/old"))
    old.add_folder(folder, "*.tmp")
    run_index(old)
    new_embedder = FakeEmbedder(dimension=32, model_id="test/new")
    switch = ModelSwitch(
        old, old.settings.with_changes(model="/models/new"), old.folders(), new_embedder
    )

    events = iter(switch.build())
    next(events)  # the build has started: its database exists beside the old one
    assert switch.database.exists() and switch.database != old.locations.database
    assert old.search("kites")[0].path.endswith("kites.txt")
    for _ in events:
        pass
    assert new_embedder.embedded >= 2
    assert old.search("sourdough")[0].path.endswith("bread.md")  # still the old index

    old.close()
    switch.finish()
    assert not switch.database.exists()
    with pytest.raises(ModelMismatch):
        open_trove(FakeEmbedder(model_id="test/old")).search("kites")
    reopened = Trove.open(
        Locations.from_environment(), settings=switch.settings, embedder=new_embedder
    )
    try:
        assert reopened.search("kites")[0].path.endswith("kites.txt")
        assert reopened.folders()[0].ignore == "*.tmp"
        assert reopened.status().model == "test/new"
    finally:
        reopened.close()


def test_an_abandoned_build_leaves_the_current_index_alone(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    write(folder, "kites.txt", "Flying kites on a windy beach.")
    old = open_trove(FakeEmbedder(model_id="test/old"))
    old.add_folder(folder)
    run_index(old)
    switch = ModelSwitch(old, old.settings, old.folders(), FakeEmbedder(model_id="test/new"))
    events = switch.build()
    next(events)
    events.close()
    switch.discard()
    assert not switch.database.exists()
    assert old.search("kites")[0].path.endswith("kites.txt")
    old.close()
