"""A Realtime conversation on a real ``VoiceSession`` with fake ports, driven like a client.

Client events go through the protocol parser, engine events are drained from the
session's queue as the connection's task would, and every server event is validated
against the official SDK's models (:class:`Sink`).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from ballsy.config import Settings
from ballsy.realtime.wire.openai.conversation import RealtimeConversation
from ballsy.realtime.wire.openai.protocol import ClientEventError, parse_client_event
from ballsy.realtime.wire.openai.server_events import ServerEvents
from ballsy.realtime.wire.openai.session_config import (
    RATE,
    Dialect,
    RealtimeSessionConfig,
)
from tests.realtime.sdk_log import SCHEMAS
from tests.realtime.session.fakes import Rig, rig

VOICES = ["heart"]


@dataclass
class Sink:
    """The outbox: keeps what was sent, each message checked against the SDK's schema."""

    dialect: str = "ga"
    sent: list[dict[str, Any]] = field(default_factory=list)
    closed: int | None = None

    def send_json(self, message: dict[str, Any]) -> None:
        SCHEMAS[self.dialect].validate_python(message)
        self.sent.append(message)

    def close(self, code: int = 1000, reason: str = "") -> None:
        self.closed = code

    def types(self, since: int = 0) -> list[str]:
        return [m["type"] for m in self.sent[since:]]

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.sent if m["type"] == kind]


@dataclass
class Client:
    conversation: RealtimeConversation
    rig: Rig
    sink: Sink

    async def send(self, event: dict[str, Any]) -> None:
        await self.conversation.handle(parse_client_event(json.dumps(event)))

    async def refused(self, event: dict[str, Any]) -> ClientEventError:
        with pytest.raises(ClientEventError) as refusal:
            await self.send(event)
        return refusal.value

    async def say(self, text: str, role: str = "user") -> None:
        kind = "input_text" if role == "user" else "output_text"
        item = {"type": "message", "role": role, "content": [{"type": kind, "text": text}]}
        await self.send({"type": "conversation.item.create", "item": item})

    async def refused_say(self, text: str, role: str = "user") -> ClientEventError:
        with pytest.raises(ClientEventError) as refusal:
            await self.say(text, role)
        return refusal.value

    def drain(self) -> None:
        for event in self.rig.session.pending_events():
            self.conversation.render(event)

    async def until(self, kind: str, *, count: int = 1, limit_s: float = 30.0) -> dict[str, Any]:
        """Run the engine in virtual time (10 ms steps) until ``count`` ``kind`` events."""
        clock = self.rig.clock
        deadline = clock.t + limit_s
        while clock.t < deadline:
            await self.rig.settle(5)
            self.drain()
            if len(found := self.sink.of(kind)) >= count:
                return found[count - 1]
            clock.advance(0.01)
        raise AssertionError(f"no {kind}; got {self.sink.types()}")

    async def feed(self, seconds: float, *, loud: bool) -> None:
        """24 kHz PCM16 in 20 ms appends: a tone is speech, zeros are silence."""
        step = RATE // 50
        for _ in range(round(seconds * 50)):
            t = np.arange(step) / RATE
            wave = 0.3 * np.sin(2 * np.pi * 440 * t) if loud else np.zeros(step)
            pcm = (wave * 32767).astype("<i2").tobytes()
            audio = base64.b64encode(pcm).decode()
            await self.send({"type": "input_audio_buffer.append", "audio": audio})
            self.rig.clock.advance(0.02)
            await self.rig.settle(3)
            self.drain()


def connect(settings: Settings, *, dialect: Dialect = "ga", **fakes: Any) -> Client:
    config = RealtimeSessionConfig.default(settings, model="gpt-realtime", voice="heart")
    built = rig(options=config.engine_options(settings, VOICES), **fakes)
    sink = Sink(dialect)
    conversation = RealtimeConversation(
        built.session, ServerEvents(sink, dialect), config, settings=settings, voices=VOICES
    )
    conversation.opened("s1")
    return Client(conversation, built, sink)


def in_order(sink: Sink, *kinds: str) -> None:
    types = sink.types()
    positions = [types.index(kind) for kind in kinds]
    assert positions == sorted(positions), list(zip(kinds, positions, strict=True))
