"""Issue 15: an open voice socket re-checks its user (``WS_PRINCIPAL_RECHECK_S``):
disabled, demoted or revoked closes it with an error event and 1008 — over a real
socket to a real server (uvicorn on loopback)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets

from ballsy.accounts.service import Accounts
from ballsy.store.db import Database
from tests.live import live_app
from tests.security.conftest import secure_settings


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    settings = secure_settings(
        tmp_path_factory.mktemp("recheck"), auth_mode="apikey", ws_principal_recheck_s=0.5
    )
    with live_app(settings) as (url, app):
        yield url, app.state.services.settings


async def keys_for(settings: Any, *roles: str) -> list[tuple[str, str]]:
    """(user id, API key) per role, written through a Database of this loop."""
    database = Database(settings)
    try:
        accounts = Accounts(database)
        made = []
        for role in roles:
            user = await accounts.create_user(f"rc-{role}-{len(made)}-{id(made)}", role=role)
            made.append((user.id, (await accounts.create_key(user.id)).secret))
        return made
    finally:
        await database.dispose()


async def closed_for_auth(ws: websockets.ClientConnection, within: float) -> dict[str, Any]:
    """The unauthorized error event, then the close; fails if neither comes in time."""
    async with asyncio.timeout(within):
        while True:
            event = json.loads(await ws.recv())
            if event.get("type") == "error" and event.get("code") == "unauthorized":
                break
        closed = False
        while not closed:
            try:
                await ws.recv()
            except websockets.ConnectionClosed:
                closed = True
    assert ws.close_code == 1008
    return event


@pytest.mark.parametrize("change", [{"active": False}, {"role": "user"}])
async def test_a_disabled_or_demoted_user_is_dropped(
    server: tuple[str, Any], change: dict[str, object]
) -> None:
    url, settings = server
    (_, root), (user_id, key) = await keys_for(settings, "admin", "admin")
    ws_url = url.replace("http", "ws") + "/ws/voice/rc-device"
    async with websockets.connect(ws_url, additional_headers={"X-API-Key": key}) as ws:
        await asyncio.sleep(1.2)  # a re-check or two pass while nothing changed
        async with httpx.AsyncClient(base_url=url) as http:
            changed = await http.patch(
                f"/api/admin/users/{user_id}", json=change, headers={"X-API-Key": root}
            )
            assert changed.status_code == 200, changed.text
        await closed_for_auth(ws, within=5)


async def test_a_revoked_key_drops_its_socket(server: tuple[str, Any]) -> None:
    url, settings = server
    (_, root), (user_id, key) = await keys_for(settings, "admin", "user")
    ws_url = url.replace("http", "ws") + "/ws/voice/rc-device2"
    async with websockets.connect(ws_url, additional_headers={"X-API-Key": key}) as ws:
        async with httpx.AsyncClient(base_url=url) as http:
            keys = await http.get(f"/api/admin/users/{user_id}/keys", headers={"X-API-Key": root})
            revoked = await http.delete(
                f"/api/admin/keys/{keys.json()[0]['id']}", headers={"X-API-Key": root}
            )
            assert revoked.status_code == 200, revoked.text
        await closed_for_auth(ws, within=5)
