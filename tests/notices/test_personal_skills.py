"""Timers, reminders and lists through ``POST /api/command`` and the notice scheduler,
on real SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import httpx

from ballsy.notices.live import LiveListeners
from ballsy.notices.scheduler import NoticeScheduler
from ballsy.store.db import Database
from ballsy.store.models import utcnow
from ballsy.store.personal_repository import DueRepository, PersonalRepository
from ballsy.store.repositories import HistoryRepository, UserRepository


async def say(client: httpx.AsyncClient, client_id: str, text: str) -> dict[str, object]:
    response = await client.post("/api/command", json={"text": text, "client_id": client_id})
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def handler(body: dict[str, object]) -> object:
    handled = body["handled_by"]
    return handled["name"] if isinstance(handled, dict) else handled


async def test_the_three_examples_are_skills(client: httpx.AsyncClient, client_id: str) -> None:
    timer = await say(client, client_id, "set a timer for twenty five minutes")
    assert handler(timer) == "timers"
    assert timer["reply"] == "OK, 25 minute timer, starting now."
    reminder = await say(
        client, client_id, "remind me to call my sister at six thirty tomorrow evening"
    )
    assert handler(reminder) == "reminders"
    assert str(reminder["reply"]).startswith("OK, I'll remind you to call your sister tomorrow")
    added = await say(
        client, client_id, "add eggs, milk and two loaves of bread to my shopping list"
    )
    assert added["reply"] == "I added eggs, milk and two loaves of bread to your shopping list."
    read = await say(client, client_id, "what's on my shopping list")
    assert read["reply"] == ("Your shopping list has 3 items: eggs, milk and two loaves of bread.")


async def test_timers_list_left_and_cancel(client: httpx.AsyncClient, client_id: str) -> None:
    await say(client, client_id, "a timer for pasta for ten minutes")
    await say(client, client_id, "timer 90 seconds")
    listed = await say(client, client_id, "what timers do I have")
    assert str(listed["reply"]).startswith("You have 2 timers:")
    left = await say(client, client_id, "how much time is left on the pasta timer")
    assert str(left["reply"]) in (
        "Your pasta timer has 10 minutes left.",
        "Your pasta timer has 9 minutes and 59 seconds left.",
    )
    ask = await say(client, client_id, "cancel my timer")
    assert "Which one" in str(ask["reply"])
    done = await say(client, client_id, "cancel the pasta timer")
    assert done["reply"] == "OK, I cancelled your pasta timer."
    gone = await say(client, client_id, "cancel my timer")
    assert gone["reply"] == "OK, I cancelled your 1 minute 30 second timer."
    assert (await say(client, client_id, "how much time is left"))["reply"] == (
        "You have no timers."
    )


async def test_lists_are_named_and_per_user(client: httpx.AsyncClient, client_id: str) -> None:
    await say(client, client_id, "add sunscreen and a hat to the packing list")
    await say(client, client_id, "add milk to my shopping list")
    removed = await say(client, client_id, "remove the hat and socks from my packing list")
    assert removed["reply"] == "I removed hat from your packing list. Socks wasn't on it."
    packing = await say(client, client_id, "what's on my packing list")
    assert packing["reply"] == "Your packing list has one item: sunscreen."
    other = await say(client, client_id + "-other", "what's on my packing list")
    assert other["reply"] == "Your packing list is empty."
    await say(client, client_id, "clear my shopping list")
    assert (await say(client, client_id, "read my shopping list"))["reply"] == (
        "Your shopping list is empty."
    )


async def test_reminders_list_and_cancel(client: httpx.AsyncClient, client_id: str) -> None:
    await say(client, client_id, "remind me in two hours to check the oven")
    listed = await say(client, client_id, "what are my reminders")
    assert str(listed["reply"]).startswith("You have one reminder: to check the oven")
    cancelled = await say(client, client_id, "cancel my reminder to check the oven")
    assert cancelled["reply"] == "OK, I cancelled your reminder to check the oven."


async def test_days_away_and_clearing_everything(client: httpx.AsyncClient, client_id: str) -> None:
    later = await say(client, client_id, "Hey Ballsy, remind me in 3 days to call mum")
    assert later["reply"] == "OK, I'll remind you to call mum in 3 days."
    await say(client, client_id, "add eggs and milk to my shopping list")
    cleared = await say(client, client_id, "delete everything from my shopping list")
    assert cleared["reply"] == "OK, I cleared your shopping list."
    assert (await say(client, client_id, "what's on my shopping list"))["reply"] == (
        "Your shopping list is empty."
    )


class Heard:
    def __init__(self) -> None:
        self.said: list[tuple[str, str]] = []

    def announce(self, text: str, *, kind: str = "notice") -> str:
        self.said.append((kind, text))
        return "turn"


async def test_due_items_fire_once_across_schedulers_and_say_how_late(
    database: Database, client_id: str
) -> None:
    now = utcnow()
    async with database.transaction() as session:
        user = await UserRepository(session).get_or_create(client_id)
        mine = PersonalRepository(session, user.id)
        late = await mine.add_due("timer", "pasta", now - timedelta(minutes=3), 600)
        await mine.add_due("reminder", "to call my sister", now - timedelta(seconds=1))
        await mine.add_due("timer", "", now + timedelta(hours=1), 3600)
    listeners = LiveListeners()
    heard = Heard()
    listeners.register(client_id, heard)
    # Two instances sharing the database: each item fires once, whoever gets it.
    first = NoticeScheduler(database, listeners, poll_interval=1)
    second = NoticeScheduler(database, LiveListeners(), poll_interval=1)
    fired = sum([await first.fire_due(utcnow()), await second.fire_due(utcnow())])
    fired += await second.fire_due(utcnow())
    async with database.transaction() as session:
        still_due = await DueRepository(session).due_ids(utcnow(), limit=100)
        history = await HistoryRepository(session).page(user.id, limit=10)
    mine_fired = [r for r in history if r.handled_by == "notice"]
    assert len(mine_fired) == 2
    assert late.id not in still_due
    await first.deliver(utcnow())
    await first.deliver(utcnow())  # delivered once, however often it looks
    assert sorted(heard.said) == [
        ("reminder", "It's time to call your sister."),
        ("timer", "Your pasta timer finished 3 minutes ago."),
    ]
    assert fired >= 2
