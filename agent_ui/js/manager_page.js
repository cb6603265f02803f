// What the supervisors' pages (wallboard, reports) do before showing anything: the
// language, then who is logged in; a page for managers only says why it shows nothing else.

import { ApiError, get, onUnauthenticated } from "./api.js";
import { describeError } from "./errors.js";
import { applyStatic, loadLanguages, onLanguageChange, setLanguage, t } from "./i18n.js";

export const MANAGERS = new Set(["supervisor", "admin"]);

/**
 * Load the dictionaries, wire the language switch and ask who is logged in.
 * Returns the user when they are a supervisor or an admin; otherwise calls
 * ``gate(message)`` with the page's own words (dictionary keys ``loginNeeded`` and
 * ``managersOnly``) and returns null. ``onLanguage`` redraws the page in a new language.
 */
export async function openManagerPage({ gate, loginNeeded, managersOnly, onLanguage }) {
  await loadLanguages();
  applyStatic(document);
  for (const select of document.querySelectorAll("select.lang-select")) {
    select.addEventListener("change", () => setLanguage(select.value));
  }
  onLanguageChange(onLanguage);
  onUnauthenticated(() => gate(t(loginNeeded)));
  let me;
  try {
    me = await get("/auth/me");
  } catch (error) {
    gate(error instanceof ApiError && error.status === 401 ? t(loginNeeded) : describeError(error));
    return null;
  }
  if (me.mfa_required && !me.mfa_verified) {
    // The second factor (its code, or its enrolment) is asked on the desk's login page.
    window.location.assign("../");
    return null;
  }
  if (!MANAGERS.has(me.role)) {
    gate(t(managersOnly));
    return null;
  }
  return me;
}
