// The do-not-call list: numbers the center must not call (all calls, or care calls only),
// why, until when. Numbers may be typed in any form; the API stores them in E.164.

import { del, get, post, put, query } from "../../js/api.js";
import { $, el, replace } from "../../js/dom.js";
import { t } from "../../js/i18n.js";
import { clearErrors, errorText, fillTable, options, showError, showSaved } from "./form.js";

const SCOPES = ["all", "care"];

/** An API time as the datetime-local input writes it (the browser's zone), and back. */
function toLocalInput(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function fromLocalInput(value) {
  return value ? new Date(value).toISOString() : null;
}

class Dnc {
  page = "dnc";
  list = [];
  editing = null;
  search = "";

  init({ canChange }) {
    this.canChange = canChange;
    $("dnc-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.save();
    });
    $("dnc-search").addEventListener("submit", (event) => {
      event.preventDefault();
      this.search = $("dnc-search").elements.namedItem("number").value.trim();
      this.load();
    });
    $("dnc-new").addEventListener("click", () => this.edit(null));
  }

  async load() {
    try {
      const page = await get(`/dnc${query({ number: this.search, limit: 100 })}`);
      this.list = page.items;
      replace($("dnc-error"));
    } catch (error) {
      replace($("dnc-error"), errorText(error));
    }
    this.render();
  }

  render() {
    fillTable(
      $("dnc-table"),
      ["adm.dnc.number", "adm.dnc.scope", "adm.dnc.reason", "adm.dnc.added_at", "adm.dnc.expires_at_short", ""],
      this.list.map((entry) =>
        el(
          "tr",
          { class: this.editing?.id === entry.id ? "selected" : null, dataset: { number: entry.number } },
          el("td", {}, entry.number),
          el("td", {}, t(`adm.dnc.scope.${entry.scope}`)),
          el("td", { class: "wrap" }, entry.reason),
          el("td", {}, new Date(entry.added_at).toLocaleString()),
          el("td", {}, entry.expires_at ? new Date(entry.expires_at).toLocaleString() : t("adm.dnc.forever")),
          el(
            "td",
            {},
            el("button", { type: "button", class: "link", onclick: () => this.edit(entry) }, t(this.canChange ? "adm.edit" : "adm.show")),
            this.canChange ? el("button", { type: "button", class: "link danger", onclick: () => this.remove(entry) }, t("adm.remove")) : null,
          ),
        ),
      ),
    );
    const form = $("dnc-form");
    const scope = form.elements.namedItem("scope");
    options(scope, SCOPES.map((s) => [s, t(`adm.dnc.scope.${s}`)]), scope.value || "all");
    replace($("dnc-form-title"), this.editing ? t("adm.dnc.edit_title", { number: this.editing.number }) : t("adm.dnc.new_title"));
  }

  edit(entry) {
    this.editing = entry;
    const form = $("dnc-form");
    clearErrors(form);
    const field = (name) => form.elements.namedItem(name);
    field("number").value = entry?.number ?? "";
    field("number").readOnly = Boolean(entry);
    field("scope").value = entry?.scope ?? "all";
    field("reason").value = entry?.reason ?? "";
    field("expires_at").value = toLocalInput(entry?.expires_at);
    this.render();
    field(entry ? "reason" : "number").focus();
  }

  async save() {
    const form = $("dnc-form");
    const field = (name) => form.elements.namedItem(name);
    const body = { scope: field("scope").value, reason: field("reason").value, expires_at: fromLocalInput(field("expires_at").value) };
    try {
      if (this.editing) this.editing = await put(`/dnc/${this.editing.id}`, { ...body, version: this.editing.version });
      else this.editing = await post("/dnc", { ...body, number: field("number").value });
      await this.load();
      this.edit(this.editing);
      showSaved(form, t("adm.saved"));
    } catch (error) {
      showError(form, error);
    }
  }

  async remove(entry) {
    if (!window.confirm(t("adm.dnc.remove_confirm", { number: entry.number }))) return;
    try {
      await del(`/dnc/${entry.id}?version=${entry.version}`);
      if (this.editing?.id === entry.id) this.edit(null);
      await this.load();
    } catch (error) {
      replace($("dnc-error"), errorText(error));
    }
  }
}

export const dnc = new Dnc();
