"""`trove doctor --self-test`: every part proven together, the person's index untouched."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.selftest import SelfTest, SelfTestFailed

PARTS = (
    "database",
    "model",
    "extraction",
    "index",
    "sqlite-vec",
    "pictures",
    "watcher",
    "assistants",
    "window",
)


@pytest.mark.model
def test_the_self_test_passes_and_leaves_the_own_index_alone(trove_home: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [sys.executable, "-m", "core.cli", "doctor", "--self-test"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    lines = {line.split()[1]: line for line in done.stdout.splitlines() if line[:4] == "ok  "}
    for part in PARTS:
        assert part in lines, done.stdout
    assert "(offscreen) showed" in lines["window"]
    assert "photographed note (by OCR) read in a worker process" in lines["extraction"]
    assert "over MCP ranks supplier_terms.docx first" in lines["assistants"]
    assert "a photo embedded by a CLIP model (16 dimensions)" in lines["pictures"]
    assert done.stdout.rstrip().endswith("The self-test passed.")
    assert not (trove_home / "index.sqlite3").exists()


def test_a_failed_part_is_named_and_what_needs_it_is_not_run(tmp_path: Path) -> None:
    class BrokenModel(SelfTest):
        def check_model(self) -> str:
            raise SelfTestFailed("the model file is missing")

    outcomes = list(BrokenModel(tmp_path, window=None).run())
    assert [o.part for o in outcomes] == list(PARTS)
    assert outcomes[0].ok and "sqlite-vec v0." in outcomes[0].detail
    assert outcomes[1].label == "FAIL" and outcomes[1].detail == "the model file is missing"
    for later in outcomes[2:]:
        assert not later.ok and later.detail == "not run: it needs model, which failed"


def test_an_unexpected_error_is_reported_with_its_type(tmp_path: Path) -> None:
    class Buggy(SelfTest):
        def check_database(self) -> str:
            return {}["missing"]  # type: ignore[no-any-return]

    first = next(iter(Buggy(tmp_path, window=None).run()))
    assert not first.ok and first.detail == "KeyError: 'missing'"


def test_a_window_that_exits_badly_is_reported_with_its_last_words(tmp_path: Path) -> None:
    crash = "import sys; print('Could not load the Qt platform plugin', file=sys.stderr); exit(3)"
    test = SelfTest(tmp_path, window=[sys.executable, "-c", crash])
    with pytest.raises(SelfTestFailed, match="exited with 3: Could not load the Qt platform"):
        test.check_window()
