"""Decoding real recordings and re-encoded variants, bad input, encoding and helpers."""

from __future__ import annotations

import io
import time
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ballsy.errors import AudioTooLong, InvalidInput, UnsupportedMedia
from ballsy.speech.audio import (
    ENCODE_FORMATS,
    decode_audio,
    decode_channels,
    encode_audio,
    float_to_pcm16,
    iter_audio_chunks,
    pcm16_to_float,
    resample,
)
from ballsy.speech.stt import SpeechToText, TranscribeOptions

SOURCE_FACTS = {
    # name: (source rate, channels, container, codec)
    "jfk.flac": (44_100, 2, "flac", "flac"),
    "english.wav": (44_100, 1, "wav", "pcm_s16le"),
    "french.aiff": (44_100, 1, "aiff", "pcm_s16be"),
    "stereo_diarization.wav": (16_000, 2, "wav", "pcm_s16le"),
}


@pytest.mark.parametrize("name", sorted(SOURCE_FACTS))
def test_decodes_every_fixture(name: str, fixtures_dir: Path, transcripts: dict[str, Any]) -> None:
    decoded = decode_audio(fixtures_dir / name)

    rate, channels, container, codec = SOURCE_FACTS[name]
    assert decoded.samples.dtype == np.float32
    assert decoded.samples.ndim == 1
    assert decoded.sample_rate == 16_000
    assert decoded.duration == pytest.approx(transcripts[name]["seconds"], abs=0.05)
    assert len(decoded.samples) == pytest.approx(decoded.duration * 16_000, abs=1)
    assert (decoded.source_sample_rate, decoded.source_channels) == (rate, channels)
    assert (decoded.source_format, decoded.source_codec) == (container, codec)
    assert 0.05 < float(np.abs(decoded.samples).max()) <= 1.0
    assert np.isfinite(decoded.samples).all()


def test_bytes_path_and_file_object_decode_identically(fixtures_dir: Path) -> None:
    path = fixtures_dir / "english.wav"
    data = path.read_bytes()
    from_path = decode_audio(path)
    from_str = decode_audio(str(path))
    from_bytes = decode_audio(data)
    with path.open("rb") as handle:
        from_file = decode_audio(handle)

    for other in (from_str, from_bytes, from_file):
        np.testing.assert_array_equal(from_path.samples, other.samples)


def test_decodes_to_another_rate(fixtures_dir: Path) -> None:
    decoded = decode_audio(fixtures_dir / "jfk.flac", sample_rate=24_000)
    assert decoded.sample_rate == 24_000
    assert len(decoded.samples) == pytest.approx(11.0 * 24_000, abs=2)


