"""`trove mcp`: the real server in a subprocess, driven by the MCP SDK's stdio client, over
an index of the sample folder built by the real CLI and model.  A stand-in service checks,
without the model, that a crash becomes an error result and that calls run one at a time
off the event loop."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp_types import CallToolResult

from core.mcp_server import Tools, build_server
from core.service import MAX_READ
from tests.conftest import REPO, SAMPLE, write

SERVER = [sys.executable, "-m", "core.mcp_server"]
FICUS = "how often does my indoor ficus need a drink"  # houseplants.md: "fig", "water", "soil"
FREELANCER = "bill from the freelancer who rebuilt our online storefront"
# blank-line paragraphs, which the text extractor keeps as they are
LONG = "\n\n".join(
    "\n".join(f"Ledger line {n:05}: box {n % 97} on shelf {n % 13}." for n in range(p, p + 5))
    for p in range(0, 800, 5)
)


def _cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "core.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env=dict(os.environ, TROVE_HOME=str(home)),
    )
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    return done


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample folder plus a text longer than one read returns, indexed by `trove`;
    returns the folder (its index is in the folder's sibling ``home``)."""
    root = tmp_path_factory.mktemp("mcp")
    docs = root / "docs"
    shutil.copytree(SAMPLE, docs)
    assert len(LONG) > MAX_READ
    write(docs, "ledger.txt", LONG)
    _cli("add", str(docs), home=root / "home")
    assert "Indexed 19 files" in _cli("index", home=root / "home").stdout
    return docs


class Session:
    """The stdio client, called from plain test code through a portal to its event loop."""

    def __init__(self, portal: BlockingPortal, client: Client) -> None:
        self.portal, self.client = portal, client

    def call(self, tool: str, **arguments: Any) -> CallToolResult:
        return self.portal.call(self.client.call_tool, tool, arguments)

    def ok(self, tool: str, **arguments: Any) -> Any:
        result = self.call(tool, **arguments)
        assert not result.is_error, result.content
        return result.structured_content

    def names(self, tool: str, **arguments: Any) -> list[str]:
        """The file names of a search's or similar's results, best first."""
        return [os.path.basename(r["path"]) for r in self.ok(tool, **arguments)["results"]]

    def refused(self, tool: str, **arguments: Any) -> str:
        result = self.call(tool, **arguments)
        assert result.is_error, result.structured_content
        (content,) = result.content
        assert content.type == "text" and "\n" not in content.text, content
        return content.text


@pytest.fixture(scope="module")
def server(indexed: Path) -> Iterator[Session]:
    """One server process for the module; its stderr is kept in ``server-stderr.txt``."""
    home = {"TROVE_HOME": str(indexed.parent / "home")}
    params = StdioServerParameters(command=SERVER[0], args=SERVER[1:], env=home, cwd=REPO)
    with (
        open(indexed.parent / "server-stderr.txt", "w") as errlog,
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(Client(stdio_client(params, errlog=errlog))) as client,
    ):
        yield Session(portal, client)
    assert "Traceback" not in (indexed.parent / "server-stderr.txt").read_text()


@pytest.mark.model
def test_lists_exactly_the_four_read_only_tools(server: Session) -> None:
    tools = {tool.name: tool for tool in server.portal.call(server.client.list_tools).tools}
    assert set(tools) == {"search", "similar", "read", "status"}
    for tool in tools.values():
        assert tool.description and tool.annotations and tool.annotations.read_only_hint
    search = tools["search"].input_schema
    assert search["required"] == ["query"]
    assert search["properties"]["limit"]["type"] == "integer"
    assert set(search["properties"]) == {"query", "limit", "type", "folder", "since"}


