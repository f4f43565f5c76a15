"""What the MCP client exports: whether each server is connected and how many tools it
offers. Calls are counted by the tool loop with every other tool source's."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

MCP_SERVER_UP = Gauge(
    "ballsy_mcp_server_up",
    "1 while this process is connected to the MCP server, 0 while it is down.",
    ["server"],
    multiprocess_mode="livemin",
)
MCP_TOOLS = Gauge(
    "ballsy_mcp_tools_offered",
    "Tools of the MCP server offered to the model (0 while it is down).",
    ["server"],
    multiprocess_mode="livemax",
)
MCP_CONNECTIONS = Counter(
    "ballsy_mcp_connections_total",
    "Connection attempts to MCP servers, by server and outcome (connected, failed, lost).",
    ["server", "outcome"],
)
