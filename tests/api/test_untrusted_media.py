"""An upload that is a playlist or a concat list is refused, and what it names unread.

``/v1/audio/transcriptions`` and ``/api/voice`` decode the upload from memory; FFmpeg
would resolve a concat list's relative names against the server's directory.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.untrusted_media import WatchedFile, atime_is_recorded, concat_list, hls_playlist

ROUTES = ["/v1/audio/transcriptions", "/api/voice"]


@pytest.fixture
def secret(fixtures_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> WatchedFile:
    monkeypatch.chdir(tmp_path)  # the server's directory: where a concat list's names resolve
    return WatchedFile.copy_of(fixtures_dir / "english.wav", tmp_path / "someone-else.wav")


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("kind", ["hls", "concat"])
async def test_lists_of_other_files_are_refused_unread(
    client: httpx.AsyncClient, secret: WatchedFile, tmp_path: Path, route: str, kind: str
) -> None:
    if kind == "hls":
        name, body = "x.m3u8", hls_playlist(secret.path)
    else:
        name, body = "list.ffconcat", concat_list(secret.path.name)
    response = await client.post(
        route, files={"file": (name, body)}, data={"model": "whisper-1", "client_id": "local"}
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "unsupported_media"
    assert str(tmp_path) not in response.text
    if atime_is_recorded(tmp_path):
        assert not secret.was_read
