"""A fake OpenAI-compatible LLM for the browser tests: fast and predictable.

"story" in the user's message gets a long story (tens of seconds of speech, so that
there is a reply to interrupt); anything else is echoed back verbatim ("You said:
…"), which is how the XSS tests get markup into a reply.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.fake_openai import free_port

STORY = (
    "Once upon a time, a small dragon lived at the edge of a quiet valley. "
    "Every morning she counted the clouds and gave each one a name. "
    "The villagers below were afraid of her, so she practised being very gentle. "
    "One winter the river froze and the mill wheel stopped turning. "
    "The dragon flew down and breathed the softest, warmest breath she could. "
    "The ice melted, the wheel turned, and the baker had flour again. "
    "After that the children brought her bread, and she told them about the clouds. "
    "She named the biggest cloud after the baker, who was very proud of it. "
    "And on quiet evenings the whole valley listened to her stories by the river. "
    "That is how the little dragon found a home, and a village found a friend."
)


def _reply_for(body: dict[str, object]) -> str:
    messages = body.get("messages")
    last = messages[-1] if isinstance(messages, list) and messages else {}
    text = str(last.get("content", "")) if isinstance(last, dict) else ""
    return STORY if "story" in text.lower() else f"You said: {text}"


async def _chat(request: Request) -> Response:
    body = await request.json()
    reply = _reply_for(body)
    base = {"id": "chatcmpl-e2e", "created": int(time.time()), "model": body.get("model")}
    usage = {"prompt_tokens": 20, "completion_tokens": len(reply.split())}
    usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    if not body.get("stream"):
        choice = {"index": 0, "message": {"role": "assistant", "content": reply}}
        return JSONResponse(
            {**base, "object": "chat.completion", "choices": [choice], "usage": usage}
        )

    async def events() -> AsyncIterator[str]:
        chunk = {**base, "object": "chat.completion.chunk"}
        words = reply.split(" ")
        for i, word in enumerate(words):
            delta = {"index": 0, "delta": {"content": word if i == 0 else " " + word}}
            yield f"data: {json.dumps({**chunk, 'choices': [delta]})}\n\n"
        end = {"index": 0, "delta": {}, "finish_reason": "stop"}
        yield f"data: {json.dumps({**chunk, 'choices': [end]})}\n\n"
        yield f"data: {json.dumps({**chunk, 'choices': [], 'usage': usage})}\n\n"
        yield "data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")


@contextmanager
def fake_llm() -> Iterator[str]:
    """Serve the fake on loopback; yields its base URL (``…/v1``)."""
    app = Starlette(routes=[Route("/v1/chat/completions", _chat, methods=["POST"])])
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "fake LLM did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
