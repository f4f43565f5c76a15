/**
 * The microphone: permission, capture through the AudioWorklet in
 * `capture-worklet.js`, and a small energy detector for *local* speech start.
 *
 * The stream is opened only while the user talks (or hands-free is on) and stopped
 * right after, so the browser's recording indicator means what it says.
 * Local speech detection exists for barge-in: the page stops its own playback the
 * moment the user starts speaking, without waiting for the server's VAD round trip.
 * @module microphone
 */

export const INPUT_RATE = 16000;

/** A microphone problem, with a message written for the person at the keyboard. */
export class MicrophoneError extends Error {
  /**
   * @param {"denied"|"missing"|"busy"|"insecure"|"unsupported"|"failed"} kind
   * @param {string} message
   */
  constructor(kind, message) {
    super(message);
    this.name = "MicrophoneError";
    this.kind = kind;
  }
}

/**
 * Translate getUserMedia's DOMException names into something a person can act on.
 * @param {unknown} error
 * @returns {MicrophoneError}
 */
export function microphoneError(error) {
  const name = error instanceof DOMException ? error.name : "";
  if (name === "NotAllowedError" || name === "SecurityError") {
    return new MicrophoneError(
      "denied",
      "Microphone access is blocked. Allow the microphone for this site (the icon at the " +
        "left of the address bar), then press Talk again. You can still type commands.",
    );
  }
  if (name === "NotFoundError" || name === "OverconstrainedError") {
    return new MicrophoneError("missing", "No microphone was found. Connect one and try again.");
  }
  if (name === "NotReadableError" || name === "AbortError") {
    return new MicrophoneError(
      "busy",
      "The microphone could not be opened; another application may be using it.",
    );
  }
  return new MicrophoneError("failed", `The microphone could not be started (${name || error}).`);
}

export class Microphone {
  /**
   * @param {AudioContext} context shared with playback
   * @param {(pcm: ArrayBuffer, rms: number) => void} onFrame called for every 20 ms frame
   */
  constructor(context, onFrame) {
    this.context = context;
    this.onFrame = onFrame;
    /** @type {MediaStream|null} */
    this.stream = null;
    /** @type {AudioWorkletNode|null} */
    this.node = null;
    /** @type {MediaStreamAudioSourceNode|null} */
    this.source = null;
    /** @type {GainNode|null} */
    this.sink = null;
    /** @type {Promise<void>|null} */
    this.moduleLoaded = null;
  }

  get active() {
    return this.stream !== null;
  }

  /** Ask for the microphone (once per page) and start sending frames. */
  async start() {
    if (this.stream) return;
    if (!window.isSecureContext || !navigator.mediaDevices?.getUserMedia) {
      throw new MicrophoneError(
        "insecure",
        "The microphone needs a secure page: open Ballsy over HTTPS (or on localhost).",
      );
    }
    if (!this.context.audioWorklet) {
      throw new MicrophoneError("unsupported", "This browser cannot process microphone audio.");
    }
    this.moduleLoaded ??= this.context.audioWorklet.addModule(
      new URL("./capture-worklet.js", import.meta.url),
    );
    let stream;
    try {
      [stream] = await Promise.all([
        navigator.mediaDevices.getUserMedia({
          audio: {
            channelCount: 1,
            // Echo cancellation keeps Ballsy's own voice out of the microphone, so its
            // reply does not barge in on itself.
            echoCancellation: true,
            noiseSuppression: true,
            autoGainControl: true,
          },
        }),
        this.moduleLoaded,
      ]);
    } catch (error) {
      throw microphoneError(error);
    }
    this.stream = stream;
    this.source = this.context.createMediaStreamSource(stream);
    this.node = new AudioWorkletNode(this.context, "ballsy-capture", {
      numberOfInputs: 1,
      numberOfOutputs: 1,
      channelCount: 1,
      processorOptions: { targetRate: INPUT_RATE, frameMs: 20 },
    });
    this.node.port.onmessage = (event) => this.onFrame(event.data.pcm, event.data.rms);
    // A node must reach the destination to be pulled by the graph; a muted gain
    // keeps the microphone out of the speakers.
    this.sink = this.context.createGain();
    this.sink.gain.value = 0;
    this.source.connect(this.node).connect(this.sink).connect(this.context.destination);
  }

  /** Stop capture and release the device. */
  stop() {
    if (!this.stream) return;
    for (const track of this.stream.getTracks()) track.stop();
    this.source?.disconnect();
    this.node?.disconnect();
    this.sink?.disconnect();
    if (this.node) this.node.port.onmessage = null;
    this.stream = this.source = this.node = this.sink = null;
  }
}

/**
 * Local voice activity from frame RMS: "start" after a few loud frames in a row,
 * "stop" after a stretch of quiet ones. The threshold follows the room's noise floor
 * so a noisy fan does not count as speech.
 */
export class SpeechDetector {
  constructor({ threshold = 0.02, startFrames = 3, stopFrames = 25 } = {}) {
    this.threshold = threshold;
    this.startFrames = startFrames;
    this.stopFrames = stopFrames;
    this.floor = 0.002;
    this.loud = 0;
    this.quiet = 0;
    this.speaking = false;
  }

  reset() {
    this.loud = this.quiet = 0;
    this.speaking = false;
  }

  /**
   * @param {number} rms of one frame, 0..1
   * @returns {"start"|"stop"|null}
   */
  update(rms) {
    const level = Math.max(this.threshold, this.floor * 4);
    if (rms > level) {
      this.loud += 1;
      this.quiet = 0;
      if (!this.speaking && this.loud >= this.startFrames) {
        this.speaking = true;
        return "start";
      }
    } else {
      this.loud = 0;
      this.floor = this.floor * 0.98 + rms * 0.02; // only quiet frames teach the floor
      if (this.speaking && ++this.quiet >= this.stopFrames) {
        this.speaking = false;
        return "stop";
      }
    }
    return null;
  }
}
