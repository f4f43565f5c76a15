"""What the admin API reads: shared state, spend, turn analytics, live sockets, jobs.

Every user's data, for admins only (the admin router requires the role); the SQL is
in the repositories, the routes only shape these answers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ballsy.admin.analytics import MAX_ROWS, TurnAnalytics, Window, analyze, window_bounds
from ballsy.admin.configuration import masked_settings
from ballsy.admin.counters import ErrorCounters, read_counters
from ballsy.admin.live import LiveConnection
from ballsy.config import Settings
from ballsy.jobs.options import JobStatus
from ballsy.jobs.results import JobView
from ballsy.jobs.service import JobService
from ballsy.scope import ALL_USERS
from ballsy.state.failover import FailoverState
from ballsy.state.sessions import SessionSlots
from ballsy.store.analytics_repository import TurnAnalyticsRepository
from ballsy.store.db import Database
from ballsy.store.job_repository import JobRepository
from ballsy.store.models import DailyUsage
from ballsy.store.repositories import UsageRepository


@dataclass(frozen=True, slots=True)
class Analytics:
    window: Window
    turns: TurnAnalytics
    errors: ErrorCounters


@dataclass(frozen=True, slots=True)
class LiveReport:
    active_sessions: int
    max_concurrent_sessions: int
    connections: list[LiveConnection]


@dataclass(frozen=True, slots=True)
class JobsReport:
    counts: dict[str, int]
    recent: list[JobView]


class AdminReports:
    def __init__(
        self,
        settings: Settings,
        database: Database,
        *,
        jobs: JobService,
        sessions: SessionSlots,
        state: FailoverState,
        live: Callable[[], list[LiveConnection]],
    ) -> None:
        self.settings = settings
        self.database = database
        self.jobs = jobs
        self.sessions = sessions
        self.state = state
        self._live = live

    async def state_report(self) -> dict[str, Any]:
        """Which state backend serves (Redis or the in-process fallback), sessions, auth."""
        return {
            "state": self.state.status(),
            "active_sessions": await self.sessions.active_count(),
            "max_concurrent_sessions": self.settings.max_concurrent_sessions,
            "auth_mode": self.settings.auth_mode,
        }

    def configuration(self) -> dict[str, Any]:
        return masked_settings(self.settings)

    async def usage_today(self) -> list[DailyUsage]:
        """Tokens spent on paid LLM providers today (UTC), per user, largest first."""
        async with self.database.transaction() as session:
            return await UsageRepository(session).on(datetime.now(UTC).date())

    async def analytics(self, window: Window) -> Analytics:
        """Stored turns over ``window`` (the newest ``MAX_ROWS``) and this process's
        error counters."""
        now = datetime.now(UTC)
        since, _, _ = window_bounds(window, now)
        async with self.database.transaction() as session:
            rows = await TurnAnalyticsRepository(session).turns_since(since, limit=MAX_ROWS + 1)
        truncated = len(rows) > MAX_ROWS
        turns = analyze(rows[:MAX_ROWS], window, now, truncated=truncated)
        return Analytics(window, turns, read_counters(self.settings))

    async def live(self) -> LiveReport:
        """The shared session count and this process's open voice sockets."""
        return LiveReport(
            active_sessions=await self.sessions.active_count(),
            max_concurrent_sessions=self.settings.max_concurrent_sessions,
            connections=self._live(),
        )

    async def jobs_report(self, *, limit: int, status: JobStatus | None) -> JobsReport:
        """Every user's jobs: counts by status and the newest ``limit``."""
        async with self.database.transaction() as session:
            counts = await JobRepository(session).count_by_status()
        recent = await self.jobs.list(ALL_USERS, limit=limit, status=status)
        return JobsReport(counts, recent)
