"""``openai``: OpenAI's API, or any OpenAI-compatible URL in ``LLM_BASE_URL`` (vLLM …)."""

from __future__ import annotations

from ballsy.config import Settings
from ballsy.llm.openai_compat import OpenAICompatibleLLM
from ballsy.llm.providers import LLM_PROVIDERS

DEFAULT_MODEL = "gpt-4o-mini"


def build_openai(settings: Settings) -> OpenAICompatibleLLM:
    return OpenAICompatibleLLM.from_settings(
        settings,
        "openai",
        base_url=settings.llm_base_url,
        api_key=settings.llm_api_key,
        model=settings.llm_model or DEFAULT_MODEL,
    )


LLM_PROVIDERS.register(
    "openai", build_openai, description="OpenAI, or any OpenAI-compatible LLM_BASE_URL"
)
