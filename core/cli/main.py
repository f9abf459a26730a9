"""Parsing ``trove`` commands and running them against the core.

A mistake the user can fix prints one line and exits non-zero; a traceback means a bug.
"""

from __future__ import annotations

import argparse
import errno
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, NoReturn

import apsw

from core.cli.answers import (
    answer,
    ask_running,
    search_text,
    searched,
    serve_answers,
    similar_files,
)
from core.cli.interrupt import Interrupt
from core.cli.output import (
    ProgressLine,
    print_json,
    printable,
    private_lines,
    private_rules_help,
    result_json,
)
from core.dates import parse_since as since
from core.errors import ConfigError, DiskFull, IndexDamaged, StoreError, TroveError
from core.events import CancelToken, Event, FileFailed, Finished, Notice, Progress, ScanDone
from core.paths import Locations

if TYPE_CHECKING:
    from core.app import Trove
    from core.watch.watcher import Batch

Handler = Callable[[argparse.Namespace, IO[str]], int]
FRONTENDS = "trove.frontends"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args, sys.stdout)
    except TroveError as exc:
        print(f"trove: {printable(str(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("trove: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except (apsw.Error, OSError) as exc:
        known = known_condition(exc)
        if known is None:
            raise  # a bug: let it show as one
        print(f"trove: {printable(str(known))}", file=sys.stderr)
        return 1


def known_condition(error: BaseException) -> TroveError | None:
    """A damaged index or a full disk met outside the store's own translation (a
    query, the writer lock's file), as the message a person can act on."""
    from core.store.connection import explained

    database = Locations.from_environment().database
    if isinstance(error, apsw.Error):
        return explained(error, database)
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskFull(error.filename or database.parent)
    if isinstance(error, OSError) and error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        where = error.filename or database.parent
        return StoreError(f"Trove cannot write {where} ({error.strerror}); check who owns it")
    return None


class _Parser(argparse.ArgumentParser):
    """argparse, but an error quoting what was typed shows its control characters
    escaped (the sub-commands' parsers are of this class too)."""

    def error(self, message: str) -> NoReturn:
        super().error(printable(message))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="trove", description="Find files on your computer by what they mean.")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    add = commands.add_parser("add", help="watch a folder (then run `trove index`)")
    add.add_argument("folder", type=_name)
    add.add_argument(
        "--ignore",
        action="append",
        default=[],
        type=_text,
        metavar="PATTERN",
        help="gitignore-style pattern to skip in this folder (repeatable)",
    )
    add.add_argument(
        "--poll",
        action="store_true",
        help="watch by polling: for network shares and removable drives",
    )
    add.set_defaults(handler=cmd_add)

    remove = commands.add_parser("remove", help="stop watching a folder and forget its files")
    remove.add_argument("folder", type=_name)
    remove.set_defaults(handler=cmd_remove)

    index = commands.add_parser("index", help="bring the index up to date with the folders")
    index.add_argument(
        "--rebuild", action="store_true", help="re-embed everything (after changing the model)"
    )
    index.set_defaults(handler=cmd_index)

    watch = commands.add_parser("watch", help="keep the index up to date as files change")
    watch.add_argument(
        "--poll",
        action="append",
        default=[],
        metavar="FOLDER",
        help="check FOLDER by polling (network shares, removable drives; repeatable)",
    )
    watch.add_argument(
        "--reconcile",
        type=_positive,
        metavar="MINUTES",
        help="look at every folder in full this often, for changes the OS missed "
        "(default: the reconcile_minutes setting, 15)",
    )
    watch.set_defaults(handler=cmd_watch)

    search = commands.add_parser("search", help="rank files by meaning")
    search.add_argument("text", nargs="?", type=_text, help="what you are looking for")
    search.add_argument(
        "--batch",
        metavar="FILE",
        help='one JSON object per line, {"id": ..., "text": ...} ("-": stdin)',
    )
    _add_result_options(search, default_limit=10)
    search.add_argument(
        "--all",
        action="store_true",
        help="show weak matches too (by default files below the relevance floor are hidden)",
    )
    search.add_argument(
        "--type",
        action="append",
        default=[],
        metavar="TYPE",
        help="only these file types: pdf, docx, markdown, md, py, ... (repeatable)",
    )
    search.add_argument(
        "--in", dest="folder", type=_name, metavar="DIR", help="only files below DIR"
    )
    search.add_argument(
        "--since",
        metavar="DATE",
        type=parse_since,
        help="only files modified since DATE (2024-05-01, or 7d, 3w, 6m, 1y)",
    )
    search.set_defaults(handler=cmd_search)

    similar = commands.add_parser("similar", help="files similar to a file")
    similar.add_argument("file", type=_name)
    _add_result_options(similar, default_limit=10)
    similar.set_defaults(handler=cmd_similar)

    status = commands.add_parser("status", help="what is indexed, pending and failed")
    status.add_argument("--failed", action="store_true", help="list the files that failed")
    status.set_defaults(handler=cmd_status)

    allow = commands.add_parser(
        "allow",
        help="read one file a private rule skips (a credentials.json that is a document)",
        description="Let Trove read one file that a private rule below matched by its name,\n"
        "from the next `trove index` on (restart a running `trove watch` or window).\n"
        "Only single files: never a folder, nor a file inside a private folder.",
        epilog=private_rules_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    allow.add_argument("file")
    allow.add_argument("--remove", action="store_true", help="skip FILE again")
    allow.set_defaults(handler=cmd_allow)

    retry = commands.add_parser("retry", help="read failed files again on the next index run")
    retry.set_defaults(handler=cmd_retry)

    repair = commands.add_parser(
        "repair",
        help="move a damaged index aside (it is kept, not deleted) and start a new one "
        "for the same folders",
    )
    repair.add_argument(
        "--force", action="store_true", help="even if the index passes its integrity check"
    )
    repair.set_defaults(handler=cmd_repair)

    doctor = commands.add_parser("doctor", help="check that Trove's parts work here")
    doctor.add_argument(
        "--self-test",
        action="store_true",
        help="prove every part works together (model, extraction workers, sqlite-vec, "
        "watcher, window) in a temporary index; your own index is not touched",
    )
    doctor.set_defaults(handler=cmd_doctor)

    mcp = commands.add_parser(
        "mcp",
        help="answer an AI assistant over MCP (stdio): search, similar, read, status; read-only",
    )
    mcp.set_defaults(handler=cmd_mcp)

    gui = commands.add_parser("gui", help="open the Trove window")
    gui.add_argument("--search", type=_text, metavar="TEXT", help="open with TEXT searched for")
    gui.add_argument(
        "--self-test",
        action="store_true",
        help="with --search: exit 0 once the window shows results, non-zero if it cannot",
    )
    gui.set_defaults(handler=cmd_gui)
    return parser


def _add_result_options(parser: argparse.ArgumentParser, default_limit: int) -> None:
    parser.add_argument("--json", action="store_true", help="print results as JSON")
    parser.add_argument(
        "--limit",
        type=_positive,
        default=default_limit,
        metavar="N",
        help=f"at most N files (default {default_limit})",
    )


def _positive(value: str) -> int:
    # isdigit() alone admits "²", which int() refuses.
    number = int(value) if value.isascii() and value.isdigit() else 0
    if number <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, not {value!r}")
    return number


def parse_since(value: str) -> datetime:
    try:
        return since(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _text(value: str) -> str:
    # Python turns bytes that are not UTF-8 into lone surrogates, which neither the
    # model nor the index can take; they come from a terminal set to another encoding.
    if not _is_utf8(value):
        raise argparse.ArgumentTypeError(
            f"'{printable(value)}' is not UTF-8 text; set the terminal to UTF-8"
        )
    return value


def _name(value: str) -> str:
    if not _is_utf8(value):
        raise argparse.ArgumentTypeError(
            f"'{printable(value)}' is not a UTF-8 name, and Trove reads only UTF-8 names "
            "(rename it)"
        )
    return value


def _is_utf8(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# -- commands ----------------------------------------------------------------------------


def _open() -> Trove:
    """Trove on the user's index.  Imported here: loading the core's libraries takes a
    third of a second, which a search answered by a running Trove never needs."""
    from core.app import Trove

    return Trove.open()


def cmd_gui(args: argparse.Namespace, out: IO[str]) -> int:
    # The core does not know the desktop package; the window is found the way any
    # front end is, through the entry points installed with Trove.
    from importlib.metadata import entry_points

    found = entry_points(group=FRONTENDS, name="gui")
    if not found:
        raise ConfigError("the desktop app is not installed (reinstall Trove)")
    start: Callable[[list[str]], int] = next(iter(found)).load()
    options = ["--search", args.search] if args.search else []
    return start(["trove", *options, *(["--self-test"] if args.self_test else [])])


def cmd_mcp(args: argparse.Namespace, out: IO[str]) -> int:
    from core.mcp_server import serve

    return serve()


def cmd_add(args: argparse.Namespace, out: IO[str]) -> int:
    with _open() as trove:
        folder = trove.add_folder(args.folder, "\n".join(args.ignore), poll=args.poll)
    how = " by polling" if folder.poll else ""
    out.write(
        f"Watching {printable(folder.path)}{how}. "
        "Run `trove index` (or `trove watch`) to index it.\n"
    )
    return 0


def cmd_remove(args: argparse.Namespace, out: IO[str]) -> int:
    with _open() as trove:
        removed = trove.remove_folder(args.folder)
    out.write(f"Stopped watching {printable(args.folder)}; {removed} files left the index.\n")
    return 0


def cmd_index(args: argparse.Namespace, out: IO[str]) -> int:
    with _open() as trove:
        if not trove.folders():
            raise ConfigError("no folders to index; add one with `trove add FOLDER`")
        cancel = CancelToken()
        try:
            finished = _follow(_index_run(trove, cancel, args.rebuild), out)
        except KeyboardInterrupt:
            cancel.cancel()
            raise
    return 0 if finished is not None and not finished.cancelled else 1


def _index_run(trove: Trove, cancel: CancelToken, rebuild: bool) -> Iterator[Event]:
    if not rebuild:
        return trove.index(cancel)
    from core.model_switch import rebuild as rebuilt

    return rebuilt(trove, cancel)


def _follow(events: Iterator[object], out: IO[str]) -> Finished | None:
    bar, finished = ProgressLine(), None
    for event in events:
        if isinstance(event, Progress):
            bar.show(event)
        elif isinstance(event, Notice):
            print(f"trove: {printable(event.message)}", file=sys.stderr)
        elif isinstance(event, ScanDone):
            out.write(
                f"{event.files_seen} files: {event.unchanged} unchanged, "
                f"{event.to_index} to read, {event.moved} moved, {event.copied} copies, "
                f"{event.deleted} gone.\n"
            )
        elif isinstance(event, FileFailed):
            pass  # summarised at the end; `trove status --failed` lists them
        elif isinstance(event, Finished):
            bar.done()
            finished = event
            out.write(
                f"Indexed {event.files_indexed} files ({event.chunks_embedded} passages) "
                f"in {event.elapsed_s:.1f}s; {_failed_summary(event.failures)}.\n"
            )
    return finished


def _failed_summary(failures: list[FileFailed]) -> str:
    """ "3 failed", with the files of a kind Trove does not read counted apart, as
    `trove status` counts them."""
    from core.extract.base import Category

    unsupported = sum(1 for f in failures if f.category == Category.UNSUPPORTED)
    failed = f"{len(failures) - unsupported} failed"
    return f"{failed}, {unsupported} unsupported" if unsupported else failed


def cmd_watch(args: argparse.Namespace, out: IO[str]) -> int:
    # Ctrl-C is taken over before anything slow starts: from here on it ends the watch
    # within moments, whatever the watcher is doing (core.cli.interrupt).
    with Interrupt(out, "Stopped watching.\n") as interrupt:
        _watch(args, out, interrupt.token)
    return 0


def _watch(args: argparse.Namespace, out: IO[str], cancel: CancelToken) -> None:
    from core.watch.watcher import Batch, Watcher, WatchOptions

    with _open() as trove:
        if not trove.folders():
            raise ConfigError("no folders to watch; add one with `trove add FOLDER`")
        minutes = args.reconcile or trove.settings.reconcile_minutes
        polled = {f.path for f in trove.folders() if f.poll} | set(args.poll)
        options = WatchOptions(poll=frozenset(polled), reconcile_every_s=minutes * 60.0)
        # `trove search` asks this process, which has its model loaded.
        reader = trove.reader()
        answering = serve_answers(trove.locations, lambda request: answer(reader, request))
        out.write(f"Watching {len(trove.folders())} folders; Ctrl-C stops.\n")
        out.flush()
        try:
            for event in Watcher(trove, options).events(cancel):
                if isinstance(event, Batch):
                    out.write(_batch_line(event))
                    out.flush()
                elif isinstance(event, Notice):
                    print(f"trove: {printable(event.message)}", file=sys.stderr)
        finally:
            if answering is not None:
                answering.stop()
            reader.close()


def _batch_line(batch: Batch) -> str:
    return (
        f"{datetime.now():%H:%M:%S} {batch.reason}: {batch.paths} paths, "
        f"{batch.indexed} indexed, {batch.moved} moved, {batch.copied} copies, "
        f"{batch.deleted} gone, {batch.failed} failed ({batch.elapsed_s:.1f}s)\n"
    )


def cmd_search(args: argparse.Namespace, out: IO[str]) -> int:
    if (args.text is None) == (args.batch is None):
        raise ConfigError("give either the search text or --batch FILE")
    if args.batch is None and (code := ask_running("search", args, out)) is not None:
        return code
    with _open() as trove:
        if args.batch is not None:
            return _search_batch(trove, args, out)
        return search_text(trove, args, out, sys.stderr, one_shot=True)


def _search_batch(trove: Trove, args: argparse.Namespace, out: IO[str]) -> int:
    # Read as bytes: a line that is not UTF-8 is then the user's mistake, with its number.
    source = sys.stdin.buffer if args.batch == "-" else _open_bytes(args.batch)
    with source:
        for number, raw in enumerate(source, 1):
            line = _decoded(raw, number)
            if not line.strip():
                continue
            query_id, text = _batch_query(line, number)
            results = searched(trove, args, text, floor=not args.all)
            print_json({"id": query_id, "results": [result_json(r) for r in results]}, out)
    return 0


def _open_bytes(path: str) -> IO[bytes]:
    try:
        return open(path, "rb")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None


def _decoded(raw: bytes, number: int) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"line {number} of the batch is not UTF-8 text") from None


def _batch_query(line: str, number: int) -> tuple[object, str]:
    try:
        record = json.loads(line)
    except ValueError:
        raise ConfigError(f"line {number} of the batch is not JSON") from None
    if not isinstance(record, dict) or not isinstance(record.get("text"), str):
        raise ConfigError(f'line {number} of the batch needs {{"id": ..., "text": "..."}}')
    if not _is_utf8(record["text"]):  # a lone surrogate, written as \udc80 in JSON
        raise ConfigError(f"line {number} of the batch holds text that is not Unicode")
    return record.get("id", number), record["text"]


def cmd_similar(args: argparse.Namespace, out: IO[str]) -> int:
    if (code := ask_running("similar", args, out)) is not None:
        return code
    with _open() as trove:
        return similar_files(trove, args, out)


def cmd_status(args: argparse.Namespace, out: IO[str]) -> int:
    with _open() as trove:
        status = trove.status()
        failures = trove.store.failures() if args.failed else []
        partial = trove.store.partly_indexed() if args.failed else []
        allowed = trove.settings.allowed_private_files
    if args.failed:
        for path, category, reason in failures:
            out.write(f"{printable(path)}\n    {printable(category)}: {printable(reason)}\n")
        if not failures:
            out.write("No failed files.\n")
        if partial:
            out.write(f"\nPartly indexed ({len(partial)}):\n")
            out.writelines(f"{printable(p)}\n    {printable(note)}\n" for p, note in partial)
        return 0
    states = status.states
    out.write(f"Index:    {printable(str(status.database))}\n")
    out.write(
        f"Model:    {printable(status.model or status.configured_model)}"
        + (f" ({status.dimension} dimensions)\n" if status.dimension else "\n")
    )
    if status.model and status.model != status.configured_model:
        out.write(
            f"          settings ask for {printable(status.configured_model)}: "
            "run `trove index --rebuild`\n"
        )
    if status.picture_model:
        out.write(
            f"Pictures: by what they show, with {printable(status.picture_model)} "
            f"({status.pictures:,} embedded)\n"
        )
    out.write(f"Folders:  {len(status.folders)}\n")
    for folder in status.folders:
        out.write(f"          {printable(folder.path)}\n")
    summary = ", ".join(
        f"{states.get(s, 0)} {s}"
        for s in ("indexed", "pending", "failed", "excluded", "unsupported")
    )
    out.write(f"Files:    {summary}\n")
    out.write(f"Passages: {status.chunks}\n")
    out.write(private_lines(allowed))
    return 0


def cmd_allow(args: argparse.Namespace, out: IO[str]) -> int:
    with _open() as trove:
        path = trove.allow_private_file(args.file, allow=not args.remove)
    if args.remove:
        out.write(f"Skipping {printable(path)} again; `trove index` takes it out of the index.\n")
    else:
        out.write(f"Allowed {printable(path)}; `trove index` reads it.\n")
    return 0


def cmd_retry(args: argparse.Namespace, out: IO[str]) -> int:
    with _open() as trove:
        count = trove.retry_failed()
    out.write(f"{count} failed files will be read again by `trove index`.\n")
    return 0


def cmd_repair(args: argparse.Namespace, out: IO[str]) -> int:
    from core.store.damage import set_aside

    database = Locations.from_environment().database
    if not database.exists():
        raise ConfigError(f"there is no index at {database} to repair")
    problem = _damage(database)
    if problem is None and not args.force:
        out.write(
            f"The index at {printable(str(database))} passes its integrity check; "
            "nothing to repair.\n"
        )
        return 0
    recovery = set_aside(database)
    out.write(f"Moved the index to {printable(str(recovery.moved_to))} (nothing was deleted).\n")
    if recovery.folders:
        out.write(f"A new index watches the same {len(recovery.folders)} folders:\n")
        out.writelines(f"    {printable(folder.path)}\n" for folder in recovery.folders)
        out.write("Run `trove index` (or `trove watch`) to read them again.\n")
    else:
        out.write("No folders could be read from it; add yours again with `trove add`.\n")
    return 0


def _damage(database: Path) -> str | None:
    """What is wrong with the index file, or None if it is sound."""
    from core.store import Store

    try:
        store = Store.open(database, readonly=True)
    except IndexDamaged as exc:
        return exc.detail
    try:
        verdict = store.integrity_check()
    except IndexDamaged as exc:
        return exc.detail
    finally:
        store.close()
    return None if verdict == "ok" else verdict


def cmd_doctor(args: argparse.Namespace, out: IO[str]) -> int:
    from core.cli.doctor import run_doctor

    return run_doctor(out, self_test=args.self_test)
