"""SQLAlchemy 2 models: what Ballsy keeps per user.

The indexes follow the queries the repositories run: history newest-first per user,
a conversation's recent messages, a user's latest conversation.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
BigIntId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON,
        datetime: DateTime(timezone=True),
    }


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    client_id: Mapped[str] = mapped_column(String(128), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), default="user")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Argon2 (pwdlib); null for users who only ever use API keys.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True, server_default=true())
    # Bumped to revoke every refresh token the user holds (disable, password change).
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    settings: Mapped[UserSettings | None] = relationship(back_populates="user", lazy="raise")


class ApiKey(Base):
    """An API key: only its SHA-256 is kept; the key itself is shown once, at creation."""

    __tablename__ = "api_keys"
    __table_args__ = (
        UniqueConstraint("key_hash", name="uq_api_keys_key_hash"),
        Index("ix_api_keys_user_id", "user_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100), default="default")
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column()
    expires_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()


class DailyUsage(Base):
    """Tokens a user spent on paid LLM providers in one UTC day: what spend caps count."""

    __tablename__ = "daily_usage"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    requests: Mapped[int] = mapped_column(Integer, default=0)


class UserSettings(Base):
    """One row per user; a missing row means every value is the server default."""

    __tablename__ = "settings"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    voice: Mapped[str | None] = mapped_column(String(64))
    speed: Mapped[float] = mapped_column(Float, default=1.0)
    language: Mapped[str] = mapped_column(String(16), default="en")
    system_prompt: Mapped[str | None] = mapped_column(Text)
    llm_provider: Mapped[str | None] = mapped_column(String(32))
    llm_model: Mapped[str | None] = mapped_column(String(128))
    memory_turns: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship(back_populates="settings", lazy="raise")


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (Index("ix_conversations_user_updated", "user_id", "updated_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_conversation_id_desc", "conversation_id", "id"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CommandRecord(Base):
    """One answered turn: what was asked, what was replied, who answered, how long."""

    __tablename__ = "command_history"
    __table_args__ = (Index("ix_command_history_user_id_desc", "user_id", "id"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    conversation_id: Mapped[str | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL")
    )
    source: Mapped[str] = mapped_column(String(16), default="text")
    input_text: Mapped[str] = mapped_column(Text)
    reply_text: Mapped[str] = mapped_column(Text)
    handled_by: Mapped[str] = mapped_column(String(16))
    handler: Mapped[str] = mapped_column(String(64))
    model: Mapped[str | None] = mapped_column(String(128))
    interrupted: Mapped[bool] = mapped_column(default=False)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    timings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def answered_by(self) -> dict[str, str | None]:
        """``handled_by``, ``handler`` and ``model`` together: who answered the turn."""
        return {"kind": self.handled_by, "name": self.handler, "model": self.model}


class TranscriptionJob(Base):
    """A long-recording transcription: its options, where it stands, who owns it.

    The database, not the queue, is the job's truth: a worker holds a lease
    (``lease_owner`` until ``lease_expires_at``) while it runs one, and any worker may
    take over a job whose lease ran out (a crashed process). ``chunks_done`` counts the
    :class:`TranscriptionChunk` rows already written, which is where a resumed run
    starts again.
    """

    __tablename__ = "transcription_jobs"
    __table_args__ = (
        Index("ix_transcription_jobs_user_created", "user_id", "created_at"),
        Index("ix_transcription_jobs_status_due", "status", "not_before"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # queued | running | done | failed | cancelled
    status: Mapped[str] = mapped_column(String(16), default="queued")
    filename: Mapped[str] = mapped_column(String(255), default="audio")
    media_key: Mapped[str] = mapped_column(String(1024))
    # False when the media was named by URL: it is the user's file, never deleted by us.
    owns_media: Mapped[bool] = mapped_column(default=True)
    media_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    language: Mapped[str | None] = mapped_column(String(16))
    duration: Mapped[float | None] = mapped_column(Float)
    processed_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    chunks_done: Mapped[int] = mapped_column(Integer, default=0)
    segments_done: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime | None] = mapped_column()
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None] = mapped_column()
    error_code: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    webhook_url: Mapped[str | None] = mapped_column(Text)
    webhook_status: Mapped[str | None] = mapped_column(String(16))
    outputs: Mapped[dict[str, Any]] = mapped_column(default=dict)
    timings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class TranscriptionChunk(Base):
    """One finished stretch of a job's audio and its segments, written as it finishes.

    Boundaries are sample offsets at 16 kHz, so consecutive chunks meet exactly:
    ``end_sample`` of one is ``start_sample`` of the next.
    """

    __tablename__ = "transcription_chunks"

    job_id: Mapped[str] = mapped_column(
        ForeignKey("transcription_jobs.id", ondelete="CASCADE"), primary_key=True
    )
    index: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    start_sample: Mapped[int] = mapped_column(BigInteger)
    end_sample: Mapped[int] = mapped_column(BigInteger)
    segments: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookDelivery(Base):
    """A completion webhook to send (the outbox): durable until it is delivered.

    Written in the transaction that ends its job, so a job is never done without its
    webhook on record, and a restart loses none. Delivery loops claim one with a lease
    (``lease_owner`` until ``lease_expires_at``) by a conditional UPDATE, so two never
    send it at once; ``id`` is the ``X-Ballsy-Delivery`` header, the same on every
    attempt, for receivers to drop repeats. ``status``: pending | delivered | failed.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_status_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_job_id", "job_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    # No foreign key: the body is a snapshot and outlives nothing; deleting a job
    # deletes its deliveries (JobRepository.delete).
    job_id: Mapped[str] = mapped_column(String(36))
    url: Mapped[str] = mapped_column(Text)
    event: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class DueItem(Base):
    """A timer or a reminder: what is said when ``due_at`` comes, and whether it was.

    ``status`` goes ``pending`` → ``fired`` (or ``cancelled``) exactly once: the
    scheduler's conditional UPDATE on ``status = 'pending'`` is the claim, committed
    together with the notice's history record (:mod:`ballsy.notices.scheduler`).
    """

    __tablename__ = "due_items"
    __table_args__ = (
        Index("ix_due_items_status_due", "status", "due_at"),
        Index("ix_due_items_user_kind_status", "user_id", "kind", "status"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # timer | reminder
    # A timer's name ("pasta", "" for none) or what to be reminded of.
    label: Mapped[str] = mapped_column(String(200), default="")
    due_at: Mapped[datetime] = mapped_column()
    # A timer's length, to say "your 10 minute timer"; None for reminders.
    duration_s: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    fired_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UserList(Base):
    """A named list of the user's ("shopping", "packing")."""

    __tablename__ = "user_lists"
    __table_args__ = (UniqueConstraint("user_id", "name", name="uq_user_lists_user_name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ListItem(Base):
    """One entry of a :class:`UserList`, in the order it was added."""

    __tablename__ = "list_items"
    __table_args__ = (Index("ix_list_items_list_id", "list_id", "id"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    list_id: Mapped[str] = mapped_column(ForeignKey("user_lists.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
