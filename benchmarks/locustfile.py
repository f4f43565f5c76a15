"""Load kit: locust users that talk to Ballsy the way its clients do (docs/load-testing.md).

- ``RestUser``: typed commands (a skill question, an LLM question), the caller's history,
  a spoken question through ``POST /api/voice`` and ``/v1/audio/transcriptions``, and an
  OpenAI-style ``/v1/chat/completions``, with a user's think time between calls.
- ``VoiceUser``: one native voice socket (``/ws/voice/{client_id}``) held for the whole
  run, its microphone always live: a spoken question, then silence, in 20 ms PCM16
  frames every 20 ms of wall time. Each turn is reported to locust as
  ``WS voice turn: first audio`` — true end of speech → first reply audio frame, as
  benchmarks/voice_latency.py measures it — and ``WS voice turn: reply done``; a server
  ``error`` message is a failure of ``WS voice: server error``.

The questions are spoken by espeak-ng voices of several accents and the shared real
recording (benchmarks/_voices.py), never by Ballsy's own TTS; without espeak-ng, by the
recordings alone.

    locust -f benchmarks/locustfile.py --host http://127.0.0.1:8080 [RestUser] [VoiceUser]

``BALLSY_API_KEY`` (one key, or several separated by commas: each simulated user takes
the next) authenticates against a server with ``AUTH_MODE=apikey``; without it each
user names itself with a ``client_id`` (``AUTH_MODE=none``).
"""

from __future__ import annotations

import functools
import io
import itertools
import json
import random
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gevent
from locust import HttpUser, User, between, events, task
from locust.env import Environment
from locust.exception import StopUser
from websockets.sync.client import ClientConnection, connect

from ballsy.speech.audio import decode_audio, float_to_pcm16
from benchmarks._common import FIXTURES
from benchmarks._voices import RATE, have_espeak, questions, trim

FRAME_S = 0.02
FRAME_BYTES = int(RATE * FRAME_S) * 2
SILENCE = bytes(FRAME_BYTES)
FIRST_AUDIO_WITHIN_S = 30.0
REPLY_DONE_WITHIN_S = 90.0
SERVER_STAGES = ("eot_wait_ms", "first_audio_ms", "end_to_end_ms")
"""The server's own timings of a turn (its ``turn`` message), kept with reply done."""
SKILL_QUESTIONS = (
    "what is twelve times seven",
    "what is fifteen percent of eighty",
    "square root of one hundred forty four",
    "play relaxing jazz on spotify",
    "what time is it",
)
LLM_QUESTIONS = (
    "tell me a joke",
    "what is the capital of France?",
    "give me a tip for sleeping better",
    "why do cats purr?",
)


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    parser.add_argument(
        "--ballsy-api-key",
        env_var="BALLSY_API_KEY",
        default="",
        help="Ballsy API key(s), comma-separated; each user takes the next (AUTH_MODE=apikey)",
    )
    parser.add_argument(
        "--chat-model",
        env_var="BALLSY_CHAT_MODEL",
        default="local",
        help="model of the /v1/chat/completions calls (a provider name or one of its models)",
    )
    parser.add_argument(
        "--samples-out",
        default="",
        help="append every request (type, name, ms, error) as JSON lines to this file",
    )


# --- who is calling --------------------------------------------------------------------

_serial = itertools.count(1)


def _option(environment: Environment, name: str) -> str:
    return str(getattr(environment.parsed_options, name, "") or "")


def _caller(environment: Environment, kind: str) -> tuple[str, dict[str, str]]:
    """(client id, auth headers) of the next simulated user."""
    number = next(_serial)
    client_id = f"load-{kind}-{number}"
    keys = [k.strip() for k in _option(environment, "ballsy_api_key").split(",") if k.strip()]
    if keys:
        return client_id, {"Authorization": f"Bearer {keys[number % len(keys)]}"}
    return client_id, {"X-Client-ID": client_id}


# --- what they say ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Spoken:
    label: str
    pcm: bytes
    """16 kHz PCM16 mono, speech only."""
    wav: bytes


def _wav(pcm: bytes) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(pcm)
    return buffer.getvalue()


@functools.cache
def spoken_questions() -> tuple[Spoken, ...]:
    """The questions, spoken once per process: espeak-ng voices and the real recording."""
    if have_espeak():
        clips = [(u.label, u.audio) for u in questions(11)]  # the 11th is the recording
    else:
        clips = [(name, trim(decode_audio(FIXTURES / name).samples)) for name in ("english.wav",)]
    spoken = []
    for label, samples in clips:
        pcm = float_to_pcm16(samples).astype("<i2").tobytes()
        spoken.append(Spoken(label, pcm, _wav(pcm)))
    return tuple(spoken)


# --- the REST user ---------------------------------------------------------------------


