"""``gemini``: Google's Gemini through its OpenAI-compatible endpoint, key in
``GEMINI_API_KEY``: the same client, a different base URL."""

from __future__ import annotations

from ballsy.config import Settings
from ballsy.llm.openai_compat import OpenAICompatibleLLM
from ballsy.llm.providers import LLM_PROVIDERS

BASE_URL = "https://generativelanguage.googleapis.com/v1beta/openai/"
DEFAULT_MODEL = "gemini-2.5-flash"


def build_gemini(settings: Settings) -> OpenAICompatibleLLM:
    return OpenAICompatibleLLM.from_settings(
        settings,
        "gemini",
        base_url=settings.llm_base_url or BASE_URL,
        api_key=settings.gemini_api_key or settings.llm_api_key,
        model=settings.llm_model or DEFAULT_MODEL,
    )


LLM_PROVIDERS.register("gemini", build_gemini, description="Google's Gemini API")
