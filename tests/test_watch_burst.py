"""A burst of thousands of changes while the watcher runs ends where a fresh index would."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

from core.app import Trove
from core.paths import Locations
from core.settings import Settings
from core.watch.watcher import Watcher, WatchOptions
from tests.conftest import open_trove, run_index, write
from tests.fakes import FakeEmbedder
from tests.test_watch import wait_for

WORDS = "amber basalt cedar delta ember fjord granite harbor island juniper kelp lagoon".split()
OPERATIONS = 2_000


def _text(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 60))) + "\n"


def _snapshot(trove: Trove) -> tuple[set[tuple[str, str]], int]:
    rows = trove.store.conn.execute("SELECT path, hash FROM files WHERE state = 'indexed'")
    return {(str(p), str(h)) for p, h in rows}, trove.store.chunk_count()


def _burst(roots: list[Path], rng: random.Random) -> None:
    files = [p for root in roots for p in root.rglob("*.txt")]
    for serial in range(OPERATIONS):
        choice = rng.random()
        if choice < 0.3 or len(files) < 20:
            root = rng.choice(roots)
            files.append(write(root, f"d{rng.randint(0, 9)}/new{serial}.txt", _text(rng)))
        elif choice < 0.5:
            rng.choice(files).write_text(_text(rng), encoding="utf-8")
        elif choice < 0.65:
            source = files.pop(rng.randrange(len(files)))
            target = source.with_name(f"renamed{serial}.txt")
            source.rename(target)
            files.append(target)
        elif choice < 0.8:
            source = files.pop(rng.randrange(len(files)))
            folder = rng.choice(roots) / f"d{rng.randint(0, 9)}"
            folder.mkdir(exist_ok=True)
            files.append(Path(shutil.move(source, folder / f"moved{serial}.txt")))
        elif choice < 0.99:
            files.pop(rng.randrange(len(files))).unlink()
        else:
            folder = rng.choice(roots) / f"d{rng.randint(0, 9)}"
            if folder.is_dir():
                folder.rename(folder.with_name(f"{folder.name}-r{serial}"))
                files = [p for root in roots for p in root.rglob("*.txt")]


def test_a_burst_converges_to_what_a_fresh_index_holds(tmp_path: Path) -> None:
    rng = random.Random(7)
    roots = [tmp_path / "one", tmp_path / "two"]
    for root in roots:
        for number in range(150):
            write(root, f"d{number % 10}/seed{number}.txt", _text(rng))
    embedder = FakeEmbedder()
    watched = open_trove(embedder)
    reader = open_trove(embedder)
    for root in roots:
        watched.add_folder(root)
    watcher = Watcher(watched, WatchOptions(quiet_s=0.3))
    watcher.start()
    try:
        wait_for(lambda: len(_snapshot(reader)[0]) == 300, 30)
        _burst(roots, rng)
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
