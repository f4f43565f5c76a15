"""OpenAI-compatible ``/v1/chat/completions`` and ``/v1/models``.

Chat goes straight to an LLM provider (no skills, no stored memory: the client sends
the whole conversation, as with OpenAI). A model is addressed by provider name
(``local``, ``openai`` …) or by the model name a provider serves.

Tools are the client's, per the OpenAI spec: ``tools`` and ``tool_choice`` go to the
model, its calls come back as ``message.tool_calls`` (``finish_reason: "tool_calls"``,
streamed as ``delta.tool_calls``), the client runs them and sends the results as
``tool`` messages. Ballsy's own tools are not offered here: the client asked for its
own set. A model that cannot use tools (the local one without ``LOCAL_LLM_TOOLS``)
is not sent them and answers in text.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from ballsy.api.deps import CurrentUser, LLMsDep, SpeechDep, SpendDep
from ballsy.api.openapi import STREAMED, errors
from ballsy.errors import BallsyError, InvalidInput, NotFound
from ballsy.llm.base import (
    ChatMessage,
    Delta,
    GenerationOptions,
    LLMProvider,
    ToolCall,
    ToolSpec,
    complete,
)
from ballsy.llm.registry import LLMRegistry
from ballsy.names import OPENAI_STT_MODELS, OPENAI_TTS_MODELS

router = APIRouter(prefix="/v1", tags=["openai-compatible"], responses=errors(400, 502))
# Generous caps (the body limit binds first); they keep every string bounded.
_TEXT = 100_000
StopWord = Annotated[str, Field(max_length=256)]


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: str = Field(max_length=32)
    text: str | None = Field(default=None, max_length=_TEXT)


class FunctionCallIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = Field(max_length=64)
    arguments: str = Field(default="{}", max_length=_TEXT)


class ToolCallIn(BaseModel):
    """A call an earlier assistant message made (the client sends the conversation)."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(max_length=256)
    type: Literal["function"] = "function"
    function: FunctionCallIn


class ChatMessageIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: (
        Annotated[str, Field(max_length=_TEXT)]
        | Annotated[list[ContentPart], Field(max_length=200)]
        | None
    ) = None
    tool_calls: list[ToolCallIn] | None = Field(default=None, max_length=128)
    tool_call_id: str | None = Field(default=None, max_length=256)

    def as_message(self) -> ChatMessage:
        if isinstance(self.content, list):
            if any(part.type != "text" for part in self.content):
                raise InvalidInput(
                    "only text content parts are supported", detail={"field": "messages"}
                )
            text = "".join(part.text or "" for part in self.content)
        else:
            text = self.content or ""
        if self.role == "tool":
            if not self.tool_call_id:
                raise InvalidInput(
                    "a tool message needs the tool_call_id of the call it answers",
                    detail={"field": "tool_call_id"},
                )
            return ChatMessage(role="tool", content=text, tool_call_id=self.tool_call_id)
        if self.role == "assistant" and self.tool_calls:
            calls = tuple(
                ToolCall(id=call.id, name=call.function.name, arguments=call.function.arguments)
                for call in self.tool_calls
            )
            return ChatMessage(role="assistant", content=text, tool_calls=calls)
        role = "system" if self.role == "developer" else self.role
        return ChatMessage(role=role, content=text)


class InvalidTools(InvalidInput):
    """A client's tool definitions are wrong: 400, as OpenAI answers them."""

    status_code = 400


_FUNCTION_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_TOOL_CHOICES = ("none", "auto", "required")
ToolChoice = Literal["none", "auto", "required"]


def _tool_error(message: str, field: str) -> InvalidTools:
    return InvalidTools(message, detail={"field": field})


