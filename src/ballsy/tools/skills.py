"""Ballsy's own skills as tools (the ``ballsy`` source): timers, reminders, lists, math,
the time.

A skill still answers first, without the LLM, when the words match its phrasings;
these tools are for what the model decides — a request said in a way the parsers do
not take ("could you make sure I don't forget the oven in a quarter of an hour"). Each
tool builds the same typed request a skill's parser would and answers it with the
skill's own code, for the turn's user at the turn's moment, so the model reads the
reply the skill would have spoken ("OK, pasta timer for 10 minutes, starting now.").

A tool's change is made at once, in its own transaction, as any tool's action is (an
MCP server's lights go off when called too); a skill's reply, by contrast, changes the
data when its turn is stored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from ballsy.assistant.skills import MathSkill, SkillContext
from ballsy.assistant.skills.clock import speak_date, speak_time
from ballsy.assistant.skills.lists import (
    AddItems,
    ClearList,
    ReadList,
    RemoveItems,
    list_name,
    split_items,
)
from ballsy.assistant.skills.moments import find_moment
from ballsy.assistant.skills.personal import PersonalRequest
from ballsy.assistant.skills.reminders import (
    MAX_SUBJECT_CHARS,
    CancelReminder,
    ListReminders,
    SetReminder,
)
from ballsy.assistant.skills.timers import CancelTimer, ListTimers, SetTimer, TimeLeft
from ballsy.assistant.skills.wording import normalise, with_digits
from ballsy.llm.base import ToolSpec
from ballsy.store.db import Database
from ballsy.store.personal_repository import PersonalRepository
from ballsy.tools.base import ToolContext, ToolFailed

SOURCE = "ballsy"
_NAME_CHARS = 60

_STRING = {"type": "string"}
_LABEL = {"type": "string", "description": "The timer's name, e.g. 'pasta' (optional)."}
_LIST = {
    "type": "string",
    "description": "The list's name without the word 'list', e.g. 'shopping', 'packing' "
    "(optional: the user's only list, or the shopping list).",
}
_ITEMS = {"type": "array", "items": _STRING, "description": "The items, as the user said them."}
_ALL = {"type": "boolean", "description": "Every one of them."}


def _object(properties: Mapping[str, Any], required: Sequence[str] = ()) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": dict(properties)}
    if required:
        schema["required"] = list(required)
    return schema


SPECS: tuple[ToolSpec, ...] = (
    ToolSpec("get_time", "The current time and date where the user is.", _object({})),
    ToolSpec(
        "calculate",
        "Work out an arithmetic expression exactly (digits or words: '12 times 7', "
        "'(3 + 4) squared', 'the square root of 81').",
        _object({"expression": _STRING}, ["expression"]),
    ),
    ToolSpec(
        "set_timer",
        "Start a countdown timer for the user; it rings when done.",
        _object(
            {
                "hours": {"type": "number"},
                "minutes": {"type": "number"},
                "seconds": {"type": "number"},
                "label": _LABEL,
            }
        ),
    ),
    ToolSpec("list_timers", "The user's running timers and the time left on each.", _object({})),
    ToolSpec(
        "timer_time_left",
        "How much time is left on a timer.",
        _object({"label": _LABEL}),
    ),
    ToolSpec(
        "cancel_timer",
        "Cancel a running timer, by its name, or all of them.",
        _object({"label": _LABEL, "all": _ALL}),
    ),
    ToolSpec(
        "set_reminder",
        "Remind the user of something at a time: said when it is due.",
        _object(
            {
                "subject": {
                    "type": "string",
                    "description": "What to remind of, as the user said it: 'call my sister'.",
                },
                "when": {
                    "type": "string",
                    "description": "When, in the user's words ('tomorrow at 6:30 pm', 'in "
                    "two hours', 'on Friday at noon') or as ISO 8601 local time.",
                },
            },
            ["subject", "when"],
        ),
    ),
    ToolSpec("list_reminders", "The user's upcoming reminders.", _object({})),
    ToolSpec(
        "cancel_reminder",
        "Cancel a reminder, by what it is about, or all of them.",
        _object({"subject": _STRING, "all": _ALL}),
    ),
    ToolSpec(
        "add_to_list",
        "Add items to one of the user's lists (shopping, packing, to do …).",
        _object({"items": _ITEMS, "list": _LIST}, ["items"]),
    ),
    ToolSpec(
        "remove_from_list",
        "Take items off one of the user's lists.",
        _object({"items": _ITEMS, "list": _LIST}, ["items"]),
    ),
    ToolSpec("read_list", "What is on one of the user's lists.", _object({"list": _LIST})),
    ToolSpec("clear_list", "Empty one of the user's lists.", _object({"list": _LIST})),
)


def _text(arguments: Mapping[str, Any], name: str, *, required: bool = False) -> str:
    value = arguments.get(name)
    if value is None or value == "":
        if required:
            raise ToolFailed(f"'{name}' is required")
        return ""
    if not isinstance(value, str):
        raise ToolFailed(f"'{name}' must be a string")
    return " ".join(value.split())


def _number(arguments: Mapping[str, Any], name: str) -> float:
    value = arguments.get(name)
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ToolFailed(f"'{name}' must be a number")
    return float(value)


def _flag(arguments: Mapping[str, Any], name: str) -> bool:
    value = arguments.get(name, False)
    if not isinstance(value, bool):
        raise ToolFailed(f"'{name}' must be true or false")
    return value


def _items(arguments: Mapping[str, Any]) -> tuple[str, ...]:
    value = arguments.get("items")
    # A model that writes the items as one phrase gets them split as a skill would.
    said = [value] if isinstance(value, str) else value
    if not isinstance(said, list) or not all(isinstance(item, str) for item in said):
        raise ToolFailed("'items' must be a list of strings")
    items = tuple(dict.fromkeys(part for item in said for part in split_items(item.lower())))
    if not items:
        raise ToolFailed("no items given")
    return items


def _list(arguments: Mapping[str, Any]) -> str | None:
    name = normalise(_text(arguments, "list"))
    name = name.removesuffix(" list").removeprefix("my ").removeprefix("the ").strip()
    return list_name(name[:_NAME_CHARS] or None)


def _label(arguments: Mapping[str, Any]) -> str:
    label = normalise(_text(arguments, "label")).removesuffix(" timer").removesuffix("timer")
    return label.strip()[:_NAME_CHARS]


def _moment(when: str, now: datetime) -> tuple[datetime, float | None]:
    found = find_moment(with_digits(normalise(when)), now)
    if found is not None:
        return found.at, found.relative_s
    try:
        at = datetime.fromisoformat(when)
    except ValueError:
        raise ToolFailed(f"I could not tell when {when!r} is") from None
    return (at if at.tzinfo else at.replace(tzinfo=now.tzinfo)), None


def _set_timer(arguments: Mapping[str, Any], now: datetime) -> SetTimer:
    seconds = (
        _number(arguments, "hours") * 3600
        + _number(arguments, "minutes") * 60
        + _number(arguments, "seconds")
    )
    if seconds <= 0:
        raise ToolFailed("say how long the timer runs (hours, minutes or seconds)")
    return SetTimer(seconds, _label(arguments))


def _time_left(arguments: Mapping[str, Any], now: datetime) -> TimeLeft:
    return TimeLeft(_label(arguments))


def _cancel_timer(arguments: Mapping[str, Any], now: datetime) -> CancelTimer:
    return CancelTimer(_label(arguments), _flag(arguments, "all"))


def _set_reminder(arguments: Mapping[str, Any], now: datetime) -> SetReminder:
    subject = _text(arguments, "subject", required=True)
    link = "to"
    for word in ("about", "to"):
        if subject.lower().startswith(word + " "):
            link, subject = word, subject[len(word) + 1 :]
    at, relative_s = _moment(_text(arguments, "when", required=True), now)
    return SetReminder(
        subject=normalise(subject)[:MAX_SUBJECT_CHARS], link=link, at=at, relative_s=relative_s
    )


def _cancel_reminder(arguments: Mapping[str, Any], now: datetime) -> CancelReminder:
    subject = normalise(_text(arguments, "subject"))
    every = _flag(arguments, "all")
    if not subject and not every:
        raise ToolFailed("say which reminder, or all")
    return CancelReminder(subject, every)


_Parse = Callable[[Mapping[str, Any], datetime], PersonalRequest]
PERSONAL_TOOLS: dict[str, _Parse] = {
    "set_timer": _set_timer,
    "list_timers": lambda arguments, now: ListTimers(),
    "timer_time_left": _time_left,
    "cancel_timer": _cancel_timer,
    "set_reminder": _set_reminder,
    "list_reminders": lambda arguments, now: ListReminders(),
    "cancel_reminder": _cancel_reminder,
    "add_to_list": lambda arguments, now: AddItems(_list(arguments), _items(arguments)),
    "remove_from_list": lambda arguments, now: RemoveItems(_list(arguments), _items(arguments)),
    "read_list": lambda arguments, now: ReadList(_list(arguments)),
    "clear_list": lambda arguments, now: ClearList(_list(arguments)),
}


class SkillTools:
    """The ``ballsy`` tool source: the skills' requests, answered for the turn's user."""

    name = SOURCE

    def __init__(self, database: Database) -> None:
        self.database = database

    def specs(self) -> Sequence[ToolSpec]:
        return SPECS

    async def call(self, tool: str, arguments: Mapping[str, Any], context: ToolContext) -> str:
        if tool == "get_time":
            now = context.now
            return f"It's {speak_time(now)} on {speak_date(now)} ({now.tzinfo})."
        if tool == "calculate":
            return self._calculate(_text(arguments, "expression", required=True), context)
        parse = PERSONAL_TOOLS.get(tool)
        if parse is None:
            raise ToolFailed(f"there is no tool {tool!r}")
        request = parse(arguments, context.now)
        async with self.database.transaction() as session:
            store = PersonalRepository(session, context.user_id)
            answered = await request.answer(store, context.now)
            if answered.effect is not None:
                await answered.effect(store)
        return answered.reply.text

    @staticmethod
    def _calculate(expression: str, context: ToolContext) -> str:
        # The math skill answers English; the expression is the model's, whatever the
        # user's language.
        skill_context = SkillContext(now=context.now)
        reply = MathSkill().answer(expression, skill_context)
        if reply is None:
            raise ToolFailed(f"{expression!r} is not arithmetic I can work out")
        return reply.text
