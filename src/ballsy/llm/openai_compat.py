"""Any OpenAI-compatible chat endpoint through the official ``openai`` SDK.

Covers OpenAI, Azure OpenAI, Mistral's API, Gemini, Ollama and vLLM: only ``base_url``,
the key and the model name differ, and each preset in ``llm/providers/`` supplies them.
The SDK retries 408/409/429/5xx with exponential backoff (``max_retries``); what still
fails becomes a ``ProviderError`` (502) or ``ProviderTimeout`` (504) so a client never
waits on a dead provider.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any, cast

import openai
from openai.types.chat import ChatCompletionMessageParam
from pydantic import SecretStr

from ballsy.config import Settings
from ballsy.errors import ProviderError, ProviderTimeout
from ballsy.llm.base import ChatMessage, Delta, GenerationOptions, Usage
from ballsy.observability.metrics import record_llm_call


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
    ) -> None:
        self.name = name
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
        try:
            response = await self._client.chat.completions.create(
                model=options.model or self._model,
                messages=cast(
                    "list[ChatCompletionMessageParam]",
                    [{"role": m.role, "content": m.content} for m in messages],
                ),
                max_tokens=options.max_tokens,
                temperature=options.temperature,
                stop=list(options.stop) or None,
                stream=True,
                stream_options={"include_usage": True},
            )
            finish_reason: str | None = None
            usage: Usage | None = None
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
                    if choice.delta and choice.delta.content:
                        yield Delta(text=choice.delta.content)
            record_llm_call(
                self.name,
                "ok",
                prompt_tokens=usage.prompt_tokens if usage else 0,
                completion_tokens=usage.completion_tokens if usage else 0,
            )
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
