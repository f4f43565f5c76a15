"""Cutting a long recording into chunks at silences, while it is being decoded.

:func:`iter_chunks` reads the file through ``iter_audio_chunks`` (a few seconds of
samples at a time) and never holds more than one chunk plus one decode block. Each
chunk is about ``chunk_seconds`` long and ends in the middle of a pause found by the
Silero VAD, so no word is split between two chunks.

The cut depends only on the audio from the chunk's start onward, never on how the
decoder's blocks happened to fall: resuming at a finished chunk's end therefore
yields exactly the chunks an uninterrupted run would have — which is what makes a
crash-resumed transcript identical to a clean one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from ballsy.errors import AudioTooLong, UnsupportedMedia
from ballsy.speech.audio import iter_audio_chunks, open_media

FloatArray = npt.NDArray[np.float32]
Span = tuple[int, int]
SpeechFinder = Callable[[FloatArray], list[Span]]

RATE: Final = 16_000
# Decode granularity: small enough to keep memory flat, large enough to be cheap.
_BLOCK_SECONDS: Final = 5.0
# Whisper's window; a clip of packed speech never exceeds it.
CLIP_SECONDS: Final = 30.0
# The VAD pads speech by 400 ms on each side and splits shorter silences between two
# touching spans, so a visible gap between spans is a pause of at least 0.8 s.
_LONG_PAUSE: Final = 1


@dataclass(frozen=True, eq=False)
class ChunkAudio:
    """The decoded audio of one chunk of a job (its row is ``TranscriptionChunk``)."""

    index: int
    start_sample: int
    samples: FloatArray
    speech: tuple[Span, ...]
    """Speech spans inside the chunk, in samples relative to its start."""

    @property
    def end_sample(self) -> int:
        return self.start_sample + len(self.samples)


@dataclass(frozen=True)
class MediaInfo:
    duration: float | None
    """From the container's header when it says; None for raw streams."""
    format: str
    codec: str


def probe_media(path: Path, max_seconds: float) -> MediaInfo:
    """Check that ``path`` decodes as audio and is not too long, without decoding it all.

    Fails in well under a second for corrupt or unsupported files, so a bad upload is
    refused at once instead of after hours of work.
    """
    import av.error

    try:
        with open_media(str(path)) as container:
            streams = container.streams.audio
            if not streams:
                raise UnsupportedMedia("the file has no audio stream")
            stream = streams[0]
            duration = _duration(container, stream)
            info = MediaInfo(duration, container.format.name, stream.codec_context.name)
    except av.error.FFmpegError as exc:
        raise UnsupportedMedia(
            "could not read the file as audio: the data is not in a known audio format",
            # FFmpeg's reason without the file name it appends (a server path).
            detail={"reason": getattr(exc, "strerror", None) or type(exc).__name__},
        ) from exc
    if info.duration is not None and info.duration > max_seconds:
        raise AudioTooLong(
            f"the recording is {info.duration:.0f} s long; jobs accept up to {max_seconds:g} s",
            detail={"max_seconds": max_seconds, "duration": round(info.duration, 3)},
        )
    # Decoding the first second proves the codec works (a header alone does not).
    next(iter_audio_chunks(path, chunk_seconds=1.0, sample_rate=RATE))
    return info


def _duration(container: Any, stream: Any) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return float(container.duration) / 1_000_000
    return None


def vad_speech_finder() -> SpeechFinder:
    """Silero VAD (the model faster-whisper ships) with the batched pipeline's settings."""
    from faster_whisper import vad

    options = vad.VadOptions(max_speech_duration_s=CLIP_SECONDS, min_silence_duration_ms=160)
    speech_timestamps: Any = vad.get_speech_timestamps

    def find(samples: FloatArray) -> list[Span]:
        spans = speech_timestamps(samples, options, sampling_rate=RATE)
        return [(int(span["start"]), int(span["end"])) for span in spans]

    return find


