"""One MCP server as a :class:`~ballsy.tools.base.ToolSource`.

A background task owns the connection (the SDK's sessions are anyio contexts, entered
and left by one task): it connects, lists the tools, then waits — relisting when the
server says its list changed, pinging when it has been quiet — until it is closed or
the connection fails. While the server is down its tools are withdrawn, so the model is
not offered what cannot run, and the task reconnects with backoff. Nothing here blocks
start-up or a turn: ``start`` returns at once and a call is bounded by
``MCP_CALL_TIMEOUT``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any, Literal

import anyio
import mcp_types
from mcp import ClientSession
from mcp.client.session import IncomingMessage
from mcp.shared.exceptions import MCPError

from ballsy import __version__
from ballsy.config import McpServerSettings
from ballsy.llm.base import ToolSpec
from ballsy.observability.logging import get_logger
from ballsy.tools.base import ToolContext, ToolFailed
from ballsy.tools.mcp.catalog import McpTool, catalog, result_text
from ballsy.tools.mcp.metrics import MCP_CONNECTIONS, MCP_SERVER_UP, MCP_TOOLS
from ballsy.tools.mcp.transport import open_transport

log = get_logger("ballsy.mcp")

Outcome = Literal["ok", "error", "timeout", "unavailable"]
# A call's own deadline is the SDK's request timeout; this is the guard around it, for a
# transport that stops moving altogether (a full pipe to a frozen child).
_GUARD_SECONDS = 1.0
# How long ``close`` lets a connected session end cleanly before cancelling it, and how
# long the SDK's shutdown of a stdio process may take (2 s for it to exit on its own,
# 2 s after SIGTERM, 2 s after SIGKILL).
_CLOSE_GRACE_SECONDS = 3.0
_SHUTDOWN_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class Backoff:
    """Seconds between reconnection attempts: ``first``, doubling up to ``most``."""

    first: float = 1.0
    most: float = 60.0

    def delays(self) -> Iterator[float]:
        delay = self.first
        while True:
            yield delay
            delay = min(delay * 2, self.most)


class ConnectionLost(Exception):
    """The connection stopped answering; it is replaced."""


def _describe(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        return _describe(exc.exceptions[0])
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class McpServer:
    """One ``MCP_SERVERS`` entry: its tools while connected, and calls to them."""

    def __init__(
        self,
        config: McpServerSettings,
        *,
        call_timeout: float,
        connect_timeout: float,
        ping_interval: float,
        backoff: Backoff | None = None,
    ) -> None:
        self.name = config.name
        self.config = config
        self._call_timeout = call_timeout
        self._connect_timeout = connect_timeout
        self._ping_interval = ping_interval
        self._backoff = backoff or Backoff()
        self._tools: dict[str, McpTool] = {}
        self._session: ClientSession | None = None
        self._task: asyncio.Task[None] | None = None
        self._scope = anyio.CancelScope()
        self._wake = asyncio.Event()
        self._ready = asyncio.Event()
        self._stopping = False
        self._relist = False
        self._check = False
        self._live = False
        self._lost: str | None = None
        """Why the live connection must be replaced (a call saw it close)."""
        MCP_SERVER_UP.labels(self.name).set(0)
        MCP_TOOLS.labels(self.name).set(0)

    # --- ToolSource ------------------------------------------------------------------
    def specs(self) -> Sequence[ToolSpec]:
        return [tool.spec for tool in self._tools.values()]

    async def call(self, tool: str, arguments: Mapping[str, Any], context: ToolContext) -> str:
        """Run ``tool`` (its offered name); its text, or :class:`ToolFailed` saying why not."""
        started = time.perf_counter()
        outcome: Outcome = "error"
        try:
            text = await self._call(tool, arguments)
            outcome = "ok"
            return text
        except _Failed as failed:
            outcome = failed.outcome
            raise ToolFailed(str(failed)) from failed.__cause__
        finally:
            log.info(
                "ballsy.mcp.tool_called",
                server=self.name,
                tool=tool,
                outcome=outcome,
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
            )

    async def _call(self, tool: str, arguments: Mapping[str, Any]) -> str:
        session = self._session
        entry = self._tools.get(tool)
        if session is None:
            raise _Failed("unavailable", f"the {self.name} server is not connected right now")
        if entry is None:
            raise _Failed("error", f"the {self.name} server has no tool {tool!r}")
        try:
            async with asyncio.timeout(self._call_timeout + _GUARD_SECONDS):
                result = await session.call_tool(
                    entry.remote_name, dict(arguments), read_timeout_seconds=self._call_timeout
                )
        except TimeoutError:
            self._recheck()
            raise self._timed_out(tool) from None
        except MCPError as exc:
            if exc.code == mcp_types.REQUEST_TIMEOUT:
                self._recheck()
                raise self._timed_out(tool) from None
            if exc.code == mcp_types.CONNECTION_CLOSED:
                self._drop(f"connection closed during {tool}")
                raise _Failed("unavailable", f"the {self.name} server went away") from exc
            raise _Failed("error", f"{tool} failed: {exc.message}") from exc
        except Exception as exc:  # a transport failure: see whether the server is still there
            self._recheck()
            raise _Failed("error", f"{tool} failed: {_describe(exc)}") from exc
        text = result_text(result)
        if result.is_error:
            raise _Failed("error", f"{tool} failed: {text or 'no reason given'}")
        return text

    def _timed_out(self, tool: str) -> _Failed:
        return _Failed("timeout", f"{tool} did not answer within {self._call_timeout:g} seconds")

    # --- lifetime --------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self._session is not None

    def start(self) -> None:
        """Connect in the background (returns at once)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"mcp-{self.name}")

    async def wait_connected(self, within: float) -> bool:
        """Whether the server is (or becomes, within ``within`` seconds) connected."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                await self._ready.wait()
        return self.connected

    async def close(self) -> None:
        """Close the session and stop the server's process (stdio)."""
        task, self._task = self._task, None
        self._stopping = True
        self._wake.set()
        if task is None:
            return
        # Connected, the session ends by itself once woken; connecting or waiting to
        # retry, there is nothing to end gently. The cancellation is anyio's, so the SDK's
        # shielded shutdown (close stdin, terminate, kill) still runs — a native
        # task.cancel() would cut it short and leave the process behind.
        if self.connected:
            await asyncio.wait({task}, timeout=_CLOSE_GRACE_SECONDS)
        self._scope.cancel()
        await asyncio.wait({task}, timeout=_SHUTDOWN_SECONDS)
        if not task.done():
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        self._withdraw()

    async def _run(self) -> None:
        with self._scope:
            await self._reconnecting()

    async def _reconnecting(self) -> None:
        delays = self._backoff.delays()
        while not self._stopping:
            try:
                await self._connection()
            except Exception as exc:
                was_live, self._live = self._live, False
                self._withdraw()
                if self._stopping:
                    break
                if was_live:  # it worked until now: try again soon
                    delays = self._backoff.delays()
                delay = next(delays)
                MCP_CONNECTIONS.labels(self.name, "lost" if was_live else "failed").inc()
                log.warning(
                    "ballsy.mcp.disconnected" if was_live else "ballsy.mcp.connect_failed",
                    server=self.name,
                    error=_describe(exc),
                    retry_in_s=delay,
                )
                await self._pause(delay)

    async def _connection(self) -> None:
        """Connect and serve until closed (returns) or the connection fails (raises)."""
        async with AsyncExitStack() as stack:
            read, write = await open_transport(self.config, stack, self._connect_timeout)
            session = await stack.enter_async_context(
                ClientSession(
                    read,
                    write,
                    message_handler=self._on_message,
                    client_info=mcp_types.Implementation(name="ballsy", version=__version__),
                )
            )
            self._relist = self._check = False
            self._lost = None
            with anyio.fail_after(self._connect_timeout):
                await session.initialize()
                await self._list(session)
            self._session, self._live = session, True
            self._ready.set()
            MCP_SERVER_UP.labels(self.name).set(1)
            MCP_CONNECTIONS.labels(self.name, "connected").inc()
            log.info(
                "ballsy.mcp.connected",
                server=self.name,
                transport=self.config.transport,
                tools=len(self._tools),
            )
            try:
                await self._serve(session)
            finally:
                self._withdraw()
            self._live = False

    async def _serve(self, session: ClientSession) -> None:
        while True:
            woke = await self._pause(self._ping_interval)
            if self._stopping:
                return
            if self._lost is not None:
                raise ConnectionLost(self._lost)
            with anyio.fail_after(self._call_timeout):
                if self._relist:
                    self._relist = False
                    await self._list(session)
                    log.info("ballsy.mcp.tools_changed", server=self.name, tools=len(self._tools))
                elif self._check or not woke:
                    self._check = False
                    await session.send_ping()

    async def _list(self, session: ClientSession) -> None:
        tools: list[mcp_types.Tool] = []
        cursor: str | None = None
        while True:
            params = mcp_types.PaginatedRequestParams(cursor=cursor) if cursor else None
            page = await session.list_tools(params=params)
            tools.extend(page.tools)
            cursor = page.next_cursor
            if not cursor:
                break
        self._tools = catalog(self.name, tools, self.config.tools)
        MCP_TOOLS.labels(self.name).set(len(self._tools))

    async def _pause(self, seconds: float) -> bool:
        """Wait ``seconds`` or until woken (True when woken)."""
        woke = False
        with anyio.move_on_after(seconds):
            await self._wake.wait()
            woke = True
        self._wake.clear()
        return woke

    async def _on_message(self, message: IncomingMessage) -> None:
        if isinstance(message, mcp_types.ToolListChangedNotification):
            self._relist = True
            self._wake.set()
        elif isinstance(message, Exception):
            log.debug("ballsy.mcp.transport_error", server=self.name, error=_describe(message))
            self._recheck()

    def _recheck(self) -> None:
        """Ping the server now rather than at the next interval."""
        self._check = True
        self._wake.set()

    def _drop(self, reason: str) -> None:
        """Withdraw the tools now and have the connection replaced."""
        if self._live:
            self._lost = reason
        self._withdraw()
        self._wake.set()

    def _withdraw(self) -> None:
        self._session = None
        self._tools = {}
        self._ready.clear()
        MCP_SERVER_UP.labels(self.name).set(0)
        MCP_TOOLS.labels(self.name).set(0)


class _Failed(Exception):
    def __init__(self, outcome: Outcome, message: str) -> None:
        super().__init__(message)
        self.outcome = outcome
