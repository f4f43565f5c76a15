"""Tools the assistant's LLM may call: where they come from and how a call is run.

A :class:`~ballsy.tools.base.ToolSource` lists functions and runs a call of one;
Ballsy's own skills are one source, each MCP server another.
"""
