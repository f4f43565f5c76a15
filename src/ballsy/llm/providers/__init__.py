"""The LLM providers, one file each: a file registers a name and a factory here.

``LLM_PROVIDER`` picks one by name; every module of this package is imported the first
time the registry is asked, so adding a provider is adding one file. A factory gets the
whole :class:`~ballsy.config.Settings` and reads what it needs (its preset's base URL,
key and default model belong in its file, its settings in ``config.py``).
"""

from __future__ import annotations

from collections.abc import Callable

from ballsy.config import Settings
from ballsy.llm.base import LLMProvider
from ballsy.providers import Registry

LLMFactory = Callable[[Settings], LLMProvider]

LLM_PROVIDERS: Registry[LLMFactory] = Registry("LLM provider", package=__name__)
