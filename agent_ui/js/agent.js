// The agent's own state: start and end the shift, ready, not ready with a reason; the badge
// and its timer (time in the state; in wrap-up, the wrap-up's running time); whether the
// agent's phone is registered (no "ready" without it: the server refuses, and says which
// phone; a ready agent whose phone goes is set not ready, "no phone").

import { ApiError, get, post, serverClock } from "./api.js";
import { codeLabel, loadDispositions, loadReasons } from "./codes.js";
import { $, el, replace } from "./dom.js";
import { t, term } from "./i18n.js";

const AGENT_ROLES = new Set(["agent", "advisor"]);

export class AgentPanel {
  constructor({ toast, onWrapUp, phoneWhy }) {
    this.toast = toast;
    this.onWrapUp = onWrapUp;
    this.phoneWhy = phoneWhy; // () => why the browser phone is not registered (null: it is, or none)
    this.agent = null; // GET /api/agents/me
    this.phone = null; // GET /api/agents/me/phone: {extension, registered (null: cannot tell)}
    this.reasons = [];
    this.ticker = null;
    $("btn-shift-start").addEventListener("click", () => this.act(() => post("/agents/me/login")));
    $("btn-shift-end").addEventListener("click", () => this.act(() => post("/agents/me/logout")));
    $("btn-ready").addEventListener("click", () =>
      this.act(() => post("/agents/me/state", { state: "ready" })),
    );
    $("btn-not-ready").addEventListener("click", () =>
      this.act(() =>
        post("/agents/me/state", { state: "not_ready", reason: $("reason-select").value }),
      ),
    );
  }

  isAgent(user) {
    return AGENT_ROLES.has(user.role);
  }

  async start(user) {
    this.user = user;
    if (!this.isAgent(user)) {
      this.agent = null;
      this.render();
      return;
    }
    // The dispositions too: the history's labels are there before the first wrap-up.
    const [agent, reasons] = await Promise.all([get("/agents/me"), loadReasons(), loadDispositions()]);
    this.reasons = reasons;
    this.set(agent);
    await this.checkPhone();
  }

  /** Whether the agent's phone is registered now (shown beside the extension). */
  async checkPhone() {
    try {
      this.phone = await get("/agents/me/phone");
    } catch {
      this.phone = null; // the state and its buttons matter more; the next change asks again
    }
    this.render();
  }

  stop() {
    clearInterval(this.ticker);
    this.ticker = null;
    this.agent = null;
    this.phone = null;
  }

  async act(call) {
    try {
      this.set(await call());
    } catch (error) {
      if (error instanceof ApiError && error.error === "phone-not-registered") {
        // Say which phone: the one the agent must start (or scripts/phone.py <extension>),
        // and why the browser phone is not registered when the page knows.
        const why = this.phoneWhy?.();
        const refused = t("agent.phone_refused", { extension: error.detail.extension ?? "-" });
        this.toast(why ? `${refused} ${t("agent.phone_why", { why })}` : refused);
        this.checkPhone();
        return;
      }
      this.toast(error);
    }
  }

  /** An ``agent.state`` event for this agent: read the stored state (since, interaction). */
  async changed() {
    if (!this.agent) return;
    try {
      this.set(await get("/agents/me"));
    } catch (error) {
      this.toast(error);
    }
    await this.checkPhone();
  }

  set(agent) {
    const before = this.agent?.state;
    this.agent = agent;
    this.render();
    if (agent.state === "wrap_up" && before !== "wrap_up" && agent.interaction_id) {
      this.onWrapUp(agent.interaction_id);
    }
  }

  render() {
    const agent = this.agent;
    const who = $("agent-who");
    if (!agent) {
      replace(who, this.user ? `${this.user.display_name} · ${term("role", this.user.role)}` : "");
      for (const id of ["state-badge", "state-timer"]) replace($(id));
      for (const id of ["btn-shift-start", "btn-shift-end", "btn-ready", "btn-not-ready", "reason-select"]) {
        $(id).hidden = true;
      }
      return;
    }
    replace(who, `${agent.display_name} · ${t("agent.extension", { extension: agent.extension ?? "-" })}`, this.phoneBadge());
    const badge = $("state-badge");
    badge.dataset.state = agent.state;
    replace(badge, agent.reason ? `${term("state", agent.state)} · ${codeLabel("reason", agent.reason)}` : term("state", agent.state));
    const state = agent.state;
    $("btn-shift-start").hidden = state !== "logged_out";
    $("btn-shift-end").hidden = !["ready", "not_ready", "wrap_up"].includes(state);
    $("btn-ready").hidden = !["not_ready", "wrap_up"].includes(state);
    $("btn-not-ready").hidden = !["ready", "wrap_up"].includes(state);
    const select = $("reason-select");
    select.hidden = $("btn-not-ready").hidden;
    const chosen = select.value;
    replace(select, this.reasons.map((code) => el("option", { value: code }, codeLabel("reason", code))));
    if (chosen) select.value = chosen;
    this.tick();
    clearInterval(this.ticker);
    this.ticker = setInterval(() => this.tick(), 1000);
  }

  phoneBadge() {
    if (!this.phone?.extension) return null;
    const registered = this.phone.registered;
    const key = registered === null ? "agent.phone_unknown" : registered ? "agent.phone_registered" : "agent.phone_not_registered";
    return el(
      "span",
      { class: "phone-state", "data-testid": "agent-phone", dataset: { registered: String(registered) } },
      ` · ${t(key)}`,
    );
  }

  tick() {
    const timer = $("state-timer");
    const since = this.agent?.since ? Date.parse(this.agent.since) : NaN;
    if (!this.agent || Number.isNaN(since) || this.agent.state === "logged_out") {
      replace(timer);
      return;
    }
    const seconds = Math.max(0, Math.floor((serverClock.now().getTime() - since) / 1000));
    const clock = `${String(Math.floor(seconds / 60)).padStart(2, "0")}:${String(seconds % 60).padStart(2, "0")}`;
    replace(timer, this.agent.state === "wrap_up" ? t("agent.wrap_up_timer", { time: clock }) : clock);
  }
}
