"""The timers skill: set, list, cancel, and "how much time is left".

"Set a timer for twenty five minutes", "a timer for pasta for ten minutes", "timer 90
seconds", "an hour and a half", "cancel the pasta timer", "how much time is left on
the pasta timer". A timer's name is whatever few words are left once the duration and
the request's own words are taken out ("pasta"); an utterance with more left over
than a name is not a timer request and goes to the LLM ("how do I set a timer on my
phone"). Timers are due items (:mod:`ballsy.notices` says when they finish).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from ballsy.store.models import DueItem
from ballsy.store.personal_repository import aware

from .base import SkillContext, is_english
from .personal import PersonalReply, PersonalStore, cancel_due, reply
from .wording import find_duration, normalise, speak_duration, speak_items, with_digits, words_of

NAME = "timers"
MAX_UTTERANCE_CHARS = 160
MAX_LABEL_WORDS = 3
MIN_SECONDS = 1.0
MAX_SECONDS = 24 * 3600.0

_TIMER = re.compile(r"\btimers?\b")
_LEFT = re.compile(
    r"\b(?:how much (?:more )?time|how much longer|how long|time (?:is )?left|time remaining"
    r"|(?:what's|whats|what is) (?:the )?(?:time )?left(?=.*\btimers?\b))\b"
)
# Questions about timers ("how do I set a timer on my phone") are the LLM's.
_QUESTION = re.compile(r"^(?:how (?:do|does|can|could|to|would|should)|why|who|when did)\b")
_CANCEL = re.compile(r"^(?:cancel|stop|delete|remove|clear|turn off|dismiss|end|kill|reset)\b")
_LIST = re.compile(r"\b(?:what|which|list|show|any|how many|tell me)\b")
_FILLER = words_of(
    "set start create make add put new a an the my me please can could you would will "
    "for on of timer timers called named up is are there left remaining time how much "
    "long longer more do i have what which list show any many tell cancel stop delete "
    "remove clear turn off dismiss end kill reset all running with "
    # "how long until my timer goes off", "what's the time left", "time remains"
    "until till before goes go rings ring done finishes finished remains what's whats"
)


def _label(words: list[str]) -> str | None:
    """The timer's name from the words left over; None when too much is left."""
    left = [word for word in words if word not in _FILLER]
    if len(left) > MAX_LABEL_WORDS:
        return None
    return " ".join(left)


def timer_name(item: DueItem) -> str:
    """ "pasta timer", "25 minute timer"."""
    if item.label:
        return f"{item.label} timer"
    return f"{speak_duration(item.duration_s or 0, adjective=True)} timer"


def _left(item: DueItem, now: datetime) -> str:
    return speak_duration(max(1.0, (aware(item.due_at) - now).total_seconds()))


@dataclass(frozen=True, slots=True)
class SetTimer:
    seconds: float
    label: str

    async def answer(self, store: PersonalStore, now: datetime) -> PersonalReply:
        if not MIN_SECONDS <= self.seconds <= MAX_SECONDS:
            return reply(NAME, "Timers can run from 1 second to 24 hours.", action="refused")
        spoken = speak_duration(self.seconds)
        due = now + timedelta(seconds=self.seconds)
        text = (
            f"OK, {self.label} timer for {spoken}, starting now."
            if self.label
            else f"OK, {speak_duration(self.seconds, adjective=True)} timer, starting now."
        )

        async def start(store: PersonalStore) -> object:
            return await store.add_due("timer", self.label, due, self.seconds)

        done = reply(NAME, text, action="set", seconds=self.seconds, label=self.label)
        done.reply.data["due_at"] = due.isoformat()
        return PersonalReply(done.reply, start)


def _matching(timers: list[DueItem], label: str) -> list[DueItem]:
    if not label:
        return timers
    named = [t for t in timers if t.label == label]
    if named:
        return named
    by_length = find_duration(label)
    if by_length is not None:
        return [t for t in timers if t.duration_s and abs(t.duration_s - by_length[0]) < 1]
    return [t for t in timers if label in t.label or t.label in label]


@dataclass(frozen=True, slots=True)
class CancelTimer:
    label: str
    every: bool

    async def answer(self, store: PersonalStore, now: datetime) -> PersonalReply:
        timers = await store.pending("timer")
        if not timers:
            return reply(NAME, "You have no timers running.", action="cancel", cancelled=0)
        chosen = timers if self.every else _matching(timers, self.label)
        if not chosen:
            return reply(NAME, f"You have no {self.label} timer.", action="cancel", cancelled=0)
        return cancel_due(
            NAME,
            "timer",
            chosen,
            every=self.every,
            listed=timer_name,
            one=lambda timer: f"your {timer_name(timer)}",
        )


@dataclass(frozen=True, slots=True)
class TimeLeft:
    label: str

    async def answer(self, store: PersonalStore, now: datetime) -> PersonalReply:
        timers = _matching(await store.pending("timer"), self.label)
        if not timers:
            missing = f"You have no {self.label} timer." if self.label else "You have no timers."
            return reply(NAME, missing, action="left")
        said = [f"your {timer_name(t)} has {_left(t, now)} left" for t in timers]
        text = speak_items(said) + "."
        return reply(NAME, text[0].upper() + text[1:], action="left", timers=len(timers))


@dataclass(frozen=True, slots=True)
class ListTimers:
    async def answer(self, store: PersonalStore, now: datetime) -> PersonalReply:
        timers = await store.pending("timer")
        if not timers:
            return reply(NAME, "You have no timers running.", action="list", timers=0)
        said = speak_items([f"{timer_name(t)} with {_left(t, now)} left" for t in timers])
        count = "one timer" if len(timers) == 1 else f"{len(timers)} timers"
        return reply(NAME, f"You have {count}: {said}.", action="list", timers=len(timers))


TimerRequest = SetTimer | CancelTimer | TimeLeft | ListTimers


class TimerSkill:
    name = NAME

    def parse(self, text: str, context: SkillContext) -> TimerRequest | None:
        if not is_english(context) or len(text) > MAX_UTTERANCE_CHARS:
            return None
        core = with_digits(normalise(text)).replace("time's", "time is")
        timer_said = bool(_TIMER.search(core))
        if _LEFT.search(core):
            label = _label(_TIMER.sub(" ", _LEFT.sub(" ", core)).split())
            return TimeLeft(label) if label is not None and (timer_said or not label) else None
        if not timer_said or _QUESTION.search(core):
            return None
        if _CANCEL.search(core):
            label = _label(core.split())
            every = bool(re.search(r"\b(?:all|timers)\b", core))
            return CancelTimer(label, every) if label is not None else None
        found = find_duration(core)
        if found is None:
            return ListTimers() if _LIST.search(core) else None
        seconds, match = found
        label = _label((core[: match.start()] + " " + core[match.end() :]).split())
        return SetTimer(seconds, label) if label is not None else None
