"""A resampler that keeps its filter state between chunks of one audio stream.

Resampling each 20 ms frame on its own would click at every frame edge; this keeps
one FFmpeg resampler per stream, so a conversation's audio is filtered as one signal.
"""

from __future__ import annotations

import av
import numpy as np
import numpy.typing as npt


class StreamResampler:
    def __init__(self, from_rate: int, to_rate: int) -> None:
        self.from_rate = from_rate
        self.to_rate = to_rate
        self._resampler = (
            av.AudioResampler(format="s16", layout="mono", rate=to_rate)
            if from_rate != to_rate
            else None
        )
        self._pts = 0

    def process(self, pcm: npt.NDArray[np.int16]) -> npt.NDArray[np.int16]:
        """int16 mono at ``from_rate`` in, int16 mono at ``to_rate`` out (may lag a little)."""
        if self._resampler is None or len(pcm) == 0:
            return pcm
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(pcm, dtype=np.int16).reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate = self.from_rate
        frame.pts = self._pts
        self._pts += len(pcm)
        out = [f.to_ndarray().reshape(-1) for f in self._resampler.resample(frame)]
        return np.concatenate(out).astype(np.int16) if out else np.zeros(0, dtype=np.int16)

    def flush(self) -> npt.NDArray[np.int16]:
        if self._resampler is None:
            return np.zeros(0, dtype=np.int16)
        out = [f.to_ndarray().reshape(-1) for f in self._resampler.resample(None)]
        return np.concatenate(out).astype(np.int16) if out else np.zeros(0, dtype=np.int16)
