"""AUTH_MODE=none is for one developer's machine: loopback bind, loopback Host names.

Without authentication whoever reaches the port is the admin, so by default the
server binds 127.0.0.1, refuses a non-loopback bind unless told
(ALLOW_UNAUTHENTICATED_REMOTE=true), and answers only loopback Host names, so that a
web page whose name resolves to 127.0.0.1 (DNS rebinding) cannot drive it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ballsy.cli import cli
from tests.conftest import make_settings
from tests.security.conftest import running, secure_settings


def test_the_unauthenticated_default_binds_loopback(tmp_path: Path) -> None:
    assert make_settings(tmp_path).bind_host == "127.0.0.1"
    assert secure_settings(tmp_path).bind_host == "0.0.0.0"
    assert make_settings(tmp_path, host="::").bind_host == "::"


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.5", "::", "ballsy.lan"])
def test_a_remote_bind_without_auth_needs_to_be_meant(tmp_path: Path, host: str) -> None:
    assert make_settings(tmp_path, host=host).bind_problems()
    meant = make_settings(tmp_path, host=host, allow_unauthenticated_remote=True)
    assert meant.bind_problems() == []
    assert secure_settings(tmp_path, host=host).bind_problems() == []
    assert make_settings(tmp_path, host="localhost").bind_problems() == []


def test_serve_refuses_a_remote_unauthenticated_bind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no developer .env
    monkeypatch.setenv("BALLSY_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AUTH_MODE", "none")
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0", "--port", "1"])
    assert result.exit_code == 2
    assert "ALLOW_UNAUTHENTICATED_REMOTE" in result.output


async def test_unauthenticated_apps_answer_only_loopback_host_names(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, allowed_hosts=[])  # the default: unset
    async with running(settings) as (_, http):
        for host in ("localhost", "localhost:8080", "127.0.0.1:8080", "ballsy.localhost"):
            response = await http.get("/api/settings", headers={"Host": host})
            assert response.status_code == 200, host
        for host in ("evil.example", "evil.example:8080", "192.168.1.5"):
            response = await http.get("/api/settings", headers={"Host": host})
            assert response.status_code == 400, host


async def test_hosts_are_open_once_remote_access_is_meant(tmp_path: Path) -> None:
    meant = make_settings(tmp_path / "a", allowed_hosts=[], allow_unauthenticated_remote=True)
    authenticated = secure_settings(tmp_path / "b", allowed_hosts=[])
    assert meant.trusted_hosts == ["*"] and authenticated.trusted_hosts == ["*"]
    listed = make_settings(tmp_path / "c", allowed_hosts="ballsy.lan")
    assert listed.trusted_hosts == ["ballsy.lan"]
    async with running(meant) as (_, http):
        response = await http.get("/health", headers={"Host": "ballsy.lan"})
        assert response.status_code == 200
