"""The settings that name a provider, and their check against the registries.

``Settings`` keeps these as plain strings (config.py imports no provider, so adding one
never edits it); ``create_app`` and the job commands call :func:`check_provider_names`
at start-up, so a misspelt name stops the process with the valid ones listed.
"""

from __future__ import annotations

from typing import Any

from ballsy.config import Settings
from ballsy.errors import ConfigurationError
from ballsy.jobs.queue.base import JOB_QUEUES
from ballsy.jobs.storage.base import JOB_STORAGES
from ballsy.llm.model_packages import LOCAL_MODELS
from ballsy.llm.providers import LLM_PROVIDERS
from ballsy.providers import Registry
from ballsy.speech.stt import STT_ENGINES
from ballsy.speech.tts import TTS_ENGINES

PROVIDER_SETTINGS: dict[str, Registry[Any]] = {
    "llm_provider": LLM_PROVIDERS,
    "local_llm_model": LOCAL_MODELS,
    "stt_model": STT_ENGINES,
    "tts_engine": TTS_ENGINES,
    "job_queue": JOB_QUEUES,
    "job_storage": JOB_STORAGES,
}
"""Each setting that names a provider → the registry the name must be in."""


def check_provider_names(settings: Settings) -> Settings:
    """``settings`` if every provider it names is registered; else ConfigurationError."""
    problems = [
        f"{field.upper()}={getattr(settings, field)!r} is not a known {registry.kind} "
        f"(valid: {', '.join(registry.names())})"
        for field, registry in PROVIDER_SETTINGS.items()
        if getattr(settings, field) not in registry
    ]
    if problems:
        raise ConfigurationError("; ".join(problems))
    return settings
