"""`trove watch` in the foreground: one line per batch, Ctrl-C stops it (within two
seconds, whatever it is doing, leaving no worker behind), and it holds the writer lock so
`trove index` is refused meanwhile."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from core.cli.interrupt import GRACE_S
from core.embedding import SentenceTransformerEmbedder, bundled_model_path
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


# -- Ctrl-C at any moment ----------------------------------------------------------------

PROC = Path("/proc")
STOP_WITHIN_S = 2.0


def _children(pid: int) -> set[int]:
    """Processes whose parent is ``pid`` (the extraction workers, and multiprocessing's
    helpers), from /proc."""
    found = set()
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields is not None and int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def _running(pid: int) -> bool:
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z"


def _stat(pid: int) -> list[str] | None:
    """State, parent and the rest of /proc/PID/stat, after the command's name."""
    try:
        return (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _loads_model(pid: int) -> bool:
    """Whether the model's runtime is being loaded: torch's or OpenVINO's libraries."""
    try:
        maps = (PROC / str(pid) / "maps").read_text()
    except OSError:
        return False
    return "libtorch" in maps or "libopenvino" in maps


@pytest.fixture(scope="session")
def conversion(tmp_path_factory: pytest.TempPathFactory) -> Path | None:
    """The default model converted for OpenVINO once, when ``auto`` runs it there: each
    test's data folder gets a copy, so the moment caught is the model's loading, not its
    one-time conversion (a process of its own)."""
    embedder = SentenceTransformerEmbedder()
    if embedder.needs_torch:
        return None
    embedder.cache = tmp_path_factory.mktemp("cache")
    _ = embedder.model
    return embedder.converted_folder(str(bundled_model_path()))


def _wait_for(
    condition: Callable[[], bool],
    why: str,
    timeout: float = 120.0,
    watch: subprocess.Popen[str] | None = None,
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert watch is None or watch.poll() is None, f"trove watch ended: {watch.communicate()}"
        assert time.monotonic() < deadline, why
        time.sleep(0.02)


def _folder(root: Path, files: int) -> Path:
    for number in range(files):
        write(
            root,
            f"note-{number:03d}.txt",
            f"Note {number} on pruning roses, sowing beans and the spring weather.\n\n" * 30,
        )
    return root


@pytest.mark.model
@pytest.mark.skipif(not (PROC / "self" / "maps").exists(), reason="reads /proc (Linux)")
@pytest.mark.parametrize(
    "moment", ["start-up pass", "model loading", "model loading, twice", "indexing", "idle"]
)
def test_ctrl_c_stops_watch_within_two_seconds(
    moment: str, tmp_path: Path, trove_home: Path, conversion: Path | None
) -> None:
    if conversion is not None:
        shutil.copytree(conversion, trove_home / "cache" / "models" / conversion.name)
    docs = _folder(tmp_path / "docs", 3 if moment == "idle" else 200)
    assert _trove("add", str(docs), home=trove_home).returncode == 0
    env = dict(os.environ, TROVE_HOME=str(trove_home))
    watch = subprocess.Popen(
        [TROVE, "watch"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    workers: set[int] = set()
    try:
        _await(moment, watch)
        workers = _children(watch.pid)
        presses = 2 if "twice" in moment else 1
        took, out, err = _ctrl_c(watch, presses)
    finally:
        if watch.poll() is None:
            watch.kill()
            watch.communicate()
    # A second Ctrl-C does not wait out the grace the first one gives the clean stop.
    limit = GRACE_S if presses == 2 else STOP_WITHIN_S
    assert took <= limit, f"stopped {took:.2f} s after Ctrl-C, {moment}"
    assert watch.returncode == 0, err
    assert "Stopped watching." in out and "Traceback" not in err, err
    left = lambda: [pid for pid in workers if _running(pid)]  # noqa: E731
    _wait_for(lambda: not left(), f"worker processes left behind: {left()}", timeout=2.0)


def _await(moment: str, watch: subprocess.Popen[str]) -> None:
    """Return when the watch is at ``moment``."""
    assert watch.stdout is not None
    assert watch.stdout.readline().startswith("Watching 1 folders")
    if moment.startswith("model loading"):
        _wait_for(lambda: _loads_model(watch.pid), "the model was never loaded", watch=watch)
        assert not _children(watch.pid), "reading began: the model was already loaded"
    elif moment == "indexing":
        # Workers start once the model is loaded; it then embeds what they read.
        _wait_for(lambda: bool(_children(watch.pid)), "no file was read", watch=watch)
    elif moment == "idle":
        assert " start: 1 paths, 3 indexed" in watch.stdout.readline()


def _ctrl_c(watch: subprocess.Popen[str], presses: int) -> tuple[float, str, str]:
    """Seconds from the first Ctrl-C to the end of the process, and its output."""
    sent = time.monotonic()
    for press in range(presses):
        if press:
            time.sleep(0.05)  # two presses, not one signal that arrives twice
        watch.send_signal(signal.SIGINT)
    out, err = watch.communicate(timeout=60)
    return time.monotonic() - sent, out, err


def test_watch_that_cannot_start_gives_ctrl_c_back(capsys: pytest.CaptureFixture[str]) -> None:
    # In this process: the handler and the wakeup socket are pytest's again afterwards.
    from core.cli.main import main

    handler = signal.getsignal(signal.SIGINT)
    assert main(["watch"]) == 1
    assert "no folders to watch" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGINT) is handler
    assert signal.set_wakeup_fd(-1) == -1
