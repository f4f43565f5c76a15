"""``local``: a directory on this machine (shared by web and workers when they share
a disk): ``MEDIA_FOLDER`` and ``OUTPUT_FOLDER``."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

from ballsy.config import Settings
from ballsy.errors import InvalidInput, PayloadTooLarge, StorageFull
from ballsy.jobs.storage.base import JOB_STORAGES, JobStorage, check_key, in_thread, storage_error


class LocalStorage:
    """A directory on this machine."""

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

    def local_path(self, key: str) -> Path | None:
        return self.path(key)

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

    async def signed_upload_url(self, key: str, content_type: str, ttl: int) -> str | None:
        return None  # uploads to this machine go through the API itself


def build_local(settings: Settings) -> tuple[JobStorage, JobStorage]:
    min_free = settings.job_min_free_mb * 1024 * 1024
    return (
        LocalStorage(settings.job_media_dir, scheme="media", min_free_bytes=min_free),
        LocalStorage(settings.job_output_dir, scheme="outputs"),
    )


JOB_STORAGES.register("local", build_local, description="directories on this machine")
