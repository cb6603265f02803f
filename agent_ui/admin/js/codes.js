// Not-ready reasons and dispositions: the codes staff choose from, with their labels in both
// languages, whether they are offered, and their order (/api/service-codes). Removing a code
// that records use deactivates it instead (the API says which it did).

import { del, get, put } from "../../js/api.js";
import { $, el, replace } from "../../js/dom.js";
import { t } from "../../js/i18n.js";
import { clearErrors, errorText, fillTable, options, showError, showSaved } from "./form.js";

const KINDS = ["not_ready_reason", "disposition"];

class Codes {
  page = "codes";
  list = [];
  editing = null;
  newKind = "not_ready_reason";

  init({ canChange }) {
    this.canChange = canChange;
    $("code-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.save();
    });
    $("reasons-new").addEventListener("click", () => this.edit(null, "not_ready_reason"));
    $("dispositions-new").addEventListener("click", () => this.edit(null, "disposition"));
  }

  async load() {
    try {
      this.list = await get("/service-codes");
      replace($("codes-error"));
    } catch (error) {
      replace($("codes-error"), errorText(error));
    }
    if (this.editing) this.editing = this.list.find((c) => c.kind === this.editing.kind && c.code === this.editing.code) ?? null;
    this.render();
  }

  render() {
    for (const [table, kind] of [["reasons-table", "not_ready_reason"], ["dispositions-table", "disposition"]]) {
      fillTable(
        $(table),
        ["adm.code.code", "adm.code.label_zh", "adm.code.label_en", "adm.code.sort_order_short", "adm.code.active_short", ""],
        this.list.filter((c) => c.kind === kind).map((code) => this.row(code)),
      );
    }
    this.renderForm();
  }

  row(code) {
    const selected = this.editing?.kind === code.kind && this.editing?.code === code.code;
    return el(
      "tr",
      { class: [code.active ? "" : "inactive", selected ? "selected" : ""].join(" ").trim() || null, dataset: { code: code.code } },
      el("td", {}, code.code),
      el("td", {}, code.label_zh),
      el("td", {}, code.label_en),
      el("td", {}, code.sort_order),
      el("td", {}, t(code.active ? "adm.yes" : "adm.no")),
      el(
        "td",
        {},
        el("button", { type: "button", class: "link", onclick: () => this.edit(code) }, t(this.canChange ? "adm.edit" : "adm.show")),
        this.canChange ? el("button", { type: "button", class: "link danger", onclick: () => this.remove(code) }, t("adm.remove")) : null,
      ),
    );
  }

  edit(code, kind = null) {
    this.editing = code;
    if (kind) this.newKind = kind;
    const form = $("code-form");
    clearErrors(form);
    this.render();
    const field = (name) => form.elements.namedItem(name);
    field("code").value = code?.code ?? "";
    field("label_zh").value = code?.label_zh ?? "";
    field("label_en").value = code?.label_en ?? "";
    field("sort_order").value = code?.sort_order ?? "";
    field("active").checked = code ? code.active : true;
    field(code ? "label_zh" : "code").focus();
  }

  renderForm() {
    const form = $("code-form");
    const code = this.editing;
    const field = (name) => form.elements.namedItem(name);
    options(field("kind"), KINDS.map((kind) => [kind, t(`adm.code.kind.${kind}`)]), code?.kind ?? this.newKind);
    field("kind").disabled = Boolean(code);
    field("code").readOnly = Boolean(code);
    replace($("code-form-title"), code ? t("adm.code.edit_title", { code: code.code, version: code.version }) : t("adm.code.new_title"));
  }

  async save() {
    const form = $("code-form");
    const field = (name) => form.elements.namedItem(name);
    const kind = this.editing?.kind ?? field("kind").value;
    const code = (this.editing?.code ?? field("code").value).trim();
    const body = { label_zh: field("label_zh").value, label_en: field("label_en").value, active: field("active").checked };
    if (field("sort_order").value !== "") body.sort_order = Number(field("sort_order").value);
    if (this.editing) body.version = this.editing.version;
    try {
      this.newKind = kind;
      this.editing = await put(`/service-codes/${kind}/${encodeURIComponent(code || "-")}`, body);
      await this.load();
      showSaved(form, t("adm.saved"));
    } catch (error) {
      showError(form, error);
    }
  }

  async remove(code) {
    const label = `${code.code} (${code.label_zh} / ${code.label_en})`;
    if (!window.confirm(t("adm.code.remove_confirm", { code: label }))) return;
    try {
      const out = await del(`/service-codes/${code.kind}/${code.code}?version=${code.version}`);
      if (this.editing?.code === code.code && this.editing?.kind === code.kind) this.editing = null;
      await this.load();
      replace($("codes-error"), out.deleted ? "" : t("adm.code.deactivated", { code: code.code }));
    } catch (error) {
      replace($("codes-error"), errorText(error));
    }
  }
}

export const codes = new Codes();
