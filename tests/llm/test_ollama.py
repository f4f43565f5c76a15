"""The Ollama preset: one file in llm/providers/, found by discovery, on a real server
speaking the chat-completions protocol."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ballsy.app import create_app
from ballsy.llm.openai_compat import OpenAICompatibleLLM
from ballsy.llm.providers import LLM_PROVIDERS
from ballsy.llm.registry import LLMRegistry
from tests.conftest import make_settings
from tests.fake_openai import REPLY, FakeOpenAI, run_fake_openai

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def fake_ollama() -> Iterator[tuple[str, FakeOpenAI]]:
    yield from run_fake_openai()


async def test_the_preset_needs_no_key_and_has_a_local_default(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, llm_provider="ollama")
    registry = LLMRegistry(settings)
    llm = registry.default
    assert isinstance(llm, OpenAICompatibleLLM) and registry.names == ["local", "ollama"]
    assert (llm.name, llm.base_url, llm.default_model) == (
        "ollama",
        "http://localhost:11434/v1/",
        "llama3.2",
    )
    await registry.close()


async def test_llm_provider_ollama_answers_through_the_api(
    fake_ollama: tuple[str, FakeOpenAI], tmp_path: Path
) -> None:
    base_url, fake = fake_ollama
    settings = make_settings(tmp_path, llm_provider="ollama", llm_base_url=base_url)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            response = await http.post("/api/command", json={"text": "tell me a joke"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["reply"] == REPLY
    assert body["handled_by"] == {"kind": "llm", "name": "ollama", "model": "llama3.2"}
    assert fake.requests[-1]["model"] == "llama3.2" and fake.requests[-1]["stream"] is True


def test_the_provider_is_one_file_found_by_discovery() -> None:
    factory = LLM_PROVIDERS.get("ollama")
    assert factory.__module__ == "ballsy.llm.providers.ollama"
    # No module imports it: the registry found it by importing the providers package.
    spec = importlib.util.spec_from_file_location("import_graph", ROOT / "scripts/import_graph.py")
    assert spec is not None and spec.loader is not None
    graph_module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(graph_module)
    graph = graph_module.build_graph(ROOT / "src")
    importers = [name for name, imports in graph.items() if factory.__module__ in imports]
    assert importers == []
