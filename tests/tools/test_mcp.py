"""The MCP client against real MCP servers: tests/tools/mcp_server.py, built with the
SDK's server side, as a child process over stdio and as a streamable-HTTP server."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import openai
import pytest
from pydantic import ValidationError

from ballsy.app import create_app
from ballsy.config import McpServerSettings, Settings
from ballsy.security.secrets import resolve_secret_references
from ballsy.tools.base import ToolContext, ToolFailed
from ballsy.tools.mcp import Backoff, McpServer, McpServers
from tests.conftest import make_settings
from tests.fake_openai import free_port, run_fake_openai
from tests.security.test_config_secrets import install_fake_secret_manager

SERVER = Path(__file__).with_name("mcp_server.py")
CONTEXT = ToolContext(user_id="mcp-tester", now=datetime.now(UTC))
OPENAI_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
FAST = Backoff(first=0.1, most=0.5)


def stdio_config(name: str = "local", **extra: object) -> McpServerSettings:
    return McpServerSettings(name=name, command=[sys.executable, str(SERVER), "stdio"], **extra)  # type: ignore[arg-type]


def client_for(config: McpServerSettings, *, call_timeout: float = 3.0) -> McpServer:
    return McpServer(
        config,
        call_timeout=call_timeout,
        connect_timeout=20.0,
        ping_interval=0.3,
        backoff=FAST,
    )


@pytest.fixture
async def local() -> AsyncIterator[McpServer]:
    server = client_for(stdio_config(), call_timeout=1.0)
    server.start()
    assert await server.wait_connected(within=30), "the stdio server did not connect"
    yield server
    await server.close()


async def eventually(condition: object, within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


class HttpMcpServer:
    """tests/tools/mcp_server.py over streamable HTTP in its own process, on a fixed
    loopback port so it can be killed and started again at the same address."""

    def __init__(self, *mode: str) -> None:
        self.mode = mode
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(SERVER), "http", str(self.port), *self.mode],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while True:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("the MCP HTTP server did not start")
            time.sleep(0.05)

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def http_server() -> Iterator[HttpMcpServer]:
    server = HttpMcpServer()
    server.start()
    yield server
    server.kill()


# --- stdio ------------------------------------------------------------------------------
async def test_tools_are_listed_under_valid_function_names_and_called(local: McpServer) -> None:
    names = {spec.name for spec in local.specs()}
    assert {"local__echo", "local__fail", "local__hang", "local__add_lights"} <= names
    assert all(OPENAI_NAME.match(name) for name in names)
    echo = next(spec for spec in local.specs() if spec.name == "local__echo")
    assert echo.description == "Say the text back."
    assert echo.parameters["type"] == "object"
    assert echo.parameters["required"] == ["text"]

    assert await local.call("local__echo", {"text": "hello"}, CONTEXT) == "echo: hello"


async def test_a_tool_that_fails_raises_tool_failed_with_its_reason(local: McpServer) -> None:
    with pytest.raises(ToolFailed, match="the kettle is empty"):
        await local.call("local__fail", {"reason": "the kettle is empty"}, CONTEXT)
    with pytest.raises(ToolFailed, match="no tool"):
        await local.call("local__nothing", {}, CONTEXT)
    assert local.connected, "a tool's error is not the server's"


async def test_list_changed_updates_the_offered_tools(local: McpServer) -> None:
    assert "local__lights_off" not in {spec.name for spec in local.specs()}
    assert await local.call("local__add_lights", {}, CONTEXT) == "added"
    await eventually(lambda: "local__lights_off" in {spec.name for spec in local.specs()})
    said = await local.call("local__lights_off", {"room": "kitchen"}, CONTEXT)
    assert said == "lights off in the kitchen"


async def test_a_hanging_tool_times_out_within_the_call_timeout(local: McpServer) -> None:
    started = time.monotonic()
    with pytest.raises(ToolFailed, match="did not answer within 1 seconds"):
        await local.call("local__hang", {}, CONTEXT)
    assert time.monotonic() - started < 2.0
    assert await local.call("local__echo", {"text": "still here"}, CONTEXT) == "echo: still here"


async def test_a_frozen_server_times_out_and_is_replaced(local: McpServer) -> None:
    pid = int(await local.call("local__pid", {}, CONTEXT))
    os.kill(pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        with pytest.raises(ToolFailed, match="did not answer"):
            await local.call("local__echo", {"text": "anyone?"}, CONTEXT)
        assert time.monotonic() - started < 2.5
        # The missed ping withdraws its tools; a fresh process takes over.
        await eventually(lambda: not local.connected)
        assert await local.wait_connected(within=30)
        assert int(await local.call("local__pid", {}, CONTEXT)) != pid
        await eventually(lambda: not alive(pid))
    finally:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


async def test_a_crashed_server_loses_its_tools_and_is_restarted(local: McpServer) -> None:
    pid = int(await local.call("local__pid", {}, CONTEXT))
    with pytest.raises(ToolFailed, match="went away"):
        await local.call("local__crash", {}, CONTEXT)
    assert local.specs() == []
    started = time.monotonic()
    with pytest.raises(ToolFailed, match="not connected"):
        await local.call("local__echo", {"text": "hello"}, CONTEXT)
    assert time.monotonic() - started < 0.1, "a call to a server that is down fails at once"
    assert await local.wait_connected(within=30)
    assert int(await local.call("local__pid", {}, CONTEXT)) != pid


async def test_close_stops_the_server_process() -> None:
    server = client_for(stdio_config())
    server.start()
    assert await server.wait_connected(within=30)
    pid = int(await server.call("local__pid", {}, CONTEXT))
    await server.close()
    assert not server.connected and server.specs() == []
    await eventually(lambda: not alive(pid), within=10)


async def test_a_server_that_never_answers_blocks_neither_start_nor_a_call(
    tmp_path: Path,
) -> None:
    silent = McpServerSettings(
        name="silent", command=[sys.executable, "-c", "import time; time.sleep(120)"]
    )
    settings = make_settings(tmp_path, mcp_servers=[silent], mcp_connect_timeout=0.5)
    servers = McpServers.from_settings(settings, backoff=FAST)
    started = time.monotonic()
    await servers.start()
    assert time.monotonic() - started < 0.5
    (server,) = servers.servers
    assert server.specs() == []
    with pytest.raises(ToolFailed, match="not connected"):
        await server.call("silent__anything", {}, CONTEXT)
    await asyncio.sleep(1.0)  # past the connect timeout: retrying with backoff
    assert not server.connected
    started = time.monotonic()
    await servers.close()
    assert time.monotonic() - started < 8, "stdin closed, then SIGTERM after 2 s"


async def test_an_allow_list_offers_only_the_named_tools() -> None:
    server = client_for(stdio_config(tools=["echo"]))
    server.start()
    try:
        assert await server.wait_connected(within=30)
        assert [spec.name for spec in server.specs()] == ["local__echo"]
        with pytest.raises(ToolFailed, match="no tool"):
            await server.call("local__crash", {}, CONTEXT)
    finally:
        await server.close()


async def test_the_model_calls_an_mcp_tool_and_answers_with_its_result(
    local: McpServer,
) -> None:
    """The offered specs are valid OpenAI function tools: a tool-calling model (the fake
    chat server, through the official SDK) calls one and the answer holds its result."""
    echo = next(spec for spec in local.specs() if spec.name == "local__echo")
    tools = [
        {
            "type": "function",
            "function": {
                "name": echo.name,
                "description": echo.description,
                "parameters": dict(echo.parameters),
            },
        }
    ]
    for base_url, _ in run_fake_openai():
        client = openai.AsyncOpenAI(base_url=base_url, api_key="test")
        messages: list[dict[str, object]] = [{"role": "user", "content": "lights"}]
        first = await client.chat.completions.create(
            model="tools",
            messages=messages,  # type: ignore[arg-type]
            tools=tools,  # type: ignore[arg-type]
        )
        (call,) = first.choices[0].message.tool_calls or []
        assert call.type == "function"
        result = await local.call(call.function.name, json.loads(call.function.arguments), CONTEXT)
        messages += [
            first.choices[0].message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": result},
        ]
        answer = await client.chat.completions.create(
            model="tools",
            messages=messages,  # type: ignore[arg-type]
            tools=tools,  # type: ignore[arg-type]
        )
        await client.close()
        assert answer.choices[0].message.content == "The tool said: echo: lights."


# --- streamable HTTP -------------------------------------------------------------------
async def test_http_headers_with_resolved_secrets_reach_the_server(
    tmp_path: Path, http_server: HttpMcpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_fake_secret_manager(
        monkeypatch, {"projects/p/secrets/ha-token/versions/latest": "long-lived-token"}
    )
    entry = {
        "name": "home",
        "url": http_server.url,
        "headers": {"Authorization": "Bearer projects/p/secrets/ha-token", "X-Ballsy": "yes"},
    }
    settings = make_settings(tmp_path, mcp_servers=json.dumps([entry]))
    settings = resolve_secret_references(settings)
    servers = McpServers.from_settings(settings, backoff=FAST)
    await servers.start()
    (home,) = servers.servers
    try:
        assert await home.wait_connected(within=30)
        said = await home.call("home__header", {"name": "Authorization"}, CONTEXT)
        assert said == "Bearer long-lived-token"
        assert await home.call("home__header", {"name": "X-Ballsy"}, CONTEXT) == "yes"
        assert await home.call("home__echo", {"text": "over http"}, CONTEXT) == "echo: over http"
    finally:
        await servers.close()


async def test_a_stateless_json_server_like_home_assistants_works() -> None:
    server = HttpMcpServer("stateless")
    server.start()
    entry = McpServerSettings(
        name="ha",
        url=server.url,
        headers={"Authorization": "Bearer t"},  # type: ignore[dict-item]
    )
    ha = client_for(entry)
    ha.start()
    try:
        assert await ha.wait_connected(within=30)
        assert await ha.call("ha__echo", {"text": "stateless"}, CONTEXT) == "echo: stateless"
        assert await ha.call("ha__header", {"name": "Authorization"}, CONTEXT) == "Bearer t"
        await asyncio.sleep(1.0)  # a few pings: each its own request
        assert ha.connected
    finally:
        await ha.close()
        server.kill()


async def test_an_http_server_that_goes_down_is_withdrawn_and_reconnected(
    http_server: HttpMcpServer,
) -> None:
    home = client_for(McpServerSettings(name="home", url=http_server.url), call_timeout=1.0)
    home.start()
    try:
        assert await home.wait_connected(within=30)
        assert "home__echo" in {spec.name for spec in home.specs()}
        http_server.kill()
        await eventually(lambda: home.specs() == [])
        started = time.monotonic()
        with pytest.raises(ToolFailed, match="not connected"):
            await home.call("home__echo", {"text": "hello"}, CONTEXT)
        assert time.monotonic() - started < 0.1
        http_server.start()
        assert await home.wait_connected(within=30)
        assert await home.call("home__echo", {"text": "back"}, CONTEXT) == "echo: back"
    finally:
        await home.close()


# --- settings ---------------------------------------------------------------------------
def test_mcp_servers_are_read_from_json_in_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "MCP_SERVERS",
        json.dumps(
            [
                {"name": "home", "url": "http://ha.local:8123/api/mcp", "headers": {"A": "b"}},
                {"name": "files", "command": ["mcp-files", "--root", "/srv"], "env": {"X": "1"}},
            ]
        ),
    )
    monkeypatch.setenv("MCP_CALL_TIMEOUT", "4.5")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    home, files = settings.mcp_servers
    assert (home.transport, files.transport) == ("http", "stdio")
    assert home.headers["A"].get_secret_value() == "b"
    assert files.command == ["mcp-files", "--root", "/srv"]
    assert settings.mcp_call_timeout == 4.5
    assert Settings(_env_file=None, mcp_servers="").mcp_servers == []  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("not json", "MCP_SERVERS is not valid JSON"),
        ('[{"name": "home"}]', "needs exactly one of command"),
        ('[{"name": "h", "url": "http://a", "command": ["x"]}]', "needs exactly one of command"),
        ('[{"name": "two words", "url": "http://a"}]', "a name is 1-24 letters"),
        ('[{"name": "h", "url": "ftp://a"}]', "http:// or https://"),
        ('[{"name": "h", "command": ["x"], "headers": {"A": "b"}}]', "headers are for url"),
        ('[{"name": "h", "url": "http://a"}, {"name": "h", "url": "http://b"}]', "unique"),
        ('[{"name": "h", "url": "http://a", "tokens": "x"}]', "Extra inputs"),
    ],
)
def test_a_bad_mcp_servers_entry_stops_the_start_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch, value: str, message: str
) -> None:
    monkeypatch.setenv("MCP_SERVERS", value)
    with pytest.raises(ValidationError, match=re.escape(message)):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_header_secrets_are_masked_when_settings_are_shown(tmp_path: Path) -> None:
    headers = {"Authorization": "Bearer secret-value"}
    entry = {"name": "home", "url": "http://ha:8123/api/mcp", "headers": headers}
    settings = make_settings(tmp_path, mcp_servers=json.dumps([entry]))
    shown = json.dumps(settings.model_dump(mode="json"))
    assert '"Authorization": "**********"' in shown
    assert "secret-value" not in shown + repr(settings)


# --- the process -----------------------------------------------------------------------
async def test_the_app_connects_its_mcp_servers_and_stops_them_on_shutdown(
    tmp_path: Path,
) -> None:
    app = create_app(make_settings(tmp_path, mcp_servers=[stdio_config("files")]))
    async with app.router.lifespan_context(app):
        (files,) = app.state.services.mcp.servers
        assert app.state.services.mcp.sources == (files,), "what the tool loop offers"
        assert await files.wait_connected(within=30)
        pid = int(await files.call("files__pid", {}, CONTEXT))
    assert files.specs() == []
    await eventually(lambda: not alive(pid), within=10)


def test_env_and_header_references_are_resolved_and_other_values_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = install_fake_secret_manager(
        monkeypatch,
        {
            "projects/p/secrets/files-key/versions/2": "k3y",
            "projects/p/secrets/ha-token/versions/latest": "t0ken",
        },
    )
    entries = [
        {
            "name": "files",
            "command": ["x"],
            "env": {"KEY": "projects/p/secrets/files-key/versions/2"},
        },
        {
            "name": "ha",
            "url": "http://ha:8123/api/mcp",
            "headers": {"Authorization": "Bearer projects/p/secrets/ha-token", "X-Plain": "as is"},
        },
    ]
    settings = resolve_secret_references(make_settings(tmp_path, mcp_servers=json.dumps(entries)))
    files, ha = settings.mcp_servers
    assert files.env["KEY"].get_secret_value() == "k3y"
    assert ha.headers["Authorization"].get_secret_value() == "Bearer t0ken"
    assert ha.headers["X-Plain"].get_secret_value() == "as is"
    assert len(asked) == 2
    assert resolve_secret_references(settings) is settings, "nothing left to resolve"
