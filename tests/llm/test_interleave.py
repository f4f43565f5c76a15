"""The local LLM's token scheduler, with fake replies: who is advanced when."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from ballsy.llm.interleave import LEAD_HOLD_S, TokenScheduler, lead_done
from ballsy.realtime.session.sentences import SentenceBuffer
from ballsy.scheduling import Lane, LeadWork, WorkTag


class FakeReply:
    """A reply of ``tokens`` steps; its first ``lead`` steps are its first clause."""

    def __init__(
        self,
        log: list[str],
        name: str,
        owner: str,
        *,
        tokens: int,
        lead: int = 2,
        lane: Lane = Lane.INTERACTIVE,
    ) -> None:
        self.log, self.name = log, name
        self.tag = WorkTag(owner, lane)
        self.cancelled = threading.Event()
        self.done = threading.Event()
        self.context: Any = None
        self.error: BaseException | None = None
        self._left, self._lead = tokens, lead

    @property
    def model(self) -> str:
        return "m"

    @property
    def leading(self) -> bool:
        return self._lead > 0

    def start(self, llama: Any) -> None:
        self.context = llama

    def step(self) -> bool:
        if self.cancelled.is_set():
            self.done.set()
            return False
        self.log.append(self.name)
        self._left -= 1
        self._lead -= 1
        if self._left <= 0:
            self.done.set()
            return False
        return True

    def fail(self, exc: BaseException) -> None:
        self.error = exc
        self.done.set()


class Gate:
    """A model loader that holds the scheduler until every reply was submitted."""

    def __init__(self) -> None:
        self.open = threading.Event()
        self.loads = 0

    def __call__(self, model: Any) -> Any:
        self.open.wait(10)
        self.loads += 1
        return object()


class Context:
    def close(self) -> None:
        pass


def fork(_primary: Any) -> Context:
    return Context()


def wait_for_steps(log: list[str], count: int) -> None:
    """Until the scheduler thread has taken ``count`` steps (10 s at most)."""
    deadline = time.monotonic() + 10
    while len(log) < count and time.monotonic() < deadline:
        time.sleep(0.001)


@pytest.fixture
def gate() -> Gate:
    return Gate()


def run(scheduler: TokenScheduler, gate: Gate, replies: list[FakeReply]) -> None:
    for reply in replies:
        scheduler.submit(reply)
    gate.open.set()
    for reply in replies:
        assert reply.done.wait(10)
    scheduler.close()


def test_every_first_clause_comes_before_the_rest_of_any_reply(gate: Gate) -> None:
    log: list[str] = []
    scheduler = TokenScheduler(parallel=4, load=gate, fork=fork)
    replies = [FakeReply(log, f"r{n}", f"user{n}", tokens=10, lead=3) for n in range(4)]
    run(scheduler, gate, replies)
    # 4 replies x 3 lead steps: all leads are served first (the first reply's own first
    # step started the gate), whatever their arrival.
    leads = log[:12]
    assert sorted(leads) == sorted([f"r{n}" for n in range(4)] * 3)
    assert log.count("r0") == 10 and len(log) == 40


def test_first_clauses_arriving_together_are_finished_one_at_a_time(gate: Gate) -> None:
    log: list[str] = []
    scheduler = TokenScheduler(parallel=4, load=gate, fork=fork)
    replies = [FakeReply(log, f"r{n}", f"user{n}", tokens=6, lead=3) for n in range(4)]
    run(scheduler, gate, replies)
    # Taken in turn token by token, all four first clauses would end at step ~12; one
    # at a time, the k-th ends at step 3k, and the rest follow.
    leads = log[:12]
    assert [leads[i : i + 3] for i in range(0, 12, 3)] == [
        [name] * 3 for name in dict.fromkeys(leads)
    ]


def test_a_spoken_reply_goes_before_text_replies_first_pieces(gate: Gate) -> None:
    log: list[str] = []
    scheduler = TokenScheduler(parallel=4, load=gate, fork=fork)
    text = [FakeReply(log, f"text{n}", f"t{n}", tokens=4, lead=2) for n in range(3)]
    spoken = FakeReply(log, "spoken", "v", tokens=4, lead=2, lane=Lane.LEAD)
    run(scheduler, gate, [*text, spoken])
    # The first text reply may have taken the first step (it came first, alone); then
    # the spoken reply goes, first piece and rest, before any text reply's next step.
    first = log.index("spoken")
    assert first <= 1 and log[first : first + 4] == ["spoken"] * 4


def test_a_flooding_user_gets_one_step_in_two(gate: Gate) -> None:
    log: list[str] = []
    scheduler = TokenScheduler(parallel=8, load=gate, fork=fork)
    flood = [FakeReply(log, "flood", "flooder", tokens=20, lead=0) for _ in range(6)]
    victim = FakeReply(log, "victim", "victim", tokens=8, lead=0)
    run(scheduler, gate, [*flood, victim])
    first_victim = log.index("victim")
    last_victim = len(log) - 1 - log[::-1].index("victim")
    assert first_victim <= 1
    # Alone it would take 8 steps; beside six flooding replies it takes 16 at most,
    # not the 6 x 20 a first-come-first-served queue would make it wait.
    assert last_victim - first_victim <= 15


def test_one_users_backlog_leaves_a_context_for_a_newcomer(gate: Gate) -> None:
    log: list[str] = []
    scheduler = TokenScheduler(parallel=3, load=gate, fork=fork)
    # Replies far longer than the test: the flood is still on when the victim comes.
    flood = [FakeReply(log, f"flood{n}", "flooder", tokens=10**7, lead=2) for n in range(5)]
    for reply in flood:
        scheduler.submit(reply)
    gate.open.set()
    wait_for_steps(log, 10)  # the flood is under way
    victim = FakeReply(log, "victim", "victim", tokens=4, lead=0)
    scheduler.submit(victim)
    assert victim.done.wait(10)
    # Each flood reply takes a context for its first clause, but the flooder holds two
    # of the three contexts, never the last one: the victim starts at once instead of
    # waiting for a flood reply to end.
    started = log.index("victim")
    assert set(log[:started]) == {"flood0", "flood1"}
    assert log[started:].index("victim", 1) <= 3  # and is served in turn after that
    for reply in flood:
        reply.cancelled.set()
    for reply in flood:
        assert reply.done.wait(10)
    scheduler.close()


def test_while_a_turn_is_transcribed_only_first_clauses_advance(gate: Gate) -> None:
    log: list[str] = []
    lead = LeadWork()
    scheduler = TokenScheduler(parallel=4, load=gate, fork=fork, lead=lead)
    rest = FakeReply(log, "rest", "a", tokens=10**7, lead=0)
    scheduler.submit(rest)
    gate.open.set()
    wait_for_steps(log, 1)
    with lead.running():  # another model works on someone's first audio
        started = time.monotonic()
        time.sleep(0.05)
        before = len(log)
        first = FakeReply(log, "first", "b", tokens=3, lead=3, lane=Lane.LEAD)
        scheduler.submit(first)
        assert first.done.wait(10)  # a spoken reply's first clause still goes on ...
        assert log[before:] == ["first"] * 3  # ... while the rest of the other waits,
        while len(log) == before + 3 and time.monotonic() - started < 5:
            time.sleep(0.005)
        resumed_after = time.monotonic() - started
    # ... for LEAD_HOLD_S at most: then it goes on even though the lead work does not end.
    assert LEAD_HOLD_S * 0.8 <= resumed_after < LEAD_HOLD_S + 1
    rest.cancelled.set()
    assert rest.done.wait(10)
    scheduler.close()


def test_background_work_waits_for_interactive(gate: Gate) -> None:
    log: list[str] = []
    scheduler = TokenScheduler(parallel=2, load=gate, fork=fork)
    job = FakeReply(log, "job", "a", tokens=3, lead=3, lane=Lane.BACKGROUND)
    chat = FakeReply(log, "chat", "b", tokens=3, lead=0)
    run(scheduler, gate, [job, chat])
    # The job may have had the first step (it was alone when it arrived).
    assert log[-3:] == ["job"] * 3 or log[1:4] == ["chat"] * 3


def test_contexts_are_bounded_and_reused(gate: Gate) -> None:
    log: list[str] = []
    scheduler = TokenScheduler(parallel=2, load=gate, fork=fork)
    replies = [FakeReply(log, f"r{n}", f"u{n}", tokens=3) for n in range(5)]
    for reply in replies:
        scheduler.submit(reply)
    gate.open.set()
    for reply in replies:
        assert reply.done.wait(10)
    assert scheduler.contexts("m") == 2
    assert len({id(reply.context) for reply in replies}) <= 2
    scheduler.close()


def test_a_reply_cancelled_while_waiting_never_gets_a_context(gate: Gate) -> None:
    log: list[str] = []
    scheduler = TokenScheduler(parallel=1, load=gate, fork=fork)
    first = FakeReply(log, "first", "a", tokens=3)
    gone = FakeReply(log, "gone", "b", tokens=3)
    scheduler.submit(first)
    scheduler.submit(gone)
    gone.cancelled.set()
    gate.open.set()
    assert first.done.wait(10) and gone.done.wait(10)
    assert "gone" not in log and gone.context is None
    scheduler.close()


def test_a_cancelled_reply_ends_at_once_even_while_other_steps_are_held(gate: Gate) -> None:
    log: list[str] = []
    lead = LeadWork()
    scheduler = TokenScheduler(parallel=2, load=gate, fork=fork, lead=lead)
    gone = FakeReply(log, "gone", "b", tokens=10**7, lead=1)
    scheduler.submit(gone)
    gate.open.set()
    wait_for_steps(log, 3)
    with lead.running():  # only first clauses advance now ...
        gone.cancelled.set()  # ... but a reply whose caller left is ended, not held
        assert gone.done.wait(LEAD_HOLD_S / 2)
        newcomer = FakeReply(log, "newcomer", "c", tokens=2, lead=2, lane=Lane.LEAD)
        scheduler.submit(newcomer)
        assert newcomer.done.wait(LEAD_HOLD_S / 2)
    assert scheduler.in_progress == 0
    scheduler.close()


def test_a_failed_load_fails_the_reply_not_the_scheduler() -> None:
    calls = []

    def load(model: Any) -> Any:
        calls.append(model)
        if len(calls) == 1:
            raise RuntimeError("no model")
        return object()

    log: list[str] = []
    scheduler = TokenScheduler(parallel=1, load=load, fork=fork)
    broken = FakeReply(log, "broken", "a", tokens=2)
    scheduler.submit(broken)
    assert broken.done.wait(10)
    assert isinstance(broken.error, RuntimeError)
    fine = FakeReply(log, "fine", "a", tokens=2)
    scheduler.submit(fine)
    assert fine.done.wait(10) and fine.error is None
    scheduler.close()


@pytest.mark.parametrize(
    ("text", "tokens", "done"),
    [
        ("Sure", 1, False),
        ("The capital of France is Paris.", 7, False),  # complete once the next begins
        ("The capital of France is Paris. It", 8, True),
        ("It costs 3.", 4, False),  # "3." may yet be "3.5"
        ("Well, ", 2, False),  # a clause of one word is too short to speak alone
        ("If you leave now and hurry,", 7, False),
        ("If you leave now and hurry, ", 7, True),
        ("an endless run of words without any stop at all", 32, True),
    ],
)
def test_the_first_piece_ends_where_speech_could_start(text: str, tokens: int, done: bool) -> None:
    assert lead_done(text, tokens) is done


@pytest.mark.parametrize(
    "tokens",
    [
        ["The", " capital", " of", " France", " is", " Paris", ".", " It", " is"],
        ["Sure", ",", " here", " is", " one", ":", " why", " did", " the", " cat"],
        ["It", " costs", " 3", ".", "5", " euros", ".", " Anything", " else"],
        ["If", " you", " leave", " now", " and", " hurry", ",", " you", " will"],
        ["Hi", "!", " I", " am", " Ballsy", "."],
    ],
)
def test_the_lead_ends_on_the_token_that_lets_speech_start(tokens: list[str]) -> None:
    # The reply's sentence buffer decides when speech starts; the lead must last
    # exactly until then, or the token speech waits for is served after everyone's rest.
    buffer, text = SentenceBuffer(), ""
    speaks = leads = None
    for n, token in enumerate(tokens, start=1):
        text += token
        if speaks is None and buffer.push(token):
            speaks = n
        if leads is None and lead_done(text, n):
            leads = n
    assert leads == speaks
