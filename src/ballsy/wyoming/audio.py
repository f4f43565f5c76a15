"""Wyoming PCM in any format the protocol allows → 16 kHz mono PCM16 for listening.

An ``audio-start`` or ``audio-chunk`` names its own rate, sample width (1–4 bytes) and
channel count; Home Assistant sends 16 kHz mono, other clients may not. Samples are
widened or narrowed to 16 bits (8-bit PCM is unsigned, as in WAV), channels are
averaged, and one :class:`~ballsy.realtime.session.resampling.StreamResampler` per
stream keeps its filter state from chunk to chunk.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ballsy.errors import BallsyError
from ballsy.realtime.session.resampling import StreamResampler

LISTEN_RATE = 16_000
MIN_RATE, MAX_RATE = 8_000, 192_000
MAX_CHANNELS = 16

Int16Array = npt.NDArray[np.int16]


class UnsupportedAudio(BallsyError):
    status_code = 415
    code = "unsupported_audio"


@dataclass(frozen=True, slots=True)
class PcmFormat:
    rate: int
    width: int
    channels: int

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> PcmFormat:
        """The format fields of an audio event, checked."""
        rate, width, channels = (data.get(key) for key in ("rate", "width", "channels"))
        for name, value in (("rate", rate), ("width", width), ("channels", channels)):
            if not isinstance(value, int) or isinstance(value, bool):
                raise UnsupportedAudio(f"audio '{name}' must be an integer")
        assert isinstance(rate, int) and isinstance(width, int) and isinstance(channels, int)
        if not MIN_RATE <= rate <= MAX_RATE:
            raise UnsupportedAudio(f"audio rate must be {MIN_RATE}–{MAX_RATE} Hz (got {rate})")
        if width not in (1, 2, 3, 4):
            raise UnsupportedAudio(f"audio width must be 1–4 bytes (got {width})")
        if not 1 <= channels <= MAX_CHANNELS:
            raise UnsupportedAudio(f"audio channels must be 1–{MAX_CHANNELS} (got {channels})")
        return cls(rate, width, channels)

    @property
    def frame_bytes(self) -> int:
        return self.width * self.channels

    def seconds(self, payload: bytes) -> float:
        return len(payload) / self.frame_bytes / self.rate


class PcmConverter:
    """One audio stream's converter; ``convert`` chunk by chunk, ``flush`` at the end."""

    def __init__(self, fmt: PcmFormat) -> None:
        self.format = fmt
        self._resampler = StreamResampler(fmt.rate, LISTEN_RATE)

    def convert(self, payload: bytes) -> Int16Array:
        fmt = self.format
        if len(payload) % fmt.frame_bytes:
            raise UnsupportedAudio(
                f"audio chunk of {len(payload)} bytes is not whole frames of "
                f"{fmt.width} bytes × {fmt.channels} channels"
            )
        samples = _to_int32(payload, fmt.width).reshape(-1, fmt.channels)
        mono = samples.mean(axis=1) if fmt.channels > 1 else samples[:, 0]
        return self._resampler.process(np.clip(mono, -32768, 32767).astype(np.int16))

    def flush(self) -> Int16Array:
        return self._resampler.flush()


def _to_int32(payload: bytes, width: int) -> npt.NDArray[np.int32]:
    """Samples scaled to the 16-bit range, as int32 (so channel sums cannot overflow)."""
    if width == 1:  # unsigned 8-bit, centred on 128
        return (np.frombuffer(payload, dtype=np.uint8).astype(np.int32) - 128) << 8
    if width == 2:
        return np.frombuffer(payload, dtype="<i2").astype(np.int32)
    if width == 3:
        raw = np.frombuffer(payload, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        value = raw[:, 0] | (raw[:, 1] << 8) | (raw[:, 2] << 16)
        value = np.where(value & 0x800000, value - (1 << 24), value)
        return (value >> 8).astype(np.int32)
    return (np.frombuffer(payload, dtype="<i4") >> 16).astype(np.int32)
