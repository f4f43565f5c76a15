"""Semantic end of turn: has the speaker finished, or only paused?

Smart Turn v3.2 (BSD-2-Clause, pipecat-ai) is an 8 MB int8 ONNX classifier that hears
the last 8 s of an utterance and says how likely it is complete — the intonation and
rhythm of "…how far the moon is" against "I would like to know…". The model file
ships inside the ``pipecat-ai`` wheel; it is located on disk without importing
pipecat. Its input is Whisper's 80-bin log-mel spectrogram of 8 s of 16 kHz audio,
zero-padded at the front and normalized to zero mean and unit variance first;
faster-whisper's feature extractor (``chunk_length=8``) computes it.

One ONNX session serves the whole process (``run`` is thread-safe); a decision costs
about 60 ms of one core, so callers run it off the event loop.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from ballsy.errors import ModelUnavailable
from ballsy.packaged_files import package_dir

FloatArray = npt.NDArray[np.float32]

SAMPLE_RATE: Final = 16_000
WINDOW_S: Final = 8
MODEL_FILE: Final = "smart-turn-v3.2-cpu.onnx"


def smart_turn_path() -> Path:
    """The Smart Turn model inside the installed ``pipecat-ai`` wheel."""
    path = package_dir("pipecat") / "audio" / "turn" / "smart_turn" / "data" / MODEL_FILE
    if not path.is_file():
        raise ModelUnavailable(f"{MODEL_FILE} is missing from the installed pipecat-ai package")
    return path


class SmartTurn:
    def __init__(self, path: Path | None = None) -> None:
        import onnxruntime as ort
        from faster_whisper.feature_extractor import FeatureExtractor

        model_path = path or smart_turn_path()
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self._session: Any = ort.InferenceSession(
                str(model_path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:
            raise ModelUnavailable(f"could not load the turn model {model_path}: {exc}") from exc
        self._input = self._session.get_inputs()[0].name
        self._features = FeatureExtractor(feature_size=80, chunk_length=WINDOW_S)
        self.path = model_path

    def completion(self, audio: FloatArray) -> float:
        """The probability (0–1) that ``audio`` (16 kHz, the utterance so far) is complete."""
        window = WINDOW_S * SAMPLE_RATE
        samples = np.asarray(audio, dtype=np.float32)[-window:]
        if len(samples) < window:
            samples = np.concatenate([np.zeros(window - len(samples), np.float32), samples])
        samples = (samples - samples.mean()) / np.sqrt(samples.var() + 1e-7)
        features = self._features(samples, padding=0)[:, : self._features.nb_max_frames]
        batch = features[np.newaxis].astype(np.float32)
        (out,) = self._session.run(None, {self._input: batch})
        return float(np.asarray(out).reshape(-1)[0])


_shared: SmartTurn | None = None
_lock = threading.Lock()


def shared_smart_turn() -> SmartTurn:
    """The process-wide turn model, loaded on first use."""
    global _shared
    with _lock:
        if _shared is None:
            _shared = SmartTurn()
        return _shared
