// Client search: masked results (GET /api/clients); opening one shows its 360-degree view.
// An agent sees the clients of their own calls and tasks; to reach any other they give a
// reason, which the server keeps in the audit log with the search and the view it opens.

import { get, query } from "./api.js";
import { $, el, replace } from "./dom.js";
import { t, term } from "./i18n.js";
import { describe } from "./wrapup.js";

export class Search {
  constructor({ open, needsReason }) {
    this.open = open; // (clientId, reason) => opens the 360-degree view
    this.needsReason = needsReason; // () => whether this user must say why they look
    this.page = null;
    this.reason = null; // the reason the shown results were found with
    $("search-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.run();
    });
  }

  async run() {
    const by = $("search-by").value;
    const text = $("search-text").value.trim();
    replace($("search-error"));
    if (!text) return;
    const reasonInput = $("search-reason");
    const reason = this.needsReason() ? reasonInput.value.trim() : "";
    if (this.needsReason() && reason.length < 8) {
      reasonInput.setCustomValidity(t("search.reason_short"));
      reasonInput.reportValidity();
      reasonInput.setCustomValidity("");
      return;
    }
    try {
      this.page = await get(`/clients${query({ [by]: text, limit: 20, reason: reason || null })}`);
      this.reason = reason || null;
    } catch (error) {
      this.page = null;
      replace($("search-error"), describe(error));
    }
    this.render();
  }

  render() {
    const list = $("search-results");
    if (!this.page) {
      replace(list);
      return;
    }
    if (!this.page.items.length) {
      replace(list, el("li", { class: "muted" }, t("search.nothing")));
      return;
    }
    replace(
      list,
      this.page.items.map((c) =>
        el(
          "li",
          {},
          el(
            "button",
            { type: "button", class: "result", "data-client-id": c.id, onclick: () => this.open(c.id, this.reason) },
            el("strong", {}, c.name), c.name_latin ? ` ${c.name_latin}` : "",
            el("br"),
            el("span", { class: "muted" }, `${c.account_no} · ${term("tier", c.tier)} · ${c.phones_masked.join(", ")}`),
            el("br"),
            el("span", { class: "muted" }, `${c.id_number_masked} · ${c.branch_name}`),
          ),
        ),
      ),
      this.page.has_more ? el("li", { class: "muted" }, t("search.more")) : null,
    );
  }
}
