"""One registry per kind of pluggable provider: a config name → a factory.

Each provider file registers itself when it is imported (``REGISTRY.register("name",
factory)``); the registry imports its provider modules the first time it is asked
anything, so a new provider is one new file in the folder the registry discovers. The
settings that name a provider are checked against these registries at start-up
(``ballsy.provider_names``).

This module knows nothing of the settings or of any provider: it depends only on the
errors, so every layer may use it without an import cycle.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
from collections.abc import Iterable
from typing import Generic, TypeVar

from ballsy.errors import BallsyError, ConfigurationError

T = TypeVar("T")


def package_modules(package: str) -> list[str]:
    """The modules directly inside ``package`` (imported to find them), sorted by name."""
    found = importlib.import_module(package)
    return [
        f"{package}.{module.name}"
        for module in sorted(pkgutil.iter_modules(found.__path__), key=lambda m: m.name)
        if not module.name.startswith("_")
    ]


class Registry(Generic[T]):
    """Named factories of one kind (LLM providers, speech engines, job storages …).

    Before the first lookup it imports ``modules`` and every module of ``package`` (so
    for a package the folder *is* the list). A lookup of an unknown name raises
    ``error`` with the valid names, under ``detail_key`` in the error's detail.
    """

    def __init__(
        self,
        kind: str,
        *,
        package: str | None = None,
        modules: Iterable[str] = (),
        error: type[BallsyError] = ConfigurationError,
        detail_key: str = "name",
    ) -> None:
        self.kind = kind
        self._package = package
        self._modules = tuple(modules)
        self._error = error
        self._detail_key = detail_key
        self._entries: dict[str, T] = {}
        self._descriptions: dict[str, str] = {}
        self._discovered = False
        self._lock = threading.RLock()

    def register(self, name: str, factory: T, *, description: str = "") -> T:
        """Make ``factory`` available as ``name``; returns it (usable as a decorator)."""
        if name in self._entries and self._entries[name] is not factory:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._entries[name] = factory
        self._descriptions[name] = description
        return factory

    def _discover(self) -> None:
        if self._discovered:
            return
        with self._lock:
            if self._discovered:
                return
            # Set first: a provider module importing this registry must not recurse.
            self._discovered = True
            modules = list(self._modules)
            if self._package is not None:
                modules += package_modules(self._package)
            for module in modules:
                importlib.import_module(module)

    def names(self) -> list[str]:
        """Every registered name, in registration order."""
        self._discover()
        return list(self._entries)

    def items(self) -> list[tuple[str, T]]:
        self._discover()
        return list(self._entries.items())

    def description(self, name: str) -> str:
        self.get(name)
        return self._descriptions[name]

    def __contains__(self, name: object) -> bool:
        self._discover()
        return name in self._entries

    def get(self, name: str) -> T:
        """The factory registered as ``name``; an error naming the valid ones otherwise."""
        self._discover()
        try:
            return self._entries[name]
        except KeyError:
            valid = sorted(self._entries)
            raise self._error(
                f"unknown {self.kind} {name!r}; available: {', '.join(valid)}",
                detail={self._detail_key: name, "available": valid},
            ) from None
