"""``trove doctor``: check each part Trove depends on, one line each.

First what the machine offers (a writable data folder, disk space, the window's system
libraries), which needs nothing of Trove to work; then the index and the model. With
``--self-test`` the second half is replaced by ``core.selftest``, which proves every part
in a temporary home and leaves the person's own index alone.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from functools import partial
from itertools import chain
from pathlib import Path
from typing import IO

from core import machine
from core.app import Trove
from core.cli.output import printable
from core.embedding import Embedder, SentenceTransformerEmbedder
from core.errors import TroveError
from core.paths import Locations
from core.selftest import Outcome, SelfTest, window_command
from core.settings import load_settings
from core.store import vec_version

Check = Callable[[Trove], str]


def run_doctor(out: IO[str], *, self_test: bool = False) -> int:
    parts = _self_test() if self_test else index_outcomes()
    failed = []
    for outcome in chain(machine_outcomes(Locations.from_environment()), parts):
        out.write(f"{outcome.label:<4}  {outcome.part:<12} {printable(outcome.detail)}\n")
        out.flush()
        if not outcome.ok:
            failed.append(outcome.part)
    if failed:
        out.write(f"\n{len(failed)} failed: {', '.join(failed)}\n")
    elif self_test:
        out.write("\nThe self-test passed.\n")
    return 1 if failed else 0


def machine_outcomes(locations: Locations) -> Iterator[Outcome]:
    checks: list[tuple[str, Callable[[], str]]] = [
        ("data folder", lambda: machine.check_data_folder(locations.data)),
        ("disk space", lambda: machine.check_free_space(locations.data)),
    ]
    for name, check in checks:
        yield _outcome(name, check)
    yield _window_libraries()


def _window_libraries() -> Outcome:
    """Missing window libraries fail only where there is a screen to open a window on."""
    outcome = _outcome("window libs", machine.check_window_libraries)
    if outcome.ok or machine.has_display():
        return outcome
    return Outcome(outcome.part, True, f"no display here, but {outcome.detail}", warning=True)


def index_outcomes() -> Iterator[Outcome]:
    try:
        trove = Trove.open()
    except (TroveError, OSError) as exc:
        # A damaged or locked index says so; the model is still worth checking.
        yield Outcome("index", False, str(exc))
        yield _outcome("model", _model_alone)
        return
    with trove:
        for name, check in CHECKS:
            yield _outcome(name, partial(check, trove))


def _model_alone() -> str:
    locations = Locations.from_environment()
    settings = load_settings(locations.settings)
    return _embeds(SentenceTransformerEmbedder.for_settings(settings))


def _self_test() -> Iterator[Outcome]:
    with tempfile.TemporaryDirectory(prefix="trove-self-test-") as root:
        yield from SelfTest(Path(root), window_command()).run()


def _outcome(name: str, check: Callable[[], str]) -> Outcome:
    try:
        return Outcome(name, True, check())
    except (TroveError, OSError, RuntimeError, ImportError) as exc:
        return Outcome(name, False, str(exc))


def _sqlite_vec(trove: Trove) -> str:
    return f"sqlite-vec {vec_version(trove.store.conn)} loaded"


def _database(trove: Trove) -> str:
    result = trove.store.integrity_check()
    if result != "ok":
        raise TroveError(f"integrity check says: {result}")
    return f"{trove.locations.database} passes its integrity check"


def _model(trove: Trove) -> str:
    answer = _embeds(trove.embedder)
    trove.store.check_model(trove.embedder.model_id)
    return answer


def _embeds(embedder: Embedder) -> str:
    started = time.monotonic()
    vector = embedder.embed_query("a quick check that the model answers")
    if vector.shape[0] != embedder.dimension:
        raise TroveError("the model returned a vector of the wrong size")
    return (
        f"{embedder.model_id} loads and embeds "
        f"({vector.shape[0]} dimensions, {time.monotonic() - started:.1f}s)"
    )


def _device(trove: Trove) -> str:
    embedder = trove.embedder
    if isinstance(embedder, SentenceTransformerEmbedder):
        return (
            f"running on {embedder.device} with {embedder.backend_in_use} "
            f"(settings: device {embedder.device_preference}, backend {embedder.backend})"
        )
    return "not a sentence-transformers model"


CHECKS: list[tuple[str, Check]] = [
    ("sqlite-vec", _sqlite_vec),
    ("database", _database),
    ("model", _model),
    ("device", _device),
]
