"""Settings that name a provider are checked against the registries at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ballsy.app import create_app
from ballsy.cli import cli
from ballsy.errors import ConfigurationError
from ballsy.provider_names import PROVIDER_SETTINGS, check_provider_names
from tests.conftest import make_settings


def test_the_defaults_name_registered_providers(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    assert check_provider_names(settings) is settings
    for field, registry in PROVIDER_SETTINGS.items():
        assert getattr(settings, field) in registry.names()


@pytest.mark.parametrize(
    ("field", "valid"),
    [
        ("llm_provider", ["local", "openai", "mistral", "azure", "gemini"]),
        ("stt_model", ["tiny.en", "base"]),
        ("tts_engine", ["hibari", "piper"]),
        ("job_queue", ["embedded", "redis"]),
        ("job_storage", ["local", "gcs", "s3"]),
    ],
)
def test_an_unknown_name_stops_the_app_listing_the_valid_ones(
    tmp_path: Path, field: str, valid: list[str]
) -> None:
    settings = make_settings(tmp_path, **{field: "nonesuch"})
    with pytest.raises(ConfigurationError) as caught:
        create_app(settings)
    message = caught.value.message
    assert f"{field.upper()}='nonesuch'" in message
    listed = message.split("valid: ", 1)[1]
    for name in valid:
        assert name in listed


def test_every_bad_name_is_reported_at_once(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, llm_provider="skynet", tts_engine="espeak")
    with pytest.raises(ConfigurationError, match=r"LLM_PROVIDER='skynet'.*TTS_ENGINE='espeak'"):
        check_provider_names(settings)


def test_the_job_commands_refuse_an_unknown_name(tmp_path: Path) -> None:
    env = {"BALLSY_DATA_DIR": str(tmp_path), "DATABASE_URL": "", "JOB_STORAGE": "floppy"}
    result = CliRunner().invoke(cli, ["jobs", "list"], env=env)
    assert result.exit_code == 2
    assert "JOB_STORAGE='floppy'" in result.output and "local" in result.output
