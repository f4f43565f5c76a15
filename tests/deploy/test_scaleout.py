"""Scale-out on one machine: 3 app processes and 1 job worker sharing PostgreSQL and Redis.

Two ``ballsy serve --role api`` instances and one ``--role realtime`` run on loopback
against a fresh database and a key prefix of their own on the shared Redis, with a
separate ``ballsy worker`` on the Redis job queue, as production runs them. Clients
are spread over the instances: REST alternates between the api instances, voice
sessions talk to the realtime one. Mid-run one api instance is killed (SIGKILL, no
goodbye) while voice sessions are talking; clients fail over to the survivor. Then:

- **sessions** opened through the dead instance are read, intact, through the other;
- **rate limits**: one user's budget is one budget, exact across both api instances
  and the crash (nothing counted twice, nothing forgotten);
- **history**: every turn answered — by either api instance before the crash, or over
  WebSockets before and after it — is in the history exactly once;
- **jobs**: a transcription submitted to the instance that died is run by the worker
  and its transcript read through the survivor.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from ballsy.accounts.service import Accounts
from ballsy.store.db import Database
from ballsy.testing.voice_client import VoiceClient
from tests.conftest import FIXTURES, REDIS_SERVER, make_settings
from tests.servers import BALLSY, BallsyServer, create_database, drop_database, stop_all

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(420)]
LIMIT = 40  # REST requests per user per minute
VOICE_USERS = 4
TURNS_BEFORE, TURNS_AFTER = 2, 2


class JobWorker:
    """``ballsy worker`` in its own process, with the servers' environment."""

    def __init__(self, data_dir: Path, env: dict[str, str]) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = data_dir / "worker.log"
        keep = ("PATH", "HOME", "LANG", "TMPDIR", "VIRTUAL_ENV")
        environment = {k: os.environ[k] for k in keep if k in os.environ}
        environment |= {"BALLSY_DATA_DIR": str(data_dir), "OMP_NUM_THREADS": "1", **env}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(BALLSY), "worker"], cwd=data_dir, env=environment,
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


@dataclass
class Fleet:
    api: list[BallsyServer]
    realtime: BallsyServer
    worker: JobWorker
    keys: dict[str, dict[str, str]]
    dead: set[int] = field(default_factory=set)
    turn = 0

    async def request(
        self, http: httpx.AsyncClient, method: str, path: str, user: str, **kwargs: Any
    ) -> httpx.Response:
        """Round robin over the api instances, failing over from a dead one."""
        for _ in range(len(self.api)):
            self.turn += 1
            server = self.api[self.turn % len(self.api)]
            if server.port in self.dead:
                continue
            try:
                return await http.request(
                    method, server.url + path, headers=self.keys[user], **kwargs
                )
            except httpx.TransportError:
                self.dead.add(server.port)  # what a load balancer's health check learns
        raise RuntimeError("no api instance answered")


@pytest.fixture(scope="module")
def redis_prefix_module() -> Iterator[str]:
    import redis

    prefix = f"ballsy-scaleout:{uuid.uuid4().hex[:10]}:"
    yield prefix
    client = redis.Redis.from_url(REDIS_SERVER)
    keys = list(client.scan_iter(match=prefix + "*", count=500))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture(scope="module")
