"""Reply pacing and what-was-heard, in virtual time."""

from __future__ import annotations

import asyncio

from ballsy.realtime.session.playout import Playout
from tests.realtime.session.fakes import FakeClock


async def test_frames_beyond_the_lead_wait_for_playback_time() -> None:
    clock = FakeClock()
    playout = Playout(lead_s=0.25, clock=clock)
    playout.begin_piece("one two three four")
    for _ in range(3):  # 0.3 s go out at once (lead 0.25 s + the frame that crosses it)
        await asyncio.wait_for(playout.wait_for_slot(0.1), 0.1)
    waiting = asyncio.ensure_future(playout.wait_for_slot(0.1))
    await asyncio.sleep(0)
    assert not waiting.done()
    clock.advance(0.05)
    await asyncio.sleep(0)
    assert waiting.done()
    assert playout.queued_s == 0.4


async def test_played_text_counts_whole_pieces_then_a_share_of_words() -> None:
    clock = FakeClock()
    playout = Playout(lead_s=10.0, clock=clock)
    playout.begin_piece("Hello there.")
    for _ in range(10):
        await playout.wait_for_slot(0.1)
    playout.begin_piece("one two three four")
    for _ in range(10):
        await playout.wait_for_slot(0.1)
    assert playout.played_text(0.4) == ""
    assert playout.played_text(0.5) == "Hello"
    assert playout.played_text(1.0) == "Hello there."
    assert playout.played_text(1.5) == "Hello there. one two"
    assert playout.played_text(5.0) == "Hello there. one two three four"
    clock.advance(1.26)
    assert playout.played_s() == 1.26 or abs(playout.played_s() - 1.26) < 1e-6
    assert playout.played_text() == "Hello there. one"


def test_nothing_played_before_the_first_frame() -> None:
    playout = Playout(clock=FakeClock())
    assert playout.played_s() == 0.0 and playout.played_text() == ""
