"""The process's MCP servers: built from ``MCP_SERVERS`` once, started, closed."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from ballsy.config import Settings
from ballsy.observability.logging import get_logger
from ballsy.security.secrets import redact_url
from ballsy.tools.base import ToolSource
from ballsy.tools.mcp.server import Backoff, McpServer

log = get_logger("ballsy.mcp")


class McpServers:
    """Every configured MCP server; ``sources`` are what the tool loop offers and calls."""

    def __init__(self, servers: Sequence[McpServer]) -> None:
        self.servers = tuple(servers)

    @classmethod
    def from_settings(cls, settings: Settings, backoff: Backoff | None = None) -> McpServers:
        return cls(
            [
                McpServer(
                    config,
                    call_timeout=settings.mcp_call_timeout,
                    connect_timeout=settings.mcp_connect_timeout,
                    ping_interval=settings.mcp_ping_interval,
                    backoff=backoff,
                )
                for config in settings.mcp_servers
            ]
        )

    @property
    def sources(self) -> tuple[ToolSource, ...]:
        """The servers as the tool loop sees them (``servers`` for their lifetime API)."""
        return self.servers

    async def start(self) -> None:
        """Connect to every server in the background; start-up never waits for one."""
        for server in self.servers:
            # The program only: arguments and URLs may carry credentials.
            where = redact_url(server.config.url) or (server.config.command or ["?"])[0]
            log.info("ballsy.mcp.starting", server=server.name, endpoint=where)
            server.start()

    async def close(self) -> None:
        await asyncio.gather(*(server.close() for server in self.servers))
