"""The bounded tool loop: ask the model, run the calls it makes, ask again.

One :class:`ToolLoop` is one turn's conversation with a model that may call tools. It
streams like a provider: text deltas as they come (the final answer goes on into TTS
as a plain reply does), then one last delta with the finish reason and the usage of
every step summed. Between steps it runs the model's calls through the
:class:`~ballsy.tools.box.ToolBox` (one at a time, in the order the model made them: a
list is added to before it is read back) and appends the assistant's ``tool_calls``
message and one ``tool`` message per result. After ``max_steps`` rounds of calls the
model is asked once more with ``tool_choice="none"``, so a turn always ends in words.

Client tools (``/v1/realtime`` functions the client runs) are offered alongside; when
the model calls one, the loop does not run it: the stream ends with
``finish_reason="tool_calls"`` and :attr:`ToolLoop.client_calls` holds those calls, for
the client to run and send back as the next turn's continuation.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import replace

from ballsy.llm.base import (
    ChatMessage,
    Delta,
    GenerationOptions,
    LLMProvider,
    ToolCall,
    ToolSpec,
    Usage,
)
from ballsy.tools.base import ToolContext
from ballsy.tools.box import ToolBox, ToolResult


def offered_tools(own: Sequence[ToolSpec], client: Sequence[ToolSpec]) -> tuple[ToolSpec, ...]:
    """Ballsy's allowed tools and the client's; a client's tool wins a shared name."""
    names = {spec.name for spec in client}
    return tuple(spec for spec in own if spec.name not in names) + tuple(client)


class ToolLoop:
    def __init__(
        self,
        provider: LLMProvider,
        box: ToolBox,
        context: ToolContext,
        *,
        client_tools: Sequence[ToolSpec] = (),
    ) -> None:
        self.provider = provider
        self.box = box
        self.context = context
        self.client_tools = tuple(client_tools)
        self.usage = Usage()
        self.results: list[ToolResult] = []
        self.client_calls: tuple[ToolCall, ...] = ()
        self.steps = 0

    @property
    def tools_ms(self) -> float:
        """Time spent running tools (not the model's time)."""
        return round(sum(result.duration_ms for result in self.results), 2)

    async def stream(
        self, messages: Sequence[ChatMessage], options: GenerationOptions
    ) -> AsyncIterator[Delta]:
        conversation = list(messages)
        client_names = {spec.name for spec in self.client_tools}
        tools = offered_tools(self.box.specs(), self.client_tools)
        finish = "stop"
        while True:
            last = self.steps >= self.box.max_steps
            step_options = replace(
                options, tools=tools, tool_choice="none" if last else options.tool_choice
            )
            said: list[str] = []
            calls: tuple[ToolCall, ...] = ()
            async for delta in self.provider.stream(conversation, step_options):
                if delta.usage is not None:
                    self.usage.prompt_tokens += delta.usage.prompt_tokens
                    self.usage.completion_tokens += delta.usage.completion_tokens
                if delta.tool_calls:
                    calls += delta.tool_calls
                if delta.text:
                    said.append(delta.text)
                    yield Delta(text=delta.text)
                if delta.finish_reason:
                    finish = delta.finish_reason
            if not calls or last:
                # Past the last step a model that still calls gets no more runs.
                yield Delta(text="", finish_reason="stop" if calls else finish, usage=self.usage)
                return
            if any(call.name in client_names for call in calls):
                # The client runs its own; Ballsy's calls of this step are dropped (the
                # continuation holds only the client's, and the model may call again).
                self.client_calls = tuple(call for call in calls if call.name in client_names)
                yield Delta(
                    text="",
                    finish_reason="tool_calls",
                    usage=self.usage,
                    tool_calls=self.client_calls,
                )
                return
            self.steps += 1
            conversation.append(
                ChatMessage(role="assistant", content="".join(said), tool_calls=calls)
            )
            for call in calls:
                result = await self.box.call(call, self.context)
                self.results.append(result)
                conversation.append(
                    ChatMessage(role="tool", content=result.text, tool_call_id=call.id)
                )
