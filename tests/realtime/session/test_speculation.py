"""Semantic end of turn and speculative replies, on fake ports in virtual time."""

from __future__ import annotations

from dataclasses import replace

from ballsy.realtime.session.events import (
    Interrupted,
    ReplyAudio,
    ResponseStarted,
    SpeculationEnded,
    SpeechStopped,
    TranscriptFinal,
    TurnEnded,
)
from ballsy.realtime.session.options import SessionOptions
from ballsy.realtime.session.turns import TurnWaits
from ballsy.speech.vad import TurnConfig
from tests.realtime.session.fakes import (
    FakeJudge,
    FakeResponder,
    FakeTranscriber,
    Rig,
    rig,
    silence,
    tone,
)

STORY = "Once upon a time a dragon lived on a hill. It guarded a village from storms."
VAD = TurnConfig(silence_ms=400, min_speech_ms=100, prefix_padding_ms=100)


def semantic(**changes: object) -> SessionOptions:
    return SessionOptions(
        vad=VAD, turn_mode="semantic", waits=TurnWaits(unsure_ms=900, max_ms=4000), **changes
    )


async def pause_until_turn_ends(r: Rig, limit_s: float = 6.0) -> float:
    """Live silence, 20 ms at a time, until the turn ends; returns the pause length."""
    waited = 0.0
    while not r.of(SpeechStopped) and waited < limit_s:
        await r.feed(silence(0.02))
        waited += 0.02
    return waited


async def test_a_finished_command_ends_the_turn_at_the_first_pause() -> None:
    r = rig(options=semantic(), judge=FakeJudge(0.9))
    await r.feed(tone(1.0))
    waited = await pause_until_turn_ends(r)
    assert waited < 0.35  # not the 400 ms of fixed silence, let alone 4 s
    ended = await r.until(TurnEnded)
    assert isinstance(ended, TurnEnded) and ended.status == "completed"
    assert ended.timings.eot_wait_ms is not None and ended.timings.eot_wait_ms < 350
    assert ended.timings.turn_decision_ms is not None


async def test_a_hesitation_is_not_cut_off() -> None:
    transcriber = FakeTranscriber(
        "I would like to know.", "I would like to know how far the moon is."
    )
    r = rig(options=semantic(), judge=FakeJudge(0.05), transcriber=transcriber)
    await r.feed(tone(1.0))
    await r.feed(silence(0.7))  # a 700 ms pause mid-sentence: unsure, so it waits
    assert not r.of(SpeechStopped)
    await r.feed(tone(1.0))
    waited = await pause_until_turn_ends(r)
    assert 0.85 <= waited <= 1.0  # the unsure wait, once they really stopped
    final = await r.until(TranscriptFinal)
    assert isinstance(final, TranscriptFinal)
    assert final.text == "I would like to know how far the moon is."
    assert len(r.of(SpeechStopped)) == 1


async def test_trailing_words_wait_for_the_rest() -> None:
    transcriber = FakeTranscriber("Add eggs and")
    r = rig(options=semantic(), judge=FakeJudge(0.9), transcriber=transcriber)
    await r.feed(tone(1.0))
    await r.feed(silence(2.0))
    assert not r.of(SpeechStopped)  # "and …": they are still going, up to the longest wait
    waited = await pause_until_turn_ends(r)
    assert r.of(SpeechStopped) and 1.9 <= waited + 2.0 <= 4.1


async def test_a_confirmed_speculative_reply_speaks_at_once() -> None:
    r = rig(options=semantic(), judge=FakeJudge(0.05))  # unsure: 900 ms to answer meanwhile
    await r.feed(tone(1.0))
    await pause_until_turn_ends(r)
    ended = await r.until(TurnEnded)
    assert isinstance(ended, TurnEnded) and ended.status == "completed"
    assert ended.timings.first_audio_ms is not None and ended.timings.first_audio_ms < 30
    assert len(r.responder.turns) == 1 and len(r.transcriber.calls) == 1
    assert len(r.responder.stored) == 1
    used = r.of(SpeculationEnded)
    assert len(used) == 1 and used[0].used


async def test_a_wrong_guess_is_dropped_unseen_and_unstored() -> None:
    transcriber = FakeTranscriber("What is twelve.", "What is twelve times seven?")
    r = rig(options=semantic(), judge=FakeJudge(0.05), transcriber=transcriber)
    await r.feed(tone(1.0))
    await r.feed(silence(0.5))  # unsure: the speculative reply is prepared…
    assert len(r.responder.turns) == 1
    await r.feed(tone(0.6))  # …and the user speaks on
    await pause_until_turn_ends(r)
    await r.until(TurnEnded)
    wasted = [event for event in r.of(SpeculationEnded) if not event.used]
    assert len(wasted) == 1
    started = {event.turn_id for event in r.of(ResponseStarted)}
    assert wasted[0].turn_id not in started  # nothing of the wrong reply was sent
    assert [stored.text for stored in r.responder.stored] == ["What is twelve times seven?"]
    assert r.responder.turns[0].closed  # its generation was stopped


async def test_fixed_silence_mode_still_speculates() -> None:
    r = rig(options=SessionOptions(vad=VAD, turn_mode="fixed"))
    await r.feed(tone(1.0))
    waited = await pause_until_turn_ends(r)
    assert 0.38 <= waited <= 0.45
    await r.until(TurnEnded)
    assert r.of(SpeculationEnded)[0].used


async def test_barge_in_on_a_confirmed_speculative_reply() -> None:
    r = rig(options=semantic(), judge=FakeJudge(0.05), responder=FakeResponder(STORY))
    await r.feed(tone(1.0))
    await pause_until_turn_ends(r)
    await r.until(ReplyAudio, count=15)
    await r.feed(tone(0.5))
    ended = await r.until(TurnEnded)
    assert isinstance(ended, TurnEnded) and ended.status == "cancelled"
    heard = r.responder.stored[0].heard
    assert heard and STORY.startswith(heard) and len(heard) < len(STORY)
    assert r.of(Interrupted)[0].played_text == heard


async def test_switching_turn_detection_restarts_listening() -> None:
    r = rig(options=semantic(), judge=FakeJudge(0.9))
    r.session.update(replace(r.session.options, turn_mode="fixed"))
    await r.feed(tone(1.0))
    waited = await pause_until_turn_ends(r)
    assert 0.38 <= waited <= 0.45  # fixed silence now, not the verdict at 200 ms
