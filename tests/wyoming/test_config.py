"""The Wyoming settings: a public bind is a decision, production needs an allow-list."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from ballsy.app import role_routers
from ballsy.config import Settings
from ballsy.wyoming.server import DEFAULT_PORT, wyoming_port
from tests.conftest import make_settings

PRODUCTION = {
    "environment": "production",
    "auth_mode": "apikey",
}


def settings(tmp_path: Path, **values: object) -> Settings:
    return make_settings(tmp_path, **values)


def test_off_by_default_and_on_loopback(tmp_path: Path) -> None:
    default = settings(tmp_path)
    assert default.wyoming_port == 0 and default.wyoming_host == "127.0.0.1"
    assert not default.wyoming_zeroconf and default.wyoming_user == "home-assistant"
    assert wyoming_port(default) is None
    assert wyoming_port(settings(tmp_path, wyoming_port=10700)) == 10700
    assert wyoming_port(settings(tmp_path, wyoming_port=10700, server_role="api")) is None
    assert wyoming_port(settings(tmp_path, server_role="wyoming")) == DEFAULT_PORT


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.5", "::", "ballsy.lan"])
def test_a_public_bind_needs_allow_remote(tmp_path: Path, host: str) -> None:
    with pytest.raises(ValidationError, match="WYOMING_ALLOW_REMOTE"):
        settings(tmp_path, wyoming_port=10300, wyoming_host=host)
    allowed = settings(tmp_path, wyoming_port=10300, wyoming_host=host, wyoming_allow_remote=True)
    assert allowed.wyoming_problems() == []


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_binds_need_nothing(tmp_path: Path, host: str) -> None:
    assert settings(tmp_path, wyoming_port=10300, wyoming_host=host).wyoming_problems() == []


def test_production_needs_an_allow_list_for_a_public_bind(tmp_path: Path) -> None:
    public = {"wyoming_port": 10300, "wyoming_host": "0.0.0.0", "wyoming_allow_remote": True}
    with pytest.raises(ValidationError, match="WYOMING_ALLOWED_CLIENTS"):
        settings(tmp_path, **PRODUCTION, **public)
    listed = settings(tmp_path, **PRODUCTION, **public, wyoming_allowed_clients="10.0.0.0/24")
    assert listed.wyoming_allowed_clients == ["10.0.0.0/24"]


def test_the_allow_list_is_parsed_and_checked(tmp_path: Path) -> None:
    parsed = settings(tmp_path, wyoming_allowed_clients=" 10.0.0.1, fd00::/8 ,")
    assert parsed.wyoming_allowed_clients == ["10.0.0.1", "fd00::/8"]
    with pytest.raises(ValidationError, match="not an address"):
        settings(tmp_path, wyoming_allowed_clients="10.0.0.1,homeassistant.local")


def test_the_user_is_a_client_id(tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        settings(tmp_path, wyoming_user="no spaces please")


def test_the_wyoming_role_serves_operations_only() -> None:
    paths = {route.path for router in role_routers("wyoming") for route in router.routes}  # type: ignore[attr-defined]
    assert paths == {"/health", "/ready"}
