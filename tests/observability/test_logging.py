"""The log pipeline: Cloud Logging JSON, request ids, stdlib routing, redaction."""

from __future__ import annotations

import logging
import logging.config
import re
from pathlib import Path

import httpx
import pytest
import uvicorn.config

from ballsy.app import create_app
from ballsy.config import Settings
from ballsy.observability.logging import bound_context, get_logger
from ballsy.observability.middleware import trace_context
from tests.conftest import make_settings
from tests.observability.conftest import CapturedLogs, capture

GENERATED_ID = re.compile(r"[0-9a-f]{32}")
CLOUD_TRACE = "105445aa7843bc8bf206b12000100000"


async def test_request_line_is_cloud_logging_json(
    obs_client: httpx.AsyncClient, json_logs: CapturedLogs
) -> None:
    response = await obs_client.get(
        "/api/history",
        params={"client_id": "log-reader", "limit": 5},
        headers={
            "X-Request-ID": "req-42.a:b",
            "X-Cloud-Trace-Context": f"{CLOUD_TRACE}/1;o=1",
            "User-Agent": "pytest-agent",
        },
    )
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "req-42.a:b"
    (line,) = json_logs.named("ballsy.http.request_completed")
    assert line["severity"] == "INFO"
    assert line["request_id"] == "req-42.a:b"
    assert line["logger"] == "ballsy.http"
    assert line["route"] == "/api/history"
    assert line["logging.googleapis.com/trace"] == CLOUD_TRACE
    assert line["logging.googleapis.com/spanId"] == "0000000000000001"
    assert line["logging.googleapis.com/trace_sampled"] is True
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z", line["time"])
    http = line["httpRequest"]
    assert http["requestMethod"] == "GET" and http["status"] == 200
    # The query string is left out: it may carry tokens.
    assert http["requestUrl"] == "/api/history"
    assert http["userAgent"] == "pytest-agent" and http["protocol"] == "HTTP/1.1"
    assert re.fullmatch(r"\d+\.\d{6}s", http["latency"])
    assert int(http["responseSize"]) == len(response.content)


async def test_every_line_of_a_request_carries_its_id(
    obs_client: httpx.AsyncClient, json_logs: CapturedLogs
) -> None:
    response = await obs_client.post(
        "/api/command", json={"text": "what is 1234 plus 4321", "client_id": "log-ids"}
    )
    assert response.status_code == 200, response.text
    request_id = response.headers["x-request-id"]
    assert GENERATED_ID.fullmatch(request_id)
    ours = [r for r in json_logs.records() if r.get("logger", "").startswith("ballsy.")]
    assert {r["message"] for r in ours} >= {
        "ballsy.turn.completed",
        "ballsy.http.request_completed",
    }
    assert all(r["request_id"] == request_id for r in ours)
    turn = json_logs.named("ballsy.turn.completed")[0]
    assert turn["handler"] == "math" and turn["timings"]["total_ms"] > 0
    # What the user said is not in any line at INFO.
    assert "1234 plus" not in json_logs.stream.getvalue()


@pytest.mark.parametrize(
    "bad_id",
    ["x" * 129, "has space", "tab\there", "<script>alert(1)</script>", "-leading-dash", "é-accent"],
)
async def test_invalid_request_id_is_replaced_not_echoed(
    obs_client: httpx.AsyncClient, json_logs: CapturedLogs, bad_id: str
) -> None:
    response = await obs_client.get("/api/settings", headers=[(b"x-request-id", bad_id.encode())])
    assert response.status_code == 200
    assert GENERATED_ID.fullmatch(response.headers["x-request-id"])
    (line,) = json_logs.named("ballsy.http.request_completed")
    assert line["request_id"] == response.headers["x-request-id"]
    assert bad_id not in json_logs.stream.getvalue()


def test_stdlib_records_go_through_the_same_pipeline(obs_settings: Settings) -> None:
    # What `uvicorn.run` does with its default config: its loggers get their own
    # handlers and stop propagating. Configuring Ballsy's logging must undo that.
    logging.config.dictConfig(uvicorn.config.LOGGING_CONFIG)
    with capture(obs_settings) as logs:
        with bound_context(request_id="r-1", ws_session_id="ws-9", user_id="u-7"):
            logging.getLogger("uvicorn.error").info("Started server process [%d]", 4242)
            logging.getLogger("sqlalchemy.pool").warning("connection invalidated")
            logging.getLogger("ballsy.llm.fallback").warning(
                "ballsy.llm.fallback", extra={"provider": "openai", "error": "provider_error"}
            )
        # Statements carry user text as parameters: not logged at INFO.
        logging.getLogger("sqlalchemy.engine").info("SELECT secret FROM users")
    records = logs.records()
    assert [r["message"] for r in records] == [
        "Started server process [4242]",
        "connection invalidated",
        "ballsy.llm.fallback",
    ]
    assert [r["severity"] for r in records] == ["INFO", "WARNING", "WARNING"]
    assert [r["logger"] for r in records] == [
        "uvicorn.error",
        "sqlalchemy.pool",
        "ballsy.llm.fallback",
    ]
    for record in records:
        assert (record["request_id"], record["ws_session_id"], record["user_id"]) == (
            "r-1",
            "ws-9",
            "u-7",
        )
    assert records[2]["provider"] == "openai"


