"""Shared helpers of the deployment tests: paths, YAML documents, Ballsy's env names."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from pydantic import AliasChoices

from ballsy.config import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
# Variables deployments set that Ballsy does not read but a library in the process does.
NOT_BALLSY_SETTINGS = frozenset({"FORWARDED_ALLOW_IPS"})  # uvicorn, for X-Forwarded-For


def setting_env_names() -> frozenset[str]:
    """Every environment variable name Settings reads."""
    names: set[str] = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.update(str(choice).upper() for choice in alias.choices)
        else:
            names.add(name.upper())
    return frozenset(names)


def unknown_env(names: Iterator[str] | list[str] | set[str]) -> set[str]:
    """The names among ``names`` that are neither a Ballsy setting nor expected."""
    known = setting_env_names() | NOT_BALLSY_SETTINGS
    return {name for name in names if name.upper() not in known}


def yaml_documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def tool(name: str) -> str | None:
    """A command-line tool from the venv or PATH."""
    local = ROOT / ".venv" / "bin" / name
    return str(local) if local.exists() else shutil.which(name)
