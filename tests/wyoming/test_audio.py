"""Wyoming PCM of any width, channel count and rate → 16 kHz mono PCM16."""

from __future__ import annotations

import numpy as np
import pytest

from ballsy.wyoming.audio import PcmConverter, PcmFormat, UnsupportedAudio


def tone(rate: int, seconds: float = 0.5, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return amplitude * np.sin(2 * np.pi * 440 * t)


def encode(samples: np.ndarray, width: int, channels: int) -> bytes:
    frames = np.repeat(samples[:, None], channels, axis=1).reshape(-1)
    if width == 1:
        return (np.round(frames * 127) + 128).astype(np.uint8).tobytes()
    if width == 2:
        return np.round(frames * 32767).astype("<i2").tobytes()
    if width == 3:
        ints = np.round(frames * (1 << 23)).astype("<i4")
        return ints.reshape(-1, 1).view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
    return np.round(frames * (2**31 - 1)).astype("<i4").tobytes()


@pytest.mark.parametrize("width", [1, 2, 3, 4])
@pytest.mark.parametrize(("rate", "channels"), [(16_000, 1), (44_100, 2), (8_000, 1), (48_000, 6)])
def test_every_format_becomes_the_same_16k_mono_signal(
    width: int, rate: int, channels: int
) -> None:
    converter = PcmConverter(PcmFormat(rate, width, channels))
    payload = encode(tone(rate), width, channels)
    out = np.concatenate([converter.convert(payload), converter.flush()])
    assert abs(len(out) - 8_000) <= 64
    peak = np.abs(out[100:-100]).max() / 32768
    assert 0.45 < peak < 0.55, peak


def test_chunks_are_filtered_as_one_signal() -> None:
    converter = PcmConverter(PcmFormat(44_100, 2, 1))
    payload = encode(tone(44_100, seconds=1.0), 2, 1)
    step = 882 * 2  # 20 ms frames
    pieces = [converter.convert(payload[i : i + step]) for i in range(0, len(payload), step)]
    out = np.concatenate([*pieces, converter.flush()]).astype(np.float64) / 32768
    # No clicks at frame edges: the signal's sample-to-sample change stays a sine's.
    assert np.abs(np.diff(out[200:-200])).max() < 2 * np.pi * 440 / 16_000 * 0.55


@pytest.mark.parametrize(
    "data",
    [
        {"rate": 7_999, "width": 2, "channels": 1},
        {"rate": 500_000, "width": 2, "channels": 1},
        {"rate": 16_000, "width": 0, "channels": 1},
        {"rate": 16_000, "width": 2, "channels": 17},
        {"rate": 16_000.0, "width": 2, "channels": 1},
        {"rate": True, "width": 2, "channels": 1},
        {"rate": 16_000, "channels": 1},
    ],
)
def test_formats_outside_the_protocol_are_refused(data: dict) -> None:
    with pytest.raises(UnsupportedAudio):
        PcmFormat.from_data(data)


def test_partial_frames_are_refused() -> None:
    with pytest.raises(UnsupportedAudio):
        PcmConverter(PcmFormat(16_000, 3, 2)).convert(b"\x00" * 7)
