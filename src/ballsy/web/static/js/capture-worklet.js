/**
 * AudioWorklet processor: microphone samples at the AudioContext's rate → PCM16 mono
 * at the rate the voice socket expects (16 kHz), in 20 ms frames.
 *
 * It runs on the audio rendering thread, so it only does arithmetic: downmix, a
 * windowed-sinc low-pass (without it, 48 kHz speech folded down to 16 kHz aliases
 * and Whisper hears hiss), linear interpolation at the output instants, float →
 * int16. Each full frame's buffer is *transferred* to the main thread with its RMS
 * level, which the page uses for the level meter and local barge-in detection.
 */

const TAPS = 31;

/**
 * Low-pass FIR coefficients for a decimation by `ratio` (input/output rate).
 * @param {number} ratio
 * @returns {Float32Array}
 */
function lowPass(ratio) {
  const cutoff = (0.5 / ratio) * 0.9; // cycles per input sample, a little under Nyquist
  const middle = (TAPS - 1) / 2;
  const taps = new Float32Array(TAPS);
  let sum = 0;
  for (let i = 0; i < TAPS; i++) {
    const x = i - middle;
    const sinc = x === 0 ? 2 * cutoff : Math.sin(2 * Math.PI * cutoff * x) / (Math.PI * x);
    const hamming = 0.54 - 0.46 * Math.cos((2 * Math.PI * i) / (TAPS - 1));
    taps[i] = sinc * hamming;
    sum += taps[i];
  }
  for (let i = 0; i < TAPS; i++) taps[i] /= sum; // unity gain at 0 Hz
  return taps;
}

class CaptureProcessor extends AudioWorkletProcessor {
  /** @param {{processorOptions?: {targetRate?: number, frameMs?: number}}} options */
  constructor(options) {
    super();
    const { targetRate = 16000, frameMs = 20 } = options.processorOptions || {};
    // `sampleRate` is the AudioContext's rate, a global of the worklet scope.
    this.ratio = sampleRate / targetRate;
    this.taps = this.ratio > 1 ? lowPass(this.ratio) : null;
    this.history = new Float32Array(TAPS);
    this.cursor = 0;
    // Resampling state: the index of the next input sample, the position (in input
    // samples) of the next output sample, and the previous filtered sample.
    this.index = 0;
    this.next = 0;
    this.previous = 0;
    this.frameSize = Math.round((targetRate * frameMs) / 1000);
    this.frame = new Int16Array(this.frameSize);
    this.filled = 0;
    this.energy = 0;
    this.seenInput = false;
  }

  /** @param {number} x */
  filter(x) {
    const taps = this.taps;
    if (!taps) return x;
    this.history[this.cursor] = x;
    let y = 0;
    let j = this.cursor;
    for (let i = 0; i < TAPS; i++) {
      y += taps[i] * this.history[j];
      j = j === 0 ? TAPS - 1 : j - 1;
    }
    this.cursor = this.cursor === TAPS - 1 ? 0 : this.cursor + 1;
    return y;
  }

  /** @param {number} value one output sample in [-1, 1] */
  emit(value) {
    const v = Math.max(-1, Math.min(1, value));
    this.frame[this.filled++] = v < 0 ? v * 0x8000 : v * 0x7fff;
    this.energy += v * v;
    if (this.filled === this.frameSize) {
      const rms = Math.sqrt(this.energy / this.frameSize);
      this.port.postMessage({ pcm: this.frame.buffer, rms }, [this.frame.buffer]);
      this.frame = new Int16Array(this.frameSize);
      this.filled = 0;
      this.energy = 0;
    }
  }

  /** @param {Float32Array[][]} inputs */
  process(inputs) {
    const channels = inputs[0];
    // No input: before the microphone is connected stay alive; after it was
    // disconnected (capture stopped) let the processor be collected.
    if (!channels || channels.length === 0) return !this.seenInput;
    this.seenInput = true;
    const length = channels[0].length;
    for (let i = 0; i < length; i++) {
      let x = 0;
      for (let c = 0; c < channels.length; c++) x += channels[c][i];
      const y = this.filter(x / channels.length);
      // Every output instant between the previous input sample and this one.
      while (this.next <= this.index) {
        const fraction = this.next - (this.index - 1);
        this.emit(this.previous + (y - this.previous) * fraction);
        this.next += this.ratio;
      }
      this.previous = y;
      this.index += 1;
    }
    // Keep both counters small so float precision never drifts over a long session.
    this.next -= this.index;
    this.index = 0;
    return true;
  }
}

registerProcessor("ballsy-capture", CaptureProcessor);
