/**
 * The History and Settings panels of the client, and the tab strip between them.
 * @module panels
 */

import { describeError } from "./api.js";
import { byId, el, formatMs, formatTime, say } from "./dom.js";

/**
 * Accessible tabs: arrow keys move between tabs, only the selected one is in the tab
 * order, and its panel is the only one shown.
 * @param {HTMLElement} tablist
 * @param {(id: string) => void} onSelect called with the selected tab's panel id
 */
export function tabs(tablist, onSelect) {
  const all = /** @type {HTMLButtonElement[]} */ ([...tablist.querySelectorAll('[role="tab"]')]);
  /** @param {HTMLButtonElement} tab */
  const select = (tab) => {
    for (const other of all) {
      const selected = other === tab;
      other.setAttribute("aria-selected", String(selected));
      other.tabIndex = selected ? 0 : -1;
      byId(/** @type {string} */ (other.getAttribute("aria-controls"))).hidden = !selected;
    }
    onSelect(/** @type {string} */ (tab.getAttribute("aria-controls")));
  };
  for (const tab of all) {
    tab.addEventListener("click", () => select(tab));
    tab.addEventListener("keydown", (event) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (!step) return;
      const next = all[(all.indexOf(tab) + step + all.length) % all.length];
      next.focus();
      select(next);
    });
  }
}

export class HistoryPanel {
  /** @param {import("./api.js").Session} session */
  constructor(session) {
    this.session = session;
    this.list = byId("history-list");
    this.more = /** @type {HTMLButtonElement} */ (byId("history-more"));
    this.status = byId("history-status");
    /** @type {number|null} */
    this.before = null;
    this.more.addEventListener("click", () => this.load(false));
    byId("history-refresh").addEventListener("click", () => this.load(true));
  }

  /** @param {boolean} fresh start from the newest turn */
  async load(fresh) {
    if (fresh) this.before = null;
    const query = new URLSearchParams({ limit: "20" });
    if (this.before) query.set("before", String(this.before));
    say(this.status, "Loading…");
    try {
      const page = await this.session.json(`/api/history?${query}`);
      if (fresh) this.list.replaceChildren();
      for (const item of page.items) this.list.append(historyItem(item));
      this.before = page.next_before;
      this.more.hidden = !page.next_before;
      say(this.status, this.list.childElementCount ? "" : "No turns yet.");
    } catch (error) {
      say(this.status, describeError(error), "error");
    }
  }
}

/**
 * @param {{text: string, reply: string, source: string, interrupted: boolean,
 *   handled_by: {kind: string, name: string, model?: string|null},
 *   timings: Record<string, number>, created_at: string}} item
 */
function historyItem(item) {
  const who =
    item.handled_by.kind === "skill"
      ? `${item.handled_by.name} skill`
      : item.handled_by.model || item.handled_by.name;
  const latency = item.timings.end_to_end_ms ?? item.timings.total_ms;
  return el(
    "li",
    { class: "history-item" },
    el(
      "p",
      { class: "history-meta" },
      el("time", { datetime: item.created_at }, formatTime(item.created_at)),
      " · ",
      el("span", { class: `badge ${item.source}` }, item.source),
      ` · ${who}`,
      latency !== undefined ? ` · ${formatMs(latency)}` : "",
      item.interrupted ? " · interrupted" : "",
    ),
    el("p", { class: "history-text" }, item.text),
    el("p", { class: "history-reply" }, item.reply || "(no reply)"),
  );
}

/**
 * @typedef {{voice: string|null, speed: number, language: string,
 *   system_prompt: string, memory_turns: number}} UserSettings
 */

export class SettingsPanel {
  /**
   * @param {import("./api.js").Session} session
   * @param {Record<string, string[]>} voices voices by TTS engine (from the page)
   * @param {(settings: UserSettings) => void} onSaved
   */
  constructor(session, voices, onSaved) {
    this.session = session;
    this.onSaved = onSaved;
    /** @type {HTMLFormElement} */
    this.form = byId("settings-form");
    this.status = byId("settings-status");
    /** @type {UserSettings|null} */
    this.current = null;
    /** Edits not saved yet: a reload (the tab opened again) must not undo them. */
    this.edited = false;
    this.form.addEventListener("input", () => {
      this.edited = true; // every control here, the select included, fires "input"
      say(this.status, "");
    });
    const select = /** @type {HTMLSelectElement} */ (byId("setting-voice"));
    for (const [engine, names] of Object.entries(voices)) {
      select.append(
        el("optgroup", { label: engine }, ...names.map((n) => el("option", { value: n }, n))),
      );
    }
    const speed = /** @type {HTMLInputElement} */ (byId("setting-speed"));
    const output = byId("setting-speed-value");
    speed.addEventListener(
      "input",
      () => (output.textContent = `${Number(speed.value).toFixed(2)}×`),
    );
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.save();
    });
  }

  /** Fetch the user's settings and fill the form, unless the user is editing it. */
  async load() {
    try {
      this.current = await this.session.json("/api/settings");
      if (!this.edited) {
        this.fill(/** @type {UserSettings} */ (this.current));
        say(this.status, "");
      }
    } catch (error) {
      say(this.status, describeError(error), "error");
    }
    return this.current;
  }

  /** @param {UserSettings} settings */
  fill(settings) {
    const form = this.form.elements;
    /** @type {HTMLSelectElement} */ (form.namedItem("voice")).value = settings.voice ?? "";
    /** @type {HTMLInputElement} */ (form.namedItem("speed")).value = String(settings.speed);
    byId("setting-speed-value").textContent = `${settings.speed.toFixed(2)}×`;
    /** @type {HTMLInputElement} */ (form.namedItem("language")).value = settings.language;
    /** @type {HTMLTextAreaElement} */ (form.namedItem("system_prompt")).value =
      settings.system_prompt;
    /** @type {HTMLInputElement} */ (form.namedItem("memory_turns")).value = String(
      settings.memory_turns,
    );
  }

  /** Send only what changed: an untouched persona stays "the server default". */
  async save() {
    if (!this.current) return;
    const data = new FormData(this.form);
    const wanted = {
      voice: String(data.get("voice")) || null,
      speed: Number(data.get("speed")),
      language: String(data.get("language")).trim(),
      system_prompt: String(data.get("system_prompt")).trim(),
      memory_turns: Number(data.get("memory_turns")),
    };
    /** @type {Record<string, unknown>} */
    const changes = {};
    for (const [name, value] of Object.entries(wanted)) {
      if (value !== /** @type {Record<string, unknown>} */ (this.current)[name])
        changes[name] = value;
    }
    if (Object.keys(changes).length === 0) {
      this.edited = false;
      say(this.status, "Nothing changed.");
      return;
    }
    say(this.status, "Saving…");
    try {
      this.current = await this.session.json("/api/settings", { method: "PUT", body: changes });
      this.fill(/** @type {UserSettings} */ (this.current));
      this.edited = false;
      say(this.status, "Saved.", "success");
      this.onSaved(/** @type {UserSettings} */ (this.current));
    } catch (error) {
      say(this.status, describeError(error), "error");
    }
  }
}
