// Figure tables: one column spec per figure, values as text (textContent, never markup).

import { el, replace } from "../../js/dom.js";
import { t } from "../../js/i18n.js";

/**
 * Fill ``node`` (a <table>) with ``rows`` and an optional total row.
 * columns: [{ key, label, format, num, value(row), cls(row) }]; every cell carries
 * data-field = key, so a test (or a reader of the page source) finds a figure by name.
 */
export function fillTable(node, columns, rows, total = null) {
  const head = el(
    "tr",
    {},
    columns.map((c) => el("th", { class: c.num ? "num" : null, title: c.hint ?? null }, c.label)),
  );
  const body = rows.length
    ? rows.map((row) => tableRow(columns, row))
    : [el("tr", { class: "empty" }, el("td", { colspan: columns.length }, t("rep.no_data")))];
  replace(
    node,
    el("thead", {}, head),
    el("tbody", {}, body),
    total ? el("tfoot", {}, tableRow(columns, total)) : null,
  );
}

function tableRow(columns, row) {
  return el(
    "tr",
    { "data-key": row.__key ?? null },
    columns.map((c) => {
      const value = c.value ? c.value(row) : row[c.key];
      const classes = [c.num ? "num" : null, c.cls ? c.cls(row) : null].filter(Boolean).join(" ");
      return el("td", { class: classes || null, "data-field": c.key }, c.format ? c.format(value, row) : value);
    }),
  );
}

/** A row of figure tiles: [{ key, label, value, hint, cls }]. */
export function tiles(node, items) {
  replace(
    node,
    items.map((item) =>
      el(
        "div",
        { class: `tile ${item.cls ?? ""}`, "data-field": item.key, title: item.hint ?? null },
        el("span", { class: "tile-label" }, item.label),
        el("span", { class: "tile-value" }, item.value),
        item.sub ? el("span", { class: "tile-sub" }, item.sub) : null,
      ),
    ),
  );
}