def client_tools(tools: list[dict[str, Any]] | None) -> tuple[ToolSpec, ...]:
    """The request's ``tools``, checked: OpenAI function tools with usable names and a
    JSON Schema object for the parameters."""
    specs: list[ToolSpec] = []
    for i, tool in enumerate(tools or ()):
        where = f"tools[{i}]"
        if not isinstance(tool, dict) or tool.get("type") != "function":
            raise _tool_error(f"{where}: only tools of type 'function' are supported", where)
        function = tool.get("function")
        if not isinstance(function, dict):
            raise _tool_error(f"{where}.function must be an object", f"{where}.function")
        name = function.get("name")
        if not isinstance(name, str) or not _FUNCTION_NAME.fullmatch(name):
            raise _tool_error(
                f"{where}.function.name must be 1 to 64 letters, digits, '_' or '-'",
                f"{where}.function.name",
            )
        if any(spec.name == name for spec in specs):
            raise _tool_error(f"{where}: the function name {name!r} is given twice", where)
        description = function.get("description", "")
        if not isinstance(description, str) or len(description) > _TEXT:
            raise _tool_error(
                f"{where}.function.description must be a string",
                f"{where}.function.description",
            )
        parameters = function.get("parameters", {"type": "object", "properties": {}})
        if not isinstance(parameters, dict) or parameters.get("type", "object") != "object":
            raise _tool_error(
                f"{where}.function.parameters must be a JSON Schema of type 'object'",
                f"{where}.function.parameters",
            )
        properties = parameters.get("properties", {})
        required = parameters.get("required", [])
        if not isinstance(properties, dict) or not isinstance(required, list):
            raise _tool_error(
                f"{where}.function.parameters: 'properties' must be an object and "
                "'required' a list",
                f"{where}.function.parameters",
            )
        specs.append(ToolSpec(name=name, description=description, parameters=parameters))
    return tuple(specs)


def tool_choice(
    choice: str | dict[str, Any] | None, tools: tuple[ToolSpec, ...]
) -> tuple[tuple[ToolSpec, ...], ToolChoice | None]:
    """(the tools offered, the choice): a named function is that one tool, required."""
    if choice is None:
        return tools, None
    if not tools:
        raise _tool_error("tool_choice is only allowed when tools are given", "tool_choice")
    if isinstance(choice, str):
        if choice not in _TOOL_CHOICES:
            raise _tool_error(
                f"tool_choice must be one of {', '.join(_TOOL_CHOICES)} or a function",
                "tool_choice",
            )
        return tools, cast("ToolChoice", choice)
    function = choice.get("function") if choice.get("type") == "function" else None
    name = function.get("name") if isinstance(function, dict) else None
    chosen = [spec for spec in tools if spec.name == name]
    if not chosen:
        raise _tool_error(
            "tool_choice names a function that is not in tools", "tool_choice.function.name"
        )
    return tuple(chosen), "required"


def _calls_out(calls: tuple[ToolCall, ...]) -> list[dict[str, Any]]:
    return [
        {
            "id": call.id,
            "type": "function",
            "function": {"name": call.name, "arguments": call.arguments},
        }
        for call in calls
    ]


class StreamOptions(BaseModel):
    include_usage: bool = False


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str = Field(max_length=128)
    messages: list[ChatMessageIn] = Field(min_length=1, max_length=200)
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(default=None, ge=1, le=8192)
    max_completion_tokens: int | None = Field(default=None, ge=1, le=8192)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    stop: StopWord | Annotated[list[StopWord], Field(max_length=4)] | None = None
    n: int = Field(default=1, ge=1, le=1)
    # Checked by client_tools (400 on a bad definition, as OpenAI answers).
    tools: list[dict[str, Any]] | None = Field(default=None, max_length=128)
    tool_choice: Annotated[str, Field(max_length=32)] | dict[str, Any] | None = None


def _provider_for(llms: LLMRegistry, model: str) -> tuple[LLMProvider, str | None]:
    """(provider, model override) for a requested model name."""
    if model in llms.names:
        return llms.get(model), None
    for name in llms.names:
        provider = llms.get(name)
        if provider.default_model == model:
            return provider, None
    remote = [n for n in llms.names if n != "local"]
    if remote and "/" not in model:
        # A remote provider serves many models; pass the name through.
        return llms.get(remote[0]), model
    raise NotFound(
        f"the model '{model}' does not exist; see GET /v1/models",
        detail={"field": "model"},
    )


