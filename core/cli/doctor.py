"""``trove doctor``: check each part Trove depends on, one line each."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import IO

from core.app import Trove
from core.embedding import SentenceTransformerEmbedder
from core.errors import TroveError
from core.store import vec_version

Check = Callable[[Trove], str]


def run_doctor(out: IO[str]) -> int:
    failed = 0
    with Trove.open() as trove:
        for name, check in CHECKS:
            try:
                detail, ok = check(trove), True
            except (TroveError, OSError, RuntimeError, ImportError) as exc:
                detail, ok = str(exc), False
            failed += not ok
            out.write(f"{'ok  ' if ok else 'FAIL'}  {name:<12} {detail}\n")
    return 1 if failed else 0


def _sqlite_vec(trove: Trove) -> str:
    return f"sqlite-vec {vec_version(trove.store.conn)} loaded"


def _database(trove: Trove) -> str:
    result = trove.store.integrity_check()
    if result != "ok":
        raise TroveError(f"integrity check says: {result}")
    return f"{trove.locations.database} passes its integrity check"


def _model(trove: Trove) -> str:
    started = time.monotonic()
    vector = trove.embedder.embed_query("a quick check that the model answers")
    if vector.shape[0] != trove.embedder.dimension:
        raise TroveError("the model returned a vector of the wrong size")
    trove.store.check_model(trove.embedder.model_id)
    return (
        f"{trove.embedder.model_id} loads and embeds "
        f"({vector.shape[0]} dimensions, {time.monotonic() - started:.1f}s)"
    )


def _device(trove: Trove) -> str:
    embedder = trove.embedder
    if isinstance(embedder, SentenceTransformerEmbedder):
        return f"running on {embedder.device} (setting: {embedder.device_preference})"
    return "not a sentence-transformers model"


CHECKS: list[tuple[str, Check]] = [
    ("sqlite-vec", _sqlite_vec),
    ("database", _database),
    ("model", _model),
    ("device", _device),
]
