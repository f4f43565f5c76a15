"""``ballsy wyoming``: a process serving only Wyoming, and the bind and address rules."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from wyoming.asr import Transcript
from wyoming.error import Error
from wyoming.event import async_read_event
from wyoming.handle import Handled
from wyoming.info import Describe, Info

from tests.wyoming.conftest import BALLSY, BallsyProcess, raw_connection, read_until


@pytest.fixture(scope="module")
async def wyoming_role(
    tmp_path_factory: pytest.TempPathFactory, llm_env: dict[str, str]
) -> AsyncIterator[BallsyProcess]:
    env = {
        **llm_env,
        "WYOMING_ALLOWED_CLIENTS": "127.0.0.1",
        "WYOMING_ZEROCONF": "true",
        "WYOMING_STREAMING": "false",
    }
    process = BallsyProcess(tmp_path_factory.mktemp("role"), env, command="wyoming")
    try:
        await asyncio.to_thread(process.wait_ready)
        yield process
    finally:
        assert process.stop() == 0, process.log()


async def test_the_wyoming_role_serves_wyoming_and_operations_only(
    wyoming_role: BallsyProcess,
) -> None:
    async with httpx.AsyncClient(base_url=wyoming_role.url) as http:
        assert (await http.get("/health")).status_code == 200
        assert "ballsy_wyoming_events_total" in (await http.get("/metrics")).text
        assert (await http.post("/api/command", json={"text": "hi"})).status_code == 404
    async with wyoming_role.client() as client:
        await client.write_event(Describe().event())
        info = Info.from_event((await read_until(client, "info"))[-1])
        assert not info.handle[0].supports_handled_streaming  # WYOMING_STREAMING=false
        await client.write_event(Transcript(text="what is twelve times seven").event())
        events = await read_until(client, "handled", "not-handled")
    assert [event.type for event in events] == ["handled"]  # no streaming events
    assert "84" in (Handled.from_event(events[0]).text or "")


async def test_addresses_outside_the_allow_list_are_refused(wyoming_role: BallsyProcess) -> None:
    async with raw_connection(wyoming_role.wyoming_port, local_host="127.0.0.3") as (reader, _):
        event = await asyncio.wait_for(async_read_event(reader), 10)
        assert event is not None and Error.from_event(event).code == "not_allowed"
        assert await asyncio.wait_for(reader.read(), 10) == b""


async def test_a_loopback_bind_is_never_announced(wyoming_role: BallsyProcess) -> None:
    events = [e.get("message") or e.get("event") for e in wyoming_role.log_events()]
    assert "ballsy.wyoming.zeroconf_skipped" in events


def test_a_public_bind_needs_an_explicit_setting(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "BALLSY_DATA_DIR": str(tmp_path)}
    serve = subprocess.run(
        [str(BALLSY), "serve"],
        env={**env, "WYOMING_PORT": "10399", "WYOMING_HOST": "0.0.0.0"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert serve.returncode != 0
    assert "WYOMING_ALLOW_REMOTE" in serve.stdout + serve.stderr
    role = subprocess.run(
        [str(BALLSY), "wyoming", "--host", "192.168.1.10"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert role.returncode == 2
    assert "WYOMING_ALLOW_REMOTE" in role.stderr
