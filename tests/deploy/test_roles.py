"""Process roles: one image serves REST (api), WebSockets (realtime) or both (all).

The load balancer routes by path, so each role must expose exactly its routes: a REST
route on a realtime instance would be reachable only by mistake, and a WebSocket on an
api instance would hold a long connection where requests are short and many.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.routing import APIWebSocketRoute, iter_route_contexts
from starlette.routing import Mount
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from typer.testing import CliRunner

from ballsy.app import create_app
from ballsy.cli import cli
from tests.conftest import make_settings

OPERATIONS = {"/health", "/ready", "/metrics"}
WEBSOCKETS = {"/ws/voice/{client_id}", "/ws/audio/{session_id}", "/v1/realtime"}


def routes(app: FastAPI) -> Iterator[tuple[str, bool]]:
    """(path, is_websocket) of every route, through included routers."""
    for context in iter_route_contexts(app.routes):
        if context.path is not None and not isinstance(context.original_route, Mount):
            yield context.path, isinstance(context.original_route, APIWebSocketRoute)


def role_app(tmp_path: Path, role: str) -> FastAPI:
    return create_app(make_settings(tmp_path / role, server_role=role))


def test_each_role_exposes_exactly_its_routes(tmp_path: Path) -> None:
    everything = dict(routes(role_app(tmp_path, "all")))
    api = dict(routes(role_app(tmp_path, "api")))
    realtime = dict(routes(role_app(tmp_path, "realtime")))

    assert {path for path, ws in everything.items() if ws} == WEBSOCKETS
    assert set(realtime) == OPERATIONS | WEBSOCKETS
    assert set(api) == set(everything) - WEBSOCKETS
    assert not any(api.values()), "the api role serves no WebSocket"
    assert set(api) & set(realtime) == OPERATIONS
    assert set(api) | set(realtime) == set(everything)
    # REST routes: what the load balancer sends to the api role.
    assert {p for p in api if p.startswith(("/api/", "/v1/"))} >= {
        "/api/command", "/api/history", "/v1/chat/completions", "/v1/audio/transcriptions",
        "/api/transcriptions", "/api/auth/ws-ticket",
    }  # fmt: skip


def test_realtime_role_has_no_mounts_and_no_api_docs(tmp_path: Path) -> None:
    app = role_app(tmp_path, "realtime")
    assert not [route for route in app.routes if isinstance(route, Mount)]
    assert app.openapi_url is None and app.docs_url is None


def test_roles_answer_only_their_traffic(tmp_path: Path) -> None:
    with TestClient(role_app(tmp_path, "realtime")) as realtime:
        assert realtime.get("/health").status_code == 200
        assert realtime.post("/api/command", json={"text": "what is 2 plus 2"}).status_code == 404
    with TestClient(role_app(tmp_path, "api")) as api:
        assert api.post("/api/command", json={"text": "what is 2 plus 2"}).status_code == 200
        with pytest.raises(WebSocketDisconnect), api.websocket_connect("/ws/voice/ada"):
            pass


def test_serve_takes_a_role_and_refuses_others() -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["serve", "--role", "websocket"])
    assert result.exit_code == 2
    assert "role must be api, realtime, wyoming or all" in result.output
    assert "--role" in runner.invoke(cli, ["serve", "--help"]).output


def test_the_commands_deployments_run_exist() -> None:
    runner = CliRunner()
    for command in (["worker"], ["migrate"], ["plan"], ["bench", "capacity"]):
        result = runner.invoke(cli, [*command, "--help"])
        assert result.exit_code == 0, (command, result.output)
