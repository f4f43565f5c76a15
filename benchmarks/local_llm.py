"""The embedded LLMs side by side: answer quality and voice latency, ``fast`` vs ``smart``.

Everyday questions no skill answers (``benchmarks/data/local_llm_questions.json``: general
knowledge, definitions, advice, small talk, each with a check of the answer) are asked
through the real assistant path — the app over ASGI, ``POST /api/command`` — by two
users whose ``llm_model`` is ``fast`` and ``smart``, alternating question by question
(and which model goes first), in one process with both models loaded. Per model:

- correct answers (every expected group found as a whole word);
- unspeakable replies (list or heading lines, emphasis, code, links, symbols), as the
  model wrote them and after :func:`ballsy.assistant.spoken.speakable`, the stripping
  every reply meant for speech goes through before TTS;
- reply time (the whole request) and first-token time, median and p95, with the prompt
  cache warm (the persona's prefix already evaluated); first token cold, on prompts
  whose very first tokens are new (a persona prefixed with a fresh session line).

The product's defaults apply (temperature, max tokens, one LLM thread); memory is off
so every question stands alone. Results: ``benchmarks/results/local_llm.json``.

    .venv/bin/python -m benchmarks.local_llm [--cold 6]
    .venv/bin/python -m benchmarks.local_llm --rescore   # the stored replies, checked again

``--rescore`` asks nothing: it checks the stored replies again with the current checks
and stripping (the timings are what was measured) and says so in ``rescored``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from ballsy.app import create_app
from ballsy.assistant.spoken import speakable
from ballsy.config import Settings
from ballsy.llm.model_packages import LOCAL_MODELS
from benchmarks._common import RESULTS, ROOT, save

QUESTIONS = ROOT / "benchmarks" / "data" / "local_llm_questions.json"
MODELS = ("fast", "smart")

# What a TTS engine would read out as noise, or skip while a listener needs it.
UNSPEAKABLE = {
    "list": re.compile(r"(?m)^\s*(?:[-*+•]|\d{1,3}[.)])\s+"),
    "heading": re.compile(r"(?m)^\s{0,3}#{1,6}\s"),
    "emphasis": re.compile(r"\*\*|__|(?<![\w*])\*(?=\S)"),
    "code": re.compile(r"`|\bdef |\bprint\(|[{};]\s*$", re.MULTILINE),
    "link": re.compile(r"\]\(|https?://|www\."),
    "table": re.compile(r"(?m)^\s*\|"),
    "symbol": re.compile(r"[#*_~<>|\\^{}\[\]`=]"),
}
EMOJI = re.compile("[\u2190-\u21ff\u2300-\u23ff\u2500-\u2bff\U0001f000-\U0001faff]")


def unspeakable(text: str) -> list[str]:
    """Why ``text`` is not speakable as it stands (empty: fine)."""
    found = [name for name, pattern in UNSPEAKABLE.items() if pattern.search(text)]
    if EMOJI.search(text):
        found.append("emoji")
    return found


def _says(text: str, phrase: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", text) is not None


def is_correct(reply: str, question: dict[str, Any]) -> bool:
    """Every ``expect`` group is said (one of its words), and no ``reject`` phrase is."""
    lowered = reply.lower()
    said = all(any(_says(lowered, word) for word in group) for group in question["expect"])
    return said and not any(phrase in lowered for phrase in question.get("reject", ()))


def score(rows: list[dict[str, Any]], questions: dict[str, dict[str, Any]]) -> None:
    """Fill in each reply's checks (the replies and timings are what was measured)."""
    for row in rows:
        row["spoken"] = speakable(row["reply"])
        row["correct"] = is_correct(row["reply"], questions[row["question"]])
        row["unspeakable_raw"] = unspeakable(row["reply"])
        row["unspeakable_spoken"] = unspeakable(row["spoken"])


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return round(ordered[round(fraction * (len(ordered) - 1))], 1)


def summary(values: list[float]) -> dict[str, float]:
    return {
        "median_ms": round(statistics.median(values), 1),
        "p95_ms": percentile(values, 0.95),
        "max_ms": round(max(values), 1),
    }


async def ask(http: httpx.AsyncClient, user: str, text: str) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    response = await http.post("/api/command", json={"text": text, "client_id": user})
    elapsed = (time.perf_counter() - started) * 1000
    response.raise_for_status()
    return elapsed, response.json()


async def configure(http: httpx.AsyncClient, user: str, **changes: Any) -> None:
    response = await http.put("/api/settings", params={"client_id": user}, json=changes)
    response.raise_for_status()