def test_secrets_audio_and_speech_are_redacted(obs_settings: Settings) -> None:
    log = get_logger("ballsy.tests")
    with capture(obs_settings) as logs:
        log.info(
            "ballsy.tests.event",
            api_key="sk-live-123",
            authorization="Bearer abc",
            refresh_token="rt-1",
            text="dear diary, my pin is 0000",
            transcript="hello there",
            audio=b"\x00\x01" * 1600,
            prompt_tokens=12,
        )
    (line,) = logs.records()
    assert line["api_key"] == line["authorization"] == line["refresh_token"] == "[redacted]"
    assert line["text"] == "<26 chars>" and line["transcript"] == "<11 chars>"
    assert line["audio"] == "<3200 bytes>"
    assert line["prompt_tokens"] == 12
    assert "sk-live" not in logs.stream.getvalue()

    debug = make_settings(obs_settings.data_dir, log_format="json", log_level="DEBUG")
    with capture(debug) as logs:
        log.debug("ballsy.tests.event", transcript="hello there", api_key="sk-live-123")
    (line,) = logs.records()
    assert line["transcript"] == "hello there" and line["api_key"] == "[redacted]"


def test_exceptions_carry_a_stack_trace(obs_settings: Settings) -> None:
    project = obs_settings.model_copy(update={"gcp_project": "demo-project"})
    log = get_logger("ballsy.tests")
    with capture(project) as logs, bound_context(trace_id=CLOUD_TRACE):
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("ballsy.tests.failed")
    (line,) = logs.records()
    assert line["severity"] == "ERROR"
    assert "Traceback" in line["stack_trace"] and "ValueError: boom" in line["stack_trace"]
    assert line["logging.googleapis.com/trace"] == f"projects/demo-project/traces/{CLOUD_TRACE}"


def test_console_format_for_development(tmp_path: Path) -> None:
    development = make_settings(tmp_path, environment="development")
    # A copy skips the production checks (auth, CORS) that are not under test here.
    production = development.model_copy(update={"environment": "production"})
    assert development.resolved_log_format == "console"
    assert production.resolved_log_format == "json"
    with capture(development) as logs:
        get_logger("ballsy.tests").info("ballsy.tests.readable", turn_id=3)
    text = logs.stream.getvalue()
    assert "ballsy.tests.readable" in text and "turn_id=3" in text
    assert not text.lstrip().startswith("{")


@pytest.mark.parametrize(
    ("traceparent", "cloud", "expected"),
    [
        (
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            None,
            {
                "trace_id": "0af7651916cd43dd8448eb211c80319c",
                "span_id": "b7ad6b7169203331",
                "trace_sampled": True,
            },
        ),
        # traceparent wins over the Google header when both are present
        (
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00",
            f"{CLOUD_TRACE}/255",
            {
                "trace_id": "0af7651916cd43dd8448eb211c80319c",
                "span_id": "b7ad6b7169203331",
                "trace_sampled": False,
            },
        ),
        ("00-" + "0" * 32 + "-b7ad6b7169203331-01", None, {}),
        (
            "garbage",
            f"{CLOUD_TRACE}/255;o=0",
            {"trace_id": CLOUD_TRACE, "span_id": "00000000000000ff", "trace_sampled": False},
        ),
        (None, CLOUD_TRACE, {"trace_id": CLOUD_TRACE}),
        (None, "not-a-trace/12", {}),
        (None, None, {}),
    ],
)
def test_trace_headers(
    traceparent: str | None, cloud: str | None, expected: dict[str, object]
) -> None:
    assert trace_context(traceparent, cloud) == expected


async def test_an_unhandled_error_is_logged_with_its_request_id(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, log_format="json")
    app = create_app(settings)

    async def boom() -> None:
        raise RuntimeError("kaboom")

    app.add_api_route("/boom", boom)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    with capture(settings) as logs:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://t") as client,
        ):
            response = await client.get("/boom", headers={"X-Request-ID": "boom-1"})
    assert response.status_code == 500
    (line,) = logs.named("ballsy.http.request_completed")
    assert line["severity"] == "ERROR" and line["httpRequest"]["status"] == 500
    assert line["request_id"] == "boom-1"
    # The server-error handler runs outside the middleware, yet keeps the request id.
    (error,) = logs.named("ballsy.api.unhandled_error")
    assert error["request_id"] == "boom-1"
    assert "RuntimeError: kaboom" in error["stack_trace"]