@pytest.mark.model
def test_a_paraphrase_finds_its_file_first(server: Session, indexed: Path) -> None:
    result = server.call("search", query=FICUS, limit=3)
    assert result.structured_content is not None
    first = result.structured_content["results"][0]
    assert first["path"] == str(indexed / "houseplants.md")
    assert set(first) == {"path", "title", "score", "location", "passage", "text"} | {
        "kind",
        "modified",
    }
    assert (first["title"], first["kind"], first["passage"]) == ("houseplants.md", "markdown", 1)
    assert "top two inches of soil" in first["text"] and 0 < first["score"] <= 1
    # the text content is the same answer, for a client that reads only text
    (content,) = result.content
    assert content.type == "text" and json.loads(content.text) == result.structured_content


@pytest.mark.model
def test_filters_narrow_a_search(server: Session, indexed: Path, tmp_path: Path) -> None:
    assert server.names("search", query=FICUS, type=["md"])[0] == "houseplants.md"
    assert server.names("search", query=FICUS, type="pdf") == []
    assert server.names("search", query=FICUS, folder=str(indexed))[0] == "houseplants.md"
    assert server.names("search", query=FICUS, folder=str(tmp_path)) == []
    assert server.names("search", query=FICUS, since="2000-01-01")[0] == "houseplants.md"


@pytest.mark.model
def test_similar_files_to_an_indexed_file(server: Session, indexed: Path) -> None:
    names = server.names("similar", path=str(indexed / "lease_agreement_clause.txt"), limit=3)
    assert names[0] == "letter_to_landlord_roof.txt"  # the other letter about the rented home
    assert len(names) <= 3 and "lease_agreement_clause.txt" not in names


@pytest.mark.model
def test_read_a_passage_from_a_search_result(server: Session, indexed: Path) -> None:
    (hit,) = server.ok("search", query=FREELANCER, limit=1)["results"]
    assert os.path.basename(hit["path"]) == "invoice_web_design.txt"
    read = server.ok("read", path=hit["path"], passage=hit["passage"])
    content = Path(hit["path"]).read_text()
    assert read["text"] == content[read["start"] : read["end"]]
    assert "INV-2024-0387" in read["text"] and read["passages"] == 1


@pytest.mark.model
def test_read_a_range_and_a_huge_range_is_bounded(server: Session, indexed: Path) -> None:
    ledger = str(indexed / "ledger.txt")
    part = server.ok("read", path=ledger, start=1000, end=1500)
    assert (part["start"], part["end"], part["text"]) == (1000, 1500, LONG[1000:1500])
    whole = server.ok("read", path=ledger, start=0, end=10**12)
    assert (whole["end"], whole["more"], whole["length"]) == (MAX_READ, True, len(LONG))
    assert whole["text"] == LONG[:MAX_READ]


@pytest.mark.model
def test_status_names_the_folder_and_the_model(server: Session, indexed: Path) -> None:
    status = server.ok("status")
    assert status["folders"] == [str(indexed)]
    assert status["files"] == {"indexed": 19} and status["passages"] > 19
    assert "all-MiniLM-L6-v2" in status["model"]


@pytest.mark.model
def test_paths_outside_the_index_are_refused(
    server: Session, indexed: Path, tmp_path: Path
) -> None:
    outside = write(tmp_path, "notes.txt", "a private note that Trove does not watch")
    paths = ["/etc/passwd", str(outside), f"{indexed}/../../../../etc/passwd"]
    for path in paths:
        for tool in ("read", "similar"):
            message = server.refused(tool, path=path)
            assert message.endswith(f"{path} is not a file in Trove's index"), message
            assert "root:" not in message and "private note" not in message
    assert server.ok("status")["files"] == {"indexed": 19}  # still answering


