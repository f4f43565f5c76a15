"""MCP tools as OpenAI function tools, and call results as text (no server needed)."""

from __future__ import annotations

import re

import mcp_types

from ballsy.tools.mcp.catalog import catalog, offered_name, result_text

OPENAI_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def tool(name: str, **extra: object) -> mcp_types.Tool:
    return mcp_types.Tool(name=name, input_schema={"type": "object"}, **extra)  # type: ignore[arg-type]


def test_offered_names_are_valid_function_names_and_unique() -> None:
    names = ["HassTurnOff", "lights.turn_off", "a/b c", "x" * 80, "x" * 80 + "y", "lights_turn_off"]
    offered = catalog("home", [tool(name) for name in names])
    assert len(offered) == len(names)
    assert all(OPENAI_NAME.match(name) for name in offered)
    assert "home__HassTurnOff" in offered
    assert offered["home__lights_turn_off"].remote_name == "lights.turn_off"
    # The second tool that sanitizes to the same name gets a hashed one, mapped back too.
    (clash,) = [t for t in offered.values() if t.remote_name == "lights_turn_off"]
    assert clash.spec.name != "home__lights_turn_off" and clash.spec.name.startswith("home__")
    assert offered_name("home", "x" * 80) != offered_name("home", "x" * 80 + "y")


def test_specs_carry_the_description_and_an_object_schema() -> None:
    (spec,) = [
        entry.spec for entry in catalog("s", [tool("t", description="Does t.", title="T")]).values()
    ]
    assert spec.description == "Does t."
    assert spec.parameters == {"type": "object", "properties": {}}
    (untitled,) = catalog("s", [tool("bare")]).values()
    assert untitled.spec.description == "bare"


def test_an_allow_list_keeps_only_the_named_tools() -> None:
    offered = catalog("s", [tool("a"), tool("b"), tool("c")], allowed=["a", "c", "zzz"])
    assert sorted(entry.remote_name for entry in offered.values()) == ["a", "c"]


def test_result_text_reads_text_blocks_else_structured_content() -> None:
    text = mcp_types.CallToolResult(
        content=[
            mcp_types.TextContent(type="text", text="one"),
            mcp_types.ImageContent(type="image", data="AAAA", mime_type="image/png"),
            mcp_types.TextContent(type="text", text="two"),
        ]
    )
    assert result_text(text) == "one\n[image]\ntwo"
    structured = mcp_types.CallToolResult(content=[], structured_content={"on": True})
    assert result_text(structured) == '{"on": true}'
