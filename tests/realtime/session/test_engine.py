"""The conversation engine on fake ports: turn-taking, replies, failures, in virtual time."""

from __future__ import annotations

import asyncio

import pytest

from ballsy.errors import ServiceBusy
from ballsy.realtime.session.events import (
    Announcement,
    InputOverrun,
    Interrupted,
    ReplyAudio,
    ResponseStarted,
    SpeechStarted,
    SpeechStopped,
    TranscriptFinal,
    TurnEnded,
)
from ballsy.realtime.session.options import SessionOptions
from tests.realtime.session.fakes import (
    FakeLimiter,
    FakeResponder,
    FakeSynthesizer,
    FakeTranscriber,
    rig,
    silence,
    tone,
)

STORY = (
    "Once upon a time a dragon lived on a hill. It guarded a village from storms. "
    "Every winter it slept in a cave. In spring it flew over the fields. "
    "The children loved the dragon very much."
)


async def test_spoken_turn_is_answered_with_typed_timings() -> None:
    r = rig()
    await r.feed(tone(1.0))
    await r.feed(silence(0.6))
    ended = await r.until(TurnEnded)
    assert isinstance(ended, TurnEnded)
    kinds = [type(e) for e in r.collect()]
    assert kinds.index(SpeechStarted) < kinds.index(SpeechStopped) < kinds.index(TranscriptFinal)
    assert kinds.index(TranscriptFinal) < kinds.index(ResponseStarted) < kinds.index(ReplyAudio)
    assert ended.status == "completed" and ended.responded
    assert ended.text == "Twelve times seven is eighty four."
    assert r.responder.stored[0].heard == ended.text
    timings = ended.timings
    assert timings.eot_wait_ms is not None and 350 <= timings.eot_wait_ms <= 450
    assert timings.transcript_wait_ms is not None and timings.transcription_ms == 50.0
    assert timings.first_audio_ms is not None and timings.end_to_end_ms is not None
    assert timings.end_to_end_ms == pytest.approx(timings.eot_wait_ms + timings.first_audio_ms)
    assert timings.prepare_ms == 1.0  # the assistant's own stages are merged in
    assert r.limiter.admitted == ["ada"]


async def test_speculative_transcript_is_used_when_the_pause_ends_the_turn() -> None:
    r = rig()
    await r.feed(tone(1.0))
    await r.feed(silence(0.6))
    await r.until(TurnEnded)
    assert len(r.transcriber.calls) == 1  # the guess started in the pause was the transcript


async def test_speech_resuming_invalidates_the_guess() -> None:
    r = rig(transcriber=FakeTranscriber("what is twelve", "what is twelve times seven"))
    await r.feed(tone(0.8))
    await r.feed(silence(0.3))  # long enough to guess, too short to end the turn
    assert len(r.transcriber.calls) == 1
    await r.feed(tone(0.8))
    await r.feed(silence(0.6))
    final = await r.until(TranscriptFinal)
    assert isinstance(final, TranscriptFinal)
    assert final.text == "what is twelve times seven"
    assert len(r.of(SpeechStopped)) == 1  # one turn, not two


async def test_one_transcription_in_flight_even_when_a_guess_is_dropped() -> None:
    transcriber = FakeTranscriber("first guess", "the whole question")
    transcriber.gate = asyncio.Event()
    r = rig(transcriber=transcriber)
    await r.feed(tone(0.8))
    await r.feed(silence(0.3))  # guess 1 starts and hangs
    await r.feed(tone(0.5))  # stale now, but still running on its thread
    await r.feed(silence(0.3))  # no second guess while the first runs
    assert len(transcriber.calls) == 1
    await r.feed(silence(0.3))  # the turn ends: its transcription waits for the slot
    assert len(r.of(SpeechStopped)) == 1
    assert len(transcriber.calls) == 1
    transcriber.gate.set()
    final = await r.until(TranscriptFinal)
    assert isinstance(final, TranscriptFinal) and final.text == "the whole question"
    assert transcriber.max_in_flight == 1


async def test_barge_in_mid_sentence_stores_only_the_heard_words() -> None:
    r = rig(responder=FakeResponder(STORY))
    r.session.submit_text("tell me a story")
    await r.until(ReplyAudio, count=20)  # two seconds of the story have been sent
    await r.feed(tone(0.5))  # the user talks over it
    ended = await r.until(TurnEnded)
    assert isinstance(ended, TurnEnded) and ended.status == "cancelled"
    interrupted = r.of(Interrupted)[0]
    assert 0 < interrupted.played_ms < 5000
    heard = r.responder.stored[0].heard
    assert heard and STORY.startswith(heard.rsplit(" ", 1)[0]) and len(heard) < len(STORY)
    assert heard == ended.text == interrupted.played_text
    assert r.responder.stored[0].interrupted
    assert r.responder.turns[0].closed  # generation was stopped


async def test_truncate_keeps_what_the_client_played() -> None:
    r = rig(responder=FakeResponder(STORY))
    turn_id = r.session.submit_text("tell me a story")
    ended = await r.until(TurnEnded)
    assert isinstance(ended, TurnEnded) and ended.status == "completed"
    heard = await r.session.truncate(turn_id, 3000)
    assert heard and STORY.startswith(heard) and len(heard) < len(STORY)
    assert r.responder.amended == [(1, heard)]
    with pytest.raises(Exception, match="outside"):
        await r.session.truncate(turn_id, 10_000_000)


