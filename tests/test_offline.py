"""Nothing leaves the machine: indexing and searching, with the real model and the
extraction workers, open no network connection."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SAMPLE

TROVE = str(Path(sys.executable).parent / "trove")

# Imported by every Python process of the run (the CLI and its spawned workers): any
# attempt to reach another machine is written down and refused.
GUARD = """
import os, socket

_log = os.environ["TROVE_TEST_NETWORK_LOG"]
_connect = socket.socket.connect

def _refuse(sock, address, *args):
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        with open(_log, "a") as handle:
            handle.write(f"{os.getpid()} {address!r}\\n")
        raise OSError("network use refused by the test")
    return _connect(sock, address, *args)

socket.socket.connect = _refuse
socket.socket.connect_ex = _refuse
"""


@pytest.mark.model
def test_indexing_and_searching_open_no_network_connection(tmp_path: Path) -> None:
    guard = tmp_path / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(GUARD)
    log = tmp_path / "network.log"
    env = dict(
        os.environ,
        TROVE_HOME=str(tmp_path / "home"),
        PYTHONPATH=str(guard),
        TROVE_TEST_NETWORK_LOG=str(log),
    )
    env.pop("HF_HUB_OFFLINE", None)  # Trove must not depend on the caller to be offline
    for args in (["add", str(SAMPLE)], ["index"], ["search", "how long to bake bread"]):
        done = subprocess.run([TROVE, *args], env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    assert "sourdough" in done.stdout
    assert not log.exists(), log.read_text()
    # The guard itself works: a connection attempt from such a process is logged.
    probe = subprocess.run(
        [sys.executable, "-c", "import socket; socket.create_connection(('192.0.2.1', 80), 1)"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.returncode != 0 and "192.0.2.1" in log.read_text()
