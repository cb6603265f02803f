// The admin console: users and roles, agents' skills and languages, queues, not-ready
// reasons and dispositions, and the do-not-call list. One page, one section shown at a time
// (#users, #agents, ...). Admins change; supervisors may look (read only). Every change goes
// through the API, which validates, versions and audits it; this page shows its refusals
// next to the field they name. Shares the desk's modules (../../js/): the session cookie,
// text-only DOM, the dictionaries; logging in happens at the desk.

import { $, replace } from "../../js/dom.js";
import { describeError } from "../../js/errors.js";
import { openManagerPage } from "../../js/manager_page.js";
import { agents } from "./agents.js";
import { codes } from "./codes.js";
import { dnc } from "./dnc.js";
import { queues } from "./queues.js";
import { users } from "./users.js";

const SECTIONS = new Map([users, agents, queues, codes, dnc].map((s) => [s.page, s]));

let shown = null;

function route() {
  const page = location.hash.replace(/^#/, "").split("?")[0];
  const section = SECTIONS.get(page) ?? users;
  shown = section;
  for (const node of document.querySelectorAll("section.page")) node.hidden = node.dataset.page !== section.page;
  for (const link of document.querySelectorAll("nav.tabs a")) {
    if (link.dataset.page === section.page) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  section.load();
}

function gate(message) {
  $("app").hidden = true;
  $("gate").hidden = false;
  replace($("gate-message"), message);
}

async function boot() {
  const me = await openManagerPage({
    gate,
    loginNeeded: "adm.login_needed",
    managersOnly: "adm.managers_only",
    onLanguage: () => shown?.render(),
  });
  if (!me) return;
  // Supervisors read; only admins change (the API refuses them anyway).
  const canChange = me.role === "admin";
  document.body.classList.toggle("readonly", !canChange);
  $("readonly-note").hidden = canChange;
  for (const fieldset of document.querySelectorAll("form.editor fieldset")) fieldset.disabled = !canChange;
  for (const section of SECTIONS.values()) section.init({ canChange, me });
  $("gate").hidden = true;
  $("app").hidden = false;
  window.addEventListener("hashchange", route);
  route();
}

// A page that cannot even start says why (a network failure while loading, say).
boot().catch((error) => gate(describeError(error)));
