"""A burst of random file operations, like a checkout or a sync client makes: creates,
edits, renames, moves across watched folders, deletes, and now and then a renamed folder.

Used by `benchmarks/watch_latency.py` (how long the index takes to catch up) and by
`tests/test_watch_burst.py` (whether it ends where a fresh index would).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path


def write_words(path: Path, rng: random.Random, words: Sequence[str]) -> Path:
    """Write a line of 8 to 80 words drawn from ``words`` to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(" ".join(rng.choices(words, k=rng.randint(8, 80))) + "\n", encoding="utf-8")
    return path


def change_randomly(
    roots: Sequence[Path], rng: random.Random, operations: int, words: Sequence[str]
) -> None:
    """Make ``operations`` random changes to the ``*.txt`` files under ``roots``."""
    files = [p for root in roots for p in root.rglob("*.txt")]

    def folder() -> Path:
        return rng.choice(roots) / f"d{rng.randint(0, 9)}"

    for serial in range(operations):
        choice = rng.random()
        if choice < 0.3 or len(files) < 20:
            files.append(write_words(folder() / f"n{serial}.txt", rng, words))
        elif choice < 0.5:
            write_words(rng.choice(files), rng, words)
        elif choice < 0.65:
            source = files.pop(rng.randrange(len(files)))
            files.append(source.rename(source.with_name(f"r{serial}.txt")))
        elif choice < 0.8:
            source = files.pop(rng.randrange(len(files)))
            target = folder() / f"m{serial}.txt"
            target.parent.mkdir(parents=True, exist_ok=True)
            files.append(source.rename(target))
        elif choice < 0.99:
            files.pop(rng.randrange(len(files))).unlink()
        else:
            renamed = folder()
            if renamed.is_dir():
                renamed.rename(renamed.with_name(f"{renamed.name}-r{serial}"))
                files = [p for root in roots for p in root.rglob("*.txt")]
