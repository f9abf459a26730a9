"""One Trove window per user and data folder: a second launch hands its request over.

The first Trove listens on a local socket (a named pipe on Windows).  A later launch
connects, sends one line of JSON (``{"search": "text"}`` or ``{"show": true}``) and exits
before it builds a window or opens the index; the first one comes forward and searches.

The channel's name comes from the user and the data folder, so two users, or two
``TROVE_HOME`` folders (tests, portable installs), never meet.  Only the same user may
connect.  A socket file left behind by a Trove that crashed refuses connections, and is
removed and taken over.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QDir, QObject, QTimer, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

log = logging.getLogger(__name__)

# A request is one short line; anything longer is not from Trove.
MAX_REQUEST_BYTES = 64 * 1024
# How long a launch waits for the running Trove to take its request, and how long the
# running one waits for a request to arrive whole.
HAND_OVER_MS = 2000
READ_MS = 5000


@dataclass(frozen=True, slots=True)
class Request:
    """What a later launch asks of the running Trove: come forward, and search for this."""

    search: str | None = None

    def encode(self) -> bytes:
        body = {"search": self.search} if self.search else {"show": True}
        return json.dumps(body).encode() + b"\n"

    @classmethod
    def decode(cls, data: bytes) -> Request:
        """The request in ``data``; ValueError if it is not one."""
        body = json.loads(data.decode("utf-8"))
        if not isinstance(body, dict):
            raise ValueError("a request is a JSON object")
        search = body.get("search")
        if search is not None and not isinstance(search, str):
            raise ValueError("the search must be text")
        if search is None and body.get("show") is not True:
            raise ValueError("a request asks to show or to search")
        return cls(search or None)


def channel_name(data: Path) -> str:
    """The channel of this user's Trove over ``data``.  Where the system gives the user a
    private runtime folder (Linux) the socket goes there; elsewhere Qt puts it in the
    temporary folder (the user's own on macOS) or names a Windows pipe."""
    key = hashlib.sha256(f"{_user()}\0{data}".encode()).hexdigest()[:20]
    name = f"trove-{key}"
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if sys.platform.startswith("linux") and os.path.isdir(runtime):
        return os.path.join(runtime, name)
    return name


def _user() -> str:
    # The user id where there is one: a name can be missing (a container's user) or set
    # by anyone in the environment.
    return str(os.getuid()) if hasattr(os, "getuid") else getpass.getuser()


def hand_over(name: str, request: Request) -> bool:
    """Give ``request`` to the Trove listening on ``name``; False if none is."""
    if _foreign(name):
        return False
    socket = QLocalSocket()
    socket.connectToServer(name)
    if not socket.waitForConnected(HAND_OVER_MS):
        return False
    socket.write(request.encode())
    socket.waitForBytesWritten(HAND_OVER_MS)
    socket.disconnectFromServer()
    if socket.state() != QLocalSocket.LocalSocketState.UnconnectedState:
        socket.waitForDisconnected(HAND_OVER_MS)
    return True


def _foreign(name: str) -> bool:
    """Whether the socket file ``name`` belongs to another user.  In a shared temporary
    folder anyone could create it first, to receive what this user searches for."""
    if not hasattr(os, "getuid"):
        return False  # Windows: a pipe's access list guards it
    path = name if "/" in name else os.path.join(QDir.tempPath(), name)
    try:
        owner = os.lstat(path).st_uid
    except OSError:
        return False
    if owner != os.getuid():
        log.warning("%s belongs to another user; this Trove will not use it", path)
        return True
    return False


class Listener(QObject):
    """The running Trove's end of the channel: emits each request a later launch sends."""

    requested = Signal(object)  # Request

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self._server = QLocalServer(self)
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self._server.newConnection.connect(self._accept)

    def listen(self) -> bool:
        return self._server.listen(self.name)

    def take_over(self) -> bool:
        """Listen in place of a Trove that crashed: its socket file is still there, but
        nobody answers on it."""
        if not _foreign(self.name):
            QLocalServer.removeServer(self.name)
            if self._server.listen(self.name):
                return True
        log.warning("no second launch can reach this Trove: %s", self._server.errorString())
        return False

    def close(self) -> None:
        self._server.close()  # removes the socket file: later launches start afresh

    def _accept(self) -> None:
        while (socket := self._server.nextPendingConnection()) is not None:
            _Reading(socket, self.requested.emit)


class _Reading(QObject):
    """One connection's request, read until its line ends or the sender hangs up."""

    def __init__(self, socket: QLocalSocket, deliver: Callable[[Request], None]) -> None:
        super().__init__(socket)  # lives as long as the socket
        self._socket = socket
        self._deliver = deliver
        self._data = b""
        self._done = False
        socket.readyRead.connect(self._read)
        socket.disconnected.connect(self._finish)
        socket.disconnected.connect(socket.deleteLater)
        QTimer.singleShot(READ_MS, self, socket.abort)  # a sender that never finishes
        self._read()

    def _read(self) -> None:
        self._data += bytes(self._socket.readAll().data())
        if b"\n" in self._data or len(self._data) > MAX_REQUEST_BYTES:
            self._finish()

    def _finish(self) -> None:
        if self._done:
            return
        self._done = True
        self._data += bytes(self._socket.readAll().data())  # what came with the hang-up
        self._socket.disconnectFromServer()
        line = self._data.split(b"\n", 1)[0]
        try:
            if len(line) > MAX_REQUEST_BYTES:
                raise ValueError(f"{len(self._data)} bytes is too long")
            request = Request.decode(line)
        except ValueError as error:
            if self._data:  # a bare connect and hang-up carries nothing to ignore
                log.warning("ignored a request from another launch: %s", error)
            return
        self._deliver(request)


def start_or_hand_over(name: str, request: Request) -> Listener | None:
    """This process's listener, as the one Trove for ``name``; or None once ``request``
    went to the Trove already running there."""
    if hand_over(name, request):
        return None
    listener = Listener(name)
    if listener.listen():
        return listener
    if hand_over(name, request):
        return None  # another Trove started between the two attempts, and listens now
    listener.take_over()
    return listener
