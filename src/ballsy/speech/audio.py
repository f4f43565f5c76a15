"""Audio in and out: decode any common container/codec to float32 mono, encode replies.

Everything goes through PyAV (FFmpeg), which faster-whisper already depends on, so
there is no second decoder to keep in sync. Decoding is streamed packet by packet:
a duration cap stops as soon as it is passed, and :func:`iter_audio_chunks` never
holds more than one chunk of a long recording in memory.

Every input is untrusted (uploads, job media, files named by URL), so FFmpeg opens it
with :func:`open_media`: only the audio/video container demuxers Ballsy accepts, and no
protocol but ``file`` for a path and none at all for bytes. A playlist (HLS ``.m3u8``)
or a ``concat`` list would otherwise make FFmpeg open the other files it names.
"""

from __future__ import annotations

import io
import math
import os
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Final, Literal, cast, get_args

import av
import av.error
import numpy as np
import numpy.typing as npt

from ballsy.errors import AudioTooLong, InvalidInput, UnsupportedMedia

FloatArray = npt.NDArray[np.float32]
Int16Array = npt.NDArray[np.int16]
AudioSource = bytes | bytearray | memoryview | str | os.PathLike[str] | BinaryIO

DEFAULT_SAMPLE_RATE: Final = 16_000

# Demuxers FFmpeg may pick for an input (matched against each demuxer's names, so
# "mp4" admits "mov,mp4,m4a,3gp,3g2,mj2" and "webm" admits "matroska,webm"). None of
# them opens a second file: playlists (hls), lists (concat), images and devices are out.
INPUT_FORMATS: Final = (
    "wav,w64,aiff,caf,flac,mp3,ogg,matroska,webm,mov,mp4,m4a,aac,amr,wv,avi,mpegts"
)
# A path is read through the ``file`` protocol and nothing else. Bytes and file objects
# are read by PyAV itself, so they need no protocol: "none" names no FFmpeg protocol,
# which refuses every nested open.
_PATH_PROTOCOLS: Final = "file"
_MEMORY_PROTOCOLS: Final = "none"

EncodeFormat = Literal["wav", "pcm", "mp3", "opus", "flac", "aac", "m4a", "webm"]
ENCODE_FORMATS: Final[tuple[EncodeFormat, ...]] = get_args(EncodeFormat)


@dataclass(frozen=True, eq=False)
class DecodedAudio:
    """Decoded samples plus what the upload originally was (for logs and job metadata)."""

    samples: FloatArray
    """1-D float32 in [-1, 1] at ``sample_rate``."""
    sample_rate: int
    duration: float
    source_sample_rate: int
    source_channels: int
    source_format: str
    """Container name as FFmpeg reports it (``wav``, ``flac``, ``ogg``, ``mov,mp4,m4a,...``)."""
    source_codec: str


@dataclass(frozen=True, eq=False)
class DecodedChannels:
    """Each source channel kept separate (stereo call recordings: one speaker per side)."""

    channels: tuple[FloatArray, ...]
    sample_rate: int
    duration: float
    source_sample_rate: int
    source_format: str
    source_codec: str


@dataclass(frozen=True)
class _SourceInfo:
    sample_rate: int
    channels: int
    format: str
    codec: str


# --- decoding ------------------------------------------------------------------------


def decode_audio(
    source: AudioSource,
    *,
    sample_rate: int = DEFAULT_SAMPLE_RATE,
    max_seconds: float | None = None,
) -> DecodedAudio:
    """Decode ``source`` (bytes, a path or a binary file object) to float32 mono.

    Raises :class:`UnsupportedMedia` for anything that yields no audio and
    :class:`AudioTooLong` as soon as more than ``max_seconds`` have been decoded.
    A missing path raises :class:`FileNotFoundError` (a server bug, not a bad upload).
    """
    chunks: list[FloatArray] = []
    with _open(source) as container:
        info, frames = _decoded_frames(container, sample_rate, max_seconds)
        chunks.extend(_downmix(block) for block in frames)
    samples = _concat(chunks)
    return DecodedAudio(
        samples=samples,
        sample_rate=sample_rate,
        duration=len(samples) / sample_rate,
        source_sample_rate=info.sample_rate,
        source_channels=info.channels,
        source_format=info.format,
        source_codec=info.codec,
    )


