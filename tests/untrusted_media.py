"""Hostile "audio": an HLS playlist and an FFmpeg concat list that name another file.

FFmpeg's ``hls`` and ``concat`` demuxers open the files such a list names; an upload
must never make the server read them. :class:`WatchedFile` tells whether it was read
(its access time moves once anything reads it: relatime updates an atime older than
the mtime).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class WatchedFile:
    path: Path

    @classmethod
    def copy_of(cls, source: Path, target: Path) -> WatchedFile:
        shutil.copyfile(source, target)
        stat = target.stat()
        os.utime(target, (stat.st_mtime - 3600, stat.st_mtime))
        return cls(target)

    @property
    def was_read(self) -> bool:
        stat = self.path.stat()
        return stat.st_atime >= stat.st_mtime


def atime_is_recorded(folder: Path) -> bool:
    """Whether this file system records reads at all (not on ``noatime`` mounts)."""
    probe = WatchedFile.copy_of(Path(__file__), folder / "atime-probe")
    probe.path.read_bytes()
    return probe.was_read


def hls_playlist(target: Path) -> bytes:
    """An HLS playlist whose one segment is ``target`` (absolute path)."""
    return (
        f"#EXTM3U\n#EXT-X-TARGETDURATION:30\n#EXTINF:30.0,\n{target.resolve()}\n#EXT-X-ENDLIST\n"
    ).encode()


def concat_list(relative: str) -> bytes:
    """An ffconcat list naming ``relative`` (resolved against the reader's directory)."""
    return f"ffconcat version 1.0\nfile '{relative}'\n".encode()
