// The supervisors' report pages: call figures, complaints and return visits, the KPI
// scoreboard, the client-value deciles and the Erlang C calculator. One page, one section
// shown at a time; the section and its query live in the address (#calls?from=...), so a
// report can be bookmarked, reloaded or sent to a colleague. Shares the desk's modules
// (../../js/): the session cookie, text-only DOM, the dictionaries.

import { get } from "../../js/api.js";
import { $, replace } from "../../js/dom.js";
import { describeError } from "../../js/errors.js";
import { openManagerPage } from "../../js/manager_page.js";
import { calls } from "./calls.js";
import { cases } from "./cases.js";
import { deciles } from "./deciles.js";
import { kpis } from "./kpis.js";
import { outbound } from "./outbound.js";
import { setCenterDay, showUpdated } from "./section.js";
import { staffing } from "./staffing.js";

const SECTIONS = new Map([calls, cases, outbound, kpis, deciles, staffing].map((s) => [s.page, s]));

let shown = null;

function parseHash() {
  const [page, search] = location.hash.replace(/^#/, "").split("?");
  return { section: SECTIONS.get(page) ?? calls, params: Object.fromEntries(new URLSearchParams(search ?? "")) };
}

/** Show the query in the form; a field the address leaves out is emptied (an optional one,
 * such as the last month of a range, must not linger from an earlier report). */
function fillForm(form, params) {
  for (const field of form.elements) {
    if (field.name) field.value = params[field.name] ?? "";
  }
}

function formParams(form) {
  const params = {};
  for (const [name, value] of new FormData(form)) if (String(value) !== "") params[name] = String(value);
  return params;
}

function route() {
  const { section, params } = parseHash();
  shown = section;
  for (const node of document.querySelectorAll("section.page")) node.hidden = node.dataset.page !== section.page;
  for (const link of document.querySelectorAll("nav.tabs a")) {
    if (link.dataset.page === section.page) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const merged = { ...section.defaults(), ...params };
  fillForm($(`${section.page}-form`), merged);
  section.load(merged);
}

function wireForms() {
  for (const section of SECTIONS.values()) {
    const form = $(`${section.page}-form`);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!form.reportValidity()) return;
      const hash = `#${section.page}?${new URLSearchParams(formParams(form))}`;
      if (location.hash === hash) route();
      else location.hash = hash; // hashchange routes
    });
  }
}

function gate(message) {
  $("app").hidden = true;
  $("gate").hidden = false;
  replace($("gate-message"), message);
}

async function boot() {
  const me = await openManagerPage({
    gate,
    loginNeeded: "rep.login_needed",
    managersOnly: "rep.managers_only",
    onLanguage: () => {
      shown?.render();
      for (const node of document.querySelectorAll("[data-updated]")) showUpdated(node);
    },
  });
  if (!me) return;
  // The default days are the center's, not the browser's (section.js).
  setCenterDay((await get("/reports/today")).day);
  $("gate").hidden = true;
  $("app").hidden = false;
  wireForms();
  window.addEventListener("hashchange", route);
  let resizing = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizing);
    resizing = setTimeout(() => shown?.render(), 150); // charts are drawn to the page's width
  });
  route();
}

// A page that cannot even start says why (a network failure while loading, say).
boot().catch((error) => gate(describeError(error)));
