"""The admin dashboard at ``/admin`` in Chromium, over real data: turns made through
the API first, then the charts, live sessions, users and keys, jobs and the masked
configuration."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.conftest import Ballsy, page_errors, shot, sign_in

pytestmark = pytest.mark.e2e

COMMANDS = [
    "what is twelve plus seven",
    "what is 6 times 7",
    "play relaxing jazz on Spotify",
    "directions to the Eiffel Tower",
    "what time is it",
    "tell me something nice",
    "hello there",
]


@pytest.fixture(scope="module")
def turns(ballsy: Ballsy) -> int:
    """Real turns (skills and the LLM) by a user and the admin, plus one refused one."""
    with httpx.Client(base_url=ballsy.url, timeout=60) as http:
        for account in (ballsy.user, ballsy.admin):
            for text in COMMANDS:
                answer = http.post("/api/command", json={"text": text}, headers=account.headers)
                assert answer.status_code == 200, answer.text
        refused = http.post("/api/command", json={"text": ""}, headers=ballsy.user.headers)
        assert refused.status_code == 422
    return 2 * len(COMMANDS)


@pytest.fixture(scope="module")
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context
    context.close()


@pytest.fixture(scope="module")
def dashboard(context: BrowserContext, ballsy: Ballsy, turns: int) -> Iterator[Page]:
    page = context.new_page()
    errors = page_errors(page)
    sign_in(page, ballsy.url + "/admin", ballsy.admin)
    expect(page.locator("#admin")).to_be_visible()
    yield page
    assert errors == [], errors


def test_analytics_charts_show_real_data(dashboard: Page, turns: int) -> None:
    page = dashboard
    kpis = page.locator("#kpis")
    expect(kpis).to_contain_text("Turns")
    turns_shown = int(kpis.locator(".kpi-value").first.inner_text())
    assert turns_shown >= turns
    activity = page.locator("#chart-activity")
    expect(activity.locator("svg[role=img]")).to_have_attribute(
        "aria-label", "Turns and sessions per day"
    )
    heights = activity.locator("rect.bar").evaluate_all(
        "(bars) => bars.map((b) => Number(b.getAttribute('height')))"
    )
    assert len(heights) == 14 and max(heights) > 0  # 7 days × (turns, sessions)
    latency = page.locator("#chart-latency")
    for stage in ("prepare", "skills", "llm_first_token", "total"):
        expect(latency.locator("svg text.label", has_text=stage)).to_have_count(1)
    expect(latency.locator("table caption")).to_have_text(
        "Latency per turn stage, p50, p90 and p99"
    )
    expect(page.locator("#chart-skills")).to_contain_text("math")
    expect(page.locator("#chart-skills")).to_contain_text("links")
    expect(page.locator("#chart-providers")).to_contain_text("openai/fake-story")
    expect(page.locator("#chart-errors")).to_contain_text("HTTP 4xx")
    shot(page, "14-admin-analytics")
    page.get_by_label("Window").select_option("24h")
    expect(activity.locator("svg[role=img]")).to_have_attribute(
        "aria-label", "Turns and sessions per hour"
    )
    expect(activity.locator("rect.bar")).to_have_count(48)
    shot(page, "15-admin-dashboard-full", full_page=True)


def test_live_sessions_list_a_connected_client(
    dashboard: Page, context: BrowserContext, ballsy: Ballsy
) -> None:
    client = context.new_page()
    sign_in(client, ballsy.url + "/", ballsy.admin)
    expect(client.locator("#status")).to_have_attribute("data-state", "connected")
    live = dashboard.locator("#live-table")
    expect(live.locator("td", has_text=f"/ws/voice/{ballsy.admin.name}")).to_be_visible(
        timeout=15_000
    )  # refreshed every 5 s
    expect(live.locator("tbody tr").first).to_contain_text("ticket")
    expect(dashboard.locator("#live-count")).to_contain_text("session slots in use")
    dashboard.locator("#live").scroll_into_view_if_needed()
    shot(dashboard, "16-admin-live-sessions")
    client.close()


def test_users_can_be_created_and_keys_revoked(dashboard: Page, ballsy: Ballsy) -> None:
    page = dashboard
    page.get_by_label("Name", exact=True).fill("carol")
    page.get_by_role("button", name="Create user").click()
    secret = page.locator("#new-key code.secret")
    expect(secret).to_be_visible()
    key = secret.inner_text()
    assert key.startswith("bk_")
    me = httpx.get(f"{ballsy.url}/api/auth/me", headers={"X-API-Key": key})
    assert me.status_code == 200 and me.json()["name"] == "carol"
    row = page.locator("#users-table tbody tr", has_text="carol")
    expect(row).to_contain_text("active")
    row.get_by_role("button", name="Keys").click()
    expect(page.locator("#keys-title")).to_have_text("API keys of carol")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#keys-table").get_by_role("button", name="Revoke").click()
    expect(page.locator("#keys-status")).to_contain_text("revoked")
    expect(page.locator("#keys-table tbody tr").first).to_contain_text("revoked")
    assert httpx.get(f"{ballsy.url}/api/auth/me", headers={"X-API-Key": key}).status_code == 401
    page.locator("#users").scroll_into_view_if_needed()
    shot(page, "17-admin-users")


def test_jobs_and_masked_configuration(dashboard: Page) -> None:
    page = dashboard
    expect(page.locator("#jobs")).to_contain_text("No transcription jobs yet.")
    config = page.locator("#config-table")
    row = config.locator("tbody tr", has_text="jwt_secret")
    expect(row.locator("td").nth(1)).to_have_text("**********")
    llm_key = config.locator("tbody tr", has_text="llm_api_key")
    expect(llm_key.locator("td").nth(1)).to_have_text("**********")
    expect(config).not_to_contain_text("e2e-not-a-real-key")
    expect(config).not_to_contain_text("e2e-secret-")
    page.get_by_label("Filter").fill("llm_")
    visible = config.locator("tbody tr:visible")
    assert 0 < visible.count() < 20
    expect(visible.first).to_contain_text("llm_")
    page.locator("#config").scroll_into_view_if_needed()
    shot(page, "18-admin-configuration")


def test_dashboard_on_a_phone(browser: Browser, ballsy: Ballsy, turns: int) -> None:
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    sign_in(page, ballsy.url + "/admin", ballsy.admin)
    expect(page.locator("#chart-activity svg")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "19-admin-phone")
    context.close()