def model_report(rows: list[dict[str, Any]], cold: list[float], first: float) -> dict[str, Any]:
    answered = [row for row in rows if row["handled_by"] == "llm"]
    return {
        "questions": len(rows),
        "answered_by_llm": len(answered),
        "correct": sum(row["correct"] for row in rows),
        "unspeakable_before_stripping": sum(bool(row["unspeakable_raw"]) for row in rows),
        "unspeakable_after_stripping": sum(bool(row["unspeakable_spoken"]) for row in rows),
        "reply": summary([row["reply_ms"] for row in rows]),
        "first_token_warm": summary([row["first_token_ms"] for row in answered]),
        "first_token_cold": summary(cold),
        "reply_words_median": statistics.median(len(row["reply"].split()) for row in rows),
        "first_request_ms_incl_load": round(first, 1),
    }


async def run(cold_runs: int) -> dict[str, Any]:
    questions = json.loads(QUESTIONS.read_text())["questions"]
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            data_dir=Path(tmp),
            database_url=None,
            llm_provider="local",
            memory_turns=0,
            preload_models=False,
            max_requests_per_minute=100_000,
            allowed_hosts=["*"],
            log_level="WARNING",
        )
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://bench", timeout=300
            ) as http:
                first: dict[str, float] = {}
                for model in MODELS:
                    await configure(http, f"bench-{model}", llm_model=model)
                    # The first request loads the model (smart: joined into the data dir
                    # first); it is reported apart and not counted.
                    first[model], _ = await ask(http, f"bench-{model}", "Hi there.")
                rows: dict[str, list[dict[str, Any]]] = {model: [] for model in MODELS}
                for index, question in enumerate(questions):
                    order = MODELS if index % 2 == 0 else MODELS[::-1]
                    for model in order:
                        elapsed, turn = await ask(http, f"bench-{model}", question["text"])
                        reply = turn["reply"]
                        rows[model].append(
                            {
                                "question": question["text"],
                                "kind": question["kind"],
                                "reply": reply,
                                "handled_by": turn["handled_by"]["kind"],
                                "model": turn["handled_by"]["model"],
                                "reply_ms": round(elapsed, 1),
                                "first_token_ms": turn["timings"].get("llm_first_token_ms", 0.0),
                            }
                        )
                        mark = "ok " if is_correct(reply, question) else "BAD"
                        print(f"{model:5} {mark} {elapsed:7.0f} ms  {question['text']} → {reply!r}")
                cold: dict[str, list[float]] = {model: [] for model in MODELS}
                default_prompt = settings.default_system_prompt
                for index, question in enumerate(questions[:cold_runs]):
                    order = MODELS if index % 2 == 0 else MODELS[::-1]
                    for model in order:
                        user = f"bench-cold-{model}-{index}"
                        # A new first line: no cached state shares a prefix with it.
                        persona = f"Session {index * 7919 + len(model)}. {default_prompt}"
                        await configure(http, user, llm_model=model, system_prompt=persona)
                        _, turn = await ask(http, user, question["text"])
                        cold[model].append(turn["timings"]["llm_first_token_ms"])
    return {
        "benchmark": "local_llm",
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        },
        "settings": {
            "temperature": settings.llm_temperature,
            "max_tokens": settings.llm_max_tokens,
            "local_llm_threads": settings.local_llm_threads,
            "memory_turns": 0,
            "path": "POST /api/command over ASGI, per-user llm_model",
        },
        "first_request_ms_incl_load": first,
        "cold_first_token_ms": cold,
        "replies": rows,
    }


def report(results: dict[str, Any]) -> dict[str, Any]:
    """``results`` with every reply checked and the per-model figures."""
    questions = {q["text"]: q for q in json.loads(QUESTIONS.read_text())["questions"]}
    for rows in results["replies"].values():
        score(rows, questions)
    results["models"] = {
        model: {
            "description": LOCAL_MODELS.description(model),
            **model_report(
                results["replies"][model],
                results["cold_first_token_ms"][model],
                results["first_request_ms_incl_load"][model],
            ),
        }
        for model in MODELS
    }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", type=int, default=6, help="cold first-token runs per model")
    parser.add_argument(
        "--rescore",
        action="store_true",
        help="check the replies of the last run again (after a change to the checks or to "
        "the stripping), asking nothing",
    )
    args = parser.parse_args()
    if args.rescore:
        results = json.loads((RESULTS / "local_llm.json").read_text())
        results["rescored"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    else:
        results = asyncio.run(run(args.cold))
    results = report(results)
    save("local_llm", results)
    for model, figures in results["models"].items():
        print(
            f"{model}: {figures['correct']}/{figures['questions']} correct, "
            f"{figures['unspeakable_before_stripping']} unspeakable "
            f"({figures['unspeakable_after_stripping']} after stripping), reply median "
            f"{figures['reply']['median_ms']} ms p95 {figures['reply']['p95_ms']} ms, first "
            f"token warm {figures['first_token_warm']['median_ms']} ms, cold "
            f"{figures['first_token_cold']['median_ms']} ms"
        )


if __name__ == "__main__":
    main()
