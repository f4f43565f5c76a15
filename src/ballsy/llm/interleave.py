"""Token-level interleaving of local-LLM replies: every session's first clause first.

llama.cpp runs one context on one thread, and a context holds one conversation's
evaluated tokens. Run requests one after the other and a long answer holds back every
other session's first word; switch one context between requests and each switch
re-evaluates (or copies) a whole prompt state. Instead each model gets up to
``parallel`` *contexts* over the same loaded weights (:func:`sibling_context`: ~130 MB
of KV cache and buffers each, made only when that many replies are in progress), and
one scheduler thread advances the replies one streamed token at a time, choosing each
time the most urgent:

1. a reply that has not yet produced its first speakable piece (a sentence, or a
   clause of a few words — what speech starts with) goes before the rest of any
   reply; a reply that will be spoken (made in ``Lane.LEAD``: a voice session's),
   first piece and rest, before a text one — time to first audio first. A first
   piece under way is finished before the next starts (at most ``LEAD_MAX_TOKENS``):
   five users' first words, taken in turn token by token, would all come as late as
   the last;
2. within a lane, users take turns (:class:`~ballsy.scheduling.RoundRobin`): the next
   first piece is the one of the user served longest ago, and one user with ten
   replies in progress gets one step in two of the rest, not ten in eleven;
3. then arrival order.

Background work (``Lane.BACKGROUND``) only runs when nothing interactive can. And
while another shared model runs lead work (a user's turn being transcribed:
:data:`~ballsy.scheduling.LEAD_WORK`), only spoken first pieces are advanced, for up to
``LEAD_HOLD_S``: on a CPU box the LLM thread would otherwise take a core from the
transcription that the next reply waits for. A reply
that finds every context busy waits for one; while it waits, it cannot be served —
a freed context goes to the most urgent waiting reply by the same order, and the last
free context only to a user who holds none (so one user has at most
``parallel - 1`` replies in progress at once, and a newcomer never waits for a whole
reply to end).
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import re
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Protocol

import numpy as np

from ballsy.observability.logging import get_logger
from ballsy.scheduling import LEAD_WORK, Lane, LeadWork, RoundRobin, WorkTag
from ballsy.speech.tts import split_sentences

log = get_logger("ballsy.llm.interleave")

_CLAUSE_END = re.compile(r"[,;:\u2014]\s+")
LEAD_MIN_CLAUSE_WORDS = 5
"""A clause this long may be spoken on its own (as ``realtime.session.sentences`` does)."""
LEAD_MAX_TOKENS = 32
"""A first piece longer than this gets no more priority than the rest of a reply."""
LEAD_HOLD_S = 0.5
"""While another model works on a turn's first audio (a transcription), other replies'
steps wait — first clauses go on — for at most this long per run of such work."""
HOLD_POLL_S = 0.01


def lead_done(text: str, tokens: int) -> bool:
    """Whether a reply's text so far holds a first piece speech could start with.

    The rules are the reply's sentence buffer's (``realtime.session.sentences``): a
    sentence is complete once the next one has begun ("3." may yet be "3.5"), a clause
    once the whitespace after its comma came. The spoken-text filter before it
    (``assistant.spoken``) releases text a few words late, so speech may need a few
    tokens more: a spoken reply's rest therefore ranks above text replies' first
    pieces (:class:`_Level`), and those tokens never wait behind a text flood.
    """
    if tokens >= LEAD_MAX_TOKENS or len(split_sentences(text)) > 1:
        return True
    return any(
        len(text[: match.start()].split()) >= LEAD_MIN_CLAUSE_WORDS
        for match in _CLAUSE_END.finditer(text)
    )


class Generation(Protocol):
    """One request's reply, advanced a step at a time on the scheduler's thread."""

    tag: WorkTag

    @property
    def model(self) -> Hashable:
        """Which model's contexts it runs on."""
        ...

    cancelled: threading.Event
    """Its caller is gone: :meth:`step` ends it at once."""

    @property
    def leading(self) -> bool:
        """It has not yet produced its first speakable piece."""
        ...

    def start(self, llama: Any) -> None:
        """Bind to a context (nothing is evaluated yet)."""
        ...

    def step(self) -> bool:
        """Advance by one streamed token; False once finished (it reported its end)."""
        ...

    def fail(self, exc: BaseException) -> None:
        """End before it started (no context could be made)."""
        ...