@pytest.mark.model
@pytest.mark.parametrize(
    "tool, arguments, message",
    [
        ("delete_everything", {}, "Unknown tool: delete_everything"),
        ("search", {"query": "x", "limit": 10**9}, "limit must be between 1 and 50"),
        ("search", {"query": "x", "limit": "ten"}, "limit: Input should be a valid integer"),
        ("search", {"query": "x", "limt": 3}, "unknown arguments limt"),
        ("search", {}, "query: Field required"),
        ("search", {"query": " "}, "the query is empty"),
        ("search", {"query": "x", "since": "yesterday-ish"}, "is not a date"),
        ("search", {"query": "x", "type": "nosuchtype"}, "unknown file type 'nosuchtype'"),
        ("similar", {"path": "houseplants.md", "limit": 0}, "limit must be between 1 and 50"),
        ("read", {"path": "houseplants.md", "passage": 99}, "has passages 1 to 2"),
        ("read", {"path": "houseplants.md", "start": 50, "end": 10}, "0 <= start <= end"),
        ("read", {"path": "houseplants.md", "passage": 1, "start": 0}, "not both"),
    ],
)
def test_bad_input_is_an_error_and_the_server_keeps_running(
    server: Session, indexed: Path, tool: str, arguments: dict[str, Any], message: str
) -> None:
    if "path" in arguments:
        arguments = dict(arguments, path=str(indexed / arguments["path"]))
    assert message in server.refused(tool, **arguments)
    assert server.names("search", query=FICUS)[0] == "houseplants.md"


@pytest.mark.model
@pytest.mark.timeout(120)
def test_stdout_carries_only_the_protocol_and_closing_stdin_ends_the_server(
    indexed: Path, tmp_path: Path
) -> None:
    with (
        open(tmp_path / "stderr.txt", "w") as errlog,
        subprocess.Popen(
            SERVER,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errlog,
            text=True,
            cwd=REPO,
            env=dict(os.environ, TROVE_HOME=str(indexed.parent / "home")),
        ) as server,
    ):
        assert server.stdin is not None and server.stdout is not None
        hello = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t"}}
        search = {"name": "search", "arguments": {"query": FICUS}}
        for message in (
            {"id": 1, "method": "initialize", "params": hello},
            {"method": "notifications/initialized"},
            {"id": 2, "method": "tools/call", "params": search},
        ):
            server.stdin.write(json.dumps({"jsonrpc": "2.0", **message}) + "\n")
        server.stdin.flush()
        assert json.loads(server.stdout.readline())["id"] == 1
        answer = json.loads(server.stdout.readline())  # the model has loaded meanwhile
        assert answer["id"] == 2 and answer["result"]["structuredContent"]["results"]
        server.stdin.close()
        assert server.stdout.read() == ""  # nothing but answers, up to the end
        assert server.wait(timeout=60) == 0
    assert "Traceback" not in (tmp_path / "stderr.txt").read_text()


def test_without_an_index_it_says_so_in_one_line(tmp_path: Path) -> None:
    done = subprocess.run(
        SERVER,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        env=dict(os.environ, TROVE_HOME=str(tmp_path / "empty")),
    )
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("trove: there is no index at") and done.stderr.count("\n") == 1


# -- a stand-in service: crashes and concurrency, without the model ----------------------


class SlowService:
    """``status`` is a bug; ``warm`` and ``search`` wait until released, and ``search``
    counts who is inside."""

    def __init__(self) -> None:
        self.inside = 0
        self.most_inside = 0
        self.warming = threading.Event()
        self.warmed = threading.Event()
        self.entered = threading.Event()
        self.release = threading.Event()

    def warm(self) -> None:
        self.warming.set()
        self.release.wait(timeout=10)
        self.warmed.set()

    def status(self) -> dict[str, Any]:
        raise RuntimeError("a bug in the service")

    def search(self, query: str, limit: int, **filters: Any) -> list[dict[str, Any]]:
        self.inside += 1
        self.most_inside = max(self.most_inside, self.inside)
        self.entered.set()
        self.release.wait(timeout=10)
        self.inside -= 1
        return [{"path": f"/{query}"}]


