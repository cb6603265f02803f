// What every editor of the console shares: errors shown next to the field the server named
// (a 422's list of fields, or a refusal's ``detail.field``), in the page's language when the
// error id has words in the dictionaries; a form-wide error otherwise (a stale version, a
// refusal without a field); and the confirmation once saved.

import { ApiError } from "../../js/api.js";
import { el, replace } from "../../js/dom.js";
import { describeError, invalidReason } from "../../js/errors.js";
import { t } from "../../js/i18n.js";

/** The words for an error: the console's own for its id ("adm.error.<id>"), else the shared
 * ones (errors.js), never the server's English message. */
export function errorText(error) {
  return describeError(error, { ownKey: (id) => `adm.error.${id}` });
}

/** The field a 422 entry names: the part of its location after the body (and the last part
 * of a nested one, such as hours.opens, is shown on the group it belongs to). */
function fieldOf(loc) {
  const parts = (loc ?? []).filter((p) => !["body", "path", "query"].includes(p));
  return parts.length ? String(parts[0]) : null;
}

export function clearErrors(form) {
  for (const node of form.querySelectorAll(".field-error")) replace(node);
  for (const node of form.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
  replace(form.querySelector(".form-error"));
  replace(form.querySelector(".form-ok"));
}

/** Put one message next to ``field``; true if the form has a place for it. */
export function fieldError(form, field, message) {
  const slot = form.querySelector(`.field-error[data-for="${field}"]`);
  if (!slot) return false;
  replace(slot, slot.textContent ? `${slot.textContent}; ${message}` : message);
  const input = form.elements.namedItem(field);
  if (input && "setAttribute" in input) input.setAttribute("aria-invalid", "true");
  return true;
}

/** Show ``error`` on ``form``: next to each field it names, else above the buttons. */
export function showError(form, error) {
  clearErrors(form);
  if (error instanceof ApiError && error.status === 422 && Array.isArray(error.detail)) {
    const loose = [];
    for (const entry of error.detail) {
      const field = fieldOf(entry.loc);
      const why = invalidReason(entry); // by the error's type: the server's msg is English
      const words = t("adm.error.invalid_field", { message: why });
      if (!field || !fieldError(form, field, words)) loose.push(`${field ?? ""}: ${why}`);
    }
    if (loose.length) replace(form.querySelector(".form-error"), t("adm.error.invalid", { fields: loose.join("; ") }));
    return;
  }
  const field = error instanceof ApiError ? error.detail?.field : null;
  if (field && fieldError(form, field, errorText(error))) return;
  replace(form.querySelector(".form-error"), errorText(error));
}

export function showSaved(form, text) {
  clearErrors(form);
  replace(form.querySelector(".form-ok"), text);
}

/** A table: a header row of dictionary keys and the given rows (or one row saying none). */
export function fillTable(table, headKeys, rows) {
  const head = el("thead", {}, el("tr", {}, headKeys.map((key) => el("th", {}, key ? t(key) : ""))));
  const body = el(
    "tbody",
    {},
    rows.length ? rows : el("tr", { class: "empty" }, el("td", { colspan: headKeys.length }, t("adm.none"))),
  );
  replace(table, head, body);
}

/** A checkbox with its label, for lists of choices (languages, queues, weekdays). */
export function check(name, value, label, checked) {
  return el("label", {}, el("input", { type: "checkbox", name, value, checked }), label);
}

export function checkedValues(form, name) {
  return [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((input) => input.value);
}

/** Options for a select: [value, label] pairs. */
export function options(select, pairs, chosen) {
  replace(select, pairs.map(([value, label]) => el("option", { value }, label)));
  if (chosen !== undefined && chosen !== null) select.value = String(chosen);
}