async def fleet(
    tmp_path_factory: pytest.TempPathFactory, redis_prefix_module: str
) -> AsyncIterator[Fleet]:
    database_url = await create_database()
    root = tmp_path_factory.mktemp("scaleout")
    shared = root / "shared"  # job files: a bucket in production, a folder here
    env = {
        "DATABASE_URL": database_url,
        "DATABASE_POOL_SIZE": "4",
        "DATABASE_MAX_OVERFLOW": "4",
        "REDIS_URL": REDIS_SERVER,
        "REDIS_KEY_PREFIX": redis_prefix_module,
        "REDIS_TIMEOUT": "5",  # two cores for five processes: slow is load, not an outage
        "AUTH_MODE": "apikey",
        "MAX_REQUESTS_PER_MINUTE": str(LIMIT),
        "JOB_QUEUE": "redis",
        "JOB_QUEUE_NAME": f"scaleout-{uuid.uuid4().hex[:8]}",
        "JOB_POLL_SECONDS": "0.5",
        "MEDIA_FOLDER": str(shared / "media"),
        "OUTPUT_FOLDER": str(shared / "outputs"),
    }
    roles = ["api", "api", "realtime"]
    servers = [
        BallsyServer(root / f"{role}-{i}", env | {"SERVER_ROLE": role}).start()
        for i, role in enumerate(roles)
    ]
    worker = JobWorker(root / "worker", env)
    database = Database(make_settings(root / "admin", database_url))
    try:
        for server in servers:
            await asyncio.to_thread(server.wait_ready, 120)
        admin = Accounts(database)
        keys = {}
        for name in ("ada", "bob", "cy", "dee", *(f"voice{i}" for i in range(VOICE_USERS))):
            user = await admin.create_user(name, role="admin" if name == "ada" else "user")
            keys[name] = {"X-API-Key": (await admin.create_key(user.id)).secret}
        yield Fleet(servers[:2], servers[2], worker, keys)
    finally:
        await database.dispose()
        worker.stop()
        await asyncio.to_thread(stop_all, servers)
        await drop_database(database_url)


@dataclass
class Run:
    session_id: str = ""
    session_after: dict[str, Any] = field(default_factory=dict)
    rest_ids: list[int] = field(default_factory=list)
    voice_ids: dict[str, list[int]] = field(default_factory=dict)
    budget_codes: list[int] = field(default_factory=list)
    budget_before_kill: int = 0
    job_id: str = ""
    job: dict[str, Any] = field(default_factory=dict)
    transcript: str = ""
    history: dict[str, list[int]] = field(default_factory=dict)
    killed_port: int = 0


async def converse(
    fleet: Fleet, user: str, turns: int, ids: list[int], gate: asyncio.Event
) -> None:
    """Typed turns over the native WebSocket; waits for ``gate`` halfway."""
    async with VoiceClient.connect(
        fleet.realtime.url, f"{user}-device", additional_headers=fleet.keys[user]
    ) as client:
        await client.wait_for("ready", within=60)
        for turn in range(turns):
            if turn == turns // 2:
                await gate.wait()  # the api instance dies while this session is open
            await client.send({"type": "text", "text": f"what is {turn + 2} plus {turn + 5}"})
            done = await client.wait_for("reply_done", count=turn + 1, within=120)
            assert done.message["status"] == "completed", done.message
            ids.append(done.message["history_id"])


