// My work (我的任务): the dialler's work items - callbacks, return visits, care calls - of this
// agent and their queues (GET /api/outbound/my-work), the preview of the next one (POST
// /api/outbound/next, held for the agent a few minutes), dialling it (click-to-dial: the
// agent's own phone rings first, then the client is dialled with the hotline's number as
// caller ID), skipping it with a reason, and, once the client was reached, how the call went
// (POST .../outcome). Whether an item may be dialled is the server's to say, when it offers
// the item and again when it dials (docs/outbound.md); the page only words its verdicts and
// refusals, with times in the center's zone like the rest of the desk. A return visit's
// answered call is told about with the script's answers (js/return_visit_script.js) rather
// than "completed"; progressive mode is a switch above the list (js/progressive_switch.js).

import { ApiError, get, post } from "./api.js";
import { $, el, facts, replace } from "./dom.js";
import { describeError } from "./errors.js";
import * as fmt from "./format.js";
import { language, t, term } from "./i18n.js";
import { ProgressiveSwitch } from "./progressive_switch.js";
import { loadScript, recordVisit, scriptForm, visitResult } from "./return_visit_script.js";

const REFRESH_MS = 30_000; // the list is read again this often while the page is in sight
const AGENT_OUTCOMES = ["completed", "reached", "refused", "wrong_number"];
// A return visit is completed by recording its script's answers, never by "completed" alone.
const VISIT_OUTCOMES = ["reached", "refused", "wrong_number"];
const RETURN_VISIT = "return_visit";
const TELL_LOOKS = 10; // after a progressive call: looks for its applied end, this often
const TELL_LOOK_MS = 1_000;
const ROLES = new Set(["agent", "advisor"]);

/** The UTC offset of ``zone`` at ``utcMs``, in ms (Intl knows zones; Date does not). */
function zoneOffsetMs(utcMs, zone) {
  const options = { timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" };
  const parts = Object.fromEntries(new Intl.DateTimeFormat("en-US", options).formatToParts(new Date(utcMs)).map((p) => [p.type, p.value]));
  return Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour, +parts.minute, +parts.second) - utcMs;
}

/** A datetime-local value ("2026-12-08T10:30") read as the center's wall clock, as ISO UTC. */
export function centerWallTime(value, zone) {
  if (!zone) return new Date(value).toISOString(); // the zone not known yet: the PC's
  const [day, time] = value.split("T");
  const [y, m, d] = day.split("-").map(Number);
  const [hh, mm] = time.split(":").map(Number);
  const wall = Date.UTC(y, m - 1, d, hh, mm);
  const first = wall - zoneOffsetMs(wall, zone);
  return new Date(wall - zoneOffsetMs(first, zone)).toISOString(); // right across a DST change
}

export class MyWork {
  /**
   * @param {object} hooks toast(error); openClient(clientId, reason): the 360-degree view
   *   (reason: why an agent opens a client not yet in their hands, audited); onDialled(out):
   *   the call panel follows the click-to-dial call ({call_id, interaction_id}).
   */
  constructor({ toast, openClient, onDialled }) {
    this.toast = toast;
    this.openClient = openClient;
    this.onDialled = onDialled;
    this.user = null;
    this.items = []; // WorkViewOut of GET /api/outbound/my-work
    this.loaded = false;
    this.current = null; // {view, held, phase: "preview"|"dialling"|"report", dial, skipping}
    this.notice = null; // {text: () => words (re-worded on a language change), kind}
    this.zone = null; // the center's time zone (GET /api/agents/center)
    this.timer = null;
    this.toTell = null; // the item whose progressive call just ended: told about once applied
    this.progressive = new ProgressiveSwitch({
      describe: (id) => this.describe(id),
      dialEnded: (id) => {
        this.toTell = { id, looks: 0 };
        this.refresh();
      },
      failed: (error) => this.failed(error),
    });
    $("work-next").addEventListener("click", () => this.next());
    document.addEventListener("visibilitychange", () => {
      if (this.visible()) this.refresh();
    });
  }

  visible() {
    return Boolean(this.user) && document.visibilityState === "visible" && !$("my-work").hidden;
  }

