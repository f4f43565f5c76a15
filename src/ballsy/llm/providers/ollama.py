"""``ollama``: a local Ollama server through its OpenAI-compatible API; no key needed.

``LLM_BASE_URL`` points elsewhere than this machine's default port, ``LLM_MODEL`` picks
any pulled model (``ollama pull llama3.2``).
"""

from __future__ import annotations

from ballsy.config import Settings
from ballsy.llm.openai_compat import OpenAICompatibleLLM
from ballsy.llm.providers import LLM_PROVIDERS

BASE_URL = "http://localhost:11434/v1"
DEFAULT_MODEL = "llama3.2"


def build_ollama(settings: Settings) -> OpenAICompatibleLLM:
    return OpenAICompatibleLLM.from_settings(
        settings,
        "ollama",
        base_url=settings.llm_base_url or BASE_URL,
        api_key=settings.llm_api_key,
        model=settings.llm_model or DEFAULT_MODEL,
    )


LLM_PROVIDERS.register("ollama", build_ollama, description="a local Ollama server")
