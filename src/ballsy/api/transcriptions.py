"""``/api/transcriptions``: long-recording transcription jobs.

``POST`` takes a file (multipart ``file``, streamed to storage) or a ``url`` naming a
file already in the configured storage and answers ``202`` with the job; for files
too large for one request, ``POST /uploads`` gives a signed URL to put the file
straight into the bucket, and its ``url`` is then submitted; ``GET``
reads one job or lists the caller's; ``/result`` renders the transcript; ``/events``
streams progress as Server-Sent Events; ``DELETE`` cancels and frees the files.
Every route is scoped to the caller: another user's job is a 404.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import PlainTextResponse, Response, StreamingResponse
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator

from ballsy.api.deps import CurrentUser, JobsDep, SettingsDep
from ballsy.api.openapi import MAX_OFFSET, ObjectId, errors
from ballsy.api.streams import held, take_slot
from ballsy.errors import InvalidInput, NotFound, PayloadTooLarge
from ballsy.jobs.options import MEDIA_TYPES, JobOptions, JobStatus, OutputFormat, parse_formats
from ballsy.jobs.results import JobView
from ballsy.names import ClientId
from ballsy.scope import Owner

router = APIRouter(
    prefix="/api/transcriptions", tags=["transcription jobs"], responses=errors(400, 409, 507)
)
_READ_BYTES = 1024 * 1024


class JobProgress(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    fraction: float | None
    processed_seconds: float
    total_seconds: float | None = Field(validation_alias=AliasChoices("duration", "total_seconds"))
    eta_seconds: float | None
    chunks_done: int
    segments: int = Field(validation_alias=AliasChoices("segments_done", "segments"))


class JobErrorOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str | None = Field(validation_alias=AliasChoices("error_code", "code"))
    message: str = Field(validation_alias=AliasChoices("error", "message"))


class JobOut(BaseModel):
    """A job as the API shows it: its :class:`JobView`, with progress and error nested."""

    id: str
    status: JobStatus
    filename: str
    options: dict[str, Any]
    language: str | None
    progress: JobProgress
    attempts: int
    error: JobErrorOut | None
    timings: dict[str, Any]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    result_urls: dict[str, str]
    download_urls: dict[str, str]

    @model_validator(mode="before")
    @classmethod
    def _from_view(cls, data: Any) -> Any:
        """The nested parts are read from the view itself (see their aliases)."""
        if not isinstance(data, JobView):
            return data
        base = f"/api/transcriptions/{data.id}/result?format="
        return {
            **data.model_dump(exclude={"options", "error"}),
            "options": data.options.to_json(),
            "progress": data,
            "error": data if data.error else None,
            "result_urls": {fmt: base + fmt for fmt in data.options.formats},
            "download_urls": {},
        }


class DirectUploadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content_type: str = Field(
        default="application/octet-stream",
        max_length=128,
        pattern=r"^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+$",
        description="The file's media type; the PUT must send the same Content-Type.",
    )
    size: int | None = Field(
        default=None, ge=1, le=2**53, description="The file's size in bytes, if known."
    )


class DirectUploadOut(BaseModel):
    """A :class:`~ballsy.jobs.service.DirectUpload` as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    upload_url: str = Field(description="PUT the file's bytes here, with `headers`.")
    method: Literal["PUT"] = "PUT"
    headers: dict[str, str]
    url: str = Field(description="Submit this as `url` to POST /api/transcriptions.")
    expires_at: datetime
    max_bytes: int


class JobPage(BaseModel):
    items: list[JobOut]
    next_offset: int | None