def sibling_context(llama: Any) -> Any:
    """Another ``Llama`` over ``llama``'s loaded weights, with a context of its own.

    llama-cpp-python ties one context to each ``Llama``; loading the file again would
    duplicate the weights, so this copies the object and gives it a fresh llama.cpp
    context, batch and token buffers. It shares the model, the chat template and the
    prompt cache; closing it frees only its own context.
    """
    from llama_cpp import _internals as internals

    sibling = copy_object(llama)
    sibling._stack = contextlib.ExitStack()
    params = type(llama.context_params).from_buffer_copy(llama.context_params)
    sibling._ctx = sibling._stack.enter_context(
        contextlib.closing(internals.LlamaContext(model=llama._model, params=params, verbose=False))
    )
    sibling._batch = sibling._stack.enter_context(
        contextlib.closing(
            internals.LlamaBatch(
                n_tokens=llama.n_batch, embd=0, n_seq_max=params.n_ctx, verbose=False
            )
        )
    )
    sibling._candidates = internals.LlamaTokenDataArray(n_vocab=llama._n_vocab)
    sibling.input_ids = np.zeros_like(llama.input_ids)
    # Left unwritten, as llama.cpp-python allocates it (n_batch x n_vocab floats, ~300 MB
    # for a large vocabulary): only logprobs read it, and untouched pages cost nothing.
    sibling.scores = np.empty_like(llama.scores)
    sibling.n_tokens = 0
    sibling._requires_eval = True
    sibling._sampler = None
    sibling._mirostat_mu = ctypes.c_float(llama._mirostat_mu.value)
    return sibling


def copy_object(obj: Any) -> Any:
    clone = object.__new__(type(obj))
    clone.__dict__.update(obj.__dict__)
    return clone


@dataclass(eq=False)
class _Context:
    llama: Any
    primary: bool
    running: Generation | None = None
    last_owner: str | None = None
    last_used: int = 0


@dataclass(eq=False)
class _Entry:
    generation: Generation
    arrival: int
    context: _Context | None = None
    started: bool = False


