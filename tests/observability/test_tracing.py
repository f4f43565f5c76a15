"""Optional OpenTelemetry: spans reach a real OTLP/HTTP endpoint; nothing when off."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ballsy.app import create_app
from ballsy.observability import tracing
from tests.conftest import make_settings
from tests.fake_openai import free_port
from tests.observability.conftest import capture

trace_pb2 = pytest.importorskip(
    "opentelemetry.proto.collector.trace.v1.trace_service_pb2",
    reason="needs the [tracing] extra",
)

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
PARENT_SPAN = "b7ad6b7169203331"


class Collector:
    """The OTLP/HTTP traces endpoint of a collector, keeping what it receives."""

    def __init__(self) -> None:
        self.requests: list[bytes] = []
        self.app = Starlette(routes=[Route("/v1/traces", self.traces, methods=["POST"])])

    async def traces(self, request: Request) -> Response:
        self.requests.append(await request.body())
        return Response(b"", media_type="application/x-protobuf")

    def spans(self) -> list[Any]:
        found: list[Any] = []
        for body in self.requests:
            export = trace_pb2.ExportTraceServiceRequest()
            export.ParseFromString(body)
            for resource in export.resource_spans:
                for scope in resource.scope_spans:
                    found.extend(scope.spans)
        return found


@pytest.fixture
def collector(monkeypatch: pytest.MonkeyPatch) -> Iterator[Collector]:
    collector = Collector()
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(collector.app, host="127.0.0.1", port=port, log_config=None)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "collector did not start"
        time.sleep(0.02)
    # Read by the OTLP exporter itself, as in a deployment.
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{port}")
    yield collector
    server.should_exit = True
    thread.join(timeout=10)


async def test_request_and_turn_stages_are_exported(tmp_path: Path, collector: Collector) -> None:
    settings = make_settings(tmp_path, otel_enabled=True, log_format="json")
    app = create_app(settings)
    with capture(settings) as logs:
        async with app.router.lifespan_context(app):
            assert tracing.enabled()
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                response = await client.post(
                    "/api/command",
                    json={"text": "what is 6 times 7", "client_id": "tracer"},
                    headers={"traceparent": f"00-{TRACE_ID}-{PARENT_SPAN}-01"},
                )
                assert response.status_code == 200, response.text
        # The lifespan's end flushed the batch and turned tracing off again.
        assert not tracing.enabled()

    spans = {span.name: span for span in collector.spans()}
    assert {
        "POST /api/command",
        "ballsy.turn.prepare",
        "ballsy.turn.skills",
        "ballsy.turn.persist",
    } <= set(spans)
    server = spans["POST /api/command"]
    # The caller's trace continues: same trace id, its span is our parent.
    assert server.trace_id.hex() == TRACE_ID
    assert server.parent_span_id.hex() == PARENT_SPAN
    attributes = {a.key: a.value for a in server.attributes}
    assert attributes["http.route"].string_value == "/api/command"
    assert attributes["http.response.status_code"].int_value == 200
    for stage in ("ballsy.turn.prepare", "ballsy.turn.skills", "ballsy.turn.persist"):
        assert spans[stage].trace_id.hex() == TRACE_ID
        assert spans[stage].parent_span_id == server.span_id

    # Log lines name the span they were written in.
    (line,) = logs.named("ballsy.http.request_completed")
    assert line["logging.googleapis.com/trace"] == TRACE_ID
    assert line["logging.googleapis.com/spanId"] == server.span_id.hex()


def test_tracing_off_costs_no_import() -> None:
    assert not tracing.enabled()
    assert tracing.span("anything", key=1) is tracing.NOOP_SPAN
    assert tracing.start_span("anything") is tracing.NOOP_SPAN
    # A fresh interpreter, since this one has imported the SDK for other tests. (Other
    # libraries, redis-py for one, may import OpenTelemetry's metrics SDK themselves.)
    program = (
        "import sys\n"
        "from ballsy.app import create_app\n"
        "from ballsy.config import Settings\n"
        "create_app(Settings(_env_file=None))\n"
        "prefixes = ('opentelemetry.sdk.trace', 'opentelemetry.exporter')\n"
        "print(sorted(m for m in sys.modules if m.startswith(prefixes)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"
