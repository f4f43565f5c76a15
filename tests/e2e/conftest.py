"""Browser tests: the web client and the dashboard in Debian's Chromium (Playwright).

A real Ballsy (uvicorn on loopback, ``AUTH_MODE=jwt``, SQLite) answers with its real
speech models; the LLM is a small fake (tests/e2e/fake_llm.py). Chromium's fake
microphone plays a WAV spoken by Ballsy's own Piper voice. Playwright never
downloads a browser here: it drives ``/usr/bin/chromium`` (``scripts/browser.sh``
installs it; ``BALLSY_CHROMIUM`` points elsewhere). One server serves the package
(its models loaded once), one browser each module; screenshots land in
``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import io
import os
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from ballsy.services import Services
from tests.conftest import make_settings
from tests.e2e.fake_llm import fake_llm
from tests.e2e.server import BallsyThread

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright

CHROMIUM = Path(os.environ.get("BALLSY_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
JWT_SECRET = "e2e-secret-" + "x" * 40
PASSWORD = "correct horse battery"
# What the fake microphone says, and the silence around it (seconds). The gap is long
# enough for the first question's reply to be playing when the second one barges in.
LEAD_S, GAP_S, TAIL_S = 0.5, 6.5, 9.0
FIRST_QUESTION = "Tell me a long story about a dragon."
SECOND_QUESTION = "What is twelve plus seven?"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--use-fake-device-for-media-stream",
]


@dataclass(frozen=True)
class Account:
    name: str
    password: str
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


@dataclass(frozen=True)
class Ballsy:
    server: BallsyThread
    admin: Account
    user: Account

    @property
    def url(self) -> str:
        return self.server.url


@dataclass(frozen=True)
class Microphone:
    """The fake microphone's recording and when its second question starts."""

    path: Path
    second_question_at_s: float


@pytest.fixture(scope="session")
def chromium() -> Path:
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: run scripts/browser.sh (make test does)")
    pytest.importorskip("playwright.sync_api")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return CHROMIUM


@pytest.fixture(scope="package")
def ballsy(chromium: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ballsy]:
    with fake_llm() as llm_url:
        settings = make_settings(
            tmp_path_factory.mktemp("e2e"),
            auth_mode="jwt",
            jwt_secret=JWT_SECRET,
            llm_provider="openai",
            llm_base_url=llm_url,
            llm_api_key="e2e-not-a-real-key",
            llm_model="fake-story",
            llm_max_retries=0,
            preload_models=True,  # STT and TTS load while the browser starts
        )
        server = BallsyThread(settings).start()
        try:
            yield Ballsy(
                server,
                admin=server.call(lambda s: _account(s, "ada", "admin")),
                user=server.call(lambda s: _account(s, "bob", "user")),
            )
        finally:
            server.stop()


async def _account(services: Services, name: str, role: str) -> Account:
    user = await services.users.create_user(name, role=role, password=PASSWORD)
    issued = await services.users.create_key(user.id, name="e2e")
    return Account(name, PASSWORD, issued.secret)


def _speech(ballsy: Ballsy, text: str) -> tuple[bytes, int]:
    response = httpx.post(
        f"{ballsy.url}/v1/audio/speech",
        json={"model": "piper", "voice": "joe", "input": text, "response_format": "pcm"},
        headers=ballsy.admin.headers,
        timeout=120,
    )
    response.raise_for_status()
    return response.content, int(response.headers["x-sample-rate"])


@pytest.fixture(scope="package")
def microphone(ballsy: Ballsy, tmp_path_factory: pytest.TempPathFactory) -> Microphone:
    """A 16-bit WAV for ``--use-file-for-fake-audio-capture``: two spoken questions.

    Chromium restarts the file whenever capture starts and loops it after the end.
    """
    first, rate = _speech(ballsy, FIRST_QUESTION)
    second, _ = _speech(ballsy, SECOND_QUESTION)

    def silence(seconds: float) -> bytes:
        return b"\x00\x00" * int(rate * seconds)

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(silence(LEAD_S) + first + silence(GAP_S) + second + silence(TAIL_S))
    path = tmp_path_factory.mktemp("microphone") / "questions.wav"
    path.write_bytes(buffer.getvalue())
    return Microphone(path, LEAD_S + len(first) / 2 / rate + GAP_S)


@pytest.fixture(scope="module")
def playwright_driver(chromium: Path) -> Iterator[Playwright]:
    # Per module, not per session: while Playwright's sync API is active its event
    # loop counts as running on this thread, and pytest-asyncio could not run the
    # async tests collected after tests/e2e.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


def launch(driver: Playwright, *extra: str) -> Browser:
    return driver.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=[*CHROMIUM_ARGS, *extra]
    )


@pytest.fixture(scope="module")
def browser(playwright_driver: Playwright, microphone: Microphone) -> Iterator[Browser]:
    """Chromium with microphone permission granted and the fake microphone playing."""
    browser = launch(
        playwright_driver,
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-audio-capture={microphone.path}",
    )
    yield browser
    browser.close()


def shot(page: Page, name: str, *, full_page: bool = False) -> Path:
    """Save a screenshot as test-artifacts/screenshots/<name>.png."""
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page, animations="disabled")
    return path


def sign_in(page: Page, url: str, account: Account) -> None:
    """Open ``url`` and sign in with the password form (sessionStorage is per tab)."""
    page.goto(url)
    page.get_by_label("User name").fill(account.name)
    page.get_by_label("Password", exact=True).fill(account.password)
    page.get_by_role("button", name="Sign in").click()
    page.locator("#sign-in").wait_for(state="hidden")


def page_errors(page: Page) -> list[str]:
    """Collect uncaught exceptions and console errors, for a test to assert none.

    Chromium logs every 4xx answer as a console error; those are expected (the 401
    before sign-in, the 422 the oversized command gets) and left out.
    """
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and "Failed to load resource" not in m.text
            else None
        ),
    )
    return errors