  async start(user) {
    this.stop();
    if (!ROLES.has(user.role)) return;
    this.user = user;
    $("my-work").hidden = false;
    this.timer = setInterval(() => { if (this.visible()) this.refresh(); }, REFRESH_MS);
    get("/agents/center").then((center) => { this.zone = center.timezone; this.render(); }).catch(() => null);
    this.progressive.start();
    await this.refresh();
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
    this.user = null;
    this.items = [];
    this.loaded = false;
    this.current = null;
    this.notice = null;
    this.toTell = null;
    this.progressive.stop();
    $("my-work").hidden = true;
  }

  /** An item in words, for the progressive switch: "Return visit #12 · its reason". */
  describe(id) {
    const item = this.items.find((v) => v.item.id === id)?.item;
    if (!item) return `#${id}`;
    const words = t("work.progressive_item", { kind: term("follow_up_kind", item.kind), id });
    return item.reason ? `${words} · ${item.reason}` : words;
  }

  /** A time of the dialler in the center's zone, to the minute. */
  time(iso) {
    const options = { month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
    if (this.zone) options.timeZone = this.zone;
    return new Date(iso).toLocaleString(language(), options);
  }

  /** Why an item may not be dialled now, and from when (a verdict or a refusal's detail). */
  whyNot(reason, earliest) {
    const why = term("verdict", reason ?? "unknown");
    return earliest ? t("work.not_until", { why, time: this.time(earliest) }) : why;
  }

  say(kind, text) {
    this.notice = { kind, text };
    this.render();
  }

  failed(error) {
    if (error instanceof ApiError && error.error === "work-item-not-diallable") {
      const { reason, earliest } = error.detail ?? {};
      this.say("error", () => t("work.refused", { why: this.whyNot(reason, earliest) }));
    } else {
      this.say("error", () => describeError(error));
    }
  }

  async refresh() {
    if (!this.user) return;
    try {
      this.items = (await get("/outbound/my-work")).items;
      this.loaded = true;
      const fresh = this.items.find((v) => v.item.id === this.current?.view.item.id);
      if (fresh) this.current.view = fresh; // its attempts as they are now
      this.tellProgressive();
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return;
      this.failed(error);
    }
    this.render();
  }

  /** Take up an item: shown with its client, to be dialled or skipped (or told about). */
  show(view, held, phase = "preview", { open = true } = {}) {
    this.current = { view, held, phase, dial: null, skipping: false, visit: null };
    const item = view.item;
    if (phase === "report") this.prepareVisit(this.current);
    if (item.client_id && open) {
      // An agent's own task opens its client; anyone else's (a queue's, nobody's) is opened
      // with the work item as the reason, kept in the audit log.
      const own = item.assigned_to_id === this.user.id || this.user.role !== "agent";
      this.openClient(item.client_id, own ? null : t("work.view_reason", { id: item.id }));
    }
    this.render();
  }

  async next() {
    this.notice = null;
    try {
      const preview = await post("/outbound/next");
      if (preview.item) this.show(preview.item, true);
      else {
        this.current = null;
        this.say("info", () => t("work.nothing_now"));
      }
    } catch (error) {
      this.failed(error);
    }
    await this.refresh();
  }

  async dial() {
    const current = this.current;
    if (!current || current.phase !== "preview") return;
    this.notice = null;
    const button = $("work-dial");
    if (button) button.disabled = true;
    try {
      current.dial = await post(`/outbound/items/${current.view.item.id}/dial`);
      current.phase = "dialling";
      this.onDialled(current.dial);
      this.say("info", () => t("work.dialling"));
    } catch (error) {
      this.failed(error);
    }
    await this.refresh();
  }

  async skip(reason) {
    const item = this.current?.view.item;
    if (!item) return;
    try {
      await post(`/outbound/items/${item.id}/skip`, { reason });
      this.current = null;
      this.say("ok", () => t("work.skipped", { kind: term("follow_up_kind", item.kind) }));
    } catch (error) {
      this.failed(error);
    }
    await this.refresh();
  }

  /** The item whose progressive call ended, once the dialler has applied the end: answered,
   * it is taken up to be told about (the script, for a return visit) unless the agent is on
   * another item; not answered, there is nothing to tell (the dialler tries again). The call
   * itself came as an ACD call: its pop already opened the client. */
  tellProgressive() {
    if (this.toTell === null) return;
    const view = this.items.find((v) => v.item.id === this.toTell.id);
    const last = view ? this.lastMine(view) : null;
    if (!view || !last) {
      this.toTell = null; // told already, or no longer this agent's
    } else if (this.untold(view)) {
      this.toTell = null;
      if (!this.current || (this.current.view.item.id === view.item.id && this.current.phase !== "report")) {
        this.notice = null;
        this.show(view, false, "report", { open: false });
      }
    } else if (last.outcome !== null) {
      this.toTell = null; // not reached
    } else if (this.toTell.looks < TELL_LOOKS) {
      // The dialler applies the dial's end in its own task, a moment after it says the dial
      // is over: look again shortly rather than at the next 30-s read.
      this.toTell.looks += 1;
      setTimeout(() => this.refresh(), TELL_LOOK_MS);
    } else {
      this.toTell = null; // the row's "Tell how it went" still shows once it is applied
    }
  }

  /** A return visit to be told about: its script, with the client's risk profile. */
  async prepareVisit(current) {
    if (current.view.item.kind !== RETURN_VISIT || current.visit) return;
    current.visit = { script: null, answers: {}, saving: false };
    try {
      current.visit.script = await loadScript(current.view.item.id);
    } catch (error) {
      current.visit = null; // the outcomes without the script still show
      this.failed(error);
      return;
    }
    if (this.current !== current) return;
    this.render();
    $("work-visit")?.scrollIntoView({ block: "nearest" });
  }

  /** The call the visit was made in: the dial's, else the agent's last answered attempt's. */
  callOf(current) {
    return current.dial?.interaction_id ?? this.lastMine(current.view)?.interaction_id ?? null;
  }

  async saveVisit(current) {
    const visit = current.visit;
    if (!visit?.script || visit.saving) return;
    visit.saving = true;
    $("work-visit-save").disabled = true;
    try {
      const record = await recordVisit(current.view.item.id, this.callOf(current), { ...visit.answers });
      if (this.current === current) this.current = null;
      const ok = record.problems.length ? "warn" : "ok";
      this.say(ok, () => visitResult(visit.script, record));
      // The 360-degree view read again: the complaint opened, the visit no longer due.
      this.openClient(record.client_id, null);
    } catch (error) {
      visit.saving = false;
      this.failed(error);
    }
    await this.refresh();
  }

  /** A ``call.control`` event: the end of the dialled item's call asks how it went, if the
   * client answered; else the dialler tries again by its rules (nothing to report). */
  async callControl(data) {
    const current = this.current;
    if (data.state !== "ended" || current?.phase !== "dialling") return;
    if (current.dial?.interaction_id !== data.interaction_id) return;
    let answered = false;
    try {
      answered = Boolean((await get(`/interactions/${data.interaction_id}`)).answered_at);
    } catch (error) {
      this.toast(error);
      answered = true; // cannot tell: offer the report, the server refuses it if not reached
    }
    if (this.current !== current) return;
    if (answered) {
      current.phase = "report";
      this.notice = null;
      this.prepareVisit(current);
      this.render();
      $("work-outcome-completed")?.focus();
    } else {
      this.current = null;
      this.say("info", () => t("work.not_reached"));
    }
    await this.refresh();
  }

  async report(form) {
    const item = this.current?.view.item;
    if (!item) return;
    const outcome = form.querySelector("input[name=work-outcome]:checked")?.value;
    if (!outcome) {
      const first = form.querySelector("input[name=work-outcome]");
      first.setCustomValidity(t("work.choose_outcome"));
      first.reportValidity();
      first.setCustomValidity("");
      return;
    }
    const body = { outcome };
    const note = $("work-note").value.trim();
    if (note) body.note = note;
    const again = $("work-call-again").value;
    if (outcome === "reached" && again) body.call_again_at = centerWallTime(again, this.zone);
    try {
      await post(`/outbound/items/${item.id}/outcome`, body);
      this.current = null;
      this.say("ok", () => t("work.reported", { outcome: term("attempt_outcome", outcome) }));
    } catch (error) {
      this.failed(error);
    }
    await this.refresh();
  }

  render() {
    if (!this.user) return;
    this.progressive.render(); // its words, in the page's language
    const notice = $("work-message");
    notice.hidden = !this.notice;
    notice.className = `work-message ${this.notice?.kind ?? ""}`;
    notice.dataset.kind = this.notice?.kind ?? "";
    replace(notice, this.notice ? this.notice.text() : "");
    const current = $("work-current");
    current.hidden = !this.current;
    // Rebuilt on each refresh and language change: what the agent was typing stays.
    const kept = this.typed();
    replace(current, this.current ? this.currentItem(this.current) : null);
    this.retype(kept);
    $("work-empty").hidden = !this.loaded || this.items.length > 0;
    replace($("work-list"), this.items.map((view) => this.row(view)));
    // A dialled item is told about before another is taken up.
    const busy = ["dialling", "report"].includes(this.current?.phase);
    $("work-next").disabled = busy;
    for (const button of $("work-list").querySelectorAll("button")) button.disabled = busy;
  }

  typed() {
    const checked = document.querySelector("input[name=work-outcome]:checked");
    const values = {};
    for (const id of ["work-note", "work-call-again", "work-skip-reason"]) {
      const field = $(id);
      if (field) values[id] = field.value;
    }
    return { checked: checked?.id, values, focused: document.activeElement?.id };
  }

  retype(kept) {
    if (kept.checked && $(kept.checked)) {
      $(kept.checked).checked = true;
      $("work-call-again-label").hidden = kept.checked !== "work-outcome-reached";
    }
    for (const [id, value] of Object.entries(kept.values)) if ($(id)) $(id).value = value;
    if (kept.focused?.startsWith("work-") && $(kept.focused)) $(kept.focused).focus({ preventScroll: true });
  }

  verdict(view) {
    const v = view.verdict;
    return el("span", { class: v.may_dial ? "verdict ok" : "verdict warn", "data-testid": "work-verdict", dataset: { reason: v.reason ?? "" } },
      v.may_dial ? t("work.may_dial") : this.whyNot(v.reason, v.earliest));
  }

  /** An item whose call the agent answered and has not told about (the page was reloaded
   * meanwhile, or they went on to something else): its outcome can still be told. */
  untold(view) {
    const last = this.lastMine(view);
    return last?.outcome === "answered" && last.interaction_id !== null;
  }

  /** This agent's latest attempt at the item, if any. */
  lastMine(view) {
    const mine = view.attempts.filter((a) => a.agent_id === this.user.id);
    return mine.reduce((a, b) => (Date.parse(b.started_at) > Date.parse(a.started_at) ? b : a), mine[0]) ?? null;
  }

  row(view) {
    const item = view.item;
    const untold = this.untold(view);
    const open = el("button", {
      type: "button", class: "link", "data-testid": untold ? "work-tell" : "work-open",
      onclick: () => {
        this.notice = null;
        this.show(view, false, untold ? "report" : "preview");
      },
    }, t(untold ? "work.tell" : "work.open"));
    return el("li", { class: "work-row", "data-testid": "work-row", dataset: { itemId: String(item.id) } },
      el("div", { class: "work-row-head" }, el("strong", {}, term("follow_up_kind", item.kind)),
        el("span", { class: "muted" }, t("work.due", { date: fmt.date(item.due_on) })), open),
      item.reason ? el("div", { class: "work-row-reason", title: item.reason }, item.reason) : null,
      el("div", { class: "muted" }, t("work.attempts", { count: item.attempts }),
        item.last_outcome ? ` · ${term("attempt_outcome", item.last_outcome)}` : ""),
      this.verdict(view));
  }

  currentItem(current) {
    const { item, attempts } = current.view;
    const dl = el("dl", { class: "facts" });
    facts(dl, [
      [t("work.number"), item.number_masked ?? "-"],
      [t("work.due_on"), fmt.date(item.due_on)],
      [t("work.attempts_label"), String(item.attempts)],
      [t("work.last_outcome"), item.last_outcome ? term("attempt_outcome", item.last_outcome) : ""],
      [t("work.status"), current.phase === "preview" ? this.verdict(current.view) : t(`work.phase_${current.phase}`)],
    ]);
    const history = attempts.length
      ? el("ol", { class: "list work-attempts", "data-testid": "work-attempts" }, attempts.map((a) => el("li", {},
          `${this.time(a.started_at)} · ${term("dial_mode", a.mode)} · ${a.outcome ? term("attempt_outcome", a.outcome) : t("work.in_progress")}`,
          a.note ? el("span", { class: "muted" }, ` · ${a.note}`) : null)))
      : el("p", { class: "muted" }, t("work.no_attempts"));
    return el("div", { class: "work-item", dataset: { itemId: String(item.id), phase: current.phase, held: String(current.held) } },
      el("div", { class: "work-row-head" }, el("strong", { "data-testid": "work-kind" }, term("follow_up_kind", item.kind)),
        current.held ? el("span", { class: "chip" }, t("work.held")) : null),
      el("p", { class: "work-reason", "data-testid": "work-reason" }, item.reason || t("work.no_reason")),
      dl,
      el("h3", {}, t("work.history")),
      history,
      current.phase === "preview" ? this.previewButtons(current) : null,
      current.phase === "report" ? this.reportForms(current) : null);
  }

  /** How the call went: a return visit's script (which completes it), and the outcomes of a
   * visit that could not be made; any other item's outcomes. */
  reportForms(current) {
    if (current.view.item.kind !== RETURN_VISIT) return this.outcomeForm(AGENT_OUTCOMES);
    const visit = current.visit;
    const script = visit?.script
      ? scriptForm(visit.script, visit.answers, () => this.saveVisit(current))
      : el("p", { class: "muted", "data-testid": "work-visit-loading" }, visit ? t("work.visit_loading") : "");
    return [script, this.outcomeForm(VISIT_OUTCOMES, t("work.visit_not_done"))];
  }

  previewButtons(current) {
    const buttons = el("div", { class: "buttons" },
      el("button", { type: "button", id: "work-dial", class: "primary", "data-testid": "work-dial", onclick: () => this.dial() }, t("work.dial")),
      el("button", { type: "button", id: "work-skip", "data-testid": "work-skip", onclick: () => { current.skipping = true; this.render(); $("work-skip-reason")?.focus(); } }, t("work.skip")));
    if (!current.skipping) return buttons;
    const input = el("input", { id: "work-skip-reason", "data-testid": "work-skip-reason", required: true, minlength: 2, maxlength: 300, placeholder: t("work.skip_reason_hint") });
    const form = el("form", { class: "work-skip" },
      el("label", {}, el("span", {}, t("work.skip_reason")), input),
      el("div", { class: "buttons" },
        el("button", { type: "submit", class: "primary", "data-testid": "work-skip-confirm" }, t("work.skip_confirm")),
        el("button", { type: "button", onclick: () => { current.skipping = false; this.render(); } }, t("common.cancel"))));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const reason = input.value.trim();
      if (reason.length < 2) {
        input.setCustomValidity(t("work.skip_reason_short"));
        input.reportValidity();
        input.setCustomValidity("");
        return;
      }
      this.skip(reason);
    });
    return [buttons, form];
  }

  outcomeForm(outcomes, heading = t("work.how_it_went")) {
    const choice = (outcome) => el("label", { class: "check" },
      el("input", { type: "radio", name: "work-outcome", value: outcome, id: `work-outcome-${outcome}`, "data-testid": `work-outcome-${outcome}` }),
      el("span", {}, term("attempt_outcome", outcome)));
    const again = el("label", { id: "work-call-again-label", hidden: true },
      el("span", {}, t("work.call_again_at")), el("input", { type: "datetime-local", id: "work-call-again" }));
    const form = el("form", { class: "work-outcome", "data-testid": "work-outcome" },
      el("h3", {}, heading),
      el("div", { class: "work-choices" }, outcomes.map(choice)),
      again,
      el("label", {}, el("span", {}, t("work.note")), el("textarea", { id: "work-note", rows: 2, maxlength: 300 })),
      el("div", { class: "buttons" }, el("button", { type: "submit", class: "primary", "data-testid": "work-report" }, t("work.report"))));
    form.addEventListener("change", () => {
      again.hidden = form.querySelector("input[name=work-outcome]:checked")?.value !== "reached";
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.report(form);
    });
    return form;
  }
}
