"""The openai provider against a real local HTTP server speaking chat-completions."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from ballsy.app import create_app
from ballsy.errors import ProviderError, ProviderTimeout
from ballsy.llm.base import ChatMessage, GenerationOptions, complete
from ballsy.llm.fallback import FallbackLLM
from ballsy.llm.local import LocalLLM
from ballsy.llm.openai_compat import OpenAICompatibleLLM
from ballsy.llm.providers import LLM_PROVIDERS
from tests.conftest import make_settings
from tests.fake_openai import REPLY, FakeOpenAI, run_fake_openai

QUESTION = [ChatMessage(role="user", content="tell me a joke")]


@pytest.fixture(scope="module")
def fake_openai() -> Iterator[tuple[str, FakeOpenAI]]:
    yield from run_fake_openai()


def provider(base_url: str, *, timeout: float = 5.0, retries: int = 2) -> OpenAICompatibleLLM:
    return OpenAICompatibleLLM(
        name="openai",
        model="echo",
        base_url=base_url,
        api_key="sk-test",
        timeout=timeout,
        max_retries=retries,
    )


async def test_streams_deltas_and_usage(fake_openai: tuple[str, FakeOpenAI]) -> None:
    base_url, fake = fake_openai
    llm = provider(base_url)
    deltas = [d async for d in llm.stream(QUESTION, GenerationOptions(max_tokens=50))]
    await llm.close()
    assert len([d for d in deltas if d.text]) > 5, "reply should arrive in several pieces"
    assert "".join(d.text for d in deltas) == REPLY
    assert deltas[-1].finish_reason == "stop"
    assert deltas[-1].usage is not None and deltas[-1].usage.completion_tokens > 0
    sent = fake.requests[-1]
    assert sent["stream"] is True and sent["max_tokens"] == 50
    assert sent["messages"] == [{"role": "user", "content": "tell me a joke"}]


async def test_retries_429_then_succeeds(fake_openai: tuple[str, FakeOpenAI]) -> None:
    base_url, fake = fake_openai
    llm = provider(base_url, retries=3)
    result = await complete(llm, QUESTION, GenerationOptions(model="flaky-2"))
    await llm.close()
    assert result.text == REPLY
    assert fake.calls["flaky-2"] == 3


async def test_persistent_5xx_is_a_provider_error(fake_openai: tuple[str, FakeOpenAI]) -> None:
    base_url, fake = fake_openai
    llm = provider(base_url, retries=1)
    with pytest.raises(ProviderError) as caught:
        await complete(llm, QUESTION, GenerationOptions(model="broken"))
    await llm.close()
    assert caught.value.status_code == 502
    assert fake.calls["broken"] == 2  # the first try and one retry, then give up


async def test_timeout_is_a_provider_timeout(fake_openai: tuple[str, FakeOpenAI]) -> None:
    base_url, _ = fake_openai
    llm = provider(base_url, timeout=0.5, retries=0)
    with pytest.raises(ProviderTimeout) as caught:
        await complete(llm, QUESTION, GenerationOptions(model="slow"))
    await llm.close()
    assert caught.value.status_code == 504


async def test_fallback_to_local_before_first_token(
    fake_openai: tuple[str, FakeOpenAI],
) -> None:
    base_url, _ = fake_openai
    local = LocalLLM(model="fast")
    llm = FallbackLLM(provider(base_url, retries=0), local)
    result = await complete(llm, QUESTION, GenerationOptions(model="broken", max_tokens=24))
    await llm.close()
    await local.close()
    assert result.text, "the local model should have answered instead"


@pytest.mark.parametrize(
    ("model", "status", "code"),
    [("echo", 200, None), ("broken", 502, "provider_error"), ("slow", 504, "provider_timeout")],
)
async def test_command_api_with_remote_provider(
    fake_openai: tuple[str, FakeOpenAI],
    tmp_path: object,
    model: str,
    status: int,
    code: str | None,
) -> None:
    base_url, _ = fake_openai
    settings = make_settings(
        tmp_path,  # type: ignore[arg-type]
        llm_provider="openai",
        llm_base_url=base_url,
        llm_model=model,
        llm_timeout=0.5,
        llm_max_retries=0,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            response = await http.post("/api/command", json={"text": "tell me a joke"})
            skill = await http.post("/api/command", json={"text": "what is 2 plus 2"})
    assert response.status_code == status, response.text
    if code is None:
        body = response.json()
        assert body["reply"] == REPLY
        assert body["handled_by"] == {"kind": "llm", "name": "openai", "model": "echo"}
    else:
        assert response.json()["error"]["code"] == code
    # Skills never need the provider, so they answer even while it is down.
    assert skill.status_code == 200 and skill.json()["handled_by"]["kind"] == "skill"


@pytest.mark.parametrize(
    ("provider", "key_field", "base_url", "model"),
    [
        ("mistral", "mistral_api_key", "https://api.mistral.ai/v1/", "mistral-large-latest"),
        (
            "gemini",
            "gemini_api_key",
            "https://generativelanguage.googleapis.com/v1beta/openai/",
            "gemini-2.5-flash",
        ),
    ],
)
async def test_cloud_presets_resolve_their_endpoint(
    tmp_path: object, provider: str, key_field: str, base_url: str, model: str
) -> None:
    settings = make_settings(tmp_path, llm_provider=provider, **{key_field: "k-123"})  # type: ignore[arg-type]
    llm = LLM_PROVIDERS.get(provider)(settings)
    assert isinstance(llm, OpenAICompatibleLLM)
    assert (llm.name, llm.base_url, llm.default_model) == (provider, base_url, model)
    assert llm._client.api_key == "k-123"
    await llm.close()
