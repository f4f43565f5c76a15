"""``/api/transcriptions``: long-recording transcription jobs.

``POST`` takes a file (multipart ``file``, streamed to storage) or a ``url`` naming a
file already in the configured storage and answers ``202`` with the job; ``GET``
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
from pydantic import BaseModel

from ballsy.api.deps import CurrentUser, ServicesDep
from ballsy.api.openapi import MAX_OFFSET, ObjectId, errors
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
    fraction: float | None
    processed_seconds: float
    total_seconds: float | None
    eta_seconds: float | None
    chunks_done: int
    segments: int


class JobErrorOut(BaseModel):
    code: str | None
    message: str


class JobOut(BaseModel):
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


class JobPage(BaseModel):
    items: list[JobOut]
    next_offset: int | None


def job_out(view: JobView, download_urls: dict[str, str] | None = None) -> JobOut:
    base = f"/api/transcriptions/{view.id}/result?format="
    return JobOut(
        id=view.id,
        status=view.status,
        filename=view.filename,
        options=view.options.to_json(),
        language=view.language,
        progress=JobProgress(
            fraction=view.fraction,
            processed_seconds=view.processed_seconds,
            total_seconds=view.duration,
            eta_seconds=view.eta_seconds,
            chunks_done=view.chunks_done,
            segments=view.segments_done,
        ),
        attempts=view.attempts,
        error=JobErrorOut(code=view.error_code, message=view.error) if view.error else None,
        timings=view.timings,
        created_at=view.created_at,
        started_at=view.started_at,
        finished_at=view.finished_at,
        result_urls={fmt: base + fmt for fmt in view.options.formats},
        download_urls=download_urls or {},
    )


async def _read(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(_READ_BYTES):
        yield chunk


@router.post("", status_code=202, response_model=JobOut)
async def create_job(
    request: Request,
    services: ServicesDep,
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
    client_id: Annotated[ClientId, Form()] = "local",
) -> Response | JobOut:
    jobs = services.jobs
    options = JobOptions(
        model=model or services.settings.stt_model,
        language=None if language in (None, "auto") else language,
        word_timestamps=word_timestamps,
        vad_filter=vad_filter,
        task=task,
        formats=parse_formats(formats),
    )
    if (file is None) == (url is None):
        raise InvalidInput("send either a file or a url", detail={"field": "file"})
    if file is not None:
        limit = services.settings.job_max_upload_bytes
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
            user.user_id, url, user_name=user.name, options=options, webhook_url=webhook_url
        )
    body = job_out(view)
    return Response(
        body.model_dump_json(),
        status_code=202,
        media_type="application/json",
        headers={"Location": f"/api/transcriptions/{view.id}"},
    )


@router.get("", response_model=JobPage)
async def list_jobs(
    services: ServicesDep,
    user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    status: Annotated[JobStatus | None, Query()] = None,
) -> JobPage:
    views = await services.jobs.list(
        Owner(user.user_id), limit=limit + 1, offset=offset, status=status
    )
    more = len(views) > limit
    return JobPage(
        items=[job_out(v) for v in views[:limit]], next_offset=offset + limit if more else None
    )


@router.get("/{job_id}", response_model=JobOut)
async def read_job(job_id: ObjectId, services: ServicesDep, user: CurrentUser) -> JobOut:
    view = await services.jobs.get(Owner(user.user_id), job_id)
    urls: dict[str, str] = {}
    if view.status == "done":
        for fmt in view.options.formats:
            signed = await services.jobs.download_url(Owner(user.user_id), job_id, fmt)
            if signed:
                urls[fmt] = signed
    return job_out(view, urls)


@router.get("/{job_id}/result", response_class=PlainTextResponse)
async def read_result(
    job_id: ObjectId,
    services: ServicesDep,
    user: CurrentUser,
    format: Annotated[OutputFormat, Query(description="txt | srt | vtt | json")] = "txt",
    partial: Annotated[bool, Query(description="What is finished so far, while running.")] = False,
) -> Response:
    text = await services.jobs.result(Owner(user.user_id), job_id, format, partial=partial)
    return Response(text, media_type=MEDIA_TYPES[format])


@router.get("/{job_id}/events", response_class=StreamingResponse)
async def job_events(
    job_id: ObjectId, services: ServicesDep, user: CurrentUser
) -> StreamingResponse:
    """``progress`` events (the job as ``GET`` shows it) until the job ends."""
    views = services.jobs.events(Owner(user.user_id), job_id)
    first = await anext(views)  # a 404 happens here, before the stream starts

    async def stream() -> AsyncIterator[str]:
        view: JobView | None = first
        while view is not None:
            data = job_out(view).model_dump(mode="json")
            yield f"event: progress\nid: {view.chunks_done}\ndata: {json.dumps(data)}\n\n"
            try:
                view = await anext(views, None)
            except NotFound:  # deleted while watched: the stream just ends
                view = None
        yield "event: end\ndata: {}\n\n"

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"}
    )


@router.delete("/{job_id}", response_model=JobOut, responses={204: {"description": "Deleted."}})
async def cancel_job(
    job_id: ObjectId, services: ServicesDep, user: CurrentUser
) -> Response | JobOut:
    """Cancel a queued or running job (200, kept as cancelled) or delete a finished one
    (204); its files are freed either way."""
    view = await services.jobs.cancel(Owner(user.user_id), job_id)
    if view is None:
        return Response(status_code=204)
    return job_out(view)
