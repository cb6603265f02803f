// The service codes staff choose from: not-ready reasons and dispositions, with labels in
// both languages, as an admin set them (GET /api/agents/reasons, /api/agents/dispositions).
// A code the API has not named (the ACD's "missed", a disposition the system writes, an old
// record's code) keeps its label from the page's dictionaries.

import { get } from "./api.js";
import { language, term } from "./i18n.js";

const known = { reason: new Map(), disposition: new Map() };

function remember(group, entries) {
  for (const entry of entries ?? []) known[group].set(entry.code, entry);
}

/** A code's label in the page's language. */
export function codeLabel(group, code) {
  const entry = known[group].get(code);
  if (!entry) return term(group, code);
  return language().startsWith("zh") ? entry.label_zh : entry.label_en;
}

/** The reasons an agent may choose now, in order. */
export async function loadReasons() {
  const answer = await get("/agents/reasons");
  remember("reason", answer.labels);
  return answer.reasons;
}

/** The dispositions a wrap-up offers now, in order. */
export async function loadDispositions() {
  const answer = await get("/agents/dispositions");
  remember("disposition", answer.labels);
  return answer.dispositions;
}
