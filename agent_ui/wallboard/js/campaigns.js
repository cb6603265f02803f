// The outbound work's progress per kind (issue 18): the snapshot's `campaigns`, read by the
// server every 10 s (callcenter/outbound/stats.py). Callbacks first, then return visits,
// then the care kinds; a kind with nothing open, done or dialled today is not sent.

import { el } from "../../js/dom.js";
import { term } from "../../js/i18n.js";

export function campaignRows(campaigns) {
  return campaigns.map((c) =>
    el(
      "tr",
      { "data-kind": c.kind },
      el("td", {}, term("follow_up_kind", c.kind)),
      el("td", { class: "num", "data-testid": "wb-campaign-open" }, c.open),
      el("td", { class: c.due_now > 0 ? "num alert" : "num", "data-testid": "wb-campaign-due" }, c.due_now),
      el("td", { class: "num", "data-testid": "wb-campaign-done" }, c.done_today),
      el("td", { class: "num", "data-testid": "wb-campaign-dials" }, c.attempts_today),
    ),
  );
}
