"""The voice client at ``/`` in Chromium: sign-in, a spoken conversation from the fake
microphone with barge-in, typed commands and link cards, the panels, bad input,
reconnection, a phone-sized screen, a denied microphone, accessibility basics.

The tests share one signed-in page and run in file order, like a person's session.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    Route,
    WebSocketRoute,
    expect,
)

from tests.e2e.conftest import LEAD_S, Ballsy, Microphone, launch, page_errors, shot, sign_in

pytestmark = pytest.mark.e2e

# Records the page's audio and speech events with their times (performance.now()).
RECORDER = """
window.__events = [];
for (const type of ["ballsy:speech-started", "ballsy:playback-started",
                    "ballsy:playback-stopped", "ballsy:playback-ended"]) {
  window.addEventListener(type, (e) => window.__events.push(
    {type, at: performance.now(), detail: e.detail}));
}
"""
XSS = [
    '<img src=x onerror="window.__xss=1">',
    "<script>window.__xss=2</script>",
    '"><svg onload="window.__xss=3">',
]
# A function (its leading comment lines dropped, so Playwright calls it rather than
# evaluating an expression, which the page's CSP would refuse).
ACCESSIBILITY = "\n".join(
    line
    for line in (Path(__file__).parent / "accessibility.js").read_text().splitlines()
    if not line.startswith("//")
)
# Local barge-in must silence playback within this long of the words starting.
BARGE_IN_BOUND_MS = 1500


@pytest.fixture(scope="module")
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_init_script(RECORDER)
    # Link cards open real services; answer them locally (the sandbox has no network).
    context.route(
        re.compile(r"https://(open\.spotify\.com|www\.youtube\.com|www\.google\.com)/.*"),
        lambda route: route.fulfill(body="opened", content_type="text/plain"),
    )
    yield context
    context.close()


@pytest.fixture(scope="module")
def page(context: BrowserContext, ballsy: Ballsy) -> Iterator[Page]:
    page = context.new_page()
    errors = page_errors(page)
    sign_in(page, ballsy.url + "/", ballsy.user)
    expect(page.locator("#status")).to_have_attribute("data-state", "connected")
    yield page
    assert errors == [], errors


def audio(page: Page) -> dict[str, Any]:
    counters: dict[str, Any] = page.evaluate("({...window.ballsyAudio})")
    return counters


def wait_audio(page: Page, name: str, at_least: int, timeout: float = 30_000) -> None:
    # A function, not an expression string: the page's CSP forbids eval().
    page.wait_for_function(
        "([name, least]) => window.ballsyAudio[name] >= least",
        arg=[name, at_least],
        timeout=timeout,
        polling=50,
    )


def wait_quiet(page: Page) -> None:
    """Until no reply is playing (so the next stop counted is the test's own)."""
    page.wait_for_function("() => !window.ballsyAudio.playing", timeout=30_000, polling=50)


def send(page: Page, text: str) -> None:
    command = page.get_by_label("Type a command")
    command.fill(text)
    command.press("Enter")


def test_sign_in_then_connect(context: BrowserContext, ballsy: Ballsy) -> None:
    page = context.new_page()
    page.goto(ballsy.url + "/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    shot(page, "01-sign-in")
    page.get_by_label("User name").fill(ballsy.user.name)
    page.get_by_label("Password", exact=True).fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#sign-in-message")).to_contain_text("did not work")
    page.get_by_label("Password", exact=True).fill(ballsy.user.password)
    page.get_by_role("button", name="Sign in").click()
    status = page.locator("#status")
    expect(status).to_have_attribute("data-state", "connected")
    expect(status).to_have_text("Connected")
    expect(page.locator("#account-name")).to_have_text(ballsy.user.name)
    expect(page.locator("#admin-link")).to_be_hidden()  # not an admin
    shot(page, "02-connected")
    page.close()


def test_spoken_question_is_transcribed_answered_and_interrupted(
    page: Page, microphone: Microphone
) -> None:
    """The microphone asks for a story; while it plays, the second question barges in."""
    status = page.locator("#status")
    talk = page.locator("#talk")
    talk_at = page.evaluate("performance.now()")
    talk.click()
    expect(talk).to_have_attribute("aria-pressed", "true")
    expect(status).to_have_attribute("data-state", "listening")
    users = page.locator(".turn .bubble.user .text")
    replies = page.locator(".turn .bubble.assistant .text")
    expect(users.nth(0)).to_have_text(re.compile(r"long story", re.I), timeout=30_000)
    expect(users.nth(0)).not_to_have_class(re.compile("partial"))
    wait_audio(page, "started", 1)
    expect(replies.nth(0)).to_contain_text("Once upon a time")
    expect(status).to_have_attribute("data-state", "speaking")
    shot(page, "03-speaking")

    wait_audio(page, "stopped", 1, timeout=40_000)
    stop = audio(page)["lastStop"]
    assert stop["reason"] == "barge-in", stop
    events = page.evaluate("window.__events")
    spoke = [e["at"] for e in events if e["type"] == "ballsy:speech-started"]
    assert spoke, events
    # The stop is immediate once speech is heard, and speech is heard soon after the
    # second question starts in the recording (which restarted at the click).
    assert stop["at"] - spoke[-1] < 100
    late = stop["at"] - talk_at - microphone.second_question_at_s * 1000
    assert late < BARGE_IN_BOUND_MS, f"playback stopped {late:.0f} ms after the words began"
    # The server agrees: the story turn is marked interrupted, the question answered.
    interrupted = page.locator(".turn[data-status=interrupted]")
    expect(interrupted.locator(".note")).to_contain_text("Interrupted after")
    expect(interrupted.locator(".unheard")).to_have_count(1)  # the words never spoken
    expect(users.nth(1)).to_have_text(re.compile(r"12|twelve", re.I), timeout=30_000)
    talk.click()  # done talking, before the recording comes round again
    expect(talk).to_have_attribute("aria-pressed", "false")
    expect(replies.nth(1)).to_contain_text("19", timeout=30_000)
    wait_audio(page, "ended", 1)
    expect(page.locator(".turn .meta").last).to_contain_text("voice-to-voice")
    expect(status).to_have_attribute("data-state", "connected")
    shot(page, "04-barge-in-then-answer")


def test_typed_math_and_link_cards(page: Page) -> None:
    before = audio(page)
    send(page, "what is twelve plus seven")
    expect(page.locator(".bubble.assistant .text").last).to_contain_text("19")
    wait_audio(page, "ended", before["ended"] + 1)  # the typed reply is spoken too
    cards = {
        "play relaxing jazz on Spotify": (
            "Spotify",
            "https://open.spotify.com/search/relaxing%20jazz",
        ),
        "play despacito on youtube": (
            "YouTube",
            "https://www.youtube.com/results?search_query=despacito",
        ),
        "directions to the Eiffel Tower": (
            "Google Maps",
            "https://www.google.com/maps/dir/?api=1&destination=the+Eiffel+Tower",
        ),
    }
    for text, (service, url) in cards.items():
        send(page, text)
        card = page.locator(".link-card").last
        expect(card).to_have_attribute("href", url)
        expect(card).to_contain_text(service)
        expect(card).to_have_attribute("target", "_blank")
        expect(card).to_have_attribute("rel", "noopener noreferrer")
    with page.expect_popup() as opened:
        page.locator(".link-card").first.click()
    popup = opened.value
    popup.wait_for_load_state()
    assert popup.url == "https://open.spotify.com/search/relaxing%20jazz"
    popup.close()
    shot(page, "05-typed-commands-and-link-cards")


def test_keyboard_talk_interrupts_a_typed_reply_and_escape_silences(page: Page) -> None:
    talk = page.locator("#talk")
    wait_quiet(page)
    before = audio(page)
    send(page, "tell me a story")
    wait_audio(page, "started", before["started"] + 1)
    talk.focus()
    talk_at = page.evaluate("performance.now()")
    page.keyboard.press("Space")
    expect(talk).to_have_attribute("aria-pressed", "true")
    wait_audio(page, "stopped", before["stopped"] + 1)
    stop = audio(page)["lastStop"]
    assert stop["reason"] == "barge-in"
    assert stop["at"] - talk_at < LEAD_S * 1000 + BARGE_IN_BOUND_MS
    # The spoken request is a new voice turn; Enter on the button ends the talking.
    users = page.locator(".turn .bubble.user .text")
    expect(users.last).to_have_text(re.compile(r"long story", re.I), timeout=30_000)
    page.keyboard.press("Enter")
    expect(talk).to_have_attribute("aria-pressed", "false")
    # Ballsy starts telling the story; Escape stops it, and the server is told.
    wait_audio(page, "started", before["started"] + 2)
    page.keyboard.press("Escape")
    wait_audio(page, "stopped", before["stopped"] + 2)
    assert audio(page)["lastStop"]["reason"] == "escape"
    expect(page.locator(".turn[data-status=interrupted]")).to_have_count(2)


def test_hands_free_listens_until_switched_off(page: Page) -> None:
    wait_quiet(page)
    switch = page.get_by_role("switch", name="Hands-free")
    switch.check()
    expect(page.locator("#status")).to_have_text("Listening (hands-free)")
    expect(page.locator("#mic-level")).to_be_visible()
    switch.uncheck()  # before the recording's first words
    expect(page.locator("#status")).to_have_attribute("data-state", "connected")
    expect(page.locator("#mic-level")).to_be_hidden()


def test_history_and_settings_panels(page: Page, ballsy: Ballsy) -> None:
    history_tab = page.get_by_role("tab", name="History")
    history_tab.click()
    items = page.locator("#history-list .history-item")
    expect(items.first).to_be_visible()
    assert items.count() >= 6
    expect(page.locator("#history-list")).to_contain_text("relaxing jazz")
    expect(page.locator("#history-list")).to_contain_text("interrupted")
    shot(page, "06-history")
    history_tab.press("ArrowRight")  # tabs move with the arrow keys
    settings_tab = page.get_by_role("tab", name="Settings")
    expect(settings_tab).to_have_attribute("aria-selected", "true")
    expect(page.get_by_label("Turns remembered")).to_have_value("6")
    page.get_by_label("Voice").select_option("heart")
    speed = page.get_by_label("Speaking speed")
    speed.evaluate("(e) => { e.value = '1.25'; e.dispatchEvent(new Event('input')); }")
    expect(page.locator("#setting-speed-value")).to_have_text("1.25×")
    page.get_by_label("Persona (how Ballsy should answer)").fill("You are Ballsy. Be terse.")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#settings-status")).to_have_text("Saved.")
    shot(page, "07-settings")
    stored = httpx.get(f"{ballsy.url}/api/settings", headers=ballsy.user.headers).json()
    assert stored["voice"] == "heart" and stored["speed"] == 1.25
    assert stored["system_prompt"] == "You are Ballsy. Be terse."
    page.get_by_role("tab", name="Conversation").click()


def test_an_edit_made_while_settings_reload_is_kept(page: Page, ballsy: Ballsy) -> None:
    # Opening the tab refetches the settings; the answer arriving after the user has
    # started editing must not put the old values back (CI once saved voice=None).
    held: list[Route] = []

    def hold(route: Route) -> None:
        if route.request.method == "GET":
            held.append(route)
        else:
            route.continue_()

    page.route("**/api/settings", hold)
    try:
        page.get_by_role("tab", name="Settings").click()
        for _ in range(100):
            if held:
                break
            page.wait_for_timeout(50)  # serves Playwright's events, the route's among them
        assert len(held) == 1, "opening the tab did not refetch the settings"
        page.get_by_label("Voice").select_option("")  # back to the server default
        with page.expect_response("**/api/settings"):
            held.pop().continue_()
        expect(page.get_by_label("Voice")).to_have_value("")
        page.get_by_role("button", name="Save settings").click()
        expect(page.locator("#settings-status")).to_have_text("Saved.")
    finally:
        page.unroute("**/api/settings", hold)
    stored = httpx.get(f"{ballsy.url}/api/settings", headers=ballsy.user.headers).json()
    assert stored["voice"] is None and stored["speed"] == 1.25
    page.get_by_role("tab", name="Conversation").click()


def test_markup_in_commands_and_history_is_shown_as_text(page: Page) -> None:
    for payload in XSS:
        send(page, payload)
        expect(page.locator(".bubble.user .text").last).to_have_text(payload)
        expect(page.locator(".bubble.assistant .text").last).to_have_text(f"You said: {payload}")
    conversation = page.locator("#conversation")
    for tag in ("img", "script", "svg"):
        expect(conversation.locator(tag)).to_have_count(0)
    page.get_by_role("tab", name="History").click()
    history = page.locator("#history-list")
    expect(history).to_contain_text(XSS[0])
    expect(history.locator("img, script, svg")).to_have_count(0)
    assert page.evaluate("window.__xss") is None
    shot(page, "08-markup-shown-as-text")
    page.get_by_role("tab", name="Conversation").click()


def test_markup_in_a_live_transcript_is_shown_as_text(
    context: BrowserContext, ballsy: Ballsy
) -> None:
    """Server events are injected into the real socket, as a malicious transcript."""
    page = context.new_page()

    def route(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()
        ws.on_message(server.send)

        def from_server(message: str | bytes) -> None:
            ws.send(message)
            if isinstance(message, str) and json.loads(message).get("type") == "ready":
                for event in (
                    {"type": "speech_started", "audio_ms": 0},
                    {"type": "transcript", "final": False, "text": XSS[0]},
                    {"type": "transcript", "final": True, "turn_id": "t-x", "text": XSS[1]},
                    {"type": "reply", "turn_id": "t-x", "delta": XSS[2]},
                ):
                    ws.send(json.dumps(event))

        server.on_message(from_server)

    page.route_web_socket(re.compile(r".*/ws/voice/.*"), route)
    sign_in(page, ballsy.url + "/", ballsy.user)
    expect(page.locator(".bubble.user .text").last).to_have_text(XSS[1])
    expect(page.locator(".bubble.assistant .text").last).to_have_text(XSS[2])
    expect(page.locator("#conversation").locator("img, script, svg")).to_have_count(0)
    assert page.evaluate("window.__xss") is None
    page.close()


def test_oversized_input_is_refused_by_the_page_and_the_server(page: Page) -> None:
    command = page.get_by_label("Type a command")
    message = page.locator("#command-message")
    expect(command).to_have_attribute("maxlength", "1000")
    command.fill("")
    command.evaluate(
        """(input) => {
          const data = new DataTransfer();
          data.setData('text/plain', 'x'.repeat(5000));
          input.dispatchEvent(new ClipboardEvent('paste', {clipboardData: data,
                                                           bubbles: true, cancelable: true}));
        }"""
    )
    expect(command).to_have_value("")
    expect(message).to_contain_text("That paste is 5,000 characters")
    expect(message).to_have_attribute("data-tone", "error")
    # Past the page's limit (as devtools could), the server's 422 is shown and the text
    # is kept for editing.
    command.evaluate("(input) => input.removeAttribute('maxlength')")
    command.fill("y" * 1500)
    command.press("Enter")
    expect(message).to_contain_text("(422)")
    expect(message).to_contain_text("the limit is 1000")
    expect(command).to_have_value("y" * 1500)
    shot(page, "09-oversized-command-refused")
    command.fill("")
    command.evaluate("(input) => input.setAttribute('maxlength', '1000')")


def test_reconnects_with_backoff_after_a_restart_close(page: Page, ballsy: Ballsy) -> None:
    status = page.locator("#status")
    before = page.evaluate("window.ballsyVoice.reconnects")

    async def restart(services: Any) -> int:
        # Every socket gets 1012; until reopen() new ones are refused the same way,
        # like a server that is still starting.
        closed: int = await services.connections.close_all()
        return closed

    async def reopen(services: Any) -> None:
        services.connections.closing = False

    assert ballsy.server.call(restart) >= 1
    expect(status).to_have_attribute("data-state", "reconnecting", timeout=5_000)
    page.wait_for_function(
        "(least) => window.ballsyVoice.reconnects >= least", arg=before + 2, timeout=10_000
    )
    shot(page, "10-reconnecting")
    ballsy.server.call(reopen)
    expect(status).to_have_attribute("data-state", "connected", timeout=20_000)
    voice = page.evaluate("window.ballsyVoice")
    assert voice["lastClose"]["code"] == 1012
    first, second = voice["delays"][before : before + 2]
    assert 400 <= first <= 600 and 800 <= second <= 1200, voice["delays"]


def test_phone_sized_screen(browser: Browser, ballsy: Ballsy) -> None:
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    sign_in(page, ballsy.url + "/", ballsy.user)
    expect(page.locator("#status")).to_have_attribute("data-state", "connected")
    send(page, "what is twelve plus seven")
    expect(page.locator(".bubble.assistant .text").last).to_contain_text("19")
    send(page, "play relaxing jazz on Spotify")
    expect(page.locator(".link-card")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    for control in (page.locator("#talk"), page.get_by_role("button", name="Send")):
        box = control.bounding_box()
        assert box and box["height"] >= 44 and box["y"] + box["height"] <= 844
    shot(page, "11-phone-client")
    page.get_by_role("tab", name="Settings").click()
    shot(page, "12-phone-settings")
    context.close()


def test_a_denied_microphone_is_explained(playwright_driver: Playwright, ballsy: Ballsy) -> None:
    # Without --use-fake-ui-for-media-stream, headless Chromium denies the permission.
    browser = launch(playwright_driver)
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        sign_in(page, ballsy.url + "/", ballsy.user)
        talk = page.locator("#talk")
        talk.click()
        alert = page.get_by_role("alert").filter(has_text="Microphone access is blocked")
        expect(alert).to_be_visible()
        expect(talk).to_have_attribute("aria-pressed", "false")
        expect(page.locator("#status")).not_to_have_attribute("data-state", "listening")
        shot(page, "13-microphone-denied")
    finally:
        browser.close()


def test_accessibility_basics(page: Page) -> None:
    report = page.evaluate(ACCESSIBILITY)
    assert report == {"unlabelled": [], "low": []}, report
    assert page.locator("#conversation").get_attribute("aria-live") == "polite"
    assert page.locator("#status").get_attribute("role") == "status"
    page.locator("#talk").focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")  # reached by keyboard, so :focus-visible applies
    outline = page.locator("#talk").evaluate(
        "(e) => e === document.activeElement && getComputedStyle(e).outlineStyle"
    )
    assert outline == "solid"  # a visible focus ring


def test_the_dashboard_is_refused_to_a_user(page: Page, ballsy: Ballsy) -> None:
    page.goto(ballsy.url + "/admin")  # same tab: still signed in as a user
    expect(page.locator("#forbidden")).to_contain_text("not an administrator")
    expect(page.locator("#admin")).to_be_hidden()
