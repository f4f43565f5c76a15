"""An app over ASGI (SQLite) for the observability tests, and a captured log stream."""

from __future__ import annotations

import contextlib
import io
import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from ballsy.app import create_app
from ballsy.config import Settings
from ballsy.observability.logging import configure_logging
from tests.conftest import make_settings

Sample = tuple[str, frozenset[tuple[str, str]]]


@pytest.fixture(scope="module")
def obs_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(tmp_path_factory.mktemp("obs"), log_format="json")


@pytest.fixture(scope="module")
async def obs_app(obs_settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(obs_settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="module")
async def obs_client(obs_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=obs_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


class CapturedLogs:
    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    def records(self) -> list[dict[str, Any]]:
        """Every line written so far, each parsed as one JSON object."""
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]

    def named(self, message: str) -> list[dict[str, Any]]:
        return [record for record in self.records() if record["message"] == message]


@contextlib.contextmanager
def capture(settings: Settings) -> Iterator[CapturedLogs]:
    """Install the pipeline for ``settings`` writing to a buffer; remove it afterwards."""
    root = logging.getLogger()
    level = root.level
    stream = io.StringIO()
    handler = configure_logging(settings, stream=stream)
    try:
        yield CapturedLogs(stream)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@pytest.fixture
def json_logs(obs_settings: Settings) -> Iterator[CapturedLogs]:
    """The process's logs, as JSON lines, for the duration of one test."""
    with capture(obs_settings) as logs:
        yield logs


async def scrape(client: httpx.AsyncClient) -> dict[Sample, float]:
    """``/metrics`` parsed by prometheus-client's own parser: sample → value."""
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def sample(name: str, **labels: str) -> Sample:
    return name, frozenset(labels.items())


def delta(before: dict[Sample, float], after: dict[Sample, float], key: Sample) -> float:
    return after.get(key, 0.0) - before.get(key, 0.0)
