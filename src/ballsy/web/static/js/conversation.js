/**
 * The conversation log: one item per turn, with the user's words (live partial
 * transcript, then final), the reply as it streams, link cards, and the turn's
 * latency in small print.
 *
 * Turns are keyed by the socket's `turn_id` (voice) or a local id (typed), so events
 * that arrive out of order still land in the right bubble. All text goes in as text
 * nodes (see dom.js).
 * @module conversation
 */

import { el, formatMs } from "./dom.js";

/** Link-skill services and how a card names them. */
const SERVICES = /** @type {Record<string, string>} */ ({
  spotify: "Spotify",
  youtube: "YouTube",
  maps: "Google Maps",
  web: "Web search",
});

/**
 * @typedef {object} TurnView
 * @property {HTMLLIElement} item
 * @property {HTMLParagraphElement} user
 * @property {HTMLParagraphElement|null} reply
 * @property {HTMLElement|null} assistant
 */

export class Conversation {
  /**
   * @param {HTMLOListElement} list the `role="log"` list
   * @param {HTMLElement} emptyHint shown until the first turn
   */
  constructor(list, emptyHint) {
    this.list = list;
    this.emptyHint = emptyHint;
    /** @type {Map<string, TurnView>} */
    this.turns = new Map();
    /** The bubble of speech heard but not yet given a turn id. */
    this.pendingVoice = /** @type {TurnView|null} */ (null);
  }

  /**
   * A new turn with the user's words (or a placeholder while they speak).
   * @param {string} key
   * @param {string} text
   * @param {{partial?: boolean, source?: "voice"|"text"}} [options]
   */
  start(key, text, { partial = false, source = "text" } = {}) {
    this.emptyHint.hidden = true;
    const user = el("p", { class: partial ? "text partial" : "text" }, text);
    const item = /** @type {HTMLLIElement} */ (
      el(
        "li",
        { class: "turn", dataset: { turn: key, source } },
        el(
          "div",
          { class: "bubble user" },
          el("span", { class: "who" }, source === "voice" ? "You said" : "You typed"),
          user,
        ),
      )
    );
    this.list.append(item);
    const view = { item, user, reply: null, assistant: null };
    this.turns.set(key, view);
    this.scroll(item);
    return view;
  }

  /** The user started speaking: a bubble that partial transcripts will fill. */
  speechStarted() {
    if (!this.pendingVoice) {
      this.pendingVoice = this.start(`voice-${Date.now()}`, "…", {
        partial: true,
        source: "voice",
      });
    }
  }

  /**
   * A partial (`final` false) or final transcript from the socket.
   * @param {{final: boolean, text: string, turn_id?: string}} event
   */
  transcript(event) {
    if (!this.pendingVoice) {
      this.pendingVoice = this.start(`voice-${Date.now()}`, "", { partial: true, source: "voice" });
    }
    const view = this.pendingVoice;
    view.user.textContent = event.text || "…";
    view.user.classList.toggle("partial", !event.final);
    if (event.final && event.turn_id) {
      this.turns.set(event.turn_id, view);
      view.item.dataset.turn = event.turn_id;
      this.pendingVoice = null;
      if (!event.text) view.user.textContent = "(nothing heard)";
    }
  }

  /**
   * The assistant's bubble of a turn, created on first use.
   * @param {string} key
   */
  assistant(key) {
    const view = this.turns.get(key) ?? this.start(key, "", { source: "voice" });
    if (!view.reply || !view.assistant) {
      view.reply = /** @type {HTMLParagraphElement} */ (el("p", { class: "text" }));
      view.assistant = el(
        "div",
        { class: "bubble assistant", "aria-busy": "true" },
        el("span", { class: "who" }, "Ballsy"),
        view.reply,
      );
      view.item.append(view.assistant);
    }
    return /** @type {Required<TurnView>} */ (view);
  }