class RestUser(HttpUser):
    """A user of the REST and OpenAI-compatible API, a few seconds between calls."""

    wait_time = between(1, 3)

    def on_start(self) -> None:
        self.client_id, headers = _caller(self.environment, "rest")
        self.client.headers.update(headers)
        self.spoken = spoken_questions()

    def _say(self) -> Spoken:
        return random.choice(self.spoken)

    @task(4)
    def skill_command(self) -> None:
        body = {"text": random.choice(SKILL_QUESTIONS), "client_id": self.client_id}
        self.client.post("/api/command", json=body, name="/api/command (skill)")

    @task(1)
    def llm_command(self) -> None:
        body = {"text": random.choice(LLM_QUESTIONS), "client_id": self.client_id}
        self.client.post("/api/command", json=body, name="/api/command (llm)")

    @task(2)
    def history(self) -> None:
        self.client.get(
            "/api/history", params={"client_id": self.client_id, "limit": 20}, name="/api/history"
        )

    @task(1)
    def spoken_command(self) -> None:
        question = self._say()
        self.client.post(
            "/api/voice",
            params={"audio": "wav"},
            files={"file": ("question.wav", question.wav, "audio/wav")},
            data={"client_id": self.client_id},
            name="/api/voice",
        )

    @task(2)
    def transcription(self) -> None:
        question = self._say()
        self.client.post(
            "/v1/audio/transcriptions",
            files={"file": ("question.wav", question.wav, "audio/wav")},
            data={"model": "whisper-1"},
            name="/v1/audio/transcriptions",
        )

    @task(1)
    def chat_completion(self) -> None:
        body = {
            "model": _option(self.environment, "chat_model") or "local",
            "messages": [{"role": "user", "content": random.choice(LLM_QUESTIONS)}],
            "max_tokens": 64,
        }
        self.client.post("/v1/chat/completions", json=body, name="/v1/chat/completions")


# --- the voice user --------------------------------------------------------------------


class ServerError(Exception):
    """An ``error`` message from the voice socket."""


class VoiceSocket:
    """One ``/ws/voice`` connection: a reader greenlet timestamping every message, and a
    microphone greenlet that sends a 20 ms frame every 20 ms — speech when there is some
    queued, silence otherwise — on an absolute schedule, so it never runs ahead of wall
    time and catches up after a stall."""

    def __init__(self, ws: ClientConnection, on_error: Callable[[dict[str, Any]], None]) -> None:
        self.ws = ws
        self.on_error = on_error
        self.messages: list[tuple[float, dict[str, Any]]] = []
        self.closed = False
        self.late_s = 0.0
        """The most a frame was sent behind its schedule since the last ``say``."""
        self._speech: list[bytes] = []
        self._spoke_until: float | None = None
        self._greenlets = [gevent.spawn(self._read), gevent.spawn(self._microphone)]

    def _read(self) -> None:
        try:
            for raw in self.ws:
                if isinstance(raw, bytes):
                    continue  # audio_format=json (the default) carries the turn id
                message = json.loads(raw)
                self.messages.append((time.perf_counter(), message))
                if message.get("type") == "error":
                    self.on_error(message)
        except Exception:  # closed, reset: the turn in progress reports it
            pass
        finally:
            self.closed = True

    def _microphone(self) -> None:
        due = time.perf_counter()
        try:
            while not self.closed:
                speaking = bool(self._speech)
                self.ws.send(self._speech.pop(0) if speaking else SILENCE)
                self.late_s = max(self.late_s, time.perf_counter() - due)
                due += FRAME_S
                if speaking and not self._speech:
                    self._spoke_until = due  # the last speech frame's audio ends here
                gevent.sleep(max(0.0, due - time.perf_counter()))
        except Exception:
            self.closed = True

    def say(self, pcm: bytes) -> float:
        """Queue speech for the microphone; returns when it has been sent: the
        ``time.perf_counter()`` at which the speech ended for the listener."""
        self._spoke_until, self.late_s = None, 0.0
        self._speech = [pcm[i : i + FRAME_BYTES] for i in range(0, len(pcm), FRAME_BYTES)]
        while self._spoke_until is None:
            if self.closed:
                raise ConnectionError("the voice socket closed while speaking")
            gevent.sleep(FRAME_S)
        return self._spoke_until

    def wait_for(
        self, found: Callable[[float, dict[str, Any]], bool], within: float
    ) -> tuple[float, dict[str, Any]] | None:
        """The first message (arrival time, message) for which ``found`` holds."""
        deadline = time.perf_counter() + within
        seen = 0
        while time.perf_counter() < deadline:
            for at, message in self.messages[seen:]:
                if found(at, message):
                    return at, message
            seen = len(self.messages)
            if self.closed:
                raise ConnectionError("the voice socket closed")
            gevent.sleep(0.01)  # arrival times are stamped by the reader, not here
        return None

    def close(self) -> None:
        self.closed = True
        self.ws.close()
        gevent.killall(self._greenlets, block=False)


