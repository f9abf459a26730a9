"""One Trove per user and data folder: a second launch brings the first one forward and
hands it its search, a crashed Trove's socket is taken over, junk is ignored."""

from __future__ import annotations

import getpass
import logging
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QDir
from PySide6.QtNetwork import QLocalSocket
from pytestqt.qtbot import QtBot

from core.paths import Locations
from desktop import instance
from desktop.engine import Engine
from desktop.instance import Listener, Request
from desktop.main import answer, build
from tests.app_process import AppProcess
from tests.desktop_support import wait_for


@pytest.fixture
def name() -> Iterator[str]:
    name = instance.channel_name(Locations.from_environment().data)
    yield name
    if hasattr(socket, "AF_UNIX"):  # a killed app leaves its socket file behind
        Path(socket_path(name)).unlink(missing_ok=True)


@pytest.fixture
def listener(name: str) -> Iterator[Listener]:
    found = instance.start_or_hand_over(name, Request())
    assert found is not None, "nothing else listens on this test's channel"
    yield found
    found.close()


def socket_path(name: str) -> str:
    return name if "/" in name else os.path.join(QDir.tempPath(), name)


def test_a_second_launch_hands_its_search_to_the_first_and_exits(name: str) -> None:
    with AppProcess() as first:
        first.wait_for("window shown")
        with AppProcess("--search", "ficus watering") as second:
            assert second.exit_code(timeout=15) == 0
            assert "window shown" not in second.output()  # it never built a window
        first.wait_for("brought forward, searching 'ficus watering'", timeout=15)
        # Without a search, a launch only brings the window forward.
        with AppProcess() as third:
            assert third.exit_code(timeout=15) == 0
        first.wait_for("brought forward, searching None", timeout=15)


def test_the_socket_of_a_crashed_trove_is_taken_over(name: str) -> None:
    with AppProcess() as crashed:
        crashed.wait_for("window shown")
        crashed.process.kill()
        crashed.exit_code(timeout=15)
    assert os.path.exists(socket_path(name)), "a killed Trove leaves its socket behind"
    with AppProcess() as first:
        first.wait_for("window shown")
        with AppProcess("--search", "tax return") as second:
            assert second.exit_code(timeout=15) == 0
        first.wait_for("brought forward, searching 'tax return'", timeout=15)


def stale_socket(name: str) -> None:
    """A socket file nobody listens on, as a Trove that crashed leaves behind."""
    left = socket.socket(socket.AF_UNIX)
    left.bind(socket_path(name))
    left.close()


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="named pipes leave no file")
def test_a_stale_socket_file_is_replaced(qtbot: QtBot, name: str) -> None:
    stale_socket(name)
    assert not instance.hand_over(name, Request())
    listener = instance.start_or_hand_over(name, Request())
    assert listener is not None
    try:
        with qtbot.waitSignal(listener.requested, timeout=5000) as received:
            assert instance.hand_over(name, Request("ficus"))
        assert received.args == [Request("ficus")]
    finally:
        listener.close()


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="a Windows pipe has an access list")
def test_another_users_socket_is_neither_trusted_nor_removed(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    stale_socket(name)
    monkeypatch.setattr(os, "getuid", lambda: os.stat(socket_path(name)).st_uid + 1)
    assert not instance.hand_over(name, Request("my search"))
    assert not Listener(name).take_over()
    assert os.path.exists(socket_path(name))
    os.unlink(socket_path(name))


def test_the_channel_differs_by_data_folder_and_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one = instance.channel_name(tmp_path / "one")
    assert one == instance.channel_name(tmp_path / "one")
    assert one != instance.channel_name(tmp_path / "two")
    if hasattr(os, "getuid"):
        monkeypatch.setattr(os, "getuid", lambda: 4321)
    else:
        monkeypatch.setattr(getpass, "getuser", lambda: "someone-else")
    assert one != instance.channel_name(tmp_path / "one")


def send_raw(name: str, data: bytes) -> None:
    sender = QLocalSocket()
    sender.connectToServer(name)
    assert sender.waitForConnected(2000)
    sender.write(data)
    sender.waitForBytesWritten(2000)
    sender.disconnectFromServer()


@pytest.mark.parametrize(
    "junk",
    [
        b"GET / HTTP/1.1\r\n\r\n",
        b'["search", "x"]\n',
        b'{"search": 42}\n',
        b'{"neither": true}\n',
        b"\xff\xfe not text\n",
        b"x" * (instance.MAX_REQUEST_BYTES + 10),
    ],
)
def test_junk_is_ignored_and_logged_and_requests_still_arrive(
    qtbot: QtBot, listener: Listener, name: str, junk: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="desktop.instance")
    with qtbot.assertNotEmitted(listener.requested, wait=200):
        send_raw(name, junk)
        wait_for(qtbot, lambda: "ignored a request" in caplog.text, 5000)
    with qtbot.waitSignal(listener.requested, timeout=5000) as received:
        assert instance.hand_over(name, Request("after the junk"))
    assert received.args == [Request("after the junk")]


def test_requests_round_trip() -> None:
    for request in (Request(), Request("ficus"), Request("naïve café ☕ \n two lines")):
        assert Request.decode(request.encode().rstrip(b"\n")) == request


def test_a_request_brings_the_window_forward_from_the_tray_or_minimised(
    qtbot: QtBot, listener: Listener, name: str
) -> None:
    engine = Engine()  # never started: coming forward needs no index
    window = build(engine)
    qtbot.addWidget(window)
    listener.requested.connect(lambda request: answer(window, request))
    try:
        window.hide()  # closed into the tray
        with qtbot.waitSignal(listener.requested, timeout=5000):
            assert instance.hand_over(name, Request())
        assert window.isVisible()

        window.showMinimized()
        with qtbot.waitSignal(listener.requested, timeout=5000):
            assert instance.hand_over(name, Request("ficus"))
        assert window.isVisible() and not window.isMinimized()
        assert window.search.box.text() == "ficus"
    finally:
        window.hide()
        window.tray.hide()  # type: ignore[union-attr]


def test_the_running_app_answers_the_command_lines_searches_until_it_stops(
    qtbot: QtBot, tmp_path: Path
) -> None:
    from core.answering import ask
    from core.answering import socket_path as answers_socket
    from tests.conftest import write
    from tests.desktop_support import started_engine

    docs = tmp_path / "docs"
    note = write(docs, "kiln.txt", "Firing the kiln to cone six takes eleven hours.")
    asked = {"command": "search", "text": "kiln", "limit": 5, "type": [], "tty": False}
    where = answers_socket(Locations.from_environment())
    with started_engine(qtbot) as engine:
        engine.add_folder(str(docs))
        wait_for(qtbot, lambda: (ask(where, asked, wait_s=10) or {}).get("out", "")[:3] == " 1.")
        reply = ask(where, asked, wait_s=10)
        assert reply is not None and reply["exit"] == 0
        assert reply["out"].startswith(f" 1. {note}")
    assert not where.exists()
    assert ask(where, asked, wait_s=10) is None


def test_until_its_model_is_loaded_the_app_leaves_the_command_line_to_answer_itself() -> None:
    engine = Engine()  # not started: no model yet
    reply = engine._answer({"command": "search", "text": "kiln"})
    assert reply == {"error": "the model is loading"}
