"""Ballsy's skills as tools: the skills' own code answers, on real SQLite and PostgreSQL,
for the turn's user at the turn's moment."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ballsy.store.db import Database
from ballsy.store.personal_repository import PersonalRepository
from ballsy.store.repositories import UserRepository
from ballsy.tools.base import ToolContext, ToolFailed
from ballsy.tools.skills import SPECS, SkillTools
from tests.conftest import BACKENDS, make_settings

PARIS = ZoneInfo("Europe/Paris")
# A Monday afternoon in the future: the suite's PostgreSQL database is shared by apps
# whose notice schedulers fire whatever is due by the real clock.
NOW = datetime(2037, 11, 23, 15, 7, tzinfo=PARIS)


@pytest.fixture(scope="module", params=BACKENDS)
async def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, postgres_url: str
) -> AsyncIterator[Database]:
    folder: Path = tmp_path_factory.mktemp("skill-tools")
    url = postgres_url if request.param == "postgres" else None
    db = Database(make_settings(folder, url))
    await db.migrate()
    yield db
    await db.dispose()


async def _user(database: Database) -> ToolContext:
    async with database.transaction() as session:
        user = await UserRepository(session).get_or_create(f"tools-{uuid.uuid4().hex[:8]}")
    return ToolContext(user_id=user.id, now=NOW)


async def _call(database: Database, context: ToolContext, tool: str, **arguments: Any) -> str:
    return await SkillTools(database).call(tool, arguments, context)


def test_every_tool_has_an_object_schema_with_known_required_fields() -> None:
    names = [spec.name for spec in SPECS]
    assert len(names) == len(set(names))
    for spec in SPECS:
        assert spec.parameters["type"] == "object"
        assert set(spec.parameters.get("required", [])) <= set(spec.parameters["properties"])


async def test_timers(database: Database) -> None:
    me = await _user(database)
    said = await _call(database, me, "set_timer", minutes=10, label="pasta timer")
    assert said == "OK, pasta timer for 10 minutes, starting now."
    assert await _call(database, me, "set_timer", hours=1, minutes=30)
    listed = await _call(database, me, "list_timers")
    assert listed.startswith("You have 2 timers") and "pasta timer with 10 minutes left" in listed
    left = await _call(database, me, "timer_time_left", label="pasta")
    assert left == "Your pasta timer has 10 minutes left."
    assert await _call(database, me, "cancel_timer", label="pasta") == (
        "OK, I cancelled your pasta timer."
    )
    every = await _call(database, me, "cancel_timer", all=True)
    assert every == "OK, I cancelled your 1 hour 30 minute timer."
    assert await _call(database, me, "list_timers") == "You have no timers running."
    with pytest.raises(ToolFailed, match="how long"):
        await _call(database, me, "set_timer", label="tea")
    with pytest.raises(ToolFailed, match="'minutes' must be a number"):
        await _call(database, me, "set_timer", minutes="ten")


async def test_reminders_in_the_users_time(database: Database) -> None:
    me = await _user(database)
    said = await _call(
        database, me, "set_reminder", subject="call my sister", when="tomorrow at 6:30 pm"
    )
    assert said.startswith("OK, I'll remind you to call your sister tomorrow")
    assert "6:30" in said
    async with database.transaction() as session:
        (item,) = await PersonalRepository(session, me.user_id).pending("reminder")
    due = item.due_at if item.due_at.tzinfo else item.due_at.replace(tzinfo=ZoneInfo("UTC"))
    assert due.astimezone(PARIS) == datetime(2037, 11, 24, 18, 30, tzinfo=PARIS)
    iso = await _call(
        database, me, "set_reminder", subject="about the dentist", when="2037-11-27T12:00:00"
    )
    assert iso.startswith("OK, I'll remind you about the dentist")
    assert (await _call(database, me, "list_reminders")).startswith("You have 2 reminders")
    assert "cancelled" in await _call(database, me, "cancel_reminder", subject="sister")
    with pytest.raises(ToolFailed, match="could not tell when"):
        await _call(database, me, "set_reminder", subject="x", when="whenever")
    with pytest.raises(ToolFailed, match="'subject' is required"):
        await _call(database, me, "set_reminder", when="in two hours")


async def test_lists_belong_to_the_user(database: Database) -> None:
    me, other = await _user(database), await _user(database)
    said = await _call(database, me, "add_to_list", items=["Eggs", "milk"], list="shopping list")
    assert said == "I added eggs and milk to your shopping list."
    # Items said as one phrase are split as the list skill splits them.
    await _call(database, me, "add_to_list", items="socks and a hat", list="packing")
    assert await _call(database, me, "read_list", list="packing") == (
        "Your packing list has 2 items: socks and hat."
    )
    assert await _call(database, me, "remove_from_list", items=["milk"], list="shopping") == (
        "I removed milk from your shopping list."
    )
    assert await _call(database, me, "read_list", list="shopping") == (
        "Your shopping list has one item: eggs."
    )
    assert await _call(database, other, "read_list", list="shopping") == (
        "Your shopping list is empty."
    )
    assert await _call(database, me, "clear_list", list="shopping") == (
        "OK, I cleared your shopping list."
    )
    with pytest.raises(ToolFailed, match="'items' must be a list of strings"):
        await _call(database, me, "add_to_list", items=[1, 2])


async def test_math_and_time(database: Database) -> None:
    me = await _user(database)
    assert await _call(database, me, "calculate", expression="12 times 7") == "12 times 7 is 84."
    assert await _call(database, me, "calculate", expression="(3 + 4) * 2") == (
        "(3 plus 4) times 2 is 14."
    )
    with pytest.raises(ToolFailed, match="not arithmetic"):
        await _call(database, me, "calculate", expression="the meaning of life")
    assert await _call(database, me, "get_time") == (
        "It's 3:07 PM on Monday, November 23, 2037 (Europe/Paris)."
    )


async def test_a_deferred_change_waits_for_the_turn(database: Database) -> None:
    me = await _user(database)
    effects: list[Any] = []
    deferred = ToolContext(user_id=me.user_id, now=NOW, defer=effects.append)
    said = await _call(database, deferred, "set_timer", minutes=5, label="egg")
    assert said == "OK, egg timer for 5 minutes, starting now."
    assert len(effects) == 1
    assert await _call(database, me, "list_timers") == "You have no timers running."
    async with database.transaction() as session:
        await effects[0](PersonalRepository(session, me.user_id))
    assert (await _call(database, me, "list_timers")).startswith("You have one timer: egg timer")
