/**
 * DOM helpers shared by the client and the dashboard.
 *
 * Everything that came from a user, a transcript, a model or the server is put into
 * the page as text nodes through {@link el} — never as HTML — so a stored
 * `<img onerror=…>` is shown as the characters it is. The page's Content-Security-
 * Policy (no inline script) is the second line of that defence.
 * @module dom
 */

/**
 * Create an element. Strings and numbers among the children become text nodes;
 * `null`/`undefined`/`false` children are skipped so callers can write conditionals
 * inline.
 * @param {string} tag
 * @param {Record<string, unknown>} [attrs] attributes; `class`, `text`, `dataset`
 *   and `on<event>` handlers are understood, booleans toggle presence.
 * @param {...(Node|string|number|null|undefined|false)} children
 * @returns {HTMLElement}
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = String(value);
    else if (name === "text") node.textContent = String(value);
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name.startsWith("on") && typeof value === "function") {
      node.addEventListener(name.slice(2), /** @type {EventListener} */ (value));
    } else node.setAttribute(name, value === true ? "" : String(value));
  }
  append(node, ...children);
  return node;
}

/**
 * Append children as {@link el} does (strings become text nodes).
 * @param {Node} node
 * @param {...(Node|string|number|null|undefined|false)} children
 */
export function append(node, ...children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }
}

/**
 * The element with this id; throws early (at start-up) when the page lacks it, which
 * is a programming error rather than a state to handle.
 * @template {HTMLElement} T
 * @param {string} id
 * @returns {T}
 */
export function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`#${id} is missing from the page`);
  return /** @type {T} */ (node);
}

/**
 * A duration for people: "320 ms", "1.4 s".
 * @param {number|null|undefined} ms
 */
export function formatMs(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "–";
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10000 ? 1 : 0)} s`;
}

/**
 * A date and time in the reader's locale, short.
 * @param {string|Date} value
 */
export function formatTime(value) {
  const date = value instanceof Date ? value : new Date(value);
  return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/**
 * Show `message` in a message line, or hide it when empty.
 * @param {HTMLElement} node
 * @param {string} message
 * @param {"info"|"error"|"success"} [tone]
 */
export function say(node, message, tone = "info") {
  node.textContent = message;
  node.dataset.tone = tone;
  node.hidden = !message;
}
