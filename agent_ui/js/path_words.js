// The caller's way through the IVR in words: the pop's ``ivr_steps`` (typed steps of a closed
// vocabulary, callcenter/acd/path_steps.py) as sentences of the page's dictionary. Each kind,
// with its result, picks a key ("path.language", "path.pin_checked.ok"); a kind or result the
// page does not know reads "path.other", never as a node id. The record's raw path
// (``ivr_path``) stays in the pop's tooltip for whoever needs the nodes.

import { t, term } from "./i18n.js";

const LANGUAGE_NAMES = { zh: "path.lang_zh", en: "path.lang_en" };

/** The words of one step. */
export function stepWords(step) {
  const kind = typeof step?.kind === "string" ? step.kind : "other";
  const keyed = (key, vars = {}) => {
    const text = t(key, vars);
    return text === key ? t("path.other") : text;
  };
  switch (kind) {
    case "language":
      return keyed("path.language", { language: t(LANGUAGE_NAMES[step.value] ?? "path.lang_other") });
    case "queue":
      // The general queue is "an agent"; any other names what the caller asked for.
      return step.value === "general" || !step.value
        ? keyed("path.queue_agent")
        : keyed("path.queue", { queue: term("queue", step.value) });
    case "menu":
      return step.result === "timeout" ? keyed("path.menu.timeout") : keyed("path.menu", { key: step.value ?? "" });
    case "self_service":
      return step.result === "refused"
        ? keyed("path.self_service.refused")
        : keyed(`path.self_service.${step.value}`);
    case "transfer":
    case "overflow":
    case "moved":
      return keyed(`path.${kind}`, { to: step.value ? term("queue", step.value) : t("path.back_to_menu") });
    default:
      return keyed(step.result ? `path.${kind}.${step.result}` : `path.${kind}`);
  }
}

/** Every step's words, in order. */
export function pathWords(steps) {
  return (Array.isArray(steps) ? steps : []).map(stepWords);
}
