"""The job storage protocol, the helpers backends share, and the backend registry.

Two areas per deployment: *media* (uploaded recordings) and *outputs* (rendered
transcripts). Locally they are ``MEDIA_FOLDER`` and ``OUTPUT_FOLDER``; the cloud
backends (``gcs``, ``s3``, optional extras) keep both in one bucket under ``media/``
and ``outputs/``. Keys are relative, ``/``-separated paths.

Failures are typed: no room left is :class:`StorageFull` (507), anything else that
stops a read or write is :class:`StorageUnavailable` (503, and a job retries it).
"""

from __future__ import annotations

import asyncio
import errno
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path, PurePosixPath
from typing import Protocol, TypeVar

from ballsy.config import Settings
from ballsy.errors import InvalidInput, StorageFull, StorageUnavailable
from ballsy.providers import Registry

T = TypeVar("T")
_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


class JobStorage(Protocol):
    """One storage area (media or outputs)."""

    @property
    def name(self) -> str: ...

    def url_for(self, key: str) -> str:
        """The storage URL users may submit back (``gs://…``, ``s3://…``, ``media:…``)."""
        ...

    def key_from_url(self, url: str) -> str:
        """Inverse of :meth:`url_for`; :class:`InvalidInput` for a foreign URL."""
        ...

    async def save(self, key: str, chunks: AsyncIterator[bytes], *, limit: int) -> int:
        """Stream ``chunks`` into ``key``; :class:`PayloadTooLarge` past ``limit``."""
        ...

    async def put_bytes(self, key: str, data: bytes, content_type: str) -> None: ...

    async def get_bytes(self, key: str) -> bytes: ...

    def local_copy(self, key: str) -> AbstractAsyncContextManager[Path]:
        """A local file with the object's bytes for the block (remote: a temp download)."""
        ...

    def local_path(self, key: str) -> Path | None:
        """Where the object already is on this machine's disk; None for remote storage
        (reading it would mean downloading it)."""
        ...

    def check_room(self, expected_bytes: int) -> None:
        """Refuse early (507) when storing ``expected_bytes`` would leave too little room;
        storage without a known limit accepts."""
        ...

    async def size(self, key: str) -> int | None:
        """The object's size, or None when it does not exist."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the object; a missing one is fine."""
        ...

    async def signed_url(self, key: str, ttl: int) -> str | None:
        """A time-limited download URL, or None where the API serves the file itself."""
        ...

    async def signed_upload_url(self, key: str, content_type: str, ttl: int) -> str | None:
        """A time-limited URL for a client to ``PUT`` the object's bytes to, straight into the
        bucket (no Ballsy request carries them); None for storage on this machine."""
        ...


def check_key(key: str) -> str:
    """Refuse keys that could leave the storage root (``..``, absolute paths)."""
    path = PurePosixPath(key)
    if not key or path.is_absolute() or any(part in ("..", "") for part in path.parts):
        raise InvalidInput("invalid storage key", detail={"key": key})
    return path.as_posix()


def storage_error(exc: OSError, what: str) -> StorageFull | StorageUnavailable:
    if exc.errno in _NO_SPACE:
        return StorageFull(f"no space left to store the {what}", detail={"errno": exc.errno})
    return StorageUnavailable(
        f"the {what} could not be stored or read: {exc.strerror or exc}",
        detail={"errno": exc.errno},
    )


async def in_thread(fn: Callable[[], T], what: str) -> T:
    """Run a blocking storage call off the loop, mapping OS errors to typed ones."""
    try:
        return await asyncio.to_thread(fn)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise storage_error(exc, what) from exc


StorageFactory = Callable[[Settings], tuple[JobStorage, JobStorage]]
"""Builds the (media, outputs) pair of one backend from the settings."""

JOB_STORAGES: Registry[StorageFactory] = Registry("job storage", package="ballsy.jobs.storage")


def build_storages(settings: Settings) -> tuple[JobStorage, JobStorage]:
    """(media, outputs) for ``JOB_STORAGE``; cloud backends import their SDK here."""
    return JOB_STORAGES.get(settings.job_storage)(settings)
