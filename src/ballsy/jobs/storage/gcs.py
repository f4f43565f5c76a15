"""``gcs``: Google Cloud Storage through google-cloud-storage, the ``[gcs]`` extra.

Credentials are Application Default Credentials. Signed URLs (V4) need a key that
can sign: a service-account key file, or on Cloud Run the IAM signBlob permission.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from ballsy.config import Settings
from ballsy.errors import ConfigurationError
from ballsy.jobs.storage.base import JOB_STORAGES, JobStorage
from ballsy.jobs.storage.remote import RemoteStorage, bucket_areas


class GcsStorage(RemoteStorage):
    scheme = "gs"

    def __init__(
        self, bucket: str, prefix: str, *, project: str | None = None, client: Any = None
    ) -> None:
        super().__init__(bucket, prefix)
        if client is None:
            try:
                from google.cloud import storage
            except ImportError as exc:
                raise ConfigurationError(
                    "JOB_STORAGE=gcs needs the gcs extra: pip install 'ballsy-voice[gcs]'"
                ) from exc
            client = storage.Client(project=project)
        self.client = client
        self._bucket = client.bucket(bucket)

    def _blob(self, name: str) -> Any:
        return self._bucket.blob(name)

    def _upload_file(self, path: Path, name: str) -> None:
        self._blob(name).upload_from_filename(str(path))

    def _download_file(self, name: str, path: Path) -> None:
        self._blob(name).download_to_filename(str(path))

    def _put(self, name: str, data: bytes, content_type: str) -> None:
        self._blob(name).upload_from_string(data, content_type=content_type)

    def _get(self, name: str) -> bytes:
        data: bytes = self._blob(name).download_as_bytes()
        return data

    def _size(self, name: str) -> int | None:
        blob = self._bucket.get_blob(name)
        return None if blob is None else int(blob.size)

    def _delete(self, name: str) -> None:
        self._blob(name).delete()

    def _sign(self, name: str, ttl: int) -> str:
        url: str = self._blob(name).generate_signed_url(
            version="v4", expiration=timedelta(seconds=ttl), method="GET"
        )
        return url

    def _sign_upload(self, name: str, content_type: str, ttl: int) -> str:
        url: str = self._blob(name).generate_signed_url(
            version="v4",
            expiration=timedelta(seconds=ttl),
            method="PUT",
            content_type=content_type,
        )
        return url

    def _is_missing(self, exc: Exception) -> bool:
        return type(exc).__name__ == "NotFound" or getattr(exc, "code", None) == 404


def build_gcs(settings: Settings) -> tuple[JobStorage, JobStorage]:
    bucket, media, outputs = bucket_areas(settings)
    return (
        GcsStorage(bucket, media, project=settings.gcp_project),
        GcsStorage(bucket, outputs, project=settings.gcp_project),
    )


JOB_STORAGES.register("gcs", build_gcs, description="a Google Cloud Storage bucket")
