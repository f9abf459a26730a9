"""Trove as an MCP server: an AI assistant searches and reads the index over stdio.

The assistant's client starts ``trove mcp`` as a subprocess and speaks JSON-RPC on its
stdin and stdout, so stdout carries nothing else: logging goes to stderr, and while it
serves, the SDK points file descriptor 1 at stderr (a library that prints while the
model loads cannot break a frame).

Read-only: every tool goes through ``core.service.Service``, which opens the index
read-only, reads only indexed text and bounds every size.  A refusal (bad arguments, a
path outside the index, any TroveError) comes back as a tool result with ``isError`` and
one line saying why; the server keeps running.
"""

from __future__ import annotations

import inspect
import logging
import sys
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Annotated, Any, TypeVar

import anyio
import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp_types import CallToolResult, InputRequiredResult, ToolAnnotations
from pydantic import Field, ValidationError

from core.errors import TroveError
from core.paths import Locations
from core.service import MAX_LIMIT, MAX_READ, Service

log = logging.getLogger(__name__)
T = TypeVar("T")

INSTRUCTIONS = (
    "Trove is a semantic index of the user's own files (documents, notes, PDFs, code). "
    "Use `search` to find files by what they are about, `read` to see a file's text, "
    "`similar` to find files like one you already have, `status` to see what is indexed."
)
SEARCH = (
    "Find the user's files by meaning, not only by exact words: describe what the file is "
    "about or ask a question. Returns {results: [...]}, best first, each with path, title, "
    "score (0-1), location (heading or page), passage (number, for `read`), text (the "
    "matched passage), kind and modified (ISO time). An empty list means nothing matched "
    "well; rephrase, or widen the filters."
)
SIMILAR = (
    "Files whose content is closest in meaning to an indexed file (the file itself is "
    "left out). Returns {results: [...]} shaped like `search`'s."
)
READ = (
    "The text of an indexed file as Trove extracted it: from a passage number (as a "
    "search result gives it; that passage and the next few) or a character range "
    f"start-end; the whole file when neither is given. At most {MAX_READ} characters a "
    "call: returns path, start, end, length (of the whole text), passages (how many the "
    "file has), more (true when text follows end; read on from end) and text."
)
STATUS = (
    "What Trove has indexed: the watched folders, file counts by state, the number of "
    "passages, and the embedding model. Use it when searches find nothing, to see where "
    "Trove looks."
)

Query = Annotated[str, Field(description="What to look for, in plain words.")]
Limit = Annotated[int, Field(description=f"How many files at most, 1 to {MAX_LIMIT}.")]
Kinds = Annotated[
    str | list[str] | None,
    Field(description='Only these file types: kinds or extensions such as "pdf", "md", "code".'),
]
Folder = Annotated[str | None, Field(description="Only files inside this folder (a path).")]
Since = Annotated[
    str | None,
    Field(description='Only files modified since a date ("2024-05-01") or a span ("7d", "6m").'),
]
FilePath = Annotated[str, Field(description="Path of an indexed file, as search results give it.")]
Number = Annotated[int | None, Field(description="A passage number from a search result.")]
Offset = Annotated[int | None, Field(description="Character offset in the file's text.")]


class Tools:
    """The four tools over one Service.  Its calls block (embedding, SQLite) and it is not
    thread-safe, so each call runs on a worker thread, one at a time: the event loop stays
    free to answer tools/list and pings while a search runs."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self._one_at_a_time = anyio.Lock()

    async def search(
        self,
        query: Query,
        limit: Limit = 10,
        type: Kinds = None,
        folder: Folder = None,
        since: Since = None,
    ) -> dict[str, Any]:
        types = [type] if isinstance(type, str) else type
        found = await self._call(
            self.service.search, query, limit, types=types, folder=folder, since=since
        )
        return {"results": found}

    async def similar(self, path: FilePath, limit: Limit = 10) -> dict[str, Any]:
        return {"results": await self._call(self.service.similar, path, limit)}

    async def read(
        self, path: FilePath, passage: Number = None, start: Offset = None, end: Offset = None
    ) -> dict[str, Any]:
        return await self._call(self.service.read, path, passage=passage, start=start, end=end)

    async def status(self) -> dict[str, Any]:
        return await self._call(self.service.status)

    async def _call(self, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        async with self._one_at_a_time:
            try:
                return await anyio.to_thread.run_sync(partial(method, *args, **kwargs))
            except TroveError as exc:
                raise ToolError(str(exc)) from exc

    @asynccontextmanager
    async def warming(self, _server: MCPServer[None]) -> AsyncIterator[None]:
        """Starts loading the model once the transport owns stdout, so that the first
        search does not wait for it."""
        threading.Thread(target=self._warm, name="trove-warm", daemon=True).start()
        yield

    def _warm(self) -> None:
        # Outside the call lock: warming touches only the embedder, which loads its model
        # under its own lock, so status and read need not wait for the model.
        try:
            self.service.warm()
        except TroveError as exc:
            log.warning("the model did not load (searches will say why): %s", exc)


class _Server(MCPServer[None]):
    """An MCPServer whose argument errors fit on one line (pydantic's report spans
    several, and an assistant acts on the first), and that refuses an argument its tool
    does not take, which pydantic would drop unsaid (a misspelt ``limt`` would search
    with the default limit)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.arguments: dict[str, frozenset[str]] = {}  # each tool's, by name

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[None, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        unknown = sorted(set(arguments) - self.arguments.get(name, frozenset(arguments)))
        if unknown:
            raise ToolError(f"Error executing tool {name}: unknown arguments {', '.join(unknown)}")
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            # A crash also carries a ValidationError when a result fails its own schema.
            cause = exc.__cause__
            if isinstance(exc, UnexpectedToolError) or not isinstance(cause, ValidationError):
                raise
            raise ToolError(f"Error executing tool {name}: {_one_line(cause)}") from cause


def _one_line(error: ValidationError) -> str:
    """``limit: Input should be a valid integer`` for each bad argument."""
    return "; ".join(
        f"{'.'.join(str(part) for part in detail['loc']) or 'arguments'}: {detail['msg']}"
        for detail in error.errors()
    )


def build_server(tools: Tools) -> MCPServer[None]:
    server = _Server("trove", instructions=INSTRUCTIONS, lifespan=tools.warming)
    read_only = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)
    for tool, description in (
        (tools.search, SEARCH),
        (tools.similar, SIMILAR),
        (tools.read, READ),
        (tools.status, STATUS),
    ):
        server.add_tool(tool, description=description, annotations=read_only)
        server.arguments[tool.__name__] = frozenset(inspect.signature(tool).parameters)
    return server


def serve(locations: Locations | None = None) -> int:
    """Answer MCP requests on stdin and stdout until stdin closes.  Returns 1, after one
    line on stderr, when there is no index to serve."""
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="trove mcp: %(message)s")
    try:
        service = Service.open(locations)
    except TroveError as exc:
        print(f"trove: {exc}", file=sys.stderr)
        return 1
    try:
        build_server(Tools(service)).run("stdio")
    finally:
        service.close()
    return 0


if __name__ == "__main__":
    sys.exit(serve())
