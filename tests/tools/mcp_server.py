"""A real MCP server for the MCP client tests, built with the SDK's server side.

    python tests/tools/mcp_server.py stdio
    python tests/tools/mcp_server.py http PORT [stateless]

``stateless`` answers every POST on its own with plain JSON and no session, as Home
Assistant's ``/api/mcp`` does.

Its tools cover what a client must cope with: a plain answer, the tool's own error, a
tool that never answers, a server that dies mid-call, a list that changes, and (over
HTTP) the request headers the client sent.
"""

from __future__ import annotations

import os
import sys

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server: MCPServer = MCPServer("ballsy-test", log_level="WARNING")


@server.tool()
def echo(text: str) -> str:
    """Say the text back."""
    return f"echo: {text}"


@server.tool()
def fail(reason: str) -> str:
    """Fail with the reason (the result comes back with isError)."""
    raise ToolError(reason)


@server.tool()
async def hang(seconds: float = 3600.0) -> str:
    """Answer after a very long time."""
    await anyio.sleep(seconds)
    return "finally"


@server.tool()
def crash() -> str:
    """Kill the server process before answering."""
    os._exit(3)


@server.tool()
def pid() -> str:
    """The server's process id."""
    return str(os.getpid())


def _lights_off(room: str) -> str:
    """Turn the lights off in a room."""
    return f"lights off in the {room}"


@server.tool()
async def add_lights(ctx: Context) -> str:
    """Add the lights_off tool and tell the client its list changed."""
    server.add_tool(_lights_off, name="lights_off")
    await ctx.session.send_tool_list_changed()
    return "added"


@server.tool()
def header(name: str, ctx: Context) -> str:
    """The value of one request header (HTTP only)."""
    headers = ctx.headers or {}
    return headers.get(name.lower(), "<none>")


def main() -> None:
    if sys.argv[1] == "stdio":
        server.run("stdio")
    else:
        stateless = sys.argv[3:] == ["stateless"]
        server.run(
            "streamable-http",
            host="127.0.0.1",
            port=int(sys.argv[2]),
            stateless_http=stateless,
            json_response=stateless,
        )


if __name__ == "__main__":
    main()