  /**
   * Stream a piece of reply text.
   * @param {string} key
   * @param {string} delta
   */
  replyDelta(key, delta) {
    const view = this.assistant(key);
    view.reply.append(delta);
    this.scroll(view.item);
  }

  /**
   * Set the whole reply (typed commands, or the final text of a voice turn).
   * @param {string} key
   * @param {string} text
   */
  replyText(key, text) {
    const view = this.assistant(key);
    view.reply.textContent = text;
  }

  /**
   * The reply is over: done, cut off, or failed.
   * @param {string} key
   * @param {{status?: string, note?: string}} outcome
   */
  replyDone(key, { status = "completed", note } = {}) {
    const view = this.assistant(key);
    view.assistant?.removeAttribute("aria-busy");
    view.item.dataset.status = status;
    if (note) view.assistant?.append(el("p", { class: "note" }, note));
  }

  /**
   * The reply was cut off: what was heard stays as it is, the words never spoken
   * are greyed — they are not in the stored conversation either.
   * @param {string} key
   * @param {string} heard `played_text` of the `interrupted` event
   * @param {number} playedMs
   */
  interrupted(key, heard, playedMs) {
    const view = this.assistant(key);
    const full = view.reply.textContent ?? "";
    const spoken = heard.trim();
    if (spoken && full.startsWith(spoken) && full.length > spoken.length) {
      view.reply.replaceChildren(
        spoken,
        el(
          "span",
          { class: "unheard" },
          el("span", { class: "visually-hidden" }, " Not spoken:"),
          full.slice(spoken.length),
        ),
      );
    }
    this.replyDone(key, {
      status: "interrupted",
      note: `Interrupted after ${(playedMs / 1000).toFixed(1)} s`,
    });
  }

  /**
   * Take a turn back out of the log (a command the server refused never happened).
   * @param {string} key
   */
  remove(key) {
    this.turns.get(key)?.item.remove();
    this.turns.delete(key);
    this.emptyHint.hidden = this.list.childElementCount > 0;
  }

  /**
   * A link skill's result as a card that opens the service.
   * @param {string} key
   * @param {{url?: unknown, service?: unknown, query?: unknown, action?: unknown}} data
   */
  linkCard(key, data) {
    if (typeof data.url !== "string" || !/^https:\/\//.test(data.url)) return;
    const service = SERVICES[String(data.service)] ?? "Link";
    const view = this.assistant(key);
    const card = el(
      "a",
      {
        class: "link-card",
        href: data.url,
        target: "_blank",
        rel: "noopener noreferrer",
        dataset: { service: String(data.service ?? "web") },
      },
      el("span", { class: "link-service" }, service),
      el("span", { class: "link-query" }, String(data.query ?? data.url)),
      el("span", { class: "link-url" }, new URL(data.url).host),
    );
    view.assistant?.append(card);
  }

  /**
   * Stage timings in small print (docs/realtime.md, turn timings).
   * @param {string} key
   * @param {Record<string, number>} timings
   */
  timings(key, timings) {
    const view = this.turns.get(key);
    if (!view || !view.assistant) return;
    const parts = [];
    const stt = timings.transcript_wait_ms ?? timings.transcription_ms;
    if (stt !== undefined) parts.push(`STT ${formatMs(stt)}`);
    if (timings.llm_first_token_ms !== undefined) {
      parts.push(`first token ${formatMs(timings.llm_first_token_ms)}`);
    }
    if (timings.end_to_end_ms !== undefined) {
      parts.push(`voice-to-voice ${formatMs(timings.end_to_end_ms)}`);
    } else if (timings.total_ms !== undefined) {
      parts.push(`total ${formatMs(timings.total_ms)}`);
    }
    if (parts.length === 0) return;
    view.assistant.querySelector(".meta")?.remove();
    view.assistant.append(
      el("p", { class: "meta", title: "Latency of this turn" }, parts.join(" · ")),
    );
  }

  /** @param {HTMLElement} item */
  scroll(item) {
    item.scrollIntoView({ block: "end", behavior: "smooth" });
  }
}