def test_a_crash_becomes_an_error_result_with_the_traceback_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    service = SlowService()
    service.release.set()

    async def status() -> CallToolResult:
        async with Client(build_server(Tools(service))) as client:  # type: ignore[arg-type]
            return await client.call_tool("status", {})

    result = anyio.run(status)
    (content,) = result.content
    assert result.is_error and content.type == "text"
    assert content.text == "Error executing tool status"  # the SDK keeps a crash's words back
    (logged,) = [record.exc_info for record in caplog.records if record.exc_info]
    assert isinstance(logged[1].__cause__, RuntimeError)
    assert "RuntimeError: a bug in the service" in caplog.text  # the traceback, in the log


@pytest.mark.timeout(60)
def test_calls_run_one_at_a_time_while_the_server_keeps_answering() -> None:
    service = SlowService()
    seen: dict[str, Any] = {}

    async def overlap() -> list[str]:
        found: list[str] = []
        async with Client(build_server(Tools(service))) as client:  # type: ignore[arg-type]

            async def search(query: str) -> None:
                result = await client.call_tool("search", {"query": query})
                found.append(result.structured_content["results"][0]["path"])

            async with anyio.create_task_group() as tasks:
                tasks.start_soon(search, "one")
                tasks.start_soon(search, "two")
                try:
                    await anyio.to_thread.run_sync(service.entered.wait, 10)
                    seen["tools"] = len((await client.list_tools()).tools)  # while one blocks
                    seen["inside"] = service.inside
                    # the model is still loading: warm waits for the release too
                    seen["warming"] = await anyio.to_thread.run_sync(service.warming.wait, 10)
                    seen["warmed"] = service.warmed.is_set()
                finally:
                    service.release.set()
        return found

    assert sorted(anyio.run(overlap)) == ["/one", "/two"]
    assert seen == {"tools": 4, "inside": 1, "warming": True, "warmed": False}
    assert service.most_inside == 1


# -- last: it adds files to the module's folder ------------------------------------------

SERIAL = "APIARY-77310"


@contextmanager
def _watching(home: Path, log: Path) -> Iterator[subprocess.Popen[str]]:
    """`trove watch` on ``home`` for the block, then Ctrl-C: it must stop cleanly.  Its
    stderr goes to ``log``, a file, since a full pipe would stall it."""
    with (
        open(log, "w") as errlog,
        subprocess.Popen(
            [sys.executable, "-m", "core.cli", "watch"],
            stdout=subprocess.PIPE,
            stderr=errlog,
            text=True,
            cwd=REPO,
            env=dict(os.environ, TROVE_HOME=str(home)),
        ) as watch,
    ):
        try:
            yield watch
        finally:
            watch.send_signal(signal.SIGINT)
            watch.wait(timeout=60)
    assert watch.returncode == 0 and "Traceback" not in log.read_text(), log.read_text()


@pytest.mark.model
@pytest.mark.timeout(240)
def test_searches_succeed_while_trove_watch_writes_the_index(
    server: Session, indexed: Path, tmp_path: Path
) -> None:
    with _watching(indexed.parent / "home", tmp_path / "watch-stderr.txt") as watch:
        assert watch.stdout is not None
        assert watch.stdout.readline().startswith("Watching 1 folders")
        for n in range(12):
            write(indexed / "hives", f"inspection_{n}.txt", f"Hive {n} inspected. {LONG[:3000]}")
        write(indexed / "hives", "honey.txt", f"Batch {SERIAL}: 14 jars of honey from hive 3.")
        searches = 0
        deadline = time.monotonic() + 180
        while (found := server.ok("search", query=SERIAL)["results"]) == []:
            searches += 1
            time.sleep(0.05)  # a poll, not a wait: each turn is a search during the writes
            assert watch.poll() is None and time.monotonic() < deadline, "no new file found"
        assert found[0]["path"] == str(indexed / "hives" / "honey.txt") and searches > 0
        assert SERIAL in server.ok("read", path=found[0]["path"])["text"]
