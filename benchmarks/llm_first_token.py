"""Local LLM time to first token against prompt length, prompt cache on vs off.

Two copies of the embedded model (SmolLM2 through llama.cpp, ``LocalLLM`` as the
``local`` provider builds it), one with the prompt cache (LOCAL_LLM_PROMPT_CACHE_MB)
and one without (0). For each memory length (0, 4, 8, 16 exchanges of user and
assistant messages, built into the real prompt by ``assistant.prompt.build_prompt``)
and each repetition, with the two copies taking turns (which goes first alternates):

1. the conversation's previous turn is answered (what the server did a turn ago);
2. another conversation is answered (another user, or a dropped speculative reply):
   llama.cpp's live context now holds someone else's prompt;
3. the new turn is timed: the call until the first token of the reply.

Without the cache step 3 evaluates the whole prompt again; with it the persona and
memory are restored and only the new question is evaluated. Each repetition uses
a conversation of its own, so nothing is shared across repetitions but the persona.

    .venv/bin/python -m benchmarks.llm_first_token [--reps 5] [--memory 0,4,8,16]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import UTC, datetime
from typing import Any

from ballsy.assistant.prompt import build_prompt
from ballsy.config import Settings
from ballsy.llm.base import ChatMessage, GenerationOptions
from ballsy.llm.local import LocalLLM
from ballsy.store.models import Message
from benchmarks._common import save

TOPICS = (
    "the moon", "sourdough bread", "the Roman empire", "jazz piano", "tides", "volcanoes",
    "honey bees", "chess openings", "the Nile", "black holes", "tea", "penguins",
    "bicycles", "rainbows", "the Alps", "coral reefs", "owls", "glaciers", "Mozart",
    "sunflowers",
)  # fmt: skip
NOW = datetime(2026, 11, 23, 15, 7, tzinfo=UTC)


def memory(exchanges: int, rep: int) -> list[Message]:
    """``exchanges`` question/answer pairs about topics of this repetition's own."""
    out: list[Message] = []
    for i in range(exchanges):
        topic = TOPICS[(rep * 7 + i) % len(TOPICS)]
        out.append(Message(role="user", content=f"Tell me something about {topic}."))
        out.append(
            Message(
                role="assistant",
                content=f"Sure. {topic.capitalize()} is a fascinating subject with a long "
                f"history, and people have studied {topic} for many years.",
            )
        )
    return out


def prompt(
    settings: Settings, past: list[Message], text: str, persona: str = ""
) -> list[ChatMessage]:
    return build_prompt(
        system_prompt=persona or settings.default_system_prompt, now=NOW, memory=past, text=text
    )


async def first_token_ms(
    llm: LocalLLM, messages: list[ChatMessage], max_tokens: int
) -> tuple[float, int]:
    """(ms until the first token, prompt content tokens); generates ``max_tokens``."""
    options = GenerationOptions(max_tokens=max_tokens, temperature=0.0)
    started = time.perf_counter()
    first: float | None = None
    tokens = 0
    async for delta in llm.stream(messages, options):
        if delta.text and first is None:
            first = time.perf_counter()
        if delta.usage is not None:
            tokens = delta.usage.prompt_tokens
    return ((first or time.perf_counter()) - started) * 1000, tokens


async def one_turn(
    llm: LocalLLM, settings: Settings, exchanges: int, rep: int
) -> tuple[float, int]:
    past = memory(exchanges, rep)
    if past:  # the previous turn: its memory less the last answer, then that question
        await first_token_ms(llm, prompt(settings, past[:-2], past[-2].content), 8)
    else:
        await first_token_ms(llm, prompt(settings, [], "Hello."), 8)
    other = f"You are Kit, a terse helper for user {rep}. Answer in one word."
    await first_token_ms(llm, prompt(settings, [], "Hi there.", persona=other), 2)
    return await first_token_ms(llm, prompt(settings, past, "And what else should I know?"), 1)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--memory", default="0,4,8,16", help="exchanges of memory")
    args = parser.parse_args()
    settings = Settings()
    cache_mb = settings.local_llm_prompt_cache_mb or 256
    llms = {
        "cache_on": LocalLLM(
            settings.local_llm_model_path,
            context_size=settings.local_llm_context,
            threads=settings.local_llm_threads,
            prompt_cache_mb=cache_mb,
        ),
        "cache_off": LocalLLM(
            settings.local_llm_model_path,
            context_size=settings.local_llm_context,
            threads=settings.local_llm_threads,
            prompt_cache_mb=0,
        ),
    }
    for llm in llms.values():
        await llm.warm_up()
    lengths = [int(n) for n in args.memory.split(",")]
    samples: dict[str, dict[int, list[float]]] = {m: {n: [] for n in lengths} for m in llms}
    tokens: dict[int, int] = {}
    started = time.perf_counter()
    try:
        for rep in range(args.reps):
            for exchanges in lengths:
                order = list(llms) if (rep + exchanges) % 2 == 0 else list(reversed(llms))
                for mode in order:
                    ms, count = await one_turn(llms[mode], settings, exchanges, rep)
                    samples[mode][exchanges].append(round(ms, 1))
                    tokens[exchanges] = count
            print(f"  repetition {rep + 1}/{args.reps}", flush=True)
    finally:
        for llm in llms.values():
            await llm.close()
    table: dict[str, Any] = {}
    print(
        f"\n{'memory':>8} {'tokens':>7} {'off p50':>8} {'on p50':>8} {'off max':>8} {'on max':>8}"
    )
    for n in lengths:
        row = {
            "prompt_content_tokens": tokens[n],
            **{
                f"{mode}_ms": {
                    "p50": round(statistics.median(samples[mode][n]), 1),
                    "max": max(samples[mode][n]),
                    "samples": samples[mode][n],
                }
                for mode in llms
            },
        }
        row["speedup_p50"] = round(row["cache_off_ms"]["p50"] / row["cache_on_ms"]["p50"], 2)
        table[str(n)] = row
        print(
            f"{n:>8} {tokens[n]:>7} {row['cache_off_ms']['p50']:>8} {row['cache_on_ms']['p50']:>8}"
            f" {row['cache_off_ms']['max']:>8} {row['cache_on_ms']['max']:>8}"
        )
    save(
        "llm_first_token",
        {
            "model": llms["cache_on"].default_model,
            "threads": settings.local_llm_threads,
            "prompt_cache_mb": cache_mb,
            "repetitions": args.reps,
            "memory_unit": "exchanges (one user + one assistant message)",
            "wall_seconds": round(time.perf_counter() - started, 1),
            "by_memory": table,
        },
    )


if __name__ == "__main__":
    asyncio.run(main())
