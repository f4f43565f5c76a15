"""Any OpenAI-compatible chat endpoint through the official ``openai`` SDK.

Covers OpenAI, Azure OpenAI, Mistral's API, Gemini, Ollama and vLLM: only ``base_url``,
the key and the model name differ, and each preset in ``llm/providers/`` supplies them.
The SDK retries 408/409/429/5xx with exponential backoff (``max_retries``); what still
fails becomes a ``ProviderError`` (502) or ``ProviderTimeout`` (504) so a client never
waits on a dead provider.

Tools go out as OpenAI function tools; a streamed call arrives in pieces (by index: the
id and name first, the arguments over many chunks) and is handed on assembled, as one
``Delta(tool_calls=…, finish_reason="tool_calls")``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any, cast

import openai
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolParam
from pydantic import SecretStr

from ballsy.config import Settings
from ballsy.errors import ProviderError, ProviderTimeout
from ballsy.llm.base import ChatMessage, Delta, GenerationOptions, ToolSpec, Usage
from ballsy.llm.tool_calls import ToolCallAssembly
from ballsy.observability.metrics import record_llm_call


def message_param(message: ChatMessage) -> dict[str, Any]:
    """A chat message as the chat-completions API takes it."""
    if message.role == "tool":
        return {"role": "tool", "content": message.content, "tool_call_id": message.tool_call_id}
    if message.role == "assistant" and message.tool_calls:
        return {
            "role": "assistant",
            "content": message.content or None,
            "tool_calls": [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments},
                }
                for call in message.tool_calls
            ],
        }
    return {"role": message.role, "content": message.content}


def tool_param(spec: ToolSpec) -> ChatCompletionToolParam:
    return {
        "type": "function",
        "function": {
            "name": spec.name,
            "description": spec.description,
            "parameters": dict(spec.parameters),
        },
    }


class OpenAICompatibleLLM:
    def __init__(
        self,
        *,
        name: str,
        model: str,
        base_url: str | None,
        api_key: str | None,
        timeout: float,
        max_retries: int,
        azure_api_version: str | None = None,
        supports_tools: bool = True,
    ) -> None:
        self.name = name
        self.supports_tools = supports_tools
        self._model = model
        client_options: dict[str, Any] = {
            "api_key": api_key or "not-needed",
            "timeout": timeout,
            "max_retries": max_retries,
        }
        self._client: openai.AsyncOpenAI
        if azure_api_version is not None:
            self._client = openai.AsyncAzureOpenAI(
                azure_endpoint=base_url or "", api_version=azure_api_version, **client_options
            )
        else:
            self._client = openai.AsyncOpenAI(base_url=base_url, **client_options)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        name: str,
        *,
        base_url: str | None,
        api_key: SecretStr | None,
        model: str,
        azure_api_version: str | None = None,
    ) -> OpenAICompatibleLLM:
        """A preset's endpoint with the timeout and retries every remote provider shares."""
        return cls(
            name=name,
            model=model,
            base_url=base_url,
            api_key=api_key.get_secret_value() if api_key else None,
            timeout=settings.llm_timeout,
            max_retries=settings.llm_max_retries,
            azure_api_version=azure_api_version,
        )

    @property
    def default_model(self) -> str:
        return self._model

    @property
    def base_url(self) -> str:
        return str(self._client.base_url)

    async def stream(
        self, messages: Sequence[ChatMessage], options: GenerationOptions
    ) -> AsyncIterator[Delta]:
        tools: dict[str, Any] = {}
        if options.tools:
            tools["tools"] = [tool_param(spec) for spec in options.tools]
            if options.tool_choice is not None:
                tools["tool_choice"] = options.tool_choice
        try:
            response = await self._client.chat.completions.create(
                model=options.model or self._model,
                messages=cast(
                    "list[ChatCompletionMessageParam]", [message_param(m) for m in messages]
                ),
                max_tokens=options.max_tokens,
                temperature=options.temperature,
                stop=list(options.stop) or None,
                stream=True,
                stream_options={"include_usage": True},
                **tools,
            )
            finish_reason: str | None = None
            usage: Usage | None = None
            assembly = ToolCallAssembly()
            async with response:
                async for chunk in response:
                    if chunk.usage is not None:
                        usage = Usage(
                            prompt_tokens=chunk.usage.prompt_tokens,
                            completion_tokens=chunk.usage.completion_tokens,
                        )
                    if not chunk.choices:
                        continue
                    choice = chunk.choices[0]
                    if choice.finish_reason:
                        finish_reason = choice.finish_reason
                    for piece in (choice.delta.tool_calls if choice.delta else None) or ():
                        function = piece.function
                        assembly.add(
                            piece.index,
                            id=piece.id,
                            name=function.name if function else None,
                            arguments=function.arguments if function else None,
                        )
                    if choice.delta and choice.delta.content:
                        yield Delta(text=choice.delta.content)
            record_llm_call(
                self.name,
                "ok",
                prompt_tokens=usage.prompt_tokens if usage else 0,
                completion_tokens=usage.completion_tokens if usage else 0,
            )
            calls = assembly.calls()
            if calls:
                yield Delta(text="", finish_reason="tool_calls", usage=usage, tool_calls=calls)
            else:
                yield Delta(text="", finish_reason=finish_reason or "stop", usage=usage)
        except openai.APITimeoutError as exc:
            record_llm_call(self.name, "error", error_code="timeout")
            raise ProviderTimeout(f"LLM provider '{self.name}' timed out") from exc
        except openai.APIStatusError as exc:
            record_llm_call(self.name, "error", error_code=f"http_{exc.status_code}")
            raise ProviderError(
                f"LLM provider '{self.name}' answered HTTP {exc.status_code}",
                detail={"provider_status": exc.status_code},
            ) from exc
        except openai.APIError as exc:
            record_llm_call(self.name, "error", error_code=type(exc).__name__)
            raise ProviderError(f"LLM provider '{self.name}' failed: {type(exc).__name__}") from exc

    async def check(self) -> None:
        """Remote providers are checked lazily; a configured client is 'loadable'."""

    async def close(self) -> None:
        await self._client.close()
