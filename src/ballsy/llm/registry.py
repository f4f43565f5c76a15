"""Build LLM providers from settings, once per process, keyed by provider name.

``local`` is always built (a user may pick it, and it is the fallback); the provider
``LLM_PROVIDER`` names is built through its factory in ``llm/providers/``.
"""

from __future__ import annotations

from ballsy.config import Settings
from ballsy.errors import InvalidInput
from ballsy.llm.base import LLMProvider
from ballsy.llm.fallback import FallbackLLM
from ballsy.llm.providers import LLM_PROVIDERS
from ballsy.llm.providers.local import build_local


class LLMRegistry:
    """The providers this process can use: ``local`` always, plus the configured one."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.local = build_local(settings)
        self._providers: dict[str, LLMProvider] = {"local": self.local}
        if settings.llm_provider != "local":
            remote = LLM_PROVIDERS.get(settings.llm_provider)(settings)
            if settings.llm_fallback_to_local:
                remote = FallbackLLM(remote, self.local)
            self._providers[settings.llm_provider] = remote

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
