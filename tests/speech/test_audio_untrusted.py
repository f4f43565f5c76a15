"""FFmpeg opens untrusted input with allow-listed demuxers and protocols only."""

from __future__ import annotations

from pathlib import Path

import pytest

from ballsy.errors import UnsupportedMedia
from ballsy.speech.audio import decode_audio, iter_audio_chunks
from tests.untrusted_media import WatchedFile, atime_is_recorded, concat_list, hls_playlist


@pytest.fixture
def secret(fixtures_dir: Path, tmp_path: Path) -> WatchedFile:
    return WatchedFile.copy_of(fixtures_dir / "english.wav", tmp_path / "other-user.flac")


def test_an_hls_playlist_path_is_refused_unread(secret: WatchedFile, tmp_path: Path) -> None:
    playlist = tmp_path / "x.m3u8"
    playlist.write_bytes(hls_playlist(secret.path))
    for read in (decode_audio, lambda p: list(iter_audio_chunks(p, chunk_seconds=5))):
        with pytest.raises(UnsupportedMedia) as info:
            read(playlist)
        assert str(tmp_path) not in str(info.value.detail)  # no server path in the answer
    if atime_is_recorded(tmp_path):
        assert not secret.was_read


def test_a_concat_list_is_refused_unread(
    secret: WatchedFile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # bytes have no directory: FFmpeg resolves against the cwd
    listing = concat_list(secret.path.name)
    (tmp_path / "list.txt").write_bytes(listing)
    for source in (listing, tmp_path / "list.txt"):
        with pytest.raises(UnsupportedMedia):
            decode_audio(source)
    if atime_is_recorded(tmp_path):
        assert not secret.was_read


def test_an_hls_playlist_in_memory_is_refused(secret: WatchedFile) -> None:
    with pytest.raises(UnsupportedMedia):
        decode_audio(hls_playlist(secret.path))
