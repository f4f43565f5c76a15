"""``s3``: S3 and S3-compatible storage (AWS, MinIO, R2…) through boto3 (``[s3]`` extra).

Credentials come from boto3's usual chain (environment, shared config, instance
role); only the endpoint and region are Ballsy settings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ballsy.config import Settings
from ballsy.errors import ConfigurationError
from ballsy.jobs.storage.base import JOB_STORAGES, JobStorage
from ballsy.jobs.storage.remote import RemoteStorage, bucket_areas


class S3Storage(RemoteStorage):
    scheme = "s3"

    def __init__(
        self,
        bucket: str,
        prefix: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        client: Any = None,
    ) -> None:
        super().__init__(bucket, prefix)
        if client is None:
            try:
                import boto3
                from botocore.config import Config
            except ImportError as exc:
                raise ConfigurationError(
                    "JOB_STORAGE=s3 needs the s3 extra: pip install 'ballsy-voice[s3]'"
                ) from exc
            # Few, quick retries: a job retries a storage outage itself, with backoff.
            # SigV4 everywhere: signed URLs then carry their expiry and signed headers
            # (an upload URL is bound to its Content-Type) in every region.
            config = Config(
                retries={"max_attempts": 2, "mode": "standard"},
                connect_timeout=5,
                signature_version="s3v4",
            )
            client = boto3.client(
                "s3", endpoint_url=endpoint_url, region_name=region, config=config
            )
        self.client = client

    def _upload_file(self, path: Path, name: str) -> None:
        self.client.upload_file(str(path), self.bucket, name)

    def _download_file(self, name: str, path: Path) -> None:
        self.client.download_file(self.bucket, name, str(path))

    def _put(self, name: str, data: bytes, content_type: str) -> None:
        self.client.put_object(Bucket=self.bucket, Key=name, Body=data, ContentType=content_type)

    def _get(self, name: str) -> bytes:
        body: bytes = self.client.get_object(Bucket=self.bucket, Key=name)["Body"].read()
        return body

    def _size(self, name: str) -> int | None:
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=name)
        except Exception as exc:
            if self._is_missing(exc):
                return None
            raise
        return int(head["ContentLength"])

    def _delete(self, name: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=name)

    def _sign(self, name: str, ttl: int) -> str:
        url: str = self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": name}, ExpiresIn=ttl
        )
        return url

    def _sign_upload(self, name: str, content_type: str, ttl: int) -> str:
        params = {"Bucket": self.bucket, "Key": name, "ContentType": content_type}
        url: str = self.client.generate_presigned_url(
            "put_object", Params=params, ExpiresIn=ttl, HttpMethod="PUT"
        )
        return url

    def _is_missing(self, exc: Exception) -> bool:
        response = getattr(exc, "response", None)
        if not isinstance(response, dict):
            return False
        code = str(response.get("Error", {}).get("Code", ""))
        return code in {"404", "NoSuchKey", "NotFound"}


def build_s3(settings: Settings) -> tuple[JobStorage, JobStorage]:
    bucket, media, outputs = bucket_areas(settings)
    endpoint, region = settings.job_s3_endpoint_url, settings.job_s3_region
    return (
        S3Storage(bucket, media, endpoint_url=endpoint, region=region),
        S3Storage(bucket, outputs, endpoint_url=endpoint, region=region),
    )


JOB_STORAGES.register("s3", build_s3, description="an S3 or S3-compatible bucket")
