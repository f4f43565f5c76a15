/**
 * The sign-in form both pages share: password login (AUTH_MODE=jwt) or an API key.
 * With AUTH_MODE=none the server answers `/api/auth/me` as the local user and the
 * form is never shown.
 * @module sign-in
 */

import { ApiError, describeError } from "./api.js";
import { byId, say } from "./dom.js";

/**
 * Resolve with the signed-in user: at once when the stored credential (or the
 * server's local mode) works, else once the person signs in.
 * @param {import("./api.js").Session} session
 * @returns {Promise<import("./api.js").Me>}
 */
export async function signedIn(session) {
  try {
    return await session.whoAmI();
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) {
      // The server is down or broken: say so, and let the form retry.
      say(byId("sign-in-message"), describeError(error), "error");
    }
  }
  return showForm(session);
}

/**
 * @param {import("./api.js").Session} session
 * @returns {Promise<import("./api.js").Me>}
 */
function showForm(session) {
  const section = byId("sign-in");
  const message = byId("sign-in-message");
  /** @type {HTMLFormElement} */
  const passwordForm = byId("password-form");
  /** @type {HTMLFormElement} */
  const keyForm = byId("key-form");
  section.hidden = false;
  const status = document.getElementById("status");
  if (status) {
    status.dataset.state = "signed-out";
    byId("status-text").textContent = "Signed out";
  }
  /** @type {HTMLInputElement} */ (byId("username")).focus();
  return new Promise((resolve) => {
    /**
     * @param {HTMLFormElement} form
     * @param {() => Promise<import("./api.js").Me>} attempt
     */
    const handle = (form, attempt) => {
      form.onsubmit = async (event) => {
        event.preventDefault();
        const button = /** @type {HTMLButtonElement} */ (form.querySelector("button"));
        button.disabled = true;
        say(message, "Signing in…");
        try {
          const me = await attempt();
          section.hidden = true;
          say(message, "");
          form.reset();
          resolve(me);
        } catch (error) {
          say(message, signInProblem(error), "error");
        } finally {
          button.disabled = false;
        }
      };
    };
    handle(passwordForm, () => {
      const data = new FormData(passwordForm);
      return session.login(String(data.get("username")), String(data.get("password")));
    });
    handle(keyForm, () => session.useApiKey(String(new FormData(keyForm).get("api-key"))));
  });
}

/** @param {unknown} error */
function signInProblem(error) {
  if (error instanceof ApiError) {
    if (error.status === 401)
      return "That did not work: check the user name and password (or the key).";
    if (error.status === 404) return "Password sign-in is off on this server: use an API key.";
  }
  return describeError(error);
}
