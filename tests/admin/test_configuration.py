"""The dashboard's view of the configuration never shows a secret."""

from __future__ import annotations

from pathlib import Path

from ballsy.admin.configuration import MASK, masked_settings
from tests.conftest import make_settings


def test_secrets_are_masked_and_limits_kept(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        "postgresql+asyncpg://ballsy:pg-pass-123@db.internal:5432/ballsy",
        jwt_secret="jwt-" + "s" * 40,
        llm_api_key="sk-live-abc",
        llm_base_url="https://user:url-pass-456@llm.example/v1",
        redis_url="redis://:redis-pass-789@cache:6379/0",
        llm_max_tokens=321,
    )
    shown = masked_settings(settings)
    text = repr(shown)
    for secret in ("pg-pass-123", "sk-live-abc", "url-pass-456", "redis-pass-789", "s" * 40):
        assert secret not in text
    assert shown["jwt_secret"] == MASK and shown["llm_api_key"] == MASK
    assert shown["database_url"] == "postgresql+asyncpg://ballsy:***@db.internal:5432/ballsy"
    assert shown["llm_base_url"] == "https://user:***@llm.example/v1"
    assert shown["llm_max_tokens"] == 321  # named *token*, but a limit, not a secret
    assert shown["mistral_api_key"] is None  # unset stays visibly unset
    assert shown["auth_mode"] == settings.auth_mode
