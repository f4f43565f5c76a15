"""``local``: llama.cpp in this process, the embedded model ``LOCAL_LLM_MODEL`` names
(``fast`` or ``smart``) unless ``LOCAL_LLM_MODEL_PATH`` names another GGUF. Always
built, as the fallback."""

from __future__ import annotations

from ballsy.config import Settings
from ballsy.llm.local import LocalLLM
from ballsy.llm.providers import LLM_PROVIDERS


def build_local(settings: Settings) -> LocalLLM:
    return LocalLLM(
        settings.local_llm_model_path,
        model=settings.local_llm_model,
        cache_dir=settings.cache_dir,
        context_size=settings.local_llm_context,
        threads=settings.local_llm_threads,
        parallel=settings.local_llm_parallel,
        prompt_cache_mb=settings.local_llm_prompt_cache_mb,
        tools=settings.local_llm_tools,
    )


LLM_PROVIDERS.register("local", build_local, description="llama.cpp in this process")
