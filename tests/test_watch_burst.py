"""A burst of thousands of changes while the watcher runs ends where a fresh index would."""

from __future__ import annotations

import random
from pathlib import Path

from benchmarks.burst import change_randomly, write_words
from core.app import Trove
from core.paths import Locations
from core.settings import Settings
from core.watch.watcher import Watcher, WatchOptions
from tests.conftest import open_trove, run_index
from tests.fakes import FakeEmbedder
from tests.test_watch import wait_for

WORDS = "amber basalt cedar delta ember fjord granite harbor island juniper kelp lagoon".split()
OPERATIONS = 2_000


def _snapshot(trove: Trove) -> tuple[set[tuple[str, str]], int]:
    rows = trove.store.conn.execute("SELECT path, hash FROM files WHERE state = 'indexed'")
    return {(str(p), str(h)) for p, h in rows}, trove.store.chunk_count()


def test_a_burst_converges_to_what_a_fresh_index_holds(tmp_path: Path) -> None:
    rng = random.Random(7)
    roots = [tmp_path / "one", tmp_path / "two"]
    for root in roots:
        for number in range(150):
            write_words(root / f"d{number % 10}/seed{number}.txt", rng, WORDS)
    embedder = FakeEmbedder()
    watched = open_trove(embedder)
    reader = open_trove(embedder)
    for root in roots:
        watched.add_folder(root)
    watcher = Watcher(watched, WatchOptions(quiet_s=0.3))
    watcher.start()
    try:
        wait_for(lambda: len(_snapshot(reader)[0]) == 300, 30)
        change_randomly(roots, rng, OPERATIONS, WORDS)
        fresh_home = tmp_path / "fresh-home"
        fresh = Trove.open(
            Locations(fresh_home, fresh_home, fresh_home / "cache"),
            settings=Settings(extract_workers=1),
            embedder=FakeEmbedder(),  # type: ignore[arg-type]
        )
        for root in roots:
            fresh.add_folder(root)
        run_index(fresh)
        expected = _snapshot(fresh)
        fresh.close()
        wait_for(lambda: _snapshot(reader) == expected, 45)
    finally:
        watcher.stop()
        watched.close()
        reader.close()
