"""Login limits: per client address (X-Forwarded-For only from TRUSTED_PROXIES) and per
account without letting a stranger lock the account's owner out."""

from __future__ import annotations

import os
from pathlib import Path

import httpx

from tests.security.conftest import JWT_SECRET, make_user, running, secure_settings
from tests.servers import BallsyServer

PASSWORD = "correct horse battery"
# httpx's ASGI transport connects as 127.0.0.1 (the trusted proxy of the tests below).


async def _login(http: httpx.AsyncClient, name: str, password: str, address: str) -> int:
    response = await http.post(
        "/api/auth/token",
        json={"username": name, "password": password},
        headers={"X-Forwarded-For": address},
    )
    return response.status_code


def test_a_spoofed_forwarded_for_from_an_untrusted_peer_gets_no_fresh_budget(
    tmp_path: Path,
) -> None:
    # The real `ballsy serve` (uvicorn and its proxy-header handling) on loopback, with
    # TRUSTED_PROXIES unset: the loopback peer is no proxy.
    env = {
        "AUTH_MODE": "jwt",
        "JWT_SECRET": JWT_SECRET,
        "MAX_LOGIN_ATTEMPTS_PER_MINUTE": "2",
        **({"PYTHONPATH": os.environ["PYTHONPATH"]} if "PYTHONPATH" in os.environ else {}),
    }
    server = BallsyServer(tmp_path, env).start()
    try:
        server.wait_ready()
        codes = []
        for i in range(3):  # other names each time, so only the per-address limit refuses
            response = httpx.post(
                server.url + "/api/auth/token",
                json={"username": f"nobody-{i}", "password": "guess-1234"},
                headers={"X-Forwarded-For": f"203.0.113.{i}"},
            )
            codes.append(response.status_code)
        assert codes == [401, 401, 429]
    finally:
        server.stop()


async def test_forwarded_for_from_a_trusted_proxy_is_the_client_address(tmp_path: Path) -> None:
    settings = secure_settings(
        tmp_path, max_login_attempts_per_minute=2, trusted_proxies=["127.0.0.0/8"]
    )
    async with running(settings) as (_, http):
        codes = [await _login(http, f"no-{i}", "guess-1234", f"203.0.113.{i}") for i in range(4)]
        assert codes == [401] * 4
        again = [await _login(http, f"nobody-{i}", "guess-1234", "203.0.113.9") for i in range(3)]
        assert again == [401, 401, 429], "one forwarded address still has one budget"


async def test_a_strangers_failures_do_not_lock_the_owner_out(tmp_path: Path) -> None:
    settings = secure_settings(
        tmp_path, max_login_attempts_per_minute=3, trusted_proxies=["127.0.0.1"]
    )
    async with running(settings) as (app, http):
        user = await make_user(app, password=PASSWORD)
        assert await _login(http, user.name, PASSWORD, "198.51.100.7") == 200
        # A stranger from many addresses, so no per-address limit stops them.
        codes = [await _login(http, user.name, "guess-1234", f"203.0.113.{i}") for i in range(8)]
        # The account's budget of 3 for new addresses: the owner's first login was one.
        assert codes == [401, 401] + [429] * 6, codes
        # The owner, from the address they signed in from before, still gets in.
        assert await _login(http, user.name, PASSWORD, "198.51.100.7") == 200
        assert await _login(http, user.name, PASSWORD, "198.51.100.7") == 200
