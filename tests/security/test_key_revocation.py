"""Issue 15: who may mint API keys, and what a password change, disable or demotion
revokes (keys, access tokens, WebSocket tickets), through the real app on both
databases."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from ballsy.errors import Unauthorized
from ballsy.security.tokens import TokenIssuer
from ballsy.services import Services
from tests.security.conftest import JWT_SECRET, Caller, make_user, running, secure_settings

PASSWORD = "correct horse battery staple"


async def login(http: httpx.AsyncClient, user: Caller) -> dict[str, str]:
    response = await http.post(
        "/api/auth/token", json={"username": user.name, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def expiry(created: dict[str, str]) -> datetime:
    value = datetime.fromisoformat(created["expires_at"])
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def test_an_api_key_cannot_mint_keys(secure_app: FastAPI, http: httpx.AsyncClient) -> None:
    user = await make_user(secure_app, password=PASSWORD)
    refused = await http.post("/api/auth/keys", json={"name": "more"}, headers=user.headers)
    assert refused.status_code == 403, refused.text


async def test_a_stale_login_cannot_mint_keys(secure_app: FastAPI, http: httpx.AsyncClient) -> None:
    user = await make_user(secure_app, password=PASSWORD)
    issuer = TokenIssuer(JWT_SECRET, access_ttl=900, refresh_ttl=3600)
    old_login = int(time.time()) - 600  # still a valid access token, but 10 minutes old
    stale = issuer.issue(user.id, user.name, "user", 0, auth_time=old_login).access_token
    no_login = issuer.issue(user.id, user.name, "user", 0).access_token  # no auth_time
    for token in (stale, no_login):
        headers = {"Authorization": f"Bearer {token}"}
        assert (await http.get("/api/auth/me", headers=headers)).status_code == 200
        refused = await http.post("/api/auth/keys", json={"name": "x"}, headers=headers)
        assert refused.status_code == 403, refused.text


async def test_a_refresh_keeps_the_login_time(secure_app: FastAPI, http: httpx.AsyncClient) -> None:
    user = await make_user(secure_app, password=PASSWORD)
    issuer = TokenIssuer(JWT_SECRET, access_ttl=900, refresh_ttl=3600)
    old = issuer.issue(user.id, user.name, "user", 0, auth_time=int(time.time()) - 600)
    renewed = await http.post("/api/auth/refresh", json={"refresh_token": old.refresh_token})
    assert renewed.status_code == 200, renewed.text
    headers = {"Authorization": f"Bearer {renewed.json()['access_token']}"}
    refused = await http.post("/api/auth/keys", json={"name": "x"}, headers=headers)
    assert refused.status_code == 403, "a refresh is not a fresh password login"


async def test_a_fresh_login_mints_expiring_keys_up_to_the_cap(tmp_path: object) -> None:
    settings = secure_settings(tmp_path, api_keys_per_user=3, api_key_max_days=30)  # type: ignore[arg-type]
    async with running(settings) as (app, http):
        user = await make_user(app, password=PASSWORD)  # holds 1 key
        fresh = await login(http, user)
        now = datetime.now(UTC)
        forever = await http.post("/api/auth/keys", json={"name": "a"}, headers=fresh)
        assert forever.status_code == 201, forever.text
        assert expiry(forever.json()) <= now + timedelta(days=30, minutes=1), "always expires"
        long = {"name": "b", "expires_in_days": 3000}
        capped = await http.post("/api/auth/keys", json=long, headers=fresh)
        assert capped.status_code == 201
        assert expiry(capped.json()) <= now + timedelta(days=30, minutes=1)
        over = await http.post("/api/auth/keys", json={"name": "c"}, headers=fresh)
        assert over.status_code == 409, over.text
        # Revoking one frees a place.
        await http.delete(f"/api/auth/keys/{capped.json()['id']}", headers=fresh)
        again = await http.post("/api/auth/keys", json={"name": "c"}, headers=fresh)
        assert again.status_code == 201, again.text


async def test_an_expiring_admin_key_cannot_mint_a_longer_one(
    secure_app: FastAPI, http: httpx.AsyncClient
) -> None:
    services: Services = secure_app.state.services
    admin = await make_user(secure_app, role="admin")
    short = await services.users.create_key(admin.id, expires_in_days=2)
    headers = {"X-API-Key": short.secret}
    made = await http.post(
        "/api/auth/keys", json={"name": "long", "expires_in_days": 300}, headers=headers
    )
    assert made.status_code == 201, made.text
    assert short.expires_at is not None
    parent_end = (
        short.expires_at if short.expires_at.tzinfo else short.expires_at.replace(tzinfo=UTC)
    )
    assert expiry(made.json()) <= parent_end


async def test_a_password_change_revokes_keys_tokens_and_tickets(
    secure_app: FastAPI, http: httpx.AsyncClient
) -> None:
    admin = await make_user(secure_app, role="admin")
    user = await make_user(secure_app, password=PASSWORD)
    token = await login(http, user)
    ticket = (await http.post("/api/auth/ws-ticket", headers=user.headers)).json()["ticket"]
    changed = await http.patch(
        f"/api/admin/users/{user.id}",
        json={"password": "a new long password"},
        headers=admin.headers,
    )
    assert changed.status_code == 200, changed.text
    assert (await http.get("/api/auth/me", headers=user.headers)).status_code == 401, "key"
    assert (await http.get("/api/auth/me", headers=token)).status_code == 401, "access token"
    services: Services = secure_app.state.services
    with pytest.raises(Unauthorized, match="revoked"):  # issued before the change
        await services.auth.redeem_ws_ticket(ticket)
    keys = (await http.get(f"/api/admin/users/{user.id}/keys", headers=admin.headers)).json()
    assert keys and all(k["revoked_at"] for k in keys)


async def test_disable_and_demotion_take_effect_at_once(
    secure_app: FastAPI, http: httpx.AsyncClient
) -> None:
    root = await make_user(secure_app, role="admin")
    boss = await make_user(secure_app, role="admin", password=PASSWORD)
    token = await login(http, boss)
    assert (await http.get("/api/admin/users", headers=token)).status_code == 200
    demoted = await http.patch(
        f"/api/admin/users/{boss.id}", json={"role": "user"}, headers=root.headers
    )
    assert demoted.status_code == 200
    assert (await http.get("/api/admin/users", headers=boss.headers)).status_code == 403
    assert (await http.get("/api/admin/users", headers=token)).status_code in {401, 403}

    user = await make_user(secure_app, password=PASSWORD)
    token = await login(http, user)
    disabled = await http.patch(
        f"/api/admin/users/{user.id}", json={"active": False}, headers=root.headers
    )
    assert disabled.status_code == 200
    assert (await http.get("/api/auth/me", headers=token)).status_code == 401