VARIANTS = {
    # name: (file suffix, container, codec, sample format, output rate, channels)
    "mp3": ("mp3", "mp3", "libmp3lame", "s16p", 44_100, 1),
    "ogg-opus": ("ogg", "ogg", "libopus", "flt", 48_000, 1),
    "webm-opus": ("webm", "webm", "libopus", "flt", 48_000, 2),
    "m4a-aac": ("m4a", "ipod", "aac", "fltp", 44_100, 1),
    "adts-aac": ("aac", "adts", "aac", "fltp", 22_050, 2),
    "wav-8khz": ("wav", "wav", "pcm_s16le", "s16", 8_000, 1),
    "wav-48khz-stereo": ("wav", "wav", "pcm_s16le", "s16", 48_000, 2),
    "wav-8bit": ("wav", "wav", "pcm_u8", "u8", 16_000, 1),
    "wav-32bit": ("wav", "wav", "pcm_s32le", "s32", 32_000, 1),
    "wav-float": ("wav", "wav", "pcm_f32le", "flt", 22_050, 2),
    "aiff-24bit": ("aiff", "aiff", "pcm_s24be", "s32", 44_100, 2),
    "flac-16bit": ("flac", "flac", "flac", "s16", 12_000, 1),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_reencoded_variants_decode_and_transcribe(
    variant: str,
    tmp_path: Path,
    jfk_audio: np.ndarray,
    tiny_en: SpeechToText,
    transcripts: dict[str, Any],
    wer: Callable[[str, str], float],
    write_with_pyav: Callable[..., Path],
) -> None:
    suffix, container, codec, sample_format, rate, channels = VARIANTS[variant]
    samples = np.stack([jfk_audio] * channels) * (0.9 if channels == 1 else [[0.9], [0.6]])
    path = write_with_pyav(
        tmp_path / f"jfk.{suffix}",
        samples,
        16_000,
        rate=rate,
        container=container,
        codec=codec,
        sample_format=sample_format,
    )

    decoded = decode_audio(path)
    assert decoded.source_sample_rate == rate
    assert decoded.source_channels == channels
    assert decoded.duration == pytest.approx(11.0, abs=0.1)  # codecs add priming samples
    transcript = tiny_en.transcribe(decoded.samples, TranscribeOptions())
    assert wer(transcripts["jfk.flac"]["text"], transcript.text) <= 0.15, transcript.text


def test_stereo_channels_stay_separate(fixtures_dir: Path) -> None:
    both = decode_channels(fixtures_dir / "stereo_diarization.wav")
    mono = decode_audio(fixtures_dir / "stereo_diarization.wav")

    assert len(both.channels) == 2
    left, right = both.channels
    assert len(left) == len(right) == len(mono.samples)
    assert both.duration == pytest.approx(5.0, abs=0.01)
    # One speaker per side: the channels are different signals, and mono is their mean.
    assert abs(np.corrcoef(left, right)[0, 1]) < 0.5
    np.testing.assert_allclose(mono.samples, (left + right) / 2, atol=1e-6)


def test_mono_source_gives_one_channel(fixtures_dir: Path) -> None:
    assert len(decode_channels(fixtures_dir / "english.wav").channels) == 1


def test_chunks_cover_the_file_exactly(fixtures_dir: Path) -> None:
    whole = decode_audio(fixtures_dir / "jfk.flac").samples
    chunks = list(iter_audio_chunks(fixtures_dir / "jfk.flac", chunk_seconds=3.0))

    assert [len(c) for c in chunks] == [48_000, 48_000, 48_000, 32_000]
    np.testing.assert_array_equal(np.concatenate(chunks), whole)


def test_chunks_are_decoded_lazily(fixtures_dir: Path) -> None:
    class CountingReader(io.BytesIO):
        furthest = 0

        def read(self, size: int | None = -1) -> bytes:
            data = super().read(size)
            self.furthest = max(self.furthest, self.tell())
            return data

    data = (fixtures_dir / "jfk.flac").read_bytes()
    reader = CountingReader(data)
    chunks = iter_audio_chunks(reader, chunk_seconds=1.0)
    first = next(chunks)

    assert len(first) == 16_000
    assert reader.furthest < len(data) / 2, "the first chunk needed most of the file"
    chunks.close()


def test_chunk_length_must_be_positive(fixtures_dir: Path) -> None:
    with pytest.raises(InvalidInput):
        list(iter_audio_chunks(fixtures_dir / "jfk.flac", chunk_seconds=0))


# --- bad input ------------------------------------------------------------------------


def _bad_inputs(fixtures_dir: Path, tmp_path: Path) -> dict[str, Any]:
    flac = (fixtures_dir / "jfk.flac").read_bytes()
    text_as_wav = tmp_path / "notes.wav"
    text_as_wav.write_text("these are meeting notes, not audio\n" * 40)
    empty_file = tmp_path / "empty.mp3"
    empty_file.write_bytes(b"")
    return {
        "empty bytes": b"",
        "empty file": empty_file,
        "random bytes": np.random.default_rng(7).bytes(20_000),
        "flac header only": flac[:2_000],
        "text named .wav": text_as_wav,
        "png image": b"\x89PNG\r\n\x1a\n" + bytes(2_000),
    }


@pytest.mark.parametrize(
    "case",
    ["empty bytes", "empty file", "random bytes", "flac header only", "text named .wav",
     "png image"],
)  # fmt: skip
def test_bad_input_is_unsupported_media(case: str, fixtures_dir: Path, tmp_path: Path) -> None:
    source = _bad_inputs(fixtures_dir, tmp_path)[case]
    with pytest.raises(UnsupportedMedia) as info:
        decode_audio(source)
    assert info.value.status_code == 400
    assert info.value.message


def test_truncated_file_keeps_the_decodable_part(fixtures_dir: Path) -> None:
    data = (fixtures_dir / "jfk.flac").read_bytes()
    decoded = decode_audio(data[: len(data) // 3])
    assert 2.0 < decoded.duration < 5.0


def test_missing_path_is_a_server_error_not_bad_media(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        decode_audio(tmp_path / "nope.wav")


def _silence_wav(seconds: float, rate: int = 16_000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(bytes(int(seconds * rate) * 2))
    return buffer.getvalue()


def test_duration_cap_stops_decoding_early() -> None:
    ten_minutes = _silence_wav(600)
    started = time.perf_counter()
    with pytest.raises(AudioTooLong) as info:
        decode_audio(ten_minutes, max_seconds=5)
    elapsed = time.perf_counter() - started

    print(f"\nAudioTooLong on a 10-minute file after {elapsed * 1000:.1f} ms")
    assert elapsed < 0.25
    assert info.value.detail == {"max_seconds": 5}


def test_duration_cap_allows_audio_under_it(fixtures_dir: Path) -> None:
    assert decode_audio(fixtures_dir / "jfk.flac", max_seconds=11.5).duration == 11.0
    with pytest.raises(AudioTooLong):
        decode_audio(fixtures_dir / "jfk.flac", max_seconds=10.5)


def test_silence_decodes_as_zeros() -> None:
    decoded = decode_audio(_silence_wav(2.0, rate=44_100))
    assert decoded.duration == pytest.approx(2.0, abs=0.01)
    assert float(np.abs(decoded.samples).max()) == 0.0


# --- encoding -------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", [f for f in ENCODE_FORMATS if f != "pcm"])
@pytest.mark.parametrize("rate", [16_000, 22_050, 24_000])
def test_encoded_audio_decodes_back(fmt: str, rate: int, jfk_audio: np.ndarray) -> None:
    samples = resample(jfk_audio[: 3 * 16_000], 16_000, rate)
    data = encode_audio(samples, rate, fmt)
    decoded = decode_audio(data, sample_rate=rate)

    assert decoded.duration == pytest.approx(3.0, abs=0.08)
    # Lossy codecs shift and smear samples; loudness survives.
    original_rms = float(np.sqrt(np.mean(samples**2)))
    decoded_rms = float(np.sqrt(np.mean(decoded.samples**2)))
    assert decoded_rms == pytest.approx(original_rms, rel=0.2)


def test_pcm_and_wav_are_exact_16_bit(jfk_audio: np.ndarray) -> None:
    pcm = encode_audio(jfk_audio, 16_000, "pcm")
    assert len(pcm) == 2 * len(jfk_audio)
    np.testing.assert_array_equal(np.frombuffer(pcm, "<i2"), float_to_pcm16(jfk_audio))

    wav = encode_audio(float_to_pcm16(jfk_audio), 16_000, "wav")
    with wave.open(io.BytesIO(wav)) as parsed:
        assert (parsed.getframerate(), parsed.getnchannels(), parsed.getsampwidth()) == (
            16_000,
            1,
            2,
        )
        assert parsed.readframes(parsed.getnframes()) == pcm


def test_encode_refuses_unknown_format_and_stereo() -> None:
    with pytest.raises(InvalidInput):
        encode_audio(np.zeros(100, np.float32), 16_000, "wma")
    with pytest.raises(InvalidInput):
        encode_audio(np.zeros((2, 100), np.float32), 16_000, "wav")


def test_encoding_empty_audio_gives_a_valid_container() -> None:
    for fmt in ("wav", "flac", "opus"):
        assert encode_audio(np.zeros(0, np.float32), 16_000, fmt)


# --- helpers --------------------------------------------------------------------------


def test_pcm16_round_trip_and_clipping() -> None:
    pcm = np.array([-32768, -1, 0, 1, 32767], dtype=np.int16)
    as_float = pcm16_to_float(pcm.tobytes())
    assert as_float.dtype == np.float32
    assert as_float.min() == -1.0 and as_float.max() < 1.0
    np.testing.assert_array_equal(pcm16_to_float(pcm), as_float)

    loud = np.array([-3.0, -1.0, 0.0, 0.5, 2.0], dtype=np.float32)
    assert float_to_pcm16(loud).tolist() == [-32768, -32768, 0, 16384, 32767]
    with pytest.raises(InvalidInput):
        pcm16_to_float(b"\x00\x01\x02")


@pytest.mark.parametrize(("src", "dst"), [(16_000, 24_000), (24_000, 16_000), (22_050, 16_000)])
def test_resample_keeps_length_and_pitch(src: int, dst: int) -> None:
    t = np.arange(src) / src
    tone = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    out = resample(tone, src, dst)

    assert out.dtype == np.float32
    assert len(out) == pytest.approx(dst, abs=2)
    spectrum = np.abs(np.fft.rfft(out))
    peak_hz = np.argmax(spectrum) * dst / len(out)
    assert peak_hz == pytest.approx(440, abs=2)


def test_resample_same_rate_is_a_copy() -> None:
    x = np.ones(10, np.float32)
    y = resample(x, 16_000, 16_000)
    assert y is not x
    np.testing.assert_array_equal(x, y)
