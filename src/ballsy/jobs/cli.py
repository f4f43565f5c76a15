"""The job commands: ``ballsy worker``, ``ballsy jobs list|show|cancel|purge`` and the job
pipeline behind ``ballsy transcribe --progress`` (a Rich bar fed by the job's events).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Column, Table

from ballsy.config import Settings
from ballsy.errors import BallsyError
from ballsy.jobs.options import JobEvent, JobOptions, JobStatus, OutputFormat
from ballsy.jobs.results import JobView
from ballsy.jobs.retention import purge_expired
from ballsy.jobs.service import JobService
from ballsy.observability.logging import get_logger
from ballsy.provider_names import check_provider_names
from ballsy.scope import ALL_USERS, Owner
from ballsy.store.db import Database
from ballsy.store.models import utcnow
from ballsy.store.repositories import UserRepository

log = get_logger("ballsy.jobs.cli")
jobs_cli = typer.Typer(
    help="Transcription jobs: list, inspect, cancel, purge.", no_args_is_help=True
)
CLI_USER = "local"


async def _with_service(settings: Settings) -> tuple[Database, JobService]:
    check_provider_names(settings)
    database = Database(settings)
    await database.migrate()
    return database, JobService(settings, database)


async def _close(database: Database, service: JobService) -> None:
    await service.close()
    await database.dispose()


# --- ballsy worker ---------------------------------------------------------------------


async def run_worker(settings: Settings) -> None:
    """Run jobs until SIGTERM/SIGINT, then hand running ones back and exit."""
    database, service = await _with_service(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await service.start(run_worker=True)
        await stop.wait()
        log.info("ballsy.jobs.worker_stopping")
    finally:
        await _close(database, service)


# --- ballsy transcribe --progress ------------------------------------------------------


async def _file_chunks(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as handle:
        while chunk := await asyncio.to_thread(handle.read, 1024 * 1024):
            yield chunk


def _progress_bar(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[audio]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )


async def transcribe_as_job(
    settings: Settings, path: Path, options: JobOptions, fmt: OutputFormat, *, show: bool
) -> str:
    """Submit ``path`` as a job, run it here with a progress bar, return the transcript."""
    database, service = await _with_service(settings)
    console = Console(stderr=True)
    job_id: str | None = None
    try:
        async with database.transaction() as session:
            user = await UserRepository(session).get_or_create(CLI_USER)
        mine = Owner(user.id)
        size = await asyncio.to_thread(lambda: path.stat().st_size)
        view = await service.submit_upload(
            user.id,
            _file_chunks(path),
            filename=path.name,
            options=options,
            declared_bytes=size,
            source="cli",
            dispatch=False,  # run here, below
        )
        job_id = view.id
        with _progress_bar(console) as bar:
            task = bar.add_task(path.name, total=view.duration or None, audio="")

            def show_event(event: JobEvent) -> None:
                total = event.duration or None
                audio = f"{event.processed_seconds:,.0f}/{total or 0:,.0f} s audio"
                bar.update(task, completed=event.processed_seconds, total=total, audio=audio)

            on_event = show_event if show else None
            status = await service.run_here(job_id, on_event)
            if status is None:  # another worker on this database took it: follow it
                async for followed in service.events(mine, job_id):
                    if on_event is not None:
                        on_event(followed.event())
                    status = followed.status
            if status == "done" and show:
                done = await service.get(mine, job_id)
                bar.update(task, completed=done.duration, total=done.duration)
        final = await service.get(mine, job_id)
        if final.status != "done":
            raise BallsyError(f"the job {final.status}: {final.error or 'no reason given'}")
        return await service.result(mine, job_id, fmt)
    except (KeyboardInterrupt, asyncio.CancelledError):
        if job_id is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(service.cancel(mine, job_id))
        raise
    finally:
        await _close(database, service)


# --- ballsy jobs … ---------------------------------------------------------------------


def _run(coroutine: Coroutine[Any, Any, None]) -> None:
    try:
        asyncio.run(coroutine)
    except BallsyError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from exc


@jobs_cli.command("list")
def list_jobs(
    status: Annotated[JobStatus | None, typer.Option(help="Only jobs in this state.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
) -> None:
    """Everyone's jobs, newest first."""
    settings = Settings()

    async def _list() -> None:
        database, service = await _with_service(settings)
        try:
            views = await service.list(ALL_USERS, limit=limit, status=status)
        finally:
            await _close(database, service)
        # Ids are what `show` and `cancel` take: never shortened, whatever the width.
        table = Table(Column("id", min_width=36, no_wrap=True), *_LIST_COLUMNS)
        for view in views:
            table.add_row(view.id, *_list_row(view))
        Console().print(table)

    _run(_list())


_LIST_COLUMNS = ("status", "progress", "audio s", "file", "created", "error")


def _list_row(view: JobView) -> tuple[str, ...]:
    """The ``_LIST_COLUMNS`` of one job."""
    progress = f"{view.fraction:.0%}" if view.fraction is not None else "-"
    created = view.created_at.strftime("%Y-%m-%d %H:%M")
    return (
        view.status,
        progress,
        f"{view.duration or 0:.0f}",
        view.filename,
        created,
        view.error or "",
    )


@jobs_cli.command("show")
def show_job(job_id: Annotated[str, typer.Argument(help="Job id.")]) -> None:
    """One job as JSON."""
    settings = Settings()

    async def _show() -> None:
        database, service = await _with_service(settings)
        try:
            view = await service.get(ALL_USERS, job_id)
        finally:
            await _close(database, service)
        typer.echo(json.dumps(view.summary(), indent=2))

    _run(_show())


@jobs_cli.command("cancel")
def cancel_job(job_id: Annotated[str, typer.Argument(help="Job id.")]) -> None:
    """Cancel a queued or running job (a finished one is deleted); its files are freed."""
    settings = Settings()

    async def _cancel() -> None:
        database, service = await _with_service(settings)
        try:
            view = await service.cancel(ALL_USERS, job_id)
        finally:
            await _close(database, service)
        typer.echo(f"{job_id}: {'cancelled' if view is not None else 'deleted'}")

    _run(_cancel())


@jobs_cli.command("purge")
def purge_jobs(
    hours: Annotated[float | None, typer.Option(help="Default: JOB_RETENTION_HOURS.")] = None,
) -> None:
    """Delete finished jobs (and their files) older than the retention period."""
    settings = Settings()

    async def _purge() -> None:
        database, service = await _with_service(settings)
        try:
            count = await purge_expired(service.context, now=utcnow(), retention_hours=hours)
        finally:
            await _close(database, service)
        typer.echo(f"purged {count} job(s)")

    _run(_purge())