class TokenScheduler:
    """The one thread that advances every local-LLM reply, most urgent first."""

    def __init__(
        self,
        *,
        parallel: int,
        load: Callable[[Any], Any],
        fork: Callable[[Any], Any] = sibling_context,
        lead: LeadWork = LEAD_WORK,
    ) -> None:
        """``load(model)``: the model's first context (its loaded ``Llama``);
        ``fork(llama)``: another context over the same weights, with a ``close()``;
        ``lead``: the lead calls of the other shared models, which hold back this
        scheduler's other steps (:class:`~ballsy.scheduling.LeadWork`)."""
        if parallel < 1:
            raise ValueError("parallel must be >= 1")
        self.parallel = parallel
        self._load = load
        self._fork = fork
        self._lead = lead
        self._contexts: dict[Hashable, list[_Context]] = {}
        self._entries: list[_Entry] = []
        self._order = RoundRobin()
        self._arrivals = itertools.count()
        self._uses = itertools.count(1)
        self._wake = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._serve, name="ballsy-llm", daemon=True)
        self._thread.start()

    @property
    def in_progress(self) -> int:
        with self._wake:
            return len(self._entries)

    def contexts(self, model: Hashable) -> int:
        """Contexts made so far for ``model`` (for tests and diagnostics)."""
        with self._wake:
            return len(self._contexts.get(model, ()))

    def submit(self, generation: Generation) -> None:
        with self._wake:
            if self._closed:
                raise RuntimeError("the local model is shutting down")
            self._entries.append(_Entry(generation, next(self._arrivals)))
            self._wake.notify()

    def close(self) -> None:
        """Stop after the current step; replies still in progress are ended as failed."""
        with self._wake:
            self._closed = True
            self._wake.notify()
        self._thread.join()
        for entry in self._entries:
            entry.generation.fail(RuntimeError("the local model shut down"))
        self._entries.clear()
        for contexts in self._contexts.values():
            for context in contexts:
                if not context.primary:
                    context.llama.close()
        self._contexts.clear()

    # --- the scheduler thread --------------------------------------------------------

    def _serve(self) -> None:
        held_since: float | None = None  # when the current run of lead calls began
        while True:
            with self._wake:
                if self._closed:
                    return
                lead_only = False
                if self._lead.busy:
                    held_since = held_since if held_since is not None else time.monotonic()
                    lead_only = time.monotonic() - held_since < LEAD_HOLD_S
                else:
                    held_since = None
                entry = self._choose(lead_only=lead_only)
                if entry is None and not (lead_only and self._entries):
                    self._wake.wait()
                    continue
            if entry is None:  # only other work waits, and a turn is being transcribed
                self._lead.hold_back(HOLD_POLL_S)
                continue
            if not entry.started and not self._bind(entry):
                continue
            alive = entry.generation.step()
            with self._wake:
                self._order.served(entry.generation.tag.owner)
                if not alive:
                    self._release(entry)

    def _bind(self, entry: _Entry) -> bool:
        """Give a new reply its context (making one if needed); False if it failed."""
        generation = entry.generation
        if generation.cancelled.is_set():  # gone while it waited: no context for it
            with self._wake:
                self._release(entry)
            generation.step()
            return False
        try:
            if entry.context is None:
                entry.context = self._new_context(generation)
            generation.start(entry.context.llama)
        except BaseException as exc:  # reported to the reply's caller
            with self._wake:
                self._release(entry)
            generation.fail(exc)
            return False
        entry.started = True
        return True

    def _new_context(self, generation: Generation) -> _Context:
        with self._wake:
            contexts = self._contexts.setdefault(generation.model, [])
            primary = not contexts
        llama = self._load(generation.model)
        if not primary:
            llama = self._fork(llama)
            log.info("ballsy.llm.context_added", contexts=len(contexts) + 1)
        context = _Context(llama=llama, primary=primary, running=generation)
        context.last_owner = generation.tag.owner
        with self._wake:
            contexts.append(context)
        return context

    def _release(self, entry: _Entry) -> None:
        if entry in self._entries:
            self._entries.remove(entry)
        if entry.context is not None and entry.context.running is entry.generation:
            entry.context.running = None

    def _choose(self, *, lead_only: bool = False) -> _Entry | None:
        """The most urgent reply that can run now (lock held). A waiting reply is
        given a free context here (or leave to make one) before it is returned."""
        best: tuple[tuple[_Level, bool, int, int], _Entry] | None = None
        for entry in self._entries:
            if entry.generation.cancelled.is_set():
                # Its caller is gone (a dropped speculative reply, a barge-in): ending it
                # now, before anything else, frees its context for a reply someone awaits.
                return entry
            if entry.context is None and not self._can_place(entry.generation):
                continue
            generation = entry.generation
            level = _level(generation)
            if lead_only and level is not _Level.SPOKEN_FIRST:
                continue
            # A first piece under way is finished before another starts: taking turns
            # token by token would make every waiting reply's first words late at once.
            under_way = generation.leading and entry.started
            key = (level, not under_way, self._order.turn(generation.tag.owner), entry.arrival)
            if best is None or key < best[0]:
                best = (key, entry)
        if best is None:
            return None
        entry = best[1]
        if entry.context is None:
            # A free context now, or None: the scheduler thread makes one, unlocked.
            entry.context = self._free_context(entry.generation)
        if entry.context is not None:
            entry.context.running = entry.generation
            entry.context.last_owner = entry.generation.tag.owner
            entry.context.last_used = next(self._uses)
        return entry

    def _can_place(self, generation: Generation) -> bool:
        """Whether a waiting reply may take a context now. The last free one is kept
        for a user who holds none, so one user's backlog cannot fill every context
        and make another user's first word wait for a whole reply to end."""
        contexts = self._contexts.get(generation.model, [])
        held = [c.running.tag.owner for c in contexts if c.running is not None]
        free = self.parallel - len(held)
        if free <= 0:
            return False
        return free > 1 or self.parallel == 1 or generation.tag.owner not in held

    def _free_context(self, generation: Generation) -> _Context | None:
        free = [c for c in self._contexts.get(generation.model, []) if c.running is None]
        if not free:
            return None
        # The context this user's last reply used probably holds their conversation.
        return min(free, key=lambda c: (c.last_owner != generation.tag.owner, c.last_used))


class _Level(IntEnum):
    """How urgent a reply's next step is, most urgent first: realtime speech, then
    text, and first pieces before the rest within each."""

    SPOKEN_FIRST = 0  # the first piece of a reply that will be spoken (Lane.LEAD)
    SPOKEN_REST = 1  # what its listener hears next
    FIRST = 2  # the first piece of a text reply (its time to first token)
    REST = 3
    BACKGROUND = 4


def _level(generation: Generation) -> _Level:
    lane = generation.tag.lane
    if lane is Lane.BACKGROUND:
        return _Level.BACKGROUND
    if lane is Lane.LEAD:
        return _Level.SPOKEN_FIRST if generation.leading else _Level.SPOKEN_REST
    return _Level.FIRST if generation.leading else _Level.REST
