"""One assistant turn: skills first, else the user's LLM with their recent memory.

A turn is three steps so that the realtime engine can stream and interrupt it:
``begin`` (clean the text, load preferences and memory), ``reply`` (an async
iterator of text pieces), ``finish`` (persist what was really said). ``run`` does all
three for request/response callers; ``history`` and ``stored_turn`` read answered
turns back.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from ballsy.assistant.preferences import Preferences, resolve_preferences
from ballsy.assistant.prompt import build_prompt
from ballsy.assistant.schemas import HistoryItem, HistoryPage, Source, TurnResult
from ballsy.assistant.skills import (
    PERSONAL_SKILLS,
    Effect,
    SkillContext,
    SkillReply,
    find_personal_request,
    find_skill_reply,
)
from ballsy.assistant.text import clean_command_text
from ballsy.config import Settings
from ballsy.errors import NotFound
from ballsy.llm.base import ChatMessage, GenerationOptions, LLMProvider
from ballsy.llm.registry import LLMRegistry
from ballsy.observability import tracing
from ballsy.observability.logging import get_logger
from ballsy.observability.turns import TurnReport, TurnTimings, observe_turn
from ballsy.security.spend import SpendGuard
from ballsy.state.cache import CachedLLM, ResponseCache, cache_key
from ballsy.store.db import Database
from ballsy.store.models import CommandRecord
from ballsy.store.personal_repository import PersonalRepository
from ballsy.store.repositories import (
    ConversationRepository,
    HistoryRepository,
    SettingsRepository,
    UserRepository,
)

# Said when a model produces nothing at all, so a turn never ends in silence.
NO_ANSWER = "Sorry, I don't have an answer for that."

log = get_logger("ballsy.assistant")


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 2)


@dataclass(slots=True)
class Turn:
    """A turn in progress: everything ``reply`` and ``finish`` need."""

    user_id: str
    text: str
    source: Source
    preferences: Preferences
    prompt: list[ChatMessage]
    started: float
    now: datetime
    handled_by: Literal["skill", "llm"] = "llm"
    handler: str = ""
    model: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    # Memory or a persona of the user's own shaped the prompt: never share the answer.
    personal: bool = True
    # A personal skill's change (a timer to start), made when the turn is stored.
    effect: Effect | None = None


class Assistant:
    def __init__(
        self,
        settings: Settings,
        database: Database,
        llms: LLMRegistry,
        *,
        spend: SpendGuard | None = None,
        cache: ResponseCache | None = None,
    ) -> None:
        self.settings = settings
        self.database = database
        self.llms = llms
        self.spend = spend
        self.cache = cache
        self._zone = ZoneInfo(settings.timezone)

    async def begin(
        self,
        client_id: str,
        text: str,
        source: Source = "text",
        *,
        instructions: str | None = None,
    ) -> Turn:
        """Clean the text and load what the turn needs. ``instructions`` replaces the
        user's persona for this turn (a realtime client's session instructions)."""
        with tracing.span("ballsy.turn.prepare", source=source):
            return await self._prepare(client_id, text, source, instructions)

    async def _prepare(
        self, client_id: str, text: str, source: Source, instructions: str | None
    ) -> Turn:
        started = time.perf_counter()
        cleaned = clean_command_text(text, max_length=self.settings.max_command_length)
        async with self.database.transaction() as session:
            user = await UserRepository(session).get_or_create(client_id)
            preferences = resolve_preferences(
                self.settings, await SettingsRepository(session).get(user.id)
            )
            conversation = await ConversationRepository(session).active(
                user.id, idle_timeout=timedelta(seconds=self.settings.conversation_idle_timeout)
            )
            memory = (
                await ConversationRepository(session).memory_window(
                    conversation.id, preferences.memory_turns * 2
                )
                if conversation
                else []
            )
        now = datetime.now(self._zone)
        prompt = build_prompt(
            system_prompt=instructions or preferences.system_prompt,
            now=now,
            memory=memory,
            text=cleaned,
        )
        turn = Turn(
            user_id=user.id,
            text=cleaned,
            source=source,
            preferences=preferences,
            prompt=prompt,
            started=started,
            now=now,
            personal=bool(memory or instructions)
            or preferences.system_prompt != self.settings.default_system_prompt,
        )
        turn.timings["prepare_ms"] = _ms(started)
        return turn

    def understands(self, text: str) -> bool:
        """A built-in skill answers ``text`` as it stands (a complete command): the
        realtime engine's end-of-turn decision asks this of a speculative transcript."""
        context = SkillContext(now=datetime.now(self._zone))
        return (
            find_skill_reply(text, context) is not None
            or find_personal_request(text, context, PERSONAL_SKILLS) is not None
        )

    async def reply(self, turn: Turn) -> AsyncIterator[str]:
        """Yield the reply in pieces: one piece for a skill, token deltas for an LLM."""
        skill_start = time.perf_counter()
        skills_span = tracing.start_span("ballsy.turn.skills")
        context = SkillContext(now=turn.now, language=turn.preferences.language)
        skill_reply = find_skill_reply(turn.text, context) or await self._personal(turn, context)
        skills_span.end()
        turn.timings["skills_ms"] = _ms(skill_start)
        if skill_reply is not None:
            turn.handled_by, turn.handler, turn.data = "skill", skill_reply.skill, skill_reply.data
            yield skill_reply.text
            return
        provider = self.llms.get(turn.preferences.llm_provider)
        options = GenerationOptions(
            max_tokens=self.settings.llm_max_tokens,
            temperature=self.settings.llm_temperature,
            model=turn.preferences.llm_model,
        )
        provider = self._guarded(provider, turn, options)
        turn.handled_by, turn.handler = "llm", provider.name
        turn.model = options.model or provider.default_model
        llm_start = time.perf_counter()
        # Ended by hand: a current-context span cannot live across this generator's yields.
        llm_span = tracing.start_span("ballsy.turn.llm", provider=provider.name)
        try:
            async for delta in provider.stream(turn.prompt, options):
                if delta.text:
                    turn.timings.setdefault("llm_first_token_ms", _ms(llm_start))
                    yield delta.text
                if delta.usage:
                    turn.data["usage"] = {
                        "prompt_tokens": delta.usage.prompt_tokens,
                        "completion_tokens": delta.usage.completion_tokens,
                    }
        finally:
            llm_span.end()
        turn.timings["llm_ms"] = _ms(llm_start)
        if isinstance(provider, CachedLLM) and provider.hit:
            turn.data["cached"] = True

    async def _personal(self, turn: Turn, context: SkillContext) -> SkillReply | None:
        """Timers, reminders, lists: read the user's data now, change it in ``finish``."""
        request = find_personal_request(turn.text, context, PERSONAL_SKILLS)
        if request is None:
            return None
        async with self.database.transaction() as session:
            answered = await request.answer(PersonalRepository(session, turn.user_id), turn.now)
        turn.effect = answered.effect
        return answered.reply

    def _guarded(
        self, provider: LLMProvider, turn: Turn, options: GenerationOptions
    ) -> LLMProvider:
        """The provider as this user may call it: spend-capped if paid, cached if shareable."""
        if self.spend is not None:
            provider = self.spend.capped(provider, turn.user_id)
        if self.cache is not None and self.cache.enabled and not turn.personal:
            key = cache_key(
                provider.name,
                options.model or provider.default_model,
                options.temperature,
                options.max_tokens,
                turn.preferences.system_prompt,
                turn.now.date(),
                turn.text,
            )
            provider = self.cache.cached(provider, key)
        return provider

    async def finish(
        self,
        turn: Turn,
        reply: str,
        *,
        interrupted: bool = False,
        timings: TurnTimings | None = None,
        observe: bool = True,
    ) -> TurnResult:
        """Persist the turn: the messages for memory and a history record.

        ``timings``: the caller's measured stages (a voice turn's), completed here with
        the assistant's own (``total_ms`` too, unless the caller measured it from an
        earlier start). ``observe=False`` leaves metrics and the turn log to the
        caller's observer (the realtime engine reports every turn it ends itself).
        """
        reply = reply.strip()
        persist_start = time.perf_counter()
        turn.timings["total_ms"] = _ms(turn.started)
        caller = timings or TurnTimings()
        stored = caller.merged(
            {k: v for k, v in turn.timings.items() if k != "total_ms" or caller.total_ms is None}
        )
        with tracing.span("ballsy.turn.persist"):
            async with self.database.transaction() as session:
                conversations = ConversationRepository(session)
                conversation = await conversations.active(
                    turn.user_id,
                    idle_timeout=timedelta(seconds=self.settings.conversation_idle_timeout),
                ) or await conversations.start(turn.user_id)
                if turn.effect is not None:
                    await turn.effect(PersonalRepository(session, turn.user_id))
                said = [("user", turn.text)] + ([("assistant", reply)] if reply else [])
                await conversations.append(conversation, said)
                record = await HistoryRepository(session).add(
                    CommandRecord(
                        user_id=turn.user_id,
                        conversation_id=conversation.id,
                        source=turn.source,
                        input_text=turn.text,
                        reply_text=reply,
                        handled_by=turn.handled_by,
                        handler=turn.handler,
                        model=turn.model,
                        interrupted=interrupted,
                        data=turn.data,
                        timings=stored.as_dict(),
                    )
                )
        stored = replace(stored, persist_ms=_ms(persist_start))
        if observe:
            observe_turn(
                TurnReport(
                    source=turn.source,
                    kind=turn.handled_by,
                    handler=turn.handler,
                    status="cancelled" if interrupted else "completed",
                    timings=stored,
                    turn_id=record.id,
                    history_id=record.id,
                )
            )
        # The row's timings, and how long storing it took.
        return TurnResult.model_validate(record).model_copy(update={"timings": stored.as_dict()})

    async def remember(self, client_id: str, messages: Sequence[tuple[str, str]]) -> None:
        """Add ``(role, text)`` messages to the user's conversation memory without a turn
        (context a realtime client puts in the conversation itself)."""
        async with self.database.transaction() as session:
            user = await UserRepository(session).get_or_create(client_id)
            conversations = ConversationRepository(session)
            conversation = await conversations.active(
                user.id, idle_timeout=timedelta(seconds=self.settings.conversation_idle_timeout)
            ) or await conversations.start(user.id)
            await conversations.append(conversation, messages)

    async def amend_reply(self, user_id: str, history_id: int, reply: str) -> None:
        """A stored reply was cut short (the client says how much was played): keep only
        ``reply``, what was heard, in the history record and in the conversation memory."""
        reply = reply.strip()
        async with self.database.transaction() as session:
            record = await HistoryRepository(session).get(user_id, history_id)
            if record is None:
                raise NotFound("no turn with that id")
            if reply == record.reply_text:
                return
            if record.conversation_id and record.reply_text:
                await ConversationRepository(session).revise_last(
                    record.conversation_id, "assistant", record.reply_text, reply
                )
            record.reply_text = reply
            record.interrupted = True

    async def run(self, client_id: str, text: str, source: Source = "text") -> TurnResult:
        turn = await self.begin(client_id, text, source)
        pieces = [piece async for piece in self.reply(turn)]
        reply = "".join(pieces).strip() or NO_ANSWER
        return await self.finish(turn, reply)

    async def history(self, user_id: str, *, limit: int, before: int | None = None) -> HistoryPage:
        """The user's answered turns, newest first, ``limit`` at most (and at most
        ``HISTORY_MAX_PAGE_SIZE``), older than the id ``before``."""
        limit = min(limit, self.settings.history_max_page_size)
        async with self.database.transaction() as session:
            records = await HistoryRepository(session).page(
                user_id, limit=limit + 1, before_id=before
            )
        items = [HistoryItem.model_validate(record) for record in records[:limit]]
        more = len(records) > limit
        return HistoryPage(items=items, next_before=items[-1].id if more and items else None)

    async def stored_turn(self, user_id: str, history_id: int) -> HistoryItem:
        """One of the user's answered turns (another user's id: 404)."""
        async with self.database.transaction() as session:
            record = await HistoryRepository(session).get(user_id, history_id)
        if record is None:
            raise NotFound("no turn with that id")
        return HistoryItem.model_validate(record)
