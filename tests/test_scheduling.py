"""The fair order of shared-model work: lanes first, then users in turn, then arrival."""

from __future__ import annotations

import asyncio
import threading
import time

from ballsy.scheduling import (
    LEAD_WORK,
    FairQueue,
    Lane,
    LeadWork,
    WorkTag,
    current_work,
    in_lane,
    lead_call,
    work_for,
)


def take_all(queue: FairQueue[str], count: int) -> list[str]:
    return [item for _ in range(count) if (item := queue.get()) is not None]


def test_lanes_come_first_then_users_take_turns() -> None:
    queue: FairQueue[str] = FairQueue()
    for n in range(4):
        queue.put(f"flood-{n}", WorkTag("flooder"))
    queue.put("other-rest", WorkTag("other"))
    queue.put("other-lead", WorkTag("other", Lane.LEAD))
    queue.put("job", WorkTag("other", Lane.BACKGROUND))
    order = take_all(queue, 7)
    assert order[0] == "other-lead"
    # After the lead, the two users alternate: the flooder's backlog does not push the
    # other user's call behind all of it.
    assert order[1:4] in (
        ["flood-0", "other-rest", "flood-1"],
        ["other-rest", "flood-0", "flood-1"],
    )
    assert order[4:6] == ["flood-2", "flood-3"]
    assert order[-1] == "job"


def test_one_user_is_served_in_arrival_order() -> None:
    queue: FairQueue[str] = FairQueue()
    for n in range(5):
        queue.put(str(n), WorkTag("u"))
    assert take_all(queue, 5) == ["0", "1", "2", "3", "4"]


def test_close_wakes_waiting_workers_and_returns_what_was_left() -> None:
    queue: FairQueue[str] = FairQueue()
    got: list[str | None] = []
    worker = threading.Thread(target=lambda: got.append(queue.get()))
    worker.start()
    assert queue.close() == []
    worker.join(timeout=5)
    assert got == [None]
    leftover: FairQueue[str] = FairQueue()
    leftover.put("a", WorkTag("u"))
    assert leftover.close() == ["a"]


async def test_the_tag_follows_tasks_and_lanes_are_scoped() -> None:
    async def child() -> WorkTag:
        return current_work()

    async def session() -> tuple[WorkTag, WorkTag, WorkTag]:
        work_for("alice")
        with in_lane(Lane.LEAD):
            lead = await asyncio.create_task(child())
        return lead, await asyncio.create_task(child()), current_work()

    lead, later, own = await asyncio.create_task(session())
    assert lead == WorkTag("alice", Lane.LEAD)
    assert later == own == WorkTag("alice", Lane.INTERACTIVE)
    assert current_work().owner == ""  # the caller's context was never touched


def test_lead_calls_are_counted_across_threads_and_others_are_not() -> None:
    lead = LeadWork()
    with lead_call(WorkTag("u", Lane.INTERACTIVE)):
        assert not LEAD_WORK.busy
    entered, leave = threading.Event(), threading.Event()

    def transcribe() -> None:
        with lead.running():
            entered.set()
            leave.wait(5)

    worker = threading.Thread(target=transcribe)
    worker.start()
    assert entered.wait(5) and lead.busy
    started = time.monotonic()
    lead.hold_back(0.05)  # bounded: the lead call is still running
    assert lead.busy and time.monotonic() - started >= 0.04
    leave.set()
    lead.hold_back(5)  # returns as soon as it ends
    worker.join()
    assert not lead.busy
    with lead_call(WorkTag("u", Lane.LEAD)):
        assert LEAD_WORK.busy
    assert not LEAD_WORK.busy
