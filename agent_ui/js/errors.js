// Every failure a page shows, in the page's language: the desk, the wallboard, the reports and
// the admin console all word errors here.
//
// The server names each refusal by a stable id (`{"error", "message", "detail"}`); its
// `message` is English for developers and logs, and no page shows it. The words are the page's
// own dictionary's where it has some for the id (a wallboard says "the agent", the desk "you"),
// else the shared dictionary's, agent_ui/messages/i18n/<language>.json, which has every id the
// server can answer (tests/unit/test_ui_messages.py holds it to callcenter's errors). A 422
// `invalid-request` names each refused field with why, by the validation's error type; an id
// this page does not know yet still shows, inside a translated sentence; no answer at all
// (the server down, the network gone, a request given up) says that.

import { ApiError, NetworkError } from "./api.js";
import { LANGUAGES, language, t } from "./i18n.js";

// Loaded once, with the module (every page imports it before it can fail at anything).
const shared = Object.fromEntries(
  await Promise.all(
    LANGUAGES.map(async (lang) => {
      try {
        const url = new URL(`../messages/i18n/${lang}.json`, import.meta.url);
        // Bounded: a hung server must not keep the page from starting (without these words a
        // failure the page does not word itself shows as its dictionary key).
        const response = await fetch(url, { credentials: "same-origin", signal: AbortSignal.timeout(10_000) });
        return [lang, response.ok ? await response.json() : {}];
      } catch {
        return [lang, {}]; // the page's own words still show
      }
    }),
  ),
);

/** A text of the shared dictionary, with {name} placeholders filled. */
export function say(key, vars = {}) {
  const text = shared[language()]?.[key] ?? shared.en?.[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (match, name) => (name in vars ? String(vars[name]) : match));
}

/** The page's own words for ``key``, or null when its dictionary has none. */
function own(key) {
  const text = t(key);
  return text === key ? null : text;
}

/** The field a 422 entry names: its location without the body/query/path part. */
export function fieldOf(entry) {
  const parts = (entry?.loc ?? []).filter((p) => !["body", "path", "query"].includes(p));
  return parts.length ? parts.map(String).join(".") : null;
}

/** Why the server refused one field, in words (by pydantic's error type, not its English). */
export function invalidReason(entry) {
  const key = `invalid.${entry?.type ?? ""}`;
  const text = say(key);
  return text === key ? say("invalid.other") : text;
}

/** A 422's refused fields, each with why: "limit: too large; to: must be a date". */
export function invalidFields(detail) {
  return detail
    .map((entry) => {
      const why = invalidReason(entry);
      const field = fieldOf(entry);
      return field ? say("invalid.field", { field, why }) : why;
    })
    .join("; ");
}

/** A refusal that came over the websocket (an `error` message: the same body as a REST
 * error's, without an HTTP status), in the page's words. */
export function describeRefusal(data) {
  return describeError(new ApiError(0, data));
}

/**
 * An error in the page's words. ``ownKey(id)``: the key of the page's own words for an id,
 * tried first (the admin console's are "adm.error.<id>"); then the page's "error.<id>", then
 * the shared ones.
 */
export function describeError(error, { ownKey = (id) => `error.${id}` } = {}) {
  if (error instanceof NetworkError) {
    return error.kind === "timeout" ? say("error.timeout", { seconds: error.seconds }) : say("error.network");
  }
  if (!(error instanceof ApiError)) {
    return say("error.page", { message: String(error?.message ?? error) });
  }
  const id = error.error;
  const retry = error.detail?.retry_after_seconds;
  if ((id === "too-many-logins" || id === "rate-limited") && retry) {
    return say("error.retry_in", { seconds: retry });
  }
  if (error.status === 422 && Array.isArray(error.detail) && error.detail.length) {
    return say("invalid.fields", { fields: invalidFields(error.detail) });
  }
  const words = own(ownKey(id)) ?? own(`error.${id}`);
  if (words) return words;
  const sharedKey = `error.${id}`;
  if (say(sharedKey) !== sharedKey) return say(sharedKey);
  if (error.status >= 500) return say("error.server", { status: error.status });
  return say("error.unknown", { id });
}
