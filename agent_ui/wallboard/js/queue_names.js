// Queues by the names the desk gives them. The labels live once, in the desk's dictionaries
// (agent_ui/i18n/<language>.json, the `queue.<name>` group, which the desk's pop and call
// history show): the wallboard reads that group from there rather than keeping a copy, so a
// queue reads the same on an agent's screen and on the board, in both languages. A queue the
// desk has no label for (one an admin added over /api/queues) shows its configured name, as
// it does on the desk.

import { LANGUAGES, language } from "../../js/i18n.js";

const GROUP = "queue.";
const labels = {}; // language -> queue name -> label

/** Read the desk's queue labels in every language; without them the board shows names. */
export async function loadQueueLabels() {
  await Promise.all(
    LANGUAGES.map(async (lang) => {
      const response = await fetch(new URL(`../../i18n/${lang}.json`, import.meta.url), {
        credentials: "same-origin",
      });
      if (!response.ok) throw new Error(`desk dictionary ${lang}: HTTP ${response.status}`);
      const words = await response.json();
      labels[lang] = Object.fromEntries(
        Object.entries(words)
          .filter(([key]) => key.startsWith(GROUP))
          .map(([key, label]) => [key.slice(GROUP.length), label]),
      );
    }),
  );
}

/** A queue's label in the page's language: the desk's, else its configured name. */
export function queueLabel(name) {
  if (name === null || name === undefined || name === "") return "–";
  return labels[language()]?.[name] ?? labels.en?.[name] ?? String(name);
}
