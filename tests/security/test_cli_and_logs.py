"""``ballsy users …``, and a real server that must never write a secret to its log."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from ballsy.cli import cli
from tests.fake_openai import FakeOpenAI, run_fake_openai
from tests.servers import BALLSY, BallsyServer, RedisServer, create_database, drop_database

KEY = re.compile(r"^(bk_[A-Za-z0-9_-]{40,})$", re.MULTILINE)


@pytest.fixture(scope="module")
def fake_openai() -> Iterator[tuple[str, FakeOpenAI]]:
    yield from run_fake_openai()


def test_users_cli(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"BALLSY_DATA_DIR": str(tmp_path), "DATABASE_URL": "", "AUTH_MODE": "apikey"}
    created = runner.invoke(cli, ["users", "create", "ada", "--role", "admin"], env=env)
    assert created.exit_code == 0, created.output
    assert "created admin ada" in created.output and KEY.search(created.output)
    with_password = runner.invoke(
        cli,
        ["users", "create", "bob", "--password", "--no-key"],
        env=env,
        input="pw-long-enough\n" * 2,
    )
    assert with_password.exit_code == 0, with_password.output
    assert not KEY.search(with_password.output)
    taken = runner.invoke(cli, ["users", "create", "ada"], env=env)
    assert taken.exit_code == 2 and "exists already" in taken.output

    issued = runner.invoke(cli, ["users", "create-key", "bob", "--label", "ci"], env=env)
    assert issued.exit_code == 0
    key_id = re.search(r"\(id ([0-9a-f-]{36})\)", issued.output)
    assert key_id
    listed = runner.invoke(cli, ["users", "list"], env=env)
    assert re.search(r"ada\s+admin\s+active\s+keys=1", listed.output), listed.output
    assert re.search(r"bob\s+user\s+active\s+keys=1", listed.output), listed.output
    revoked = runner.invoke(cli, ["users", "revoke-key", key_id.group(1)], env=env)
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    assert runner.invoke(cli, ["users", "revoke-key", "bk_nothing"], env=env).exit_code == 2
    disabled = runner.invoke(cli, ["users", "set", "bob", "--disabled"], env=env)
    assert "bob: user, disabled" in disabled.output
    listed = runner.invoke(cli, ["users", "list"], env=env)
    assert re.search(r"bob\s+user\s+disabled\s+keys=0", listed.output), listed.output


async def test_secrets_never_reach_the_log(
    tmp_path: Path, fake_openai: tuple[str, FakeOpenAI]
) -> None:
    base_url, _fake = fake_openai
    secrets_used = {
        "jwt_secret": "jwt-" + secrets.token_urlsafe(32),
        "llm_key": "sk-" + secrets.token_urlsafe(24),
        "pg_password": "pg-" + secrets.token_urlsafe(12),
        "redis_password": "rd-" + secrets.token_urlsafe(12),
        "password": "pw-" + secrets.token_urlsafe(12),
    }
    redis = RedisServer(tmp_path / "redis", password=secrets_used["redis_password"]).start()
    database = await create_database()
    # Local PostgreSQL trusts loopback, so any password works; it still must not leak.
    database_url = database.replace("postgres@", f"postgres:{secrets_used['pg_password']}@")
    env = {
        "AUTH_MODE": "jwt",
        "JWT_SECRET": secrets_used["jwt_secret"],
        "DATABASE_URL": database_url,
        "REDIS_URL": redis.url,
        "LLM_PROVIDER": "openai",
        "LLM_BASE_URL": base_url,
        "LLM_MODEL": "echo",
        "LLM_API_KEY": secrets_used["llm_key"],
        "LOG_LEVEL": "DEBUG",
    }
    server = BallsyServer(tmp_path / "server", env)
    try:
        made = await asyncio.to_thread(
            subprocess.run,
            [str(BALLSY), "users", "create", "alice", "--role", "admin", "--password"],
            input=f"{secrets_used['password']}\n" * 2,
            capture_output=True,
            text=True,
            env={**server_env(server), **env},
            cwd=tmp_path,
            timeout=60,
            check=True,
        )
        key_match = KEY.search(made.stdout)
        assert key_match, made.stdout
        secrets_used["api_key"] = key_match.group(1)
        server.start().wait_ready()
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            login = await http.post(
                "/api/auth/token",
                json={"username": "alice", "password": secrets_used["password"]},
            )
            tokens = login.json()
            secrets_used |= {"access": tokens["access_token"], "refresh": tokens["refresh_token"]}
            bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
            assert (await http.get("/api/auth/me", headers=bearer)).status_code == 200
            refreshed = await http.post(
                "/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
            )
            assert refreshed.status_code == 200
            keyed = {"X-API-Key": secrets_used["api_key"]}
            joke = await http.post("/api/command", json={"text": "tell me a joke"}, headers=keyed)
            assert joke.status_code == 200 and joke.json()["handled_by"]["name"] == "openai"
            wrong = "bk_" + secrets.token_urlsafe(32)
            secrets_used["wrong_key"] = wrong
            assert (await http.get("/api/history", headers={"X-API-Key": wrong})).status_code == 401
            config = await http.get("/api/admin/config", headers=keyed)
            state = (await http.get("/api/admin/state", headers=keyed)).json()
            assert state["state"]["backend"] == "redis", "the password-protected Redis is used"
    finally:
        server.stop()
        redis.stop()
        await drop_database(database)
    log = server.log()
    assert "ballsy.http" in log or "uvicorn" in log, "the server logged nothing to check"
    for name, value in secrets_used.items():
        assert value not in log, f"the {name} appears in the server log"
        assert value not in config.text, f"the {name} appears in /api/admin/config"


def server_env(server: BallsyServer) -> dict[str, str]:
    keep = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    return {**keep, "BALLSY_DATA_DIR": str(server.data_dir)}