async def _read(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(_READ_BYTES):
        yield chunk


@router.post("", status_code=202, response_model=JobOut)
async def create_job(
    request: Request,
    jobs: JobsDep,
    user: CurrentUser,
    file: Annotated[UploadFile | None, File(description="The recording (any format).")] = None,
    url: Annotated[
        str | None, Form(max_length=2048, description="A file already in job storage.")
    ] = None,
    model: Annotated[str | None, Form(max_length=64)] = None,
    language: Annotated[
        str | None,
        Form(max_length=4, pattern=r"^([a-z]{2,3}|auto)$", description="ISO 639-1, or auto."),
    ] = None,
    word_timestamps: Annotated[bool, Form()] = False,
    vad_filter: Annotated[bool, Form(description="Skip non-speech (recommended).")] = True,
    task: Annotated[Literal["transcribe", "translate"], Form()] = "transcribe",
    formats: Annotated[str | None, Form(max_length=64, description="e.g. srt,vtt")] = None,
    webhook_url: Annotated[str | None, Form(max_length=2048)] = None,
    filename: Annotated[
        str | None, Form(max_length=255, description="The recording's name, for a url.")
    ] = None,
    client_id: Annotated[ClientId, Form()] = "local",
) -> Response | JobOut:
    options = JobOptions(
        model=model or jobs.settings.stt_model,
        language=None if language in (None, "auto") else language,
        word_timestamps=word_timestamps,
        vad_filter=vad_filter,
        task=task,
        formats=parse_formats(formats),
    )
    if (file is None) == (url is None):
        raise InvalidInput("send either a file or a url", detail={"field": "file"})
    if file is not None:
        limit = jobs.settings.job_max_upload_bytes
        if file.size is not None and file.size > limit:
            raise PayloadTooLarge(f"the file is larger than {limit} bytes", detail={"limit": limit})
        declared = request.headers.get("content-length")
        view = await jobs.submit_upload(
            user.user_id,
            _read(file),
            filename=file.filename,
            options=options,
            webhook_url=webhook_url,
            declared_bytes=int(declared) if declared and declared.isdigit() else file.size,
        )
    else:
        assert url is not None
        view = await jobs.submit_url(
            user.user_id,
            url,
            user_name=user.name,
            options=options,
            webhook_url=webhook_url,
            filename=filename,
        )
    body = JobOut.model_validate(view)
    return Response(
        body.model_dump_json(),
        status_code=202,
        media_type="application/json",
        headers={"Location": f"/api/transcriptions/{view.id}"},
    )


@router.post("/uploads", status_code=201, response_model=DirectUploadOut, responses=errors(413))
async def create_direct_upload(
    body: DirectUploadIn, jobs: JobsDep, user: CurrentUser
) -> DirectUploadOut:
    """A signed URL to ``PUT`` one large recording straight into the job bucket (no
    request to Ballsy carries it, so a proxy's request cap — Cloud Run's 32 MiB — is no
    limit); then submit the answer's ``url``. 409 ``direct_upload_unavailable`` when
    media is on the server's own disk (``JOB_STORAGE=local``)."""
    upload = await jobs.direct_upload(user.user_id, content_type=body.content_type, size=body.size)
    return DirectUploadOut.model_validate(upload)


@router.get("", response_model=JobPage)
async def list_jobs(
    jobs: JobsDep,
    user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    status: Annotated[JobStatus | None, Query()] = None,
) -> JobPage:
    views = await jobs.list(Owner(user.user_id), limit=limit + 1, offset=offset, status=status)
    more = len(views) > limit
    return JobPage(
        items=[JobOut.model_validate(v) for v in views[:limit]],
        next_offset=offset + limit if more else None,
    )


@router.get("/{job_id}", response_model=JobOut)
async def read_job(job_id: ObjectId, jobs: JobsDep, user: CurrentUser) -> JobOut:
    view, download_urls = await jobs.get_with_downloads(Owner(user.user_id), job_id)
    return JobOut.model_validate(view).model_copy(update={"download_urls": download_urls})


@router.get("/{job_id}/result", response_class=PlainTextResponse)
async def read_result(
    job_id: ObjectId,
    jobs: JobsDep,
    user: CurrentUser,
    format: Annotated[OutputFormat, Query(description="txt | srt | vtt | json")] = "txt",
    partial: Annotated[bool, Query(description="What is finished so far, while running.")] = False,
) -> Response:
    text = await jobs.result(Owner(user.user_id), job_id, format, partial=partial)
    return Response(text, media_type=MEDIA_TYPES[format])


@router.get("/{job_id}/events", response_class=StreamingResponse)
async def job_events(
    job_id: ObjectId, jobs: JobsDep, user: CurrentUser, settings: SettingsDep
) -> StreamingResponse:
    """``progress`` events (the job as ``GET`` shows it) until the job ends (429
    ``rate_limited`` beyond ``SSE_STREAMS_PER_USER`` open streams: each polls the database)."""
    release = take_slot(user.user_id, settings.sse_streams_per_user)
    views = jobs.events(Owner(user.user_id), job_id)
    try:
        first = await anext(views)  # a 404 happens here, before the stream starts
    except BaseException:
        release()
        raise

    async def stream() -> AsyncIterator[str]:
        view: JobView | None = first
        while view is not None:
            data = JobOut.model_validate(view).model_dump(mode="json")
            yield f"event: progress\nid: {view.chunks_done}\ndata: {json.dumps(data)}\n\n"
            try:
                view = await anext(views, None)
            except NotFound:  # deleted while watched: the stream just ends
                view = None
        yield "event: end\ndata: {}\n\n"

    return StreamingResponse(
        held(stream(), release),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store"},
    )


@router.delete("/{job_id}", response_model=JobOut, responses={204: {"description": "Deleted."}})
async def cancel_job(job_id: ObjectId, jobs: JobsDep, user: CurrentUser) -> Response | JobOut:
    """Cancel a queued or running job (200, kept as cancelled) or delete a finished one
    (204); its files are freed either way."""
    view = await jobs.cancel(Owner(user.user_id), job_id)
    if view is None:
        return Response(status_code=204)
    return JobOut.model_validate(view)
