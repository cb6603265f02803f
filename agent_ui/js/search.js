// Client search: masked results (GET /api/clients); opening one shows its 360-degree view.

import { get, query } from "./api.js";
import { $, el, replace } from "./dom.js";
import { t, term } from "./i18n.js";
import { describe } from "./wrapup.js";

export class Search {
  constructor({ open }) {
    this.open = open; // (clientId) => opens the 360-degree view
    this.page = null;
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
    try {
      this.page = await get(`/clients${query({ [by]: text, limit: 20 })}`);
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
            { type: "button", class: "result", "data-client-id": c.id, onclick: () => this.open(c.id) },
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
