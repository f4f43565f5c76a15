"""``authenticate_websocket`` and ``POST /api/auth/ws-ticket`` on a test-only WebSocket route."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI, WebSocket
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from ballsy.api.deps import RealtimeDep
from ballsy.app import create_app
from ballsy.config import Settings
from ballsy.security.websocket import authenticate_websocket
from ballsy.services import Services
from tests.security.conftest import secure_settings


def app_with_echo(settings: Settings) -> FastAPI:
    app = create_app(settings)

    @app.websocket("/ws/test-auth/{client_id}")
    async def echo(websocket: WebSocket, client_id: str, services: RealtimeDep) -> None:
        principal = await authenticate_websocket(websocket, services.auth, auth_wait_s=0.5)
        await websocket.send_json({"user": principal.name, "via": principal.via})
        await websocket.close()

    return app


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = secure_settings(Path(tmp_path_factory.mktemp("ws")), auth_mode="apikey")
    with TestClient(app_with_echo(settings)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def api_key(client: TestClient) -> str:
    services: Services = client.app.state.services  # type: ignore[attr-defined]

    async def make() -> str:
        user = await services.users.create_user("ws-user")
        return (await services.users.create_key(user.id)).secret

    return client.portal.call(make)  # type: ignore[union-attr]


def hello(client: TestClient, path: str, **kwargs: object) -> dict[str, str]:
    with client.websocket_connect(path, **kwargs) as socket:  # type: ignore[arg-type]
        answer: dict[str, str] = socket.receive_json()
    return answer


def test_key_in_a_handshake_header(client: TestClient, api_key: str) -> None:
    assert hello(client, "/ws/test-auth/dev", headers={"Authorization": f"Bearer {api_key}"}) == {
        "user": "ws-user",
        "via": "apikey",
    }
    assert hello(client, "/ws/test-auth/dev", headers={"X-API-Key": api_key})["user"] == "ws-user"


def test_key_in_the_openai_subprotocol(client: TestClient, api_key: str) -> None:
    protocols = ["realtime", f"openai-insecure-api-key.{api_key}"]
    assert hello(client, "/ws/test-auth/dev", subprotocols=protocols)["user"] == "ws-user"


def test_a_bad_handshake_credential_is_refused_before_accept(client: TestClient) -> None:
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        client.websocket_connect("/ws/test-auth/dev", headers={"X-API-Key": "bk_wrong"}),
    ):
        pass
    assert refused.value.code == 1008


def test_browser_ticket_works_once(client: TestClient, api_key: str) -> None:
    issued = client.post("/api/auth/ws-ticket", headers={"X-API-Key": api_key})
    assert issued.status_code == 200
    ticket = issued.json()["ticket"]
    assert issued.json()["expires_in"] == 30
    assert hello(client, f"/ws/test-auth/dev?ticket={ticket}") == {
        "user": "ws-user",
        "via": "ticket",
    }
    with (
        pytest.raises(WebSocketDisconnect) as reused,
        client.websocket_connect(f"/ws/test-auth/dev?ticket={ticket}"),
    ):
        pass
    assert reused.value.code == 1008
    assert client.post("/api/auth/ws-ticket").status_code == 401, "tickets need a credential"


def test_first_message_auth(client: TestClient, api_key: str) -> None:
    with client.websocket_connect("/ws/test-auth/dev") as socket:
        socket.send_text(json.dumps({"type": "auth", "token": api_key}))
        assert socket.receive_json()["user"] == "ws-user"


@pytest.mark.parametrize(
    "first",
    [
        json.dumps({"type": "auth", "token": "bk_wrong"}),
        json.dumps({"type": "audio", "data": ""}),
        json.dumps({"type": "auth"}),
        "not json",
        None,  # says nothing at all
    ],
)
def test_anything_else_first_is_closed_with_1008(client: TestClient, first: str | None) -> None:
    with (  # noqa: PT012
        pytest.raises(WebSocketDisconnect) as closed,
        client.websocket_connect("/ws/test-auth/dev") as socket,
    ):
        if first is not None:
            socket.send_text(first)
        error = socket.receive_json()
        assert error["type"] == "error" and error["code"] == "unauthorized"
        socket.receive_json()
    assert closed.value.code == 1008


def test_none_mode_takes_the_name_from_the_path(tmp_path: Path) -> None:
    settings = secure_settings(tmp_path, auth_mode="none")
    with TestClient(app_with_echo(settings)) as client:
        assert hello(client, "/ws/test-auth/ada") == {"user": "ada", "via": "none"}
