"""Session slots (scoped, capped, shared through Redis) and the AI response cache."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from ballsy.errors import NotFound, ServiceBusy
from ballsy.llm.base import ChatMessage, Delta, GenerationOptions, Usage
from ballsy.state.cache import PREFIX, ResponseCache, cache_key
from ballsy.state.failover import FailoverState
from ballsy.state.memory import MemoryBackend
from ballsy.state.redis_backend import RedisBackend
from ballsy.state.sessions import SessionSlots
from tests.conftest import REDIS_SERVER, make_settings


def sessions_on(
    state: FailoverState | MemoryBackend, tmp_path: Path, **overrides: object
) -> SessionSlots:
    return SessionSlots(state, make_settings(tmp_path, **overrides))


async def test_open_read_touch_close_and_scope(tmp_path: Path) -> None:
    sessions = sessions_on(MemoryBackend(), tmp_path)
    opened = await sessions.open("alice", device="phone", data={"voice": "a"})
    read = await sessions.get(opened.id, "alice")
    assert (read.device, read.data) == ("phone", {"voice": "a"})
    with pytest.raises(NotFound):
        await sessions.get(opened.id, "mallory")
    with pytest.raises(NotFound):
        await sessions.touch(opened.id, "mallory")
    with pytest.raises(NotFound):
        await sessions.close(opened.id, "mallory")
    touched = await sessions.touch(opened.id, "alice", data={"lang": "fr"})
    assert touched.data == {"voice": "a", "lang": "fr"}
    assert touched.last_seen_at >= opened.last_seen_at
    await sessions.close(opened.id, "alice")
    with pytest.raises(NotFound):
        await sessions.get(opened.id, "alice")
    assert await sessions.active_count() == 0


async def test_concurrent_session_cap_and_expiry(tmp_path: Path) -> None:
    sessions = sessions_on(MemoryBackend(), tmp_path, max_concurrent_sessions=3, session_slot_ttl=1)
    opened = [await sessions.open(f"u{i}") for i in range(3)]
    with pytest.raises(ServiceBusy):
        await sessions.open("u9")
    await sessions.close(opened[0].id, "u0")
    await sessions.open("u9")
    await asyncio.sleep(1.1)
    with pytest.raises(NotFound):
        await sessions.get(opened[1].id, "u1")


def test_session_timeout_sets_both_windows_unless_they_are_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``SESSION_TIMEOUT`` is the older name of the slot TTL and the conversation window."""
    both = make_settings(tmp_path, session_timeout=5)
    assert (both.conversation_idle_timeout, both.session_slot_ttl) == (5, 5)
    one = make_settings(tmp_path, session_timeout=5, session_slot_ttl=7)
    assert (one.conversation_idle_timeout, one.session_slot_ttl) == (5, 7)
    assert SessionSlots(MemoryBackend(), one).timeout == 7

    monkeypatch.setenv("SESSION_TIMEOUT", "11")
    old = make_settings(tmp_path)
    assert (old.conversation_idle_timeout, old.session_slot_ttl) == (11, 11)
    monkeypatch.setenv("CONVERSATION_IDLE_TIMEOUT", "13")
    mixed = make_settings(tmp_path)
    assert (mixed.conversation_idle_timeout, mixed.session_slot_ttl) == (13, 11)
    monkeypatch.delenv("SESSION_TIMEOUT")
    monkeypatch.setenv("SESSION_SLOT_TTL", "17")
    new = make_settings(tmp_path)
    assert (new.conversation_idle_timeout, new.session_slot_ttl) == (13, 17)


async def test_sessions_are_shared_and_counted_across_instances(
    tmp_path: Path, redis_prefix: str
) -> None:
    settings = make_settings(
        tmp_path, redis_url=REDIS_SERVER, redis_key_prefix=redis_prefix, max_concurrent_sessions=4
    )
    states = [FailoverState.from_settings(settings) for _ in range(2)]
    one, two = (SessionSlots(state, settings) for state in states)
    try:
        results = await asyncio.gather(
            *(instance.open(f"u{i}") for i in range(5) for instance in (one, two)),
            return_exceptions=True,
        )
        opened = [r for r in results if not isinstance(r, BaseException)]
        assert len(opened) == 4, "the cap holds across both instances"
        assert all(isinstance(r, ServiceBusy) for r in results if isinstance(r, BaseException))
        assert await one.active_count() == await two.active_count() == 4
        first = opened[0]
        assert (await two.get(first.id, first.user_id)).id == first.id
        await two.close(first.id, first.user_id)
        with pytest.raises(NotFound):
            await one.get(first.id, first.user_id)
    finally:
        for state in states:
            await state.close()


class CountingLLM:
    """A provider that answers the same words every time and counts its calls."""

    name = "openai"
    default_model = "counting"

    def __init__(self, finish: str = "stop") -> None:
        self.calls = 0
        self.finish = finish

    async def stream(
        self, messages: Sequence[ChatMessage], options: GenerationOptions
    ) -> AsyncIterator[Delta]:
        self.calls += 1
        for word in ("Paris ", "is ", "the ", "capital."):
            yield Delta(text=word)
        yield Delta(text="", finish_reason=self.finish, usage=Usage(5, 4))

    async def check(self) -> None:
        return None

    async def close(self) -> None:
        return None


async def collect(stream: AsyncIterator[Delta]) -> str:
    return "".join([delta.text async for delta in stream])


async def test_cache_replays_a_complete_answer(redis_prefix: str) -> None:
    backend = RedisBackend(REDIS_SERVER, prefix=redis_prefix)
    cache = ResponseCache(backend, ttl=60)
    inner = CountingLLM()
    key = cache_key("openai", "counting", 0.7, 200, "persona", "2026-01-01", "capital of France?")
    question = [ChatMessage(role="user", content="capital of France?")]
    first = cache.cached(inner, key)
    assert await collect(first.stream(question, GenerationOptions())) == "Paris is the capital."
    assert not first.hit
    second = cache.cached(inner, key)
    assert await collect(second.stream(question, GenerationOptions())) == "Paris is the capital."
    assert second.hit and inner.calls == 1
    assert await backend.get(PREFIX + key) == "Paris is the capital."
    await backend.close()


async def test_cache_skips_cut_answers_and_disabled_cache() -> None:
    backend = MemoryBackend()
    cut = CountingLLM(finish="length")
    cache = ResponseCache(backend, ttl=60)
    await collect(cache.cached(cut, "k1").stream([], GenerationOptions()))
    assert await cache.get("k1") is None
    off = ResponseCache(backend, ttl=0)
    await collect(off.cached(CountingLLM(), "k2").stream([], GenerationOptions()))
    assert await off.get("k2") is None
