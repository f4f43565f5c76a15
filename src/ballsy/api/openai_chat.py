"""OpenAI-compatible ``/v1/chat/completions`` and ``/v1/models``.

Chat goes straight to an LLM provider (no skills, no stored memory: the client sends
the whole conversation, as with OpenAI). A model is addressed by provider name
(``local``, ``openai`` …) or by the model name a provider serves.
"""

from __future__ import annotations

import json
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
from ballsy.llm.base import ChatMessage, Delta, GenerationOptions, LLMProvider, complete
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


class ChatMessageIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant"]
    content: (
        Annotated[str, Field(max_length=_TEXT)]
        | Annotated[list[ContentPart], Field(max_length=200)]
        | None
    ) = None

    def as_message(self) -> ChatMessage:
        if isinstance(self.content, list):
            if any(part.type != "text" for part in self.content):
                raise InvalidInput(
                    "only text content parts are supported", detail={"field": "messages"}
                )
            text = "".join(part.text or "" for part in self.content)
        else:
            text = self.content or ""
        role = "system" if self.role == "developer" else self.role
        return ChatMessage(role=role, content=text)


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
    options = GenerationOptions(
        max_tokens=body.max_completion_tokens or body.max_tokens or settings.llm_max_tokens,
        temperature=(
            body.temperature if body.temperature is not None else settings.llm_temperature
        ),
        model=model_override,
        stop=stop,
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
                    "message": {"role": "assistant", "content": result.text},
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
