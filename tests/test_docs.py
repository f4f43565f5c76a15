"""The documentation that is generated from code must match the code."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_configuration_table_is_current() -> None:
    spec = importlib.util.spec_from_file_location("config_docs", ROOT / "scripts/config_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    written = (ROOT / "docs/configuration.md").read_text(encoding="utf-8")
    assert written == module.render(), (
        "docs/configuration.md is stale: run "
        ".venv/bin/python scripts/config_docs.py > docs/configuration.md"
    )


def test_every_setting_has_a_description() -> None:
    from ballsy.capacity.plan import PlanPrices
    from ballsy.config import Settings

    fields = {**Settings.model_fields, **PlanPrices.model_fields}
    missing = [name for name, field in fields.items() if not field.description]
    assert not missing, f"settings without a description: {missing}"
