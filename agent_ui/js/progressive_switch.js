// The progressive switch in "My work" (docs/outbound.md, "Dialling modes"): when it is on,
// the dialler dials the next due item's client for this agent whenever they are ready and no
// call waits for them, and puts the answered client through as an ACD call (the pop, then
// the phone rings: the desk's pop and call panel show it as any call). The page only asks
// for the mode (PUT /api/outbound/progressive) and shows what the dialler does
// (GET: {on, dialling_item_id}), read every few seconds while the mode is on and at once when
// the agent's state changes. The mode lives in the service's memory: after a restart of the
// service the switch reads "off" again.

import { get, put } from "./api.js";
import { $, replace } from "./dom.js";
import { t } from "./i18n.js";

const POLL_MS = 3_000; // while on: how soon "dialling..." shows, and goes
const ON_A_CALL = new Set(["reserved", "on_call"]);

export class ProgressiveSwitch {
  /**
   * @param {object} hooks describe(itemId): the item's words ("Return visit #12 · reason");
   *   dialEnded(itemId): the dialler's dial for the agent is over (the call ended or was not
   *   answered); failed(error): show a refusal.
   */
  constructor({ describe, dialEnded, failed }) {
    this.describe = describe;
    this.dialEnded = dialEnded;
    this.failed = failed;
    this.state = null; // {on, dialling_item_id}
    this.available = false;
    this.timer = null;
    // The agent's own click wins: while it is on its way, and over any read begun before it,
    // nothing puts the switch back (a state change or a poll answered meanwhile did).
    this.setting = false;
    this.changes = 0;
    this.input = $("work-progressive-on");
    this.input.addEventListener("change", () => this.set(this.input.checked));
    // The agent's state as the desk shows it (the top bar's badge follows agent.state events):
    // ready or not decides whether the dialler dials, and a new state is a moment to look.
    this.badge = $("state-badge");
    new MutationObserver(() => {
      this.render();
      if (this.timer) this.read();
    }).observe(this.badge, { attributes: true, attributeFilter: ["data-state"] });
  }

  agentState() {
    return this.badge.dataset.state ?? "";
  }

  async start() {
    this.stop();
    this.available = true;
    await this.read();
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
    this.available = false;
    this.state = null;
    this.render();
  }

  follow(state) {
    const before = this.state?.dialling_item_id ?? null;
    this.state = state;
    // Read every few seconds while on, and while a dial made for the agent is not over (it
    // may outlast the switch turned off); else nothing is dialled for them.
    const watch = state.on || state.dialling_item_id !== null;
    if (watch && !this.timer) this.timer = setInterval(() => this.read(), POLL_MS);
    if (!watch && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
    this.render();
    if (before !== null && before !== state.dialling_item_id) this.dialEnded(before);
  }

  async read() {
    if (!this.available || this.setting) return;
    const changes = this.changes;
    try {
      const state = await get("/outbound/progressive");
      if (this.setting || changes !== this.changes) return; // the agent's click came since
      this.follow(state);
    } catch (error) {
      if (error?.status === 401) return;
      if (error?.error === "no-dialler") this.stop(); // no PBX: no switch to offer
      this.failed(error);
    }
  }

  async set(on) {
    this.input.disabled = true;
    this.setting = true;
    this.changes += 1;
    try {
      const state = await put("/outbound/progressive", { on });
      this.setting = false;
      this.follow(state);
    } catch (error) {
      this.failed(error);
    }
    this.setting = false;
    this.input.disabled = false;
    this.render();
  }

  /** What the dialler does for the agent now, in words, and a word for tests and styles. */
  status() {
    const state = this.state;
    const dialling = state?.dialling_item_id;
    if (dialling) {
      const item = this.describe(dialling);
      return ON_A_CALL.has(this.agentState())
        ? ["connected", t("work.progressive_connected", { item })]
        : ["dialling", t("work.progressive_dialling", { item })];
    }
    if (!state?.on) return ["off", t("work.progressive_off")];
    return this.agentState() === "ready"
      ? ["waiting", t("work.progressive_waiting")]
      : ["paused", t("work.progressive_paused")];
  }

  render() {
    const box = $("work-progressive");
    box.hidden = !this.available;
    if (!this.available) return;
    if (!this.setting) this.input.checked = Boolean(this.state?.on);
    const [kind, words] = this.status();
    const status = $("work-progressive-status");
    status.dataset.state = kind;
    replace(status, words);
  }
}