class VoiceUser(User):
    """A hands-free voice client: one socket, a live microphone, a question every few
    seconds after the previous reply has played out."""

    wait_time = between(2, 5)

    def on_start(self) -> None:
        self.client_id, self.headers = _caller(self.environment, "voice")
        self.spoken = spoken_questions()
        self.socket: VoiceSocket | None = None
        self._connect()

    def on_stop(self) -> None:
        if self.socket is not None:
            self.socket.close()

    def _fire(
        self,
        name: str,
        started: float,
        exception: Exception | None = None,
        *,
        at: float | None = None,
        **context: Any,
    ) -> None:
        """Report one WS request to locust: ``started`` → ``at`` (default: now)."""
        ended = time.perf_counter() if at is None else at
        self.environment.events.request.fire(
            request_type="WS",
            name=name,
            response_time=(ended - started) * 1000,
            response_length=0,
            exception=exception,
            context=context,
        )

    def _server_error(self, message: dict[str, Any]) -> None:
        error = ServerError(f"{message.get('code')}: {message.get('message')}")
        self._fire("voice: server error", time.perf_counter(), error)

    def _connect(self) -> None:
        url = f"{str(self.host).replace('http', 'ws', 1)}/ws/voice/{self.client_id}"
        started = time.perf_counter()
        try:
            ws = connect(url, additional_headers=self.headers, open_timeout=30)
            self.socket = VoiceSocket(ws, self._server_error)
            ready = self.socket.wait_for(lambda _, m: m.get("type") == "ready", 30)
            if ready is None:
                raise TimeoutError("no ready message within 30 s")
        except Exception as exc:
            self._fire("voice: connect", started, exc)
            raise StopUser() from exc
        self._fire("voice: connect", started)

    @task
    def turn(self) -> None:
        if self.socket is None or self.socket.closed:
            self._connect()
        assert self.socket is not None
        question = random.choice(self.spoken)
        old_turns = {m.get("turn_id") for _, m in self.socket.messages if m.get("turn_id")}
        spoke_until = self.socket.say(question.pcm)
        late_ms = round(self.socket.late_s * 1000, 1)

        def new_turn(message: dict[str, Any]) -> bool:
            return bool(message.get("turn_id")) and message["turn_id"] not in old_turns

        first = self.socket.wait_for(
            lambda at, m: m.get("type") == "audio" and new_turn(m) and at > spoke_until,
            FIRST_AUDIO_WITHIN_S,
        )
        if first is None:
            failed = TimeoutError(f"no reply audio within {FIRST_AUDIO_WITHIN_S:.0f} s")
            self._fire("voice turn: first audio", spoke_until, failed, said=question.label)
            return
        first_at, first_audio = first
        self._fire("voice turn: first audio", spoke_until, at=first_at, mic_late_ms=late_ms)
        turn_id = first_audio["turn_id"]
        # A polite user lets the reply play out (the microphone stays live meanwhile).
        done = self.socket.wait_for(
            lambda _, m: m.get("type") == "reply_done" and m.get("turn_id") == turn_id,
            REPLY_DONE_WITHIN_S,
        )
        if done is None:
            late = TimeoutError(f"no reply_done within {REPLY_DONE_WITHIN_S:.0f} s")
            self._fire("voice turn: reply done", spoke_until, late)
        elif done[1].get("status") == "failed":
            error = done[1].get("error") or {}
            broken = ServerError(f"reply failed: {error.get('code')}")
            self._fire("voice turn: reply done", spoke_until, broken, at=done[0])
        else:
            stages = self.socket.wait_for(
                lambda _, m: m.get("type") == "turn" and m.get("turn_id") == turn_id, 5
            )
            timings = stages[1].get("timings", {}) if stages else {}
            server = {k: timings[k] for k in SERVER_STAGES if k in timings}
            self._fire("voice turn: reply done", spoke_until, at=done[0], **server)


# --- every request, for exact percentiles ----------------------------------------------

_samples: list[dict[str, Any]] = []


@events.request.add_listener
def _record(
    request_type: str,
    name: str,
    response_time: float,
    exception: BaseException | None = None,
    context: dict[str, Any] | None = None,
    **_: Any,
) -> None:
    sample = {"type": request_type, "name": name, "ms": round(response_time, 1)}
    if exception is not None:
        sample["error"] = f"{type(exception).__name__}: {exception}"
    for key in ("mic_late_ms", *SERVER_STAGES):
        if context and key in context:
            sample[key] = context[key]
    _samples.append(sample)


@events.quitting.add_listener
def _write_samples(environment: Environment, **_: Any) -> None:
    path = _option(environment, "samples_out")
    if path:  # appended: with --processes, each worker adds what its users did
        with open(path, "a", encoding="utf-8") as out:
            out.writelines(json.dumps(sample) + "\n" for sample in _samples)
