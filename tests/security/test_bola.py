"""Broken object-level authorization: another user's object is a 404, on every route.

Each object route has a case below that makes an object as its owner, then asks for
it as someone else (404, and the object is unchanged) and as the owner (2xx). A
route with a path parameter under ``/api`` that has no case fails the coverage test,
so a new object route cannot ship without one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from ballsy.assistant.spoken_turn import reply_audio_path
from ballsy.services import Services
from tests.conftest import FIXTURES
from tests.security.conftest import Caller, make_user


@dataclass(frozen=True)
class ObjectRoute:
    method: str
    path: str
    # Makes the owner's object; returns the concrete URL of it.
    make: Callable[[FastAPI, httpx.AsyncClient, Caller], Awaitable[str]]
    body: dict[str, object] | None = None


async def a_session(_app: FastAPI, http: httpx.AsyncClient, owner: Caller) -> str:
    opened = await http.post("/api/sessions", json={"device": "phone"}, headers=owner.headers)
    assert opened.status_code == 201, opened.text
    return f"/api/sessions/{opened.json()['id']}"


async def a_session_heartbeat(app: FastAPI, http: httpx.AsyncClient, owner: Caller) -> str:
    return await a_session(app, http, owner) + "/heartbeat"


async def an_api_key(app: FastAPI, _http: httpx.AsyncClient, owner: Caller) -> str:
    # An API key cannot create keys (a fresh password login is needed): the app makes it.
    services: Services = app.state.services
    created = await services.users.create_key(owner.id, name="extra")
    return f"/api/auth/keys/{created.id}"


async def a_reply_audio(app: FastAPI, http: httpx.AsyncClient, owner: Caller) -> str:
    turn = await http.post("/api/command", json={"text": "what is 4 plus 4"}, headers=owner.headers)
    history_id = turn.json()["id"]
    services: Services = app.state.services
    path = reply_audio_path(services.settings, owner.id, history_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"RIFF-not-really-audio")
    return f"/api/voice/{history_id}/audio"


async def a_job(_app: FastAPI, http: httpx.AsyncClient, owner: Caller) -> str:
    audio = (FIXTURES / "english.wav").read_bytes()
    submitted = await http.post(
        "/api/transcriptions", files={"file": ("one-two-three.wav", audio)}, headers=owner.headers
    )
    assert submitted.status_code == 202, submitted.text
    return f"/api/transcriptions/{submitted.json()['id']}"


async def a_finished_job(app: FastAPI, http: httpx.AsyncClient, owner: Caller) -> str:
    url = await a_job(app, http, owner)
    for _ in range(300):  # the embedded worker finishes a 3 s file in about a second
        status = (await http.get(url, headers=owner.headers)).json()["status"]
        if status in {"done", "failed", "cancelled"}:
            break
        await asyncio.sleep(0.1)
    return url


async def a_job_result(app: FastAPI, http: httpx.AsyncClient, owner: Caller) -> str:
    return await a_finished_job(app, http, owner) + "/result?format=txt"


async def a_job_event_stream(app: FastAPI, http: httpx.AsyncClient, owner: Caller) -> str:
    return await a_finished_job(app, http, owner) + "/events"


OBJECT_ROUTES = [
    ObjectRoute("GET", "/api/transcriptions/{job_id}", a_job),
    ObjectRoute("GET", "/api/transcriptions/{job_id}/result", a_job_result),
    ObjectRoute("GET", "/api/transcriptions/{job_id}/events", a_job_event_stream),
    ObjectRoute("DELETE", "/api/transcriptions/{job_id}", a_job),
    ObjectRoute("GET", "/api/sessions/{session_id}", a_session),
    ObjectRoute("POST", "/api/sessions/{session_id}/heartbeat", a_session_heartbeat, {}),
    ObjectRoute("DELETE", "/api/sessions/{session_id}", a_session),
    ObjectRoute("DELETE", "/api/auth/keys/{key_id}", an_api_key),
    ObjectRoute("GET", "/api/voice/{history_id}/audio", a_reply_audio),
]


def test_every_object_route_has_a_case(secure_app: FastAPI) -> None:
    with_params = {
        (method, context.path)
        for context in iter_route_contexts(secure_app.routes)
        if context.path
        and context.path.startswith("/api/")
        and not context.path.startswith("/api/admin/")  # admin-only, tested for 403
        and "{" in context.path
        for method in (context.methods or ())
        if method not in {"HEAD", "OPTIONS"}
    }
    covered = {(route.method, route.path) for route in OBJECT_ROUTES}
    assert with_params <= covered, f"add a BOLA case for {sorted(with_params - covered)}"


async def test_another_users_object_is_404(secure_app: FastAPI, http: httpx.AsyncClient) -> None:
    owner, intruder = await make_user(secure_app), await make_user(secure_app)
    for route in OBJECT_ROUTES:
        url = await route.make(secure_app, http, owner)
        denied = await http.request(route.method, url, json=route.body, headers=intruder.headers)
        assert denied.status_code == 404, f"{route.method} {route.path}: {denied.status_code}"
        assert denied.json()["error"]["code"] == "not_found"
        allowed = await http.request(route.method, url, json=route.body, headers=owner.headers)
        assert allowed.status_code < 300, f"{route.method} {route.path}: {allowed.status_code}"


async def test_settings_and_history_are_per_user(
    secure_app: FastAPI, http: httpx.AsyncClient
) -> None:
    owner, other = await make_user(secure_app), await make_user(secure_app)
    changed = await http.put("/api/settings", json={"speed": 1.5}, headers=owner.headers)
    assert changed.status_code == 200
    assert (await http.get("/api/settings", headers=other.headers)).json()["speed"] == 1.0
    await http.post("/api/command", json={"text": "what is 5 plus 5"}, headers=owner.headers)
    newest = (await http.get("/api/history", headers=owner.headers)).json()["items"][0]["id"]
    # Paging from the owner's id never reaches into the owner's records for someone else.
    page = await http.get("/api/history", params={"before": newest + 1}, headers=other.headers)
    assert page.json()["items"] == []


async def test_admin_object_routes_are_forbidden_to_users(
    secure_app: FastAPI, http: httpx.AsyncClient
) -> None:
    owner, intruder = await make_user(secure_app), await make_user(secure_app)
    for method, url in (
        ("PATCH", f"/api/admin/users/{owner.id}"),
        ("GET", f"/api/admin/users/{owner.id}/keys"),
        ("POST", f"/api/admin/users/{owner.id}/keys"),
        ("DELETE", f"/api/admin/keys/{owner.key_id}"),
    ):
        response = await http.request(method, url, json={}, headers=intruder.headers)
        assert response.status_code == 403, f"{method} {url}"
    assert (await http.get("/api/auth/me", headers=owner.headers)).status_code == 200


async def test_lists_show_only_the_callers_own_jobs_and_keys(
    secure_app: FastAPI, http: httpx.AsyncClient
) -> None:
    owner, other = await make_user(secure_app), await make_user(secure_app)
    job_url = await a_job(secure_app, http, owner)
    key_url = await an_api_key(secure_app, http, owner)
    jobs = (await http.get("/api/transcriptions", headers=other.headers)).json()["items"]
    keys = (await http.get("/api/auth/keys", headers=other.headers)).json()
    assert jobs == [] and [key["id"] for key in keys] == [other.key_id]
    mine = (await http.get("/api/transcriptions", headers=owner.headers)).json()["items"]
    assert [job["id"] for job in mine] == [job_url.rsplit("/", 1)[-1]]
    my_keys = (await http.get("/api/auth/keys", headers=owner.headers)).json()
    assert {key["id"] for key in my_keys} == {owner.key_id, key_url.rsplit("/", 1)[-1]}
    # Every user's jobs and keys are behind the admin role.
    for url in ("/api/admin/jobs", f"/api/admin/users/{owner.id}/keys", "/api/admin/users"):
        assert (await http.get(url, headers=other.headers)).status_code == 403, url
