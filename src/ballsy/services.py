"""The process-wide objects the lifespan builds once and every request shares."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

from ballsy.accounts.service import Accounts
from ballsy.assistant.preferences import PreferencesService
from ballsy.assistant.service import Assistant
from ballsy.config import Settings
from ballsy.jobs.service import JobService
from ballsy.llm.registry import LLMRegistry
from ballsy.notices.live import LiveListeners
from ballsy.notices.scheduler import NoticeScheduler
from ballsy.observability.logging import get_logger
from ballsy.realtime.connections import ConnectionRegistry
from ballsy.realtime.wire.penalties import OverrunPenalties
from ballsy.security.service import AuthService
from ballsy.security.spend import SpendGuard
from ballsy.speech.runtime import InferenceRuntime
from ballsy.speech.service import SpeechService
from ballsy.speech.turn_model import shared_smart_turn
from ballsy.state.cache import ResponseCache
from ballsy.state.failover import FailoverState
from ballsy.state.ratelimit import RateLimits
from ballsy.state.sessions import SessionSlots
from ballsy.store.db import Database
from ballsy.tools.box import ToolBox
from ballsy.tools.mcp import McpServers
from ballsy.tools.skills import SkillTools

log = get_logger("ballsy.services")


@dataclass(slots=True)
class Services:
    settings: Settings
    database: Database
    llms: LLMRegistry
    assistant: Assistant
    preferences: PreferencesService
    runtime: InferenceRuntime
    speech: SpeechService
    # Shared state (Redis, or in-process) and what is built on it.
    state: FailoverState
    sessions: SessionSlots
    limits: RateLimits
    auth: AuthService
    users: Accounts
    spend: SpendGuard
    # Transcription jobs; a worker runs in this process only with the embedded queue.
    jobs: JobService
    # Due timers and reminders: fired once across instances, spoken to live listeners.
    listeners: LiveListeners
    notices: NoticeScheduler
    # MCP_SERVERS, connected in the background; ``mcp.sources`` are tool sources.
    mcp: McpServers
    # Open WebSockets, closed with 1012 on shutdown (ballsy.serving tells the order).
    connections: ConnectionRegistry = field(default_factory=ConnectionRegistry)
    # Voice clients closed for flooding audio, barred from reconnecting for a while.
    overruns: OverrunPenalties = field(default_factory=OverrunPenalties)
    _preload: asyncio.Task[None] | None = field(default=None, init=False, repr=False)

    @classmethod
    def build(cls, settings: Settings) -> Services:
        database = Database(settings)
        llms = LLMRegistry(settings)
        state = FailoverState.from_settings(settings)
        limits = RateLimits(state, settings)
        spend = SpendGuard(database, settings.daily_token_limit)
        cache = ResponseCache(state, settings.ai_cache_ttl)
        runtime = InferenceRuntime.from_settings(settings)
        speech = SpeechService(settings, runtime)
        voices = {voice for engine in speech.tts_engines() for voice in speech.tts_voices(engine)}
        listeners = LiveListeners()
        # Ballsy's own skills first, then each MCP server (its tools once it connects).
        mcp = McpServers.from_settings(settings)
        tools = ToolBox.from_settings(settings, [SkillTools(database), *mcp.sources])
        return cls(
            settings=settings,
            database=database,
            llms=llms,
            assistant=Assistant(settings, database, llms, spend=spend, cache=cache, tools=tools),
            preferences=PreferencesService(settings, database, llms.names, sorted(voices)),
            runtime=runtime,
            speech=speech,
            state=state,
            sessions=SessionSlots(state, settings),
            limits=limits,
            auth=AuthService(settings, database, state, limits),
            users=Accounts(database, max_keys_per_user=settings.api_keys_per_user),
            spend=spend,
            jobs=JobService(settings, database, interactive=runtime),
            listeners=listeners,
            notices=NoticeScheduler(
                database, listeners, poll_interval=settings.notice_poll_interval
            ),
            mcp=mcp,
        )

    async def start(self) -> None:
        await self.database.migrate()
        await self.state.start()
        await self.speech.start()
        await self.jobs.start(run_worker=self.settings.runs_job_worker)
        await self.notices.start()
        await self.mcp.start()
        if self.settings.preload_models:
            # In the background: /health answers at once, the first voice turn is warm.
            self._preload = asyncio.create_task(self.preload())

    async def preload(self) -> None:
        """Load the default STT, TTS, end-of-turn model and LLM so the first conversation is
        not a cold one."""
        started = time.perf_counter()
        try:
            await self.speech.preload()
            # The end-of-turn model, so the first voice turn does not pay for loading it.
            await asyncio.to_thread(shared_smart_turn)
            await self.llms.local.warm_up()
            await self.llms.default.check()
        except Exception as exc:  # readiness reports it; serving goes on lazily
            log.warning("ballsy.models.preload_failed", error=f"{type(exc).__name__}: {exc}")
            return
        log.info("ballsy.models.preloaded", seconds=round(time.perf_counter() - started, 2))

    async def close(self) -> None:
        if self._preload is not None:
            self._preload.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._preload
        await self.notices.close()
        await self.mcp.close()
        await self.connections.close_all()
        await self.jobs.close()
        await self.speech.close()
        await self.runtime.close()
        await self.llms.close()
        await self.state.close()
        await self.database.dispose()
