"""What the cloud backends share: spooling uploads to a temp file, temp downloads.

A backend supplies a handful of blocking SDK calls; this class runs them off the
event loop and turns every SDK failure into :class:`StorageUnavailable`, so a job
retries a bucket outage instead of failing for good.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TypeVar

from ballsy.config import Settings
from ballsy.errors import ConfigurationError, InvalidInput, PayloadTooLarge, StorageUnavailable
from ballsy.jobs.storage.base import check_key, in_thread

T = TypeVar("T")


class RemoteStorage(ABC):
    """A bucket area ``<scheme>://<bucket>/<prefix>/…`` reached through an SDK."""

    scheme: str = ""

    def __init__(self, bucket: str, prefix: str) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")

    @property
    def name(self) -> str:
        return self.scheme

    def local_path(self, key: str) -> Path | None:
        return None

    def check_room(self, expected_bytes: int) -> None:
        return None  # a bucket has no free-space figure to check against

    def object_name(self, key: str) -> str:
        return f"{self.prefix}/{check_key(key)}" if self.prefix else check_key(key)

    def url_for(self, key: str) -> str:
        return f"{self.scheme}://{self.bucket}/{self.object_name(key)}"

    def key_from_url(self, url: str) -> str:
        head = f"{self.scheme}://{self.bucket}/"
        if self.prefix:
            head += self.prefix + "/"
        if not url.startswith(head):
            raise InvalidInput(f"the URL must name an object under {head}", detail={"field": "url"})
        return check_key(url.removeprefix(head))

    # --- the SDK calls a backend provides (blocking; run in a thread) -----------------

    @abstractmethod
    def _upload_file(self, path: Path, name: str) -> None: ...

    @abstractmethod
    def _download_file(self, name: str, path: Path) -> None: ...

    @abstractmethod
    def _put(self, name: str, data: bytes, content_type: str) -> None: ...

    @abstractmethod
    def _get(self, name: str) -> bytes: ...

    @abstractmethod
    def _size(self, name: str) -> int | None: ...

    @abstractmethod
    def _delete(self, name: str) -> None: ...

    @abstractmethod
    def _sign(self, name: str, ttl: int) -> str: ...

    @abstractmethod
    def _sign_upload(self, name: str, content_type: str, ttl: int) -> str:
        """A signed ``PUT`` URL for ``name``; the client must send ``Content-Type``."""

    @abstractmethod
    def _is_missing(self, exc: Exception) -> bool:
        """Whether an SDK error means "no such object"."""

    # --- the protocol ----------------------------------------------------------------

    async def _call(self, fn: Callable[[], T], what: str) -> T:
        try:
            return await in_thread(fn, what)
        except (FileNotFoundError, InvalidInput):
            raise
        except Exception as exc:
            if self._is_missing(exc):
                raise FileNotFoundError(what) from exc
            if isinstance(exc, StorageUnavailable):
                raise
            raise StorageUnavailable(
                f"{self.scheme} storage is unavailable: {type(exc).__name__}: {exc}",
                detail={"bucket": self.bucket},
            ) from exc

    async def save(self, key: str, chunks: AsyncIterator[bytes], *, limit: int) -> int:
        # Spooled to a local temp file first: the SDKs' resumable/multipart uploads
        # want a seekable file, and memory stays flat whatever the upload size.
        name = self.object_name(key)
        fd, raw = tempfile.mkstemp(prefix="ballsy-upload-")
        path = Path(raw)
        written = 0
        try:
            with os.fdopen(fd, "wb") as handle:
                async for chunk in chunks:
                    written += len(chunk)
                    if written > limit:
                        raise PayloadTooLarge(
                            f"the file is larger than {limit} bytes", detail={"limit": limit}
                        )
                    await in_thread(lambda c=chunk: handle.write(c), "upload")  # type: ignore[misc]
            await self._call(lambda: self._upload_file(path, name), "upload")
        finally:
            await asyncio.to_thread(path.unlink, missing_ok=True)
        return written

    async def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        name = self.object_name(key)
        await self._call(lambda: self._put(name, data, content_type), "transcript")

    async def get_bytes(self, key: str) -> bytes:
        name = self.object_name(key)
        return await self._call(lambda: self._get(name), "transcript")

    @contextlib.asynccontextmanager
    async def local_copy(self, key: str) -> AsyncIterator[Path]:
        name = self.object_name(key)
        directory = await asyncio.to_thread(tempfile.mkdtemp, prefix="ballsy-media-")
        path = Path(directory) / "media"
        try:
            await self._call(lambda: self._download_file(name, path), "recording")
            yield path
        finally:
            path.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                os.rmdir(directory)

    async def size(self, key: str) -> int | None:
        name = self.object_name(key)
        return await self._call(lambda: self._size(name), "file")

    async def delete(self, key: str) -> None:
        name = self.object_name(key)
        with contextlib.suppress(FileNotFoundError):
            await self._call(lambda: self._delete(name), "file")

    async def signed_url(self, key: str, ttl: int) -> str | None:
        name = self.object_name(key)
        return await self._call(lambda: self._sign(name, ttl), "signed URL")

    async def signed_upload_url(self, key: str, content_type: str, ttl: int) -> str | None:
        name = self.object_name(key)
        return await self._call(lambda: self._sign_upload(name, content_type, ttl), "upload URL")


def bucket_areas(settings: Settings) -> tuple[str, str, str]:
    """(bucket, media prefix, outputs prefix) of a bucket backend, from the settings."""
    bucket = settings.job_storage_bucket
    if not bucket:
        raise ConfigurationError(f"JOB_STORAGE={settings.job_storage} needs JOB_STORAGE_BUCKET")
    prefix = settings.job_storage_prefix.strip("/")
    return bucket, _join(prefix, "media"), _join(prefix, "outputs")


def _join(prefix: str, area: str) -> str:
    return f"{prefix}/{area}" if prefix else area
