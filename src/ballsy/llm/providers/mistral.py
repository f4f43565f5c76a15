"""``mistral``: Mistral's API (OpenAI-compatible), key in ``MISTRAL_API_KEY``."""

from __future__ import annotations

from ballsy.config import Settings
from ballsy.llm.openai_compat import OpenAICompatibleLLM
from ballsy.llm.providers import LLM_PROVIDERS

BASE_URL = "https://api.mistral.ai/v1"
DEFAULT_MODEL = "mistral-large-latest"


def build_mistral(settings: Settings) -> OpenAICompatibleLLM:
    return OpenAICompatibleLLM.from_settings(
        settings,
        "mistral",
        base_url=settings.llm_base_url or BASE_URL,
        api_key=settings.mistral_api_key or settings.llm_api_key,
        model=settings.llm_model or DEFAULT_MODEL,
    )


LLM_PROVIDERS.register("mistral", build_mistral, description="Mistral's API")
