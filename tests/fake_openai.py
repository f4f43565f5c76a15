"""A real HTTP server speaking the chat-completions protocol, for provider tests.

It stands in for a paid remote API. The requested model name picks the behaviour:
``echo`` answers, ``flaky-N`` answers 429 N times then succeeds, ``broken`` always
answers 500, ``slow`` waits longer than any test timeout.

``tools`` (and any model starting ``tools``) behaves like a tool-calling model: while
the request offers tools and the conversation holds no ``tool`` message after its last
user message, it answers with one call of the first offered tool (``finish_reason:
tool_calls``), its arguments ``{"query": <the last user message>}`` — or, when the
tool's schema names other required properties, each of them set to that text. Once a
tool result follows the last user message it answers ``The tool said: <result>.``
Both streamed (arguments split over two chunks, as OpenAI does) and whole.
``tools-always`` calls a tool at every request that offers tools, unless
``tool_choice`` is ``none`` (a model that would loop forever).
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

REPLY = "Why did the scarecrow win an award? Because he was outstanding in his field."


class FakeOpenAI:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.requests: list[dict[str, Any]] = []
        self.app = Starlette(routes=[Route("/v1/chat/completions", self._chat, methods=["POST"])])

    async def _chat(self, request: Request) -> Response:
        body = await request.json()
        model = body["model"]
        self.calls[model] += 1
        self.requests.append(body)
        if model == "broken":
            return JSONResponse({"error": {"message": "boom", "type": "server_error"}}, 500)
        if model == "slow":
            await asyncio.sleep(30)
        if model.startswith("flaky-") and self.calls[model] <= int(model.split("-")[1]):
            return JSONResponse(
                {"error": {"message": "slow down", "type": "rate_limit"}},
                429,
                headers={"retry-after-ms": "10"},
            )
        if model.startswith("tools"):
            call = _tool_call_for(body)
            if call is not None:
                return _tool_call_response(model, call, stream=bool(body.get("stream")))
            reply = _after_tools(body)
        else:
            reply = REPLY
        words = reply.split(" ")
        if not body.get("stream"):
            return JSONResponse(
                {
                    "id": "chatcmpl-1",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": reply},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {
                        "prompt_tokens": 12,
                        "completion_tokens": len(words),
                        "total_tokens": 12 + len(words),
                    },
                }
            )

        async def events() -> AsyncIterator[str]:
            base = {
                "id": "chatcmpl-1",
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": model,
            }
            for i, word in enumerate(words):
                piece = word if i == 0 else " " + word
                delta = {"index": 0, "delta": {"content": piece}, "finish_reason": None}
                yield f"data: {json.dumps({**base, 'choices': [delta]})}\n\n"
            end = {"index": 0, "delta": {}, "finish_reason": "stop"}
            yield f"data: {json.dumps({**base, 'choices': [end]})}\n\n"
            usage = {
                "prompt_tokens": 12,
                "completion_tokens": len(words),
                "total_tokens": 12 + len(words),
            }
            yield f"data: {json.dumps({**base, 'choices': [], 'usage': usage})}\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")


def _last_user_index(messages: list[dict[str, Any]]) -> int:
    return max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=-1)


def _tool_call_for(body: dict[str, Any]) -> dict[str, Any] | None:
    """The call a tool-calling model makes now, or None when it should answer."""
    tools = body.get("tools") or []
    messages: list[dict[str, Any]] = body.get("messages") or []
    if not tools or body.get("tool_choice") == "none":
        return None
    last_user = _last_user_index(messages)
    answered = any(m.get("role") == "tool" for m in messages[last_user + 1 :])
    if answered and not body["model"].startswith("tools-always"):
        return None
    function = tools[0]["function"]
    text = str(messages[last_user]["content"]) if last_user >= 0 else ""
    required = [r for r in function.get("parameters", {}).get("required", []) if r != "query"]
    arguments = {name: text for name in required} if required else {"query": text}
    return {
        "id": f"call_{len(messages)}",
        "type": "function",
        "function": {"name": function["name"], "arguments": json.dumps(arguments)},
    }


def _after_tools(body: dict[str, Any]) -> str:
    messages: list[dict[str, Any]] = body.get("messages") or []
    results = [
        str(m.get("content"))
        for m in messages[_last_user_index(messages) + 1 :]
        if m.get("role") == "tool"
    ]
    return f"The tool said: {' '.join(results)}." if results else REPLY


def _tool_call_response(model: str, call: dict[str, Any], *, stream: bool) -> Response:
    usage = {"prompt_tokens": 20, "completion_tokens": 8, "total_tokens": 28}
    base = {"id": "chatcmpl-2", "created": int(time.time()), "model": model}
    if not stream:
        message = {"role": "assistant", "content": None, "tool_calls": [call]}
        choice = {"index": 0, "message": message, "finish_reason": "tool_calls"}
        return JSONResponse(
            {**base, "object": "chat.completion", "choices": [choice], "usage": usage}
        )

    async def events() -> AsyncIterator[str]:
        chunk = {**base, "object": "chat.completion.chunk"}
        arguments = call["function"]["arguments"]
        half = len(arguments) // 2
        first = {
            "index": 0,
            "id": call["id"],
            "type": "function",
            "function": {"name": call["function"]["name"], "arguments": arguments[:half]},
        }
        rest = {"index": 0, "function": {"arguments": arguments[half:]}}
        for piece in (first, rest):
            delta = {"index": 0, "delta": {"tool_calls": [piece]}, "finish_reason": None}
            yield f"data: {json.dumps({**chunk, 'choices': [delta]})}\n\n"
        end = {"index": 0, "delta": {}, "finish_reason": "tool_calls"}
        yield f"data: {json.dumps({**chunk, 'choices': [end]})}\n\n"
        yield f"data: {json.dumps({**chunk, 'choices': [], 'usage': usage})}\n\n"
        yield "data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_fake_openai() -> Iterator[tuple[str, FakeOpenAI]]:
    """Serve a FakeOpenAI on loopback in a thread; yields (base_url, fake)."""
    fake = FakeOpenAI()
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(fake.app, host="127.0.0.1", port=port, log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("fake OpenAI server did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}/v1", fake
    server.should_exit = True
    thread.join(timeout=10)
