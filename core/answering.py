"""A running Trove answers the command line's searches over a local socket.

A cold ``trove search`` spends seconds importing the model's libraries and loading it;
the desktop app and ``trove watch`` have it loaded already.  So they listen on a Unix
socket beside the index, and ``trove search`` asks there first.

Only the same user can ask: the socket lies in Trove's data folder (0700), is itself
0600, and on Linux the server also checks the caller's user id (SO_PEERCRED).  One
request per connection, JSON one line each way, with a protocol number: a reply the
client does not understand makes it answer by itself, as it does when nothing listens.
A socket left by a process that died is removed by the next one to find it refusing.

Where AF_UNIX is missing (Windows' Python), nothing listens and every command answers
by itself.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import socket
import struct
import sys
import tempfile
import threading
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

from core.paths import Locations, make_private_folder

log = logging.getLogger(__name__)

PROTOCOL = 1
SOCKET_NAME = "answers.sock"
MAX_REQUEST = 1 << 20  # bytes: a search's words and options fit many times over
MAX_REPLY = 64 << 20  # bytes: a page of results, with room for any limit
REQUEST_WAIT_S = 5.0  # for a connected client to send its request
CONNECT_WAIT_S = 1.0
# Unix socket paths are limited to 104 (macOS) or 108 (Linux) bytes with the final NUL.
LONGEST_PATH = 100

Request = dict[str, Any]
Reply = dict[str, Any]
Handler = Callable[[Request], Reply]


def socket_path(locations: Locations) -> Path:
    """Where the Trove of ``locations`` listens: in its data folder, or, when that path
    is too long for a socket, in a private folder under the temporary one named after
    the index."""
    beside = locations.data / SOCKET_NAME
    if len(os.fsencode(beside)) <= LONGEST_PATH:
        return beside
    digest = hashlib.sha256(os.fsencode(locations.database)).hexdigest()[:16]
    user = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"trove-{user}" / f"{digest}.sock"


def available() -> bool:
    return hasattr(socket, "AF_UNIX")


class AnswerServer:
    """Listens on the socket on its own thread and hands each request to ``handler``,
    one at a time; ``handler`` returns the reply (and must not raise)."""

    def __init__(self, path: Path, handler: Handler) -> None:
        self.path = path
        self._handler = handler
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._inode: int | None = None

    def start(self) -> bool:
        """Listen; False (and nothing started) when sockets are missing here or another
        live Trove listens there already."""
        if not available() or _alive(self.path):
            return False
        make_private_folder(self.path.parent)
        with suppress(FileNotFoundError):
            self.path.unlink()  # left by a process that died: nothing listens on it
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(os.fspath(self.path))
            os.chmod(self.path, 0o600)
            listener.listen(8)
        except OSError as exc:
            listener.close()
            log.warning("not answering other processes: %s", exc)
            return False
        listener.settimeout(0.2)  # how soon ``stop`` is noticed
        self._listener, self._inode = listener, self.path.stat().st_ino
        self._thread = threading.Thread(target=self._serve, name="trove-answers", daemon=True)
        self._thread.start()
        return True

    def stop(self, wait_s: float = 2.0) -> None:
        """Stop listening.  A request being answered is waited for ``wait_s`` at most:
        its handler may wait on the very thread that stops the server."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(wait_s)
        if self._listener is not None:
            self._listener.close()
            # Only our own socket: another Trove may have taken the name since.
            with suppress(OSError):
                if self.path.stat().st_ino == self._inode:
                    self.path.unlink()
        self._listener = self._thread = None

    def _serve(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                if self._stopping.is_set():
                    return
                raise
            with connection:
                self._answer(connection)

    def _answer(self, connection: socket.socket) -> None:
        try:
            if not _same_user(connection):
                return
            connection.settimeout(REQUEST_WAIT_S)
            request = json.loads(_read_line(connection, MAX_REQUEST))
            if not isinstance(request, dict) or request.get("protocol") != PROTOCOL:
                reply: Reply = {"protocol": PROTOCOL, "error": "unknown protocol"}
            else:
                reply = {"protocol": PROTOCOL, **self._handler(request)}
            connection.sendall(json.dumps(reply).encode("utf-8") + b"\n")
        except (OSError, ValueError) as exc:
            log.info("a request went unanswered: %s", exc)


def ask(path: Path, request: Request, *, wait_s: float) -> Reply | None:
    """The running Trove's reply to ``request``, or None when none answers it (nothing
    listens, or it died or stopped answering meanwhile): then answer by yourself."""
    if not available() or not path.exists():
        return None
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        client.settimeout(CONNECT_WAIT_S)
        client.connect(os.fspath(path))
        client.settimeout(wait_s)
        client.sendall(json.dumps({"protocol": PROTOCOL, **request}).encode("utf-8") + b"\n")
        reply = json.loads(_read_line(client, MAX_REPLY))
    except ConnectionRefusedError:
        _remove_stale(path)
        return None
    except (OSError, ValueError) as exc:
        log.debug("the running Trove did not answer: %s", exc)
        return None
    finally:
        client.close()
    if not isinstance(reply, dict) or reply.get("protocol") != PROTOCOL or "error" in reply:
        return None
    return reply


def _read_line(connection: socket.socket, limit: int) -> bytes:
    data = bytearray()
    while not data.endswith(b"\n"):
        part = connection.recv(65536)
        if not part:
            raise ConnectionResetError(errno.ECONNRESET, "the other side closed")
        data += part
        if len(data) > limit:
            raise ValueError(f"a message over {limit} bytes")
    return bytes(data)


def _alive(path: Path) -> bool:
    """Whether a process listens on ``path``."""
    if not path.exists():
        return False
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(CONNECT_WAIT_S)
    try:
        probe.connect(os.fspath(path))
    except OSError:
        return False
    finally:
        probe.close()
    return True


def _remove_stale(path: Path) -> None:
    """Remove a socket nothing listens on any more (its process died)."""
    if not _alive(path):
        with suppress(OSError):
            path.unlink()


def _same_user(connection: socket.socket) -> bool:
    """On Linux, whether the caller runs as this process's user (the folder's mode
    already keeps others out; this holds even if someone loosened it)."""
    if not sys.platform.startswith("linux"):
        return True
    credentials = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
    _pid, uid, _gid = struct.unpack("3i", credentials)
    if uid != os.getuid():
        log.warning("refused a request from user %d", uid)
        return False
    return True
