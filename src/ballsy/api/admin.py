"""``/api/admin``: user and key management, state, usage and configuration (admins only),
and what the dashboard (``/admin``) draws: turn analytics, live sessions and jobs.

The whole router requires the admin role (403 otherwise); with ``AUTH_MODE=none``
the single local developer is the admin.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ballsy.accounts.schemas import (
    KeyCreated,
    KeyCreateIn,
    KeyOut,
    UserCreatedOut,
    UserCreateIn,
    UserOut,
    UserUpdateIn,
)
from ballsy.admin.analytics import MAX_ROWS, TurnAnalytics, Window
from ballsy.admin.counters import ErrorCounters
from ballsy.admin.reports import Analytics
from ballsy.api.deps import AccountsDep, AdminDep, require_admin
from ballsy.api.openapi import MAX_OFFSET, ObjectId, errors
from ballsy.jobs.options import JobStatus
from ballsy.scope import ALL_USERS

router = APIRouter(
    prefix="/api/admin",
    tags=["admin"],
    dependencies=[Depends(require_admin)],
    responses=errors(403, 409),
)


class UsageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    user_id: str
    tokens: int
    requests: int


@router.get("/users", response_model=list[UserOut])
async def list_users(
    accounts: AccountsDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[UserOut]:
    return await accounts.list_users(limit=limit, offset=offset)


@router.post("/users", response_model=UserCreatedOut, status_code=status.HTTP_201_CREATED)
async def create_user(body: UserCreateIn, accounts: AccountsDep) -> UserCreatedOut:
    return await accounts.register(
        body.name, role=body.role, password=body.password, with_key=body.with_key
    )


@router.patch("/users/{user_id}", response_model=UserOut)
async def update_user(user_id: ObjectId, body: UserUpdateIn, accounts: AccountsDep) -> UserOut:
    return await accounts.update_user(
        user_id, active=body.active, role=body.role, password=body.password
    )


@router.get("/users/{user_id}/keys", response_model=list[KeyOut])
async def list_user_keys(user_id: ObjectId, accounts: AccountsDep) -> list[KeyOut]:
    return await accounts.list_keys(user_id)


@router.post(
    "/users/{user_id}/keys", response_model=KeyCreated, status_code=status.HTTP_201_CREATED
)
async def create_user_key(
    user_id: ObjectId, body: KeyCreateIn, accounts: AccountsDep
) -> KeyCreated:
    return await accounts.create_key(user_id, name=body.name, expires_in_days=body.expires_in_days)


@router.delete("/keys/{key_id}", response_model=KeyOut)
async def revoke_key(key_id: ObjectId, accounts: AccountsDep) -> KeyOut:
    return await accounts.revoke_key(key_id, ALL_USERS)


@router.get("/state")
async def state(reports: AdminDep) -> dict[str, Any]:
    """Which state backend serves (Redis or the in-process fallback) and active sessions."""
    return await reports.state_report()


@router.get("/usage", response_model=list[UsageOut])
async def usage(reports: AdminDep) -> list[UsageOut]:
    """Tokens spent on paid LLM providers today (UTC), per user, largest first."""
    return [UsageOut.model_validate(row) for row in await reports.usage_today()]


@router.get("/config")
async def config(reports: AdminDep) -> dict[str, Any]:
    """The running configuration; secrets show as ``**********``, URL passwords as ***."""
    return reports.configuration()


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
    def of(cls, report: Analytics) -> AnalyticsOut:
        stats: TurnAnalytics = report.turns
        return cls(
            window=report.window,
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
            errors=ErrorsOut.of(report.errors),
        )


_Model = TypeVar("_Model", bound=BaseModel)


def _from(model: type[_Model], value: object) -> _Model:
    return model.model_validate(value, from_attributes=True)


@router.get("/analytics", response_model=AnalyticsOut)
async def analytics(reports: AdminDep, window: Window = "7d") -> AnalyticsOut:
    """Turns and conversations over time, stage latency percentiles, top skills and
    providers (from stored turns), and error counts (from this process's metrics)."""
    return AnalyticsOut.of(await reports.analytics(window))


class LiveConnectionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    endpoint: str
    path: str
    user_id: str | None
    user: str | None
    auth: str | None
    client_ip: str | None
    opened_at: datetime
    seconds: float

    @field_validator("opened_at", mode="before")
    @classmethod
    def _from_epoch(cls, value: Any) -> Any:
        return datetime.fromtimestamp(value, UTC) if isinstance(value, int | float) else value


class LiveOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    active_sessions: int = Field(description="Voice sessions holding a slot, all instances.")
    max_concurrent_sessions: int
    connections: list[LiveConnectionOut] = Field(description="This process's open sockets.")


@router.get("/live", response_model=LiveOut)
async def live(reports: AdminDep) -> LiveOut:
    """Voice sessions right now: the shared count and this instance's connections."""
    return LiveOut.model_validate(await reports.live())


class AdminJobOut(BaseModel):
    """A job in the dashboard's list: validated from the job's read schema."""

    model_config = ConfigDict(from_attributes=True)

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
    model_config = ConfigDict(from_attributes=True)

    counts: dict[str, int] = Field(description="Every job in the database, by status.")
    recent: list[AdminJobOut]


@router.get("/jobs", response_model=JobsOut)
async def jobs(
    reports: AdminDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    job_status: Annotated[JobStatus | None, Query(alias="status")] = None,
) -> JobsOut:
    """Transcription jobs of every user: counts by status and the newest ones."""
    return JobsOut.model_validate(await reports.jobs_report(limit=limit, status=job_status))
