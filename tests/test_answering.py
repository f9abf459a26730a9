"""`trove search` and `trove similar` answered by a running Trove over a local socket:
same output and exit status as answering alone, only for the same user, and a socket
left by a dead process cleaned up."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from core.answering import LONGEST_PATH, PROTOCOL, AnswerServer, ask, socket_path
from core.paths import Locations
from tests.conftest import SAMPLE, indexed_sample

TROVE = str(Path(sys.executable).parent / "trove")
QUERY = "how often does my fig tree need water"
# The command line in a process that says afterwards whether it loaded the core's search
# libraries: a search answered by a running Trove never does.
ASKING = (
    "import sys; from core.cli import main; code = main(sys.argv[1:]); "
    "print('answered here' if 'core.app' in sys.modules else 'answered by a running Trove', "
    "file=sys.stderr); sys.exit(code)"
)


def _echo(request: dict[str, object]) -> dict[str, object]:
    return {"exit": 0, "out": f"asked for {request['command']}", "err": ""}


@pytest.fixture
def server(tmp_path: Path):  # type: ignore[no-untyped-def]
    listening = AnswerServer(tmp_path / "s" / "answers.sock", _echo)
    assert listening.start()
    yield listening
    listening.stop()


def test_a_request_is_answered_and_the_socket_is_the_owners_alone(server: AnswerServer) -> None:
    reply = ask(server.path, {"command": "search"}, wait_s=5)
    assert reply is not None and reply["out"] == "asked for search"
    assert stat.S_IMODE(server.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(server.path.parent.stat().st_mode) == 0o700


def test_a_second_server_leaves_the_live_one_in_place(server: AnswerServer) -> None:
    second = AnswerServer(server.path, _echo)
    assert not second.start()
    assert ask(server.path, {"command": "similar"}, wait_s=5) is not None


def test_stopping_removes_the_socket(tmp_path: Path) -> None:
    listening = AnswerServer(tmp_path / "answers.sock", _echo)
    assert listening.start()
    listening.stop()
    assert not listening.path.exists()
    assert ask(listening.path, {"command": "search"}, wait_s=5) is None


def test_a_socket_left_by_a_dead_process_is_removed_by_the_next_to_find_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "answers.sock"
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(os.fspath(path))  # bound, never listening, then gone: as after a crash
    dead.close()
    assert path.exists()
    assert ask(path, {"command": "search"}, wait_s=5) is None
    assert not path.exists()
    # and a new Trove takes the name
    listening = AnswerServer(path, _echo)
    assert listening.start()
    listening.stop()


def test_a_reply_of_another_protocol_is_not_trusted(tmp_path: Path) -> None:
    path = tmp_path / "answers.sock"
    other = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    other.bind(os.fspath(path))
    other.listen(1)

    def reply_as_a_newer_trove() -> None:
        connection, _ = other.accept()
        with connection:
            connection.recv(65536)
            message = {"protocol": PROTOCOL + 1, "exit": 0, "out": "?", "err": ""}
            connection.sendall(json.dumps(message).encode() + b"\n")

    thread = threading.Thread(target=reply_as_a_newer_trove)
    thread.start()
    assert ask(path, {"command": "search"}, wait_s=5) is None
    thread.join()
    other.close()


def test_a_client_that_sends_nothing_does_not_block_the_server(server: AnswerServer) -> None:
    silent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    silent.connect(os.fspath(server.path))
    try:
        started = time.monotonic()
        reply = ask(server.path, {"command": "search"}, wait_s=30)
        assert reply is not None
        assert time.monotonic() - started < 10  # the silent one is given up on
    finally:
        silent.close()


def test_a_data_folder_too_deep_for_a_socket_path_gets_a_short_private_one(
    tmp_path: Path,
) -> None:
    deep = Locations.under(tmp_path / ("d" * 120))
    path = socket_path(deep)
    assert len(os.fsencode(path)) <= LONGEST_PATH
    assert path != socket_path(Locations.under(tmp_path / ("e" * 120)))
    assert socket_path(Locations.under(tmp_path / "t")) == tmp_path / "t" / "answers.sock"


# -- the command line, answered by `trove watch` ------------------------------------------


def _ask(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, TROVE_HOME=str(home))
    return subprocess.run(
        [sys.executable, "-c", ASKING, *args], capture_output=True, text=True, timeout=120, env=env
    )


@pytest.mark.model
def test_search_and_similar_are_answered_by_a_running_watch_and_alone_once_it_stops(
    tmp_path: Path, trove_home: Path, real_embedder: object
) -> None:
    folder = indexed_sample(real_embedder, tmp_path)
    fig = str(folder / "houseplants.md")
    commands = (
        ("search", QUERY, "--limit", "3"),
        ("search", QUERY, "--json", "--type", "md", "--in", str(folder), "--since", "30y"),
        ("search", "zxqv blorft quuxle wibbergast"),  # nothing good: hidden, said on stderr
        ("search", QUERY, "--type", "nosuch"),  # exit 1, one line
        ("similar", fig, "--limit", "2"),
        ("similar", str(SAMPLE / "houseplants.md")),  # the original, not in the index
    )
    env = dict(os.environ, TROVE_HOME=str(trove_home))
    watch = subprocess.Popen(
        [TROVE, "watch"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        assert watch.stdout is not None
        assert watch.stdout.readline().startswith("Watching 1 folders")
        assert socket_path(Locations.from_environment()).exists()
        warm = [_ask(*command, home=trove_home) for command in commands]
    finally:
        watch.send_signal(signal.SIGINT)
        watch.communicate(timeout=60)
    cold = [_ask(*command, home=trove_home) for command in commands]

    for command, by_watch, alone in zip(commands, warm, cold, strict=True):
        assert by_watch.stderr.endswith("answered by a running Trove\n"), (command, by_watch)
        assert alone.stderr.endswith("answered here\n"), (command, alone)
        assert by_watch.returncode == alone.returncode, command
        assert by_watch.stdout == alone.stdout, command
        said = by_watch.stderr.removesuffix("answered by a running Trove\n")
        assert said == alone.stderr.removesuffix("answered here\n"), command
    assert warm[0].stdout.startswith(f" 1. {fig}")
    assert json.loads(warm[1].stdout)[0]["path"] == fig
    assert "no good match" in warm[2].stderr
    assert warm[3].returncode == 1 and "unknown file type 'nosuch'" in warm[3].stderr
    assert warm[5].returncode == 1 and "is not in the index" in warm[5].stderr