def _chunk(base: dict[str, Any], delta: dict[str, Any], finish: str | None) -> str:
    body = {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return f"data: {json.dumps(body)}\n\n"


@router.post("/chat/completions", response_model=None, responses={**STREAMED, **errors(404, 504)})
async def chat_completions(
    body: ChatRequest, llms: LLMsDep, spend: SpendDep, user: CurrentUser
) -> dict[str, Any] | StreamingResponse:
    provider, model_override = _provider_for(llms, body.model)
    # Paid providers count against the caller's daily token cap.
    provider = spend.capped(provider, user.user_id)
    settings = llms.settings
    messages = [m.as_message() for m in body.messages]
    stop = (body.stop,) if isinstance(body.stop, str) else tuple(body.stop or ())
    tools, choice = tool_choice(body.tool_choice, client_tools(body.tools))
    if not provider.supports_tools:
        tools, choice = (), None  # the model answers in text
    options = GenerationOptions(
        max_tokens=body.max_completion_tokens or body.max_tokens or settings.llm_max_tokens,
        temperature=(
            body.temperature if body.temperature is not None else settings.llm_temperature
        ),
        model=model_override,
        stop=stop,
        tools=tools,
        tool_choice=choice,
    )
    model_name = model_override or provider.default_model
    base = {"id": f"chatcmpl-{uuid.uuid4().hex}", "created": int(time.time()), "model": model_name}
    if not body.stream:
        result = await complete(provider, messages, options)
        return {
            **base,
            "object": "chat.completion",
            "choices": [
                {
                    "index": 0,
                    "message": (
                        {
                            "role": "assistant",
                            "content": result.text or None,
                            "tool_calls": _calls_out(result.tool_calls),
                        }
                        if result.tool_calls
                        else {"role": "assistant", "content": result.text}
                    ),
                    "finish_reason": result.finish_reason,
                }
            ],
            "usage": {
                "prompt_tokens": result.usage.prompt_tokens,
                "completion_tokens": result.usage.completion_tokens,
                "total_tokens": result.usage.prompt_tokens + result.usage.completion_tokens,
            },
        }
    deltas = provider.stream(messages, options)
    first = await anext(deltas, None)  # provider errors become a 4xx/5xx, not a broken stream
    include_usage = bool(body.stream_options and body.stream_options.include_usage)
    chunk_base = {**base, "object": "chat.completion.chunk"}

    async def events() -> AsyncIterator[str]:
        yield _chunk(chunk_base, {"role": "assistant", "content": ""}, None)
        pending = first
        try:
            while pending is not None:
                if pending.text:
                    yield _chunk(chunk_base, {"content": pending.text}, None)
                if pending.tool_calls:
                    calls = _calls_out(pending.tool_calls)
                    calls = [{"index": i, **call} for i, call in enumerate(calls)]
                    yield _chunk(chunk_base, {"tool_calls": calls}, None)
                if pending.finish_reason:
                    yield _chunk(chunk_base, {}, pending.finish_reason)
                    if include_usage and pending.usage:
                        usage = {
                            "prompt_tokens": pending.usage.prompt_tokens,
                            "completion_tokens": pending.usage.completion_tokens,
                            "total_tokens": pending.usage.prompt_tokens
                            + pending.usage.completion_tokens,
                        }
                        final = {**chunk_base, "choices": [], "usage": usage}
                        yield f"data: {json.dumps(final)}\n\n"
                pending = await anext(deltas, None)
        except BallsyError as exc:
            error = {"message": exc.message, "type": "server_error", "code": exc.code}
            yield f"data: {json.dumps({'error': error})}\n\n"
        finally:
            # A client that hangs up mid-reply must stop the generation too.
            await cast("AsyncGenerator[Delta, None]", deltas).aclose()
        yield "data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")


@router.get("/models")
async def list_models(llms: LLMsDep, speech: SpeechDep) -> dict[str, Any]:
    ids: list[tuple[str, str]] = []
    for name in llms.names:
        ids.append((name, "ballsy-llm"))
        ids.append((llms.get(name).default_model, f"ballsy-llm-{name}"))
    ids += [(name, "ballsy-stt") for name in speech.stt_models()]
    ids += [(name, "ballsy-stt") for name in sorted(OPENAI_STT_MODELS)]
    ids += [(name, "ballsy-tts") for name in speech.tts_engines()]
    ids += [(name, "ballsy-tts") for name in sorted(OPENAI_TTS_MODELS)]
    seen: dict[str, str] = {}
    for model_id, owner in ids:
        seen.setdefault(model_id, owner)
    return {
        "object": "list",
        "data": [
            {"id": model_id, "object": "model", "created": 0, "owned_by": owner}
            for model_id, owner in seen.items()
        ],
    }
