// The calls waiting now (the snapshot's ``waiting``, longest first), and moving one: to
// another queue, keeping its wait, or offered to a named ready agent
// (POST /api/supervision/calls/{call_id}/move).

import { post } from "../../js/api.js";
import { el } from "../../js/dom.js";
import { seconds } from "../../js/format.js";
import { t, term } from "../../js/i18n.js";
import { act, busy } from "./actions.js";
import { queueLabel } from "./queue_names.js";
import { setOptions, setText, syncRows } from "./rows.js";

export class WaitingTable {
  constructor({ tbody, agentName, since, redraw }) {
    this.tbody = tbody;
    this.agentName = agentName;
    this.since = since;
    this.redraw = redraw;
    this.queues = []; // queue names, GET /api/queues
  }

  render(waiting, agents) {
    const ready = agents.filter((a) => a.state === "ready").map((a) => a.agent_id);
    syncRows(this.tbody, waiting, (c) => c.call_id, () => this.build(), (row, c) => this.update(row, c, ready));
  }

  build() {
    const move = el(
      "span",
      { class: "move-control" },
      el("select", { class: "small", "data-testid": "wb-move-select" }),
      el("button", { type: "button", class: "small", "data-testid": "wb-move-apply" }),
    );
    const row = el(
      "tr",
      {},
      el("td"),
      el("td"),
      el("td"),
      el("td", { class: "num" }),
      el("td", { class: "num", "data-testid": "wb-wait" }),
      el("td", { class: "actions" }, move),
    );
    move.querySelector("button").addEventListener("click", () => this.move(move, row.dataset.key));
    move.querySelector("select").addEventListener("change", () => this.redraw());
    return row;
  }

  update(row, call, ready) {
    row.dataset.call = call.call_id;
    const [caller, tier, queue, priority, wait, actions] = row.cells;
    // A kept place (virtual hold): the caller hung up and is called back at their turn; it
    // cannot be moved (it is not a call on the line).
    const who = call.caller ?? "–";
    setText(caller, call.kept_place ? `${who} · ${t("wb.kept_place")}` : who);
    row.classList.toggle("kept-place", Boolean(call.kept_place));
    setText(tier, term("tier", call.tier) || "–");
    setText(queue, queueLabel(call.queue));
    setText(priority, call.priority ?? "–");
    setText(wait, seconds(this.since(call.waiting_since)));
    const [move] = actions.children;
    const [select, apply] = move.children;
    const queues = this.queues.filter((q) => q !== call.queue);
    const entries = [["", t("wb.move_to")]];
    if (queues.length) entries.push({ group: t("wb.to_queue"), options: queues.map((q) => [`queue:${q}`, queueLabel(q)]) });
    if (ready.length) {
      entries.push({ group: t("wb.to_agent"), options: ready.map((id) => [`agent:${id}`, this.agentName(id)]) });
    }
    setOptions(select, JSON.stringify(entries), entries);
    setText(apply, t("wb.move"));
    move.hidden = Boolean(call.kept_place);
    if (!busy(move)) apply.disabled = select.value === "";
  }

  async move(holder, callId) {
    const [select] = holder.children;
    const [kind, target] = select.value.split(":");
    if (!kind) return;
    const body = kind === "queue" ? { queue: target } : { agent_id: Number(target) };
    const done = await act(holder, t("wb.move_call"), () =>
      post(`/supervision/calls/${encodeURIComponent(callId)}/move`, body),
    );
    if (done) select.value = "";
    this.redraw();
  }
}
