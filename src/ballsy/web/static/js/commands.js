/**
 * Typed commands: the command box, its limits, and speaking the reply.
 *
 * A typed command goes to `POST /api/command` rather than over the voice socket: its
 * answer carries the skill's `data` — link cards need the URL, which the socket's
 * `reply_done` does not include — and its 422 is the server's word on bad input. The
 * reply is then spoken through `POST /v1/audio/speech` (PCM, streamed sentence by
 * sentence) into the same player as spoken turns, so barge-in and Escape stop it too.
 * @module commands
 */

import { ApiError, describeError } from "./api.js";
import { say } from "./dom.js";

/** `/v1/audio/speech` takes at most this many characters. */
const MAX_SPEECH_CHARS = 4096;

/**
 * @typedef {object} CommandsOptions
 * @property {import("./api.js").Session} session
 * @property {import("./conversation.js").Conversation} conversation
 * @property {import("./player.js").AudioPlayer} player
 * @property {HTMLInputElement} input the command box
 * @property {HTMLElement} message its message line
 * @property {number} maxLength the server's MAX_COMMAND_LENGTH
 * @property {Record<string, string[]>} voices TTS voices by engine
 * @property {() => void} onStart a command is being sent (a user gesture)
 * @property {(busy: boolean) => void} onBusy waiting for the answer, or not any more
 */

export class TypedCommands {
  /** @param {CommandsOptions} options */
  constructor(options) {
    this.options = options;
    /** The user's voice and speed, for speaking replies. */
    this.settings = /** @type {{voice: string|null, speed: number}|null} */ (null);
    /** @type {AbortController|null} */
    this.speech = null;
    this.count = 0;
  }

  /** @param {HTMLElement} form */
  bind(form) {
    const { input, message, maxLength } = this.options;
    input.maxLength = maxLength;
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    input.addEventListener("paste", (event) => this.guardPaste(event));
    input.addEventListener("input", () => say(message, ""));
  }

  /** @param {ClipboardEvent} event */
  guardPaste(event) {
    const { input, message, maxLength } = this.options;
    const pasted = event.clipboardData?.getData("text") ?? "";
    const selected = (input.selectionEnd ?? 0) - (input.selectionStart ?? 0);
    if (input.value.length - selected + pasted.length <= maxLength) return;
    // Refuse rather than let maxlength silently cut the paste to a different command.
    event.preventDefault();
    say(
      message,
      `That paste is ${pasted.length.toLocaleString()} characters; a command can be at most ` +
        `${maxLength.toLocaleString()}. Nothing was pasted.`,
      "error",
    );
  }

  async submit() {
    const { input, message, conversation, player, session } = this.options;
    const text = input.value;
    if (!text.trim()) return;
    this.options.onStart();
    player.stop("new command");
    this.cancelSpeech();
    const key = `typed-${++this.count}`;
    conversation.start(key, text);
    conversation.assistant(key);
    input.value = "";
    this.options.onBusy(true);
    let result;
    try {
      result = await session.json("/api/command", { method: "POST", body: { text } });
    } catch (error) {
      this.options.onBusy(false);
      say(message, describeError(error), "error");
      if (error instanceof ApiError && error.status === 422) {
        // Refused as input: it never became a turn. Give the text back for editing.
        conversation.remove(key);
        input.value = text;
      } else {
        conversation.replyDone(key, { status: "failed", note: describeError(error) });
      }
      return;
    }
    conversation.replyText(key, result.reply);
    if (result.data && result.data.url) conversation.linkCard(key, result.data);
    conversation.replyDone(key, {});
    conversation.timings(key, result.timings);
    say(message, "");
    this.options.onBusy(false);
    if (result.reply) await this.speak(result.reply, `typed-${result.id}`);
  }

  /** Stop fetching speech (barge-in): the server stops synthesizing too. */
  cancelSpeech() {
    this.speech?.abort();
    this.speech = null;
  }

  /**
   * Stream a reply's speech into the player.
   * @param {string} text
   * @param {string} turnId
   */
  async speak(text, turnId) {
    const { session, player, voices, message } = this.options;
    const controller = new AbortController();
    this.speech = controller;
    const voice = this.settings?.voice ?? null;
    // The engine that has the user's voice; OpenAI's "tts-1" means the server default.
    const engine = voice ? Object.keys(voices).find((e) => voices[e].includes(voice)) : undefined;
    try {
      const response = await session.fetch("/v1/audio/speech", {
        method: "POST",
        signal: controller.signal,
        body: {
          model: engine ?? "tts-1",
          input: text.slice(0, MAX_SPEECH_CHARS),
          voice: voice ?? "alloy",
          speed: this.settings?.speed ?? 1,
          response_format: "pcm",
        },
      });
      const rate = Number(response.headers.get("X-Sample-Rate")) || 24000;
      const reader = /** @type {ReadableStream<Uint8Array>} */ (response.body).getReader();
      let carry = new Uint8Array(0);
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        // Network chunks can split a sample: keep the odd byte for the next one.
        const bytes = new Uint8Array(carry.length + value.length);
        bytes.set(carry);
        bytes.set(value, carry.length);
        const even = bytes.length & ~1;
        carry = bytes.slice(even);
        player.enqueue(new Int16Array(bytes.buffer.slice(0, even)), rate, turnId);
      }
      player.finish(turnId);
    } catch (error) {
      if (!(error instanceof DOMException && error.name === "AbortError")) {
        say(message, `The reply could not be spoken: ${describeError(error)}`, "error");
      }
    } finally {
      if (this.speech === controller) this.speech = null;
    }
  }
}
