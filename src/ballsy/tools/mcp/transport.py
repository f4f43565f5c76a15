"""Opening the connection an ``MCP_SERVERS`` entry names: a child process over stdio,
or a streamable-HTTP endpoint with the entry's headers."""

from __future__ import annotations

import sys
from contextlib import AsyncExitStack
from typing import Any

import httpx2
from mcp import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from ballsy.config import McpServerSettings

# A streamed response (a long tool call, the server's event stream) may stay open this
# long between two bytes; a call's own timeout is MCP_CALL_TIMEOUT.
_READ_TIMEOUT = 300.0


def _secrets(values: dict[str, Any]) -> dict[str, str]:
    return {key: value.get_secret_value() for key, value in values.items()}


async def open_transport(
    server: McpServerSettings, stack: AsyncExitStack, connect_timeout: float
) -> tuple[Any, Any]:
    """The read and write streams of a new connection, closed with ``stack``.

    A stdio server's process is started here and stopped (terminated, then killed) when
    ``stack`` closes; its stderr is this process's stderr.
    """
    if server.command is not None:
        command, *args = server.command
        parameters = StdioServerParameters(command=command, args=args, env=_secrets(server.env))
        return await stack.enter_async_context(stdio_client(parameters, errlog=sys.stderr))
    assert server.url is not None  # McpServerSettings holds one of the two
    client = await stack.enter_async_context(
        httpx2.AsyncClient(
            headers=_secrets(server.headers),
            timeout=httpx2.Timeout(connect_timeout, read=_READ_TIMEOUT),
        )
    )
    return await stack.enter_async_context(streamable_http_client(server.url, http_client=client))
