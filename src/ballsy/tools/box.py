"""The tools a turn may offer its model: every source's, through the allow-list.

A :class:`ToolBox` holds the :class:`~ballsy.tools.base.ToolSource`\\ s of the process
(Ballsy's skills, each MCP server) and the rules of ``TOOLS_*``: which tools are
allowed, how many rounds of calls a turn may make, how long one call may take. It runs
one call so that nothing a tool does can fail or hang the turn: an unknown name, bad
arguments, a failure, an exception or a timeout each become a result the model reads
("the tool failed: …"). Every call is logged (``ballsy.tools.called``, never the
arguments' values) and counted in the metrics.
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ballsy.config import Settings
from ballsy.llm.base import ToolCall, ToolSpec
from ballsy.observability.logging import get_logger
from ballsy.observability.metrics import record_tool_call
from ballsy.tools.base import ToolContext, ToolFailed, ToolSource

log = get_logger("ballsy.tools")

Outcome = Literal["ok", "unknown", "bad_arguments", "failed", "timeout", "error"]
DEFAULT_MAX_STEPS = 4
DEFAULT_CALL_TIMEOUT = 10.0
_NAME_CHARS = 64


@dataclass(frozen=True, slots=True)
class ToolResult:
    """What one call gave the model to read, and how it went."""

    call: ToolCall
    text: str
    outcome: Outcome
    source: str
    duration_ms: float


def allowed_by(patterns: Sequence[str], source: str, tool: str) -> bool:
    """``tool``, ``source.tool``, ``source.*`` or ``*`` (shell-style patterns)."""
    qualified = f"{source}.{tool}"
    return any(
        fnmatch.fnmatchcase(tool, pattern) or fnmatch.fnmatchcase(qualified, pattern)
        for pattern in patterns
    )


class ToolBox:
    def __init__(
        self,
        sources: Sequence[ToolSource],
        *,
        allowed: Sequence[str] = ("*",),
        max_steps: int = DEFAULT_MAX_STEPS,
        call_timeout: float = DEFAULT_CALL_TIMEOUT,
    ) -> None:
        self.sources = tuple(sources)
        self.allowed = tuple(allowed)
        self.max_steps = max_steps
        self.call_timeout = call_timeout

    @classmethod
    def from_settings(cls, settings: Settings, sources: Sequence[ToolSource]) -> ToolBox:
        return cls(
            sources,
            allowed=settings.tools_allowed,
            max_steps=settings.tools_max_steps,
            call_timeout=settings.tools_call_timeout,
        )

    def _offered(self) -> dict[str, tuple[ToolSource, ToolSpec]]:
        """The allowed tools by the name the model sees; the first source wins a name."""
        offered: dict[str, tuple[ToolSource, ToolSpec]] = {}
        for source in self.sources:
            try:
                specs = list(source.specs())
            except Exception:  # a broken source offers nothing; the others still do
                log.exception("ballsy.tools.specs_failed", source=source.name)
                continue
            for spec in specs:
                if spec.name in offered:
                    log.warning(
                        "ballsy.tools.duplicate_name",
                        tool=spec.name,
                        source=source.name,
                        kept=offered[spec.name][0].name,
                    )
                elif allowed_by(self.allowed, source.name, spec.name):
                    offered[spec.name] = (source, spec)
        return offered

    def specs(self) -> tuple[ToolSpec, ...]:
        """What a model is offered now (a source's list may change while we run)."""
        return tuple(spec for _, spec in self._offered().values())

    async def call(self, call: ToolCall, context: ToolContext) -> ToolResult:
        """Run one call the model made; never raises (but lets cancellation through)."""
        started = time.perf_counter()
        found = self._offered().get(call.name)
        source = found[0].name if found else "none"
        outcome: Outcome
        if found is None:
            outcome = "unknown"
            text = f"There is no tool named {call.name[:_NAME_CHARS]!r} that you may call."
        else:
            arguments = _parse_arguments(call.arguments)
            if isinstance(arguments, str):
                outcome, text = "bad_arguments", arguments
            else:
                outcome, text = await self._run(found[0], call.name, arguments, context)
        duration_ms = round((time.perf_counter() - started) * 1000, 2)
        # An unknown name is the model's invention: keep it out of the metric's labels.
        tool = call.name if found else "unknown"
        record_tool_call(source, tool, outcome, duration_ms / 1000)
        log.info(
            "ballsy.tools.called",
            source=source,
            tool=call.name[:_NAME_CHARS],
            outcome=outcome,
            duration_ms=duration_ms,
        )
        return ToolResult(call, text, outcome, source, duration_ms)

    async def _run(
        self, source: ToolSource, tool: str, arguments: dict[str, Any], context: ToolContext
    ) -> tuple[Outcome, str]:
        # A task waited on, not awaited: a tool that swallows its cancellation still
        # cannot hold the turn past the timeout.
        task = asyncio.ensure_future(source.call(tool, arguments, context))
        try:
            done, _ = await asyncio.wait({task}, timeout=self.call_timeout)
        except asyncio.CancelledError:
            task.cancel()
            raise
        if not done:
            task.cancel()
            task.add_done_callback(_forget)
            return "timeout", (
                f"The tool failed: it did not answer within {self.call_timeout:g} seconds."
            )
        try:
            return "ok", str(task.result())
        except ToolFailed as exc:
            return "failed", f"The tool failed: {exc}"
        except Exception as exc:
            log.warning(
                "ballsy.tools.call_error", source=source.name, tool=tool, error=type(exc).__name__
            )
            return "error", f"The tool failed: {type(exc).__name__}."


def _forget(task: asyncio.Future[str]) -> None:
    """Retrieve an abandoned call's end, so a late failure is not an unhandled error."""
    if not task.cancelled() and task.exception() is not None:
        log.info("ballsy.tools.abandoned_call_failed", error=type(task.exception()).__name__)


def _parse_arguments(text: str) -> dict[str, Any] | str:
    """The call's arguments as an object, or what was wrong with them (said to the model)."""
    try:
        value = json.loads(text or "{}")
    except json.JSONDecodeError as exc:
        return f"The arguments were not valid JSON ({exc.msg}); call the tool again."
    if not isinstance(value, dict):
        return "The arguments must be a JSON object; call the tool again."
    return value
