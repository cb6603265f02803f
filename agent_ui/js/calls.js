// Call control: the buttons post to /api/calls/me/*, which act on this agent's own call only;
// the panel follows the call's state from the answers and from ``call.control`` events.

import { ApiError, get, post } from "./api.js";
import { $, replace } from "./dom.js";
import { t, term } from "./i18n.js";

// Which buttons make sense in which state (the server refuses the others with 409 anyway).
const ENABLED = {
  none: ["btn-dial"],
  talking: ["btn-hold", "btn-hangup", "btn-blind", "btn-consult"],
  held: ["btn-resume", "btn-hangup"],
  consulting: ["btn-complete", "btn-cancel", "btn-conference", "btn-hangup"],
  conference: ["btn-hangup"],
  dialling: ["btn-hangup"],
};
const ALL = Object.values(ENABLED).flat();

export class CallPanel {
  constructor({ toast, clientId, agentState, onStatus }) {
    this.toast = toast;
    this.onStatus = onStatus; // (status) => void: the call under control changed (or ended)
    this.clientId = clientId; // () => the client on screen, for click-to-dial
    this.agentState = agentState; // () => the agent's state
    this.status = null; // CallControlOut, or null: no controlled call
    this.dialling = null; // {call_id, interaction_id} of a click-to-dial call
    const bind = (id, action) => $(id).addEventListener("click", () => action());
    bind("btn-hold", () => this.act("/calls/me/hold"));
    bind("btn-resume", () => this.act("/calls/me/resume"));
    bind("btn-hangup", () => this.hangUp());
    bind("btn-blind", () => this.transfer("blind"));
    bind("btn-consult", () => this.transfer("consult"));
    bind("btn-complete", () => this.act("/calls/me/transfer/complete"));
    bind("btn-cancel", () => this.act("/calls/me/transfer/cancel"));
    bind("btn-conference", () => this.act("/calls/me/conference"));
    bind("btn-dial", () => this.dial());
  }

  async refresh() {
    try {
      this.status = await get("/calls/me");
    } catch (error) {
      if (!(error instanceof ApiError) || error.status === 401) throw error;
      this.status = null; // 404 no-live-call; 409 pbx-unavailable: nothing to control
    }
    this.render();
  }

  /** The ACD announced the answer: the call becomes controllable a moment later (once the
   * answer is stored), so ask again a few times while nothing is there yet. */
  async follow(attempts = 12, everyMs = 250) {
    for (let i = 0; i < attempts && !this.status; i += 1) {
      await this.refresh();
      if (this.status || !["reserved", "on_call"].includes(this.agentState())) break;
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  }

  /** A ``call.control`` event: the state the server now holds for this agent's call. */
  controlled(data) {
    if (data.state === "ended" || data.state === "transferred") {
      this.status = null;
      this.dialling = null;
    } else {
      this.status = { ...(this.status ?? {}), ...data };
    }
    this.render();
  }

  ended() {
    this.status = null;
    this.dialling = null;
    this.render();
  }

  async act(path, body) {
    try {
      const status = await post(path, body);
      this.status = ["ended", "transferred"].includes(status.state) ? null : status;
    } catch (error) {
      this.toast(error);
    }
    this.render();
  }

  async hangUp() {
    try {
      await post("/calls/me/hangup");
      this.status = null;
      this.dialling = null;
    } catch (error) {
      this.toast(error);
    }
    this.render();
  }

  transfer(mode) {
    const input = $("transfer-to");
    if (!input.checkValidity() || !input.value) {
      input.setCustomValidity(t("call.bad_extension"));
      input.reportValidity();
      input.setCustomValidity("");
      return;
    }
    this.act("/calls/me/transfer", { to: input.value, mode });
  }

  async dial() {
    const input = $("dial-number");
    const number = input.value.replace(/[\s-]/g, "");
    if (!/^\+?[0-9]{2,20}$/.test(number)) {
      input.setCustomValidity(t("call.bad_number"));
      input.reportValidity();
      input.setCustomValidity("");
      return;
    }
    const body = { number };
    const clientId = this.clientId();
    if (clientId) body.client_id = clientId;
    try {
      this.dialling = await post("/calls/me/dial", body);
    } catch (error) {
      this.toast(error);
    }
    this.render();
  }

  render() {
    const state = this.status?.state ?? (this.dialling ? "dialling" : "none");
    const enabled = new Set(ENABLED[state] ?? []);
    if (state === "none" && !["not_ready", "wrap_up"].includes(this.agentState())) {
      enabled.delete("btn-dial"); // the ACD may offer a call to a ready agent at any moment
    }
    for (const id of ALL) $(id).disabled = !enabled.has(id);
    const status = $("call-status");
    status.dataset.state = state;
    this.onStatus?.(this.status);
    if (state === "none") replace(status, t("call.none"));
    else if (state === "dialling") replace(status, t("call.dialling"));
    else {
      const parts = [term("call_state", state)];
      if (this.status.target) parts.push(t("call.with", { target: this.status.target }));
      if (this.status.hold_seconds) parts.push(t("call.held_for", { seconds: this.status.hold_seconds }));
      replace(status, parts.join(" · "));
    }
  }
}
