"""Every route in the app authenticates, except the explicit public ones.

The table is walked, not listed: a route added later by anyone is checked here the
day it appears. HTTP routes must answer 401 without credentials; WebSocket routes
must refuse the handshake or close with 1008 after a first message that is no auth.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI, WebSocket
from fastapi.routing import APIWebSocketRoute, iter_route_contexts
from starlette.routing import Mount
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from ballsy.api.deps import RealtimeDep
from ballsy.app import create_app
from ballsy.security.guard import PUBLIC_PATHS
from ballsy.security.websocket import authenticate_websocket
from tests.security.conftest import secure_settings

_PARAM = re.compile(r"\{([^}:]+)(?::[^}]+)?\}")


def concrete(path: str) -> str:
    """A request path for a route template: every parameter becomes ``1``."""
    return _PARAM.sub("1", path)


def routes(app: FastAPI) -> Iterator[tuple[str, set[str], bool]]:
    """(path, methods, is_websocket) for every route, through included routers too."""
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, Mount) or context.path is None:
            continue  # static files: public by design
        websocket = isinstance(context.original_route, APIWebSocketRoute)
        methods = set(context.methods or ()) - {"HEAD", "OPTIONS"}
        yield context.path, methods, websocket


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    app = create_app(secure_settings(Path(tmp_path_factory.mktemp("routes")), auth_mode="apikey"))

    # Until the realtime routes land, this stands in for them (it is what they call).
    @app.websocket("/ws/test-route-table/{client_id}")
    async def _voice(websocket: WebSocket, client_id: str, services: RealtimeDep) -> None:
        await authenticate_websocket(websocket, services.auth, auth_wait_s=1.0)
        await websocket.send_json({"type": "ready"})

    with TestClient(app) as test_client:
        yield test_client


def test_the_walk_sees_the_whole_api(client: TestClient) -> None:
    paths = {path for path, _, _ in routes(client.app)}  # type: ignore[arg-type]
    for expected in ("/api/command", "/api/history", "/api/sessions/{session_id}", "/health"):
        assert expected in paths
    assert len(paths) > 15


def test_public_routes_are_few_and_known() -> None:
    assert {p for p in PUBLIC_PATHS if p.startswith("/api/")} == {
        "/api/auth/token",
        "/api/auth/refresh",
    }


def test_every_http_route_requires_authentication(client: TestClient) -> None:
    checked = 0
    for path, methods, websocket in routes(client.app):  # type: ignore[arg-type]
        if websocket:
            continue
        for method in sorted(methods):
            response = client.request(method, concrete(path))
            if path in PUBLIC_PATHS:
                assert response.status_code != 401, f"{method} {path} should be public"
            else:
                assert response.status_code == 401, f"{method} {path}: {response.status_code}"
                assert response.headers.get("www-authenticate", "").startswith("Bearer")
                checked += 1
    assert checked > 15


def test_every_websocket_route_requires_authentication(client: TestClient) -> None:
    checked = 0
    for path, _, websocket in routes(client.app):  # type: ignore[arg-type]
        if not websocket:
            continue
        checked += 1
        with (  # noqa: PT012
            pytest.raises(WebSocketDisconnect) as closed,
            client.websocket_connect(concrete(path)) as socket,
        ):
            socket.send_text('{"type": "hello"}')
            for _ in range(5):  # whatever it says first, it must end in a close
                socket.receive_text()
        assert closed.value.code == 1008, f"{path} closed with {closed.value.code}"
    assert checked >= 1
