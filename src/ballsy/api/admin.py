"""``/api/admin``: user and key management, state, usage and configuration (admins only),
and what the dashboard (``/admin``) draws: turn analytics, live sessions and jobs.

The whole router requires the admin role (403 otherwise); with ``AUTH_MODE=none``
the single local developer is the admin.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, ConfigDict, Field

from ballsy.admin.analytics import MAX_ROWS, TurnAnalytics, Window, analyze, window_bounds
from ballsy.admin.configuration import masked_settings
from ballsy.admin.counters import ErrorCounters, read_counters
from ballsy.admin.live import live_connections
from ballsy.api.auth import KeyCreated, KeyCreateIn, KeyOut
from ballsy.api.deps import ServicesDep, require_admin
from ballsy.api.openapi import MAX_OFFSET, ObjectId, errors
from ballsy.jobs.options import JobStatus
from ballsy.names import ClientId
from ballsy.scope import ALL_USERS
from ballsy.security.users import UserInfo
from ballsy.store.analytics_repository import TurnAnalyticsRepository
from ballsy.store.job_repository import JobRepository
from ballsy.store.repositories import UsageRepository

router = APIRouter(
    prefix="/api/admin",
    tags=["admin"],
    dependencies=[Depends(require_admin)],
    responses=errors(403, 409),
)


class UserOut(BaseModel):
    id: str
    name: str
    role: str
    active: bool
    has_password: bool
    active_keys: int
    created_at: datetime

    @classmethod
    def of(cls, user: UserInfo) -> UserOut:
        return cls(
            id=user.id,
            name=user.name,
            role=user.role,
            active=user.active,
            has_password=user.has_password,
            active_keys=user.active_keys,
            created_at=user.created_at,
        )


class UserCreateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: ClientId
    role: str = Field(default="user", max_length=5, pattern=r"^(user|admin)$")
    password: str | None = Field(default=None, min_length=10, max_length=1024)
    with_key: bool = True


class UserCreatedOut(BaseModel):
    user: UserOut
    key: KeyCreated | None


class UserUpdateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: str | None = Field(default=None, max_length=5, pattern=r"^(user|admin)$")
    active: bool | None = None
    password: str | None = Field(default=None, min_length=10, max_length=1024)


class UsageOut(BaseModel):
    user_id: str
    tokens: int
    requests: int


@router.get("/users", response_model=list[UserOut])
async def list_users(
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[UserOut]:
    return [UserOut.of(u) for u in await services.users.list_users(limit=limit, offset=offset)]


@router.post("/users", response_model=UserCreatedOut, status_code=status.HTTP_201_CREATED)
async def create_user(body: UserCreateIn, services: ServicesDep) -> UserCreatedOut:
    user = await services.users.create_user(body.name, role=body.role, password=body.password)
    key = await services.users.create_key(user.id) if body.with_key else None
    return UserCreatedOut(user=UserOut.of(user), key=KeyCreated.issued(key) if key else None)


@router.patch("/users/{user_id}", response_model=UserOut)
async def update_user(user_id: ObjectId, body: UserUpdateIn, services: ServicesDep) -> UserOut:
    user = await services.users.update_user(
        user_id, active=body.active, role=body.role, password=body.password
    )
    return UserOut.of(user)


@router.get("/users/{user_id}/keys", response_model=list[KeyOut])
async def list_user_keys(user_id: ObjectId, services: ServicesDep) -> list[KeyOut]:
    await services.users.get_user(user_id)  # 404 for an unknown user, not an empty list
    return [KeyOut.of(key) for key in await services.users.list_keys(user_id)]


@router.post(
    "/users/{user_id}/keys", response_model=KeyCreated, status_code=status.HTTP_201_CREATED
)
async def create_user_key(
    user_id: ObjectId, body: KeyCreateIn, services: ServicesDep
) -> KeyCreated:
    issued = await services.users.create_key(
        user_id, name=body.name, expires_in_days=body.expires_in_days
    )
    return KeyCreated.issued(issued)


@router.delete("/keys/{key_id}", response_model=KeyOut)
async def revoke_key(key_id: ObjectId, services: ServicesDep) -> KeyOut:
    return KeyOut.of(await services.users.revoke_key(key_id, ALL_USERS))


@router.get("/state")
async def state(services: ServicesDep) -> dict[str, Any]:
    """Which state backend serves (Redis or the in-process fallback) and active sessions."""
    return {
        "state": services.state.status(),
        "active_sessions": await services.sessions.active_count(),
        "max_concurrent_sessions": services.settings.max_concurrent_sessions,
        "auth_mode": services.settings.auth_mode,
    }


@router.get("/usage", response_model=list[UsageOut])
async def usage(services: ServicesDep) -> list[UsageOut]:
    """Tokens spent on paid LLM providers today (UTC), per user, largest first."""
    async with services.database.transaction() as session:
        rows = await UsageRepository(session).on(datetime.now(UTC).date())
    return [UsageOut(user_id=r.user_id, tokens=r.tokens, requests=r.requests) for r in rows]


@router.get("/config")
async def config(services: ServicesDep) -> dict[str, Any]:
    """The running configuration; secrets show as ``**********``, URL passwords as ***."""
    return masked_settings(services.settings)


# --- the dashboard ------------------------------------------------------------------


class SeriesPoint(BaseModel):
    start: datetime
    turns: int
    voice: int
    text: int
    interrupted: int
    sessions: int = Field(description="Conversations with a turn in this bucket.")
    users: int


class StageLatencyOut(BaseModel):
    stage: str
    count: int
    p50: float
    p90: float
    p99: float
    mean: float
    max: float


class RankedOut(BaseModel):
    name: str
    count: int


class OutcomeOut(BaseModel):
    name: str
    outcome: str
    count: int


class ErrorsOut(BaseModel):
    """Counted since this process (or the multiprocess metrics directory) started."""

    http_total: int
    http_by_class: dict[str, int]
    http_error_rate: float = Field(description="5xx answers / all answers.")
    llm: list[OutcomeOut]
    llm_failures: int
    stt: list[OutcomeOut]
    stt_failures: int
    rate_limited: dict[str, int]

    @classmethod
    def of(cls, counters: ErrorCounters) -> ErrorsOut:
        return cls(
            http_total=counters.http_total,
            http_by_class=counters.http_by_class,
            http_error_rate=counters.http_error_rate,
            llm=[OutcomeOut(name=c.name, outcome=c.outcome, count=c.count) for c in counters.llm],
            llm_failures=counters.failures("llm", "error"),
            stt=[OutcomeOut(name=c.name, outcome=c.outcome, count=c.count) for c in counters.stt],
            stt_failures=counters.failures("stt", "failure"),
            rate_limited=counters.rate_limited,
        )


class AnalyticsOut(BaseModel):
    window: Window
    since: datetime
    until: datetime
    bucket_seconds: int
    truncated: bool = Field(description=f"More than {MAX_ROWS} turns: the newest were used.")
    totals: dict[str, int]
    series: list[SeriesPoint]
    latency: list[StageLatencyOut] = Field(description="Milliseconds, per turn stage.")
    top_skills: list[RankedOut]
    top_providers: list[RankedOut]
    errors: ErrorsOut

    @classmethod
    def of(cls, window: Window, stats: TurnAnalytics, counters: ErrorCounters) -> AnalyticsOut:
        return cls(
            window=window,
            since=stats.since,
            until=stats.until,
            bucket_seconds=stats.bucket_seconds,
            truncated=stats.truncated,
            totals=stats.totals,
            series=[
                SeriesPoint(
                    start=b.start,
                    turns=b.turns,
                    voice=b.voice,
                    text=b.text,
                    interrupted=b.interrupted,
                    sessions=len(b.sessions),
                    users=len(b.users),
                )
                for b in stats.buckets
            ],
            latency=[_from(StageLatencyOut, s) for s in stats.latency],
            top_skills=[_from(RankedOut, r) for r in stats.top_skills],
            top_providers=[_from(RankedOut, r) for r in stats.top_providers],
            errors=ErrorsOut.of(counters),
        )


_Model = TypeVar("_Model", bound=BaseModel)


def _from(model: type[_Model], value: object) -> _Model:
    return model.model_validate(value, from_attributes=True)


@router.get("/analytics", response_model=AnalyticsOut)
async def analytics(services: ServicesDep, window: Window = "7d") -> AnalyticsOut:
    """Turns and conversations over time, stage latency percentiles, top skills and
    providers (from stored turns), and error counts (from this process's metrics)."""
    now = datetime.now(UTC)
    since, _, _ = window_bounds(window, now)
    async with services.database.transaction() as session:
        rows = await TurnAnalyticsRepository(session).turns_since(since, limit=MAX_ROWS + 1)
    truncated = len(rows) > MAX_ROWS
    stats = analyze(rows[:MAX_ROWS], window, now, truncated=truncated)
    return AnalyticsOut.of(window, stats, read_counters(services.settings))


class LiveConnectionOut(BaseModel):
    endpoint: str
    path: str
    user_id: str | None
    user: str | None
    auth: str | None
    client_ip: str | None
    opened_at: datetime
    seconds: float


class LiveOut(BaseModel):
    active_sessions: int = Field(description="Voice sessions holding a slot, all instances.")
    max_concurrent_sessions: int
    connections: list[LiveConnectionOut] = Field(description="This process's open sockets.")


@router.get("/live", response_model=LiveOut)
async def live(services: ServicesDep) -> LiveOut:
    """Voice sessions right now: the shared count and this instance's connections."""
    connections = [
        LiveConnectionOut(
            endpoint=c.endpoint,
            path=c.path,
            user_id=c.user_id,
            user=c.user,
            auth=c.auth,
            client_ip=c.client_ip,
            opened_at=datetime.fromtimestamp(c.opened_at, UTC),
            seconds=c.seconds,
        )
        for c in live_connections(services.connections)
    ]
    return LiveOut(
        active_sessions=await services.sessions.active_count(),
        max_concurrent_sessions=services.settings.max_concurrent_sessions,
        connections=connections,
    )


class AdminJobOut(BaseModel):
    id: str
    status: str
    filename: str
    duration: float | None
    processed_seconds: float
    fraction: float | None
    attempts: int
    error_code: str | None
    created_at: datetime
    finished_at: datetime | None


class JobsOut(BaseModel):
    counts: dict[str, int] = Field(description="Every job in the database, by status.")
    recent: list[AdminJobOut]


@router.get("/jobs", response_model=JobsOut)
async def jobs(
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    job_status: Annotated[JobStatus | None, Query(alias="status")] = None,
) -> JobsOut:
    """Transcription jobs of every user: counts by status and the newest ones."""
    async with services.database.transaction() as session:
        counts = await JobRepository(session).count_by_status()
    views = await services.jobs.list(ALL_USERS, limit=limit, status=job_status)
    recent = [
        AdminJobOut(
            id=v.id,
            status=v.status,
            filename=v.filename,
            duration=v.duration,
            processed_seconds=v.processed_seconds,
            fraction=v.fraction,
            attempts=v.attempts,
            error_code=v.error_code,
            created_at=v.created_at,
            finished_at=v.finished_at,
        )
        for v in views
    ]
    return JobsOut(counts=counts, recent=recent)
