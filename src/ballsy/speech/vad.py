"""Streaming voice-activity detection with Silero VAD v6, and end-of-turn detection.

One ONNX session is shared by the whole process (``shared_vad()``); each audio
stream owns a small :class:`VoiceActivityStream` with the LSTM state and the last 64
samples of context, so a thousand open sockets cost a thousand tiny states, not a
thousand models. :class:`TurnDetector` turns per-window probabilities into
``VoiceOnset`` / ``VoiceOffset`` events for the realtime conversation loop.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol

import numpy as np
import numpy.typing as npt

from ballsy.errors import InvalidInput, ModelUnavailable
from ballsy.speech.model_files import faster_whisper_asset

FloatArray = npt.NDArray[np.float32]

VAD_SAMPLE_RATE: Final = 16_000
WINDOW_SAMPLES: Final = 512
CONTEXT_SAMPLES: Final = 64
_STATE_SHAPE: Final = (1, 1, 128)
VAD_MODEL_FILE: Final = "silero_vad_v6.onnx"


class VadModel(Protocol):
    """What a stream needs of a VAD model (Silero here; an energy gate in tests)."""

    def infer(
        self, windows: FloatArray, h: FloatArray, c: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]: ...


class SileroVad:
    """The Silero v6 ONNX model: ``input`` [n, 576], LSTM ``h``/``c`` [1, 1, 128].

    The export runs its LSTM across the first axis, so n consecutive windows in one
    call give the same probabilities as n calls of one window (and are ~2x faster).
    ``InferenceSession.run`` is thread-safe, so one instance serves every stream.
    """

    def __init__(self, path: Path | None = None) -> None:
        import onnxruntime as ort

        model_path = path or faster_whisper_asset(VAD_MODEL_FILE)
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self._session: Any = ort.InferenceSession(
                str(model_path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:
            raise ModelUnavailable(f"could not load the VAD model {model_path}: {exc}") from exc
        self.path = model_path

    def stream(self) -> VoiceActivityStream:
        return VoiceActivityStream(self)

    def infer(
        self, windows: FloatArray, h: FloatArray, c: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Probabilities for ``windows`` ([n, 576] with context) and the next LSTM state."""
        probs, h_next, c_next = self._session.run(None, {"input": windows, "h": h, "c": c})
        return (
            np.asarray(probs, dtype=np.float32).reshape(-1),
            np.asarray(h_next, dtype=np.float32),
            np.asarray(c_next, dtype=np.float32),
        )


_shared: SileroVad | None = None
_shared_lock = threading.Lock()


