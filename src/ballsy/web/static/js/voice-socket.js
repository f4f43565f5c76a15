/**
 * The voice WebSocket (`/ws/voice/{client_id}`, docs/realtime.md): connect with a
 * single-use ticket, pass server events on as DOM events, and come back by itself.
 *
 * Reconnection follows the close code: 1012 (server restart) and network loss
 * (1006) retry with exponential backoff and jitter, so a fleet of clients does not
 * hit a restarted server in one wave; 1008 (unauthorized, policy) does not retry —
 * retrying cannot fix it; a 1000 idle close waits until the user does something.
 *
 * State and counters live on `window.ballsyVoice` for tests and diagnostics.
 * @module voice-socket
 */

import { INPUT_RATE } from "./microphone.js";

const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 15000;
/** A connection must last this long before the backoff starts over: a server that
 * accepts and drops at once (still restarting) keeps clients backing off. */
const STABLE_MS = 10000;
/** Close codes after which retrying cannot help. */
const FINAL_CODES = new Set([1008, 4001, 4003]);

/**
 * @typedef {"idle"|"connecting"|"open"|"reconnecting"|"closed"|"failed"} SocketState
 * @typedef {{state: SocketState, reconnects: number, delays: number[],
 *   lastClose: {code: number, reason: string}|null, retryAt: number|null}} SocketCounters
 */

/**
 * Backoff before reconnect attempt `attempt` (0-based): 0.5 s, 1 s, 2 s … 15 s, ±20 %.
 * @param {number} attempt
 */
export function backoffDelay(attempt) {
  const base = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** attempt);
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

export class VoiceSocket extends EventTarget {
  /**
   * @param {import("./api.js").Session} session
   */
  constructor(session) {
    super();
    this.session = session;
    /** @type {WebSocket|null} */
    this.socket = null;
    this.attempt = 0;
    /** @type {number|undefined} */
    this.timer = undefined;
    this.wanted = false;
    this.openedAt = 0;
    /** The server said it is restarting: whatever the close code, come back. */
    this.restarting = false;
    /** @type {SocketCounters} */
    this.counters = { state: "idle", reconnects: 0, delays: [], lastClose: null, retryAt: null };
    window.ballsyVoice = this.counters;
    window.addEventListener("online", () => {
      if (this.wanted && this.counters.state === "reconnecting") this.connectNow();
    });
  }

  get state() {
    return this.counters.state;
  }

  get open() {
    return this.socket !== null && this.socket.readyState === WebSocket.OPEN;
  }

  /** Open the socket unless it is open or opening. */
  connect() {
    this.wanted = true;
    if (this.socket || this.counters.state === "connecting") return;
    this.connectNow();
  }

  /** Close for good (sign-out, page hidden for long): no reconnection. */
  disconnect() {
    this.wanted = false;
    clearTimeout(this.timer);
    const socket = this.socket;
    this.socket = null;
    if (socket) socket.close(1000, "client closed");
    this.setState("closed");
  }

  async connectNow() {
    clearTimeout(this.timer);
    this.counters.retryAt = null;
    this.setState(this.attempt > 0 ? "reconnecting" : "connecting");
    let url;
    try {
      url = await this.url();
    } catch (error) {
      // The ticket request failed: the server is down or our credential expired.
      if (error && /** @type {any} */ (error).status === 401) {
        this.fail(1008, "unauthorized");
        return;
      }
      this.scheduleReconnect();
      return;
    }
    if (!this.wanted) return;
    const socket = new WebSocket(url);
    socket.binaryType = "arraybuffer";
    this.socket = socket;
    socket.onmessage = (event) => this.onMessage(event);
    socket.onclose = (event) => this.onClose(socket, event);
  }

  async url() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const me = this.session.me;
    const name = encodeURIComponent(me ? me.name : "local");
    const query = new URLSearchParams({ sample_rate: String(INPUT_RATE) });
    if (this.session.authenticated) query.set("ticket", await this.session.wsTicket());
    return `${scheme}//${location.host}/ws/voice/${name}?${query}`;
  }

  /** @param {MessageEvent} event */
  onMessage(event) {
    if (typeof event.data !== "string") return; // binary audio is not requested
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    if (message.type === "ping") {
      this.send({ type: "pong", ts: message.ts });
      return;
    }
    if (message.type === "ready") {
      this.openedAt = Date.now();
      this.restarting = false;
      this.setState("open");
    } else if (message.type === "error" && message.code === "server_restarting") {
      this.restarting = true;
    }
    this.dispatchEvent(new CustomEvent("message", { detail: message }));
  }

  /**
   * @param {WebSocket} socket
   * @param {CloseEvent} event
   */
  onClose(socket, event) {
    if (socket !== this.socket) return; // an old socket we already replaced
    this.socket = null;
    if (this.openedAt && Date.now() - this.openedAt >= STABLE_MS) this.attempt = 0;
    this.openedAt = 0;
    this.counters.lastClose = { code: event.code, reason: event.reason };
    this.dispatchEvent(new CustomEvent("close", { detail: this.counters.lastClose }));
    if (!this.wanted) {
      this.setState("closed");
    } else if (FINAL_CODES.has(event.code)) {
      this.fail(event.code, event.reason);
    } else if (event.code === 1000 && !this.restarting) {
      // Idle timeout or session limit: reconnect when the user next needs the socket.
      this.attempt = 0;
      this.setState("idle");
    } else {
      this.scheduleReconnect();
    }
  }

  scheduleReconnect() {
    const delay = backoffDelay(this.attempt);
    this.attempt += 1;
    this.counters.reconnects += 1;
    this.counters.delays.push(delay);
    this.counters.retryAt = Date.now() + delay;
    this.setState("reconnecting");
    this.timer = window.setTimeout(() => this.connectNow(), delay);
  }

  /**
   * @param {number} code
   * @param {string} reason
   */
  fail(code, reason) {
    this.wanted = false;
    this.setState("failed");
    this.dispatchEvent(new CustomEvent("failed", { detail: { code, reason } }));
  }

  /** @param {SocketState} state */
  setState(state) {
    this.counters.state = state;
    this.dispatchEvent(new CustomEvent("state", { detail: state }));
  }

  /** @param {object} message a client event of docs/realtime.md */
  send(message) {
    if (!this.open) return false;
    /** @type {WebSocket} */ (this.socket).send(JSON.stringify(message));
    return true;
  }

  /** @param {ArrayBuffer} pcm PCM16 at {@link INPUT_RATE} */
  sendAudio(pcm) {
    if (!this.open) return false;
    /** @type {WebSocket} */ (this.socket).send(pcm);
    return true;
  }
}
