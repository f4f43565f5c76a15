"""``azure``: Azure OpenAI; ``LLM_BASE_URL`` is the resource's endpoint, ``LLM_MODEL``
the deployment, ``AZURE_OPENAI_API_VERSION`` the API version."""

from __future__ import annotations

from ballsy.config import Settings
from ballsy.llm.openai_compat import OpenAICompatibleLLM
from ballsy.llm.providers import LLM_PROVIDERS

DEFAULT_MODEL = "gpt-4o-mini"


def build_azure(settings: Settings) -> OpenAICompatibleLLM:
    return OpenAICompatibleLLM.from_settings(
        settings,
        "azure",
        base_url=settings.llm_base_url,
        api_key=settings.llm_api_key,
        model=settings.llm_model or DEFAULT_MODEL,
        azure_api_version=settings.azure_openai_api_version,
    )


LLM_PROVIDERS.register("azure", build_azure, description="Azure OpenAI, endpoint in LLM_BASE_URL")
