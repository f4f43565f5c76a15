"""/metrics, /docs, /openapi.json and /ready's errors are the operator's, not the public's.

Development serves them to anyone; production serves them on the public port only to
``Authorization: Bearer <INTERNAL_TOKEN>`` (404 without a token set), and ``INTERNAL_PORT``
serves them on a port of their own (a real ``ballsy serve`` process here).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from ballsy.app import create_app
from ballsy.config import Settings
from tests.conftest import make_settings
from tests.fake_openai import free_port
from tests.security.conftest import make_user
from tests.servers import BallsyServer

OPERATOR_PATHS = ("/metrics", "/docs", "/redoc", "/openapi.json")
TOKEN = "internal-" + "t" * 32
# More free disk than any machine has: the disk check fails, with an error text.
NO_DISK = 10**9


def production(tmp_path: Path, **overrides: object) -> Settings:
    return make_settings(tmp_path, environment="production", auth_mode="apikey", **overrides)


def has_errors(body: dict[str, Any]) -> bool:
    return any("error" in check or "last_error" in check for check in body["checks"].values())


async def test_production_hides_the_operator_endpoints(tmp_path: Path) -> None:
    app = create_app(production(tmp_path, ready_min_free_disk_mb=NO_DISK))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            for path in OPERATOR_PATHS:
                answer = await http.get(path)
                assert answer.status_code == 404, (path, answer.text)
                assert "ballsy_" not in answer.text and "swagger" not in answer.text.lower()
            ready = await http.get("/ready")
            assert ready.status_code == 503 and ready.json()["status"] == "not_ready"
            assert ready.json()["checks"]["disk"] == {
                "ok": False,
                "ms": ready.json()["checks"]["disk"]["ms"],
            }
            assert not has_errors(ready.json()), ready.text
            # A user's key sees no more; an admin's does.
            user = await make_user(app)
            as_user = await http.get("/ready", headers=user.headers)
            assert not has_errors(as_user.json())
            admin = await make_user(app, role="admin")
            as_admin = (await http.get("/ready", headers=admin.headers)).json()
            assert "MB free for media" in as_admin["checks"]["disk"]["error"]
            # An admin's key opens no operator endpoint: those take the internal token.
            assert (await http.get("/metrics", headers=admin.headers)).status_code == 404
            garbage = await http.get("/ready", headers={"Authorization": "Basic x"})
            assert garbage.status_code == 503 and not has_errors(garbage.json())


async def test_the_internal_token_opens_them(tmp_path: Path) -> None:
    app = create_app(production(tmp_path, internal_token=TOKEN, ready_min_free_disk_mb=NO_DISK))
    good = {"Authorization": f"Bearer {TOKEN}"}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            for path in OPERATOR_PATHS:
                assert (await http.get(path)).status_code == 401, path
                wrong = {"Authorization": f"Bearer {TOKEN}x"}
                assert (await http.get(path, headers=wrong)).status_code == 401, path
                assert (await http.get(path, headers=good)).status_code == 200, path
            assert "ballsy_build_info" in (await http.get("/metrics", headers=good)).text
            schema = (await http.get("/openapi.json", headers=good)).json()
            assert "/api/command" in schema["paths"]
            assert not has_errors((await http.get("/ready")).json())
            ready = (await http.get("/ready", headers=good)).json()
            assert "MB free for media" in ready["checks"]["disk"]["error"]


async def test_development_keeps_them_open(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path, ready_min_free_disk_mb=NO_DISK))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            for path in OPERATOR_PATHS:
                assert (await http.get(path)).status_code == 200, path
            assert has_errors((await http.get("/ready")).json())


def test_ballsy_serve_serves_them_on_the_internal_port(tmp_path: Path) -> None:
    internal_port = free_port()
    env = {
        "ENVIRONMENT": "production",
        "AUTH_MODE": "apikey",
        "INTERNAL_PORT": str(internal_port),
        "READY_MIN_FREE_DISK_MB": str(NO_DISK),
        "LOG_FORMAT": "json",
    }
    if "PYTHONPATH" in os.environ:  # a developer's checkout runs the server too
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    server = BallsyServer(tmp_path, env).start()
    try:
        server.wait_ready()
        internal = f"http://127.0.0.1:{internal_port}"
        for path in OPERATOR_PATHS:
            assert httpx.get(server.url + path).status_code == 404, path
            assert httpx.get(internal + path).status_code == 200, path
        assert "ballsy_http_requests_total" in httpx.get(internal + "/metrics").text
        public_ready = httpx.get(server.url + "/ready", timeout=30).json()
        assert not has_errors(public_ready)
        ready = httpx.get(internal + "/ready", timeout=30).json()
        assert "MB free for media" in ready["checks"]["disk"]["error"]
        assert "/api/command" in httpx.get(internal + "/openapi.json").json()["paths"]
    finally:
        server.stop()
    assert server.process is not None and server.process.returncode == 0, server.log()[-3000:]
    # Both ports are closed with the process.
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{internal_port}/health", timeout=1)
