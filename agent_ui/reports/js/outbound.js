// 6. Outbound work (GET /api/reports/outbound, issue 18): return visits (回访) completed
// within 14 days and within a month of the opening, by branch or advisor; callback delay
// from the caller's request to the first attempt that reached them; dials per reached
// client and the attempts' outcomes by kind. Definitions: callcenter/outbound/stats.py.

import { get, query } from "../../js/api.js";
import { $ } from "../../js/dom.js";
import { language, t, term } from "../../js/i18n.js";
import { DASH, count, duration, percent } from "./figures.js";
import { Loader, csvLink, daysAgo, today } from "./section.js";
import { fillTable, tiles } from "./table.js";

const loader = new Loader("outbound");
let report = null;

// The outcomes shown as columns, most telling first (the JSON has every one).
const OUTCOMES = ["completed", "reached", "answered", "no_answer", "busy", "refused", "wrong_number", "skipped"];

function ratio(value) {
  return value === null || value === undefined ? DASH : value.toFixed(2);
}

function drawTiles() {
  const cb = report.callbacks;
  const total = report.kinds_total;
  tiles($("outbound-tiles"), [
    { key: "callbacks_requested", label: t("rep.ob.callbacks_requested"), value: count(cb.requested) },
    { key: "callbacks_reached", label: t("rep.ob.callbacks_reached"), value: count(cb.reached) },
    { key: "median_delay", label: t("rep.ob.median_delay"), value: duration(cb.median_seconds) },
    { key: "p90_delay", label: t("rep.ob.p90_delay"), value: duration(cb.p90_seconds) },
    { key: "dials", label: t("rep.ob.dials"), value: count(total.dials) },
    { key: "attempts_per_reached", label: t("rep.ob.attempts_per_reached"), value: ratio(total.attempts_per_reached) },
  ]);
}

function groupName(row) {
  if (row.__key === "total") return t("rep.total");
  if (row.group_id === null) return t("rep.ob.no_advisor");
  const name = language().startsWith("zh") ? row.group_name : row.group_name_en ?? row.group_name;
  return name ?? `#${row.group_id}`;
}

function drawReturnVisits() {
  const num = (key, format) => ({ key, label: t(`rep.ob.${key}`), format, num: true });
  const columns = [
    { key: "group", label: t(`rep.ob.by.${report.by}`), value: groupName },
    num("due_14_days", count),
    num("done_14_days", count),
    num("rate_14_days", percent),
    num("due_month", count),
    num("done_month", count),
    num("rate_month", percent),
  ];
  const rows = report.return_visits.map((row) => ({ ...row, __key: String(row.group_id) }));
  fillTable($("outbound-return-visits"), columns, rows, { ...report.return_visits_total, __key: "total" });
}

function drawKinds() {
  const num = (key, format) => ({ key, label: t(`rep.ob.${key}`), format, num: true });
  const columns = [
    { key: "kind", label: t("rep.fu.kind"), format: (kind) => (kind === null ? t("rep.total") : term("follow_up_kind", kind)) },
    num("attempts", count),
    num("dials", count),
    ...OUTCOMES.map((outcome) => ({
      key: outcome,
      label: t(`rep.ob.outcome.${outcome}`),
      value: (row) => row.outcomes[outcome],
      format: count,
      num: true,
    })),
    num("reached_items", count),
    num("attempts_per_reached", ratio),
  ];
  const rows = report.kinds.map((row) => ({ ...row, __key: row.kind }));
  fillTable($("outbound-kinds"), columns, rows, { ...report.kinds_total, __key: "total" });
}

export const outbound = {
  page: "outbound",
  defaults: () => ({ from: daysAgo(29), to: today(), by: "branch" }),
  async load(params) {
    const asked = { from: params.from, to: params.to, by: params.by || "branch" };
    csvLink("outbound-csv", "/reports/outbound", asked);
    const data = await loader.run(query(asked), () => get(`/reports/outbound${query(asked)}`));
    if (!data) return;
    report = data;
    this.render();
  },
  render() {
    if (!report) return;
    drawTiles();
    drawReturnVisits();
    drawKinds();
  },
};
