"""API keys, JWT login/refresh, roles and identity, through the app on both databases."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest
from fastapi import FastAPI

from ballsy.security.tokens import AUDIENCE, ISSUER, TokenIssuer
from tests.security.conftest import JWT_SECRET, make_user, running, secure_settings

PASSWORD = "correct horse battery staple"


async def test_no_credentials_is_401_with_a_challenge(http: httpx.AsyncClient) -> None:
    response = await http.get("/api/history")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer bk_not-a-real-key"},
        {"X-API-Key": "bk_not-a-real-key"},
        {"Authorization": "Bearer not.a.jwt"},
    ],
)
async def test_bad_credentials_are_401(http: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await http.get("/api/history", headers=headers)
    assert response.status_code == 401, response.text


async def test_api_key_in_either_header(secure_app: FastAPI, http: httpx.AsyncClient) -> None:
    user = await make_user(secure_app)
    for headers in (user.headers, {"X-API-Key": user.key}):
        me = await http.get("/api/auth/me", headers=headers)
        assert me.status_code == 200, me.text
        assert me.json() == {"id": user.id, "name": user.name, "role": "user", "auth": "apikey"}


async def test_keys_are_shown_once_and_revocable(
    secure_app: FastAPI, http: httpx.AsyncClient
) -> None:
    user = await make_user(secure_app, password=PASSWORD)
    login = await http.post("/api/auth/token", json={"username": user.name, "password": PASSWORD})
    fresh = {"Authorization": f"Bearer {login.json()['access_token']}"}
    created = await http.post("/api/auth/keys", json={"name": "laptop"}, headers=fresh)
    assert created.status_code == 201, created.text
    second = created.json()
    assert second["key"].startswith("bk_") and second["prefix"] == second["key"][:12]
    listed = (await http.get("/api/auth/keys", headers=user.headers)).json()
    assert {k["name"] for k in listed} == {"default", "laptop"}
    assert all("key" not in k and "key_hash" not in k for k in listed), "no secret is listed"
    new_headers = {"X-API-Key": second["key"]}
    assert (await http.get("/api/history", headers=new_headers)).status_code == 200
    revoked = await http.delete(f"/api/auth/keys/{second['id']}", headers=user.headers)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert (await http.get("/api/history", headers=new_headers)).status_code == 401
    assert (await http.get("/api/history", headers=user.headers)).status_code == 200


async def test_login_refresh_and_reuse_detection(
    secure_app: FastAPI, http: httpx.AsyncClient
) -> None:
    user = await make_user(secure_app, password=PASSWORD)
    login = await http.post("/api/auth/token", json={"username": user.name, "password": PASSWORD})
    assert login.status_code == 200, login.text
    tokens = login.json()
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] == 900
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    me = (await http.get("/api/auth/me", headers=bearer)).json()
    assert (me["id"], me["auth"]) == (user.id, "jwt")
    # A refresh token is not an access token, and the reverse.
    wrong = {"Authorization": f"Bearer {tokens['refresh_token']}"}
    assert (await http.get("/api/auth/me", headers=wrong)).status_code == 401
    as_refresh = {"refresh_token": tokens["access_token"]}
    assert (await http.post("/api/auth/refresh", json=as_refresh)).status_code == 401

    first = await http.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert first.status_code == 200
    rotated = first.json()
    assert rotated["refresh_token"] != tokens["refresh_token"]
    replay = await http.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert replay.status_code == 401, "a spent refresh token is refused"
    # ...and its replay revoked the whole family, including the newest refresh token.
    newest = await http.post("/api/auth/refresh", json={"refresh_token": rotated["refresh_token"]})
    assert newest.status_code == 401


async def test_wrong_password_and_unknown_user_look_alike(
    secure_app: FastAPI, http: httpx.AsyncClient
) -> None:
    user = await make_user(secure_app, password=PASSWORD)
    wrong = await http.post("/api/auth/token", json={"username": user.name, "password": "nope!"})
    ghost = await http.post("/api/auth/token", json={"username": "ghost-x", "password": "nope!"})
    assert wrong.status_code == ghost.status_code == 401
    assert wrong.json() == ghost.json()


async def test_forged_and_expired_tokens_are_refused(
    secure_app: FastAPI, http: httpx.AsyncClient
) -> None:
    user = await make_user(secure_app)
    claims = {
        "sub": user.id,
        "name": user.name,
        "role": "admin",
        "ver": 0,
        "typ": "access",
        "jti": "x",
        "iat": int(time.time()),
        "exp": int(time.time()) + 600,
        "iss": ISSUER,
        "aud": AUDIENCE,
    }
    unsigned = jwt.encode(claims, key="", algorithm="none")
    other_key = jwt.encode(claims, "another-secret-" + "y" * 40, algorithm="HS256")
    expired = TokenIssuer(JWT_SECRET, access_ttl=-60, refresh_ttl=-60)
    stale = expired.issue(user.id, user.name, "user", 0).access_token
    for token in (unsigned, other_key, stale):
        response = await http.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, token
    good = jwt.encode(claims, JWT_SECRET, algorithm="HS256")
    assert (
        await http.get("/api/auth/me", headers={"Authorization": f"Bearer {good}"})
    ).status_code == 200


async def test_admin_routes_need_the_admin_role(
    secure_app: FastAPI, http: httpx.AsyncClient
) -> None:
    user = await make_user(secure_app)
    admin = await make_user(secure_app, role="admin")
    forbidden = await http.get("/api/admin/users", headers=user.headers)
    assert forbidden.status_code == 403
    created = await http.post(
        "/api/admin/users", json={"name": f"made-{user.name}"}, headers=admin.headers
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["key"]["key"].startswith("bk_")
    made_headers = {"X-API-Key": body["key"]["key"]}
    assert (await http.get("/api/auth/me", headers=made_headers)).status_code == 200
    listed = (await http.get("/api/admin/users", headers=admin.headers)).json()
    assert body["user"]["id"] in {u["id"] for u in listed}
    disabled = await http.patch(
        f"/api/admin/users/{body['user']['id']}", json={"active": False}, headers=admin.headers
    )
    assert disabled.status_code == 200 and disabled.json()["active"] is False
    assert (await http.get("/api/auth/me", headers=made_headers)).status_code == 401
    config = (await http.get("/api/admin/config", headers=admin.headers)).json()
    assert config["jwt_secret"] == "**********" and config["auth_mode"] == "jwt"
    state = (await http.get("/api/admin/state", headers=admin.headers)).json()
    assert state["state"]["backend"] == "memory" and not state["state"]["degraded"]


async def test_with_auth_on_client_id_is_only_a_label(
    secure_app: FastAPI, http: httpx.AsyncClient
) -> None:
    user = await make_user(secure_app)
    victim = await make_user(secure_app)
    await http.post(
        "/api/command",
        json={"text": "what is 3 plus 3", "client_id": victim.name},
        headers={**user.headers, "X-Client-ID": victim.name},
    )
    mine = (await http.get("/api/history", headers=user.headers)).json()["items"]
    theirs = (await http.get("/api/history", headers=victim.headers)).json()["items"]
    assert [i["text"] for i in mine] == ["what is 3 plus 3"] and theirs == []


async def test_password_login_is_off_outside_jwt_mode(tmp_path: object) -> None:
    settings = secure_settings(tmp_path, auth_mode="apikey")  # type: ignore[arg-type]
    async with running(settings) as (app, http):
        user = await make_user(app, password=PASSWORD)
        login = await http.post(
            "/api/auth/token", json={"username": user.name, "password": PASSWORD}
        )
        assert login.status_code == 404
        assert (await http.get("/api/auth/me", headers=user.headers)).status_code == 200


async def test_login_attempts_are_rate_limited(tmp_path: object) -> None:
    settings = secure_settings(tmp_path, max_login_attempts_per_minute=2)  # type: ignore[arg-type]
    async with running(settings) as (app, http):
        user = await make_user(app, password=PASSWORD)
        attempt = {"username": user.name, "password": "guess-1234"}
        codes = [(await http.post("/api/auth/token", json=attempt)).status_code for _ in range(3)]
        assert codes == [401, 401, 429]
        right = {"username": user.name, "password": PASSWORD}
        limited = await http.post("/api/auth/token", json=right)
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0


async def test_none_mode_names_the_user_from_body_query_or_header(tmp_path: object) -> None:
    settings = secure_settings(tmp_path, auth_mode="none")  # type: ignore[arg-type]
    async with running(settings) as (_app, http):
        await http.post("/api/command", json={"text": "what is 1 plus 1", "client_id": "ann"})
        await http.post(
            "/api/command", json={"text": "what is 2 plus 2"}, params={"client_id": "bo"}
        )
        await http.post(
            "/api/command", json={"text": "what is 3 plus 3"}, headers={"X-Client-ID": "cy"}
        )
        for name, text in (("ann", "1 plus 1"), ("bo", "2 plus 2"), ("cy", "3 plus 3")):
            items = (await http.get("/api/history", headers={"X-Client-ID": name})).json()["items"]
            assert [i["text"] for i in items] == [f"what is {text}"]
        me = (await http.get("/api/auth/me", params={"client_id": "ann"})).json()
        assert (me["name"], me["auth"], me["role"]) == ("ann", "none", "admin")
