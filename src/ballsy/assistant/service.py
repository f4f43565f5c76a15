"""One assistant turn: skills first, else the user's LLM with their recent memory.

A turn is three steps so that the realtime engine can stream and interrupt it:
``begin`` (clean the text, load preferences and memory), ``reply`` (an async
iterator of text pieces), ``finish`` (persist what was really said). ``run`` does all
three for request/response callers; ``history`` and ``stored_turn`` read answered
turns back.

A model that can call tools (``supports_tools``) is offered the allowed tools of the
:class:`~ballsy.tools.box.ToolBox` — Ballsy's skills, MCP servers — and a client's own
(``client_tools``); :class:`~ballsy.tools.loop.ToolLoop` runs Ballsy's and ends the
reply at a client's call (``Turn.client_calls``), which the client runs and sends back
as the next turn's ``continuation``.
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
from ballsy.llm.base import ChatMessage, Delta, GenerationOptions, LLMProvider, ToolCall, ToolSpec
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
from ballsy.tools.base import ToolContext
from ballsy.tools.box import ToolBox
from ballsy.tools.loop import ToolLoop, offered_tools

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
    # Functions the client runs itself, offered to the model beside Ballsy's tools.
    client_tools: tuple[ToolSpec, ...] = ()
    # After the user's text: the assistant's calls of the client's tools and their
    # results (``tool`` messages), for the turn that goes on once the client ran them.
    continuation: tuple[ChatMessage, ...] = ()
    # The client's tools the model called: the reply ended there, the client runs them.
    client_calls: tuple[ToolCall, ...] = ()
    # The changes Ballsy's own tools made in this turn, applied with ``effect``.
    tool_effects: list[Effect] = field(default_factory=list)


class Assistant:
    def __init__(
        self,
        settings: Settings,
        database: Database,
        llms: LLMRegistry,
        *,
        spend: SpendGuard | None = None,
        cache: ResponseCache | None = None,
        tools: ToolBox | None = None,
    ) -> None:
        self.settings = settings
        self.database = database
        self.llms = llms
        self.spend = spend
        self.cache = cache
        self.tools = tools or ToolBox([], allowed=())
        self._zone = ZoneInfo(settings.timezone)

    async def begin(
        self,
        client_id: str,
        text: str,
        source: Source = "text",
        *,
        instructions: str | None = None,
        client_tools: Sequence[ToolSpec] = (),
        continuation: Sequence[ChatMessage] = (),
    ) -> Turn:
        """Clean the text and load what the turn needs. ``instructions`` replaces the
        user's persona for this turn (a realtime client's session instructions).

        ``client_tools``: functions the client runs, offered to the model beside
        Ballsy's; when the model calls one the reply ends and ``Turn.client_calls``
        holds the calls. ``continuation``: the turn going on after the client ran them
        — the same user ``text``, then the assistant message with those ``tool_calls``
        and one ``tool`` message per result. A continuation is never answered by a
        skill, and storing it adds only the reply to memory (the user's words are
        there from the turn that made the calls). Finish every turn, one that ended
        at client calls too: the changes Ballsy's own tools made are stored then."""
        with tracing.span("ballsy.turn.prepare", source=source):
            turn = await self._prepare(client_id, text, source, instructions, continuation)
        turn.client_tools = tuple(client_tools)
        return turn

    async def _prepare(
        self,
        client_id: str,
        text: str,
        source: Source,
        instructions: str | None,
        continuation: Sequence[ChatMessage] = (),
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
        if continuation and memory and (memory[-1].role, memory[-1].content) == ("user", cleaned):
            memory = memory[:-1]  # the turn that made the calls stored the user's words
        now = datetime.now(self._zone)
        prompt = build_prompt(
            system_prompt=instructions or preferences.system_prompt,
            now=now,
            memory=memory,
            text=cleaned,
        ) + list(continuation)
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
            continuation=tuple(continuation),
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
        if not turn.continuation:
            skill_reply = await self._skill_reply(turn)
            if skill_reply is not None:
                turn.handled_by, turn.handler = "skill", skill_reply.skill
                turn.data = skill_reply.data
                yield skill_reply.text
                return
        provider = self.llms.get(turn.preferences.llm_provider)
        options = GenerationOptions(
            max_tokens=self.settings.llm_max_tokens,
            temperature=self.settings.llm_temperature,
            model=turn.preferences.llm_model,
        )
        tools = self._offered(provider, turn)
        # A shared answer may be replayed when the model answered without calling a tool
        # (CachedLLM caches a turn's first call only, and only when it ended in words);
        # a client's tools make the turn the client's own.
        provider = self._guarded(
            provider, turn, options, tools=tools, cacheable=not turn.client_tools
        )
        turn.handled_by, turn.handler = "llm", provider.name
        turn.model = options.model or provider.default_model
        loop = (
            ToolLoop(provider, self.tools, self._tool_context(turn), client_tools=turn.client_tools)
            if tools
            else None
        )
        llm_start = time.perf_counter()
        # Ended by hand: a current-context span cannot live across this generator's yields.
        llm_span = tracing.start_span("ballsy.turn.llm", provider=provider.name)
        deltas: AsyncIterator[Delta] = (
            loop.stream(turn.prompt, options) if loop else provider.stream(turn.prompt, options)
        )
        try:
            async for delta in deltas:
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
            if loop is not None:
                self._record_tools(turn, loop)
        turn.timings["llm_ms"] = _ms(llm_start)
        if isinstance(provider, CachedLLM) and provider.hit:
            turn.data["cached"] = True

    async def _skill_reply(self, turn: Turn) -> SkillReply | None:
        skill_start = time.perf_counter()
        skills_span = tracing.start_span("ballsy.turn.skills")
        context = SkillContext(now=turn.now, language=turn.preferences.language)
        try:
            return find_skill_reply(turn.text, context) or await self._personal(turn, context)
        finally:
            skills_span.end()
            turn.timings["skills_ms"] = _ms(skill_start)

    def _offered(self, provider: LLMProvider, turn: Turn) -> tuple[ToolSpec, ...]:
        """The tools this turn's model is offered: none to a model that cannot use them."""
        if not provider.supports_tools:
            return ()
        return offered_tools(self.tools.specs(), turn.client_tools)

    def _tool_context(self, turn: Turn) -> ToolContext:
        return ToolContext(
            user_id=turn.user_id,
            now=turn.now,
            language=turn.preferences.language,
            defer=turn.tool_effects.append,
        )

    @staticmethod
    def _record_tools(turn: Turn, loop: ToolLoop) -> None:
        turn.client_calls = loop.client_calls
        if loop.results:
            turn.timings["tools_ms"] = loop.tools_ms
            turn.data["tools"] = [
                {"source": r.source, "tool": r.call.name, "outcome": r.outcome}
                for r in loop.results
            ]
        if loop.client_calls:
            turn.data["client_calls"] = [call.name for call in loop.client_calls]

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
        self,
        provider: LLMProvider,
        turn: Turn,
        options: GenerationOptions,
        *,
        tools: Sequence[ToolSpec],
        cacheable: bool,
    ) -> LLMProvider:
        """The provider as this user may call it: spend-capped if paid, cached if shareable."""
        if self.spend is not None:
            provider = self.spend.capped(provider, turn.user_id)
        if cacheable and self.cache is not None and self.cache.enabled and not turn.personal:
            key = cache_key(
                provider.name,
                options.model or provider.default_model,
                options.temperature,
                options.max_tokens,
                turn.preferences.system_prompt,
                turn.now.date(),
                turn.text,
                sorted(spec.name for spec in tools),
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
                for effect in [turn.effect, *turn.tool_effects]:
                    if effect is not None:
                        await effect(PersonalRepository(session, turn.user_id))
                # A continuation's user words were stored by the turn that made the calls.
                asked = [] if turn.continuation else [("user", turn.text)]
                said = asked + ([("assistant", reply)] if reply else [])
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
