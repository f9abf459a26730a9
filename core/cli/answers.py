"""``trove search`` and ``trove similar``, answered here or by a running Trove.

The commands' bodies take the Trove to ask and the streams to write to, so that the
desktop app or ``trove watch`` can run them for another process (core.answering) and
send back exactly what the command would have printed, with its exit status.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import sys
from datetime import datetime
from typing import IO, TYPE_CHECKING

from core.answering import AnswerServer, Handler, Reply, Request, ask, socket_path
from core.cli.output import print_json, print_results, printable, result_json
from core.errors import TroveError
from core.paths import Locations

if TYPE_CHECKING:
    from core.app import Trove
    from core.search import Result

log = logging.getLogger(__name__)

# A running Trove may be loading its model or indexing hard: worth waiting for, since
# answering here means loading the model anyway.
ANSWER_WAIT_S = 30.0


def search_text(
    trove: Trove, args: argparse.Namespace, out: IO[str], err: IO[str], *, one_shot: bool
) -> int:
    """``trove search TEXT``; ``one_shot``: the process ends after it (no copy of the
    keyword postings is worth building for one search)."""
    if not trove.store.state_counts().get("indexed"):
        err.write("trove: nothing is indexed yet; `trove add FOLDER`, then `trove index`\n")
    if one_shot:
        trove.store.words.enabled = False  # FTS5 answers one search sooner
    if note := trove.language_note(args.text):
        err.write(f"trove: {note}\n")
    results = searched(trove, args, args.text, floor=not args.all)
    hidden = 0 if results or args.all else len(searched(trove, args, args.text, floor=False))
    if args.json:
        print_json([result_json(r) for r in results], out)
    elif not hidden:
        print_results(results, out)
    if hidden:
        err.write(
            f'trove: no good match for "{printable(args.text)}" ({hidden} weaker results '
            "hidden; --all shows them)\n"
        )
    return 0


def searched(trove: Trove, args: argparse.Namespace, text: str, *, floor: bool) -> list[Result]:
    return trove.search(
        text, args.limit, types=args.type, folder=args.folder, since=args.since, floor=floor
    )


def similar_files(trove: Trove, args: argparse.Namespace, out: IO[str]) -> int:
    results = trove.similar(args.file, args.limit)
    if args.json:
        print_json([result_json(r) for r in results], out)
    else:
        print_results(results, out)
    return 0


# -- asking a running Trove ------------------------------------------------------------


def ask_running(command: str, args: argparse.Namespace, out: IO[str]) -> int | None:
    """Have a running Trove answer ``command``: its exit status once its output is
    written here, or None when none answers (then answer here)."""
    request = {"command": command, "tty": out.isatty(), **_options(command, args)}
    reply = ask(socket_path(Locations.from_environment()), request, wait_s=ANSWER_WAIT_S)
    if reply is None or not isinstance(reply.get("exit"), int):
        return None
    out.write(str(reply.get("out", "")))
    sys.stderr.write(str(reply.get("err", "")))
    return int(reply["exit"])


def _options(command: str, args: argparse.Namespace) -> Request:
    """The command's options as JSON; paths made absolute here, where they were typed."""
    if command == "similar":
        return {"file": _absolute(args.file), "limit": args.limit, "json": args.json}
    return {
        "text": args.text,
        "limit": args.limit,
        "json": args.json,
        "all": args.all,
        "type": args.type,
        "folder": _absolute(args.folder) if args.folder else None,
        "since": args.since.isoformat() if args.since else None,
    }


def _absolute(path: str) -> str:
    return os.path.abspath(os.path.expanduser(path))


# -- answering for another process -----------------------------------------------------


class _Captured(io.StringIO):
    """What a command writes, as the asking terminal would show it."""

    def __init__(self, tty: bool) -> None:
        super().__init__()
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


def answer(trove: Trove, request: Request) -> Reply:
    """Run a command asked for by another process against ``trove``; never raises."""
    out, err = _Captured(bool(request.get("tty"))), _Captured(False)
    try:
        args = _namespace(request)
        if request.get("command") == "similar":
            code = similar_files(trove, args, out)
        elif request.get("command") == "search":
            code = search_text(trove, args, out, err, one_shot=False)
        else:
            return {"error": "unknown command"}
    except TroveError as exc:
        err.write(f"trove: {printable(str(exc))}\n")
        code = 1
    except Exception as exc:  # the asking process then answers by itself
        log.exception("a request from another process failed")
        return {"error": f"{type(exc).__name__}: {exc}"}
    return {"exit": code, "out": out.getvalue(), "err": err.getvalue()}


def _namespace(request: Request) -> argparse.Namespace:
    since = request.get("since")
    return argparse.Namespace(
        text=str(request.get("text", "")),
        file=str(request.get("file", "")),
        limit=int(request.get("limit", 10)),
        json=bool(request.get("json")),
        all=bool(request.get("all")),
        type=[str(t) for t in request.get("type") or []],
        folder=request.get("folder"),
        since=datetime.fromisoformat(since) if since else None,
    )


def serve_answers(locations: Locations, handler: Handler) -> AnswerServer | None:
    """Answer other processes' searches from now on, each with ``handler`` (``answer``
    with a read-only Trove); the server to stop, or None when another Trove answers."""
    server = AnswerServer(socket_path(locations), handler)
    return server if server.start() else None
