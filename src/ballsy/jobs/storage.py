"""Where job media and transcripts live: the storage protocol and the local backend.

Two areas per deployment: *media* (uploaded recordings) and *outputs* (rendered
transcripts). Locally they are ``MEDIA_FOLDER`` and ``OUTPUT_FOLDER``; the cloud
backends (``storage_gcs``, ``storage_s3``, optional extras) keep both in one bucket
under ``media/`` and ``outputs/``. Keys are relative, ``/``-separated paths.

Failures are typed: no room left is :class:`StorageFull` (507), anything else that
stops a read or write is :class:`StorageUnavailable` (503, and a job retries it).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path, PurePosixPath
from typing import Protocol, TypeVar

from ballsy.config import Settings
from ballsy.errors import ConfigurationError, InvalidInput, StorageFull, StorageUnavailable

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

    async def size(self, key: str) -> int | None:
        """The object's size, or None when it does not exist."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the object; a missing one is fine."""
        ...

    async def signed_url(self, key: str, ttl: int) -> str | None:
        """A time-limited download URL, or None where the API serves the file itself."""
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


class LocalStorage:
    """A directory on this machine (shared by web and workers when they share a disk)."""

    def __init__(self, root: Path, *, scheme: str, min_free_bytes: int = 0) -> None:
        self.root = root
        self.scheme = scheme
        self.min_free_bytes = min_free_bytes

    @property
    def name(self) -> str:
        return "local"

    def url_for(self, key: str) -> str:
        return f"{self.scheme}:{check_key(key)}"

    def key_from_url(self, url: str) -> str:
        prefix = f"{self.scheme}:"
        if not url.startswith(prefix):
            raise InvalidInput(
                f"the URL must name a file in this server's storage ({prefix}<path>)",
                detail={"field": "url"},
            )
        return check_key(url.removeprefix(prefix).lstrip("/"))

    def path(self, key: str) -> Path:
        return self.root / check_key(key)

    def check_room(self, expected_bytes: int) -> None:
        """Refuse early (507) when storing ``expected_bytes`` would leave too little."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            free = shutil.disk_usage(self.root).free
        except OSError as exc:
            raise storage_error(exc, "upload") from exc
        if free - expected_bytes < self.min_free_bytes:
            raise StorageFull(
                "not enough free space to store the upload",
                detail={"free_bytes": free, "needed_bytes": expected_bytes},
            )

    async def save(self, key: str, chunks: AsyncIterator[bytes], *, limit: int) -> int:
        from ballsy.errors import PayloadTooLarge

        target = self.path(key)
        # Written under a temporary name and renamed at the end, so a reader never
        # sees half a file and a failed upload leaves nothing behind.
        partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.part")
        await in_thread(lambda: target.parent.mkdir(parents=True, exist_ok=True), "upload")
        handle = await in_thread(lambda: partial.open("wb"), "upload")
        written = 0
        try:
            async for chunk in chunks:
                written += len(chunk)
                if written > limit:
                    raise PayloadTooLarge(
                        f"the file is larger than {limit} bytes", detail={"limit": limit}
                    )
                await in_thread(lambda c=chunk: handle.write(c), "upload")  # type: ignore[misc]
            await in_thread(handle.flush, "upload")
            handle.close()
            await in_thread(lambda: os.replace(partial, target), "upload")
        except BaseException:
            handle.close()
            with contextlib.suppress(OSError):
                partial.unlink()
            raise
        return written

    async def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        target = self.path(key)

        def write() -> None:
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f".{target.name}.part")
            try:
                partial.write_bytes(data)
                os.replace(partial, target)
            except OSError:
                partial.unlink(missing_ok=True)
                raise

        await in_thread(write, "transcript")

    async def get_bytes(self, key: str) -> bytes:
        return await in_thread(self.path(key).read_bytes, "transcript")

    @contextlib.asynccontextmanager
    async def local_copy(self, key: str) -> AsyncIterator[Path]:
        path = self.path(key)
        if not await asyncio.to_thread(path.is_file):
            raise FileNotFoundError(str(path))
        yield path

    async def size(self, key: str) -> int | None:
        path = self.path(key)

        def stat() -> int | None:
            try:
                return path.stat().st_size
            except FileNotFoundError:
                return None

        return await in_thread(stat, "file")

    async def delete(self, key: str) -> None:
        await in_thread(lambda: self.path(key).unlink(missing_ok=True), "file")

    async def signed_url(self, key: str, ttl: int) -> str | None:
        return None


def build_storages(settings: Settings) -> tuple[JobStorage, JobStorage]:
    """(media, outputs) for ``JOB_STORAGE``; cloud backends import their SDK here."""
    if settings.job_storage == "local":
        min_free = settings.job_min_free_mb * 1024 * 1024
        return (
            LocalStorage(settings.job_media_dir, scheme="media", min_free_bytes=min_free),
            LocalStorage(settings.job_output_dir, scheme="outputs"),
        )
    bucket = settings.job_storage_bucket
    if not bucket:
        raise ConfigurationError(f"JOB_STORAGE={settings.job_storage} needs JOB_STORAGE_BUCKET")
    prefix = settings.job_storage_prefix.strip("/")
    if settings.job_storage == "gcs":
        from ballsy.jobs.storage_gcs import GcsStorage

        return (
            GcsStorage(bucket, _join(prefix, "media"), project=settings.gcp_project),
            GcsStorage(bucket, _join(prefix, "outputs"), project=settings.gcp_project),
        )
    from ballsy.jobs.storage_s3 import S3Storage

    options = {"endpoint_url": settings.job_s3_endpoint_url, "region": settings.job_s3_region}
    return (
        S3Storage(bucket, _join(prefix, "media"), **options),
        S3Storage(bucket, _join(prefix, "outputs"), **options),
    )


def _join(prefix: str, area: str) -> str:
    return f"{prefix}/{area}" if prefix else area
