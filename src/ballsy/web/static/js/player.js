/**
 * Gapless playback of the reply's PCM16 chunks, and instant stop for barge-in.
 *
 * Each chunk becomes an AudioBufferSourceNode scheduled to start exactly where the
 * previous one ends (`endAt`), so 100 ms frames play as one continuous voice. The
 * server already paces audio with a small lead (docs/realtime.md), so the queue stays
 * short; {@link AudioPlayer#stop} stops every scheduled source at once — that is the
 * whole barge-in on this side.
 *
 * For tests and diagnostics the player keeps counters on `window.ballsyAudio` and
 * dispatches `ballsy:playback-started`, `ballsy:playback-ended` (the reply finished
 * playing) and `ballsy:playback-stopped` (cut off: barge-in, interruption, new turn)
 * on `window`.
 * @module player
 */

/** Seconds of audio scheduled ahead when a reply starts: absorbs network jitter. */
const START_LEAD_S = 0.05;

/**
 * @typedef {object} AudioCounters
 * @property {number} chunks chunks scheduled since the page loaded
 * @property {number} seconds seconds of audio scheduled
 * @property {number} started replies that started playing
 * @property {number} ended replies that played to their end
 * @property {number} stopped replies cut off by {@link AudioPlayer#stop}
 * @property {number} underruns times the queue ran dry before its reply was complete
 * @property {boolean} playing whether a reply is playing (or waiting for more audio)
 * @property {string|null} turnId the reply playing, or the last one
 * @property {{reason: string, turnId: string|null, at: number}|null} lastStop
 */

/** @returns {AudioCounters} */
function freshCounters() {
  return {
    chunks: 0,
    seconds: 0,
    started: 0,
    ended: 0,
    stopped: 0,
    underruns: 0,
    playing: false,
    turnId: null,
    lastStop: null,
  };
}

export class AudioPlayer {
  /** @param {AudioContext} context */
  constructor(context) {
    this.context = context;
    this.output = context.createGain();
    this.output.connect(context.destination);
    /** @type {Set<AudioBufferSourceNode>} */
    this.sources = new Set();
    this.endAt = 0;
    /** @type {string|null} */
    this.turnId = null;
    /** Whether the current reply has sent its last chunk. */
    this.complete = false;
    /** @type {AudioCounters} */
    this.counters = freshCounters();
    window.ballsyAudio = this.counters;
  }

  get playing() {
    return this.counters.playing;
  }

  /**
   * Schedule one chunk of a reply right after the audio already queued.
   * @param {Int16Array} pcm mono samples
   * @param {number} sampleRate of `pcm` (the browser resamples to its output)
   * @param {string} turnId chunks of another turn first stop the current one
   */
  enqueue(pcm, sampleRate, turnId) {
    if (pcm.length === 0) return;
    if (this.turnId !== turnId && this.counters.playing) this.stop("new reply");
    const context = this.context;
    const buffer = context.createBuffer(1, pcm.length, sampleRate);
    const samples = buffer.getChannelData(0);
    for (let i = 0; i < pcm.length; i++) samples[i] = pcm[i] / 32768;
    const source = context.createBufferSource();
    source.buffer = buffer;
    source.connect(this.output);
    const now = context.currentTime;
    const first = !this.counters.playing;
    if (!first && this.endAt < now) this.counters.underruns += 1;
    const startAt = Math.max(this.endAt, now + START_LEAD_S);
    source.start(startAt);
    this.endAt = startAt + buffer.duration;
    this.sources.add(source);
    source.onended = () => this.finished(source);
    this.counters.chunks += 1;
    this.counters.seconds += buffer.duration;
    if (first) {
      this.turnId = turnId;
      this.complete = false;
      Object.assign(this.counters, { playing: true, turnId });
      this.counters.started += 1;
      this.emit("ballsy:playback-started", { turnId, startsIn: startAt - now });
    }
  }

  /**
   * No more audio will come for `turnId`: the reply ends when its queue drains.
   * @param {string} turnId
   */
  finish(turnId) {
    if (turnId !== this.turnId || !this.counters.playing) return;
    this.complete = true;
    if (this.sources.size === 0) this.ended();
  }

  /**
   * Stop everything now (barge-in, `interrupted`, sign-out). Returns whether a reply
   * was playing.
   * @param {string} reason
   */
  stop(reason) {
    const wasPlaying = this.counters.playing;
    const sources = [...this.sources];
    this.sources.clear(); // first, so their `ended` callbacks see nothing to finish
    for (const source of sources) {
      source.onended = null;
      try {
        source.stop();
      } catch {
        // never started: nothing to stop
      }
      source.disconnect();
    }
    this.endAt = 0;
    if (wasPlaying) {
      const stop = { reason, turnId: this.turnId, at: performance.now() };
      this.counters.playing = false;
      this.counters.stopped += 1;
      this.counters.lastStop = stop;
      this.emit("ballsy:playback-stopped", stop);
    }
    return wasPlaying;
  }

  /** @param {AudioBufferSourceNode} source */
  finished(source) {
    if (!this.sources.delete(source)) return;
    source.disconnect();
    if (this.sources.size === 0 && this.complete) this.ended();
  }

  ended() {
    this.counters.playing = false;
    this.counters.ended += 1;
    this.emit("ballsy:playback-ended", { turnId: this.turnId });
  }

  /**
   * @param {string} type
   * @param {object} detail
   */
  emit(type, detail) {
    window.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

/**
 * Decode base64 PCM16 (little-endian, as every browser's typed arrays are) from the
 * socket's `audio` events.
 * @param {string} data
 */
export function decodePcm16(data) {
  const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
  return new Int16Array(bytes.buffer, 0, bytes.length >> 1);
}
