"""``GET /metrics`` after real traffic: counters, histograms, bounded labels."""

from __future__ import annotations

import asyncio
import itertools
import math
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ballsy.app import create_app
from tests.conftest import make_settings
from tests.fake_openai import run_fake_openai
from tests.observability.conftest import delta, sample, scrape

HTTP = "ballsy_http_requests_total"
LATENCY = "ballsy_http_request_duration_seconds"


async def test_mixed_load_is_counted_by_route_template(obs_client: httpx.AsyncClient) -> None:
    user = f"metrics-{uuid.uuid4().hex[:8]}"
    before = await scrape(obs_client)
    requests = (
        [obs_client.get("/health") for _ in range(20)]
        + [obs_client.get("/api/history", params={"client_id": user}) for _ in range(6)]
        + [obs_client.get(f"/no/such/page/{i}") for i in range(7)]
        + [obs_client.put("/api/settings", params={"client_id": user}, json={"speed": 99})] * 1
        + [
            obs_client.put("/api/settings", params={"client_id": user}, json={"speed": -i})
            for i in range(4)
        ]
        + [obs_client.post("/api/command", json={"client_id": user}) for _ in range(3)]
        + [
            obs_client.post("/api/command", json={"text": f"what is {i} plus 2", "client_id": user})
            for i in range(4)
        ]
        + [obs_client.delete("/health") for _ in range(2)]
        + [obs_client.request("BREW", "/health")]
    )
    statuses = [response.status_code for response in await asyncio.gather(*requests)]
    assert statuses.count(200) == 30 and statuses.count(404) == 7
    assert statuses.count(422) == 8 and statuses.count(405) == 3
    after = await scrape(obs_client)

    def counted(method: str, route: str, status: str) -> float:
        return delta(before, after, sample(HTTP, method=method, route=route, status=status))

    assert counted("GET", "/health", "200") == 20
    assert counted("GET", "/api/history", "200") == 6
    # Seven different unknown paths, one series; no raw path ever becomes a label.
    assert counted("GET", "unmatched", "404") == 7
    assert counted("PUT", "/api/settings", "422") == 5
    assert counted("POST", "/api/command", "422") == 3
    assert counted("POST", "/api/command", "200") == 4
    assert counted("DELETE", "/health", "405") == 2
    assert counted("OTHER", "/health", "405") == 1
    routes = {dict(labels).get("route") for name, labels in after if name == HTTP}
    assert not any(route and "/no/such" in route for route in routes)

    # Histogram: cumulative buckets, +Inf equals the count, the sum is plausible.
    labels = {"method": "GET", "route": "/health"}
    count = delta(before, after, sample(f"{LATENCY}_count", **labels))
    assert count == 20
    buckets = sorted(
        (float(dict(key[1])["le"]), delta(before, after, key))
        for key in after
        if key[0] == f"{LATENCY}_bucket" and dict(key[1]).items() >= labels.items()
    )
    assert buckets[-1] == (math.inf, 20)
    assert all(a[1] <= b[1] for a, b in itertools.pairwise(buckets))
    assert 0 < delta(before, after, sample(f"{LATENCY}_sum", **labels)) < 20 * 5

    # The skill turns, by handler and stage.
    turns = sample(
        "ballsy_turns_total", source="text", kind="skill", handler="math", interrupted="false"
    )
    assert delta(before, after, turns) == 4
    for stage in ("prepare", "skills", "persist", "total"):
        assert delta(before, after, sample("ballsy_turn_stage_seconds_count", stage=stage)) == 4
    # Only the scrape itself is still in flight.
    assert after[sample("ballsy_http_requests_in_flight")] == 1


async def test_llm_tokens_by_provider(obs_client: httpx.AsyncClient) -> None:
    before = await scrape(obs_client)
    response = await obs_client.post(
        "/api/command", json={"text": "tell me a joke", "client_id": "metrics-llm"}
    )
    assert response.status_code == 200, response.text
    usage = response.json()["data"]["usage"]
    after = await scrape(obs_client)
    assert (
        delta(before, after, sample("ballsy_llm_requests_total", provider="local", outcome="ok"))
        == 1
    )
    tokens_in = sample("ballsy_llm_tokens_total", provider="local", direction="in")
    tokens_out = sample("ballsy_llm_tokens_total", provider="local", direction="out")
    assert delta(before, after, tokens_in) == usage["prompt_tokens"] > 0
    assert delta(before, after, tokens_out) == usage["completion_tokens"] > 0
    first_token = sample("ballsy_turn_stage_seconds_count", stage="llm_first_token")
    assert delta(before, after, first_token) == 1
    llm_turns = sample(
        "ballsy_turns_total", source="text", kind="llm", handler="local", interrupted="false"
    )
    assert delta(before, after, llm_turns) == 1


@pytest.fixture
def fake_openai() -> Iterator[str]:
    server = run_fake_openai()
    base_url, _fake = next(server)
    yield base_url
    next(server, None)


async def test_provider_errors_are_counted(tmp_path: Path, fake_openai: str) -> None:
    settings = make_settings(
        tmp_path,
        llm_provider="openai",
        llm_base_url=fake_openai,
        llm_model="broken",
        llm_api_key="test-key",
        llm_max_retries=0,
    )
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as client,
    ):
        before = await scrape(client)
        response = await client.post(
            "/api/command", json={"text": "tell me a joke", "client_id": "metrics-broken"}
        )
        assert response.status_code == 502, response.text
        after = await scrape(client)
    errors = sample("ballsy_llm_provider_errors_total", provider="openai", code="http_500")
    assert delta(before, after, errors) == 1
    calls = sample("ballsy_llm_requests_total", provider="openai", outcome="error")
    assert delta(before, after, calls) == 1
    failed = sample(HTTP, method="POST", route="/api/command", status="502")
    assert delta(before, after, failed) == 1


async def test_metrics_can_be_turned_off(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path, metrics_enabled=False))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as client,
    ):
        assert (await client.get("/metrics")).status_code == 404
        response = await client.get("/health")
        # The request id is not a metric: it stays.
        assert response.headers["x-request-id"]
