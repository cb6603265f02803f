// Wrap-up: the disposition and notes of the call just ended (PATCH /api/interactions/{id},
// phase wrapped_up), and optionally a complaint (POST /api/complaints, a leaf of the taxonomy)
// or a follow-up (POST /api/follow-ups). Each part is sent once: a retry after an error sends
// only what has not been saved yet.

import { ApiError, get, patch, post, put, serverClock } from "./api.js";
import { codeLabel, loadDispositions } from "./codes.js";
import { $, el, replace } from "./dom.js";
import { WrapUpClock } from "./wrapup_clock.js";
import { describeError } from "./errors.js";
import { language, t, term } from "./i18n.js";

const FOLLOW_UP_KINDS = [
  "callback", "return_visit", "care_call", "birthday", "ipo_reminder", "investment_report",
  "market_alert",
];
const PHASE_TIMES = [
  "started_at", "ivr_ended_at", "queued_at", "offered_at", "answered_at", "ended_at",
];

export class WrapUp {
  constructor({ toast, onSaved = () => {}, onLimit = () => {} }) {
    this.toast = toast;
    this.onSaved = onSaved; // the wrap-up is stored: the client view shows it
    this.interaction = null;
    this.saved = {};
    this.savedNotes = ""; // the notes as last stored: anything else in the field is unsaved
    this.categories = null;
    this.dispositions = []; // as an admin set them (codes.js), read at each wrap-up
    this.form = $("wrapup");
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.save();
    });
    $("wrapup-complaint-on").addEventListener("change", (e) => { $("wrapup-complaint").hidden = !e.target.checked; });
    $("wrapup-follow-up-on").addEventListener("change", (e) => { $("wrapup-follow-up").hidden = !e.target.checked; });
    this.clock = new WrapUpClock({ unsaved: () => this.unsaved(), onLimit, toast });
    $("wrapup-notes").addEventListener("input", () => this.clock.render());
  }

  /** Notes typed and not stored yet: the agent must not be made ready (wrapup_clock.js). */
  unsaved() {
    if (!this.interaction || this.form.hidden) return false;
    const notes = $("wrapup-notes").value.trim();
    return notes !== "" && notes !== this.savedNotes;
  }

  /** The wrap-up in sight and ready to type in, without the agent scrolling: first in its
   * column (desk.css), scrolled into view, the disposition focused (the notes once one is
   * chosen). */
  show() {
    this.form.scrollIntoView({ block: "start", behavior: "instant" });
    const field = $("wrapup-disposition").value ? $("wrapup-notes") : $("wrapup-disposition");
    field.focus({ preventScroll: true });
  }

  /** The agent's wrap-up is over (ready, not ready, logged out): its clock stops; the form
   * stays, so that notes not yet saved can still be. */
  agentLeftWrapUp() {
    this.clock.ended();
  }

  async open(interactionId) {
    if (this.interaction?.id === interactionId) return;
    try {
      const [interaction, dispositions] = await Promise.all([
        get(`/interactions/${interactionId}`), loadDispositions(), this.loadCategories(),
      ]);
      this.interaction = interaction;
      this.dispositions = dispositions;
    } catch (error) {
      this.toast(error);
      return;
    }
    this.saved = {};
    this.savedNotes = "";
    this.late = false;
    this.clock.reset();
    this.form.reset();
    $("wrapup-complaint").hidden = true;
    $("wrapup-follow-up").hidden = true;
    const due = new Date(serverClock.now().getTime() + 7 * 86_400_000);
    $("wrapup-due-on").value = due.toISOString().slice(0, 10);
    replace($("wrapup-result"));
    this.form.hidden = false;
    this.render();
    this.show();
    this.clock.load();
  }

  close() {
    this.interaction = null;
    this.form.hidden = true;
    this.clock.reset();
  }

  async loadCategories() {
    if (this.categories) return;
    this.categories = await get("/complaints/categories");
  }

  render() {
    if (!this.interaction) return;
    const keep = (id) => $(id).value;
    const chosen = { d: keep("wrapup-disposition"), c: keep("wrapup-category"), k: keep("wrapup-follow-up-kind") };
    replace($("wrapup-for"), t("wrapup.for", { id: this.interaction.id, number: this.interaction.caller_number ?? "-" }));
    replace($("wrapup-disposition"), el("option", { value: "" }, t("wrapup.choose")),
      this.dispositions.map((code) => el("option", { value: code }, codeLabel("disposition", code))));
    replace($("wrapup-category"), (this.categories ?? []).map((root) => this.categoryOptions(root)));
    replace($("wrapup-follow-up-kind"), FOLLOW_UP_KINDS.map((kind) => el("option", { value: kind }, term("follow_up_kind", kind))));
    if (chosen.d) $("wrapup-disposition").value = chosen.d;
    if (chosen.c) $("wrapup-category").value = chosen.c;
    if (chosen.k) $("wrapup-follow-up-kind").value = chosen.k;
  }

  /** Complaints are filed under leaves: a group per top-level category. */
  categoryOptions(root) {
    const label = (c) => (language().startsWith("zh") ? c.name : c.name_en);
    const leaves = [];
    const walk = (node, prefix) => {
      if (!node.children.length) leaves.push(el("option", { value: node.code }, prefix + label(node)));
      for (const child of node.children) walk(child, node === root ? "" : `${prefix}${label(node)} / `);
    };
    walk(root, "");
    return el("optgroup", { label: label(root) }, leaves);
  }

  /** The wrap-up's end: now on the server's clock, and never before the call's last phase. */
  endTime() {
    const latest = Math.max(0, ...PHASE_TIMES.map((f) => this.interaction[f]).filter(Boolean).map((iso) => Date.parse(iso)));
    return new Date(Math.max(serverClock.now().getTime(), latest + 1)).toISOString();
  }

  async save() {
    const interaction = this.interaction;
    if (!interaction) return;
    const disposition = $("wrapup-disposition").value;
    const notes = $("wrapup-notes").value.trim();
    if (!disposition) {
      $("wrapup-disposition").setCustomValidity(t("wrapup.need_disposition"));
      $("wrapup-disposition").reportValidity();
      $("wrapup-disposition").setCustomValidity("");
      return;
    }
    const clientId = interaction.client_id;
    const complaint = $("wrapup-complaint-on").checked;
    const followUp = $("wrapup-follow-up-on").checked;
    if ((complaint || followUp) && !clientId) {
      this.result(t("wrapup.need_client"), true);
      return;
    }
    const button = $("wrapup-save");
    button.disabled = true;
    try {
      if (complaint && !this.saved.complaint) {
        const summary = $("wrapup-summary").value.trim() || codeLabel("disposition", disposition);
        await post("/complaints", {
          client_id: clientId, interaction_id: interaction.id, category_code: $("wrapup-category").value,
          summary, description: notes || summary,
        });
        this.saved.complaint = true;
      }
      if (followUp && !this.saved.followUp) {
        // Linked to this call, and owned by this agent (the server's default owner).
        await post("/follow-ups", {
          client_id: clientId, kind: $("wrapup-follow-up-kind").value, due_on: $("wrapup-due-on").value,
          interaction_id: interaction.id,
        });
        this.saved.followUp = true;
      }
      if (!this.saved.interaction || notes !== this.savedNotes) {
        await this.saveInteraction(interaction, disposition, notes);
      }
      this.savedNotes = notes;
      this.clock.render();
      this.result(t(this.late ? "wrapup.too_late" : "wrapup.saved"), false);
      this.onSaved(this.interaction);
    } catch (error) {
      this.result(`${t("wrapup.failed")}: ${describe(error)}`, true);
    } finally {
      button.disabled = false;
    }
  }

  async saveInteraction(interaction, disposition, notes) {
    const body = { phase: "wrapped_up", at: this.endTime(), disposition };
    if (notes) body.notes = notes;
    try {
      this.interaction = await patch(`/interactions/${interaction.id}`, body);
      this.saved.interaction = true;
    } catch (error) {
      // The wrap-up timer ran out (the ACD closed the record) before the agent saved: the
      // disposition and notes are set on their own, and the agent is told the timer ran out.
      if (error instanceof ApiError && error.error === "interaction-phase-recorded") {
        // (Or it was saved already, and only the notes changed since.)
        const late = { disposition };
        if (notes) late.notes = notes;
        this.interaction = await put(`/interactions/${interaction.id}/disposition`, late);
        if (!this.saved.interaction) this.late = true;
        this.saved.interaction = true;
        return;
      }
      throw error;
    }
  }

  result(text, isError) {
    const node = $("wrapup-result");
    node.className = isError ? "error" : "ok";
    replace(node, text);
  }
}

/** An error in the desk's words (errors.js: never the server's English message). */
export function describe(error) {
  return describeError(error);
}