def choose_cut(spans: list[Span], length: int) -> int:
    """Where to end a chunk of ``length`` samples: the middle of a pause.

    A long pause (≥ 0.8 s) in the second half wins, then one after the first quarter,
    then the latest short pause (between phrases); with no pause at all (non-stop
    speech) the chunk is cut hard at ``length``.
    """
    if not spans:
        return length
    edges = [0, *(edge for span in spans for edge in span), length]
    gaps = [(edges[i], edges[i + 1]) for i in range(0, len(edges), 2)]
    gaps = [(a, b) for a, b in gaps if b >= a and (a + b) // 2 > 0 and a < length]

    def after(fraction: float) -> Callable[[Span], bool]:
        return lambda gap: (gap[0] + gap[1]) // 2 >= length * fraction

    def long(gap: Span) -> bool:
        return gap[1] - gap[0] >= _LONG_PAUSE

    preferences: tuple[Callable[[Span], bool], ...] = (
        lambda gap: after(0.5)(gap) and long(gap),
        lambda gap: after(0.25)(gap) and long(gap),
        after(0.5),
        lambda gap: True,
    )
    for wanted in preferences:
        chosen = [gap for gap in gaps if wanted(gap)]
        if chosen:
            start, end = chosen[-1]
            return min(length, (start + end) // 2)
    return length


def iter_chunks(
    path: Path,
    *,
    chunk_seconds: float,
    start_sample: int = 0,
    first_index: int = 0,
    find_speech: SpeechFinder,
) -> Generator[ChunkAudio, None, None]:
    """Chunks of ``path`` from ``start_sample`` on (a resumed job skips what is done)."""
    target = max(RATE, math.floor(chunk_seconds * RATE))
    buffer = np.zeros(0, dtype=np.float32)
    skip = start_sample
    position = start_sample
    index = first_index
    try:
        blocks = iter_audio_chunks(path, chunk_seconds=_BLOCK_SECONDS, sample_rate=RATE)
        for block in blocks:
            if skip >= len(block):
                skip -= len(block)  # decoded but already transcribed: dropped unseen
                continue
            block, skip = block[skip:], 0
            buffer = np.concatenate([buffer, block]) if len(buffer) else block
            while len(buffer) >= target:
                chunk = _cut(buffer[:target], index, position, find_speech, final=False)
                buffer = buffer[len(chunk.samples) :]
                position, index = chunk.end_sample, index + 1
                yield chunk
    except UnsupportedMedia:
        if position == start_sample and skip == start_sample:
            raise  # nothing decoded at all: the file is not audio
        return  # a damaged tail after good audio: keep what decoded
    while len(buffer):
        chunk = _cut(buffer[:target], index, position, find_speech, final=len(buffer) <= target)
        buffer = buffer[len(chunk.samples) :]
        position, index = chunk.end_sample, index + 1
        yield chunk


def _cut(
    view: FloatArray, index: int, position: int, find_speech: SpeechFinder, *, final: bool
) -> ChunkAudio:
    spans = find_speech(view)
    cut = len(view) if final else choose_cut(spans, len(view))
    inside = tuple((a, min(b, cut)) for a, b in spans if a < cut)
    return ChunkAudio(
        index=index,
        start_sample=position,
        samples=np.ascontiguousarray(view[:cut]),
        speech=inside,
    )


# --- packing speech into Whisper-sized clips ------------------------------------------


@dataclass(frozen=True, eq=False)
class PackedSpeech:
    """A chunk's speech concatenated (pauses dropped) and split into ≤ 30 s clips.

    ``spans`` maps the packed audio back to the chunk: (packed_start, chunk_start,
    length) for each speech span, in samples.
    """

    audio: FloatArray
    clips: tuple[Span, ...]
    spans: tuple[tuple[int, int, int], ...]

    def to_chunk_seconds(self, packed_seconds: float) -> float:
        """A time in the packed audio → the same instant in the chunk."""
        sample = packed_seconds * RATE
        for packed_start, chunk_start, length in reversed(self.spans):
            if sample >= packed_start:
                return (chunk_start + min(sample - packed_start, length)) / RATE
        return 0.0


def pack_speech(chunk: ChunkAudio, *, skip_pauses: bool) -> PackedSpeech:
    """Speech only (``skip_pauses``, the VAD filter) or the whole chunk, in clips."""
    limit = int(CLIP_SECONDS * RATE)
    spans = list(chunk.speech) if skip_pauses else [(0, len(chunk.samples))]
    pieces: list[FloatArray] = []
    mapping: list[tuple[int, int, int]] = []
    clips: list[Span] = []
    packed = clip_start = 0
    for start, end in spans:
        # A span never exceeds the VAD's 30 s limit, except the whole-chunk span.
        for a in range(start, end, limit):
            b = min(end, a + limit)
            if packed + (b - a) - clip_start > limit:
                clips.append((clip_start, packed))
                clip_start = packed
            pieces.append(chunk.samples[a:b])
            mapping.append((packed, a, b - a))
            packed += b - a
    if packed > clip_start:
        clips.append((clip_start, packed))
    audio = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
    return PackedSpeech(audio=audio, clips=tuple(clips), spans=tuple(mapping))
