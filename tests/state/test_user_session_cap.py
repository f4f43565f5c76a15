"""The per-user cap on open voice sessions (``MAX_SESSIONS_PER_USER``), in one process
and across instances sharing Redis."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ballsy.errors import ServiceBusy
from ballsy.state.failover import FailoverState
from ballsy.state.memory import MemoryBackend
from ballsy.state.sessions import SessionSlots
from tests.conftest import REDIS_SERVER, make_settings


def sessions_on(state: MemoryBackend, tmp_path: Path, **overrides: object) -> SessionSlots:
    return SessionSlots(state, make_settings(tmp_path, **overrides))


async def test_one_user_cannot_take_every_slot(tmp_path: Path) -> None:
    sessions = sessions_on(
        MemoryBackend(), tmp_path, max_concurrent_sessions=10, max_sessions_per_user=2
    )
    mine = [await sessions.open("alice") for _ in range(2)]
    with pytest.raises(ServiceBusy) as refused:
        await sessions.open("alice")
    assert refused.value.detail == {"limit": 2, "scope": "user"}
    assert "2 voice sessions" in refused.value.message
    # The refusal holds no server slot, and other users are not affected.
    assert await sessions.active_count() == 2
    await sessions.open("bob")
    assert await sessions.user_active_count("alice") == 2
    assert await sessions.user_active_count("bob") == 1
    # Closing one of alice's sessions lets her open another.
    await sessions.close(mine[0].id, "alice")
    assert await sessions.user_active_count("alice") == 1
    await sessions.open("alice")


async def test_the_server_cap_still_comes_first(tmp_path: Path) -> None:
    sessions = sessions_on(
        MemoryBackend(), tmp_path, max_concurrent_sessions=2, max_sessions_per_user=5
    )
    await sessions.open("alice")
    await sessions.open("bob")
    with pytest.raises(ServiceBusy) as refused:
        await sessions.open("carol")
    assert refused.value.detail == {"limit": 2}
    assert await sessions.user_active_count("carol") == 0


async def test_heartbeats_keep_the_user_slot_and_lapsed_ones_expire(tmp_path: Path) -> None:
    sessions = sessions_on(MemoryBackend(), tmp_path, max_sessions_per_user=1)
    sessions.heartbeat_ttl = 0.3  # the setting's floor is 5 s; tests need it short
    kept = await sessions.open("alice")
    for _ in range(3):
        await asyncio.sleep(0.2)
        await sessions.touch(kept.id, "alice")
    with pytest.raises(ServiceBusy):
        await sessions.open("alice")  # still held: heartbeats renewed it
    await asyncio.sleep(0.4)  # a crashed instance: no more heartbeats
    assert await sessions.user_active_count("alice") == 0
    await sessions.open("alice")


async def test_a_lapsed_slot_is_taken_again_on_heartbeat_unless_the_cap_is_full(
    tmp_path: Path,
) -> None:
    state = MemoryBackend()
    sessions = sessions_on(state, tmp_path, max_sessions_per_user=1)
    first = await sessions.open("alice")
    await state.slot_release("voice:user:alice", first.id)  # as if its TTL had passed
    await sessions.touch(first.id, "alice")
    assert await sessions.user_active_count("alice") == 1
    await state.slot_release("voice:user:alice", first.id)
    await sessions.open("alice")  # a second socket took the freed slot meanwhile
    with pytest.raises(ServiceBusy):
        await sessions.touch(first.id, "alice")
    assert await sessions.active_count() == 1, "the refused session let go of its server slot"


async def test_the_user_cap_holds_across_instances(tmp_path: Path, redis_prefix: str) -> None:
    settings = make_settings(
        tmp_path,
        redis_url=REDIS_SERVER,
        redis_key_prefix=redis_prefix,
        max_concurrent_sessions=50,
        max_sessions_per_user=3,
    )
    states = [FailoverState.from_settings(settings) for _ in range(2)]
    one, two = (SessionSlots(state, settings) for state in states)
    try:
        results = await asyncio.gather(
            *(instance.open("alice") for _ in range(5) for instance in (one, two)),
            return_exceptions=True,
        )
        opened = [r for r in results if not isinstance(r, BaseException)]
        refused = [r for r in results if isinstance(r, BaseException)]
        assert len(opened) == 3, "the per-user cap holds across both instances"
        assert all(isinstance(r, ServiceBusy) for r in refused)
        assert await one.user_active_count("alice") == await two.user_active_count("alice") == 3
        assert await two.active_count() == 3, "refused opens hold no server slot"
        await two.open("bob")
        await one.close(opened[0].id, "alice")
        await two.open("alice")
    finally:
        for state in states:
            await state.close()
