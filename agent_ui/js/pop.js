// The screen pop: shown, with a known caller's client summary (name, tier, value class,
// risk profile, advisor), the moment ``call.offered`` arrives (before the phone rings), and
// followed through answered and ended.

import { $, el, facts, replace } from "./dom.js";
import { t, term } from "./i18n.js";
import { pathWords } from "./path_words.js";

export class Pop {
  constructor({ onClient }) {
    this.onClient = onClient;
    this.call = null; // the call.offered data, plus its phase
  }

  get current() {
    return this.call;
  }

  offered(message) {
    const data = message.data;
    const same = this.call?.call_id === data.call_id && this.call.seq === message.seq;
    if (same && this.call.epoch === message.epoch) return; // seqs start again after a restart
    this.call = { ...data, epoch: message.epoch, seq: message.seq, phase: "ringing" }; // client null: not a client
    this.render();
    if (data.client) this.onClient(data.client.client_id, data.interaction_id);
  }

  phase(data, phase) {
    if (!this.call || this.call.call_id !== data.call_id) return;
    this.call.phase = phase === "offer_ended" ? data.reason : phase;
    this.render();
  }

  clear() {
    this.call = null;
    this.render();
  }

  render() {
    const card = $("pop");
    const call = this.call;
    card.hidden = !call;
    if (!call) return;
    card.dataset.callId = call.call_id;
    card.dataset.phase = call.phase;
    const client = call.client;
    const name = $("pop-name");
    if (client) {
      replace(name, client.name, client.name_latin ? el("small", {}, ` ${client.name_latin}`) : null);
    } else {
      replace(name, t("pop.unknown_caller"));
    }
    name.dataset.clientId = client ? String(client.client_id) : "";
    facts($("pop-facts"), [
      [t("pop.status"), term("pop_phase", call.phase), "pop-status"],
      [t("pop.number"), call.caller_number],
      [t("pop.queue"), term("queue", call.queue)],
      [t("pop.language"), term("ivr_language", call.language)],
      [t("pop.authenticated"), call.authenticated ? t("pop.auth_yes") : t("pop.auth_no"), "pop-authenticated"],
      [t("client.tier"), client ? term("tier", client.tier) : ""],
      [t("client.value_class"), client ? term("value_class", client.value_class) : ""],
      [t("client.risk_profile"), client ? term("risk", client.risk_profile) : ""],
      [t("client.advisor"), client?.advisor_name ?? ""],
    ]);
    // What the caller did, in words (path_words.js); the record's node ids only on hover.
    const words = pathWords(call.ivr_steps);
    const node = $("pop-path");
    node.title = (call.ivr_path ?? []).join(" > ");
    replace(
      node,
      el("span", { class: "label" }, t("pop.ivr_path")),
      words.length ? words.map((step) => el("span", { class: "chip", "data-testid": "pop-path-step" }, step)) : el("span", { class: "muted" }, "-"),
    );
  }
}
