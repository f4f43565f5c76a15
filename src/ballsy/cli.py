"""The ``ballsy`` command: serve, migrate, and the offline tools."""

from __future__ import annotations

import asyncio
import logging

import typer
import uvicorn

from ballsy.config import Settings
from ballsy.store.db import Database

cli = typer.Typer(help="Ballsy voice assistant server.", no_args_is_help=True)


@cli.command()
def serve(
    host: str | None = typer.Option(None, help="Bind address (default: HOST or 0.0.0.0)."),
    port: int | None = typer.Option(None, help="Port (default: PORT or 8080)."),
) -> None:
    """Start the HTTP and WebSocket server."""
    settings = Settings()
    if host:
        settings.host = host
    if port:
        settings.port = port
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    from ballsy.app import create_app

    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        ws_max_size=1024 * 1024,
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


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
