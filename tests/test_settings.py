from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.errors import ConfigError
from core.paths import Locations
from core.settings import Settings, load_settings, save_settings


def test_settings_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "settings.json"
    wanted = Settings().with_changes(model="/models/other", device="cpu", chunk_tokens=128)
    save_settings(wanted, path)
    assert load_settings(path) == wanted
    assert not [p for p in path.parent.iterdir() if p.name != "settings.json"]


def test_missing_file_gives_defaults(tmp_path: Path) -> None:
    assert load_settings(tmp_path / "none.json") == Settings()


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "cannot read"),
        ('{"device": "tpu"}', "device must be one of"),
        ('{"version": 99}', "newer Trove"),
        ("[1, 2]", "JSON object"),
    ],
)
def test_bad_settings_are_refused_clearly(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "settings.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        load_settings(path)


def test_unknown_keys_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"model": "x", "from_the_future": 1}))
    assert load_settings(path).model == "x"


def test_trove_home_moves_everything(trove_home: Path) -> None:
    places = Locations.from_environment()
    assert places.database.is_relative_to(trove_home)
    assert places.settings.is_relative_to(trove_home)
    assert places.cache.is_relative_to(trove_home)
