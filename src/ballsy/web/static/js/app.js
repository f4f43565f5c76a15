/**
 * The voice client at `/`: sign in, talk (push-to-talk or hands-free) over the voice
 * socket (docs/realtime.md), hear replies with barge-in, type commands
 * (commands.js), browse history, change settings. This module wires the parts and
 * owns the page's state (connecting, listening, thinking, speaking…).
 * @module app
 */

import { Session } from "./api.js";
import { TypedCommands } from "./commands.js";
import { Conversation } from "./conversation.js";
import { byId, say } from "./dom.js";
import { Microphone, SpeechDetector } from "./microphone.js";
import { HistoryPanel, SettingsPanel, tabs } from "./panels.js";
import { AudioPlayer, decodePcm16 } from "./player.js";
import { signedIn } from "./sign-in.js";
import { VoiceSocket } from "./voice-socket.js";

const page = document.body.dataset;
const MAX_COMMAND = Number(page.maxCommand) || 1000;
/** @type {Record<string, string[]>} */
const VOICES = JSON.parse(page.voices || "{}");
const SOCKET_ENGINE = page.ttsEngine || "";
const QUIET_ERRORS = new Set(["server_restarting", "invalid_config"]);

/**
 * @typedef {"connecting"|"connected"|"listening"|"thinking"|"speaking"|"reconnecting"|
 *   "offline"|"ready"} ClientState
 */

class VoiceClient {
  /**
   * @param {Session} session
   * @param {import("./api.js").Me} me
   */
  constructor(session, me) {
    this.session = session;
    this.me = me;
    this.context = new AudioContext({ latencyHint: "interactive" });
    this.player = new AudioPlayer(this.context);
    this.detector = new SpeechDetector();
    this.mic = new Microphone(this.context, (pcm, rms) => this.onFrame(pcm, rms));
    this.socket = new VoiceSocket(session);
    this.conversation = new Conversation(byId("conversation"), byId("empty-hint"));
    this.history = new HistoryPanel(session);
    /** @type {import("./panels.js").UserSettings|null} */
    this.settings = null;
    this.settingsPanel = new SettingsPanel(session, VOICES, (s) => this.applySettings(s));
    this.talking = false;
    this.thinking = false;
    /** The socket turn whose reply is being generated or played. */
    this.replyTurn = /** @type {string|null} */ (null);
    /** Turns the user cut off here: their late audio frames are dropped. */
    this.stoppedTurns = new Set();
    this.commands = new TypedCommands({
      session,
      conversation: this.conversation,
      player: this.player,
      input: byId("command"),
      message: byId("command-message"),
      maxLength: MAX_COMMAND,
      voices: VOICES,
      onStart: () => this.resumeAudio(),
      onBusy: (busy) => {
        this.thinking = busy;
        this.render();
      },
    });
    this.talkButton = /** @type {HTMLButtonElement} */ (byId("talk"));
    this.handsFree = /** @type {HTMLInputElement} */ (byId("hands-free"));
    this.level = byId("mic-level");
  }

  start() {
    byId("account-name").textContent =
      this.me.auth === "none" ? `${this.me.name} (local)` : this.me.name;
    byId("admin-link").hidden = this.me.role !== "admin";
    byId("sign-out").hidden = this.me.auth === "none";
    byId("account").hidden = false;
    byId("app").hidden = false;
    byId("controls").hidden = false;
    this.commands.bind(byId("command-form"));
    this.bindControls();
    this.socket.addEventListener("message", (e) =>
      this.onServer(/** @type {CustomEvent} */ (e).detail),
    );
    this.socket.addEventListener("state", () => this.render());
    this.socket.addEventListener("failed", (e) =>
      this.onSocketFailed(/** @type {CustomEvent} */ (e).detail),
    );
    for (const type of [
      "ballsy:playback-started",
      "ballsy:playback-ended",
      "ballsy:playback-stopped",
    ]) {
      window.addEventListener(type, () => this.render());
    }
    this.socket.connect();
    this.settingsPanel.load().then((s) => this.applySettings(s));
    this.render();
  }

  bindControls() {
    this.talkButton.addEventListener("click", () => this.toggleTalk());
    this.handsFree.addEventListener("change", () => this.toggleHandsFree());
    byId("sign-out").addEventListener("click", () => {
      this.stopEverything();
      this.session.signOut();
      location.reload();
    });
    window.addEventListener("ballsy:signed-out", () => {
      this.stopEverything();
      location.reload();
    });
    tabs(byId("tabs"), (panel) => {
      if (panel === "panel-history") this.history.load(true);
      if (panel === "panel-settings") this.settingsPanel.load();
    });
    document.addEventListener("keydown", (event) => {
      // Escape stops Ballsy talking, from anywhere on the page.
      if (event.key === "Escape" && this.player.playing) this.bargeIn("escape");
    });
  }

  // --- microphone ------------------------------------------------------------------

  async toggleTalk() {
    if (this.talking) {
      this.talking = false;
      this.socket.send({ type: "commit" }); // end the turn now, without waiting for silence
      if (!this.handsFree.checked) this.stopMic();
    } else if (await this.startMic()) {
      this.talking = true;
    }
    this.render();
  }

  async toggleHandsFree() {
    if (this.handsFree.checked) {
      if (!(await this.startMic())) this.handsFree.checked = false;
    } else if (!this.talking) {
      this.socket.send({ type: "commit" }); // what was being said still counts
      this.stopMic();
    }
    this.render();
  }

  /** Open the microphone; false (with a message shown) when it cannot be. */
  async startMic() {
    this.resumeAudio();
    this.socket.connect();
    try {
      await this.mic.start();
      say(byId("mic-message"), "");
      return true;
    } catch (error) {
      say(byId("mic-message"), /** @type {Error} */ (error).message, "error");
      return false;
    }
  }

