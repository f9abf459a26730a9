"""Parsing ``trove`` commands and running them against the core.

A mistake the user can fix prints one line and exits non-zero; a traceback means a bug.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import IO, TYPE_CHECKING

from core.app import Trove
from core.cli.doctor import run_doctor
from core.cli.output import ProgressLine, print_json, print_results, result_json
from core.errors import ConfigError, TroveError
from core.events import CancelToken, FileFailed, Finished, Notice, Progress, ScanDone

if TYPE_CHECKING:
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
        print(f"trove: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("trove: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trove", description="Find files on your computer by what they mean."
    )
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    add = commands.add_parser("add", help="watch a folder (then run `trove index`)")
    add.add_argument("folder")
    add.add_argument(
        "--ignore",
        action="append",
        default=[],
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
    remove.add_argument("folder")
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
    search.add_argument("text", nargs="?", help="what you are looking for")
    search.add_argument(
        "--batch",
        metavar="FILE",
        help='one JSON object per line, {"id": ..., "text": ...} ("-": stdin)',
    )
    _add_result_options(search, default_limit=10)
    search.add_argument(
        "--type",
        action="append",
        default=[],
        metavar="TYPE",
        help="only these file types: pdf, docx, markdown, md, py, ... (repeatable)",
    )
    search.add_argument("--in", dest="folder", metavar="DIR", help="only files below DIR")
    search.add_argument(
        "--since",
        metavar="DATE",
        type=parse_since,
        help="only files modified since DATE (2024-05-01, or 7d, 3w, 6m, 1y)",
    )
    search.set_defaults(handler=cmd_search)

    similar = commands.add_parser("similar", help="files similar to a file")
    similar.add_argument("file")
    _add_result_options(similar, default_limit=10)
    similar.set_defaults(handler=cmd_similar)

    status = commands.add_parser("status", help="what is indexed, pending and failed")
    status.add_argument("--failed", action="store_true", help="list the files that failed")
    status.set_defaults(handler=cmd_status)

    retry = commands.add_parser("retry", help="read failed files again on the next index run")
    retry.set_defaults(handler=cmd_retry)

    doctor = commands.add_parser("doctor", help="check that Trove's parts work here")
    doctor.add_argument(
        "--self-test",
        action="store_true",
        help="prove every part works together (model, extraction workers, sqlite-vec, "
        "watcher, window) in a temporary index; your own index is not touched",
    )
    doctor.set_defaults(handler=cmd_doctor)

    gui = commands.add_parser("gui", help="open the Trove window")
    gui.add_argument("--search", metavar="TEXT", help="open with TEXT searched for")
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
    number = int(value) if value.isdigit() else 0
    if number <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, not {value!r}")
    return number


def parse_since(value: str) -> datetime:
    relative = re.fullmatch(r"(\d+)([dwmy])", value.strip().lower())
    if relative:
        days = int(relative.group(1)) * {"d": 1, "w": 7, "m": 30, "y": 365}[relative.group(2)]
        return datetime.now() - timedelta(days=days)
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a date; use 2024-05-01 or 7d, 3w, 6m, 1y"
        ) from None


# -- commands ----------------------------------------------------------------------------


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


def cmd_add(args: argparse.Namespace, out: IO[str]) -> int:
    with Trove.open() as trove:
        folder = trove.add_folder(args.folder, "\n".join(args.ignore), poll=args.poll)
    how = " by polling" if folder.poll else ""
    out.write(f"Watching {folder.path}{how}. Run `trove index` (or `trove watch`) to index it.\n")
    return 0


def cmd_remove(args: argparse.Namespace, out: IO[str]) -> int:
    with Trove.open() as trove:
        removed = trove.remove_folder(args.folder)
    out.write(f"Stopped watching {args.folder}; {removed} files left the index.\n")
    return 0


def cmd_index(args: argparse.Namespace, out: IO[str]) -> int:
    with Trove.open() as trove:
        if not trove.folders():
            raise ConfigError("no folders to index; add one with `trove add FOLDER`")
        cancel = CancelToken()
        try:
            finished = _follow(trove.index(cancel, rebuild=args.rebuild), out)
        except KeyboardInterrupt:
            cancel.cancel()
            raise
    return 0 if finished is not None and not finished.cancelled else 1


def _follow(events: Iterator[object], out: IO[str]) -> Finished | None:
    bar, finished = ProgressLine(), None
    for event in events:
        if isinstance(event, Progress):
            bar.show(event)
        elif isinstance(event, Notice):
            print(f"trove: {event.message}", file=sys.stderr)
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
                f"in {event.elapsed_s:.1f}s; {event.files_failed} failed.\n"
            )
    return finished


def cmd_watch(args: argparse.Namespace, out: IO[str]) -> int:
    from core.watch.watcher import Batch, Watcher, WatchOptions

    with Trove.open() as trove:
        if not trove.folders():
            raise ConfigError("no folders to watch; add one with `trove add FOLDER`")
        minutes = args.reconcile or trove.settings.reconcile_minutes
        polled = {f.path for f in trove.folders() if f.poll} | set(args.poll)
        options = WatchOptions(poll=frozenset(polled), reconcile_every_s=minutes * 60.0)
        out.write(f"Watching {len(trove.folders())} folders; Ctrl-C stops.\n")
        out.flush()
        try:
            for event in Watcher(trove, options).events():
                if isinstance(event, Batch):
                    out.write(_batch_line(event))
                    out.flush()
                elif isinstance(event, Notice):
                    print(f"trove: {event.message}", file=sys.stderr)
        except KeyboardInterrupt:
            out.write("Stopped watching.\n")
    return 0


def _batch_line(batch: Batch) -> str:
    return (
        f"{datetime.now():%H:%M:%S} {batch.reason}: {batch.paths} paths, "
        f"{batch.indexed} indexed, {batch.moved} moved, {batch.copied} copies, "
        f"{batch.deleted} gone, {batch.failed} failed ({batch.elapsed_s:.1f}s)\n"
    )


def cmd_search(args: argparse.Namespace, out: IO[str]) -> int:
    if (args.text is None) == (args.batch is None):
        raise ConfigError("give either the search text or --batch FILE")
    with Trove.open() as trove:
        if not trove.store.state_counts().get("indexed"):
            print(
                "trove: nothing is indexed yet; `trove add FOLDER`, then `trove index`",
                file=sys.stderr,
            )
        if args.batch is not None:
            return _search_batch(trove, args, out)
        results = trove.search(
            args.text, args.limit, types=args.type, folder=args.folder, since=args.since
        )
        if args.json:
            print_json([result_json(r) for r in results], out)
        else:
            print_results(results, out)
    return 0


def _search_batch(trove: Trove, args: argparse.Namespace, out: IO[str]) -> int:
    source = sys.stdin if args.batch == "-" else _open_text(args.batch)
    with source:
        for number, line in enumerate(source, 1):
            if not line.strip():
                continue
            query_id, text = _batch_query(line, number)
            results = trove.search(
                text, args.limit, types=args.type, folder=args.folder, since=args.since
            )
            print_json({"id": query_id, "results": [result_json(r) for r in results]}, out)
    return 0


def _open_text(path: str) -> IO[str]:
    try:
        return open(path, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None


def _batch_query(line: str, number: int) -> tuple[object, str]:
    try:
        record = json.loads(line)
    except ValueError:
        raise ConfigError(f"line {number} of the batch is not JSON") from None
    if not isinstance(record, dict) or not isinstance(record.get("text"), str):
        raise ConfigError(f'line {number} of the batch needs {{"id": ..., "text": "..."}}')
    return record.get("id", number), record["text"]


def cmd_similar(args: argparse.Namespace, out: IO[str]) -> int:
    with Trove.open() as trove:
        results = trove.similar(args.file, args.limit)
    if args.json:
        print_json([result_json(r) for r in results], out)
    else:
        print_results(results, out)
    return 0


def cmd_status(args: argparse.Namespace, out: IO[str]) -> int:
    with Trove.open() as trove:
        status = trove.status()
        failures = trove.store.failures() if args.failed else []
    if args.failed:
        for path, category, reason in failures:
            out.write(f"{path}\n    {category}: {reason}\n")
        if not failures:
            out.write("No failed files.\n")
        return 0
    states = status.states
    out.write(f"Index:    {status.database}\n")
    out.write(
        f"Model:    {status.model or status.configured_model}"
        + (f" ({status.dimension} dimensions)\n" if status.dimension else "\n")
    )
    if status.model and status.model != status.configured_model:
        out.write(
            f"          settings ask for {status.configured_model}: run `trove index --rebuild`\n"
        )
    out.write(f"Folders:  {len(status.folders)}\n")
    for folder in status.folders:
        out.write(f"          {folder.path}\n")
    summary = ", ".join(
        f"{states.get(s, 0)} {s}"
        for s in ("indexed", "pending", "failed", "excluded", "unsupported")
    )
    out.write(f"Files:    {summary}\n")
    out.write(f"Passages: {status.chunks}\n")
    return 0


def cmd_retry(args: argparse.Namespace, out: IO[str]) -> int:
    with Trove.open() as trove:
        count = trove.retry_failed()
    out.write(f"{count} failed files will be read again by `trove index`.\n")
    return 0


def cmd_doctor(args: argparse.Namespace, out: IO[str]) -> int:
    return run_doctor(out, self_test=args.self_test)