@pytest.fixture(scope="module")
async def run(fleet: Fleet) -> Run:
    result = Run()
    killed = asyncio.Event()
    async with httpx.AsyncClient(timeout=60) as http:
        # Voice sessions talk through the whole run, crash included.
        voices = []
        for i in range(VOICE_USERS):
            ids = result.voice_ids.setdefault(f"voice{i}", [])
            turns = TURNS_BEFORE + TURNS_AFTER
            voices.append(asyncio.create_task(converse(fleet, f"voice{i}", turns, ids, killed)))

        opened = await fleet.request(
            http, "POST", "/api/sessions", "ada", json={"data": {"lang": "fr"}}
        )
        assert opened.status_code == 201, opened.text
        result.session_id = opened.json()["id"]
        beat = await fleet.request(
            http,
            "POST",
            f"/api/sessions/{result.session_id}/heartbeat",
            "ada",
            json={"data": {"n": 1}},
        )
        assert beat.status_code == 200, beat.text
        for n in range(6):
            answer = await fleet.request(
                http, "POST", "/api/command", "bob", json={"text": f"what is {n} times 3"}
            )
            assert answer.status_code == 200, answer.text
            result.rest_ids.append(answer.json()["id"])
        for _ in range(20):
            response = await fleet.request(http, "GET", "/api/history", "dee")
            result.budget_codes.append(response.status_code)
        result.budget_before_kill = len(result.budget_codes)
        files = {"file": ("jfk.flac", (FIXTURES / "jfk.flac").read_bytes(), "audio/flac")}
        # Submitted to the instance about to die: the next request goes to api[1].
        fleet.turn = 0
        submitted = await fleet.request(http, "POST", "/api/transcriptions", "cy", files=files)
        assert submitted.status_code == 202, submitted.text
        assert submitted.url.port == fleet.api[1].port
        result.job_id = submitted.json()["id"]

        victim = fleet.api[1]
        result.killed_port = victim.port
        assert victim.process is not None
        victim.process.kill()  # SIGKILL: no drain, no goodbye
        victim.process.wait(timeout=10)
        killed.set()

        for n in range(6, 9):
            answer = await fleet.request(
                http, "POST", "/api/command", "bob", json={"text": f"what is {n} times 3"}
            )
            assert answer.status_code == 200, answer.text
            result.rest_ids.append(answer.json()["id"])
        for _ in range(LIMIT):
            response = await fleet.request(http, "GET", "/api/history", "dee")
            result.budget_codes.append(response.status_code)
        read = await fleet.request(http, "GET", f"/api/sessions/{result.session_id}", "ada")
        assert read.status_code == 200, read.text
        result.session_after = read.json()

        await asyncio.wait_for(asyncio.gather(*voices), timeout=240)

        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            job = await fleet.request(http, "GET", f"/api/transcriptions/{result.job_id}", "cy")
            result.job = job.json()
            if result.job["status"] in {"done", "failed", "cancelled"}:
                break
            await asyncio.sleep(1)
        if result.job["status"] == "done":
            text = await fleet.request(
                http, "GET", f"/api/transcriptions/{result.job_id}/result", "cy"
            )
            result.transcript = text.text
        for user in ("bob", *result.voice_ids):
            page = await fleet.request(http, "GET", "/api/history", user, params={"limit": 100})
            result.history[user] = [item["id"] for item in page.json()["items"]]
    return result


def test_the_killed_instance_is_gone_and_the_others_serve(fleet: Fleet, run: Run) -> None:
    assert fleet.dead == {run.killed_port}
    survivor = fleet.api[0]
    assert survivor.process is not None and survivor.process.poll() is None
    assert fleet.realtime.process is not None and fleet.realtime.process.poll() is None
    assert fleet.worker.process.poll() is None


def test_sessions_survive_the_instance_that_opened_them(run: Run) -> None:
    assert run.session_after["id"] == run.session_id
    assert run.session_after["data"] == {"lang": "fr", "n": 1}


def test_one_rate_limit_budget_across_instances_and_the_crash(run: Run) -> None:
    before, after = (
        run.budget_codes[: run.budget_before_kill],
        run.budget_codes[run.budget_before_kill :],
    )
    assert before == [200] * 20, "spread over both api instances"
    # The budget spent through the dead instance is still spent: exactly LIMIT in all.
    assert after == [200] * (LIMIT - 20) + [429] * 20


def test_history_has_every_turn_exactly_once(run: Run) -> None:
    assert len(run.rest_ids) == 9
    assert sorted(run.history["bob"]) == sorted(run.rest_ids)
    for user, ids in run.voice_ids.items():
        assert len(ids) == TURNS_BEFORE + TURNS_AFTER, user
        assert sorted(run.history[user]) == sorted(ids), user
    every = [i for ids in run.history.values() for i in ids]
    assert len(every) == len(set(every))


def test_a_job_submitted_to_the_dead_instance_is_finished_by_the_worker(run: Run) -> None:
    assert run.job["status"] == "done", run.job
    assert "country" in run.transcript.lower(), run.transcript
