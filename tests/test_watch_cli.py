"""`trove watch` in the foreground: one line per batch, Ctrl-C stops it, and it holds
the writer lock so `trove index` is refused meanwhile."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.conftest import write

TROVE = str(Path(sys.executable).parent / "trove")


def _trove(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, TROVE_HOME=str(home))
    return subprocess.run([TROVE, *args], capture_output=True, text=True, timeout=120, env=env)


def test_watch_runs_until_interrupted_and_refuses_a_second_writer(
    tmp_path: Path, trove_home: Path
) -> None:
    docs = tmp_path / "docs"
    write(docs, "empty-folder-marker.bin", "not a document")
    assert _trove("add", str(docs), home=trove_home).returncode == 0
    env = dict(os.environ, TROVE_HOME=str(trove_home))
    watch = subprocess.Popen(
        [TROVE, "watch"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        assert watch.stdout is not None
        assert watch.stdout.readline().startswith("Watching 1 folders")
        assert " start: 1 paths," in watch.stdout.readline()  # the catch-up pass
        refused = _trove("index", home=trove_home)
        assert refused.returncode == 1
        assert f"another Trove process (pid {watch.pid})" in refused.stderr
        watch.send_signal(signal.SIGINT)
        out, err = watch.communicate(timeout=60)
    finally:
        if watch.poll() is None:
            watch.kill()
            watch.communicate()
    assert watch.returncode == 0, err
    assert "Stopped watching." in out and "Traceback" not in err