def decode_channels(
    source: AudioSource,
    *,
    sample_rate: int = DEFAULT_SAMPLE_RATE,
    max_seconds: float | None = None,
) -> DecodedChannels:
    """Like :func:`decode_audio` but returns every channel on its own, resampled."""
    blocks: list[FloatArray] = []
    with _open(source) as container:
        info, frames = _decoded_frames(container, sample_rate, max_seconds)
        blocks.extend(frames)
    if blocks:
        stacked = np.concatenate(blocks, axis=1)
    else:
        stacked = np.zeros((info.channels, 0), dtype=np.float32)
    channels = tuple(np.ascontiguousarray(row, dtype=np.float32) for row in stacked)
    return DecodedChannels(
        channels=channels,
        sample_rate=sample_rate,
        duration=stacked.shape[1] / sample_rate,
        source_sample_rate=info.sample_rate,
        source_format=info.format,
        source_codec=info.codec,
    )


def iter_audio_chunks(
    source: AudioSource,
    *,
    chunk_seconds: float,
    sample_rate: int = DEFAULT_SAMPLE_RATE,
) -> Iterator[FloatArray]:
    """Yield float32 mono chunks of exactly ``chunk_seconds`` (the last one shorter).

    Decodes lazily, so an hours-long file costs one chunk of memory, not the file.
    """
    if chunk_seconds <= 0:
        raise InvalidInput("chunk_seconds must be positive")
    chunk_len = max(1, round(chunk_seconds * sample_rate))
    with _open(source) as container:
        _, frames = _decoded_frames(container, sample_rate, None)
        pending: list[FloatArray] = []
        pending_len = 0
        for block in frames:
            pending.append(_downmix(block))
            pending_len += block.shape[1]
            if pending_len < chunk_len:
                continue
            joined = np.concatenate(pending)
            cut = (len(joined) // chunk_len) * chunk_len
            for start in range(0, cut, chunk_len):
                yield joined[start : start + chunk_len]
            rest = joined[cut:]
            pending, pending_len = ([rest], len(rest)) if len(rest) else ([], 0)
        if pending_len:
            yield np.concatenate(pending)


def _open(source: AudioSource) -> av.container.InputContainer:
    fileobj: str | BinaryIO
    if isinstance(source, bytes | bytearray | memoryview):
        if len(source) == 0:
            raise UnsupportedMedia("the audio upload is empty")
        fileobj = io.BytesIO(bytes(source))
    elif isinstance(source, str | os.PathLike):
        path = os.fspath(source)
        if not os.path.isfile(path):
            raise FileNotFoundError(path)
        if os.path.getsize(path) == 0:
            raise UnsupportedMedia("the audio file is empty")
        fileobj = path
    else:
        fileobj = source
    return open_media(fileobj)


def open_media(source: str | BinaryIO) -> av.container.InputContainer:
    """``source`` opened by FFmpeg for reading, with the demuxer and protocol allow-lists.

    Anything else — a playlist, a concat list, an unknown format — is
    :class:`UnsupportedMedia` (400) before a packet is read.
    """
    protocols = _PATH_PROTOCOLS if isinstance(source, str) else _MEMORY_PROTOCOLS
    try:
        return av.open(
            source,
            mode="r",
            metadata_errors="ignore",
            container_options={"format_whitelist": INPUT_FORMATS, "protocol_whitelist": protocols},
        )
    except av.error.FFmpegError as exc:
        raise UnsupportedMedia(
            "could not read the upload as audio: the data is not in a known audio format",
            # FFmpeg's reason without the file name it appends (a server path).
            detail={"reason": getattr(exc, "strerror", None) or type(exc).__name__},
        ) from exc


def _decoded_frames(
    container: av.container.InputContainer,
    sample_rate: int,
    max_seconds: float | None,
) -> tuple[_SourceInfo, Iterator[FloatArray]]:
    """Source facts plus an iterator of (channels, n) float32 blocks at ``sample_rate``.

    Channels stay separate here; mono is their plain average (:func:`_downmix`), because
    FFmpeg's own stereo→mono matrix adds the sides at -3 dB each and can clip.
    """
    if not container.streams.audio:
        raise UnsupportedMedia("the upload has no audio stream")
    stream = container.streams.audio[0]
    ctx = stream.codec_context
    if ctx is None or not ctx.sample_rate:
        raise UnsupportedMedia("the audio stream uses a codec that cannot be decoded")
    info = _SourceInfo(
        sample_rate=int(ctx.sample_rate),
        channels=int(ctx.layout.nb_channels) or 1,
        format=container.format.name,
        codec=ctx.name,
    )
    resampler = av.AudioResampler(
        format="fltp", layout=_resampler_layout(ctx.layout, info.channels), rate=sample_rate
    )
    limit = None if max_seconds is None else math.floor(max_seconds * sample_rate)

    def blocks() -> Iterator[FloatArray]:
        total = 0
        for frame in _source_frames(container, stream):
            for out in resampler.resample(frame):
                block = out.to_ndarray().astype(np.float32, copy=False)
                total += block.shape[1]
                if limit is not None and total > limit:
                    raise AudioTooLong(
                        f"the audio is longer than the {max_seconds:g} s allowed here",
                        detail={"max_seconds": max_seconds},
                    )
                yield block
        if total == 0:
            raise UnsupportedMedia("the upload contains no decodable audio")

    return info, blocks()


def _source_frames(
    container: av.container.InputContainer, stream: av.AudioStream
) -> Iterator[av.AudioFrame | None]:
    """Decoded frames; a corrupt packet is skipped and a broken tail ends the stream.

    Yields ``None`` last so the resampler flushes its buffered samples.
    """
    try:
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except av.error.DecoderNotFoundError as exc:
                raise UnsupportedMedia(
                    f"the audio codec {stream.codec_context.name!r} is not supported"
                ) from exc
            except av.error.FFmpegError:
                continue  # one corrupt packet: skip it, as ffmpeg does
            yield from frames
    except av.error.FFmpegError:
        pass  # truncated or damaged container: keep what decoded so far
    yield None


def _resampler_layout(layout: av.AudioLayout, channels: int) -> av.AudioLayout | str:
    # Named layouts for the common cases: some decoders report an "unspecified order"
    # mono/stereo layout that the resampler refuses as an output layout.
    return {1: "mono", 2: "stereo"}.get(channels, layout)


def _downmix(block: FloatArray) -> FloatArray:
    mono: FloatArray = block[0] if block.shape[0] == 1 else block.mean(axis=0, dtype=np.float32)
    return mono


def _concat(chunks: list[FloatArray]) -> FloatArray:
    if not chunks:
        return np.zeros(0, dtype=np.float32)
    return np.ascontiguousarray(np.concatenate(chunks), dtype=np.float32)


# --- sample helpers ------------------------------------------------------------------


def pcm16_to_float(pcm: bytes | Int16Array) -> FloatArray:
    """Little-endian signed 16-bit PCM (bytes or int16 array) → float32 in [-1, 1)."""
    if isinstance(pcm, bytes | bytearray | memoryview):
        if len(pcm) % 2:
            raise InvalidInput("PCM16 data must have an even number of bytes")
        data: Int16Array = np.frombuffer(pcm, dtype="<i2")
    else:
        data = pcm
    return (data.astype(np.float32) / 32768.0).astype(np.float32, copy=False)


def float_to_pcm16(samples: FloatArray) -> Int16Array:
    """float32 in [-1, 1] → int16, clipped (loud input saturates instead of wrapping).

    Scaled by 32768 like :func:`pcm16_to_float`, so int16 → float → int16 is lossless.
    """
    scaled = np.clip(np.round(np.asarray(samples, dtype=np.float64) * 32768.0), -32768, 32767)
    pcm: Int16Array = scaled.astype(np.int16)
    return pcm


def resample(samples: FloatArray, from_rate: int, to_rate: int) -> FloatArray:
    """Resample mono float32 audio with FFmpeg's resampler (band-limited, not linear)."""
    if from_rate <= 0 or to_rate <= 0:
        raise InvalidInput("sample rates must be positive")
    mono = np.ascontiguousarray(samples, dtype=np.float32)
    if from_rate == to_rate or len(mono) == 0:
        return mono.copy()
    frame = av.AudioFrame.from_ndarray(mono[np.newaxis, :], format="fltp", layout="mono")
    frame.sample_rate = from_rate
    resampler = av.AudioResampler(format="fltp", layout="mono", rate=to_rate)
    blocks = [f.to_ndarray()[0] for f in resampler.resample(frame)]
    blocks += [f.to_ndarray()[0] for f in resampler.resample(None)]
    return _concat(blocks)


# --- encoding ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Encoder:
    container: str
    codec: str
    sample_format: str
    rates: tuple[int, ...] | None = None  # None: any rate


_ENCODERS: Final[dict[str, _Encoder]] = {
    "mp3": _Encoder(
        "mp3", "libmp3lame", "s16p", (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
    ),
    "opus": _Encoder("ogg", "libopus", "flt", (8000, 12000, 16000, 24000, 48000)),
    "webm": _Encoder("webm", "libopus", "flt", (8000, 12000, 16000, 24000, 48000)),
    "flac": _Encoder("flac", "flac", "s16"),
    "aac": _Encoder(
        "adts", "aac", "fltp", (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
    ),
    "m4a": _Encoder(
        "ipod", "aac", "fltp", (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
    ),
}


def encode_audio(samples: FloatArray | Int16Array, sample_rate: int, fmt: str) -> bytes:
    """Encode mono audio (float32 in [-1, 1] or int16) as ``fmt`` (see ``ENCODE_FORMATS``).

    ``pcm`` is headerless s16le; ``aac`` is an ADTS stream, ``m4a`` AAC in MP4; ``opus``
    is Ogg Opus. Codecs with a fixed set of rates get the nearest rate at or above the
    input's (Opus: 22.05 kHz → 24 kHz).
    """
    if sample_rate <= 0:
        raise InvalidInput("sample_rate must be positive")
    mono = _as_float(samples)
    if fmt == "pcm":
        return float_to_pcm16(mono).astype("<i2").tobytes()
    if fmt == "wav":
        return _encode_wav(mono, sample_rate)
    encoder = _ENCODERS.get(fmt)
    if encoder is None:
        raise InvalidInput(f"unknown audio format {fmt!r}; use one of: {', '.join(ENCODE_FORMATS)}")
    return _encode_av(mono, sample_rate, encoder)


def _as_float(samples: FloatArray | Int16Array) -> FloatArray:
    array = np.asarray(samples)
    if array.ndim != 1:
        raise InvalidInput("only mono (1-D) audio can be encoded")
    if array.dtype == np.int16:
        return pcm16_to_float(array.astype(np.int16, copy=False))
    return np.ascontiguousarray(array, dtype=np.float32)


def _encode_wav(samples: FloatArray, sample_rate: int) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(float_to_pcm16(samples).astype("<i2").tobytes())
    return buffer.getvalue()


def _encode_av(samples: FloatArray, sample_rate: int, encoder: _Encoder) -> bytes:
    rate = _pick_rate(sample_rate, encoder.rates)
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=encoder.container) as output:
        stream = cast(av.AudioStream, output.add_stream(encoder.codec, rate=rate, layout="mono"))
        stream.format = encoder.sample_format
        output.start_encoding()  # header even for empty audio: a valid, silent file
        if len(samples):
            frame = av.AudioFrame.from_ndarray(samples[np.newaxis, :], format="fltp", layout="mono")
            frame.sample_rate = sample_rate
            resampler = av.AudioResampler(format=encoder.sample_format, layout="mono", rate=rate)
            for converted in [*resampler.resample(frame), *resampler.resample(None)]:
                output.mux(stream.encode(converted))
        output.mux(stream.encode(None))
    return buffer.getvalue()


def _pick_rate(sample_rate: int, allowed: tuple[int, ...] | None) -> int:
    if allowed is None or sample_rate in allowed:
        return sample_rate
    higher = [rate for rate in sorted(allowed) if rate >= sample_rate]
    return higher[0] if higher else max(allowed)
