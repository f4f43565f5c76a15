"""The MCP client: every server of ``MCP_SERVERS`` as a tool source (docs/mcp.md).

Each :class:`McpServer` keeps one connection in the background, offers the server's
tools as ``<server>__<tool>`` and runs calls with a timeout; :class:`McpServers` is the
set the process builds once, starts and closes.
"""

from ballsy.tools.mcp.server import Backoff, McpServer
from ballsy.tools.mcp.servers import McpServers

__all__ = ["Backoff", "McpServer", "McpServers"]
