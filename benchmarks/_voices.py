"""Spoken questions from voices that are not Ballsy's own: espeak-ng and recordings.

Ballsy's own TTS voices flatter its recognizer; the latency and accuracy benchmarks
speak with espeak-ng's English voices (several accents) and use the shared real
recordings. Hesitations are two halves of one sentence with a 600–800 ms pause.
"""

from __future__ import annotations

import random
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ballsy.assistant.skills.wording import with_digits
from ballsy.speech.audio import decode_audio
from benchmarks._common import FIXTURES

RATE = 16_000
VOICES = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029")
# (text, path) — the path the question should take: a built-in skill or the LLM.
QUESTIONS = (
    ("What is twelve times seven?", "skill"),
    ("What time is it?", "skill"),
    ("Play some relaxing jazz on Spotify.", "skill"),
    ("What is fifteen percent of eighty?", "skill"),
    ("What is the square root of eighty one?", "skill"),
    ("Tell me a joke.", "llm"),
    ("What is the capital of France?", "llm"),
    ("Give me a tip for sleeping better.", "llm"),
    ("Why do cats purr?", "llm"),
    ("How far is the moon from the earth?", "llm"),
)
HESITATIONS = (
    ("I would like to know", "how far the moon is from the earth."),
    ("Can you tell me", "what the capital of Spain is?"),
    ("What is", "twelve times seven?"),
    ("Tell me", "a short story about a dragon."),
    ("I want to know", "why the sky is blue."),
)


@dataclass(frozen=True, slots=True)
class Utterance:
    label: str
    text: str
    """What was said (the reference for word error rate)."""
    path: str
    """``skill`` or ``llm``: which should answer."""
    audio: np.ndarray
    """16 kHz float32, speech only (the benchmark adds live silence after it)."""
    pause_at_s: float | None = None
    """Hesitations: where the mid-sentence pause starts."""
    pause_s: float = 0.0


def have_espeak() -> bool:
    return shutil.which("espeak-ng") is not None


def espeak(text: str, voice: str, folder: Path, speed: int = 135, gap: int = 3) -> np.ndarray:
    """``text`` spoken by espeak-ng's ``voice`` (``gap``: pause between words, 10 ms units),
    16 kHz, trimmed to the speech."""
    out = folder / f"{abs(hash((text, voice)))}.wav"
    subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "-g", str(gap), "-w", str(out), text],
        check=True,
        capture_output=True,
    )
    return trim(decode_audio(out).samples)


def trim(samples: np.ndarray) -> np.ndarray:
    """Cut leading and trailing silence (the true end of speech is the last loud frame)."""
    frames = samples[: len(samples) // 160 * 160].reshape(-1, 160)
    energy = np.sqrt((frames**2).mean(axis=1))
    loud = np.nonzero(energy > max(0.01, energy.max() * 0.05))[0]
    if not len(loud):
        return samples
    return samples[loud[0] * 160 : (loud[-1] + 1) * 160].astype(np.float32)


def questions(turns: int) -> list[Utterance]:
    """``turns`` questions, voices rotating, with the real recording among them."""
    items: list[Utterance] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        recorded = trim(decode_audio(FIXTURES / "english.wav").samples)
        index = 0
        while len(items) < turns:
            if index % 11 == 10:
                items.append(Utterance("english.wav", "one two three", "llm", recorded))
            else:
                text, path = QUESTIONS[index % len(QUESTIONS)]
                voice = VOICES[(index // len(QUESTIONS) + index) % len(VOICES)]
                items.append(Utterance(f"{voice}: {text}", text, path, espeak(text, voice, folder)))
            index += 1
    return items


def hesitations(count: int, seed: int = 7) -> list[Utterance]:
    """Sentences with a 600–800 ms pause in the middle."""
    chooser = random.Random(seed)
    items = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for index in range(count):
            first, second = HESITATIONS[index % len(HESITATIONS)]
            voice = VOICES[index % len(VOICES)]
            pause = chooser.uniform(0.6, 0.8)
            head, tail = espeak(first, voice, folder), espeak(second, voice, folder)
            gap = np.zeros(int(pause * RATE), dtype=np.float32)
            audio = np.concatenate([head, gap, tail])
            text = f"{first} {second}"
            label = f"{voice}: {first} … {second}"
            items.append(
                Utterance(label, text, "llm", audio, pause_at_s=len(head) / RATE, pause_s=pause)
            )
    return items


def normalized_words(text: str) -> list[str]:
    """Lower-case words with number words as digits, so 'twelve' and '12' agree."""
    bare = re.sub(r"[^\w\s']", " ", text.lower())
    return re.findall(r"[a-z0-9']+", with_digits(bare))


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(edit distance in words, reference length)."""
    ref, hyp = normalized_words(reference), normalized_words(hypothesis)
    previous = list(range(len(hyp) + 1))
    for i, word in enumerate(ref, 1):
        current = [i]
        for j, other in enumerate(hyp, 1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (word != other))
            )
        previous = current
    return previous[-1], len(ref)
