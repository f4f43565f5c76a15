"""``ballsy users create|list|create-key|revoke-key|set``: user administration offline.

Runs against the configured database directly (migrating it first), so the first
admin can be created before the server ever starts. A new API key is printed once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer

from ballsy.accounts.schemas import KeyCreated
from ballsy.accounts.service import Accounts
from ballsy.config import Settings
from ballsy.errors import BallsyError
from ballsy.scope import ALL_USERS
from ballsy.security.secrets import resolve_secret_references
from ballsy.store.db import Database

T = TypeVar("T")
users_cli = typer.Typer(help="Create users, list them, issue and revoke API keys.")


def _run(work: Callable[[Accounts], Awaitable[T]]) -> T:
    async def _main() -> T:
        database = Database(resolve_secret_references(Settings()))
        try:
            await database.migrate()
            return await work(Accounts(database))
        finally:
            await database.dispose()

    try:
        return asyncio.run(_main())
    except BallsyError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from exc


def _show_key(issued: KeyCreated) -> None:
    typer.echo(f"API key {issued.prefix}… (id {issued.id}); shown once, store it now:")
    typer.echo(issued.key)


@users_cli.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Unique user name.")],
    role: Annotated[str, typer.Option(help="user | admin")] = "user",
    password: Annotated[
        bool, typer.Option("--password", help="Prompt for a password (AUTH_MODE=jwt login).")
    ] = False,
    key: Annotated[bool, typer.Option("--key/--no-key", help="Issue an API key.")] = True,
) -> None:
    """Create a user, with an API key unless --no-key."""
    secret = (
        typer.prompt("password", hide_input=True, confirmation_prompt=True) if password else None
    )

    async def work(admin: Accounts) -> None:
        created = await admin.register(name, role=role, password=secret, with_key=key)
        user = created.user
        typer.echo(f"created {user.role} {user.name} (id {user.id})")
        if created.key is not None:
            _show_key(created.key)

    _run(work)


@users_cli.command("list")
def list_users() -> None:
    """Users with their role, state and number of live API keys."""

    async def work(admin: Accounts) -> None:
        for user in await admin.list_users(limit=10_000):
            state = "active" if user.active else "disabled"
            typer.echo(
                f"{user.id}  {user.name:<24} {user.role:<5} {state:<8} keys={user.active_keys}"
            )

    _run(work)


@users_cli.command("create-key")
def create_key(
    name: Annotated[str, typer.Argument(help="User name.")],
    label: Annotated[str, typer.Option(help="What the key is for.")] = "default",
    expires_in_days: Annotated[int | None, typer.Option(min=1)] = None,
) -> None:
    """Issue another API key for a user."""

    async def work(admin: Accounts) -> None:
        user = await admin.find_user(name)
        if user is None:
            raise typer.BadParameter(f"no user named {name}")
        issued = await admin.create_key(user.id, name=label, expires_in_days=expires_in_days)
        _show_key(issued)

    _run(work)


@users_cli.command("revoke-key")
def revoke_key(
    key: Annotated[str, typer.Argument(help="Key id, or its bk_… display prefix.")],
) -> None:
    """Revoke an API key at once (every instance refuses it from the next request)."""

    async def work(admin: Accounts) -> None:
        revoked = await admin.revoke_key(key, ALL_USERS)
        typer.echo(f"revoked {revoked.prefix}… (id {revoked.id})")

    _run(work)


@users_cli.command("set")
def set_user(
    name: Annotated[str, typer.Argument(help="User name.")],
    role: Annotated[str | None, typer.Option(help="user | admin")] = None,
    active: Annotated[bool | None, typer.Option("--active/--disabled")] = None,
    password: Annotated[bool, typer.Option("--password", help="Prompt for a new one.")] = False,
) -> None:
    """Change a user's role, disable or enable them, or set their password."""
    secret = (
        typer.prompt("password", hide_input=True, confirmation_prompt=True) if password else None
    )

    async def work(admin: Accounts) -> None:
        user = await admin.find_user(name)
        if user is None:
            raise typer.BadParameter(f"no user named {name}")
        updated = await admin.update_user(user.id, active=active, role=role, password=secret)
        typer.echo(f"{updated.name}: {updated.role}, {'active' if updated.active else 'disabled'}")

    _run(work)
