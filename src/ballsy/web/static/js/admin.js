/**
 * The admin dashboard at `/admin`: analytics charts, live sessions, users and keys,
 * transcription jobs and the effective configuration. Everything comes from
 * `/api/admin/*` (admin role; docs/web.md lists the endpoints).
 * @module admin
 */

import { ApiError, Session, describeError } from "./api.js";
import { barChart, columnChart } from "./charts.js";
import { byId, el, formatMs, formatTime, say } from "./dom.js";
import { signedIn } from "./sign-in.js";

const LIVE_REFRESH_MS = 5000;

/**
 * A table with a header row; cells may be nodes or text.
 * @param {string[]} headings
 * @param {Array<Array<Node|string|number>>} rows
 * @param {string} caption
 */
function table(headings, rows, caption) {
  return el(
    "table",
    { class: "data" },
    el("caption", { class: "visually-hidden" }, caption),
    el("thead", {}, el("tr", {}, ...headings.map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, ...rows.map((cells) => el("tr", {}, ...cells.map((c) => el("td", {}, c))))),
  );
}

/**
 * A headline number.
 * @param {string} label
 * @param {string} value
 * @param {string} [hint]
 */
function kpi(label, value, hint) {
  return el(
    "div",
    { class: "kpi" },
    el("p", { class: "kpi-value" }, value),
    el("p", { class: "kpi-label" }, label),
    hint ? el("p", { class: "kpi-hint" }, hint) : null,
  );
}

/** @param {number} share 0..1 */
const percent = (share) => `${(share * 100).toFixed(share < 0.1 ? 1 : 0)} %`;

class Dashboard {
  /** @param {Session} session */
  constructor(session) {
    this.session = session;
    /** @type {HTMLSelectElement} */
    this.window = byId("window");
    /** @type {number|undefined} */
    this.liveTimer = undefined;
  }

  start() {
    byId("admin").hidden = false;
    this.window.addEventListener("change", () => this.analytics());
    byId("refresh").addEventListener("click", () => this.refresh());
    byId("user-form").addEventListener("submit", (e) => {
      e.preventDefault();
      this.createUser();
    });
    byId("config-filter").addEventListener("input", () => this.filterConfig());
    this.refresh();
    this.liveTimer = window.setInterval(() => {
      if (!document.hidden) this.live();
    }, LIVE_REFRESH_MS);
  }

  refresh() {
    return Promise.all([this.analytics(), this.live(), this.users(), this.jobs(), this.config()]);
  }

  /**
   * Run one section's loader, showing its failure in the section's status line.
   * @param {string} statusId
   * @param {() => Promise<void>} load
   */
  async guarded(statusId, load) {
    const status = byId(statusId);
    try {
      await load();
      if (status.dataset.tone === "error") say(status, "");
    } catch (error) {
      say(status, describeError(error), "error");
    }
  }

  analytics() {
    return this.guarded("analytics-status", async () => {
      const data = await this.session.json(`/api/admin/analytics?window=${this.window.value}`);
      const hourly = data.bucket_seconds < 86400;
      const labels = data.series.map((/** @type {any} */ p) => {
        const d = new Date(p.start);
        return hourly
          ? d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" })
          : d.toLocaleDateString(undefined, { month: "short", day: "numeric" });
      });
      const e2e =
        data.latency.find((/** @type {any} */ s) => s.stage === "end_to_end") ??
        data.latency.find((/** @type {any} */ s) => s.stage === "total");
      const t = data.totals;
      byId("kpis").replaceChildren(
        kpi("Turns", String(t.turns), `${t.voice} spoken · ${t.text} typed`),
        kpi("Sessions", String(t.sessions), `${t.users} users`),
        kpi(
          "Interrupted",
          t.turns ? percent(t.interrupted / t.turns) : "–",
          `${t.interrupted} turns`,
        ),
        kpi(
          e2e?.stage === "end_to_end" ? "Voice-to-voice p50" : "Turn p50",
          e2e ? formatMs(e2e.p50) : "–",
          e2e ? `p90 ${formatMs(e2e.p90)}` : undefined,
        ),
        kpi(
          "HTTP error rate",
          percent(data.errors.http_error_rate),
          `${data.errors.http_total} requests since start`,
        ),
        kpi(
          "STT failures",
          String(data.errors.stt_failures),
          `LLM failures: ${data.errors.llm_failures}`,
        ),
      );
      columnChart(byId("chart-activity"), {
        summary: `Turns and sessions per ${hourly ? "hour" : "day"}`,
        labels,
        series: [
          { name: "Turns", values: data.series.map((/** @type {any} */ p) => p.turns) },
          { name: "Sessions", values: data.series.map((/** @type {any} */ p) => p.sessions) },
        ],
      });
      const stages = data.latency;
      barChart(byId("chart-latency"), {
        summary: "Latency per turn stage, p50, p90 and p99",
        categories: stages.map((/** @type {any} */ s) => `${s.stage} (${s.count})`),
        series: ["p50", "p90", "p99"].map((q) => ({
          name: q,
          values: stages.map((/** @type {any} */ s) => s[q]),
        })),
        format: formatMs,
        empty: "No timed turns in this window.",
      });
      const ranked = (
        /** @type {any[]} */ rows,
        /** @type {string} */ id,
        /** @type {string} */ summary,
      ) =>
        barChart(byId(id), {
          summary,
          categories: rows.map((r) => r.name),
          series: [{ name: "Turns", values: rows.map((r) => r.count) }],
          empty: "None in this window.",
        });
      ranked(data.top_skills, "chart-skills", "Turns answered by each skill");
      ranked(data.top_providers, "chart-providers", "Turns answered by each LLM provider");
      const errors = data.errors;
      const outcomes = [
        ...Object.entries(errors.http_by_class).map(([k, v]) => [`HTTP ${k}`, v]),
        ...errors.llm.map((/** @type {any} */ r) => [`LLM ${r.name} ${r.outcome}`, r.count]),
        ...errors.stt.map((/** @type {any} */ r) => [`STT ${r.name} ${r.outcome}`, r.count]),
      ];
      barChart(byId("chart-errors"), {
        summary: "Requests and model calls by outcome since the server started",
        categories: outcomes.map((o) => String(o[0])),
        series: [{ name: "Count", values: outcomes.map((o) => Number(o[1])) }],
      });
      byId("analytics-note").textContent = data.truncated
        ? "Only the newest turns of this window were analysed."
        : `${formatTime(data.since)} – ${formatTime(data.until)} (UTC buckets). Error counts are since the server started.`;
    });
  }

  live() {
    return this.guarded("live-status", async () => {
      const data = await this.session.json("/api/admin/live");
      byId("live-count").textContent =
        `${data.active_sessions} of ${data.max_concurrent_sessions} session slots in use (all instances); ` +
        `${data.connections.length} connection(s) on this instance.`;
      byId("live-table").replaceChildren(
        data.connections.length
          ? table(
              ["User", "Endpoint", "Path", "Auth", "Client", "Connected"],
              data.connections.map((/** @type {any} */ c) => [
                c.user ?? "(authenticating)",
                c.endpoint,
                c.path,
                c.auth ?? "–",
                c.client_ip ?? "–",
                `${formatMs(c.seconds * 1000)} ago`,
              ]),
              "Open voice connections",
            )
          : el("p", { class: "empty" }, "Nobody is connected right now."),
      );
    });
  }

  users() {
    return this.guarded("users-status", async () => {
      const users = await this.session.json("/api/admin/users?limit=200");
      byId("users-table").replaceChildren(
        table(
          ["Name", "Role", "Status", "Keys", "Created", "Actions"],
          users.map((/** @type {any} */ u) => [
            u.name,
            u.role,
            u.active ? "active" : "disabled",
            String(u.active_keys),
            formatTime(u.created_at),
            el(
              "span",
              { class: "actions" },
              el("button", { type: "button", class: "small", onclick: () => this.keys(u) }, "Keys"),
              el(
                "button",
                { type: "button", class: "small", onclick: () => this.setActive(u, !u.active) },
                u.active ? "Disable" : "Enable",
              ),
            ),
          ]),
          "Users",
        ),
      );
    });
  }

  /**
   * @param {{id: string, name: string}} user
   * @param {boolean} [keepStatus] keep the last message (a reload right after revoking
   *   must not wipe "revoked" before anyone could read it)
   */
  async keys(user, keepStatus = false) {
    const panel = byId("keys-panel");
    panel.hidden = false;
    byId("keys-title").textContent = `API keys of ${user.name}`;
    const body = byId("keys-table");
    try {
      const keys = await this.session.json(`/api/admin/users/${encodeURIComponent(user.id)}/keys`);
      body.replaceChildren(
        keys.length
          ? table(
              ["Name", "Prefix", "Created", "Last used", "Status", ""],
              keys.map((/** @type {any} */ k) => [
                k.name,
                el("code", {}, k.prefix),
                formatTime(k.created_at),
                k.last_used_at ? formatTime(k.last_used_at) : "never",
                k.revoked_at ? "revoked" : "active",
                k.revoked_at
                  ? ""
                  : el(
                      "button",
                      {
                        type: "button",
                        class: "small danger",
                        onclick: () => this.revoke(user, k),
                      },
                      `Revoke ${k.prefix}`,
                    ),
              ]),
              `API keys of ${user.name}`,
            )
          : el("p", { class: "empty" }, "No keys."),
      );
      if (!keepStatus) say(byId("keys-status"), "");
    } catch (error) {
      say(byId("keys-status"), describeError(error), "error");
    }
  }

  /**
   * @param {{id: string, name: string}} user
   * @param {{id: string, prefix: string}} key
   */
  async revoke(user, key) {
    if (
      !window.confirm(
        `Revoke key ${key.prefix} of ${user.name}? Clients using it stop working at once.`,
      )
    )
      return;
    try {
      await this.session.json(`/api/admin/keys/${encodeURIComponent(key.id)}`, {
        method: "DELETE",
      });
      say(byId("keys-status"), `Key ${key.prefix} revoked.`, "success");
    } catch (error) {
      say(byId("keys-status"), describeError(error), "error");
    }
    await Promise.all([this.keys(user, true), this.users()]);
  }

  /**
   * @param {{id: string, name: string}} user
   * @param {boolean} active
   */
  async setActive(user, active) {
    try {
      await this.session.json(`/api/admin/users/${encodeURIComponent(user.id)}`, {
        method: "PATCH",
        body: { active },
      });
      say(byId("users-status"), `${user.name} ${active ? "enabled" : "disabled"}.`, "success");
    } catch (error) {
      say(byId("users-status"), describeError(error), "error");
    }
    await this.users();
  }

  async createUser() {
    /** @type {HTMLFormElement} */
    const form = byId("user-form");
    const data = new FormData(form);
    const password = String(data.get("password") || "");
    const body = {
      name: String(data.get("name")).trim(),
      role: String(data.get("role")),
      with_key: data.get("with_key") === "on",
      ...(password ? { password } : {}),
    };
    const output = byId("new-key");
    try {
      const created = await this.session.json("/api/admin/users", { method: "POST", body });
      form.reset();
      say(byId("users-status"), `Created ${created.user.name}.`, "success");
      output.replaceChildren(
        created.key
          ? el(
              "p",
              {},
              "Their API key, shown this once: ",
              el("code", { class: "secret" }, created.key.key),
            )
          : el("p", {}, "No key was created."),
      );
      output.hidden = false;
    } catch (error) {
      say(byId("users-status"), describeError(error), "error");
    }
    await this.users();
  }

  jobs() {
    return this.guarded("jobs-status", async () => {
      const data = await this.session.json("/api/admin/jobs?limit=20");
      const counts = Object.entries(data.counts);
      byId("jobs-counts").replaceChildren(...counts.map(([status, n]) => kpi(status, String(n))));
      byId("jobs-table").replaceChildren(
        !counts.length
          ? el("p", { class: "empty" }, "No transcription jobs yet.")
          : data.recent.length
            ? table(
                ["File", "Status", "Progress", "Duration", "Attempts", "Created", "Error"],
                data.recent.map((/** @type {any} */ j) => [
                  j.filename,
                  j.status,
                  j.fraction === null ? "–" : percent(j.fraction),
                  j.duration === null ? "–" : formatMs(j.duration * 1000),
                  String(j.attempts),
                  formatTime(j.created_at),
                  j.error_code ?? "",
                ]),
                "Recent transcription jobs",
              )
            : el("p", { class: "empty" }, "None."),
      );
    });
  }

  config() {
    return this.guarded("config-status", async () => {
      const values = await this.session.json("/api/admin/config");
      byId("config-table").replaceChildren(
        table(
          ["Setting", "Value"],
          Object.entries(values).map(([name, value]) => [
            el("code", {}, name),
            value === null
              ? "(unset)"
              : typeof value === "object"
                ? JSON.stringify(value)
                : String(value),
          ]),
          "Effective configuration",
        ),
      );
      this.filterConfig();
    });
  }

  filterConfig() {
    const needle = /** @type {HTMLInputElement} */ (byId("config-filter")).value
      .trim()
      .toLowerCase();
    for (const row of byId("config-table").querySelectorAll("tbody tr")) {
      /** @type {HTMLElement} */ (row).hidden =
        Boolean(needle) && !row.textContent?.toLowerCase().includes(needle);
    }
  }
}

async function main() {
  const session = new Session();
  const me = await signedIn(session);
  byId("account-name").textContent = me.name;
  byId("account").hidden = false;
  byId("sign-out").hidden = me.auth === "none";
  byId("sign-out").addEventListener("click", () => {
    session.signOut();
    location.reload();
  });
  window.addEventListener("ballsy:signed-out", () => location.reload());
  if (me.role !== "admin") {
    say(
      byId("forbidden"),
      `${me.name} is not an administrator. Ask an admin for the role, or sign in as one.`,
      "error",
    );
    return;
  }
  new Dashboard(session).start();
}

main().catch((error) => {
  say(byId("forbidden"), error instanceof ApiError ? describeError(error) : String(error), "error");
});
