// The agents table: state, reason and time in state, and per agent the supervisor's actions:
// listen / whisper / barge while the agent is on a call (POST /api/supervision/monitor), and
// setting the agent ready, not ready with a reason, or logged out
// (PUT /api/supervision/agents/{id}/state).

import { put } from "../../js/api.js";
import { codeLabel } from "../../js/codes.js";
import { el } from "../../js/dom.js";
import { seconds } from "../../js/format.js";
import { t, term } from "../../js/i18n.js";
import { act, busy } from "./actions.js";
import { MODES } from "./monitor.js";
import { setOptions, setText, syncRows } from "./rows.js";

export const STATE_ORDER = ["ready", "reserved", "on_call", "wrap_up", "not_ready"];
// The agents' state machine takes a supervisor's change in these states only: a ringing or
// talking agent finishes the call first (callcenter/acd/agents.py, TRANSITIONS).
const SETTABLE = new Set(["ready", "not_ready", "wrap_up"]);

export class AgentsTable {
  constructor({ tbody, agentName, since, monitor, redraw }) {
    this.tbody = tbody;
    this.agentName = agentName;
    this.since = since;
    this.monitor = monitor;
    this.redraw = redraw;
    this.reasons = []; // GET /api/agents/reasons
  }

  render(agents) {
    const rank = (state) => (STATE_ORDER.includes(state) ? STATE_ORDER.indexOf(state) : STATE_ORDER.length);
    const sorted = [...agents].sort((a, b) => rank(a.state) - rank(b.state) || Date.parse(a.since) - Date.parse(b.since));
    syncRows(this.tbody, sorted, (a) => a.agent_id, (a) => this.build(a), (row, a) => this.update(row, a));
  }

  build(agent) {
    const spy = el(
      "span",
      { class: "spy" },
      MODES.map((mode) =>
        el("button", { type: "button", class: `small mode-${mode}`, "data-mode": mode, "data-testid": `wb-${mode}` }),
      ),
    );
    const stateControl = el(
      "span",
      { class: "state-control" },
      el("select", { class: "small", "data-testid": "wb-state-select" }),
      el("button", { type: "button", class: "small", "data-testid": "wb-state-apply" }),
    );
    const row = el(
      "tr",
      { "data-agent": agent.agent_id },
      el("td"),
      el("td"),
      el("td"),
      el("td", { class: "num" }),
      el("td", { class: "actions" }, spy, stateControl),
    );
    for (const button of spy.querySelectorAll("button")) {
      button.addEventListener("click", () => this.monitor.start(spy, Number(row.dataset.key), button.dataset.mode));
    }
    stateControl.querySelector("button").addEventListener("click", () => this.setState(stateControl, Number(row.dataset.key)));
    stateControl.querySelector("select").addEventListener("change", () => this.redraw());
    return row;
  }

  update(row, agent) {
    const [name, state, reason, inState, actions] = row.cells;
    setText(name, this.agentName(agent.agent_id));
    setText(state, term("state", agent.state));
    state.className = `state-${agent.state}`;
    setText(reason, codeLabel("reason", agent.reason));
    setText(inState, seconds(this.since(agent.since)));

    const [spy, stateControl] = actions.children;
    spy.hidden = agent.state !== "on_call";
    for (const button of spy.querySelectorAll("button")) {
      setText(button, t(`wb.mode.${button.dataset.mode}`));
      if (!busy(spy)) button.disabled = false;
    }

    const [select, apply] = stateControl.children;
    const choices = this.choices(agent);
    setOptions(select, JSON.stringify(choices), choices);
    setText(apply, t("wb.set_state"));
    const settable = SETTABLE.has(agent.state);
    apply.title = settable ? "" : t("wb.after_the_call");
    if (!busy(stateControl)) {
      select.disabled = !settable;
      apply.disabled = !settable || select.value === "";
    }
  }

  /** What the agent can be set to from here: [value, label] (not_ready carries its reason). */
  choices(agent) {
    const entries = [["", t("wb.choose_state")]];
    if (agent.state !== "ready") entries.push(["ready", term("state", "ready")]);
    for (const reason of this.reasons) {
      if (agent.state === "not_ready" && agent.reason === reason) continue;
      entries.push([`not_ready:${reason}`, `${term("state", "not_ready")} · ${codeLabel("reason", reason)}`]);
    }
    entries.push(["logged_out", t("wb.log_out")]);
    return entries;
  }

  async setState(holder, agentId) {
    const [select] = holder.children;
    const [state, reason] = select.value.split(":");
    if (!state) return;
    const body = reason ? { state, reason } : { state };
    const done = await act(holder, t("wb.set_state_of", { agent: this.agentName(agentId) }), () =>
      put(`/supervision/agents/${agentId}/state`, body),
    );
    if (done) select.value = "";
    this.redraw();
  }
}
