"""An MCP server's tools as the model sees them, and a call's result as the text it reads.

OpenAI function names must match ``^[a-zA-Z0-9_-]{1,64}$``; MCP tool names may hold
dots, slashes or spaces and be longer. So each tool is offered as ``<server>__<tool>``
with other characters made ``_``, shortened with a hash when needed, and mapped back to
its real name by the catalog rather than by parsing the offered one.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import mcp_types

from ballsy.llm.base import ToolSpec

SEPARATOR = "__"
MAX_NAME = 64
MAX_DESCRIPTION = 1024
_INVALID = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True, slots=True)
class McpTool:
    """One offered tool: what the model sees, and the name the server knows it by."""

    spec: ToolSpec
    remote_name: str


def offered_name(server: str, tool: str, taken: Iterable[str] = ()) -> str:
    """``<server>__<tool>``, valid as an OpenAI function name and not in ``taken``."""
    name = f"{server}{SEPARATOR}{_INVALID.sub('_', tool)}"
    if len(name) <= MAX_NAME and name not in taken:
        return name
    digest = hashlib.sha256(tool.encode()).hexdigest()[:8]
    return f"{name[: MAX_NAME - len(digest) - 1]}_{digest}"


def _parameters(schema: Mapping[str, Any] | None) -> dict[str, Any]:
    parameters = dict(schema or {})
    parameters.setdefault("type", "object")
    if parameters["type"] == "object":
        parameters.setdefault("properties", {})
    return parameters


def catalog(
    server: str, tools: Iterable[mcp_types.Tool], allowed: Iterable[str] | None = None
) -> dict[str, McpTool]:
    """The tools to offer, by offered name (only ``allowed`` ones when given)."""
    keep = None if allowed is None else set(allowed)
    offered: dict[str, McpTool] = {}
    for tool in tools:
        if keep is not None and tool.name not in keep:
            continue
        name = offered_name(server, tool.name, offered)
        description = (tool.description or tool.title or tool.name)[:MAX_DESCRIPTION]
        parameters = _parameters(tool.input_schema)
        spec = ToolSpec(name=name, description=description, parameters=parameters)
        offered[name] = McpTool(spec=spec, remote_name=tool.name)
    return offered


def _block_text(block: mcp_types.ContentBlock) -> str:
    if isinstance(block, mcp_types.TextContent):
        return block.text
    if isinstance(block, mcp_types.EmbeddedResource):
        resource = block.resource
        if isinstance(resource, mcp_types.TextResourceContents):
            return resource.text
        return f"[binary resource {resource.uri}]"
    if isinstance(block, mcp_types.ResourceLink):
        return f"[{block.name}: {block.uri}]"
    return f"[{block.type}]"  # image, audio: nothing a voice reply can read out


def result_text(result: mcp_types.CallToolResult) -> str:
    """The result as the text the model reads next: its text blocks, else its structured
    content as JSON."""
    parts = [_block_text(block) for block in result.content]
    text = "\n".join(part for part in parts if part)
    if not text and result.structured_content is not None:
        return json.dumps(result.structured_content, ensure_ascii=False)
    return text