def shared_vad() -> SileroVad:
    """The process-wide VAD model, loaded on first use (about 2 MB of memory)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = SileroVad()
        return _shared


class VoiceActivityStream:
    """Per-stream VAD state: feed consecutive 512-sample windows of 16 kHz audio."""

    def __init__(self, model: VadModel | None = None) -> None:
        self._model = model or shared_vad()
        self.reset()

    def reset(self) -> None:
        self._h = np.zeros(_STATE_SHAPE, dtype=np.float32)
        self._c = np.zeros(_STATE_SHAPE, dtype=np.float32)
        self._context = np.zeros(CONTEXT_SAMPLES, dtype=np.float32)

    def probability(self, window: FloatArray) -> float:
        """Speech probability of one window of exactly 512 samples following the last."""
        samples = np.asarray(window, dtype=np.float32)
        if samples.shape != (WINDOW_SAMPLES,):
            raise InvalidInput(f"a VAD window is {WINDOW_SAMPLES} samples at 16 kHz")
        return float(self.probabilities(samples)[0])

    def probabilities(self, audio: FloatArray) -> FloatArray:
        """One probability per 512-sample window; ``len(audio)`` must be a multiple of 512."""
        samples = np.asarray(audio, dtype=np.float32)
        if samples.ndim != 1 or len(samples) % WINDOW_SAMPLES:
            raise InvalidInput(f"VAD input must be 1-D and a multiple of {WINDOW_SAMPLES} samples")
        if len(samples) == 0:
            return np.zeros(0, dtype=np.float32)
        windows = samples.reshape(-1, WINDOW_SAMPLES)
        context = np.empty((len(windows), CONTEXT_SAMPLES), dtype=np.float32)
        context[0] = self._context
        context[1:] = windows[:-1, -CONTEXT_SAMPLES:]
        batch = np.concatenate([context, windows], axis=1)
        probs, self._h, self._c = self._model.infer(batch, self._h, self._c)
        self._context = windows[-1, -CONTEXT_SAMPLES:].copy()
        return probs


# --- turn detection ------------------------------------------------------------------


@dataclass(frozen=True)
class VoiceOnset:
    """The VAD heard speech begin. The engine reports it to clients as the session
    event :class:`ballsy.realtime.session.events.SpeechStarted`."""

    at_s: float
    """Stream time where speech began (not when it was confirmed)."""


@dataclass(frozen=True, eq=False)
class VoiceOffset:
    """The VAD heard a closing silence: one utterance, with its audio. The engine reports
    it as :class:`ballsy.realtime.session.events.SpeechStopped`."""

    at_s: float
    """Stream time where speech ended (the start of the closing silence)."""
    started_at_s: float
    audio: FloatArray
    """The utterance at 16 kHz, with ``prefix_padding_ms`` before it and up to as much after."""


TurnEvent = VoiceOnset | VoiceOffset


@dataclass(frozen=True)
class TurnConfig:
    threshold: float = 0.5
    """A window at or above this probability is speech."""
    min_speech_ms: int = 250
    """Speech must last this long before a turn starts (coughs and clicks do not)."""
    silence_ms: int = 600
    """Silence that ends a turn."""
    prefix_padding_ms: int = 300
    """Audio kept before the detected start (word onsets are quiet)."""
    max_turn_s: float = 60.0
    """A turn is closed after this long even without silence (bounds memory)."""

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold < 1.0:
            raise InvalidInput("VAD threshold must be between 0 and 1")
        if self.min_speech_ms < 0 or self.silence_ms < 0 or self.prefix_padding_ms < 0:
            raise InvalidInput("VAD durations must not be negative")
        if self.max_turn_s <= 0:
            raise InvalidInput("max_turn_s must be positive")


def _windows_for(ms: float) -> int:
    return max(0, round(ms / 1000 * VAD_SAMPLE_RATE / WINDOW_SAMPLES))


class TurnDetector:
    """Feed 16 kHz float32 chunks of any length; get speech start/stop events back.

    Hysteresis: a turn needs ``threshold`` to start, and only drops below
    ``threshold - 0.15`` count as silence, so a soft syllable does not end it.
    """

    def __init__(self, config: TurnConfig | None = None, *, vad: VadModel | None = None) -> None:
        self.config = config or TurnConfig()
        self._vad = VoiceActivityStream(vad)
        self._off_threshold = max(0.01, self.config.threshold - 0.15)
        self._min_speech = max(1, _windows_for(self.config.min_speech_ms))
        self._silence = max(1, _windows_for(self.config.silence_ms))
        self._padding = _windows_for(self.config.prefix_padding_ms)
        self._max_turn = max(1, _windows_for(self.config.max_turn_s * 1000))
        self.reset()

    @property
    def speaking(self) -> bool:
        return self._in_turn

    @property
    def time_s(self) -> float:
        """Stream time of the audio consumed so far (whole windows only)."""
        return self._index * WINDOW_SAMPLES / VAD_SAMPLE_RATE

    @property
    def trailing_silence_s(self) -> float:
        """How long the user has been quiet inside the current turn (0 outside one)."""
        return self._quiet * WINDOW_SAMPLES / VAD_SAMPLE_RATE if self._in_turn else 0.0

    def turn_audio(self) -> FloatArray:
        """The current turn's audio so far (with its prefix padding); empty outside one."""
        if not self._in_turn or not self._turn:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate(self._turn).astype(np.float32, copy=False)

    def reset(self) -> None:
        self._vad.reset()
        self._pending = np.zeros(0, dtype=np.float32)
        self._index = 0  # windows consumed
        self._history: deque[FloatArray] = deque(maxlen=self._padding + self._min_speech + 1)
        self._turn: list[FloatArray] = []
        self._in_turn = False
        self._run = 0  # consecutive speech windows while idle
        self._quiet = 0  # consecutive silent windows while in a turn
        self._start_index = 0

    def feed(self, chunk: FloatArray) -> list[TurnEvent]:
        """Process ``chunk``; returns the events it completed (often none)."""
        samples = np.asarray(chunk, dtype=np.float32).reshape(-1)
        if len(self._pending):
            samples = np.concatenate([self._pending, samples])
        whole = len(samples) // WINDOW_SAMPLES * WINDOW_SAMPLES
        self._pending = samples[whole:].copy()
        if whole == 0:
            return []
        windows = samples[:whole].reshape(-1, WINDOW_SAMPLES)
        probs = self._vad.probabilities(samples[:whole])
        events: list[TurnEvent] = []
        for window, prob in zip(windows, probs, strict=True):
            event = self._step(window, float(prob))
            if event is not None:
                events.append(event)
        return events

    def flush(self) -> list[TurnEvent]:
        """End of stream: close a turn in progress."""
        if not self._in_turn:
            return []
        return [self._close(self._index - self._quiet)]

    def _step(self, window: FloatArray, prob: float) -> TurnEvent | None:
        index = self._index
        self._index += 1
        if self._in_turn:
            self._turn.append(window)
            self._quiet = self._quiet + 1 if prob < self._off_threshold else 0
            if self._quiet >= self._silence:
                return self._close(self._index - self._quiet)
            if len(self._turn) >= self._max_turn:
                return self._close(self._index)
            return None
        self._history.append(window)
        self._run = self._run + 1 if prob >= self.config.threshold else 0
        if self._run < self._min_speech:
            return None
        # Confirmed: the turn began `run` windows ago; keep padding before that.
        self._in_turn = True
        self._quiet = 0
        self._start_index = index + 1 - self._run
        keep = min(len(self._history), self._run + self._padding)
        self._turn = list(self._history)[-keep:]
        self._history.clear()
        self._run = 0
        return VoiceOnset(at_s=self._start_index * WINDOW_SAMPLES / VAD_SAMPLE_RATE)

    def _close(self, end_index: int) -> VoiceOffset:
        # Keep at most `padding` windows of the closing silence as trailing context.
        trailing = min(self._quiet, self._padding)
        drop = self._quiet - trailing
        windows = self._turn[: len(self._turn) - drop] if drop else self._turn
        audio = np.concatenate(windows) if windows else np.zeros(0, dtype=np.float32)
        event = VoiceOffset(
            at_s=end_index * WINDOW_SAMPLES / VAD_SAMPLE_RATE,
            started_at_s=self._start_index * WINDOW_SAMPLES / VAD_SAMPLE_RATE,
            audio=audio.astype(np.float32, copy=False),
        )
        self._in_turn = False
        self._turn = []
        self._quiet = 0
        self._history.clear()
        return event
