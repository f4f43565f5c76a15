"""Production refuses unsafe settings; Secret Manager references; the pieces of auth."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from ballsy.accounts.keys import hash_api_key, looks_like_api_key, new_api_key
from ballsy.config import DEFAULT_JWT_SECRET
from ballsy.errors import ConfigurationError
from ballsy.security.passwords import hash_password, verify_password
from ballsy.security.secrets import redact_url, resolve_secret_references
from ballsy.security.tokens import TokenInvalid, TokenIssuer
from tests.conftest import make_settings

STRONG = "s" * 48


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"auth_mode": "none"}, "AUTH_MODE=none is refused"),
        ({"auth_mode": "jwt"}, "JWT_SECRET is the development default"),
        ({"auth_mode": "jwt", "jwt_secret": "short"}, "at least 32 characters"),
        ({"auth_mode": "apikey", "cors_origins": "*"}, "CORS_ORIGINS='*' is refused"),
    ],
)
def test_production_refuses_to_start(
    tmp_path: Path, overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message.replace("*", r"\*")):
        make_settings(tmp_path, environment="production", **overrides)


def test_production_accepts_auth_and_real_secrets(tmp_path: Path) -> None:
    make_settings(tmp_path, environment="production", auth_mode="apikey")
    make_settings(tmp_path, environment="production", auth_mode="jwt", jwt_secret=STRONG)
    development = make_settings(tmp_path)
    assert development.auth_mode == "none"
    assert development.jwt_secret.get_secret_value() == DEFAULT_JWT_SECRET


def install_fake_secret_manager(
    monkeypatch: pytest.MonkeyPatch, values: dict[str, str]
) -> list[str]:
    asked: list[str] = []

    class Client:
        def access_secret_version(self, request: dict[str, str]) -> Any:
            asked.append(request["name"])
            data = values[request["name"]].encode()
            return types.SimpleNamespace(payload=types.SimpleNamespace(data=data))

    module = types.ModuleType("google.cloud.secretmanager")
    module.SecretManagerServiceClient = Client  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "google.cloud.secretmanager", module)
    return asked


def test_secret_manager_references_are_resolved_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = install_fake_secret_manager(
        monkeypatch,
        {
            "projects/p/secrets/jwt/versions/latest": STRONG,
            "projects/p/secrets/llm/versions/3": "sk-from-secret-manager",
        },
    )
    settings = make_settings(
        tmp_path,
        environment="production",
        auth_mode="jwt",
        jwt_secret="projects/p/secrets/jwt",
        llm_api_key="projects/p/secrets/llm/versions/3",
    )
    resolved = resolve_secret_references(settings)
    assert resolved.jwt_secret.get_secret_value() == STRONG
    assert isinstance(resolved.llm_api_key, SecretStr)
    assert resolved.llm_api_key.get_secret_value() == "sk-from-secret-manager"
    assert sorted(asked) == sorted(
        ["projects/p/secrets/jwt/versions/latest", "projects/p/secrets/llm/versions/3"]
    )
    assert resolve_secret_references(resolved) is resolved, "nothing left to resolve"


def test_a_weak_resolved_secret_still_refuses_production(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_fake_secret_manager(monkeypatch, {"projects/p/secrets/jwt/versions/latest": "weak"})
    settings = make_settings(
        tmp_path, environment="production", auth_mode="jwt", jwt_secret="projects/p/secrets/jwt"
    )
    with pytest.raises(ConfigurationError, match="at least 32"):
        resolve_secret_references(settings)


def test_a_reference_without_the_package_stops_the_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "google.cloud.secretmanager", None)
    settings = make_settings(tmp_path, llm_api_key="projects/p/secrets/llm")
    with pytest.raises(ConfigurationError, match="google-cloud-secret-manager"):
        resolve_secret_references(settings)


def test_urls_are_redacted_for_logs() -> None:
    assert redact_url("redis://:hunter2@cache:6379/0") == "redis://:***@cache:6379/0"
    assert redact_url("postgresql://app:pw@db/ballsy") == "postgresql://app:***@db/ballsy"
    assert redact_url("redis://cache:6379/0") == "redis://cache:6379/0"
    assert redact_url(None) is None


def test_api_keys_are_random_and_hashed() -> None:
    one, two = new_api_key(), new_api_key()
    assert one.secret != two.secret and looks_like_api_key(one.secret)
    assert len(one.secret) > 40 and one.prefix == one.secret[:12]
    assert one.key_hash == hash_api_key(one.secret) and one.secret not in one.key_hash


def test_tokens_are_typed_and_signed() -> None:
    issuer = TokenIssuer(STRONG, access_ttl=60, refresh_ttl=600)
    pair = issuer.issue("user-1", "ada", "admin", 3)
    access = issuer.verify(pair.access_token, "access")
    assert (access.user_id, access.name, access.role, access.version) == (
        "user-1",
        "ada",
        "admin",
        3,
    )
    with pytest.raises(TokenInvalid):
        issuer.verify(pair.access_token, "refresh")
    with pytest.raises(TokenInvalid):
        TokenIssuer("o" * 48, access_ttl=60, refresh_ttl=60).verify(pair.access_token, "access")


async def test_passwords() -> None:
    hashed = await hash_password("a long enough password")
    assert hashed.startswith("$argon2id$")
    assert await verify_password("a long enough password", hashed)
    assert not await verify_password("a wrong password", hashed)
    assert not await verify_password("anything", None)


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        ("postgresql://app:p:w@db/x", "postgresql://app:***@db/x"),
        ("postgresql://app:p@ss:w@db:5432/x", "postgresql://app:***@db:5432/x"),
        # A password holding a path, query or fragment separator ends the host early
        # for urlsplit: the whole of it is still hidden.
        ("postgresql://app:p/ss@db/x", "postgresql://app:***@db/x"),
        ("postgresql://app:12/ss@db/x", "postgresql://app:***@db/x"),
        ("postgresql://app:p?s@db/x", "postgresql://app:***@db/x"),
        ("postgresql://app:p#s@db/x", "postgresql://app:***@db/x"),
        ("https://ghp_tok3n@github.com/x", "https://***@github.com/x"),  # a token as user
        # Every query value is hidden, not only those with a secret-looking name.
        ("https://h.example/hook?token=abc&x=1", "https://h.example/hook?token=***&x=***"),
        ("https://h.example/hook?t=abc&h=zz", "https://h.example/hook?t=***&h=***"),
        ("https://h.example/hook?abcdef", "https://h.example/hook?***"),
        ("https://h.example/x;token=abc", "https://h.example/x;***"),
        (
            "https://b.s3.amazonaws.com/k?X-Amz-Credential=AK&X-Amz-Signature=dead&X-Amz-Expires=9",
            "https://b.s3.amazonaws.com/k?X-Amz-Credential=***&X-Amz-Signature=***&X-Amz-Expires=***",
        ),
        (
            "https://x.blob.core.windows.net/c?sv=1&sig=abc",
            "https://x.blob.core.windows.net/c?sv=***&sig=***",
        ),
        (
            "https://x/y?key=1&api_key=2&access_token=3#id_token=4",
            "https://x/y?key=***&api_key=***&access_token=***#id_token=***",
        ),
        ("https://x/y#s3cret", "https://x/y#***"),
        (
            "https://x/y?signature=s&password=p&secret=q",
            "https://x/y?signature=***&password=***&secret=***",
        ),
        ("http://[::1", "***"),
        ("http://h:notaport/x", "***"),
    ],
)
def test_passwords_with_separators_and_query_secrets_are_redacted(url: str, redacted: str) -> None:
    assert redact_url(url) == redacted


def test_a_url_without_its_path_for_webhook_logs() -> None:
    # Slack- and Discord-style webhooks carry their token in the path.
    url = "https://u:pw@hooks.slack.com:8443/services/T0/B0/XXXX?x=1#f"
    assert redact_url(url, keep_path=False) == "https://hooks.slack.com:8443/..."
