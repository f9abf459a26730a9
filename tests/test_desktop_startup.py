"""The app's first seconds, in a fresh process as a person starts it: the window answers
by words while the model loads, then by meaning, and its thread never stalls for long
while torch and the model load beside it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import indexed_sample

pytestmark = pytest.mark.model

# The window's thread may stop this long at most (a 10 ms heartbeat runs on it).
MAX_STALL_MS = 100
QUERY = "how often does my fig tree need water"


def test_start_up_answers_by_words_then_meaning_without_stalling(
    real_embedder: Any, tmp_path: Path
) -> None:
    indexed_sample(real_embedder, tmp_path)
    env = {**os.environ, "TROVE_STARTUP_PROBE": "1", "QT_QPA_PLATFORM": "offscreen"}
    started = time.monotonic()
    app = subprocess.Popen(
        [sys.executable, "-m", "desktop.main", "--search", QUERY],
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    moments: list[str] = []
    try:
        assert app.stderr is not None
        for line in app.stderr:
            if line.startswith("trove-probe "):
                moments.append(line.split(" ", 2)[2].strip())
                if re.match(r"results shown [1-9]\d* by meaning", moments[-1]):
                    break
            assert time.monotonic() - started < 180, moments
    finally:
        app.terminate()
        app.wait(30)
        if app.stderr is not None:
            app.stderr.close()

    order = [m.split(" (")[0] for m in moments]
    words = next(i for i, m in enumerate(order) if re.match(r"results shown [1-9]\d* by words", m))
    assert words < order.index("model ready"), order
    stalls = [int(s) for s in re.findall(r"longest stall so far (\d+) ms", " ".join(moments))]
    print(f"\nstart-up moments: {moments}")
    assert stalls and max(stalls) < MAX_STALL_MS, moments
