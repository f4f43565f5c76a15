"""The ``ballsy`` command: serve, migrate, and the offline tools."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar, get_args

import typer

from ballsy.accounts.cli import users_cli
from ballsy.capacity.cli import bench_cli, plan
from ballsy.config import ServerRole, Settings
from ballsy.errors import BallsyError
from ballsy.jobs.cli import jobs_cli
from ballsy.store.db import Database

T = TypeVar("T")
# The CLI reads a local file the user chose, so it gets a far larger cap than uploads.
CLI_MAX_AUDIO_SECONDS = 4 * 3600.0

cli = typer.Typer(help="Ballsy voice assistant server.", no_args_is_help=True)
cli.add_typer(users_cli, name="users")
cli.add_typer(jobs_cli, name="jobs")
cli.add_typer(bench_cli, name="bench")
cli.command()(plan)


@cli.command()
def serve(
    host: str | None = typer.Option(
        None, help="Bind address (default: HOST, else 127.0.0.1 with AUTH_MODE=none, 0.0.0.0)."
    ),
    port: int | None = typer.Option(None, help="Port (default: PORT or 8080)."),
    role: str | None = typer.Option(
        None,
        help="api | realtime | wyoming | all: what is served (default: SERVER_ROLE or all).",
    ),
) -> None:
    """Start the HTTP and WebSocket server (and Wyoming when WYOMING_PORT is set)."""
    settings = Settings()
    if host:
        settings.host = host
    if port:
        settings.port = port
    if role:
        if role not in get_args(ServerRole):
            raise typer.BadParameter(
                "role must be api, realtime, wyoming or all", param_hint="--role"
            )
        settings.server_role = role  # type: ignore[assignment]
    problems = settings.bind_problems()
    if problems:
        typer.echo(f"error: {'; '.join(problems)}", err=True)
        raise typer.Exit(2)
    _serve(settings)


@cli.command()
def wyoming(
    host: str | None = typer.Option(None, help="Wyoming bind address (default: WYOMING_HOST)."),
    port: int | None = typer.Option(None, help="Wyoming port (default: WYOMING_PORT, else 10300)."),
) -> None:
    """Serve only Home Assistant's Wyoming protocol (STT, TTS, conversation); HTTP on
    HOST:PORT answers just /health, /ready and /metrics."""
    settings = Settings()
    settings.server_role = "wyoming"
    if host:
        settings.wyoming_host = host
    if port:
        settings.wyoming_port = port
    problems = settings.wyoming_problems()
    if problems:
        typer.echo(f"error: {'; '.join(problems)}", err=True)
        raise typer.Exit(2)
    _serve(settings)


def _serve(settings: Settings) -> None:
    # Before anything logs, so every line (uvicorn's and SQLAlchemy's too) shares a format.
    from ballsy.observability.logging import configure_logging, get_logger

    configure_logging(settings)
    if settings.server_role not in ("all", "wyoming") and not settings.redis_url:
        # Tickets and sessions live in process memory: an api instance's ticket is
        # unknown to a realtime instance. Fine for one box trying roles out, not more.
        get_logger("ballsy.cli").warning(
            "ballsy.deploy.split_role_without_redis", role=settings.server_role
        )
    from ballsy.app import close_websockets, create_app, internal_app
    from ballsy.serving import run_server

    # SIGTERM/SIGINT: stop accepting, close WebSockets with 1012, drain HTTP for up to
    # SHUTDOWN_GRACE_SECONDS, close services, exit 0 (see ballsy.serving).
    app = create_app(settings)
    run_server(
        app,
        settings,
        before_drain=lambda: close_websockets(app),
        internal_app=internal_app(app, settings),  # INTERNAL_PORT: /metrics, /docs …
    )


@cli.command()
def migrate() -> None:
    """Bring the database schema up to date (serve also does this on start)."""
    settings = Settings()

    async def _run() -> None:
        database = Database(settings)
        try:
            await database.migrate()
        finally:
            await database.dispose()

    asyncio.run(_run())
    typer.echo(f"database at head ({settings.sqlalchemy_url.split('@')[-1]})")


@cli.command()
def transcribe(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Audio file.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="txt | srt | vtt | json")] = "txt",
    model: Annotated[str | None, typer.Option(help="STT model (default: STT_MODEL).")] = None,
    language: Annotated[str | None, typer.Option(help="Language; default detects.")] = None,
    words: Annotated[bool, typer.Option(help="Word timestamps (json format).")] = False,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here.")] = None,
    progress: Annotated[
        bool, typer.Option("--progress", help="Run as a job (chunked, resumable) with a bar.")
    ] = False,
) -> None:
    """Transcribe an audio file offline with the local Whisper model."""
    from ballsy.speech.formats import render_text, verbose_json
    from ballsy.speech.service import SpeechService
    from ballsy.speech.stt import TranscribeOptions

    if fmt not in ("txt", "srt", "vtt", "json"):
        raise typer.BadParameter("format must be txt, srt, vtt or json", param_hint="--format")
    settings = Settings()
    if progress:
        # The job pipeline: stream-decoded chunk by chunk, any length, progress events.
        from ballsy.jobs.cli import transcribe_as_job
        from ballsy.jobs.options import JobOptions

        options = JobOptions(
            model=model or settings.stt_model,
            language=language,
            word_timestamps=words,
            formats=(fmt,),  # type: ignore[arg-type]
        )
        job = transcribe_as_job(settings, file, options, fmt, show=True)  # type: ignore[arg-type]
        _write(_run_or_exit(job).rstrip("\n"), output)
        return

    async def _run() -> str:
        speech = SpeechService(settings)
        try:
            audio = await speech.decode(file, max_seconds=CLI_MAX_AUDIO_SECONDS)
            options = TranscribeOptions(language=language, word_timestamps=words)
            transcript = await speech.transcribe(audio.samples, options, model)
        finally:
            await speech.close()
        if fmt == "json":
            return json.dumps(verbose_json(transcript, task="transcribe", words=words), indent=2)
        return render_text(transcript, fmt)  # type: ignore[arg-type]

    _write(_run_or_exit(_run()), output)


@cli.command()
def worker(
    concurrency: Annotated[
        int | None, typer.Option(min=1, max=64, help="Jobs at once (default: JOB_CONCURRENCY).")
    ] = None,
) -> None:
    """Run transcription jobs (the queue is JOB_QUEUE: embedded database, or redis)."""
    settings = Settings()
    if concurrency:
        settings.job_concurrency = concurrency
    from ballsy.jobs.cli import run_worker
    from ballsy.observability.logging import configure_logging

    configure_logging(settings)
    _run_or_exit(run_worker(settings))


@cli.command()
def say(
    text: Annotated[str, typer.Argument(help="What to say.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Audio file (.wav, .mp3 …).")],
    engine: Annotated[
        str | None, typer.Option(help="hibari | piper (default: TTS_ENGINE).")
    ] = None,
    voice: Annotated[str | None, typer.Option(help="Voice name of the engine.")] = None,
    speed: Annotated[float, typer.Option(min=0.25, max=4.0, help="Speaking speed.")] = 1.0,
) -> None:
    """Speak TEXT into an audio file offline (format from the file extension)."""
    from ballsy.assistant.spoken_turn import speak
    from ballsy.speech.service import SpeechService

    fmt = output.suffix.lstrip(".").lower() or "wav"
    settings = Settings()

    async def _run() -> bytes:
        speech = SpeechService(settings)
        try:
            # The same synthesis and encoding as a POST /api/voice reply.
            return await speak(speech, text, voice=voice, speed=speed, engine=engine, fmt=fmt)
        finally:
            await speech.close()

    output.write_bytes(_run_or_exit(_run()))
    typer.echo(f"wrote {output}")


def _run_or_exit(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine; a Ballsy error becomes a clean message and exit 2."""
    try:
        return asyncio.run(coroutine)
    except BallsyError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from exc


def _write(text: str, output: Path | None) -> None:
    if output is None:
        typer.echo(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
