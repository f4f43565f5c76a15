"""Writing a transcript out: plain text, SubRip, WebVTT and JSON shapes.

Shared by the OpenAI-compatible endpoint, the CLI and transcription jobs, so every
surface produces byte-identical subtitles for the same transcript.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from ballsy.speech.stt import Segment, Transcript

TextFormat = Literal["txt", "srt", "vtt"]


def _timestamp(seconds: float, separator: str) -> str:
    millis = max(0, round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def to_srt(segments: Iterable[Segment]) -> str:
    blocks = []
    for index, segment in enumerate((s for s in segments if s.text.strip()), start=1):
        start, end = _timestamp(segment.start, ","), _timestamp(segment.end, ",")
        blocks.append(f"{index}\n{start} --> {end}\n{segment.text.strip()}\n")
    return "\n".join(blocks)


def to_vtt(segments: Iterable[Segment]) -> str:
    blocks = ["WEBVTT\n"]
    for segment in segments:
        if segment.text.strip():
            start, end = _timestamp(segment.start, "."), _timestamp(segment.end, ".")
            # "-->" inside cue text would end the cue early; WebVTT has no escape for it.
            text = segment.text.strip().replace("-->", "->")
            blocks.append(f"{start} --> {end}\n{text}\n")
    return "\n".join(blocks)


def segment_json(segment: Segment, *, words: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": segment.id,
        "start": round(segment.start, 3),
        "end": round(segment.end, 3),
        "text": segment.text.strip(),
        "avg_logprob": round(segment.avg_logprob, 4),
        "no_speech_prob": round(segment.no_speech_prob, 4),
    }
    if words:
        data["words"] = [word_json(w) for w in segment.words]
    return data


def word_json(word: Any) -> dict[str, Any]:
    return {
        "word": word.word.strip(),
        "start": round(word.start, 3),
        "end": round(word.end, 3),
        "probability": round(word.probability, 4),
    }


def verbose_json(
    transcript: Transcript, *, task: str, segments: bool = True, words: bool = False
) -> dict[str, Any]:
    """The OpenAI ``verbose_json`` body (also Ballsy's job ``json`` output)."""
    body: dict[str, Any] = {
        "task": task,
        "language": transcript.language,
        "duration": round(transcript.duration, 3),
        "text": transcript.text,
    }
    if segments:
        body["segments"] = [segment_json(s, words=False) for s in transcript.segments]
    if words:
        body["words"] = [word_json(w) for s in transcript.segments for w in s.words]
    return body


def render_text(transcript: Transcript, fmt: TextFormat) -> str:
    if fmt == "srt":
        return to_srt(transcript.segments)
    if fmt == "vtt":
        return to_vtt(transcript.segments)
    return transcript.text