async def test_cancel_ends_the_turn_as_cancelled() -> None:
    r = rig(responder=FakeResponder(STORY))
    r.session.submit_text("tell me a story")
    await r.until(ReplyAudio, count=3)
    r.session.interrupt()
    ended = await r.until(TurnEnded)
    assert isinstance(ended, TurnEnded) and ended.status == "cancelled" and ended.responded
    assert len(r.responder.stored) == 1


async def test_llm_raising_a_plain_error_fails_the_turn_and_the_session_goes_on() -> None:
    r = rig(responder=FakeResponder(STORY, fail_after=6))
    r.session.submit_text("tell me a story")
    ended = await r.until(TurnEnded)
    assert isinstance(ended, TurnEnded) and ended.status == "failed"
    assert ended.error is not None and ended.error.code == "internal_error"
    assert "llama" not in ended.error.message  # raw library text never reaches the client
    stored = r.responder.stored[0]
    assert stored.interrupted and STORY.startswith(stored.heard)
    r.responder.fail_after = None
    r.session.submit_text("what is twelve times seven")
    second = await r.until(TurnEnded, count=2)
    assert isinstance(second, TurnEnded) and second.status == "completed"


async def test_tts_raising_fails_the_turn_without_counting_unheard_text() -> None:
    r = rig(synthesizer=FakeSynthesizer(fail_on=1), responder=FakeResponder(STORY))
    r.session.submit_text("tell me a story")
    ended = await r.until(TurnEnded)
    assert isinstance(ended, TurnEnded) and ended.status == "failed"
    heard = r.responder.stored[0].heard
    assert heard == "Once upon a time a dragon lived on a hill."  # only the spoken sentence
    assert ended.full_text == STORY


async def test_failed_transcription_ends_the_turn_with_its_code() -> None:
    transcriber = FakeTranscriber()
    transcriber.fail = ServiceBusy("the speech engine is busy; retry shortly")
    r = rig(transcriber=transcriber)
    await r.feed(tone(1.0))
    await r.feed(silence(0.6))
    ended = await r.until(TurnEnded)
    assert isinstance(ended, TurnEnded) and ended.status == "failed" and not ended.responded
    assert ended.error is not None and ended.error.code == "busy"


async def test_the_turn_limit_is_checked_before_transcribing() -> None:
    r = rig(limiter=FakeLimiter(allow=0), options=SessionOptions(server_vad=False))
    r.session.feed_audio(b"\x00\x10" * 8000)
    turn_id = await r.session.commit()
    ended = await r.until(TurnEnded)
    assert isinstance(ended, TurnEnded) and ended.turn_id == turn_id
    assert ended.error is not None and ended.error.code == "rate_limited"
    assert r.transcriber.calls == []


async def test_audio_faster_than_real_time_is_dropped_then_closed() -> None:
    r = rig()
    second = silence(1.0)
    await r.feed(second, realtime=False)
    await r.feed(second, realtime=False)  # the 2 s head start
    assert r.of(InputOverrun) == []
    await r.feed(second, realtime=False)
    overruns = r.of(InputOverrun)
    assert len(overruns) == 1 and not overruns[0].close  # told once, not per frame
    for _ in range(6):
        r.clock.advance(1.0)  # 1.2 s allowed per second: still far behind the flood
        await r.feed(silence(3.0), realtime=False)
    closes = [event for event in r.of(InputOverrun) if event.close]
    assert len(closes) == 1  # asked once, then the listener hears nothing more
    assert not r.session.feed_audio(b"\x00\x00" * 160)


async def test_audio_at_real_time_is_never_dropped() -> None:
    r = rig()
    await r.feed(silence(20.0))
    assert r.of(InputOverrun) == [] and r.session.input_dropped_ms == 0


async def test_close_persists_the_reply_in_flight() -> None:
    r = rig(responder=FakeResponder(STORY))
    r.session.submit_text("tell me a story")
    await r.until(ReplyAudio, count=3)
    await r.session.close()
    assert len(r.responder.stored) == 1 and r.responder.stored[0].interrupted
    assert isinstance(r.collect()[-1], TurnEnded)


async def test_manual_turn_taking_accepts_a_whole_recorded_turn_at_once() -> None:
    r = rig(options=SessionOptions(server_vad=False))
    await r.feed(tone(20.0), realtime=False)  # a 20 s recording appended in one go
    assert r.of(InputOverrun) == []
    assert await r.session.commit() is not None
    await r.feed(tone(70.0), realtime=False)  # but not more than a turn can hold
    assert r.of(InputOverrun)


async def test_an_announcement_waits_for_the_turn_in_progress_then_speaks() -> None:
    r = rig(responder=FakeResponder(STORY))
    r.session.submit_text("tell me a story")
    await r.until(ReplyAudio, count=2)
    notice_id = r.session.announce("Your pasta timer is done.", kind="timer")
    first = await r.until(TurnEnded)
    assert isinstance(first, TurnEnded) and first.status == "completed"  # not interrupted
    announced = await r.until(Announcement)
    assert isinstance(announced, Announcement) and announced.turn_id == notice_id
    second = await r.until(TurnEnded, count=2)
    assert isinstance(second, TurnEnded) and second.turn_id == notice_id
    assert second.text == "Your pasta timer is done." and second.handled_by == "notice:timer"
    assert len(r.responder.stored) == 1  # the announcer keeps its own record