  stopMic() {
    this.mic.stop();
    this.detector.reset();
    this.level.style.setProperty("--level", "0");
  }

  /**
   * One 20 ms frame from the worklet: to the server, and to the local detector.
   * @param {ArrayBuffer} pcm
   * @param {number} rms
   */
  onFrame(pcm, rms) {
    if (!this.talking && !this.handsFree.checked) return;
    this.socket.sendAudio(pcm);
    this.level.style.setProperty("--level", Math.min(1, rms * 6).toFixed(3));
    if (this.detector.update(rms) === "start") {
      window.dispatchEvent(new CustomEvent("ballsy:speech-started", { detail: { rms } }));
      if (this.player.playing) this.bargeIn("barge-in");
    }
  }

  /**
   * The user spoke over the reply: silence it here at once, and tell the server so it
   * stops generating and stores only what was heard.
   * @param {string} reason
   */
  bargeIn(reason) {
    const turn = this.player.turnId;
    this.player.stop(reason);
    if (turn) this.stoppedTurns.add(turn);
    this.commands.cancelSpeech();
    if (this.replyTurn) this.socket.send({ type: "interrupt" });
  }

  // --- server events -----------------------------------------------------------------

  /** @param {any} event a server event of docs/realtime.md */
  onServer(event) {
    const conversation = this.conversation;
    switch (event.type) {
      case "ready":
        this.applySettings(this.settings);
        break;
      case "speech_started":
        conversation.speechStarted();
        break;
      case "transcript":
        conversation.transcript(event);
        if (event.final && event.text) this.thinking = true;
        break;
      case "reply":
        this.replyTurn = event.turn_id;
        this.thinking = false;
        conversation.replyDelta(event.turn_id, event.delta);
        break;
      case "audio":
        if (!this.stoppedTurns.has(event.turn_id)) {
          this.thinking = false;
          this.player.enqueue(decodePcm16(event.data), event.sample_rate, event.turn_id);
        }
        break;
      case "interrupted":
        this.stoppedTurns.add(event.turn_id);
        this.player.stop("interrupted");
        conversation.interrupted(event.turn_id, event.played_text ?? "", event.played_ms);
        break;
      case "reply_done":
        this.replyTurn = null;
        this.thinking = false;
        this.player.finish(event.turn_id);
        if (event.status !== "cancelled") {
          conversation.replyDone(event.turn_id, {
            status: event.status,
            note: event.status === "failed" ? "The reply failed." : undefined,
          });
        }
        break;
      case "turn":
        conversation.timings(event.turn_id, event.timings);
        break;
      case "error":
        this.thinking = false;
        // A restart shows as "Reconnecting…"; a voice the socket's engine lacks is
        // not worth an alert (the reply uses the default voice).
        if (!QUIET_ERRORS.has(event.code)) say(byId("mic-message"), event.message, "error");
        break;
      default:
        break;
    }
    this.render();
  }

  /** @param {{code: number, reason: string}} detail */
  async onSocketFailed(detail) {
    if (detail.reason === "unauthorized") {
      // Our credential expired or was revoked: back to the sign-in form.
      this.session.signOut();
      location.reload();
      return;
    }
    say(
      byId("mic-message"),
      `The voice connection was refused (${detail.reason || detail.code}).`,
      "error",
    );
  }

  // --- settings, audio, state ----------------------------------------------------------

  /**
   * Use the saved voice and speed on the socket too (when its engine has the voice).
   * @param {import("./panels.js").UserSettings|null} settings
   */
  applySettings(settings) {
    if (!settings) return;
    this.settings = settings;
    this.commands.settings = settings;
    /** @type {Record<string, unknown>} */
    const config = { type: "config", speed: settings.speed };
    if (settings.voice && (VOICES[SOCKET_ENGINE] ?? []).includes(settings.voice)) {
      config.voice = settings.voice;
    }
    this.socket.send(config);
  }

  /** Browsers start audio suspended until a user gesture; every control calls this. */
  resumeAudio() {
    if (this.context.state === "suspended") this.context.resume();
  }

  stopEverything() {
    this.player.stop("sign-out");
    this.stopMic();
    this.socket.disconnect();
  }

  /** @returns {[ClientState, string]} */
  describeState() {
    const socket = this.socket.state;
    if (socket === "reconnecting") {
      return ["reconnecting", `Reconnecting (attempt ${this.socket.attempt})…`];
    }
    if (socket === "connecting") return ["connecting", "Connecting…"];
    if (socket === "failed") return ["offline", "Voice disconnected"];
    if (this.player.playing) return ["speaking", "Speaking…"];
    if (this.thinking) return ["thinking", "Thinking…"];
    if (this.mic.active)
      return ["listening", this.handsFree.checked ? "Listening (hands-free)" : "Listening…"];
    if (socket === "open") return ["connected", "Connected"];
    return ["ready", "Ready"];
  }

  render() {
    const [state, text] = this.describeState();
    const status = byId("status");
    if (status.dataset.state !== state || byId("status-text").textContent !== text) {
      status.dataset.state = state;
      byId("status-text").textContent = text;
      document.documentElement.dataset.state = state;
    }
    const pressed = this.talking;
    this.talkButton.setAttribute("aria-pressed", String(pressed));
    byId("talk-label").textContent = pressed ? "Stop" : "Talk";
    this.level.hidden = !this.mic.active;
  }
}

async function main() {
  const session = new Session();
  const me = await signedIn(session);
  const client = new VoiceClient(session, me);
  client.start();
}

main();
