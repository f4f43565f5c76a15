"""The reminders skill: "remind me to call my sister at six thirty tomorrow evening".

A reminder is a due item at a moment in the user's zone (:mod:`.moments` reads it);
its subject is what is left of the request once the moment is taken out, said back in
the second person ("call your sister"). Also: "what are my reminders", "cancel my
reminder to call my sister", "cancel all reminders".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from ballsy.store.models import DueItem
from ballsy.store.personal_repository import aware

from .base import SkillContext, is_english
from .moments import find_moment, speak_moment
from .personal import PersonalReply, PersonalStore, cancel_due, reply
from .wording import as_said_back, normalise, speak_duration, speak_items, with_digits, words_of

NAME = "reminders"
MAX_UTTERANCE_CHARS = 240
MAX_SUBJECT_CHARS = 200

_SET = re.compile(
    r"^(?:remind me|(?:set|create|add|make|give me|schedule) (?:a |me a )?reminder)"
    r"(?: (?P<link>to|about|that|of|for))?\b"
)
_REMINDERS = re.compile(r"\breminders?\b")
_CANCEL = re.compile(r"^(?:cancel|delete|remove|clear|forget|drop|stop)\b")
_LIST = re.compile(r"\b(?:what|which|list|show|any|how many|tell me|read)\b")
_LINKS = re.compile(r"^(?:to|about|that|of|for)\s+|\s+(?:to|about|for)$")
_FILLER = words_of(
    "cancel delete remove clear forget drop stop my the a an all reminder reminders "
    "please to about that of for"
)


@dataclass(frozen=True, slots=True)
class SetReminder:
    subject: str
    link: str
    at: datetime | None
    relative_s: float | None = None

    async def answer(self, store: PersonalStore, now: datetime) -> PersonalReply:
        if not self.subject:
            return reply(NAME, "What should I remind you about?", action="ask")
        if self.at is None:
            return reply(NAME, f"When should I remind you {self._what()}?", action="ask")
        if self.at <= now:
            return reply(NAME, "That time has already passed.", action="refused")
        when = (
            f"in {speak_duration(self.relative_s)}"
            if self.relative_s is not None
            else speak_moment(self.at, now)
        )
        text = f"OK, I'll remind you {self._what()} {when}."
        at, label = self.at, f"{self.link} {self.subject}"

        async def schedule(store: PersonalStore) -> object:
            return await store.add_due("reminder", label, at)

        data = reply(NAME, text, action="set", at=at.isoformat(), subject=self.subject)
        return PersonalReply(data.reply, schedule)

    def _what(self) -> str:
        return f"{self.link} {as_said_back(self.subject)}"


def _speak(item: DueItem, now: datetime) -> str:
    at = aware(item.due_at).astimezone(now.tzinfo)
    return f"{as_said_back(item.label)} {speak_moment(at, now)}"


@dataclass(frozen=True, slots=True)
class ListReminders:
    async def answer(self, store: PersonalStore, now: datetime) -> PersonalReply:
        items = await store.pending("reminder")
        if not items:
            return reply(NAME, "You have no reminders.", action="list", reminders=0)
        count = "one reminder" if len(items) == 1 else f"{len(items)} reminders"
        said = speak_items([_speak(item, now) for item in items])
        return reply(NAME, f"You have {count}: {said}.", action="list", reminders=len(items))


@dataclass(frozen=True, slots=True)
class CancelReminder:
    subject: str
    every: bool

    async def answer(self, store: PersonalStore, now: datetime) -> PersonalReply:
        items = await store.pending("reminder")
        if not items:
            return reply(NAME, "You have no reminders.", action="cancel", cancelled=0)
        words = set(self.subject.split())
        chosen = (
            items
            if self.every or not words
            else [i for i in items if words <= set(i.label.split()) or self.subject in i.label]
        )
        if not chosen:
            text = f"I can't find a reminder {as_said_back(self.subject)}."
            return reply(NAME, text, action="cancel", cancelled=0)
        return cancel_due(
            NAME,
            "reminder",
            chosen,
            every=self.every,
            listed=lambda item: _speak(item, now),
            one=lambda item: f"your reminder {as_said_back(item.label)}",
        )


ReminderRequest = SetReminder | ListReminders | CancelReminder


class ReminderSkill:
    name = NAME

    def parse(self, text: str, context: SkillContext) -> ReminderRequest | None:
        if not is_english(context) or len(text) > MAX_UTTERANCE_CHARS:
            return None
        core = with_digits(normalise(text))
        start = _SET.match(core)
        if start is not None:
            return self._set(core[start.end() :].strip(), start["link"], context.now)
        if not _REMINDERS.search(core):
            return None
        if _CANCEL.search(core):
            left = [word for word in core.split() if word not in _FILLER]
            every = bool(re.search(r"\b(?:all|every)\b|\breminders\b", core)) and not left
            return CancelReminder(" ".join(left), every)
        if _LIST.search(core):
            return ListReminders()
        return None

    def _set(self, rest: str, link: str | None, now: datetime) -> SetReminder:
        moment = find_moment(rest, now)
        subject = moment.rest if moment is not None else rest
        if link is None:  # "remind me tomorrow about the dentist"
            link = subject.split(" ", 1)[0]
        subject = _LINKS.sub("", _LINKS.sub("", subject.strip())).strip()
        link = "about" if link == "about" else "to"
        return SetReminder(
            subject=subject[:MAX_SUBJECT_CHARS],
            link=link,
            at=moment.at if moment else None,
            relative_s=moment.relative_s if moment else None,
        )
