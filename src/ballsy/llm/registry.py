"""Build LLM providers from settings, once per process, keyed by provider name."""

from __future__ import annotations

from ballsy.config import Settings
from ballsy.errors import InvalidInput
from ballsy.llm.base import LLMProvider
from ballsy.llm.fallback import FallbackLLM
from ballsy.llm.local import LocalLLM
from ballsy.llm.openai_compat import OpenAICompatibleLLM


class LLMRegistry:
    """The providers this process can use: ``local`` always, plus the configured one."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.local = LocalLLM(
            settings.local_llm_model_path,
            context_size=settings.local_llm_context,
            threads=settings.local_llm_threads,
            prompt_cache_mb=settings.local_llm_prompt_cache_mb,
        )
        self._providers: dict[str, LLMProvider] = {"local": self.local}
        if settings.llm_provider != "local":
            remote: LLMProvider = self._build_remote(settings)
            if settings.llm_fallback_to_local:
                remote = FallbackLLM(remote, self.local)
            self._providers[settings.llm_provider] = remote

    @staticmethod
    def _build_remote(settings: Settings) -> OpenAICompatibleLLM:
        base_url, api_key, model = settings.llm_endpoint()
        return OpenAICompatibleLLM(
            name=settings.llm_provider,
            model=model or "gpt-4o-mini",
            base_url=base_url,
            api_key=api_key.get_secret_value() if api_key else None,
            timeout=settings.llm_timeout,
            max_retries=settings.llm_max_retries,
            azure_api_version=(
                settings.azure_openai_api_version if settings.llm_provider == "azure" else None
            ),
        )

    @property
    def names(self) -> list[str]:
        return list(self._providers)

    @property
    def default(self) -> LLMProvider:
        return self._providers[self.settings.llm_provider]

    def get(self, name: str | None) -> LLMProvider:
        if name is None:
            return self.default
        try:
            return self._providers[name]
        except KeyError:
            raise InvalidInput(
                f"unknown LLM provider '{name}'; available: {', '.join(self._providers)}"
            ) from None

    async def close(self) -> None:
        for provider in self._providers.values():
            await provider.close()
