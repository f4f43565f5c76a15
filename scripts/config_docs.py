"""Render docs/configuration.md from the settings classes (tests check it is current):
the server's ``Settings``, then the capacity planner's ``PlanPrices``.

.venv/bin/python scripts/config_docs.py > docs/configuration.md
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from pydantic import AliasChoices
from pydantic_core import PydanticUndefined

from ballsy.capacity.plan import PlanPrices
from ballsy.config import Settings
from ballsy.provider_names import PROVIDER_SETTINGS

HEADER = """# Configuration

Ballsy reads every setting once, from environment variables or a `.env` file in the
working directory (environment wins), into `ballsy.config.Settings`. Names are
case-insensitive. Lists are comma-separated. This page is generated from that class
(`scripts/config_docs.py`); a test fails when it falls out of date.

| variable | default | description |
|---|---|---|
"""


PLAN_HEADER = """
## Capacity planning

`ballsy plan` (docs/deploy.md) reads its USD list prices from these variables (or the
same `.env`) into `ballsy.capacity.plan.PlanPrices`; the server does not read them.

| variable | default | description |
|---|---|---|
"""


def env_name(name: str, field: Any, prefix: str = "") -> str:
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0]).upper()
    return (prefix + name).upper()


def default_of(field: Any) -> str:
    if field.default_factory is not None:
        value = field.default_factory()
        if isinstance(value, Path):
            return "`~/.local/share/ballsy` (or `$XDG_DATA_HOME/ballsy`)"
        return f"`{','.join(map(str, value)) if isinstance(value, list) else value}`"
    if field.default is PydanticUndefined or field.default is None:
        return "unset"
    value = field.default
    if isinstance(value, str) and len(value) > 40:
        return "*(see description)*"
    return f"`{value}`"


def choices(name: str) -> str:
    """The registered providers a setting may name (none for other settings)."""
    registry = PROVIDER_SETTINGS.get(name)
    if registry is None:
        return ""
    described = [(choice, registry.description(choice)) for choice in sorted(registry.names())]
    names = [f"`{choice}`: {text}" if text else f"`{choice}`" for choice, text in described]
    return " One of: " + "; ".join(names) + "."


def table(fields: dict[str, Any], prefix: str = "") -> str:
    rows = []
    for name, field in fields.items():
        description = (field.description or "") + (choices(name) if not prefix else "")
        description = description.replace("|", "\\|").replace("\n", " ")
        rows.append(f"| `{env_name(name, field, prefix)}` | {default_of(field)} | {description} |")
    return "\n".join(rows) + "\n"


def render() -> str:
    prefix = str(PlanPrices.model_config.get("env_prefix", ""))
    return (
        HEADER + table(Settings.model_fields) + PLAN_HEADER + table(PlanPrices.model_fields, prefix)
    )


if __name__ == "__main__":
    sys.stdout.write(render())
