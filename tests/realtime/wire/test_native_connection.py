"""The native connection on fake ports: client messages in, protocol messages out.

No server and no models: the engine runs on :mod:`tests.realtime.session.fakes`, and
the outbox is replaced by a recorder, so each test takes milliseconds.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from ballsy.realtime.session.events import InputOverrun, SessionEvent, TurnEnded
from ballsy.realtime.wire.native import MAX_ERRORS, NativeConnection
from tests.realtime.session.fakes import FakeLimiter, FakeResponder, Rig, rig


@dataclass
class Recorder:
    """Stands in for the outbox: what would have been sent, and how it was closed."""

    sent: list[dict[str, Any] | bytes] = field(default_factory=list)
    close_code: int | None = None
    closed: bool = False

    def send_json(self, message: dict[str, Any]) -> None:
        self.sent.append(message)

    def send_bytes(self, data: bytes) -> None:
        self.sent.append(data)

    def close(self, code: int = 1000, reason: str = "") -> None:
        self.closed, self.close_code = True, code

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.sent if isinstance(m, dict) and m["type"] == kind]


@dataclass
class FakeSocket:
    query_params: dict[str, str] = field(default_factory=dict)


def connect(engine: Rig, **query: str) -> tuple[NativeConnection, Recorder]:
    connection = NativeConnection(
        FakeSocket(query),  # type: ignore[arg-type]
        engine.session,
        client_id="ada",
        voices=lambda engine: ["joe", "amy"],
        send_queue=64,
    )
    recorder = Recorder()
    connection.outbox = recorder  # type: ignore[assignment]
    return connection, recorder


async def say(connection: NativeConnection, message: dict[str, Any]) -> None:
    await connection.on_message({"type": "websocket.receive", "text": json.dumps(message)})


async def run(engine: Rig, connection: NativeConnection, kind: type[SessionEvent]) -> None:
    """Let the engine work until ``kind``, rendering what it emitted (as the drain task)."""
    await engine.until(kind)
    for event in engine.collect():
        connection.render(event)
    engine.events.clear()


async def test_a_typed_turn_is_answered_with_text_audio_and_timings() -> None:
    engine = rig(responder=FakeResponder("Four."))
    connection, sent = connect(engine)
    await say(connection, {"type": "text", "text": "what is 2 plus 2"})
    await run(engine, connection, TurnEnded)
    assert "".join(m["delta"] for m in sent.of("reply")).strip() == "Four."
    assert sent.of("audio") and base64.b64decode(sent.of("audio")[0]["data"])
    (done,) = sent.of("reply_done")
    assert done["status"] == "completed" and done["text"] == "Four."
    assert done["handled_by"] == "llm:fake" and done["history_id"] == 1
    assert "error" not in done
    (turn,) = sent.of("turn")
    assert turn["turn_id"] == done["turn_id"] and turn["timings"]["prepare_ms"] == 1.0
    assert sent.sent.index(done) < sent.sent.index(turn)


async def test_binary_audio_format_sends_reply_audio_as_bytes() -> None:
    engine = rig()
    connection, sent = connect(engine, audio_format="binary")
    await say(connection, {"type": "text", "text": "hello"})
    await run(engine, connection, TurnEnded)
    assert any(isinstance(m, bytes) for m in sent.sent) and not sent.of("audio")


async def test_a_refused_turn_is_an_error_with_its_turn_id() -> None:
    engine = rig(limiter=FakeLimiter(allow=0))
    connection, sent = connect(engine)
    await say(connection, {"type": "text", "text": "hello"})
    await run(engine, connection, TurnEnded)
    (error,) = sent.of("error")
    assert error["code"] == "rate_limited" and error["turn_id"].startswith("turn_")
    assert not sent.of("reply_done")


async def test_a_reply_that_fails_mid_stream_ends_failed_with_its_code() -> None:
    engine = rig(responder=FakeResponder("One two three four.", fail_after=2))
    connection, sent = connect(engine)
    await say(connection, {"type": "text", "text": "count"})
    await run(engine, connection, TurnEnded)
    (done,) = sent.of("reply_done")
    assert done["status"] == "failed" and done["error"]["code"] == "internal_error"
    assert "llama" not in json.dumps(done), "raw exception text never reaches the client"


async def test_protocol_errors_are_told_and_too_many_close_the_socket() -> None:
    engine = rig()
    connection, sent = connect(engine)
    await connection.on_message({"type": "websocket.receive", "text": "{nope"})
    await connection.on_message({"type": "websocket.receive", "bytes": b"\x01"})
    assert [e["code"] for e in sent.of("error")] == ["invalid_json", "invalid_input"]
    assert not sent.closed
    for _ in range(MAX_ERRORS - 2):
        await say(connection, {"type": "teleport"})
    assert sent.closed and sent.close_code == 1008


async def test_ping_config_and_unknown_voice() -> None:
    engine = rig()
    connection, sent = connect(engine)
    await say(connection, {"type": "ping", "ts": 7})
    assert sent.of("pong") == [{"type": "pong", "ts": 7}]
    await say(connection, {"type": "config", "voice": "nobody"})
    assert sent.of("error")[-1]["code"] == "invalid_config"
    await say(connection, {"type": "config", "sample_rate": 24000, "audio_format": "binary"})
    (applied,) = sent.of("config_applied")
    assert applied["input_sample_rate"] == 24000 and applied["audio_format"] == "binary"
    assert engine.session.options.input_rate == 24000
    await say(connection, {"type": "config", "sample_rate": 44100})
    assert sent.of("error")[-1]["code"] == "invalid_input"
    assert engine.session.options.input_rate == 24000


async def test_overruns_are_left_to_the_lifetime() -> None:
    engine = rig()
    connection, sent = connect(engine)
    connection.render(InputOverrun(dropped_ms=500, close=False))
    assert sent.sent == []
