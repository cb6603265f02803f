// The 360-degree view: GET /api/clients/{id} (audited, with the call it is for), the client's
// history, and the full ID number on request with a reason (POST .../reveal-id, audited).

import { get, post, query } from "./api.js";
import { codeLabel } from "./codes.js";
import { $, el, facts, replace } from "./dom.js";
import * as fmt from "./format.js";
import { language, t, term } from "./i18n.js";

const REVEAL_SECONDS = 60; // the full number leaves the screen again by itself

// The center's time zone (GET /api/agents/center): call times read as the center's hours,
// whatever zone the PC is set to. Asked when a client is first shown (logged in), once; a
// failed ask is tried again at the next showing. Until it answers, the PC's zone.
let centerZone = null;
let centerAsked = null;
function askCenterZone(onKnown) {
  centerAsked ??= get("/agents/center")
    .then((center) => { centerZone = center.timezone; return true; })
    .catch(() => { centerAsked = null; return false; });
  centerAsked.then((known) => { if (known) onKnown(); });
}

/** A call's time in the center's zone: date and time to the minute. */
export function centerTime(iso) {
  if (!iso) return "";
  const options = { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
  if (centerZone) options.timeZone = centerZone;
  return new Date(iso).toLocaleString(language(), options);
}

/** An amount that never breaks inside the number: a no-break space wherever the locale puts a
 * space (grouping, currency sign), and a span the style keeps on one line. */
function money(amount) {
  const text = fmt.money(amount);
  return text ? el("span", { class: "money", "data-testid": "money" }, text.replace(/\s/g, "\u00a0")) : "";
}

/** A call's recordings (agent_ui/recordings/, which asks why before it plays), for an answered
 * voice call. Whether this user may hear it is the server's to say (the page shows why not). */
function recordingLink(i) {
  if (i.channel !== "voice" || !i.answered_at) return null;
  return el("a", { href: `recordings/?interaction=${i.id}`, target: "_blank", rel: "noopener", "data-testid": "history-recording" }, t("history.recording"));
}

/** What came of a contact: the agent's disposition, else what the call did. */
function outcome(i) {
  if (i.disposition) return codeLabel("disposition", i.disposition);
  if (i.answered_at) return t("history.outcome_answered");
  if (!i.ended_at && i.channel === "voice") return t("history.outcome_in_progress");
  if (i.queued_at) return t("history.outcome_not_answered");
  return i.ivr_outcome ? term("ivr_outcome", i.ivr_outcome) : "";
}

export class ClientView {
  constructor({ toast }) {
    this.toast = toast;
    this.view = null;
    this.interactionId = null;
    this.history = null; // the full history, once asked for
    this.revealed = null;
    this.revealing = false;
    this.hideTimer = null;
    this.loading = 0;
  }

  get clientId() {
    return this.view?.profile.id ?? null;
  }

  async open(clientId, interactionId = null, reason = null) {
    const ticket = ++this.loading; // a later open wins over a slower earlier one
    try {
      // reason: why an agent opens a client who is not on their call (audited).
      const view = await get(`/clients/${clientId}${query({ interaction_id: interactionId, reason })}`);
      if (ticket !== this.loading) return;
      this.view = view;
      this.interactionId = interactionId;
      this.history = null;
      this.hideId();
      this.render();
    } catch (error) {
      this.toast(error);
    }
  }

  /** Read the open client again (after a wrap-up: the new call, its outcome and notes), and
   * the full history if it was open. */
  async refresh() {
    if (!this.view) return;
    const [clientId, interactionId, withHistory] = [this.clientId, this.interactionId, this.history !== null];
    const ticket = ++this.loading;
    try {
      const view = await get(`/clients/${clientId}${query({ interaction_id: interactionId })}`);
      if (ticket !== this.loading || this.clientId !== clientId) return;
      this.view = view;
      if (withHistory) await this.loadHistory();
      else this.render();
    } catch (error) {
      this.toast(error);
    }
  }

  close() {
    this.view = null;
    this.hideId();
    this.render();
  }

  hideId() {
    clearTimeout(this.hideTimer);
    this.revealed = null;
    this.revealing = false;
  }

  async loadHistory() {
    try {
      const page = await get(`/interactions${query({ client_id: this.clientId, limit: 50 })}`);
      this.history = page.items;
      this.render();
    } catch (error) {
      this.toast(error);
    }
  }

  async reveal(reason) {
    try {
      const body = { reason };
      if (this.interactionId) body.interaction_id = this.interactionId;
      const out = await post(`/clients/${this.clientId}/reveal-id`, body);
      this.revealed = out.id_number;
      this.revealing = false;
      clearTimeout(this.hideTimer);
      this.hideTimer = setTimeout(() => {
        this.revealed = null;
        this.render();
      }, REVEAL_SECONDS * 1000);
      this.render();
    } catch (error) {
      this.toast(error);
    }
  }

  render() {
    const body = $("client-body");
    $("client-empty").hidden = Boolean(this.view);
    body.hidden = !this.view;
    if (!this.view) {
      replace(body);
      return;
    }
    if (!centerZone) askCenterZone(() => this.render());
    const v = this.view;
    const p = v.profile;
    replace(
      body,
      el(
        "header",
        { class: "client-head" },
        el("h2", { "data-testid": "client-name" }, p.name, p.name_latin ? el("small", {}, ` ${p.name_latin}`) : null),
        el("span", { class: `badge tier-${p.tier}`, "data-testid": "client-tier" }, term("tier", p.tier)),
        el("span", { class: "badge" }, term("value_class", p.value_class)),
        p.closed_on ? el("span", { class: "badge warn" }, t("client.closed", { date: fmt.date(p.closed_on) })) : null,
      ),
      el("div", { class: "grid2" }, this.profileCard(p), this.suitabilityCard(p)),
      this.assetsCard(v),
      el("div", { class: "grid2" }, this.complaintsCard(v), this.followUpsCard(v)),
      this.historyCard(v),
    );
  }

  profileCard(p) {
    const dl = el("dl", { class: "facts" });
    facts(dl, [
      [t("client.account_no"), p.account_no],
      [t("client.id_number"), this.idNumber(p)],
      [t("client.phones"), p.phones.map((phone) => `${phone.e164} (${term("phone_kind", phone.kind)})`).join(", ")],
      [t("client.branch"), language().startsWith("zh") ? p.branch.name : p.branch.name_en],
      [t("client.advisor"), p.advisor ? `${p.advisor.display_name}${p.advisor.extension ? ` · ${p.advisor.extension}` : ""}` : t("client.no_advisor")],
      [t("client.language"), term("ivr_language", p.language)],
      [t("client.opened_on"), fmt.date(p.opened_on)],
    ]);
    return el("section", { class: "card" }, el("h3", {}, t("client.profile")), dl, this.revealForm());
  }

  idNumber(p) {
    const shown = this.revealed ?? p.id_number_masked;
    const span = el("span", { "data-testid": this.revealed ? "id-number-full" : "id-number-masked" }, `${term("id_type", p.id_type)} ${shown}`);
    if (this.revealed || this.revealing) return span;
    return el("span", {}, span, " ", el("button", {
      type: "button", class: "link", "data-testid": "reveal-id", onclick: () => { this.revealing = true; this.render(); },
    }, t("client.reveal")));
  }

  revealForm() {
    if (!this.revealing) return null;
    const input = el("input", { id: "reveal-reason", maxlength: 500, minlength: 8, required: true, placeholder: t("client.reveal_reason_hint") });
    const form = el(
      "form",
      { class: "reveal", "data-testid": "reveal-form" },
      el("label", {}, el("span", {}, t("client.reveal_reason")), input),
      el("div", { class: "buttons" },
        el("button", { type: "submit", class: "primary" }, t("client.reveal_confirm")),
        el("button", { type: "button", onclick: () => { this.revealing = false; this.render(); } }, t("common.cancel"))),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const reason = input.value.trim();
      if (reason.length < 8) {
        input.setCustomValidity(t("client.reveal_reason_short"));
        input.reportValidity();
        return;
      }
      this.reveal(reason);
    });
    input.addEventListener("input", () => input.setCustomValidity(""));
    queueMicrotask(() => input.focus());
    return form;
  }

  suitabilityCard(p) {
    const dl = el("dl", { class: "facts" });
    facts(dl, [
      [t("client.risk_profile"), term("risk", p.risk_profile), "client-risk"],
      [t("client.risk_assessed_on"), p.risk_assessed_on ? fmt.date(p.risk_assessed_on) : t("client.never")],
      [t("client.income_band"), term("income", p.income_band)],
      [t("client.occupation"), p.occupation],
    ]);
    return el(
      "section",
      { class: "card" },
      el("h3", {}, t("client.suitability")),
      dl,
      el("p", { class: "notes", "data-testid": "client-notes" }, p.notes || t("client.no_notes")),
    );
  }

  assetsCard(v) {
    const account = v.account;
    if (!account) return el("section", { class: "card" }, el("h3", {}, t("client.assets")), el("p", { class: "muted" }, t("client.no_account")));
    const summary = el("dl", { class: "facts row" });
    facts(summary, [
      [t("client.period"), fmt.month(account.period)],
      [t("client.total_assets"), money(account.total_assets), "client-total-assets"],
      [t("client.turnover"), money(account.turnover)],
      [t("client.commission"), money(account.commission)],
    ]);
    const positions = account.positions.length
      ? el("table", { class: "table" },
          el("thead", {}, el("tr", {}, [t("client.symbol"), t("client.security"), t("client.quantity"), t("client.value")].map((h) => el("th", {}, h)))),
          el("tbody", {}, account.positions.map((pos) => el("tr", {}, el("td", {}, pos.symbol), el("td", {}, pos.name), el("td", { class: "num" }, pos.quantity.toLocaleString()), el("td", { class: "num" }, money(pos.value))))))
      : el("p", { class: "muted" }, t("client.no_positions"));
    const trend = v.asset_trend.slice(-6).map((point) => el("span", { class: "chip" }, `${fmt.month(point.period)} `, money(point.total_assets)));
    return el("section", { class: "card" }, el("h3", {}, t("client.assets")), summary, positions, el("div", { class: "path" }, el("span", { class: "label" }, t("client.trend")), trend));
  }

  complaintsCard(v) {
    const items = v.open_complaints.map((c) =>
      el("li", {}, el("strong", {}, c.summary), el("br"), el("span", { class: "muted" },
        `${c.category_code} · ${term("complaint_status", c.status)} · ${t("client.due", { date: centerTime(c.response_due_at) })} · `),
        el("a", { href: `recordings/?complaint=${c.id}`, target: "_blank", rel: "noopener", "data-testid": "complaint-recordings" }, t("client.complaint_recordings"))));
    return el("section", { class: "card", "data-testid": "client-complaints" }, el("h3", {}, t("client.open_complaints", { count: items.length })),
      items.length ? el("ul", { class: "list" }, items) : el("p", { class: "muted" }, t("client.none_open")));
  }

  followUpsCard(v) {
    const items = v.follow_ups_due.map((f) => el("li", {}, `${term("follow_up_kind", f.kind)} · ${t("client.due", { date: fmt.date(f.due_on) })}`));
    return el("section", { class: "card", "data-testid": "client-follow-ups" }, el("h3", {}, t("client.follow_ups", { count: items.length })),
      items.length ? el("ul", { class: "list" }, items) : el("p", { class: "muted" }, t("client.none_open")));
  }

  historyCard(v) {
    const rows = this.history ?? v.recent_interactions;
    const table = rows.length
      ? el("table", { class: "table", "data-testid": "client-history" },
          el("thead", {}, el("tr", {}, [t("history.when"), t("history.channel"), t("history.queue"), t("history.talk"), t("history.disposition"), t("history.notes"), ""].map((h) => el("th", {}, h)))),
          el("tbody", {}, rows.map((i) => el("tr", { "data-testid": "history-row", "data-interaction-id": i.id },
            el("td", { class: "when", "data-testid": "history-when" }, centerTime(i.started_at)),
            el("td", {}, `${term("channel", i.channel)} ${term("direction", i.direction)}`),
            el("td", {}, term("queue", i.queue)),
            el("td", { class: "num" }, fmt.seconds(i.talk_seconds)),
            el("td", { "data-testid": "history-outcome" }, outcome(i)),
            el("td", { class: "notes-cell", title: i.notes ?? "", "data-testid": "history-notes" }, i.notes ?? ""),
            el("td", {}, recordingLink(i))))))
      : el("p", { class: "muted" }, t("history.none"));
    const more = this.history === null
      ? el("button", { type: "button", class: "link", "data-testid": "history-more", onclick: () => this.loadHistory() }, t("history.more"))
      : null;
    return el("section", { class: "card" }, el("h3", {}, this.history === null ? t("history.recent") : t("history.all")), table, more);
  }
}
