/**
 * The signed-in session and every call to Ballsy's REST API.
 *
 * A credential is an API key or a JWT pair from password login
 * (docs/security.md). It is kept in `sessionStorage` — gone when the tab closes, and
 * never readable by another origin — and sent as `Authorization: Bearer`. An expired
 * access token is refreshed once, transparently; refresh tokens work once, so
 * concurrent requests share one refresh.
 * @module api
 */

const STORAGE_KEY = "ballsy.credential";

/** An error answer of the API, with its stable code (docs/api.md). */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} code
   * @param {string} message
   * @param {unknown} [detail]
   */
  constructor(status, code, message, detail) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.detail = detail;
  }
}

/**
 * @typedef {{type: "apikey", token: string} |
 *   {type: "jwt", token: string, refresh: string}} Credential
 * @typedef {{id: string, name: string, role: "user"|"admin", auth: string}} Me
 */

export class Session {
  constructor(storage = window.sessionStorage) {
    this.storage = storage;
    /** @type {Credential|null} */
    this.credential = null;
    try {
      this.credential = JSON.parse(storage.getItem(STORAGE_KEY) || "null");
    } catch {
      this.credential = null;
    }
    /** @type {Promise<boolean>|null} */
    this.refreshing = null;
    /** @type {Me|null} */
    this.me = null;
  }

  /** @param {Credential|null} credential */
  save(credential) {
    this.credential = credential;
    if (credential) this.storage.setItem(STORAGE_KEY, JSON.stringify(credential));
    else this.storage.removeItem(STORAGE_KEY);
  }

  /** Whether the server needs credentials at all (known after {@link whoAmI}). */
  get authenticated() {
    return this.me !== null && this.me.auth !== "none";
  }

  /**
   * Who the server says we are; throws ApiError(401) when we must sign in.
   * @returns {Promise<Me>}
   */
  async whoAmI() {
    this.me = /** @type {Me} */ (await this.json("/api/auth/me"));
    return this.me;
  }

  /**
   * Password login (AUTH_MODE=jwt).
   * @param {string} username
   * @param {string} password
   */
  async login(username, password) {
    const pair = await this.json("/api/auth/token", {
      method: "POST",
      body: { username, password },
      anonymous: true,
    });
    this.save({ type: "jwt", token: pair.access_token, refresh: pair.refresh_token });
    return this.whoAmI();
  }

  /**
   * Use an API key; checked at once so a typo is reported on the form.
   * @param {string} key
   */
  async useApiKey(key) {
    this.save({ type: "apikey", token: key.trim() });
    try {
      return await this.whoAmI();
    } catch (error) {
      this.save(null);
      throw error;
    }
  }

  signOut() {
    this.save(null);
    this.me = null;
  }

  /** A single-use ticket for the voice WebSocket (browsers cannot send headers). */
  async wsTicket() {
    const body = await this.json("/api/auth/ws-ticket", { method: "POST", body: {} });
    return /** @type {string} */ (body.ticket);
  }

  /**
   * Fetch an API path and return the raw Response (for streams), throwing ApiError
   * for error answers.
   * @param {string} path
   * @param {{method?: string, body?: unknown, signal?: AbortSignal, anonymous?: boolean}} [options]
   * @returns {Promise<Response>}
   */
  async fetch(path, options = {}) {
    let response = await this.send(path, options);
    if (response.status === 401 && !options.anonymous && (await this.refresh())) {
      response = await this.send(path, options);
    }
    if (response.status === 401 && !options.anonymous && this.me) {
      // The key was revoked or the session ended: the pages go back to sign-in.
      this.save(null);
      window.dispatchEvent(new CustomEvent("ballsy:signed-out"));
    }
    if (!response.ok) throw await toError(response);
    return response;
  }

  /**
   * Fetch an API path and decode its JSON answer.
   * @param {string} path
   * @param {{method?: string, body?: unknown, signal?: AbortSignal, anonymous?: boolean}} [options]
   * @returns {Promise<any>}
   */
  async json(path, options = {}) {
    const response = await this.fetch(path, options);
    return response.status === 204 ? null : response.json();
  }

  /**
   * @param {string} path
   * @param {{method?: string, body?: unknown, signal?: AbortSignal, anonymous?: boolean}} options
   */
  send(path, { method = "GET", body, signal, anonymous = false }) {
    /** @type {Record<string, string>} */
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (this.credential && !anonymous) headers.Authorization = `Bearer ${this.credential.token}`;
    return fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      credentials: "omit", // the credential travels in the header, never in cookies
      cache: "no-store",
    });
  }

  /** Spend the refresh token once for a new pair; false when there is none or it failed. */
  refresh() {
    const credential = this.credential;
    if (!credential || credential.type !== "jwt") return Promise.resolve(false);
    this.refreshing ??= (async () => {
      try {
        const response = await this.send("/api/auth/refresh", {
          method: "POST",
          body: { refresh_token: credential.refresh },
          anonymous: true,
        });
        if (!response.ok) {
          this.save(null);
          return false;
        }
        const pair = await response.json();
        this.save({ type: "jwt", token: pair.access_token, refresh: pair.refresh_token });
        return true;
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }
}

/**
 * The API's error body as an ApiError (docs/api.md: `{"error": {code, message}}`;
 * `/v1` routes answer OpenAI's shape, which has the same two fields).
 * @param {Response} response
 */
async function toError(response) {
  let code = `http_${response.status}`;
  let message = response.statusText || "request failed";
  let detail;
  try {
    const body = await response.json();
    const error = body && body.error;
    if (error) {
      code = error.code || code;
      message = error.message || message;
      detail = error.detail;
    }
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(response.status, code, message, detail);
}

/**
 * A sentence for people about an API failure, with the status for support.
 * @param {unknown} error
 */
export function describeError(error) {
  if (error instanceof ApiError) {
    if (error.status === 429) return `Too many requests — ${error.message} (429)`;
    if (error.status === 422) return `The server refused it: ${error.message} (422)`;
    return `${error.message} (${error.status})`;
  }
  if (error instanceof DOMException && error.name === "AbortError") return "Cancelled.";
  return "The server cannot be reached. Check your connection and try again.";
}
