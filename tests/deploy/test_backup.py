"""deploy/scripts/backup.sh and restore.sh against the real local PostgreSQL.

A fresh database is migrated by ``ballsy migrate``, filled through the app itself
(users and keys, commands answered by skills, settings), backed up, dropped and
restored; every table's row count and content checksum must come back identical.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from ballsy.accounts.service import Accounts
from ballsy.app import create_app
from ballsy.store.db import Database
from tests.conftest import make_settings
from tests.deploy.conftest import DEPLOY
from tests.servers import create_database, drop_database

pytestmark = pytest.mark.postgres
SCRIPTS = DEPLOY / "scripts"
BALLSY = Path(sys.executable).parent / "ballsy"
SOCKET_DIR = Path("/var/run/postgresql")


async def snapshot(url: str) -> dict[str, tuple[int, str]]:
    """Table => (rows, md5 of every row in a stable order), for the public schema."""
    connection = await asyncpg.connect(url)
    try:
        tables = [
            row["tablename"]
            for row in await connection.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            )
        ]
        result = {}
        for table in tables:
            row = await connection.fetchrow(
                f"SELECT count(*) AS n, md5(coalesce(string_agg(t::text, E'\\n' "
                f"ORDER BY t::text), '')) AS digest FROM \"{table}\" t"
            )
            result[table] = (row["n"], row["digest"])
        return result
    finally:
        await connection.close()


def run_sync(*command: str | Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [str(part) for part in command],
        capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})},
    )  # fmt: skip
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
    return result.stdout


async def run(*command: str | Path, env: dict[str, str] | None = None) -> str:
    return await asyncio.to_thread(run_sync, *command, env=env)


def is_dump(path: Path, folder: Path) -> bool:
    return path.parent == folder and path.stat().st_size > 0 and Path(f"{path}.sha256").exists()


def fake_gcloud(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A stand-in for `gcloud storage cp SRC... DEST` mapping gs:// onto a folder."""
    bucket, bin_dir = tmp_path / "bucket", tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "gcloud"
    fake.write_text(
        "#!/usr/bin/env bash\nset -eu\n"
        '[ "$1 $2" = "storage cp" ] || exit 9\nshift 2\n'
        f'args=(); for a in "$@"; do args+=("${{a/gs:\\/\\//{bucket}/}}"); done\n'
        'mkdir -p "${args[-1]%/*}" "$(dirname "${args[-1]}")"\ncp "${args[@]}"\n'
    )
    fake.chmod(0o755)
    return bucket, {"PATH": f"{bin_dir}:{os.environ['PATH']}"}


async def fill(url: str, data_dir: Path) -> None:
    """Users, keys, turns and settings, written by the app's own code paths."""
    settings = make_settings(data_dir, url, auth_mode="apikey")
    database = Database(settings)
    admin = Accounts(database)
    keys = []
    for name in ("ada", "bob"):
        user = await admin.create_user(name, role="admin" if name == "ada" else "user")
        keys.append((await admin.create_key(user.id)).secret)
    await database.dispose()
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ballsy") as http:
            for index, key in enumerate(keys):
                headers = {"X-API-Key": key}
                for n in range(5):
                    text = f"what is {n + index} plus {n * 3}"
                    answer = await http.post("/api/command", json={"text": text}, headers=headers)
                    assert answer.status_code == 200, answer.text
                update = {"speed": 1.25, "memory_turns": 4 + index}
                assert (await http.put("/api/settings", json=update, headers=headers)).is_success


@pytest.fixture
async def source_url(tmp_path: Path) -> AsyncIterator[str]:
    url = await create_database()
    try:
        await run(BALLSY, "migrate", env={"DATABASE_URL": url, "BALLSY_DATA_DIR": str(tmp_path)})
        await fill(url, tmp_path / "app")
        yield url
    finally:
        await drop_database(url)


async def test_backup_drop_restore_round_trip(source_url: str, tmp_path: Path) -> None:
    before = await snapshot(source_url)
    assert before["alembic_version"][0] == 1
    assert before["users"][0] == 2 and before["command_history"][0] == 10, before
    assert before["settings"][0] == 2 and before["api_keys"][0] == 2

    dump = Path((await run(SCRIPTS / "backup.sh", source_url, tmp_path / "backups")).strip())
    assert await asyncio.to_thread(is_dump, dump, tmp_path / "backups")

    await drop_database(source_url)
    output = await run(SCRIPTS / "restore.sh", dump, source_url)
    assert "restored" in output
    assert await snapshot(source_url) == before

    # A database that holds tables is never restored into.
    again = await asyncio.to_thread(
        subprocess.run,
        [str(SCRIPTS / "restore.sh"), str(dump), source_url],
        capture_output=True,
        text=True,
    )
    assert again.returncode == 1 and "fresh one" in again.stderr
    assert await snapshot(source_url) == before


@pytest.mark.skipif(not SOCKET_DIR.is_dir(), reason="no local PostgreSQL socket directory")
async def test_bucket_and_unix_socket_forms(source_url: str, tmp_path: Path) -> None:
    """gs:// destinations (through gcloud) and Cloud SQL's ?host=/socket URLs."""
    bucket, path_env = fake_gcloud(tmp_path)
    before = await snapshot(source_url)

    name = source_url.rsplit("/", 1)[-1]
    socket_url = f"postgresql://postgres@/{name}?host={SOCKET_DIR}"
    location = (
        await run(SCRIPTS / "backup.sh", socket_url, "gs://backups/ballsy", env=path_env)
    ).strip()
    assert location.startswith("gs://backups/ballsy/ballsy-")
    assert await asyncio.to_thread((bucket / location.removeprefix("gs://")).is_file)

    restored_name = f"{name}_restored"
    restored = source_url.rsplit("/", 1)[0] + "/" + restored_name
    try:
        await run(
            SCRIPTS / "restore.sh", location,
            f"postgresql+asyncpg://postgres@/{restored_name}?host={SOCKET_DIR}", env=path_env,
        )  # fmt: skip
        assert await snapshot(restored) == before
        # The restored database is one Ballsy can use: migrate finds it at head.
        out = await run(
            BALLSY, "migrate", env={"DATABASE_URL": restored, "BALLSY_DATA_DIR": str(tmp_path)}
        )
        assert "database at head" in out
    finally:
        await drop_database(restored)
